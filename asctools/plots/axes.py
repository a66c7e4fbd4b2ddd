"""What every figure function of :mod:`asctools.plots` shares."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

__all__ = ["fig_ax", "mapping"]


def fig_ax(ax, figsize=(6.0, 3.8)):
    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax)}")
    return ax.figure, ax


def mapping(name, value):
    if not isinstance(value, Mapping) or not value:
        raise TypeError(f"{name} must be a non-empty dict {{label: ...}}")
    return value
