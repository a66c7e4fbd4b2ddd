"""Exercises of chapter 2, *Vanishing and exploding gradients*.

``rnn_jacobian`` (implement), ``scale_w_hh`` (predict, then run),
``clip_by_global_norm`` (implement), ``random_orthogonal`` (explore).
Column-vector notation as in the chapter: h_t = tanh(W_xh x_t + W_hh h_{t-1}
+ b), so ∂h_t/∂h_{t-1} = diag(1 − h_t²) W_hh, an (H, H) matrix.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from asctools._validate import is_real
from asctools.dataset import adding_problem
from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise
from asctools.gradflow import grad_ratio, hidden_grad_norms
from asctools.models import RecurrentModel

__all__ = [
    "rnn_forward",
    "rnn_jacobian",
    "scale_w_hh",
    "clip_by_global_norm",
    "random_orthogonal",
    "orthogonal_vs_default",
]

F64 = torch.float64


def _randn(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=F64)


# --- 1. The Jacobian product ∂h_t/∂h_k ---


def rnn_forward(x, W_xh, W_hh, b):
    """Run a tanh RNN on one sequence from h_0 = 0.

    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), t = 1..T. ``x`` is (T, D)
    (row t-1 holds x_t), W_xh (H, D), W_hh (H, H), b (H,). Returns ``h``
    (T+1, H): row t is h_t, row 0 is h_0 = 0.
    """
    h = [x.new_zeros(W_hh.shape[0])]  # h_0 = 0
    for x_t in x:
        h.append(torch.tanh(W_xh @ x_t + W_hh @ h[-1] + b))  # h_t, (H,)
    return torch.stack(h)


def _solution_rnn_jacobian(x, W_xh, W_hh, b, k, t):
    h = rnn_forward(x, W_xh, W_hh, b)  # (T+1, H), row j is h_j
    J = torch.eye(W_hh.shape[0], dtype=x.dtype)  # ∂h_k/∂h_k = I
    for j in range(k + 1, t + 1):  # t - k factors, the newest on the left
        d = 1 - h[j] ** 2  # tanh′(a_j) = 1 − h_j², (H,)
        J = (d[:, None] * W_hh) @ J  # diag(φ′(a_j)) W_hh ∂h_{j-1}/∂h_k
    return J


def _rnn_jacobian_autograd(x, W_xh, W_hh, b, k, t):
    """∂h_t/∂h_k by torch.autograd.functional.jacobian."""
    h_k = rnn_forward(x[:k], W_xh, W_hh, b)[-1]

    def rollout(h):  # h_k -> h_t
        for x_j in x[k:t]:
            h = torch.tanh(W_xh @ x_j + W_hh @ h + b)
        return h

    return torch.autograd.functional.jacobian(rollout, h_k)


def _jacobian_variant(
    order="left", first=1, last=0, lag=0, deriv="h", trans=False, out_t=False
):
    """The Jacobian product made with one of the usual mistakes."""

    def jac(x, W_xh, W_hh, b, k, t):
        h = rnn_forward(x, W_xh, W_hh, b)
        W = W_hh.T if trans else W_hh
        J = torch.eye(W.shape[0], dtype=x.dtype)
        for j in range(k + first, t + 1 + last):
            hj = h[j - lag]
            d = {
                "h": 1 - hj**2,
                "none": torch.ones_like(hj),
                "tanh_twice": 1 - torch.tanh(hj) ** 2,
            }[deriv]
            F = d[:, None] * W
            J = F @ J if order == "left" else J @ F
        return J.T if out_t else J

    return jac


_JACOBIAN_MISTAKES = {
    "the factors are multiplied oldest-on-the-left (J @ F instead of "
    "F @ J)": _jacobian_variant(order="right"),
    "there is one factor too many (t - k + 1: the range starts at k)": (
        _jacobian_variant(first=0)
    ),
    "there is one factor too few (t - k - 1: the range stops at t - 1)": (
        _jacobian_variant(last=-1)
    ),
    "diag(φ′) is left out (the product is W_hh^(t-k))": _jacobian_variant(
        deriv="none"
    ),
    "W_hh is transposed (W_hh.T, as in the row-vector code h @ W_hh.T)": (
        _jacobian_variant(trans=True)
    ),
    "φ′ is taken at step j - 1 (1 - h_{j-1}²) instead of j": (
        _jacobian_variant(lag=1)
    ),
    "tanh′ is computed as 1 - tanh(h_j)²: h_j is already tanh(a_j), so "
    "tanh′(a_j) = 1 - h_j²": _jacobian_variant(deriv="tanh_twice"),
    "the whole result is transposed (∂h_t/∂h_k has row i = unit i of "
    "h_t)": _jacobian_variant(out_t=True),
}


@exercise(
    label="ch02-ex-jacobian",
    title="The Jacobian product of a tanh RNN",
    kind="implement",
    solution=_solution_rnn_jacobian,
    helpers=(rnn_forward,),
    hints=[
        "One step first: h_j = tanh(a_j) with a_j = W_xh x_j + W_hh h_{j-1}"
        " + b gives ∂h_j/∂h_{j-1} = diag(tanh′(a_j)) W_hh, and tanh′(a_j) "
        "= 1 - h_j². Row i of diag(d) W is d_i times row i of W: "
        "`d[:, None] * W_hh`.",
        "∂h_t/∂h_k is the product of the t - k one-step factors for "
        "j = k+1, ..., t, the newest (j = t) on the left; for k = t it is "
        "the identity.",
        "Get the states from `ex.rnn_forward(x, W_xh, W_hh, b)`, start "
        "from `J = torch.eye(H, dtype=x.dtype)` and loop "
        "`for j in range(k + 1, t + 1): J = F_j @ J`.",
    ],
)
def rnn_jacobian(answer):
    """x (T, D), W_xh (H, D), W_hh (H, H), b (H,), 0 ≤ k ≤ t ≤ T."""
    gen = torch.Generator().manual_seed(2)
    T, D, H = 7, 2, 4
    net = {
        "x": _randn(gen, T, D),
        "W_xh": _randn(gen, H, D),
        "W_hh": _randn(gen, H, H, scale=0.8),
        "b": _randn(gen, H, scale=0.5),
    }
    pairs = [(2, 5), (0, 3), (4, 7), (1, 2), (3, 3)]  # (k, t)
    cases = [{**net, "k": k, "t": t} for k, t in pairs]
    return checks.compare_functions(
        answer,
        _rnn_jacobian_autograd,
        cases,
        name="rnn_jacobian",
        grad=False,
        rtol=1e-6,
        atol=1e-12,
        mistakes=_JACOBIAN_MISTAKES,
        ref_name="torch.autograd.functional.jacobian",
    )


# --- 2. Predict: scale W_hh by 0.5 and by 2 ---


def _solution_scale_w_hh():
    # Run it: r = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ for a tanh RNN on the adding
    # problem (T = 50, H = 64), with W_hh as initialised, halved, doubled.
    x, y = adding_problem(32, 50, seed=1)  # (32, 50, 2), (32, 1)
    r = {}
    for scale in (1.0, 0.5, 2.0):
        torch.manual_seed(1)  # the same W_hh before scaling
        model = RecurrentModel(2, 64, 1, kind="rnn").double()
        with torch.no_grad():
            model.rnn.weight_hh_l0.mul_(scale)  # W_hh ← scale · W_hh
        norms = hidden_grad_norms(model, x.double(), y.double())
        r[scale] = grad_ratio(norms, t=1)
        print(f"W_hh x {scale}: r = {r[scale]:.1e}")
    # x 0.5: about 0.5^49 smaller; x 2: far less than 2^49 larger, < 1
    assert 1e-17 < r[0.5] / r[1.0] < 1e-13
    assert 1e3 < r[2.0] / r[1.0] < 2.0**49 and r[2.0] < 1
    return "c"


@exercise(
    label="ch02-ex-scale",
    title="Scale W_hh by 0.5 and by 2",
    kind="predict",
    solution=_solution_scale_w_hh,
    hints=[
        "Between h_1 and h_50 the gradient passes 49 factors "
        "diag(tanh′(a_j)) W_hh. What happens to each factor when W_hh is "
        "halved, given that the states of a freshly initialised RNN are "
        "small, so tanh′ ≈ 1?",
        "Doubling W_hh doubles every a_j, so the states move out to where "
        "tanh is flat. What does that do to tanh′(a_j)?",
    ],
)
def scale_w_hh(answer):
    """The reader's choice among 'a', 'b', 'c', 'd'."""
    feedback = {
        "a": "The 49 factors between h_1 and h_50 each contain W_hh: "
        "scaling W_hh scales the product by about scale^49, not by scale.",
        "b": "Halving is right, about 0.5^49 ≈ 2e-15. But doubling W_hh "
        "doubles the pre-activations too, the units saturate and tanh′ "
        "falls: the growth is far below 2^49 and r stays below 1.",
        "c": "Halving shrinks each factor by 2 while tanh′ stays near 1, "
        "so r falls by about 0.5^49 ≈ 2e-15. Doubling pushes the units "
        "into saturation: tanh′ falls and eats most of the 2^49; r grows "
        "by orders of magnitude but stays below 1.",
        "d": "W_hh appears in every factor of the product, so its scale "
        "matters a lot: run it.",
    }
    correct = checks.rerun_quietly(_solution_scale_w_hh)  # it seeds torch
    return checks.check_choice(answer, "abcd", correct, feedback=feedback)


