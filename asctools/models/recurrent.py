"""A recurrent layer plus a linear read-out: the course's sequence model."""

from __future__ import annotations

import torch.nn as tnn
from torch import Tensor, nn

import asctools.nn as asc_nn
from asctools._validate import check_choice, check_int, check_real
from asctools.models.init import (
    chrono_,
    orthogonal_recurrent_,
    set_gate_bias_,
)

__all__ = ["KINDS", "RecurrentModel"]

KINDS = ("rnn", "lstm", "gru")
_NAMES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


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
        input_bias: for ``kind="lstm"`` only: the starting input-gate bias
            ``b_ii + b_hi`` (Hochreiter & Schmidhuber 1997 start input
            gates closed, at −3 and −6, against internal state drift).
        chrono: None, or the longest lag T_max to prepare for: chrono
            initialisation (:func:`asctools.models.init.chrono_`) of an
            LSTM's forget and input gates or a GRU's update gate, drawn
            from torch's global generator after the weights.
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
        input_bias=None,
        chrono=None,
    ):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("output_size", output_size),
            ("num_layers", num_layers),
        ):
            check_int(name, value, 1)
        check_choice("kind", kind, KINDS)
        check_choice("impl", impl, ("torch", "asctools"))
        check_choice("init", init, ("default", "orthogonal"))
        layer_cls = getattr(tnn if impl == "torch" else asc_nn, _NAMES[kind])
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
            orthogonal_recurrent_(self.rnn, kind)
        for name, value in (("forget_bias", forget_bias),
                            ("input_bias", input_bias)):  # fmt: skip
            if value is None:
                continue
            if kind != "lstm":
                raise ValueError(
                    f"{name} needs kind='lstm' (got kind={kind!r})"
                )
            check_real(name, value)
            set_gate_bias_(self.rnn, "lstm", name[0], value)  # "f" or "i"
        if chrono is not None:
            if forget_bias is not None or input_bias is not None:
                raise ValueError(
                    "chrono sets the gate biases itself: pass chrono or "
                    "forget_bias/input_bias, not both"
                )
            chrono_(self.rnn, kind, chrono)

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
