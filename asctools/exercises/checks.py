"""Comparison helpers for checkers: each returns, or raises ``Incorrect``
saying *what* differs: which output or gradient, where, by how much.

Call reader functions through :func:`call_answer` (the comparisons here do),
so a skeleton that returns None is "not attempted"; an exception of the
reader's code passes through, and ``Exercise.check`` reports its line.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from contextlib import redirect_stdout

import numpy as np
import torch
from torch import Tensor, nn

from asctools.exercises.core import Incorrect
from asctools.exercises.values import (
    call_answer,
    central_difference,
    check_choice,
    check_number,
    compare_gradient,
    compare_tensors,
    compare_values,
    describe_input,
)

__all__ = [
    "call_answer",
    "central_difference",
    "check_choice",
    "check_number",
    "compare_functions",
    "compare_gradient",
    "compare_modules",
    "compare_tensors",
    "compare_values",
    "rerun_quietly",
]


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


def _close(got, wrong, rtol, atol) -> bool:
    """True if ``got`` equals a mistake's result ``wrong`` (any kind)."""
    g = got.detach().cpu().numpy() if isinstance(got, Tensor) else got
    w = wrong.detach().cpu().numpy() if isinstance(wrong, Tensor) else wrong
    return np.shape(g) == np.shape(w) and bool(
        np.allclose(np.asarray(g, float), np.asarray(w, float), rtol, atol)
    )


def _check_count(got, expected, got_flat, exp_flat, name, outputs):
    """Incorrect unless ``got`` has as many outputs as ``expected``."""
    seq = (tuple, list)
    if len(got_flat) == len(exp_flat) and (
        isinstance(got, seq) == isinstance(expected, seq)
    ):
        return
    want = (
        f"{len(exp_flat)} values ({', '.join(outputs)})"
        if outputs
        else f"{len(exp_flat)} tensor(s) ({type(expected).__name__})"
    )
    raise Incorrect(
        f"`{name}` should return {want}, got {len(got_flat)} "
        f"({type(got).__name__})"
    )


def _compare_case(got, expected, wrt, name, seed, rtol, atol, outputs):
    """Outputs, then gradients w.r.t. ``wrt`` = {key: (mine, reference)}."""
    got_flat, exp_flat = _flatten(got, name), _flatten(expected, name)
    _check_count(got, expected, got_flat, exp_flat, name, outputs)
    labels = list(outputs) if outputs else [label for label, _ in exp_flat]
    for label, (_, g), (_, e) in zip(labels, got_flat, exp_flat, strict=True):
        compare_values(g, e, label, rtol=rtol, atol=atol)
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


def _copy(value, grad):
    """A fresh copy of an input; a floating tensor tracks gradients."""
    if isinstance(value, Tensor):
        track = grad and value.is_floating_point()
        return value.detach().clone().requires_grad_(track)
    return value.copy() if isinstance(value, np.ndarray) else value


def _leaves(case: Mapping, grad: bool) -> dict:
    """Fresh copies of a case's inputs (so an answer cannot change them)."""
    return {k: _copy(v, grad) for k, v in case.items()}


def _match_mistake(mistakes, case, got, rtol, atol) -> str:
    """A sentence naming the first known mistake that ``got`` matches."""
    got_flat = [g for _, g in _flatten(got, "")]
    for description, wrong in (mistakes or {}).items():
        try:
            with torch.no_grad(), np.errstate(all="ignore"):
                args = _leaves(case, grad=False).values()
                outs = [o for _, o in _flatten(wrong(*args), "")]
            if len(outs) == len(got_flat) and all(
                _close(g, o, rtol, atol)
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
    outputs=None,
) -> str:
    """Compare ``answer`` with ``reference`` on every case.

    Each case is a dict of named inputs, passed positionally in order. With
    ``grad`` the gradients w.r.t. every floating tensor input (and, for
    modules, ``params`` = {name: (answer's, reference's)}) are compared too.
    ``mistakes`` maps a description ("the bias is left out") to a function
    like ``reference`` that makes that mistake; a wrong result that matches
    one is named in the message. ``ref_name`` names the reference in the
    message of success; ``outputs`` names the values a function returns
    (``("loss", "grad")``). Inputs and outputs may be tensors, NumPy
    arrays or numbers (NumPy's warnings about inf and nan are silenced:
    the comparison reports them).
    """
    for i, case in enumerate(cases):
        ref_in, ans_in = _leaves(case, grad), _leaves(case, grad)
        with np.errstate(all="ignore"):
            expected = reference(*ref_in.values())
            got = call_answer(answer, *ans_in.values(), name=name)
        wrt = {
            k: (v, ref_in[k])
            for k, v in ans_in.items()
            if isinstance(v, Tensor) and v.requires_grad
        }
        wrt.update(params if grad and params else {})
        try:
            _compare_case(got, expected, wrt, name, i, rtol, atol, outputs)
        except Incorrect as exc:
            described = ", ".join(
                describe_input(k, v) for k, v in case.items()
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
                f"parameter `{key}` has shape {tuple(mine[key].shape)}, "
                f"expected {tuple(p.shape)}"
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


def rerun_quietly(solution):
    """The answer of a predict reference, as a checker needs it: the
    experiment runs with its printing silenced (the reader's check shows
    the verdict, not the reference's table) and torch's global random
    state is left as it was (the reference may seed it)."""
    with torch.random.fork_rng(devices=[]), redirect_stdout(io.StringIO()):
        return solution()