# --- 3. Clipping by the global norm ---


def _solution_clip_by_global_norm(grads, max_norm):
    # ‖g‖ = sqrt(Σ_i ‖g_i‖²): one norm over all the tensors together
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = torch.clamp(max_norm / total, max=1.0)  # min(1, τ/‖g‖)
    return [g * scale for g in grads], total  # direction kept, ‖·‖ ≤ τ


def _torch_clip(grads, max_norm):
    """torch.nn.utils.clip_grad_norm_ on parameters holding ``grads``."""
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return [p.grad for p in params], float(total)


def _clip_variant(kind):
    """Clipping with one of the usual mistakes; returns (grads, norm)."""

    def clip(grads, max_norm):
        norms = torch.stack([g.norm() for g in grads])
        total = float(norms.norm())
        if kind == "per_tensor":
            return [g * min(1.0, max_norm / float(g.norm())) for g in grads]
        if kind == "always":
            return [g * (max_norm / total) for g in grads]
        if kind == "sum_of_norms":
            scale = min(1.0, max_norm / float(norms.sum()))
            return [g * scale for g in grads]
        if kind == "value":
            return [g.clamp(-max_norm, max_norm) for g in grads]
        raise ValueError(kind)

    return clip


_CLIP_MISTAKES = {
    "each tensor is clipped to the threshold on its own (per-parameter "
    "clipping), not by the norm of all of them together": "per_tensor",
    "the gradient is rescaled to length τ even when it is shorter (clip "
    "only when ‖g‖ > τ: the factor is min(1, τ/‖g‖))": "always",
    "the global norm is the sum of the tensors' norms; it is "
    "sqrt(Σ_i ‖g_i‖²), the norm of all entries together": "sum_of_norms",
    "each entry is clamped to [-τ, τ] (clip_grad_value_), which changes "
    "the direction; clipping by norm rescales all entries by one factor": (
        "value"
    ),
}


