"""The loss surface of a one-unit RNN, with its "cliffs".

Pascanu, Mikolov & Bengio (2013, Fig. 6) show that a single recurrent
unit run for T steps has a loss surface with flat plateaus separated by
walls: where (w, b) crosses a bifurcation of the map h ↦ φ(w h + b) the
final state h_T jumps from one attractor to another, and ∂L/∂w explodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asctools._validate import check_choice, check_int

__all__ = ["CliffSurface", "cliff_surface", "one_unit_loss"]

_ACTS = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
}


@dataclass
class CliffSurface:
    """w: (n_w,), b: (n_b,), loss: (n_b, n_w) float64, with
    loss[i, j] = L(w[j], b[i]) (rows follow b, as ``contour(w, b, loss)``
    expects)."""

    w: np.ndarray
    b: np.ndarray
    loss: np.ndarray
    seq_len: int
    h0: float
    target: float
    activation: str


def one_unit_loss(w, b, seq_len=50, h0=0.5, target=0.7, activation="tanh"):
    """L = (h_T − target)² with h_t = φ(w h_{t−1} + b), h_0 = h0.

    w, b: floats or arrays of one shape (evaluated elementwise).
    """
    check_choice("activation", activation, _ACTS)
    seq_len = check_int("seq_len", seq_len, 1)
    w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if w.shape != b.shape:
        raise ValueError(
            f"w and b must have one shape, got {w.shape} and {b.shape}"
        )
    phi = _ACTS[activation]
    h = np.full(w.shape, float(h0))
    for _ in range(seq_len):
        h = phi(w * h + b)  # h_t = φ(w h_{t−1} + b), every grid point
    return (h - target) ** 2  # L = (h_T − target)²


def _axis(name, rng, n):
    if len(rng) != 2 or not rng[0] < rng[1]:
        raise ValueError(f"{name} must be (low, high) with low < high")
    return np.linspace(float(rng[0]), float(rng[1]), n)


def cliff_surface(
    w_range=(-1.0, 4.0),
    b_range=(-2.0, 2.0),
    n: int = 201,
    seq_len: int = 50,
    h0: float = 0.5,
    target: float = 0.7,
    activation: str = "tanh",
) -> CliffSurface:
    """The loss of :func:`one_unit_loss` on an n × n grid of (w, b)."""
    n = check_int("n", n, 2)
    w = _axis("w_range", w_range, n)
    b = _axis("b_range", b_range, n)
    ww, bb = np.meshgrid(w, b)  # (n_b, n_w)
    loss = one_unit_loss(ww, bb, seq_len, h0, target, activation)
    return CliffSurface(w, b, loss, seq_len, h0, target, activation)
