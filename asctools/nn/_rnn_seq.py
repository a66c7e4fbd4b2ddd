"""The Elman RNN and GRU time loops as autograd Functions (BPTT by hand).

Same idea as :mod:`asctools.nn._lstm_seq`: the forward loop runs without
autograd and keeps what the backward pass needs; the backward pass runs the
recurrence in reverse over time, one step's block at a time, and forms
dW_hh with one matrix product over all steps. A backward that must build
a graph (``create_graph=True``) reruns the forward with the plain per-step
functions and differentiates that (second derivatives as torch.nn's).
``recompute_xw`` (see :func:`asctools.nn._common.apply_fused`) spares
keeping ``xw``. Shapes: ``xw`` (T, B, G·H) = x W_ihᵀ + b_ih, ``h0``
(B, H), ``weight_hh`` (G·H, H), ``bias_hh`` (G·H,) or None; outputs
(T, B, H) and h_T (B, H).
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
from asctools.nn.functional import gru_unroll, rnn_unroll

__all__ = ["rnn_sequence", "gru_sequence"]


class _RNNSequence(torch.autograd.Function):
    """Elman RNN.

    Forward:  h_t = φ(a_t),  a_t = xw_t + h_{t-1} W_hhᵀ + b_hh
    Backward: da_t = dh_t ⊙ φ'(a_t)   (tanh' = 1 − h_t², relu' = [h_t > 0])
              dh_{t-1} = ∂L/∂out_{t-1} + da_t W_hh
              dW_hh = Σ_t da_tᵀ h_{t-1},  db_hh = Σ_t da_t,  dxw_t = da_t
    """

    @staticmethod
    def forward(ctx, xw, h0, weight_hh, bias_hh, nonlinearity, recompute_xw):
        hs = torch.empty(xw.shape, dtype=xw.dtype, device=xw.device)
        if bias_hh is None:
            hs.copy_(xw)
        else:
            torch.add(xw, bias_hh, out=hs)  # xw_t + b_hh, all t at once
        act_ = torch.tanh_ if nonlinearity == "tanh" else torch.relu_
        w_t = weight_hh.t()  # (H, H)
        h = h0
        for t in range(xw.shape[0]):
            h = act_(hs[t].addmm_(h, w_t))  # h_t = φ(a_t), in place
        kept = xw if recompute_xw is None else None  # None: recomputed
        ctx.save_for_backward(kept, h0, weight_hh, bias_hh, hs)
        ctx.has_bias, ctx.nonlinearity = bias_hh is not None, nonlinearity
        ctx.recompute_xw = recompute_xw
        return hs, h.clone()

    @staticmethod
    @autocast_off
    def backward(ctx, d_hs, d_hn):
        xw, h0, weight_hh, bias_hh, hs = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: second derivatives
            inputs = (saved_xw(ctx, xw), h0, weight_hh, bias_hh)
            grads = backward_with_graph(
                ctx, rnn_unroll, inputs, (d_hs, d_hn), ctx.nonlinearity
            )
            return *grads, None
        one = hs.new_ones(())
        d_hs = d_hs.contiguous()  # ∂L/∂out, (T, B, H)
        da = torch.empty_like(hs)  # ∂L/∂a_t, (T, B, H)
        dh = d_hs[-1] + d_hn  # dh_T, (B, H)
        for t in range(hs.shape[0] - 1, -1, -1):
            h = hs[t]
            if ctx.nonlinearity == "tanh":  # da_t = dh_t ⊙ (1 − h_t²)
                torch.addcmul(one, h, h, value=-1, out=da[t]).mul_(dh)
            else:  # da_t = dh_t ⊙ [h_t > 0]
                torch.mul(dh, h > 0, out=da[t])
            if t > 0:  # dh_{t-1} = ∂L/∂out_{t-1} + da_t W_hh
                dh = torch.addmm(d_hs[t - 1], da[t], weight_hh)
        return (
            da,
            da[0] @ weight_hh,
            _grad_w(ctx, 2, da, h0, hs),
            _grad_b(ctx, 3, da),
            None,
            None,
        )


class _GRUSequence(torch.autograd.Function):
    """GRU (PyTorch's variant).

    Forward, with hw_t = h_{t-1} W_hhᵀ + b_hh split into (hw_r, hw_z, hw_n)
    and xw_t into (xw_r, xw_z, xw_n)::

        r = σ(xw_r + hw_r),  z = σ(xw_z + hw_z)
        n = tanh(xw_n + r ⊙ hw_n)
        h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} = n + z ⊙ (h_{t-1} − n)

    Backward, with dh = ∂L/∂h_t and hats for pre-activations::

        dn̂ = dh_t ⊙ (1 − z)(1 − n²)             n̂ = xw_n + r ⊙ hw_n
        dẑ = dh_t ⊙ (h_{t-1} − n) z(1 − z)      ẑ = xw_z + hw_z
        dr̂ = dn̂ ⊙ hw_n r(1 − r)                 r̂ = xw_r + hw_r
        dxw_t = [dr̂, dẑ, dn̂],  dhw_t = [dr̂, dẑ, dn̂ ⊙ r]
        dh_{t-1} = ∂L/∂out_{t-1} + dh_t ⊙ z + dhw_t W_hh
    """

    @staticmethod
    def forward(ctx, xw, h0, weight_hh, bias_hh, recompute_xw):
        T, B, G = xw.shape  # G = 3H
        H = G // 3
        hw = xw.new_empty(T, B, G)  # h_{t-1} W_hhᵀ + b_hh
        rz = xw.new_empty(T, B, 2 * H)  # r, z
        ns = xw.new_empty(T, B, H)  # n
        hs = xw.new_empty(T, B, H)  # h_1 .. h_T
        w_t = weight_hh.t()  # (H, 3H)
        h = h0
        for t in range(T):
            if bias_hh is None:
                torch.mm(h, w_t, out=hw[t])
            else:
                torch.addmm(bias_hh, h, w_t, out=hw[t])
            r_z = torch.add(xw[t, :, : 2 * H], hw[t, :, : 2 * H], out=rz[t])
            r, z = r_z.sigmoid_().chunk(2, dim=1)  # σ(xw_r + hw_r), ...
            n = torch.addcmul(
                xw[t, :, 2 * H :], r, hw[t, :, 2 * H :], out=ns[t]
            ).tanh_()  # tanh(xw_n + r ⊙ hw_n)
            h = torch.sub(h, n, out=hs[t]).mul_(z).add_(n)  # n + z⊙(h − n)
        kept = xw if recompute_xw is None else None  # None: recomputed
        ctx.save_for_backward(kept, h0, weight_hh, bias_hh, hw, rz, ns, hs)
        ctx.has_bias, ctx.recompute_xw = bias_hh is not None, recompute_xw
        return hs, h.clone()

    @staticmethod
    @autocast_off
    def backward(ctx, d_hs, d_hn):
        saved = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: second derivatives
            inputs = (saved_xw(ctx, saved[0]), *saved[1:4])
            grads = (d_hs, d_hn)
            return *backward_with_graph(ctx, gru_unroll, inputs, grads), None
        _, h0, weight_hh, _, hw, rz, ns, hs = saved
        T, B, G = hw.shape
        H = G // 3
        one = hw.new_ones(())
        d_hs = d_hs.contiguous()  # ∂L/∂out, (T, B, H)
        dxw = torch.empty_like(hw)  # ∂L/∂xw_t, (T, B, 3H)
        dhw = torch.empty_like(hw)  # ∂L/∂hw_t, (T, B, 3H)
        dh = d_hs[-1] + d_hn  # dh_T, (B, H)
        for t in range(T - 1, -1, -1):
            r, z = rz[t].chunk(2, dim=1)  # (B, H) each
            n, hw_n = ns[t], hw[t, :, 2 * H :]
            h_prev = hs[t - 1] if t > 0 else h0
            dx_r, dx_z, dx_n = dxw[t].chunk(3, dim=1)  # views
            dh_z = dh * z  # the direct path h_{t-1} → h_t
            # dn̂ = dh ⊙ (1 − z) ⊙ (1 − n²)
            torch.addcmul(one, n, n, value=-1, out=dx_n).mul_(dh - dh_z)
            # dẑ = dh ⊙ (h_{t-1} − n) ⊙ z(1 − z)
            torch.addcmul(z, z, z, value=-1, out=dx_z).mul_(dh)
            dx_z.mul_(h_prev - n)
            # dr̂ = dn̂ ⊙ hw_n ⊙ r(1 − r)
            torch.addcmul(r, r, r, value=-1, out=dx_r).mul_(hw_n)
            dx_r.mul_(dx_n)
            # dhw_t = [dr̂, dẑ, dn̂ ⊙ r]
            dhw[t, :, : 2 * H] = dxw[t, :, : 2 * H]
            torch.mul(dx_n, r, out=dhw[t, :, 2 * H :])
            # dh_{t-1} = ∂L/∂out_{t-1} + dh ⊙ z + dhw_t W_hh
            if t > 0:
                dh_z.add_(d_hs[t - 1])
            dh = torch.addmm(dh_z, dhw[t], weight_hh)
        dw, db = _grad_w(ctx, 2, dhw, h0, hs), _grad_b(ctx, 3, dhw)
        return dxw, dh, dw, db, None


def _grad_w(ctx, index, da, h0, hs):
    """dW_hh if the Function's input ``index`` needs a gradient."""
    if not ctx.needs_input_grad[index]:
        return None
    return recurrent_weight_grad(da, h0, hs)


