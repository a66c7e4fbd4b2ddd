"""Full RTRL for the NumPy LSTM: the exact gradient, at O(H⁴) per step.

Kept as the contrast to the truncated method of
:mod:`asctools.handmade.rtrl`. The state is s = [c; h] (2H); the
sensitivity P = ∂s(t)/∂θ over the gate parameters θ, one matrix
M_g = [W_g | R_g | b_g] ``(H, K)`` per gate with K = D + H + 1, is
stored as ``(B, 2H, G, H, K)`` and updated by

    P(t) = J(t) P(t−1) + ∂s(t)/∂θ|_immediate,   J = ∂s(t)/∂s(t−1) (2H × 2H),

which costs (2H)² · G H K ≈ 16 H⁴ multiply-adds per step. Its gradient is
the exact one, equal to BPTT's.
"""

from __future__ import annotations

import numpy as np

from asctools.handmade.rtrl import (
    cell_coefficients,
    cell_step,
    run_forward_mode,
)

__all__ = ["FullRTRL", "full_rtrl_loss_and_gradients"]


class FullRTRL:
    """Exact forward-mode gradient of a ``NumpyLSTM`` (no truncation)."""

    def __init__(self, model):
        self.model = model
        self.names = list(model.gates)  # gate g's index in P's axis 2

    def reset(self, batch_size):
        """Zero state and sensitivities ``P`` ``(B, 2H, G, H, K)``."""
        m = self.model
        H, K = m.hidden_size, m.input_size + m.hidden_size + 1
        self.h = np.zeros((batch_size, H), m.dtype)
        self.c = np.zeros_like(self.h)
        self.P = np.zeros((batch_size, 2 * H, len(self.names), H, K), m.dtype)

    def _jacobian(self, a, q, f, tc):
        """J = ∂[c; h](t)/∂[c; h](t−1), ``(B, 2H, 2H)``."""
        gates, H = self.model.gates, self.model.hidden_size
        B = tc.shape[0]
        dhdc = a["o"] * (1.0 - tc * tc)  # ∂h/∂c = o ⊙ (1 − tanh²c)
        # ∂c/∂h(t−1) = Σ_g diag(q^g) R_g over g in z, i, f
        dc_dh = sum(q[n][:, :, None] * gates[n].R for n in q)
        ds_o = tc * a["o"] * (1.0 - a["o"])  # ∂h/∂s_o
        f = np.broadcast_to(f, (B, H))
        J = np.zeros((B, 2 * H, 2 * H), self.model.dtype)
        ar = np.arange(H)
        J[:, ar, ar] = f  # ∂c/∂c(t−1) = diag(f)
        J[:, :H, H:] = dc_dh
        J[:, H + ar, ar] = dhdc * f  # ∂h/∂c(t−1) = diag(dhdc ⊙ f)
        # ∂h/∂h(t−1) = diag(dhdc) ∂c/∂h(t−1) + diag(∂h/∂s_o) R_o
        J[:, H:, H:] = (
            dhdc[:, :, None] * dc_dh + ds_o[:, :, None] * gates["o"].R
        )
        return J, dhdc, ds_o

    def step(self, x_t):
        """Advance state and P by one step; return h ``(B, H)``."""
        h_prev, c_prev = self.h, self.c
        a, f, self.c, tc = cell_step(self.model, x_t, h_prev, c_prev)
        q = cell_coefficients(a, c_prev)
        J, dhdc, ds_o = self._jacobian(a, q, f, tc)
        u = np.concatenate(  # u = [x; h(t−1); 1], (B, K)
            [x_t, h_prev, np.ones((len(x_t), 1), x_t.dtype)], axis=1
        )
        B, H2 = J.shape[:2]
        P = (J @ self.P.reshape(B, H2, -1)).reshape(self.P.shape)
        ar, H = np.arange(H2 // 2), H2 // 2
        for gi, n in enumerate(self.names):  # immediate terms, diagonal
            dc = q.get(n, np.zeros_like(tc))  # ∂c_n/∂s_g,n
            dh = dhdc * dc + (ds_o if n == "o" else 0.0)  # ∂h_n/∂s_g,n
            P[:, ar, gi, ar, :] += dc[:, :, None] * u[:, None, :]
            P[:, H + ar, gi, ar, :] += dh[:, :, None] * u[:, None, :]
        self.P, self.h = P, tc * a["o"]  # h(t) = tanh(c(t)) ⊙ o
        return self.h

    def accumulate(self, dh):
        """Add ∂L/∂θ for a loss at the current step; dh = ∂L/∂h(t)."""
        m, H = self.model, self.model.hidden_size
        D = m.input_size
        grad = np.einsum("bn,bngjk->gjk", dh, self.P[:, H:])  # (G, H, K)
        for gi, n in enumerate(self.names):
            gate = m.gates[n]
            gate.dW += grad[gi, :, :D]
            gate.dR += grad[gi, :, D : D + H]
            gate.db += grad[gi, :, -1]


def full_rtrl_loss_and_gradients(model, x, y, loss="bce"):
    """The exact gradient by full RTRL; returns (loss, logits)."""
    return run_forward_mode(FullRTRL, model, x, y, loss)
