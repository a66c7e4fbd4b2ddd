"""Adam (Kingma & Ba 2015) on a dict of NumPy arrays.

Its per-parameter step size copes with gradients whose scales differ
widely between parameters, so one learning rate (1e−2) trains the NumPy
LSTM; plain SGD (``Gate.update``'s rule) learns short sequences (T = 20 at
lr 0.5) but stalled at T = 100 in our runs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Adam"]


class Adam:
    """Adam on a dict of NumPy arrays (updated in place).

    m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,
    θ ← θ − lr m̂ / (√v̂ + ε) with the bias-corrected m̂, v̂.
    """

    def __init__(self, params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def step(self, grads, sign=-1.0):
        """One update; ``sign=+1`` makes it (mistaken) gradient ascent."""
        self.t += 1
        b1, b2 = self.betas
        for k, p in self.params.items():
            g = grads[k]
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            p += sign * self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