def _as_number(value, what):
    """A Python float from a number or a one-element tensor."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return float(value.detach())
    if not is_real(value):
        raise Incorrect(
            f"{what} should be a number or a one-element tensor, got "
            f"{type(value).__name__}"
        )
    return float(value)


def _clip_result(out, n):
    """Split the reader's result into (list of n tensors, float norm)."""
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        raise Incorrect(
            "`clip_by_global_norm` returned only the clipped gradients; "
            "return the pair (clipped, total_norm), with the global norm "
            "*before* clipping, as torch.nn.utils.clip_grad_norm_ returns "
            "it (the trainer records it to show the explosions)"
        )
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Incorrect(
            "`clip_by_global_norm` should return a pair (clipped, "
            "total_norm): the clipped gradients and the global norm "
            "*before* clipping, as torch.nn.utils.clip_grad_norm_ returns "
            f"it; got {type(out).__name__}"
            + (f" of length {len(out)}" if hasattr(out, "__len__") else "")
        )
    clipped, total = out
    if not isinstance(clipped, (tuple, list)) or len(clipped) != n:
        raise Incorrect(
            f"the clipped gradients should be a list of {n} tensors, one "
            f"per input tensor, got {type(clipped).__name__}"
        )
    return list(clipped), _as_number(total, "total_norm")


def _clip_mistake(case, clipped) -> str:
    for description, kind in _CLIP_MISTAKES.items():
        wrong = _clip_variant(kind)(list(case["grads"]), case["max_norm"])
        if all(
            torch.allclose(g.detach(), w, rtol=1e-5, atol=1e-9)
            for g, w in zip(clipped, wrong, strict=True)
        ):
            return f"\nYour result matches what you get if {description}."
    return ""


