"""Gradient-flow instruments: what happens to ∂L/∂h_t on its way back.

* :func:`hidden_grad_norms`: ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) for every t, for
  torch.nn / asctools.nn layers, ``RecurrentModel`` and the step-wise
  models of :mod:`asctools.rnn`; :func:`grad_ratio` and
  :func:`relative_grad_norms` divide by ‖∂L/∂h_T‖.
* :func:`rnn_jacobian_norms`: ‖∂h_t/∂h_k‖ against t − k with the bound
  (γ σ_max)^(t−k), :func:`jacobian_norms_by_scale` over rescaled W_hh;
  :func:`spectrum` of W_hh.
* :func:`gate_trace`: the gates, states and predictions of an LSTM or GRU
  at every step (heat-maps, time constants, saturation).
* :func:`cliff_surface`: the loss surface of a one-unit RNN;
  :func:`cliff_descent`: gradient descent on it, clipped or not.
* :func:`unroll`: every state of a model, the instruments' one view of it.

Experiments that train and then measure (``adding_ratio``,
``clipping_comparison``) live in :mod:`asctools.experiments`; the plots of
these results in :mod:`asctools.plots`.
"""

from asctools.gradflow.cliff import (
    CliffSurface,
    cliff_descent,
    cliff_surface,
    one_unit_grad,
    one_unit_loss,
)
from asctools.gradflow.gates import GateTrace, gate_trace
from asctools.gradflow.jacobian import (
    GAMMA,
    JacobianNorms,
    Spectrum,
    jacobian_norms_by_scale,
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
from asctools.gradflow.unroll import Unrolled, layer_kind, unroll, unroll_layer

__all__ = [
    "GAMMA",
    "CliffSurface",
    "GateTrace",
    "GradNorms",
    "JacobianNorms",
    "Spectrum",
    "Unrolled",
    "cliff_descent",
    "cliff_surface",
    "gate_trace",
    "grad_ratio",
    "hidden_grad_norms",
    "jacobian_norms_by_scale",
    "jacobian_product_norms",
    "layer_kind",
    "one_unit_grad",
    "one_unit_loss",
    "relative_grad_norms",
    "rnn_jacobian_norms",
    "scale_spectral_norm",
    "spectrum",
    "unroll",
    "unroll_layer",
]
