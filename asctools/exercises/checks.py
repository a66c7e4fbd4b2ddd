"""Comparison helpers for checkers: each returns, or raises ``Incorrect``
saying *what* differs: which output or gradient, where, by how much.

Call reader functions through :func:`call_answer` (the comparisons here do),
so a skeleton that returns None is "not attempted"; an exception of the
reader's code passes through, and ``Exercise.check`` reports its line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from asctools.exercises.core import Incorrect, NotAttempted

__all__ = [
    "call_answer",
    "compare_tensors",
    "compare_functions",
    "compare_modules",
    "numerical_gradient",
    "compare_gradient",
    "check_number",
    "check_choice",
]


def _shape(x) -> str:
    return str(tuple(x.shape))


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


def _flatten(out, prefix: str) -> list[tuple[str, object]]:
    """Nested tuples of outputs as ``[("f[1][0]", leaf), ...]``."""
    if not isinstance(out, (tuple, list)):
        return [(prefix, out)]
    return [
        pair
        for i, x in enumerate(out)
        for pair in _flatten(x, f"{prefix}[{i}]")
    ]


def _grads(outs, wrt: Mapping, seed: int, name: str) -> dict:
    """Gradients of Σ w·out (w fixed random weights) w.r.t. ``wrt``."""
    if not any(o.requires_grad for o in outs):
        raise Incorrect(
            f"`{name}`'s result is not connected to its inputs in autograd's"
            " graph: `.detach()`, `.numpy()`, `.item()`, `torch.tensor(...)`"
            " or `torch.no_grad()` cut it, so no gradient can flow back."
        )
    gen = torch.Generator().manual_seed(seed)
    loss = sum(
        (o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum()
        for o in outs
    )
    try:
        grads = torch.autograd.grad(
            loss, list(wrt.values()), allow_unused=True
        )
    except RuntimeError as exc:
        msg = f"backpropagating through `{name}` failed: {exc}"
        raise Incorrect(msg) from None
    return dict(zip(wrt, grads, strict=True))


def _compare_case(got, expected, wrt, name, seed, rtol, atol):
    """Outputs, then gradients w.r.t. ``wrt`` = {key: (mine, reference)}."""
    got_flat, exp_flat = _flatten(got, name), _flatten(expected, name)
    seq = (tuple, list)
    if len(got_flat) != len(exp_flat) or (
        isinstance(got, seq) != isinstance(expected, seq)
    ):
        raise Incorrect(
            f"`{name}` should return {len(exp_flat)} tensor(s) "
            f"({type(expected).__name__}), got {len(got_flat)} "
            f"({type(got).__name__})"
        )
    for (label, g), (_, e) in zip(got_flat, exp_flat, strict=True):
        compare_tensors(g, e, label, rtol=rtol, atol=atol)
    if not wrt:
        return
    ref_wrt = {k: r for k, (_, r) in wrt.items()}
    exp_g = _grads([e for _, e in exp_flat], ref_wrt, seed, "the reference")
    my_wrt = {k: m for k, (m, _) in wrt.items()}
    got_g = _grads([g for _, g in got_flat], my_wrt, seed, name)
    for key, e in exp_g.items():
        if e is not None and got_g[key] is None:
            msg = f"`{key}` gets no gradient: your result does not use it"
            raise Incorrect(msg)
        if e is not None:
            label = f"gradient with respect to `{key}`"
            compare_tensors(got_g[key], e, label, rtol=rtol, atol=atol)


def _leaves(case: Mapping, grad: bool) -> dict:
    """Fresh copies of a case's inputs; floating tensors track gradients."""
    return {
        k: v.detach().clone().requires_grad_(grad and v.is_floating_point())
        if isinstance(v, Tensor)
        else v
        for k, v in case.items()
    }


def _match_mistake(mistakes, case, got, rtol, atol) -> str:
    """A sentence naming the first known mistake that ``got`` matches."""
    got_flat = [g for _, g in _flatten(got, "")]
    for description, wrong in (mistakes or {}).items():
        try:
            with torch.no_grad():
                outs = [o for _, o in _flatten(wrong(*case.values()), "")]
            if len(outs) == len(got_flat) and all(
                torch.allclose(g.detach(), o, rtol=rtol, atol=atol)
                for o, g in zip(outs, got_flat, strict=True)
            ):
                return f"\nYour result matches what you get if {description}."
        except (RuntimeError, TypeError, IndexError, ValueError):
            continue  # a mistake that does not apply to this result
    return ""


