"""‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) for every time step t of a recurrent model.

Backpropagation through time carries ∂L/∂h_T back through the Jacobians
∂h_t/∂h_{t−1}; the norm of what arrives at h_t, plotted against t, shows
whether the gradient vanishes or explodes on its way back.

Batch average: sequences of a batch do not interact, so for a loss that
is a mean over the batch, L = (1/B) Σ_b ℓ_b, the gradient at sequence b's
state is ∂L/∂h_t^(b) = (1/B) ∂ℓ_b/∂h_t^(b). We report the per-sequence
norm ‖∂ℓ_b/∂h_t^(b)‖ = B·‖∂L/∂h_t^(b)‖ (2-norm over the H units) and its
mean over the B sequences, so the numbers do not depend on B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from asctools._validate import check_int
from asctools.gradflow.unroll import unroll
from asctools.models import RecurrentModel, StepwiseModel

__all__ = [
    "GradNorms",
    "hidden_grad_norms",
    "relative_grad_norms",
    "grad_ratio",
]


@dataclass
class GradNorms:
    """Per-step gradient norms, float64 NumPy arrays.

    t: (T,) int, 1..T (h_t is the state after reading x_t).
    grad_h_norm: (T,) mean over sequences of ‖∂ℓ_b/∂h_t‖.
    grad_c_norm: (T,) the same for an LSTM's cell state c_t, else None.
    per_sequence_h, per_sequence_c: (B, T) the per-sequence norms.
    loss: the batch loss L.
    """

    t: np.ndarray
    grad_h_norm: np.ndarray
    grad_c_norm: np.ndarray | None
    per_sequence_h: np.ndarray
    per_sequence_c: np.ndarray | None
    loss: float


def _forward(model, x, state, layer):
    """Predictions (B, T, K) and the lists of states h_t, c_t (t=1..T)."""
    u = unroll(model, x, state)
    hs, cs = u.states(layer)
    return u.pred, hs, cs


def _pair(pred, target, loss_at):
    """Predictions and targets with one row per scored step."""
    n_b, n_t = pred.shape[:2]
    if loss_at == "last":
        if target.dim() == 3 and target.shape[1] == 1:
            target = target[:, 0]  # the trainer's (B, 1, K) layout
        p = pred[:, -1]  # (B, K)
    else:
        if tuple(target.shape[:2]) != (n_b, n_t):
            raise ValueError(
                f"target must start with (B, T) = {(n_b, n_t)} for "
                f"loss_at='every', got {tuple(target.shape)}"
            )
        p = pred.reshape(n_b * n_t, -1)  # (B*T, K)
        target = target.reshape(n_b * n_t, *target.shape[2:])
    if target.shape[0] != p.shape[0]:
        raise ValueError(
            f"target must have {n_b} sequences, got {tuple(target.shape)}"
        )
    return p, target


def _batch_loss(pred, target, criterion, loss_at):
    """The loss L at the last step or at every step, a mean over b."""
    if loss_at not in ("last", "every"):
        raise ValueError(f"loss_at must be 'last' or 'every', got {loss_at!r}")
    if target is None:
        if criterion is not None:
            raise ValueError("criterion needs a target")
        # L = mean over b (and t) of the sum of the outputs: ∂L/∂ŷ = const
        if loss_at == "last":
            return pred[:, -1].sum() / pred.shape[0]
        return pred.mean(dim=(0, 1)).sum()
    if not isinstance(target, Tensor):
        raise TypeError("target must be a Tensor or None")
    if criterion is None:
        floats = target.is_floating_point()
        criterion = nn.MSELoss() if floats else nn.CrossEntropyLoss()
    p, target = _pair(pred, target, loss_at)
    if isinstance(criterion, nn.MSELoss) and target.shape != p.shape:
        raise ValueError(
            f"target must have shape {tuple(p.shape)} for an MSE loss, "
            f"got {tuple(target.shape)}"
        )
    return criterion(p, target)


def _per_sequence(grads, states, n_b):
    """(B, T) array of B·‖∂L/∂s_t^(b)‖; unused states count as zero."""
    cols = [
        s.new_zeros(n_b) if g is None else n_b * g.detach().norm(dim=-1)
        for g, s in zip(grads, states, strict=True)
    ]
    return torch.stack(cols, dim=1).double().cpu().numpy()


def _batch_first(model, x, target, loss_at):
    """A bare layer with batch_first=False takes (T, B, ...): transpose."""
    bare = not isinstance(model, (RecurrentModel, StepwiseModel))
    if not bare or getattr(model, "batch_first", False):
        return x, target
    if target is not None and loss_at == "every":
        target = target.transpose(0, 1)  # (T, B, ...) -> (B, T, ...)
    return x.transpose(0, 1), target  # (T, B, D) -> (B, T, D)


def hidden_grad_norms(
    model: torch.nn.Module,
    x: Tensor,
    target: Tensor | None = None,
    *,
    criterion=None,
    loss_at: str = "last",
    layer: int = -1,
    state=None,
) -> GradNorms:
    """‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for an LSTM) for t = 1..T.

    model: a torch.nn / asctools.nn RNN, LSTM or GRU layer (x and the
    every-step target follow its ``batch_first``; the prediction is the
    layer's output); a model with ``.rnn`` and ``.readout``
    (``RecurrentModel``: x batch first, prediction = read-out of the top
    layer); or a step-wise model with ``step`` and ``initHidden``
    (``asctools.rnn``). x: float tensor (B, T, D).
    target: None, or (B, K) / (B,) / (B, 1, K) for ``loss_at="last"``,
    (B, T, ...) for ``loss_at="every"``. criterion: ``f(pred, target)``,
    default MSE for a float target, cross-entropy for an integer one.
    With no target, L = mean over sequences (and steps) of the sum of the
    predictions. layer: whose states to report (default the top layer).
    state: the model's initial state (default zeros).
    """
    if not isinstance(x, Tensor) or x.dim() != 3:
        raise ValueError("x must be a 3-D tensor (B, T, D)")
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor, got {x.dtype}")
    x, target = _batch_first(model, x, target, loss_at)
    with torch.enable_grad():
        pred, hs, cs = _forward(model, x, state, layer)
        loss = _batch_loss(pred, target, criterion, loss_at)
        grads = torch.autograd.grad(loss, hs + cs, allow_unused=True)
    n_b, n_t = pred.shape[:2]
    per_h = _per_sequence(grads[:n_t], hs, n_b)
    per_c = _per_sequence(grads[n_t:], cs, n_b) if cs else None
    return GradNorms(
        t=np.arange(1, n_t + 1),
        grad_h_norm=per_h.mean(axis=0),
        grad_c_norm=None if per_c is None else per_c.mean(axis=0),
        per_sequence_h=per_h,
        per_sequence_c=per_c,
        loss=float(loss.detach()),
    )


def relative_grad_norms(norms: GradNorms, which: str = "h") -> np.ndarray:
    """(T,) ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ of the batch means (``which="c"``: c_t)."""
    if not isinstance(norms, GradNorms):
        raise TypeError("norms must be a GradNorms")
    if which not in ("h", "c"):
        raise ValueError(f"which must be 'h' or 'c', got {which!r}")
    values = norms.grad_h_norm if which == "h" else norms.grad_c_norm
    if values is None:
        raise ValueError("which='c' needs an LSTM (no cell-state norms)")
    return values / values[-1]


def grad_ratio(
    norms: GradNorms, t: int | None = None, which: str = "h"
) -> float:
    """‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ at step t (1..T; default T // 2)."""
    ratios = relative_grad_norms(norms, which)
    n_t = len(ratios)
    t = check_int("t", n_t // 2 if t is None else t, 1, n_t)
    return float(ratios[t - 1])
