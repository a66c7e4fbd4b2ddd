"""One gate of a recurrent cell by hand in NumPy, with its backward pass.

Everything here is written out so that each derivative can be read next to
the equation it differentiates. Every ``forward`` call pushes what its
backward pass will need onto a stack and ``backward`` pops it, so calling
``backward`` once per time step, last step first, walks the unrolled graph
backwards (:mod:`asctools.handmade.lstm`). Arrays are float64 by default,
batched: x ``(B, D)``, h ``(B, H)``.
"""

from __future__ import annotations

import numpy as np

from asctools._validate import check_int, check_seed, is_int

__all__ = ["ACTIVATIONS", "Gate", "as_rng", "check_array", "sigmoid"]


def sigmoid(s):
    """σ(s) = 1 / (1 + e^(−s)) = (1 + tanh(s/2)) / 2, stable for any s."""
    return 0.5 * (1.0 + np.tanh(0.5 * s))


# name -> (φ, φ' written in terms of the output a = φ(s))
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a: a * (1.0 - a)),  # σ' = σ(1 − σ)
    "tanh": (np.tanh, lambda a: 1.0 - a * a),  # tanh' = 1 − tanh²
    "identity": (lambda s: s, np.ones_like),
    "relu": (lambda s: np.maximum(s, 0.0), lambda a: (a > 0).astype(a.dtype)),
}


def as_rng(seed):
    """A ``np.random.Generator`` from a seed, a Generator, or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or is_int(seed):
        return np.random.default_rng(check_seed("seed", seed))
    raise TypeError(
        f"seed must be an int, a np.random.Generator or None, "
        f"got {type(seed).__name__}"
    )


def check_array(name, a, shape, dtype):
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
        check_int("in_features", in_features, 1)
        check_int("hidden_size", hidden_size, 1)
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
        self.clear_cache()

    def clear_cache(self):
        """Forget what earlier forwards kept for the backward pass."""
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
        check_array("x", x, (None, self.in_features), self.dtype)
        check_array("h", h, (x.shape[0], self.hidden_size), self.dtype)
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
        check_array("grad_a", grad_a, a.shape, self.dtype)
        self._cache.pop()
        grad_s = grad_a * self.dphi(a)  # ∂L/∂s = ∂L/∂a ⊙ φ'(s)
        self.dW += grad_s.T @ x  # ∂L/∂W = Σ_batch ∂L/∂s xᵀ
        self.dR += grad_s.T @ h  # ∂L/∂R = Σ_batch ∂L/∂s hᵀ
        self.db += grad_s.sum(axis=0)  # ∂L/∂b = Σ_batch ∂L/∂s
        return grad_s @ self.W, grad_s @ self.R  # Wᵀ ∂L/∂s, Rᵀ ∂L/∂s
