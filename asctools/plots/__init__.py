"""The book's figures, one function per figure type.

Each takes a result (of an instrument or of the results store), draws on
``ax`` (a new figure when None) and returns ``(fig, ax)``; nothing is
shown and no backend is chosen, so a notebook displays the figure and a
script can save it.

* :mod:`~asctools.plots.gradflow`: gradient norms, Jacobian products, the
  spectrum, clipping, the cliff, learning curves;
* :mod:`~asctools.plots.evidence`: every seed with the median, and the
  fraction of seeds solved against the budget;
* :mod:`~asctools.plots.mechanism`: inside a network: gate heat-maps,
  state drift, time constants, the attractors of a latch.
"""

from asctools.plots.evidence import median_curve, plot_seeds, plot_success
from asctools.plots.gradflow import (
    plot_cliff,
    plot_clipping,
    plot_grad_norms,
    plot_jacobian_norms,
    plot_learning_curve,
    plot_spectrum,
)
from asctools.plots.mechanism import (
    plot_drift,
    plot_gate_heatmaps,
    plot_latch,
    plot_time_constants,
    principal_directions,
)

__all__ = [
    "median_curve",
    "plot_cliff",
    "plot_drift",
    "plot_gate_heatmaps",
    "plot_latch",
    "plot_time_constants",
    "principal_directions",
    "plot_clipping",
    "plot_grad_norms",
    "plot_jacobian_norms",
    "plot_learning_curve",
    "plot_seeds",
    "plot_spectrum",
    "plot_success",
]
