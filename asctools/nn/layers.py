"""Multi-layer ``RNN``, ``LSTM`` and ``GRU``, equal to their torch.nn twins.

Same constructor arguments, ``forward(input, hx=None)`` and return values,
parameter names and shapes (``weight_ih_l{k}`` (G·H, D or H·dirs),
``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H,), with
the suffix ``_reverse`` for the backward direction) and initialisation, so
a ``state_dict`` moves across in both directions.

Each layer projects the inputs of ALL time steps with one matrix product,
``xw = x W_ihᵀ + b_ih`` of shape (T, B, G·H), and loops over time only for
the recurrent part. Two implementations of that loop (same numbers):

* ``fused=True`` (default): one autograd Function per layer and direction
  whose forward loop runs without autograd and whose backward is BPTT
  written out (:mod:`asctools.nn._lstm_seq`, :mod:`asctools.nn._rnn_seq`).
  Faster, most of all at small batches where autograd's per-step
  bookkeeping dominates. Second derivatives (``create_graph=True``) are
  supported: that backward reruns the plain steps below with autograd.
* ``fused=False``: a plain Python loop over the ``*_step`` functions of
  :mod:`asctools.nn.functional`, differentiated by autograd (the
  reference the fused path is tested against).

``fused`` is a keyword-only constructor argument and an attribute that may
be changed at any time.

Under ``torch.autocast`` (CPU bfloat16, CUDA float16/bfloat16) the input
projection runs in the autocast dtype; the fused loop then runs in the
parameters' dtype (float32 keeps the cell state and BPTT accurate over long
sequences), so the output has that dtype. Inside autocast an input of a
lower-precision dtype is accepted, as torch.nn accepts it.
"""

from __future__ import annotations

import functools
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asctools._validate import check_bool, check_choice, check_int, check_real
from asctools.nn import functional as RF
from asctools.nn._common import (
    check_input,
    check_state,
    reset_uniform,
    split_lstm_state,
)
from asctools.nn._lstm_seq import lstm_sequence
from asctools.nn._rnn_seq import gru_sequence, rnn_sequence

__all__ = ["RNN", "LSTM", "GRU"]


class _RecurrentBase(nn.Module):
    """Parameters, checks and the layer/direction loops of RNN/LSTM/GRU.

    A subclass sets ``num_gates`` and ``state_names`` and implements
    ``_recurrence(xw, state, weight_hh, bias_hh, again) -> (out, state)``,
    where ``again()`` recomputes ``xw`` (the fused Functions use it for a
    backward that builds a graph, instead of keeping ``xw`` alive).
    """

    num_gates = 1  # G
    state_names = ("h_0",)  # the LSTM's state is (h_0, c_0)

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
        *,
        fused=True,
    ):
        super().__init__()
        if proj_size != 0:
            raise NotImplementedError(
                f"proj_size must be 0 (LSTM projections are not "
                f"implemented), got {proj_size!r}"
            )
        self.input_size = check_int("input_size", input_size, 1)
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.dropout = check_real("dropout", dropout, 0, maximum=1)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.proj_size = 0
        self.fused = check_bool("fused", fused)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout acts between layers: with num_layers=1 "
                "it has no effect",
                stacklevel=2,
            )
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[: self.num_directions]:
                self._add_parameters(layer, suffix, device, dtype)
        self.reset_parameters()

    def _add_parameters(self, layer, suffix, device, dtype) -> None:
        """Register layer ``layer``'s parameters in torch.nn's order."""
        kw = {"device": device, "dtype": dtype}
        H = self.hidden_size
        rows = self.num_gates * H  # G·H
        cols = self.input_size if layer == 0 else H * self.num_directions
        shapes = {"weight_ih": (rows, cols), "weight_hh": (rows, H)}
        if self.bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        for name, shape in shapes.items():
            p = nn.Parameter(torch.empty(shape, **kw))
            self.register_parameter(f"{name}_l{layer}{suffix}", p)

    def reset_parameters(self) -> None:
        """Draw all parameters from U(−1/√H, 1/√H), like torch.nn."""
        reset_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Do nothing (torch.nn's cuDNN hook, kept so callers run)."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in [
            ("num_layers", 1),
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
            ("fused", True),
        ]:
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s

    def forward(self, input: Tensor, hx=None):
        """See the subclasses; returns ``(output, state)``."""
        x, batched = self._time_major(input)  # (T, B, D)
        states = self._initial_states(x, hx, batched)  # (L·dirs, B, H)
        finals = []  # per layer and direction: tuple of (B, H)
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:
                x = F.dropout(x, self.dropout, training=True)
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                state = tuple(s[k] for s in states)
                out, state = self._run_direction(x, state, layer, d)
                outs.append(out)
                finals.append(state)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, dim=2)
        return self._package(x, finals, batched)

    def _time_major(self, input: Tensor) -> tuple[Tensor, bool]:
        """Check the input; return it as (T, B, D) and whether batched."""
        check_input(input, self.input_size, self.weight_ih_l0, dims=(2, 3))
        if input.numel() == 0:
            raise ValueError(
                f"input must not be empty, got shape {tuple(input.shape)}"
            )
        if input.dim() == 2:  # unbatched (T, D), whatever batch_first says
            return input.unsqueeze(1), False
        return (input.transpose(0, 1) if self.batch_first else input), True

    def _initial_states(self, x, hx, batched) -> list[Tensor]:
        """Check ``hx``; return the state tensors as (L·dirs, B, H)."""
        L, H = self.num_layers * self.num_directions, self.hidden_size
        shape = (L, x.shape[1], H)
        if hx is None:
            return [x.new_zeros(shape) for _ in self.state_names]
        if len(self.state_names) == 2:
            hx = split_lstm_state(hx)
        else:
            hx = (hx,)
        expected = shape if batched else (shape[0], shape[2])
        for s, name in zip(hx, self.state_names, strict=True):
            check_state(s, name, expected, x)
        return list(hx) if batched else [s.unsqueeze(1) for s in hx]

    def _run_direction(self, x, state, layer, direction):
        """One layer in one direction: (T, B, D) -> (T, B, H), state."""
        suffix = f"_l{layer}" + ("", "_reverse")[direction]
        w_ih = getattr(self, "weight_ih" + suffix)
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
        w_hh = getattr(self, "weight_hh" + suffix)
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        if direction == 1:  # the reverse direction reads x_T .. x_1
            x = x.flip(0)
        xw = F.linear(x, w_ih, b_ih)  # (T, B, G·H): all steps, one product
        again = functools.partial(F.linear, x, w_ih, b_ih)
        out, state = self._recurrence(xw, state, w_hh, b_hh, again)
        return (out.flip(0) if direction == 1 else out), state

    def _package(self, out, finals, batched):
        """Output (T, B, H·dirs) and final states in torch.nn's layout."""
        # finals[k][j]: state j (h or c) of layer/direction k, (B, H)
        states = [
            torch.stack([f[j] for f in finals])
            for j in range(len(self.state_names))
        ]  # (L·dirs, B, H)
        if not batched:
            out, states = out.squeeze(1), [s.squeeze(1) for s in states]
        elif self.batch_first:
            out = out.transpose(0, 1)  # (B, T, H·dirs)
        return out, (states[0] if len(states) == 1 else tuple(states))


