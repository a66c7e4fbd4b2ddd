"""Figures of multi-seed evidence: every seed, the median, success rates.

A training run is one draw, so these figures draw every seed (thin and
translucent) with the median on top, next to the trivial baseline, and
the fraction of seeds solved against the sequences seen
(success-vs-budget). Runs are the records of the results store
(:mod:`asctools.experiments.store`): dicts with ``sequences``,
``test_metric``, ``solved_at`` and ``budget``.
"""

from __future__ import annotations

import numpy as np

from asctools.experiments.evidence import success_curve
from asctools.plots.axes import fig_ax, mapping

__all__ = ["median_curve", "plot_seeds", "plot_success"]


def median_curve(runs, x="sequences", y="test_metric"):
    """``(grid, median)`` of the runs' curves on the union of their x.

    A run that stopped early (solved) keeps its last value beyond its
    end, so the median never counts a solved seed as missing.
    """
    grid = np.unique(np.concatenate([np.asarray(r[x], float) for r in runs]))
    rows = []
    for r in runs:
        xs, ys = np.asarray(r[x], float), np.asarray(r[y], float)
        idx = np.searchsorted(xs, grid, side="right") - 1  # last x <= grid
        rows.append(np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan))
    return grid, np.nanmedian(np.array(rows), axis=0)


def plot_seeds(runs, ax=None, color="C0", label=None, x="sequences",
               y="test_metric", logy=False):  # fmt: skip
    """Every run's ``y`` against ``x`` (thin, translucent) and their
    median (bold), labelled ``label (median of n)``."""
    if not runs:
        raise ValueError("runs is empty: the selection matched no run")
    fig, ax = fig_ax(ax)
    for r in runs:
        ax.plot(r[x], r[y], color=color, lw=0.8, alpha=0.3)
    grid, med = median_curve(runs, x, y)
    name = f"{label}, " if label else ""
    ax.plot(grid, med, color=color, lw=2.2,
            label=f"{name}median of {len(runs)}")  # fmt: skip
    if logy:
        ax.set_yscale("log")
    return fig, ax


def plot_success(groups, ax=None, budget=None, n_points=200, colors=None):
    """The fraction of seeds solved against training sequences seen, one
    step curve per entry of ``groups`` = {label: runs}; ``colors``: one
    colour per group, in order (default C0, C1, ...)."""
    groups = mapping("groups", groups)
    fig, ax = fig_ax(ax)
    top = budget or max(r["budget"] for g in groups.values() for r in g)
    budgets = np.linspace(0, top, n_points)
    for i, (label, runs) in enumerate(groups.items()):
        frac = success_curve(runs, budgets)
        k = int(round(frac[-1] * len(runs)))
        color = f"C{i}" if colors is None else colors[i]
        ax.step(budgets, frac, where="post", color=color,
                label=f"{label} ({k}/{len(runs)})")  # fmt: skip
    ax.set(xlabel="training sequences seen", ylabel="fraction of seeds solved",
           ylim=(-0.04, 1.04))  # fmt: skip
    ax.xaxis.set_major_formatter(lambda v, pos: f"{v / 1000:g}k")
    return fig, ax
