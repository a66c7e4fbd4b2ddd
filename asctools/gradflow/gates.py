"""What the gates of an LSTM or GRU do on a sequence: every value, every t.

:func:`gate_trace` runs a model and returns, for one layer, the gate
activations (LSTM: i, f, g, o; GRU: r, z, n), the states and the model's
prediction at every step, as NumPy arrays to plot: heat-maps of the gates
over time, the cell state's size, the share of saturated units, the
forget gate's time constant 1 / (1 − f).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from asctools._validate import check_int
from asctools.gradflow.unroll import unroll
from asctools.models import RecurrentModel
from asctools.nn.functional import gru_gates, lstm_gates

__all__ = ["GateTrace", "gate_trace"]


@dataclass
class GateTrace:
    """Per-step values of one layer, float64 arrays (B, T, H).

    ``gates``: {"i", "f", "g", "o"} for an LSTM, {"r", "z", "n"} for a GRU;
    ``c``: the LSTM's cell state c_1..c_T (None for a GRU); ``h``: h_1..h_T;
    ``pred``: the model's prediction (B, T, K).
    """

    kind: str
    gates: dict[str, np.ndarray]
    c: np.ndarray | None
    h: np.ndarray
    pred: np.ndarray

    def time_constant(self) -> np.ndarray:
        """1 / (1 − f) for an LSTM, 1 / (1 − z) for a GRU (B, T, H): the
        number of steps over which the gate keeps a stored value."""
        keep = self.gates["f" if self.kind == "lstm" else "z"]
        return 1.0 / np.maximum(1.0 - keep, 1e-12)

    def saturated(self, threshold=0.1) -> np.ndarray:
        """(T,): the share of (sequence, unit) pairs whose tanh′(c_t) =
        1 − tanh²(c_t) is below ``threshold`` (LSTM only)."""
        if self.c is None:
            raise ValueError("saturated() needs an LSTM (a cell state)")
        return (1.0 - np.tanh(self.c) ** 2 < threshold).mean(axis=(0, 2))


def _numpy(t) -> np.ndarray:
    return t.detach().double().cpu().numpy()


@torch.no_grad()
def gate_trace(model, x, layer: int = 0, state=None) -> GateTrace:
    """The gates of layer ``layer`` of an LSTM or GRU on ``x`` (B, T, D).

    ``model``: a ``RecurrentModel`` or a torch.nn / asctools.nn LSTM or
    GRU layer (x batch first).
    """
    u = unroll(model, x, state)
    if u.kind not in ("lstm", "gru"):
        raise ValueError(f"gate_trace needs an LSTM or a GRU, got {u.kind}")
    check_int("layer", layer, 0, len(u.h) - 1)
    rnn = model.rnn if isinstance(model, RecurrentModel) else model
    p = [
        getattr(rnn, f"{name}_l{layer}", None)
        for name in ("weight_ih", "bias_ih", "weight_hh", "bias_hh")
    ]
    xw = F.linear(u.inputs[layer], p[0], p[1])  # (B, T, G·H), all steps
    h_prev = torch.stack(u.h[layer][:-1], dim=1)  # h_0 .. h_{T−1}
    hw = F.linear(h_prev, p[2], p[3])  # (B, T, G·H)
    if u.kind == "lstm":
        values = dict(zip("ifgo", lstm_gates(xw + hw), strict=True))
        c = _numpy(torch.stack(u.c[layer][1:], dim=1))
    else:
        values = dict(zip("rzn", gru_gates(xw, hw), strict=True))
        c = None
    h = _numpy(torch.stack(u.h[layer][1:], dim=1))
    gates = {name: _numpy(v) for name, v in values.items()}
    return GateTrace(u.kind, gates, c, h, _numpy(u.pred))
