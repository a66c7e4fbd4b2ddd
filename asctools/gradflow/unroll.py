"""Unroll a recurrent model one step at a time, keeping every state.

:func:`unroll` is the one place where the instruments learn a model's
states, for each of the three kinds of model they measure: a recurrent
layer (``torch.nn`` or ``asctools.nn``), a :class:`RecurrentModel` (a layer
and a read-out) and a step-wise model (:mod:`asctools.models.stepwise`).

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

from asctools._validate import check_int
from asctools.models import RecurrentModel, StepwiseModel
from asctools.nn.functional import gru_step, lstm_step, rnn_step

__all__ = ["Unrolled", "layer_kind", "unroll", "unroll_layer"]

# gates per layer -> kind: W_hh is (G*H, H)
_KINDS = {1: "rnn", 3: "gru", 4: "lstm"}


@dataclass
class Unrolled:
    """The states of an unrolled layer (all batch first).

    ``h[k][t]`` is layer k's state h_t, shape (B, H), for t = 0..T (index
    0 is the initial state); ``c`` the same for an LSTM's cell state, else
    None; ``inputs[k]`` is layer k's input sequence (B, T, D_k); ``out``
    the top layer's outputs (B, T, H); ``pred`` the model's prediction
    (B, T, K): the read-out of ``out`` for a model that has one, else
    ``out`` itself.
    """

    kind: str
    out: Tensor
    h: list[list[Tensor]]
    c: list[list[Tensor]] | None
    inputs: list[Tensor]
    pred: Tensor | None = None

    def states(self, layer: int = -1) -> tuple[list, list]:
        """Layer ``layer``'s h_1..h_T and c_1..c_T ([] without a cell)."""
        check_int("layer", layer)
        n = len(self.h)
        if not -n <= layer < n:
            raise ValueError(f"layer must be in [-{n}, {n}), got {layer}")
        cs = self.c[layer][1:] if self.c is not None else []
        return self.h[layer][1:], cs


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
    cs = cs if kind == "lstm" else None
    return Unrolled(kind, inp, hs, cs, inputs, pred=inp)


def _unroll_stepwise(model: StepwiseModel, x: Tensor, state) -> Unrolled:
    """``model.step`` at every t, from a state that requires grad."""
    state = model.initHidden(x.shape[0]) if state is None else state
    lstm = isinstance(state, (tuple, list))
    hidden = tuple(s.detach().requires_grad_() for s in state) if lstm else (
        state.detach().requires_grad_()
    )  # fmt: skip
    h0 = hidden[0] if lstm else hidden
    preds, hs, cs = [], [h0], [hidden[1]] if lstm else None
    for t in range(x.shape[1]):
        pred, hidden = model.step(x[:, t], hidden)  # (B, K)
        preds.append(pred)
        hs.append(hidden[0] if lstm else hidden)
        if lstm:
            cs.append(hidden[1])
    out = torch.stack(hs[1:], dim=1)  # (B, T, H)
    kind = "lstm" if lstm else "rnn"
    return Unrolled(kind, out, [hs], None if cs is None else [cs], [x],
                    pred=torch.stack(preds, dim=1))  # fmt: skip


def unroll(model: torch.nn.Module, x: Tensor, state=None) -> Unrolled:
    """Every state of ``model`` on ``x`` (B, T, D), batch first.

    ``model``: a recurrent layer (as for :func:`unroll_layer`; x is batch
    first whatever its ``batch_first``), a :class:`RecurrentModel` (its
    layer, then the read-out of every step into ``pred``) or a step-wise
    model (its ``step`` at every t, its ``initHidden`` as the default
    state). The initial states are leaves that require grad.
    """
    if isinstance(model, StepwiseModel):
        return _unroll_stepwise(model, x, state)
    if isinstance(model, RecurrentModel):
        u = unroll_layer(model.rnn, x, state)
        u.pred = model.readout(u.out)  # (B, T, K)
        return u
    return unroll_layer(model, x, state)
