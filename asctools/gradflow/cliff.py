"""The loss surface of a one-unit RNN, with its "cliffs".

Pascanu, Mikolov & Bengio (2013, Fig. 6) show that a single recurrent
unit run for T steps has a loss surface with flat plateaus separated by
walls: where (w, b) crosses a bifurcation of the map h ↦ φ(w h + b) the
final state h_T jumps from one attractor to another, and ∂L/∂w explodes.
:func:`cliff_descent` walks that surface by gradient descent, with or
without clipping, to show what one step at the wall does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asctools._validate import check_choice, check_int, check_real

__all__ = [
    "CliffSurface",
    "cliff_descent",
    "cliff_surface",
    "one_unit_grad",
    "one_unit_loss",
]

_ACTS = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
}
# φ′ written with the output h = φ(a): tanh′ = 1 − h², σ′ = h (1 − h)
_DACTS = {"tanh": lambda h: 1.0 - h**2, "sigmoid": lambda h: h * (1.0 - h)}


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


def one_unit_grad(w, b, seq_len=50, h0=0.5, target=0.7, activation="tanh"):
    """``(L, ∂L/∂w, ∂L/∂b)`` of :func:`one_unit_loss` at floats w, b,
    by backpropagation through the T steps."""
    check_choice("activation", activation, _ACTS)
    seq_len = check_int("seq_len", seq_len, 1)
    phi, dphi = _ACTS[activation], _DACTS[activation]
    w, b = float(w), float(b)
    h = [float(h0)]
    for _ in range(seq_len):
        h.append(float(phi(w * h[-1] + b)))  # h_t = φ(w h_{t−1} + b)
    dh = 2.0 * (h[-1] - target)  # ∂L/∂h_T
    dw = db = 0.0
    for t in range(seq_len, 0, -1):
        da = dh * dphi(h[t])  # ∂L/∂a_t = ∂L/∂h_t φ′(a_t)
        dw += da * h[t - 1]  # a_t = w h_{t−1} + b
        db += da
        dh = da * w  # ∂L/∂h_{t−1}
    return (h[-1] - target) ** 2, dw, db


def cliff_descent(w0, b0, lr, steps=30, clip=None, **loss_kw) -> np.ndarray:
    """Gradient descent on :func:`one_unit_loss` from (w0, b0).

    Each step moves (w, b) by −lr g, where g = (∂L/∂w, ∂L/∂b) is first
    shrunk to length ``clip`` if it is longer (clipping by norm, as
    ``clip_grad_norm_`` does; None = no clipping). ``loss_kw`` goes to
    :func:`one_unit_grad`. Returns (steps + 1, 3): w, b and the loss at
    each point visited, the start first.
    """
    lr = check_real("lr", lr, 0, strict=True)
    steps = check_int("steps", steps, 1)
    if clip is not None:
        clip = check_real("clip", clip, 0, strict=True)
    path = np.empty((steps + 1, 3))
    w, b = float(w0), float(b0)
    for k in range(steps + 1):
        loss, dw, db = one_unit_grad(w, b, **loss_kw)
        path[k] = w, b, loss
        norm = float(np.hypot(dw, db))
        if clip is not None and norm > clip:
            dw, db = dw * clip / norm, db * clip / norm  # g ← g τ / ‖g‖
        w, b = w - lr * dw, b - lr * db
    return path
