"""One-step modules ``RNNCell``, ``LSTMCell`` and ``GRUCell``.

They mirror ``torch.nn.RNNCell``, ``torch.nn.LSTMCell`` and
``torch.nn.GRUCell``: the same constructor arguments, parameter names and
shapes (``weight_ih`` ``(G*H, D)``, ``weight_hh`` ``(G*H, H)``, ``bias_ih``
and ``bias_hh`` ``(G*H,)``, G = 1, 4, 3 gates), the same initialisation, so
a ``state_dict`` moves across in both directions. The equations themselves
live in :mod:`asctools.nn.functional`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from asctools._validate import check_bool, check_choice, check_int
from asctools.nn import functional as RF
from asctools.nn._common import (
    check_input,
    check_state,
    reset_uniform,
    split_lstm_state,
)

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


class _CellBase(nn.Module):
    """Parameters, initialisation and input checks of the three cells."""

    num_gates = 1  # G: how many (H, ·) blocks the weight matrices stack

    def __init__(
        self, input_size, hidden_size, bias=True, device=None, dtype=None
    ):
        super().__init__()
        self.input_size = check_int("input_size", input_size, 1)
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        self.bias = check_bool("bias", bias)
        kw = {"device": device, "dtype": dtype}
        rows = self.num_gates * hidden_size  # G*H
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows, **kw))
            self.bias_hh = nn.Parameter(torch.empty(rows, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw all parameters from U(−1/√H, 1/√H), like torch.nn."""
        reset_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"

    def _prepare(self, x, states, names):
        """Check ``x`` and the state tensors; make them batched.

        Returns ``x`` as ``(B, D)``, the states as ``(B, H)`` tensors (zeros
        where ``states`` is None) and whether the input was batched.
        """
        check_input(x, self.input_size, self.weight_ih, dims=(1, 2))
        batched = x.dim() == 2
        x = x if batched else x.unsqueeze(0)  # (B, D)
        shape = (x.shape[0], self.hidden_size)
        if states is None:
            return x, [x.new_zeros(shape) for _ in names], batched
        out = []
        for s, name in zip(states, names, strict=True):
            check_state(s, name, shape if batched else shape[1:], x)
            out.append(s if batched else s.unsqueeze(0))
        return x, out, batched


class RNNCell(_CellBase):
    """Elman cell h' = φ(W_ih x + b_ih + W_hh h + b_hh), φ = tanh or relu.

    ``forward(input, hx=None)``: input ``(B, D)`` or ``(D,)``, hx ``(B, H)``
    or ``(H,)`` (zeros if None); returns h' of hx's shape, input's dtype.
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        bias=True,
        nonlinearity="tanh",
        device=None,
        dtype=None,
    ):
        self.nonlinearity = check_choice(
            "nonlinearity", nonlinearity, ("tanh", "relu")
        )
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        states = None if hx is None else (hx,)
        x, (h,), batched = self._prepare(input, states, ("hx",))
        h = RF.rnn_cell(
            x,
            h,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            self.nonlinearity,
        )  # (B, H)
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """LSTM cell; gates i, f, g, o are the four row blocks of the weights.

    ``forward(input, hx=None)``: input ``(B, D)`` or ``(D,)``, hx a tuple
    ``(h, c)`` of ``(B, H)`` or ``(H,)`` tensors (zeros if None); returns
    ``(h', c')`` of the same shapes.
    """

    num_gates = 4

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        states = None if hx is None else split_lstm_state(hx)
        x, (h, c), batched = self._prepare(input, states, ("h", "c"))
        h, c = RF.lstm_cell(
            x,
            (h, c),
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
        )  # (B, H) each
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """GRU cell; gates r, z, n are the three row blocks of the weights.

    ``forward(input, hx=None)`` as for :class:`RNNCell`.
    """

    num_gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        states = None if hx is None else (hx,)
        x, (h,), batched = self._prepare(input, states, ("hx",))
        h = RF.gru_cell(
            x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )  # (B, H)
        return h if batched else h.squeeze(0)