def compare_functions(
    answer,
    reference,
    cases: Sequence[Mapping],
    *,
    name="your function",
    grad=True,
    rtol=1e-5,
    atol=1e-8,
    mistakes=None,
    params=None,
    ref_name="the reference",
) -> str:
    """Compare ``answer`` with ``reference`` on every case.

    Each case is a dict of named inputs, passed positionally in order. With
    ``grad`` the gradients w.r.t. every floating tensor input (and, for
    modules, ``params`` = {name: (answer's, reference's)}) are compared too.
    ``mistakes`` maps a description ("the bias is left out") to a function
    like ``reference`` that makes that mistake; a wrong result that matches
    one is named in the message. ``ref_name`` names the reference in the
    message of success.
    """
    for i, case in enumerate(cases):
        ref_in, ans_in = _leaves(case, grad), _leaves(case, grad)
        expected = reference(*ref_in.values())
        got = call_answer(answer, *ans_in.values(), name=name)
        wrt = {
            k: (v, ref_in[k])
            for k, v in ans_in.items()
            if isinstance(v, Tensor) and v.requires_grad
        }
        wrt.update(params if grad and params else {})
        try:
            _compare_case(got, expected, wrt, name, i, rtol, atol)
        except Incorrect as exc:
            described = ", ".join(
                f"{k} {_shape(v)}" if isinstance(v, Tensor) else f"{k}={v!r}"
                for k, v in case.items()
            )
            raise Incorrect(
                f"{exc}\n(test case {i + 1} of {len(cases)}: {described})"
                + _match_mistake(mistakes, case, got, rtol, atol)
            ) from None
    what = "outputs and gradients" if grad else "outputs"
    n = len(cases)
    return f"`{name}` matches {ref_name} ({what}) in {n} test cases."


def compare_modules(
    answer,
    reference: nn.Module,
    cases: Sequence[Mapping],
    *,
    name="your module",
    rtol=1e-5,
    atol=1e-7,
) -> str:
    """Compare a reader's ``nn.Module`` with a torch.nn ``reference``.

    The parameters must have the reference's names and shapes; the
    reference's values are copied in, then the outputs and the gradients of
    every parameter and floating input are compared on each case.
    """
    if not isinstance(answer, nn.Module):
        kind = type(answer).__name__
        raise Incorrect(
            f"`{name}` should be an nn.Module instance, got {kind}"
        )
    mine, theirs = (
        dict(answer.named_parameters()),
        dict(reference.named_parameters()),
    )
    if mine.keys() != theirs.keys():
        raise Incorrect(
            f"`{name}`'s parameters should be named like "
            f"{type(reference).__name__}'s: missing "
            f"{sorted(theirs.keys() - mine.keys())}, unexpected "
            f"{sorted(mine.keys() - theirs.keys())}"
        )
    for key, p in theirs.items():
        if mine[key].shape != p.shape:
            raise Incorrect(
                f"parameter `{key}` has shape {_shape(mine[key])}, "
                f"expected {_shape(p)}"
            )
        with torch.no_grad():
            mine[key].copy_(p)
    params = {k: (mine[k], theirs[k]) for k in theirs}
    return compare_functions(
        answer,
        reference,
        cases,
        name=name,
        rtol=rtol,
        atol=atol,
        params=params,
        ref_name=type(reference).__name__,
    )


def numerical_gradient(f: Callable, x: Tensor, eps: float = 1e-6) -> Tensor:
    """Central differences of a scalar ``f`` at ``x`` (float64), entrywise.

    ∂f/∂x_j ≈ (f(x + εe_j) − f(x − εe_j)) / 2ε; error O(ε²) + O(u/ε).
    """
    if not isinstance(x, Tensor) or x.dtype != torch.float64:
        raise TypeError(f"x must be a float64 torch.Tensor, got {type(x)}")
    x = x.detach().clone()
    grad, flat = torch.zeros_like(x), x.view(-1)
    for j in range(flat.numel()):
        old = flat[j].item()
        flat[j] = old + eps
        up = float(f(x))
        flat[j] = old - eps
        down = float(f(x))
        flat[j] = old
        grad.view(-1)[j] = (up - down) / (2 * eps)
    return grad


def compare_gradient(
    grad, f, x: Tensor, name="gradient", *, rtol=1e-5, atol=1e-8, eps=1e-6
) -> None:
    """Compare a reader's gradient with central differences of f at x."""
    expected = numerical_gradient(f, x, eps)
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
    if isinstance(answer, bool) or not isinstance(
        answer, (int, float, np.integer, np.floating)
    ):
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