def _grad_b(ctx, index, da):
    """db_hh = Σ_t da_t if there is a bias and it needs a gradient."""
    if not (ctx.has_bias and ctx.needs_input_grad[index]):
        return None
    return da.reshape(-1, da.shape[-1]).sum(0)


def rnn_sequence(
    xw: Tensor,
    h0: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
    recompute_xw=None,
) -> tuple[Tensor, Tensor]:
    """Elman recurrence over all steps; returns ``(out (T, B, H), h_T)``.

    Equal to :func:`asctools.nn.functional.rnn_unroll`; differentiable any
    number of times (the second time through the plain steps).
    """
    return apply_fused(
        _RNNSequence, weight_hh,
        xw.contiguous(), h0.contiguous(), weight_hh, bias_hh, nonlinearity,
        recompute_xw=recompute_xw,
    )  # fmt: skip


def gru_sequence(
    xw: Tensor,
    h0: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None = None,
    recompute_xw=None,
) -> tuple[Tensor, Tensor]:
    """GRU recurrence over all steps; returns ``(out (T, B, H), h_T)``.

    Equal to :func:`asctools.nn.functional.gru_unroll`; differentiable any
    number of times (the second time through the plain steps).
    """
    return apply_fused(
        _GRUSequence, weight_hh,
        xw.contiguous(), h0.contiguous(), weight_hh, bias_hh,
        recompute_xw=recompute_xw,
    )  # fmt: skip
