"""The LSTM by hand in NumPy: the 1997 cell and the modern one, with BPTT.

Backpropagation through time (BPTT) works like this: every ``forward``
call of a :class:`~asctools.handmade.gate.Gate` pushes what its backward
pass will need onto a stack; ``backward`` pops in reverse order, so
calling it once per time step, from the last step to the first, walks the
unrolled graph backwards. Parameter gradients *accumulate* (``+=``) over
the steps, which is exactly the sum over time that BPTT prescribes;
``zero_grad`` clears them.

Notation (the 1997 paper's): z is the cell input (PyTorch calls it g),
i and o (and f in the modern cell) the gates, c the cell state, h the
output. Arrays are float64 by default, batched: x ``(B, D)``, h and c
``(B, H)``.
"""

from __future__ import annotations

import numpy as np

from asctools._validate import check_bool, check_int
from asctools.handmade.gate import Gate, as_rng, check_array

__all__ = ["NumpyLSTM"]


class NumpyLSTM:
    """A one-layer LSTM with a sigmoid read-out at the last step.

    ``forget_gate=False`` is the original cell of Hochreiter & Schmidhuber
    (1997): c(t) = c(t−1) + z ⊙ i. ``forget_gate=True`` is the modern cell
    (Gers et al. 2000): c(t) = f ⊙ c(t−1) + z ⊙ i, with ``forget_bias``
    added to f's initial bias so that f starts near σ(1) ≈ 0.73. Both
    output h(t) = tanh(c(t)) ⊙ o. ``input_bias`` is added to i's initial
    bias: without a forget gate c(t) sums z ⊙ i over all steps, so with
    i ≈ 0.5 it drifts to |c| of several units over 100 steps, tanh(c)
    saturates and ∂h/∂c ≈ 0 stops the gradient; a negative input bias
    (i ≈ σ(−2) ≈ 0.12) keeps the cells in tanh's working range. The
    read-out is a logit s = w_out · h(T) + b_out; the prediction is
    ŷ = σ(s).

    ``forward(x)`` takes x ``(B, T, D)`` and returns the logits ``(B,)``;
    ``backward(grad_logits)`` runs BPTT and accumulates every gradient.
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        forget_gate=False,
        forget_bias=1.0,
        input_bias=0.0,
        seed=None,
        dtype=np.float64,
    ):
        check_int("input_size", input_size, 1)
        check_int("hidden_size", hidden_size, 1)
        check_bool("forget_gate", forget_gate)
        rng = as_rng(seed)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.forget_gate, self.dtype = forget_gate, np.dtype(dtype)
        names = ["z", "i", "f", "o"] if forget_gate else ["z", "i", "o"]
        self.gates = {
            n: Gate(
                input_size,
                hidden_size,
                "tanh" if n == "z" else "sigmoid",
                rng,
                bias={"f": forget_bias, "i": input_bias}.get(n, 0.0),
                dtype=dtype,
            )
            for n in names
        }
        k = 1.0 / np.sqrt(hidden_size)
        self.w_out = rng.uniform(-k, k, (1, hidden_size)).astype(dtype)
        self.b_out = np.zeros(1, dtype)
        self._steps = []  # per step: (c_prev, tanh(c), z, i, f, o)
        self.zero_grad()

    def parameters(self):
        """Dict ``"z.W"``, ..., ``"out.w"``, ``"out.b"`` -> arrays."""
        out = {
            f"{n}.{k}": v
            for n, g in self.gates.items()
            for k, v in g.parameters().items()
        }
        return out | {"out.w": self.w_out, "out.b": self.b_out}

    def gradients(self):
        """Dict with the same keys as :meth:`parameters`."""
        out = {
            f"{n}.{k}": v
            for n, g in self.gates.items()
            for k, v in g.gradients().items()
        }
        return out | {"out.w": self.dw_out, "out.b": self.db_out}

    def zero_grad(self):
        """Zero every gradient and drop the caches of earlier forwards."""
        for g in self.gates.values():
            g.zero_grad()
        self.dw_out = np.zeros_like(self.w_out)
        self.db_out = np.zeros_like(self.b_out)
        self._clear_caches()

    def _clear_caches(self):
        for g in self.gates.values():
            g.clear_cache()
        self._steps, self._h_last = [], None

    def update(self, lr):
        """Plain gradient descent on every parameter."""
        for p, g in zip(
            self.parameters().values(), self.gradients().values(), strict=True
        ):
            p -= lr * g

    def step(self, x_t, h, c):
        """One time step: x_t ``(B, D)``, h, c ``(B, H)`` -> (h, c)."""
        a = {n: g.forward(x_t, h) for n, g in self.gates.items()}
        f = a.get("f")  # None for the 1997 cell
        # c(t) = f ⊙ c(t−1) + z ⊙ i   (1997: f ≡ 1)
        c_new = (c if f is None else f * c) + a["z"] * a["i"]
        tc = np.tanh(c_new)
        self._steps.append((c, tc, a["z"], a["i"], f, a["o"]))
        return tc * a["o"], c_new  # h(t) = tanh(c(t)) ⊙ o

    def forward(self, x):
        """x ``(B, T, D)`` -> logits ``(B,)``; caches every step for BPTT."""
        check_array("x", x, (None, None, self.input_size), self.dtype)
        self._clear_caches()  # a new forward starts a new unrolled graph
        h = np.zeros((x.shape[0], self.hidden_size), self.dtype)
        c = np.zeros_like(h)
        for t in range(x.shape[1]):
            h, c = self.step(x[:, t], h, c)
        self._h_last = h
        return (h @ self.w_out.T + self.b_out)[:, 0]  # s = w_out·h(T) + b

    def backward(self, grad_logits):
        """BPTT from ∂L/∂s ``(B,)``; accumulates into :meth:`gradients`."""
        if self._h_last is None:
            raise RuntimeError("backward needs a forward first")
        check_array(
            "grad_logits", grad_logits, (len(self._h_last),), self.dtype
        )
        gs = grad_logits[:, None]  # (B, 1)
        self.dw_out += gs.T @ self._h_last  # ∂L/∂w_out = Σ_b ∂L/∂s h(T)
        self.db_out += gs.sum(axis=0)
        dh = gs @ self.w_out  # ∂L/∂h(T), (B, H)
        dc = np.zeros_like(dh)
        while self._steps:
            dh, dc = self.backward_step(dh, dc)
        self._h_last = None

    def backward_step(self, dh, dc):
        """∂L/∂h(t), ∂L/∂c(t) -> ∂L/∂h(t−1), ∂L/∂c(t−1) (pops a step)."""
        c_prev, tc, z, i, f, o = self._steps.pop()
        grads = {"o": dh * tc}  # h = tanh(c) ⊙ o  ⇒  ∂h/∂o = tanh(c)
        dc = dc + dh * o * (1.0 - tc * tc)  # ∂h/∂c = o ⊙ (1 − tanh²(c))
        grads["z"] = dc * i  # ∂c/∂z = i
        grads["i"] = dc * z  # ∂c/∂i = z
        if f is not None:
            grads["f"] = dc * c_prev  # ∂c/∂f = c(t−1)
        dc_prev = dc if f is None else dc * f  # ∂c/∂c(t−1) = f (or 1)
        dh_prev = np.zeros_like(dh)
        for n, g in self.gates.items():
            dh_prev += g.backward(grads[n])[1]  # Σ_gates Rᵀ ∂L/∂s
        return dh_prev, dc_prev
