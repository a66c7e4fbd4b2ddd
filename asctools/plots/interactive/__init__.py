"""Figures the reader can move: Vega-Lite specs, written with Altair.

Each ``*_chart`` function takes precomputed data (an instrument's result
or stored runs) and returns an Altair chart whose controls (a slider,
radio buttons, a checkbox) are labelled HTML inputs; every state they
reach is in the spec, so a page needs no kernel. The still is the same
figure drawn by matplotlib at the controls' defaults (``*_still``, or
:mod:`asctools.plots`' own), and :func:`show` displays the pair: in the
built book the still, replaced by the chart where the book's own copy of
vega-embed runs; in Colab and plain Jupyter the chart.

* :mod:`~asctools.plots.interactive.gradients`: the Jacobian product
  over σ_max(W_hh), gradient descent on the cliff (chapter 2);
* :mod:`~asctools.plots.interactive.lstm`: an LSTM's gates stepped
  through time, success against budget (chapter 4);
* :mod:`~asctools.plots.interactive.embed`: :func:`show`.

Not imported by :mod:`asctools.plots` itself, so the static figures do
not load Altair: ``from asctools.plots import interactive``.
"""

from asctools.plots.interactive.embed import BOOK_ENV, show
from asctools.plots.interactive.gradients import (
    cliff_chart,
    cliff_paths,
    cliff_still,
    jacobian_chart,
)
from asctools.plots.interactive.lstm import (
    gates_chart,
    gates_still,
    marker_units,
    success_chart,
    success_still,
)

__all__ = [
    "BOOK_ENV",
    "cliff_chart",
    "cliff_paths",
    "cliff_still",
    "gates_chart",
    "gates_still",
    "jacobian_chart",
    "marker_units",
    "show",
    "success_chart",
    "success_still",
]
