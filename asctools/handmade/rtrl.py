"""Real-time recurrent learning (RTRL) for the NumPy LSTM.

RTRL carries, *forward* in time, the sensitivities ∂state(t)/∂θ, so that the
gradient of a loss at step t is available at step t — no stored history,
memory constant in T. Full RTRL needs ∂[h; c](t)/∂θ: a (2H × P) matrix with
P ≈ 4H² parameters, updated by a (2H × 2H) Jacobian each step: O(H⁴) time
and O(H³) memory per sequence (:mod:`asctools.handmade.rtrl_full`, for
contrast).

The LSTM learning method (Hochreiter & Schmidhuber 1997) truncates the
gradient where h(t−1) enters the gate pre-activations: h(t−1) is treated as
an external input, like x(t). What is left is the cell state's own path,

    c(t) = f(t) ⊙ c(t−1) + z(t) ⊙ i(t)     (1997 cell: f ≡ 1),

and there c_n depends only on row n of each gate's weights (the diagonal
structure): with u = [x(t); h(t−1); 1] and s_g = W_g x + R_g h(t−1) + b_g,

    ∂c_n(t)/∂W^g_nk = f_n ∂c_n(t−1)/∂W^g_nk + q^g_n u_k,
    q^z = i ⊙ (1 − z²),  q^i = z ⊙ i (1 − i),  q^f = c(t−1) ⊙ f (1 − f),

and ∂c_n/∂W^g_mk = 0 for m ≠ n. So one array shaped like each gate's
weights, (H, D + H + 1) per sequence, holds all the sensitivities, and a
step costs O(H (D + H)) per gate (:class:`TruncatedRTRL`).

The output gate and the read-out need no sensitivities: under the
truncation they reach the loss only through h(t) = tanh(c(t)) ⊙ o(t) at the
loss step itself (o(t−1) only fed h(t−1), whose further paths are cut), so
their gradients are the ordinary local ones at that step.
"""

from __future__ import annotations

import numpy as np

from asctools.handmade.gate import check_array
from asctools.handmade.losses import LOSSES

__all__ = [
    "TruncatedRTRL",
    "cell_coefficients",
    "cell_step",
    "rtrl_loss_and_gradients",
    "run_forward_mode",
]


def cell_step(model, x_t, h_prev, c_prev):
    """Gate activations, new c and tanh(c), without caching (B, H) each."""
    a = {
        n: g.forward(x_t, h_prev, cache=False) for n, g in model.gates.items()
    }
    f = a.get("f", 1.0)  # the 1997 cell has no forget gate: f ≡ 1
    c = f * c_prev + a["z"] * a["i"]  # c(t) = f ⊙ c(t−1) + z ⊙ i
    return a, f, c, np.tanh(c)


def cell_coefficients(a, c_prev):
    """q^g = ∂c(t)/∂s_g for g in z, i (and f): dict of (B, H)."""
    z, i = a["z"], a["i"]
    q = {"z": i * (1.0 - z * z), "i": z * i * (1.0 - i)}
    if "f" in a:
        q["f"] = c_prev * a["f"] * (1.0 - a["f"])
    return q


def _add_output_gate_grads(model, dh, x_t, h_prev, tc, o):
    """∂L/∂θ_o at a loss step: h = tanh(c) ⊙ o, no sensitivity needed."""
    ds = dh * tc * o * (1.0 - o)  # ∂L/∂s_o, (B, H)
    gate = model.gates["o"]
    gate.dW += ds.T @ x_t
    gate.dR += ds.T @ h_prev
    gate.db += ds.sum(axis=0)


