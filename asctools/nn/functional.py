"""One time step of the Elman RNN, the LSTM and the GRU, as plain functions.

These are the equations of ``torch.nn.RNNCell``, ``torch.nn.LSTMCell`` and
``torch.nn.GRUCell`` written out, with PyTorch's parameter layout:

* ``weight_ih`` is ``(G*H, D)`` and ``weight_hh`` is ``(G*H, H)``, where G is
  the number of gates (1 for the RNN, 4 for the LSTM, 3 for the GRU);
* the G gates are G *contiguous blocks* of rows, in PyTorch's order
  (LSTM: i, f, g, o; GRU: r, z, n), so one matrix product computes all gates
  and ``chunk(G, dim=-1)`` splits them.

Every ``*_step`` function takes ``xw``, the input projection
``x @ weight_ih.T + bias_ih`` that a layer computes for all time steps with a
single matrix product before its time loop; only the recurrent part is left
for the loop. The ``*_cell`` functions take the raw input ``x`` instead,
and the ``*_unroll`` functions loop a step over all time steps of an
``xw`` of shape ``(T, B, G*H)``: plain autograd, differentiable any number
of times. Shapes: ``x`` is ``(B, D)``, ``h`` and ``c`` are ``(B, H)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "rnn_step",
    "lstm_step",
    "gru_step",
    "lstm_gates",
    "gru_gates",
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "rnn_unroll",
    "lstm_unroll",
    "gru_unroll",
]


def rnn_step(
    xw: Tensor,
    h: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """Elman step: h' = φ(W_ih x + b_ih + W_hh h + b_hh), φ = tanh or relu."""
    pre = xw + F.linear(h, weight_hh, bias_hh)  # (B, H)
    if nonlinearity == "tanh":
        return torch.tanh(pre)
    if nonlinearity == "relu":
        return torch.relu(pre)
    raise ValueError(
        f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
    )


def lstm_step(
    xw: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """LSTM step; returns ``(h', c')``.

    The cell state c is updated *additively*: c' = f ⊙ c + i ⊙ g. Along that
    path ∂c'/∂c = diag(f), with no weight matrix and no squashing derivative,
    so when the forget gate stays near 1 the gradient survives many steps.
    """
    i, f, g, o = lstm_gates(xw + F.linear(h, weight_hh, bias_hh))
    c_next = f * c + i * g  # c' = f ⊙ c + i ⊙ g
    h_next = o * torch.tanh(c_next)  # h' = o ⊙ tanh(c')
    return h_next, c_next


def lstm_gates(pre: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(i, f, g, o)`` from the pre-activations ``pre`` (..., 4H)."""
    i, f, g, o = pre.chunk(4, dim=-1)  # four contiguous (..., H) blocks
    i = torch.sigmoid(i)  # input gate   i = σ(W_ii x + b_ii + W_hi h + b_hi)
    f = torch.sigmoid(f)  # forget gate  f = σ(W_if x + b_if + W_hf h + b_hf)
    g = torch.tanh(g)  # candidate    g = tanh(W_ig x + b_ig + W_hg h + b_hg)
    o = torch.sigmoid(o)  # output gate  o = σ(W_io x + b_io + W_ho h + b_ho)
    return i, f, g, o


def gru_gates(xw: Tensor, hw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(r, z, n)`` from ``xw`` = W_i x + b_i and ``hw`` = W_h h + b_h,
    each (..., 3H)."""
    x_r, x_z, x_n = xw.chunk(3, dim=-1)
    h_r, h_z, h_n = hw.chunk(3, dim=-1)
    # reset gate   r = σ(W_ir x + b_ir + W_hr h + b_hr)
    r = torch.sigmoid(x_r + h_r)
    # update gate  z = σ(W_iz x + b_iz + W_hz h + b_hz)
    z = torch.sigmoid(x_z + h_z)
    # candidate    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    n = torch.tanh(x_n + r * h_n)
    return r, z, n


def gru_step(
    xw: Tensor,
    h: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
) -> Tensor:
    """GRU step (PyTorch's variant: r multiplies W_hn h + b_hn)."""
    _, z, n = gru_gates(xw, F.linear(h, weight_hh, bias_hh))  # (B, H) each
    return (1 - z) * n + z * h  # h' = (1 − z) ⊙ n + z ⊙ h


def rnn_cell(
    x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"
):
    """:func:`rnn_step` on a raw input ``x`` of shape ``(B, D)``."""
    return rnn_step(
        F.linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh, nonlinearity
    )


def lstm_cell(x, state, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """:func:`lstm_step` on a raw input ``x``; ``state`` is ``(h, c)``."""
    h, c = state
    return lstm_step(F.linear(x, weight_ih, bias_ih), h, c, weight_hh, bias_hh)


def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """:func:`gru_step` on a raw input ``x`` of shape ``(B, D)``."""
    return gru_step(F.linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh)


def rnn_unroll(xw, h0, weight_hh, bias_hh=None, nonlinearity="tanh"):
    """:func:`rnn_step` over t; returns ``(out (T, B, H), h_T)``."""
    h, outs = h0, []
    for xw_t in xw:  # (B, H) per step
        h = rnn_step(xw_t, h, weight_hh, bias_hh, nonlinearity)
        outs.append(h)
    return torch.stack(outs), h


def lstm_unroll(xw, h0, c0, weight_hh, bias_hh=None):
    """:func:`lstm_step` over t; returns ``(out (T, B, H), h_T, c_T)``."""
    h, c, outs = h0, c0, []
    for xw_t in xw:  # (B, 4H) per step
        h, c = lstm_step(xw_t, h, c, weight_hh, bias_hh)
        outs.append(h)
    return torch.stack(outs), h, c


def gru_unroll(xw, h0, weight_hh, bias_hh=None):
    """:func:`gru_step` over t; returns ``(out (T, B, H), h_T)``."""
    h, outs = h0, []
    for xw_t in xw:  # (B, 3H) per step
        h = gru_step(xw_t, h, weight_hh, bias_hh)
        outs.append(h)
    return torch.stack(outs), h
