"""Initialisations of a recurrent layer, in place.

They work on any layer with torch.nn's parameter names and layout
(``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H,)),
so on ``torch.nn`` and ``asctools.nn`` layers alike. A gate sees the sum
of its two biases, ``b_ih + b_hh``: setting a gate's bias writes the value
into ``bias_ih`` and zeros into the same rows of ``bias_hh``.
"""

from __future__ import annotations

import torch
from torch import nn

from asctools._validate import check_real

__all__ = [
    "GATES",
    "chrono_",
    "gate_rows",
    "orthogonal_recurrent_",
    "set_gate_bias_",
]

# kind -> gate names in torch.nn's order (row blocks of weight_hh)
GATES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def gate_rows(kind: str, gate: str, hidden_size: int) -> slice:
    """The rows of gate ``gate`` in a ``kind`` layer's weights and biases."""
    k = GATES[kind].index(gate)
    return slice(k * hidden_size, (k + 1) * hidden_size)


def _layers(rnn: nn.Module):
    """The parameter suffixes of ``rnn``: ``_l0``, ``_l0_reverse``, ...
    (``""`` for a cell or a step-wise model's ``weight_hh``)."""
    return [
        name[len("weight_hh") :]
        for name, _ in rnn.named_parameters()
        if name.startswith("weight_hh")
    ]


def orthogonal_recurrent_(rnn: nn.Module, kind: str) -> None:
    """Every gate block W_h* (H, H) of every ``weight_hh`` orthogonal, so
    the recurrent map starts with all its singular values equal to 1."""
    with torch.no_grad():
        for suffix in _layers(rnn):
            w = rnn.get_parameter("weight_hh" + suffix)
            for block in w.chunk(len(GATES[kind]), dim=0):
                nn.init.orthogonal_(block)  # (H, H) view, in place


def set_gate_bias_(rnn: nn.Module, kind: str, gate: str, value) -> None:
    """Set b_ih + b_hh of ``gate`` to ``value`` in every layer.

    ``value`` is a number or a tensor of H values (one per unit).
    """
    if kind not in GATES or gate not in GATES[kind]:
        raise ValueError(
            f"gate {gate!r} does not exist in a {kind!r} layer; its gates "
            f"are {GATES.get(kind)}"
        )
    suffixes = _layers(rnn)
    h = rnn.get_parameter("weight_hh" + suffixes[0]).shape[1]
    if not isinstance(value, torch.Tensor):
        value = check_real(f"the {gate}-gate bias", value)
    elif value.shape != (h,):
        raise ValueError(
            f"a per-unit {gate}-gate bias must have shape ({h},), got "
            f"{tuple(value.shape)}"
        )
    rows = gate_rows(kind, gate, h)
    with torch.no_grad():
        for suffix in suffixes:
            bias_ih = rnn.get_parameter("bias_ih" + suffix)
            rnn.get_parameter("bias_hh" + suffix)[rows] = 0.0
            bias_ih[rows] = value


def chrono_(rnn: nn.Module, kind: str, t_max, generator=None) -> None:
    """Chrono initialisation (Tallec & Ollivier 2018) for lags up to t_max.

    LSTM: b_f ~ log U(1, t_max − 1) per unit and b_i = −b_f. A forget gate
    σ(b_f) keeps a stored value for about 1 / (1 − σ(b_f)) = 1 + e^(b_f)
    steps, so the units' time constants spread uniformly over [2, t_max];
    the input gate starts closed where the forget gate starts open, so a
    cell that holds its value does not add the cell input's bias at every
    step ("internal state drift", Hochreiter & Schmidhuber 1997).
    GRU, whose update gate z keeps the state (h' = (1 − z) n + z h):
    b_z ~ log U(1, t_max − 1), the same spread of time constants.
    ``generator``: a ``torch.Generator`` (None: torch's global one).
    """
    if kind not in ("lstm", "gru"):
        raise ValueError(f"chrono needs kind 'lstm' or 'gru', got {kind!r}")
    t_max = check_real("chrono's t_max", t_max, 2, strict=True)
    h = rnn.get_parameter("weight_hh" + _layers(rnn)[0]).shape[1]
    u = torch.rand(h, generator=generator, dtype=torch.float64)
    bias = torch.log(1 + u * (t_max - 2)).float()  # log U(1, t_max − 1)
    if kind == "lstm":
        set_gate_bias_(rnn, "lstm", "f", bias)
        set_gate_bias_(rnn, "lstm", "i", -bias)
    else:
        set_gate_bias_(rnn, "gru", "z", bias)
