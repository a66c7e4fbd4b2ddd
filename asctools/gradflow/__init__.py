"""Gradient-flow instruments: what happens to ∂L/∂h_t on its way back.

* :func:`hidden_grad_norms`: ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) for every t, for
  torch.nn / asctools.nn layers, ``RecurrentModel`` and the step-wise
  models of :mod:`asctools.rnn`; :func:`grad_ratio` and
  :func:`relative_grad_norms` divide by ‖∂L/∂h_T‖.
* :func:`rnn_jacobian_norms`: ‖∂h_t/∂h_k‖ against t − k with the bound
  (γ σ_max)^(t−k); :func:`spectrum` of W_hh.
* :func:`clipping_comparison`: an exploding run with and without clipping.
* :func:`cliff_surface`: the loss surface of a one-unit RNN.
* :func:`adding_ratio`, :func:`ratio_table`: ‖∂L/∂h_{T/2}‖/‖∂L/∂h_T‖.

The plots of these results live in :mod:`asctools.plots`.
"""

from asctools.gradflow.cliff import CliffSurface, cliff_surface, one_unit_loss
from asctools.gradflow.experiments import (
    RATIO_CONFIGS,
    ClippingRuns,
    RatioResult,
    adding_ratio,
    clipping_comparison,
    ratio_table,
)
from asctools.gradflow.jacobian import (
    GAMMA,
    JacobianNorms,
    Spectrum,
    jacobian_product_norms,
    rnn_jacobian_norms,
    scale_spectral_norm,
    spectrum,
)
from asctools.gradflow.norms import (
    GradNorms,
    grad_ratio,
    hidden_grad_norms,
    relative_grad_norms,
)
from asctools.gradflow.unroll import Unrolled, layer_kind, unroll_layer

__all__ = [
    "GAMMA",
    "RATIO_CONFIGS",
    "CliffSurface",
    "ClippingRuns",
    "GradNorms",
    "JacobianNorms",
    "RatioResult",
    "Spectrum",
    "Unrolled",
    "adding_ratio",
    "cliff_surface",
    "clipping_comparison",
    "grad_ratio",
    "hidden_grad_norms",
    "jacobian_product_norms",
    "layer_kind",
    "one_unit_loss",
    "ratio_table",
    "relative_grad_norms",
    "rnn_jacobian_norms",
    "scale_spectral_norm",
    "spectrum",
    "unroll_layer",
]
