"""Argument checks and the initialisation shared by cells and layers."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from asctools._validate import autocast_enabled, check_dtype


def check_input(
    x, input_size: int, weight: torch.Tensor, dims: tuple[int, ...]
) -> None:
    """Check the input ``x`` of a cell or a layer.

    ``x.dim()`` must be one of ``dims``, its last size ``input_size``, and
    its dtype and device those of ``weight`` (a parameter of the module).
    """
    if not isinstance(x, torch.Tensor):
        hint = ""
        if type(x).__name__ == "PackedSequence":
            hint = " (PackedSequence is not supported: pad the sequences)"
        raise TypeError(
            f"input must be a torch.Tensor, got {type(x).__name__}{hint}"
        )
    if x.dim() not in dims:
        raise ValueError(
            f"input must have {' or '.join(map(str, dims))} dimensions, "
            f"got shape {tuple(x.shape)}"
        )
    if x.shape[-1] != input_size:
        raise ValueError(
            f"input's last dimension must be input_size={input_size}, "
            f"got shape {tuple(x.shape)}"
        )
    check_dtype(
        "input", x, weight.dtype, "the parameters have",
        "; convert one of them (e.g. model.to(dtype))",
    )  # fmt: skip
    if x.device != weight.device:
        raise ValueError(
            f"input is on {x.device} but the parameters are on "
            f"{weight.device}; move one of them (e.g. model.to(device))"
        )


def check_state(s, name: str, shape: tuple, x: torch.Tensor) -> None:
    """Check a state tensor ``s``: shape ``shape``, dtype/device of ``x``."""
    if not isinstance(s, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(s).__name__}"
        )
    if tuple(s.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)}, got {tuple(s.shape)}"
        )
    check_dtype(name, s, x.dtype, "the input has")
    if s.device != x.device:
        raise ValueError(
            f"{name} is on {s.device} but the input is on {x.device}"
        )


def apply_fused(function, weight_hh: torch.Tensor, *inputs, recompute_xw):
    """``function.apply(*inputs, recompute_xw)``, autocast-aware.

    ``recompute_xw`` (a callable or None) gives the input projection ``xw``
    again from the tensors it was computed from (which autograd keeps
    anyway), so the Function need not keep ``xw`` alive just in case a
    backward asks for a graph; None: the Function saves ``xw``.

    Under ``torch.autocast`` the fused loop runs in the parameters' dtype
    with autocast off: its in-place, ``out=`` kernels need one dtype, and
    float32 keeps the cell state and BPTT accurate over long sequences.
    The input projection before it (the one big matrix product over all
    steps) has run in the autocast dtype.
    """
    device_type = weight_hh.device.type
    if not autocast_enabled(device_type):
        return function.apply(*inputs, recompute_xw)
    dtype = weight_hh.dtype
    inputs = [
        t.to(dtype)
        if isinstance(t, torch.Tensor) and t.is_floating_point()
        else t
        for t in inputs
    ]
    with torch.autocast(device_type, enabled=False):  # xw is saved
        return function.apply(*inputs, None)


def saved_xw(ctx, xw):
    """The Function's input ``xw`` for a graph backward: the saved one, or
    recomputed (connected to the graph) by ``ctx.recompute_xw``."""
    return xw if ctx.recompute_xw is None else ctx.recompute_xw()


def autocast_off(backward):
    """A Function's ``backward`` run with autocast off, in the dtype its
    forward used: a caller may call ``backward()`` inside the region."""

    @functools.wraps(backward)
    def run(ctx, *grads):
        device_type = grads[0].device.type
        if not autocast_enabled(device_type):
            return backward(ctx, *grads)
        with torch.autocast(device_type, enabled=False):
            return backward(ctx, *grads)

    return run


def split_lstm_state(hx, name: str = "hx") -> tuple:
    """Return an LSTM state ``(h, c)`` after checking it is a pair."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"{name} must be a tuple (h, c) of two tensors")
    return tuple(hx)


def reset_uniform(module: nn.Module, hidden_size: int) -> None:
    """Draw every parameter from U(−1/√H, 1/√H), as torch.nn does.

    The parameters are visited in registration order, the order torch.nn
    uses, so the same seed gives the same numbers as torch.nn's module.
    """
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


def recurrent_weight_grad(
    da: torch.Tensor, h0: torch.Tensor, hs: torch.Tensor
) -> torch.Tensor:
    """dW_hh = Σ_t da_tᵀ h_{t-1}, as one matrix product over all steps.

    ``da`` (T, B, G·H) holds ∂L/∂(h_{t-1} W_hhᵀ), ``h0`` (B, H) the initial
    state and ``hs`` (T, B, H) the states h_1 .. h_T; returns (G·H, H).
    """
    gh, h = da.shape[-1], hs.shape[-1]
    return torch.addmm(
        da[0].t() @ h0,  # the t = 1 term uses h_0
        da[1:].reshape(-1, gh).t(),  # (G·H, (T-1)·B)
        hs[:-1].reshape(-1, h),  # ((T-1)·B, H)
    )


def backward_with_graph(ctx, unroll, inputs, grad_outputs, *args) -> tuple:
    """A fused Function's backward as a graph, for second derivatives.

    Called when autograd asks for ``create_graph=True`` (grad mode is on
    inside ``backward``): the hand-written BPTT runs without autograd, so
    this reruns the forward with ``unroll`` (the plain per-step functions
    of :mod:`asctools.nn.functional`) on the saved ``inputs`` and
    differentiates that with ``create_graph=True``. Each input that needs a
    gradient enters through a view of itself, so the inputs are
    independent variables as in any Function's backward: an ``h0`` that
    was computed from ``weight_hh`` is not followed twice. ``args`` are
    the non-tensor inputs; returns one gradient (or None) per input.
    """
    needs = ctx.needs_input_grad[: len(inputs)]
    wanted = [i for i, need in enumerate(needs) if need]
    with torch.enable_grad():
        leaves = list(inputs)
        for i in wanted:
            leaves[i] = inputs[i].view_as(inputs[i])
        outputs = unroll(*leaves, *args)
        used = [i for i, o in enumerate(outputs) if o.requires_grad]
        grads = torch.autograd.grad(
            [outputs[i] for i in used],
            [leaves[i] for i in wanted],
            [grad_outputs[i] for i in used],
            create_graph=True,
            allow_unused=True,
        )
    result = [None] * (len(inputs) + len(args))
    for i, g in zip(wanted, grads, strict=True):
        result[i] = g
    return tuple(result)
