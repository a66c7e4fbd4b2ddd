"""The LSTM by hand in NumPy: a ``Gate`` module and two LSTM cells.

Everything here is written out so that each derivative can be read next to
the equation it differentiates. Backpropagation through time (BPTT) works
like this: every ``forward`` call pushes what its backward pass will need
onto a stack; ``backward`` pops in reverse order, so calling it once per
time step, from the last step to the first, walks the unrolled graph
backwards. Parameter gradients *accumulate* (``+=``) over the steps, which
is exactly the sum over time that BPTT prescribes; ``zero_grad`` clears
them.

Notation (the 1997 paper's): z is the cell input (PyTorch calls it g),
i, f, o the input, forget and output gates, c the cell state, h the output.
Arrays are float64 by default, batched: x ``(B, D)``, h and c ``(B, H)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ACTIVATIONS", "Gate", "NumpyLSTM", "as_rng"]


def _sigmoid(s):
    # σ(s) = 1 / (1 + e^(−s)) = (1 + tanh(s/2)) / 2, stable for any s
    return 0.5 * (1.0 + np.tanh(0.5 * s))


# name -> (φ, φ' written in terms of the output a = φ(s))
ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),  # σ' = σ(1 − σ)
    "tanh": (np.tanh, lambda a: 1.0 - a * a),  # tanh' = 1 − tanh²
    "identity": (lambda s: s, np.ones_like),
    "relu": (lambda s: np.maximum(s, 0.0), lambda a: (a > 0).astype(a.dtype)),
}


def as_rng(seed):
    """A ``np.random.Generator`` from a seed, a Generator, or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (
        isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
    ):
        return np.random.default_rng(seed)
    raise TypeError(
        f"seed must be an int, a np.random.Generator or None, "
        f"got {type(seed).__name__}"
    )


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be positive, got {value}")


def _check_array(name, a, shape, dtype):
    """Raise unless ``a`` is an ndarray of exactly ``shape`` (None: any)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a np.ndarray, got {type(a).__name__}")
    if a.ndim != len(shape) or any(
        s is not None and s != n for s, n in zip(shape, a.shape, strict=True)
    ):
        want = tuple("B" if s is None else s for s in shape)
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    if a.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {a.dtype}")


class Gate:
    """a = φ(W x + R h + b): one gate of a recurrent cell.

    Parameters: ``W`` ``(H, D)``, ``R`` ``(H, H)``, ``b`` ``(H,)``,
    initialised U(−1/√H, 1/√H) (PyTorch's choice); ``bias`` is added to
    ``b``'s initial values (e.g. 1.0 for a forget gate). ``dW, dR, db``
    hold the accumulated gradients.
    """

    def __init__(
        self,
        in_features,
        hidden_size,
        activation="sigmoid",
        rng=None,
        bias=0.0,
        dtype=np.float64,
    ):
        _check_size("in_features", in_features)
        _check_size("hidden_size", hidden_size)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {activation!r}"
            )
        rng = as_rng(rng)
        self.in_features, self.hidden_size = in_features, hidden_size
        self.activation = activation
        self.phi, self.dphi = ACTIVATIONS[activation]
        self.dtype = np.dtype(dtype)
        k = 1.0 / np.sqrt(hidden_size)
        shapes = {"W": (hidden_size, in_features), "R": (hidden_size,) * 2}
        for name, shape in shapes.items():
            setattr(self, name, rng.uniform(-k, k, shape).astype(dtype))
        self.b = (rng.uniform(-k, k, hidden_size) + bias).astype(dtype)
        self._cache = []  # stack of (x, h, a), one entry per forward
        self.zero_grad()

    def parameters(self):
        """Dict name -> parameter array (the arrays themselves)."""
        return {"W": self.W, "R": self.R, "b": self.b}

    def gradients(self):
        """Dict name -> accumulated gradient, same shapes as parameters."""
        return {"W": self.dW, "R": self.dR, "b": self.db}

    def zero_grad(self):
        """Set the accumulated gradients to zero and forget the caches."""
        self.dW = np.zeros_like(self.W)
        self.dR = np.zeros_like(self.R)
        self.db = np.zeros_like(self.b)
        self._cache.clear()

    def update(self, lr):
        """One step of gradient *descent*: θ ← θ − lr ∇θ."""
        for p, g in zip(
            self.parameters().values(), self.gradients().values(), strict=True
        ):
            p -= lr * g

    def forward(self, x, h, cache=True):
        """x ``(B, D)``, h ``(B, H)`` -> a ``(B, H)``.

        Pushes (x, h, a) for :meth:`backward` unless ``cache=False``
        (forward-mode methods such as RTRL keep no history).
        """
        _check_array("x", x, (None, self.in_features), self.dtype)
        _check_array("h", h, (x.shape[0], self.hidden_size), self.dtype)
        s = x @ self.W.T + h @ self.R.T + self.b  # s = W x + R h + b
        a = self.phi(s)  # a = φ(s), (B, H)
        if cache:
            self._cache.append((x, h, a))
        return a

    def backward(self, grad_a):
        """∂L/∂a ``(B, H)`` -> (∂L/∂x ``(B, D)``, ∂L/∂h ``(B, H)``).

        Pops the most recent forward's cache and adds this step's share to
        ``dW, dR, db``.
        """
        if not self._cache:
            raise RuntimeError("backward called more often than forward")
        x, h, a = self._cache[-1]
        _check_array("grad_a", grad_a, a.shape, self.dtype)
        self._cache.pop()
        grad_s = grad_a * self.dphi(a)  # ∂L/∂s = ∂L/∂a ⊙ φ'(s)
        self.dW += grad_s.T @ x  # ∂L/∂W = Σ_batch ∂L/∂s xᵀ
        self.dR += grad_s.T @ h  # ∂L/∂R = Σ_batch ∂L/∂s hᵀ
        self.db += grad_s.sum(axis=0)  # ∂L/∂b = Σ_batch ∂L/∂s
        return grad_s @ self.W, grad_s @ self.R  # Wᵀ ∂L/∂s, Rᵀ ∂L/∂s


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
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        if not isinstance(forget_gate, bool):
            raise TypeError(f"forget_gate must be a bool, got {forget_gate!r}")
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
            g._cache.clear()
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
        _check_array("x", x, (None, None, self.input_size), self.dtype)
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
        _check_array(
            "grad_logits", grad_logits, (len(self._h_last),), self.dtype
        )
        gs = grad_logits[:, None]  # (B, 1)
        self.dw_out += gs.T @ self._h_last  # ∂L/∂w_out = Σ_b ∂L/∂s h(T)
        self.db_out += gs.sum(axis=0)
        dh = gs @ self.w_out  # ∂L/∂h(T), (B, H)
        dc = np.zeros_like(dh)
        while self._steps:
            dh, dc = self._backward_step(dh, dc)
        self._h_last = None

    def _backward_step(self, dh, dc):
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
