"""The LSTM time loop as one autograd Function, with BPTT written out.

Why: autograd records about ten small operations per time step and replays
them one by one in the backward pass. At batch 64 that bookkeeping costs
more than the arithmetic. This Function runs the forward loop without
autograd, keeps the gate activations, and runs backpropagation through time
(BPTT) by hand: one reverse loop over time for the recurrent part, then the
weight gradient of all time steps in ONE matrix product.

Forward of one step (σ = logistic sigmoid, ⊙ = elementwise product)::

    a_t = xw_t + h_{t-1} W_hhᵀ + b_hh                    (B, 4H)
    i, f, o = σ(a_i), σ(a_f), σ(a_o);   g = tanh(a_g)    (B, H) each
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

Backward, with dh_t = ∂L/∂h_t (from the output at t and from step t+1)
and dc_t = ∂L/∂c_t (from step t+1 only, until the first line adds the
path through h_t)::

    dc_t += dh_t ⊙ o ⊙ (1 − tanh² c_t)
    da_i = dc_t ⊙ g ⊙ i(1 − i)            σ' = σ(1 − σ)
    da_f = dc_t ⊙ c_{t-1} ⊙ f(1 − f)
    da_g = dc_t ⊙ i ⊙ (1 − g²)            tanh' = 1 − tanh²
    da_o = dh_t ⊙ tanh(c_t) ⊙ o(1 − o)
    dc_{t-1} = dc_t ⊙ f                   the additive path: no W, no σ'
    dh_{t-1} = ∂L/∂out_{t-1} + da_t W_hh
    dW_hh = Σ_t da_tᵀ h_{t-1},  db_hh = Σ_t da_t,  dxw_t = da_t

The loop works on one step's (B, 4H) block at a time, which stays in the
CPU cache; only the weight gradients are formed over all steps at once.

Second derivatives: when autograd asks for a graph of the gradient
(``create_graph=True``), the backward reruns the forward with the plain
per-step functions and differentiates that instead
(:func:`asctools.nn._common.backward_with_graph`), so gradient penalties
and Hessian-vector products get torch.nn's numbers. The ordinary backward
keeps the hand-written loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from asctools.nn._common import (
    apply_fused,
    autocast_off,
    backward_with_graph,
    recurrent_weight_grad,
    saved_xw,
)
from asctools.nn.functional import lstm_unroll

__all__ = ["lstm_sequence"]


class _LSTMSequence(torch.autograd.Function):
    """Inputs xw (T, B, 4H), h0, c0 (B, H), W_hh (4H, H), b_hh (4H,) or
    None; outputs h_1..h_T (T, B, H) and the final h_T, c_T (B, H)."""

    @staticmethod
    def forward(ctx, xw, h0, c0, weight_hh, bias_hh, recompute_xw):
        T, B, G = xw.shape  # G = 4H
        H = G // 4
        # gates[t] is filled in place: pre-activations, then activations
        gates = torch.empty((T, B, G), dtype=xw.dtype, device=xw.device)
        if bias_hh is None:
            gates.copy_(xw)
        else:
            torch.add(xw, bias_hh, out=gates)  # xw_t + b_hh, all t at once
        hs = xw.new_empty(T, B, H)  # h_1 .. h_T, the output
        cs = xw.new_empty(T, B, H)  # c_1 .. c_T
        tanh_cs = xw.new_empty(T, B, H)  # tanh(c_1) .. tanh(c_T)
        w_t = weight_hh.t()  # (H, 4H)
        h, c = h0, c0
        for t in range(T):
            a = gates[t].addmm_(h, w_t)  # a_t = xw_t + b_hh + h W_hhᵀ
            a[:, : 2 * H].sigmoid_()  # i, f = σ(a_i), σ(a_f)
            a[:, 2 * H : 3 * H].tanh_()  # g = tanh(a_g)
            a[:, 3 * H :].sigmoid_()  # o = σ(a_o)
            i, f, g, o = a.chunk(4, dim=1)
            c = torch.mul(f, c, out=cs[t]).addcmul_(i, g)  # f⊙c + i⊙g
            # h = o ⊙ tanh(c); tanh(c) is kept for the backward pass
            h = torch.mul(o, torch.tanh(c, out=tanh_cs[t]), out=hs[t])
        # the inputs first: the graph backward reruns the forward on them
        kept = xw if recompute_xw is None else None  # None: recomputed
        ctx.save_for_backward(
            kept, h0, c0, weight_hh, bias_hh, gates, cs, tanh_cs, hs
        )
        ctx.has_bias, ctx.recompute_xw = bias_hh is not None, recompute_xw
        return hs, h.clone(), c.clone()

    @staticmethod
    @autocast_off
    def backward(ctx, d_hs, d_hn, d_cn):
        saved = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: second derivatives
            inputs = (saved_xw(ctx, saved[0]), *saved[1:5])
            grads = (d_hs, d_hn, d_cn)
            return *backward_with_graph(ctx, lstm_unroll, inputs, grads), None
        _, h0, c0, weight_hh, _, gates, cs, tanh_cs, hs = saved
        T = gates.shape[0]
        one = gates.new_ones(())
        d_hs = d_hs.contiguous()  # ∂L/∂out, (T, B, H)
        da = torch.empty_like(gates)  # ∂L/∂a_t for all t, (T, B, 4H)
        dh = d_hs[T - 1] + d_hn  # dh_T, (B, H)
        dc = d_cn.clone()  # dc_T, (B, H), updated in place
        for t in range(T - 1, -1, -1):
            i, f, g, o = gates[t].chunk(4, dim=1)  # (B, H) each
            tanh_c = tanh_cs[t]
            c_prev = cs[t - 1] if t > 0 else c0
            da_i, da_f, da_g, da_o = da[t].chunk(4, dim=1)  # views
            # dc_t += dh_t ⊙ o ⊙ (1 − tanh² c_t)
            d_tanh = torch.addcmul(one, tanh_c, tanh_c, value=-1)
            dc.addcmul_(dh, d_tanh.mul_(o))
            # σ' = σ(1 − σ) for i, f, o; then tanh' = 1 − g² for g
            torch.addcmul(gates[t], gates[t], gates[t], value=-1, out=da[t])
            torch.addcmul(one, g, g, value=-1, out=da_g)
            da_i.mul_(g).mul_(dc)  # da_i = dc_t ⊙ g ⊙ i(1 − i)
            da_f.mul_(c_prev).mul_(dc)  # da_f = dc_t ⊙ c_{t-1} ⊙ f(1 − f)
            da_g.mul_(i).mul_(dc)  # da_g = dc_t ⊙ i ⊙ (1 − g²)
            da_o.mul_(tanh_c).mul_(dh)  # da_o = dh_t ⊙ tanh(c_t) ⊙ o(1 − o)
            dc.mul_(f)  # dc_{t-1} = dc_t ⊙ f
            if t > 0:  # dh_{t-1} = ∂L/∂out_{t-1} + da_t W_hh
                dh = torch.addmm(d_hs[t - 1], da[t], weight_hh)
        dh0 = da[0] @ weight_hh  # (B, H)
        d_w = d_b = None
        if ctx.needs_input_grad[3]:  # dW_hh = Σ_t da_tᵀ h_{t-1}
            d_w = recurrent_weight_grad(da, h0, hs)  # (4H, H)
        if ctx.has_bias and ctx.needs_input_grad[4]:
            d_b = da.sum(dim=(0, 1))  # db_hh = Σ_t da_t
        return da, dh0, dc, d_w, d_b, None


def lstm_sequence(
    xw: Tensor,
    h0: Tensor,
    c0: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
    recompute_xw=None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run the LSTM recurrence over all time steps; returns ``(out, h, c)``.

    ``xw`` is the input projection ``x W_ihᵀ + b_ih`` of shape (T, B, 4H);
    ``h0``, ``c0`` are (B, H); ``weight_hh`` is (4H, H), ``bias_hh`` (4H,)
    or None. ``out`` is (T, B, H) = h_1 .. h_T; ``h``, ``c`` are the final
    states (B, H). Equal to :func:`asctools.nn.functional.lstm_unroll`,
    with a hand-written backward; differentiable any number of times.
    ``recompute_xw``: see :func:`asctools.nn._common.apply_fused`.
    """
    return apply_fused(
        _LSTMSequence, weight_hh,
        xw.contiguous(), h0.contiguous(), c0.contiguous(), weight_hh, bias_hh,
        recompute_xw=recompute_xw,
    )  # fmt: skip