class RNN(_RecurrentBase):
    """Elman RNN: h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh',
    bias=True, batch_first=False, dropout=0.0, bidirectional=False,
    device=None, dtype=None, *, fused=True)``.
    ``forward(input, hx=None) -> (output, h_n)``: input (T, B, D), or
    (B, T, D) if ``batch_first``, or unbatched (T, D); hx and h_n are
    (L·dirs, B, H) or (L·dirs, H); output (T, B, H·dirs) (batch_first:
    (B, T, H·dirs); unbatched: (T, H·dirs)). dirs = 2 if bidirectional.
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, nonlinearity="tanh",
        *args, **kwargs,
    ):  # fmt: skip
        self.nonlinearity = check_choice(
            "nonlinearity", nonlinearity, ("tanh", "relu")
        )
        super().__init__(input_size, hidden_size, num_layers, *args, **kwargs)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _recurrence(self, xw, state, w_hh, b_hh, again):
        (h,) = state  # (B, H)
        if self.fused:
            nl = self.nonlinearity
            out, h = rnn_sequence(xw, h, w_hh, b_hh, nl, recompute_xw=again)
            return out, (h,)
        out, h = RF.rnn_unroll(xw, h, w_hh, b_hh, self.nonlinearity)
        return out, (h,)  # (T, B, H)


class LSTM(_RecurrentBase):
    """LSTM with gates i, f, g, o (the four row blocks of the weights).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
    device=None, dtype=None, *, fused=True)``; ``proj_size`` must be 0.
    ``forward(input, hx=None) -> (output, (h_n, c_n))`` with shapes as for
    :class:`RNN`; hx is a tuple ``(h_0, c_0)``.
    """

    num_gates = 4
    state_names = ("h_0", "c_0")

    def _recurrence(self, xw, state, w_hh, b_hh, again):
        h, c = state  # (B, H) each
        if self.fused:
            out, h, c = lstm_sequence(xw, h, c, w_hh, b_hh, again)
            return out, (h, c)
        out, h, c = RF.lstm_unroll(xw, h, c, w_hh, b_hh)
        return out, (h, c)  # (T, B, H)


class GRU(_RecurrentBase):
    """GRU with gates r, z, n (PyTorch's variant), like ``torch.nn.GRU``.

    Constructor and ``forward(input, hx=None) -> (output, h_n)`` as for
    :class:`RNN`, without ``nonlinearity``.
    """

    num_gates = 3

    def _recurrence(self, xw, state, w_hh, b_hh, again):
        (h,) = state  # (B, H)
        if self.fused:
            out, h = gru_sequence(xw, h, w_hh, b_hh, again)
            return out, (h,)
        out, h = RF.gru_unroll(xw, h, w_hh, b_hh)
        return out, (h,)  # (T, B, H)
