"""A recurrent layer plus a linear read-out: the course's sequence model."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

__all__ = ["RecurrentModel"]

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # row blocks of weight_hh


class RecurrentModel(nn.Module):
    """``y_t = W_hy h_t + b_y`` on top of a batch_first RNN, LSTM or GRU.

    Args:
        input_size, hidden_size, output_size: D, H, K.
        kind: ``"lstm"``, ``"rnn"`` (tanh) or ``"gru"``.
        num_layers: stacked layers; ``dropout`` between them (torch.nn's).
        impl: ``"torch"`` (``torch.nn.X``) or ``"asctools"``
            (``asctools.nn.X``, the from-scratch twin).
        forget_bias: for ``kind="lstm"`` only: the starting forget-gate
            bias ``b_if + b_hf`` of every layer (``bias_ih[H:2H] =
            forget_bias``, ``bias_hh[H:2H] = 0``); None keeps the default.
        init: ``"default"`` (torch.nn's U(−1/√H, 1/√H)) or
            ``"orthogonal"``: each gate's (H, H) block of every
            ``weight_hh_l*`` is a random orthogonal matrix, so the
            recurrent map starts with all singular values 1.

    Attributes:
        rnn: the recurrent layer; readout: the ``nn.Linear(H, K)``.
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size,
        kind="lstm",
        num_layers=1,
        impl="torch",
        dropout=0.0,
        forget_bias=None,
        init="default",
    ):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("output_size", output_size),
            ("num_layers", num_layers),
        ):
            _check_size(name, value)
        layer_cls = _layer_class(kind, impl)
        if init not in ("default", "orthogonal"):
            raise ValueError(
                f"init must be 'default' or 'orthogonal', got {init!r}"
            )
        self.kind, self.impl = kind, impl
        self.input_size, self.hidden_size = input_size, hidden_size
        self.output_size, self.num_layers = output_size, num_layers
        self.rnn = layer_cls(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout,
        )
        self.readout = nn.Linear(hidden_size, output_size)
        if init == "orthogonal":
            self._orthogonal_hh()
        if forget_bias is not None:
            self._set_forget_bias(forget_bias)

    def forward(self, x: Tensor, state=None):
        """``x`` (B, T, D) float → ``(y (B, T, K), state)``.

        ``state``: None (zeros) or the layer's state: ``h`` for RNN/GRU,
        ``(h, c)`` for the LSTM, each (num_layers, B, H).
        """
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"x must have shape (B, T, {self.input_size}), got "
                f"{tuple(x.shape)}"
            )
        out, state = self.rnn(x, state)  # (B, T, H)
        return self.readout(out), state  # (B, T, K)

    def _orthogonal_hh(self) -> None:
        """Every gate block W_h* (H, H) of weight_hh_l* orthogonal."""
        with torch.no_grad():
            for name, p in self.rnn.named_parameters():
                if name.startswith("weight_hh"):
                    for block in p.chunk(_GATES[self.kind], dim=0):
                        nn.init.orthogonal_(block)  # (H, H) view, in place

    def _set_forget_bias(self, forget_bias) -> None:
        if self.kind != "lstm":
            raise ValueError(
                f"forget_bias needs kind='lstm' (got kind={self.kind!r})"
            )
        if isinstance(forget_bias, bool) or not isinstance(
            forget_bias, numbers.Real
        ):
            raise TypeError(
                f"forget_bias must be a real number, got {forget_bias!r}"
            )
        h = self.hidden_size
        with torch.no_grad():  # gate order i, f, g, o: f is rows H..2H
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    p[h : 2 * h] = float(forget_bias)
                elif name.startswith("bias_hh"):
                    p[h : 2 * h] = 0.0


def _check_size(name, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def _layer_class(kind, impl):
    """``torch.nn.LSTM`` etc., or the from-scratch ``asctools.nn`` twin."""
    names = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
    if kind not in names:
        raise ValueError(f"kind must be 'lstm', 'rnn' or 'gru', got {kind!r}")
    if impl == "torch":
        return getattr(nn, names[kind])
    if impl == "asctools":
        import asctools.nn as asc_nn  # imported on use

        return getattr(asc_nn, names[kind])
    raise ValueError(f"impl must be 'torch' or 'asctools', got {impl!r}")
