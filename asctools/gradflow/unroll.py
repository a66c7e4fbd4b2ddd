"""Unroll a recurrent layer one step at a time, keeping every state.

``torch.nn.RNN/LSTM/GRU`` run their time loop in one fused kernel, so the
per-step states h_t never appear in the autograd graph. To measure
‖∂L/∂h_t‖ we run the same equations step by step with the layer's own
parameters (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}``) and the single-step functions of
:mod:`asctools.nn.functional`; every h_t (and c_t) is then a node of the
graph that ``torch.autograd.grad`` can differentiate with respect to.
Works for any module with torch.nn's parameter names, so for
``asctools.nn.RNN/LSTM/GRU`` too. Dropout between layers is not applied
(the layer is unrolled as in evaluation mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from asctools.nn.functional import gru_step, lstm_step, rnn_step

__all__ = ["Unrolled", "layer_kind", "unroll_layer"]

# gates per layer -> kind: W_hh is (G*H, H)
_KINDS = {1: "rnn", 3: "gru", 4: "lstm"}


@dataclass
class Unrolled:
    """The states of an unrolled layer (all batch first).

    ``h[k][t]`` is layer k's state h_t, shape (B, H), for t = 0..T (index
    0 is the initial state); ``c`` the same for an LSTM's cell state, else
    None; ``inputs[k]`` is layer k's input sequence (B, T, D_k); ``out``
    the top layer's outputs (B, T, H).
    """

    kind: str
    out: Tensor
    h: list[list[Tensor]]
    c: list[list[Tensor]] | None
    inputs: list[Tensor]


def layer_kind(rnn: torch.nn.Module) -> str:
    """Return 'rnn', 'lstm' or 'gru' from torch.nn's parameter layout."""
    w = getattr(rnn, "weight_hh_l0", None)
    if not isinstance(w, Tensor) or w.dim() != 2:
        raise TypeError(
            "rnn must be a recurrent layer with torch.nn's parameter names "
            f"(weight_hh_l0 ...), got {type(rnn).__name__}"
        )
    if getattr(rnn, "bidirectional", False):
        raise ValueError("rnn must not be bidirectional")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("rnn must have proj_size=0")
    kind = _KINDS.get(w.shape[0] // w.shape[1])
    if kind is None or w.shape[0] % w.shape[1]:
        raise ValueError(
            f"weight_hh_l0 of shape {tuple(w.shape)} is not (G*H, H) with "
            "G = 1 (RNN), 3 (GRU) or 4 (LSTM)"
        )
    return kind


def _initial_state(kind, state, shape, x):
    """Leaf tensors (L, B, H) that require grad, so every h_t does too."""
    if state is None:
        h0 = x.new_zeros(shape)
        c0 = x.new_zeros(shape) if kind == "lstm" else None
    elif kind == "lstm":
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError("state of an LSTM must be a tuple (h0, c0)")
        h0, c0 = state
    else:
        h0, c0 = state, None
    for name, s in (("h0", h0), ("c0", c0)):
        if s is not None and tuple(s.shape) != shape:
            raise ValueError(
                f"state {name} must have shape (num_layers, B, H) = "
                f"{shape}, got {tuple(s.shape)}"
            )
    grad = lambda s: None if s is None else s.detach().requires_grad_()
    return grad(h0), grad(c0)


def _layer_params(rnn, k):
    """(W_ih, W_hh, b_ih, b_hh) of layer k; biases are None if absent."""
    return (
        getattr(rnn, f"weight_ih_l{k}"),
        getattr(rnn, f"weight_hh_l{k}"),
        getattr(rnn, f"bias_ih_l{k}", None),
        getattr(rnn, f"bias_hh_l{k}", None),
    )


def _run_layer(kind, rnn, k, inp, h0, c0):
    """One layer's time loop; returns the lists [h_0..h_T], [c_0..c_T]."""
    w_ih, w_hh, b_ih, b_hh = _layer_params(rnn, k)
    xw = F.linear(inp, w_ih, b_ih)  # (B, T, G*H): W_ih x_t + b_ih, all t
    hs, cs = [h0], [c0]
    for t in range(inp.shape[1]):
        if kind == "lstm":
            h, c = lstm_step(xw[:, t], hs[-1], cs[-1], w_hh, b_hh)
            cs.append(c)
        elif kind == "gru":
            h = gru_step(xw[:, t], hs[-1], w_hh, b_hh)
        else:
            act = getattr(rnn, "nonlinearity", "tanh")
            h = rnn_step(xw[:, t], hs[-1], w_hh, b_hh, act)
        hs.append(h)  # (B, H)
    return hs, (cs if kind == "lstm" else None)


def unroll_layer(rnn: torch.nn.Module, x: Tensor, state=None) -> Unrolled:
    """Run ``rnn`` step by step on ``x`` (B, T, D), batch first.

    ``state`` is torch.nn's initial state: h0 (num_layers, B, H), or
    (h0, c0) for an LSTM; zeros when None. The initial states are
    detached copies that require grad, so the graph exists even when the
    parameters are frozen. Returns an :class:`Unrolled`.
    """
    kind = layer_kind(rnn)
    if not isinstance(x, Tensor) or x.dim() != 3:
        raise ValueError("x must be a 3-D tensor (B, T, D)")
    n_layers = getattr(rnn, "num_layers", 1)
    shape = (n_layers, x.shape[0], rnn.weight_hh_l0.shape[1])
    h0, c0 = _initial_state(kind, state, shape, x)
    hs, cs, inputs, inp = [], [], [], x
    for k in range(n_layers):
        c_init = None if c0 is None else c0[k]
        h_k, c_k = _run_layer(kind, rnn, k, inp, h0[k], c_init)
        hs.append(h_k)
        cs.append(c_k)
        inputs.append(inp)
        inp = torch.stack(h_k[1:], dim=1)  # (B, T, H): next layer's input
    return Unrolled(kind, inp, hs, cs if kind == "lstm" else None, inputs)
