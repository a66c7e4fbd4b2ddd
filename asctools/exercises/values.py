"""Checks of single answers: a tensor, a number, a choice, a gradient.

Each returns, or raises ``Incorrect`` saying *what* differs: which entry,
by how much, or which common mistake the answer matches. Call reader
functions through :func:`call_answer`, so a skeleton that returns None is
"not attempted".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from asctools._validate import is_real
from asctools.exercises.core import Incorrect, NotAttempted
from asctools.handmade.gradcheck import numerical_gradient

__all__ = [
    "call_answer",
    "central_difference",
    "check_choice",
    "check_number",
    "compare_gradient",
    "compare_tensors",
    "compare_values",
    "describe_input",
]


def _shape(x) -> str:
    return str(tuple(x.shape))


def describe_input(key, value) -> str:
    """One input of a test case, for a message: shape, value or type."""
    if isinstance(value, (Tensor, np.ndarray)):
        return f"{key} {_shape(value)}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"{key}={value!r}"
    return f"{key}: a {type(value).__name__}"


def call_answer(answer, *args, name: str = "your function"):
    """``answer(*args)``; not callable: incorrect; None: not attempted."""
    if not callable(answer):
        kind = type(answer).__name__
        raise Incorrect(f"`{name}` should be a function, got {kind}")
    out = answer(*args)
    if out is None or out is Ellipsis:
        raise NotAttempted(
            f"`{name}` returned {out!r}: it is not finished yet (is the "
            "`return` statement missing?)"
        )
    return out


def compare_tensors(got, expected, name="output", *, rtol=1e-5, atol=1e-8):
    """Check type, shape and dtype, then values as ``torch.allclose`` does.

    ``expected`` is a Tensor or a NumPy array; ``got`` must be the same
    kind. The message gives the number of entries off, the worst entry's
    index and both values, and the max absolute and relative errors.
    """
    kind = Tensor if isinstance(expected, Tensor) else np.ndarray
    if not isinstance(got, kind):
        what = "torch.Tensor" if kind is Tensor else "numpy.ndarray"
        raise Incorrect(f"`{name}` should be a {what}, got {type(got)}")
    if tuple(got.shape) != tuple(expected.shape):
        raise Incorrect(
            f"`{name}` has shape {_shape(got)}, expected {_shape(expected)}"
        )
    if got.dtype != expected.dtype:
        raise Incorrect(
            f"`{name}` has dtype {got.dtype}, expected {expected.dtype}"
        )
    g = torch.as_tensor(got).detach().cpu().double()
    e = torch.as_tensor(expected).detach().cpu().double()
    err = (g - e).abs().nan_to_num(nan=math.inf)  # a NaN counts as wrong
    bad = err > atol + rtol * e.abs()  # torch.allclose's criterion
    if not bad.any():
        return
    index = np.unravel_index(err.flatten().argmax().item(), tuple(g.shape))
    index = tuple(int(i) for i in index)
    rel = err / e.abs().clamp_min(1e-300)
    raise Incorrect(
        f"`{name}` is wrong in {int(bad.sum())} of {bad.numel()} entries. "
        f"The largest difference is at index {index}: got "
        f"{g[index].item():.6g}, expected {e[index].item():.6g}.\n"
        f"max abs error {err.max().item():.2e}, max rel error "
        f"{rel.max().item():.2e} (tolerance: atol {atol:g}, rtol {rtol:g})."
    )


def compare_values(got, expected, name="output", *, rtol=1e-5, atol=1e-8):
    """:func:`compare_tensors` for a tensor or an array with dimensions;
    for a number (a float, a 0-d array), the number within tolerance."""
    if isinstance(expected, Tensor) or np.ndim(expected) > 0:
        compare_tensors(got, expected, name, rtol=rtol, atol=atol)
        return
    if isinstance(got, (np.ndarray, Tensor)) and got.ndim == 0:
        got = got.item()  # a 0-d array or tensor: its number
    if not is_real(got):
        kind = type(got).__name__
        raise Incorrect(f"`{name}` should be a number, got {kind} {got!r}")
    if not math.isclose(float(got), float(expected), rel_tol=rtol,
                        abs_tol=atol):  # fmt: skip
        raise Incorrect(
            f"`{name}` is {float(got):.8g}, expected {float(expected):.8g}"
        )


def central_difference(f: Callable, x: Tensor, eps: float = 1e-6) -> Tensor:
    """Central differences of a scalar ``f`` at ``x`` (float64), entrywise:
    ∂f/∂x_j ≈ (f(x + εe_j) − f(x − εe_j)) / 2ε, error O(ε²) + O(u/ε).

    The differences are those of
    :func:`asctools.handmade.gradcheck.numerical_gradient`, run on a
    tensor that shares its memory with the array it perturbs.
    """
    if not isinstance(x, Tensor) or x.dtype != torch.float64:
        raise TypeError(f"x must be a float64 torch.Tensor, got {type(x)}")
    point = x.detach().clone()
    array = point.numpy()  # the same memory as ``point``
    grad = numerical_gradient(lambda: float(f(point)), array, eps, order=2)
    return torch.from_numpy(grad)


def compare_gradient(
    grad, f, x: Tensor, name="gradient", *, rtol=1e-5, atol=1e-8, eps=1e-6
) -> None:
    """Compare a reader's gradient with central differences of f at x."""
    expected = central_difference(f, x, eps)
    compare_tensors(grad, expected, name, rtol=rtol, atol=atol)


def check_number(
    answer,
    expected,
    *,
    name="your answer",
    rtol=0.0,
    atol=0.0,
    mistakes: Mapping | None = None,
) -> str:
    """A number within tolerance; ``mistakes`` maps a wrong value to what
    it means ("that counts one bias vector")."""
    if isinstance(answer, Tensor) and answer.numel() == 1:
        answer = answer.item()
    if not is_real(answer):
        kind = type(answer).__name__
        raise Incorrect(f"{name} should be a number, got {kind} {answer!r}")
    if math.isclose(answer, expected, rel_tol=rtol, abs_tol=atol):
        return f"{answer} is right."
    for value, meaning in (mistakes or {}).items():
        if math.isclose(answer, value, rel_tol=rtol, abs_tol=atol):
            raise Incorrect(f"{answer} is not right: {meaning}")
    side = "high" if answer > expected else "low"
    raise Incorrect(f"{answer} is not right: it is too {side}.")


def check_choice(
    answer,
    options: Sequence[str],
    correct: str,
    *,
    feedback: Mapping | None = None,
) -> str:
    """A multiple-choice answer such as ``"b"`` (or ``"(b)"``, ``"B"``);
    ``feedback`` maps an option to the sentence shown when it is chosen."""
    if not isinstance(answer, str):
        raise Incorrect(
            f"answer with one of {list(options)} as a string, got "
            f"{type(answer).__name__} {answer!r}"
        )
    choice = answer.strip().strip("().").lower()
    if choice not in options:
        raise Incorrect(f"{answer!r} is not one of {list(options)}")
    said = (feedback or {}).get(choice, "")
    verdict = "is right." if choice == correct else "is not right."
    if choice != correct:
        raise Incorrect(f"({choice}) {verdict} {said}".strip())
    return f"({choice}) {verdict} {said}".strip()
