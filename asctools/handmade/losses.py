"""The loss of the memory task, binary cross-entropy at the last step, and
the sign-flipped version one published solution used.

Both are computed from the logit s (ŷ = σ(s)) so that they never take
log(0):

    L = −[y log σ(s) + (1 − y) log(1 − σ(s))] = softplus(s) − y s,
    ∂L/∂s = σ(s) − y.

The published loss −(y log ŷ − (1 − y) log(1 − ŷ)) has a y = 0 term that
is *minus* the correct one, so descending it drives every prediction to 1,
the weights grow without bound and the loss falls below zero forever — it
"goes down", which looks like learning, while the accuracy stays at
chance.
"""

from __future__ import annotations

import numpy as np

from asctools.handmade.gate import sigmoid

__all__ = ["LOSSES", "bce_with_logits", "published_bce_with_logits"]


def bce_with_logits(s, y):
    """Mean BCE of logits s ``(B,)`` and targets y ``(B,)`` in {0, 1}.

    Returns ``(loss, ∂loss/∂s)``; softplus(s) = max(s, 0) + log(1 + e^−|s|).
    """
    softplus = np.logaddexp(0.0, s)  # log(1 + e^s), stable
    loss = np.mean(softplus - y * s)  # softplus(s) − y s
    sig = sigmoid(s)  # σ(s)
    return float(loss), (sig - y) / len(s)  # ∂/∂s = (σ(s) − y) / B


def published_bce_with_logits(s, y):
    """The sign-flipped loss −(y log ŷ − (1 − y) log(1 − ŷ)), mean over B.

    With log ŷ = −softplus(−s) and log(1 − ŷ) = −softplus(s) it is
    y softplus(−s) − (1 − y) softplus(s): unbounded below. Returns
    ``(loss, ∂loss/∂s)``.
    """
    loss = np.mean(y * np.logaddexp(0.0, -s) - (1 - y) * np.logaddexp(0.0, s))
    sig = sigmoid(s)
    # ∂/∂s = −y (1 − σ) − (1 − y) σ
    return float(loss), (-y * (1 - sig) - (1 - y) * sig) / len(s)


LOSSES = {"bce": bce_with_logits, "published": published_bce_with_logits}
