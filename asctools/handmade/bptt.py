"""Backpropagation through time for the NumPy LSTM, and its gradient check."""

from __future__ import annotations

from asctools.handmade.gradcheck import gradient_check
from asctools.handmade.losses import LOSSES, bce_with_logits

__all__ = ["bptt_loss_and_gradients", "gradient_check_lstm"]


def bptt_loss_and_gradients(model, x, y, loss="bce"):
    """Zero the gradients, run forward and BPTT; return (loss, logits).

    x ``(B, T, D)``, y ``(B,)`` float; afterwards ``model.gradients()``
    holds ∂loss/∂θ.
    """
    model.zero_grad()
    s = model.forward(x)  # (B,)
    value, grad_s = LOSSES[loss](s, y)
    model.backward(grad_s)
    return value, s


def gradient_check_lstm(model, x, y, **kwargs):
    """Finite-difference check of every parameter of a ``NumpyLSTM``.

    ``kwargs`` go to :func:`asctools.handmade.gradcheck.gradient_check`.
    """
    bptt_loss_and_gradients(model, x, y)
    grads = {k: v.copy() for k, v in model.gradients().items()}

    def loss_fn():
        return bce_with_logits(model.forward(x), y)[0]

    return gradient_check(loss_fn, model.parameters(), grads, **kwargs)