class TruncatedRTRL:
    """The LSTM learning method: truncated RTRL, O(H (D + H)) per gate.

    Usage: ``reset(B)``, then ``step(x_t)`` for t = 1..T; at any step with a
    loss call ``accumulate(∂L/∂h(t))`` to add that loss's gradient to the
    model's gradients (an online learner could update right there; with
    one loss at the last step, as in the memory task, the single update
    happens at the end of the sequence). Sensitivities ``S[g]`` are dicts
    ``{"W": (B, H, D), "R": (B, H, H), "b": (B, H)}`` — the gate's weight
    shapes with a batch axis in front.
    """

    def __init__(self, model):
        self.model = model
        self.names = [n for n in model.gates if n != "o"]

    def reset(self, batch_size):
        """Zero state and sensitivities for a new batch of sequences."""
        m, b = self.model, batch_size
        shape = (b, m.hidden_size)
        self.h, self.c = np.zeros(shape, m.dtype), np.zeros(shape, m.dtype)
        self.S = {
            n: {
                "W": np.zeros((*shape, m.input_size), m.dtype),
                "R": np.zeros((*shape, m.hidden_size), m.dtype),
                "b": np.zeros(shape, m.dtype),
            }
            for n in self.names
        }

    def step(self, x_t):
        """Advance state and sensitivities by one step; return h ``(B, H)``."""
        h_prev, c_prev = self.h, self.c
        a, f, self.c, self.tc = cell_step(self.model, x_t, h_prev, c_prev)
        q = cell_coefficients(a, c_prev)
        for n in self.names:
            S, qn = self.S[n], q[n][:, :, None]  # qn (B, H, 1)
            if "f" in a:  # (1997 cell: f ≡ 1, nothing to scale)
                for k in S:  # in place: S ← f ⊙ S
                    S[k] *= a["f"] if k == "b" else a["f"][:, :, None]
            # ∂c_n(t)/∂W_nk = f_n ∂c_n(t−1)/∂W_nk + q_n u_k
            S["W"] += qn * x_t[:, None, :]  # (B, H, D)
            S["R"] += qn * h_prev[:, None, :]  # (B, H, H)
            S["b"] += q[n]  # (B, H)
        self.x_t, self.h_prev, self.o = x_t, h_prev, a["o"]
        self.h = self.tc * self.o  # h(t) = tanh(c(t)) ⊙ o
        return self.h

    def accumulate(self, dh):
        """Add ∂L/∂θ for a loss at the current step; dh = ∂L/∂h(t)."""
        # c(t) reaches L only through h(t) = tanh(c) ⊙ o (truncation)
        dc = dh * self.o * (1.0 - self.tc * self.tc)  # (B, H)
        for n in self.names:
            gate, S = self.model.gates[n], self.S[n]
            gate.dW += np.einsum("bn,bnk->nk", dc, S["W"])
            gate.dR += np.einsum("bn,bnk->nk", dc, S["R"])
            gate.db += np.einsum("bn,bn->n", dc, S["b"])
        _add_output_gate_grads(
            self.model, dh, self.x_t, self.h_prev, self.tc, self.o
        )


def _check_sequence(model, x):
    check_array("x", x, (None, None, model.input_size), model.dtype)
    if x.shape[1] < 1:
        raise ValueError(f"x must have at least one time step, got {x.shape}")


def _readout_and_loss(model, h, y, loss):
    """Logits ``(B,)``, the loss, read-out gradients; returns (L, s, ∂L/∂h)."""
    s = (h @ model.w_out.T + model.b_out)[:, 0]  # s = w_out·h(T) + b_out
    value, grad_s = LOSSES[loss](s, y)
    model.dw_out += grad_s[None, :] @ h
    model.db_out += grad_s.sum(keepdims=True)
    return value, s, grad_s[:, None] @ model.w_out  # ∂L/∂h(T), (B, H)


def rtrl_loss_and_gradients(model, x, y, loss="bce"):
    """Like ``bptt_loss_and_gradients`` but with truncated RTRL.

    x ``(B, T, D)``, y ``(B,)``; returns (loss, logits) and leaves the
    truncated gradient in ``model.gradients()``.
    """
    return run_forward_mode(TruncatedRTRL, model, x, y, loss)


def run_forward_mode(method, model, x, y, loss="bce"):
    """Run ``method`` (an RTRL class) over x online; returns (loss, logits).

    The sensitivities are carried forward step by step; at the last step
    the read-out's error is turned into weight gradients through them.
    """
    _check_sequence(model, x)
    model.zero_grad()
    rtrl = method(model)
    rtrl.reset(x.shape[0])
    for t in range(x.shape[1]):
        h = rtrl.step(x[:, t])
    value, s, dh = _readout_and_loss(model, h, y, loss)
    rtrl.accumulate(dh)
    return value, s