def _clip_cases():
    """Gradients of three parameters; the global norm above, below and
    above the threshold."""
    gen = torch.Generator().manual_seed(4)
    shapes = [(4, 3), (3,), (2, 2)]
    return [
        {"grads": [_randn(gen, *s, scale=2.0) for s in shapes], "max_norm": 1},
        {"grads": [_randn(gen, *s, scale=0.1) for s in shapes], "max_norm": 1},
        {"grads": [_randn(gen, *s) for s in shapes[:2]], "max_norm": 2.5},
    ]


def _check_clip_case(answer, case, i, n_cases):
    ref, ref_total = _torch_clip(case["grads"], case["max_norm"])
    grads = [g.clone() for g in case["grads"]]
    out = checks.call_answer(
        answer, grads, case["max_norm"], name="clip_by_global_norm"
    )
    clipped, total = _clip_result(out, len(grads))
    where = (
        f"\n(test case {i + 1} of {n_cases}: {len(grads)} tensors, global "
        f"norm {ref_total:.4g}, max_norm {case['max_norm']})"
    )
    try:
        for j, (g, e) in enumerate(zip(clipped, ref, strict=True)):
            checks.compare_tensors(g, e, f"clipped[{j}]", rtol=1e-5)
    except Incorrect as exc:
        raise Incorrect(
            f"{exc}{where}{_clip_mistake(case, clipped)}"
        ) from None
    if math.isclose(total, ref_total, rel_tol=1e-6):
        return
    after = math.sqrt(sum(float((g.detach() ** 2).sum()) for g in clipped))
    if math.isclose(total, after, rel_tol=1e-6):
        raise Incorrect(
            f"the clipped gradients are right, but the norm you return, "
            f"{total:.6g}, is the norm *after* clipping; return the norm "
            f"before clipping, {ref_total:.6g}, as clip_grad_norm_ does "
            f"(the trainer records it to show the explosions).{where}"
        )
    raise Incorrect(
        f"the clipped gradients are right, but the norm you return is "
        f"{total:.6g}; the global norm before clipping is "
        f"{ref_total:.6g}.{where}"
    )


@exercise(
    label="ch02-ex-clip",
    title="Clipping by the global norm",
    kind="implement",
    solution=_solution_clip_by_global_norm,
    hints=[
        "The global norm treats all the tensors as one long vector: "
        "‖g‖ = sqrt(Σ_i ‖g_i‖²), where ‖g_i‖² is the sum of the squares "
        "of tensor i's entries.",
        "Every tensor is multiplied by the same factor min(1, τ/‖g‖), so "
        "the direction of the whole gradient is kept. Return the list of "
        "scaled tensors and ‖g‖ before scaling. (PyTorch divides by "
        "‖g‖ + 1e-6; the check allows for that.)",
    ],
)
def clip_by_global_norm(answer):
    """grads: list of tensors, max_norm τ -> (clipped list, ‖g‖)."""
    cases = _clip_cases()
    for i, case in enumerate(cases):
        _check_clip_case(answer, case, i, len(cases))
    return (
        "`clip_by_global_norm` matches torch.nn.utils.clip_grad_norm_ "
        f"(clipped gradients and pre-clip norm) in {len(cases)} test cases."
    )


# --- 4. Explore: a random orthogonal W_hh ---


def _solution_random_orthogonal(n, seed):
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)  # (n, n)
    Q, R = torch.linalg.qr(A)  # A = QR, Q^T Q = I
    return Q * torch.sign(torch.diagonal(R))  # column signs: uniform Q


def orthogonal_vs_default():
    """r_t = ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ of a fresh tanh RNN (H = 64) on the
    adding problem (T = 100) at t = 50 and t = 1, for W_hh as PyTorch
    initialises it, a random orthogonal W_hh, and that one scaled by 0.9
    and by 1.1. Prints a table; returns {name: (r_50, r_1)}."""
    x, y = adding_problem(64, 100, seed=0)  # (64, 100, 2), (64, 1)
    torch.manual_seed(0)
    model = RecurrentModel(2, 64, 1, kind="rnn").double()
    Q = _solution_random_orthogonal(64, seed=0)  # (64, 64), Q^T Q = I
    candidates = {
        "default": model.rnn.weight_hh_l0.detach().clone(),
        "orthogonal": Q,
        "orthogonal x 0.9": 0.9 * Q,
        "orthogonal x 1.1": 1.1 * Q,
    }
    ratios = {}
    for name, W in candidates.items():
        with torch.no_grad():
            model.rnn.weight_hh_l0.copy_(W)  # W_hh ← W
        norms = hidden_grad_norms(model, x.double(), y.double())
        r_50, r_1 = grad_ratio(norms, t=50), grad_ratio(norms, t=1)
        print(f"{name:17s} t = 50: {r_50:.1e}   t = 1: {r_1:.1e}")
        ratios[name] = r_50, r_1
    return ratios


def _orthogonality_error(Q: Tensor) -> float:
    eye = torch.eye(Q.shape[0], dtype=Q.dtype)
    return float((Q.T @ Q - eye).abs().max())  # max |Q^T Q − I|


def _why_not_orthogonal(Q: Tensor) -> str:
    """Name the usual mistake behind a matrix that is not orthogonal."""
    gram = Q.T @ Q  # (n, n)
    off = gram - torch.diag(torch.diagonal(gram))
    if torch.allclose(Q, torch.triu(Q)):
        return " It is upper triangular: that is R of the QR, not Q."
    if float(off.abs().max()) < 1e-8:
        return (
            " Its columns are orthogonal but not of length 1 (Q^T Q is "
            "diagonal, not I): was it scaled?"
        )
    return " Is it the random matrix itself, before the QR decomposition?"


def _check_orthogonal(Q, n, seed):
    where = f" (n={n}, seed={seed})"
    if not isinstance(Q, Tensor):
        raise Incorrect(f"the result should be a Tensor, got {type(Q)}")
    if tuple(Q.shape) != (n, n) or Q.dtype != F64:
        raise Incorrect(
            f"the result should be a float64 ({n}, {n}) tensor, got "
            f"{Q.dtype} {tuple(Q.shape)}{where}"
        )
    err = _orthogonality_error(Q.detach())
    if err > 1e-10:
        raise Incorrect(
            f"the result is not orthogonal: max |Q^T Q − I| = {err:.2e}"
            f"{where}.{_why_not_orthogonal(Q.detach())}"
        )
    if float((Q.abs() - Q.abs().round()).abs().max()) < 1e-12:
        raise Incorrect(
            "the result is orthogonal but not random (its entries are 0 "
            f"and ±1: the identity or a permutation){where}. Draw a random "
            "matrix and orthogonalise it."
        )


@exercise(
    label="ch02-ex-orthogonal",
    title="A random orthogonal W_hh",
    kind="explore",
    solution=_solution_random_orthogonal,
    demo=orthogonal_vs_default,
    explanation=(
        "An orthogonal W_hh has all singular values 1, so γσ_max = 1: the "
        "bound of Pascanu et al. is exactly 1, and only tanh′ < 1 can "
        "shrink the gradient."
    ),
    hints=[
        "Draw an n × n matrix A of Gaussian numbers from "
        "`torch.Generator().manual_seed(seed)`; the QR decomposition "
        "A = QR, `torch.linalg.qr(A)`, gives an orthogonal Q.",
        "Multiplying column j of Q by the sign of R[j, j], "
        "`Q * torch.sign(torch.diagonal(R))`, keeps it orthogonal and "
        "makes Q uniformly distributed over the orthogonal matrices.",
    ],
)
def random_orthogonal(answer):
    """n, seed -> a random orthogonal (n, n) float64 matrix."""
    for n, seed in [(5, 0), (8, 1), (8, 2)]:
        Q = checks.call_answer(answer, n, seed, name="random_orthogonal")
        _check_orthogonal(Q, n, seed)
        again = answer(n, seed)
        if not torch.equal(Q, again):
            raise Incorrect(
                f"two calls with seed={seed} gave different matrices: draw "
                "from `torch.Generator().manual_seed(seed)`"
            )
    if torch.allclose(answer(8, 1), answer(8, 2)):
        raise Incorrect("seeds 1 and 2 gave the same matrix")
    return (
        "`random_orthogonal` returns orthogonal matrices (max |Q^T Q − I| "
        "< 1e-10), the same for the same seed, different for different "
        "seeds."
    )
