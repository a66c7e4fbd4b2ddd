"""Second derivatives through asctools.nn's default (fused) path, against
torch.nn: a gradient penalty on the input, a gradient penalty on the
weights and a Hessian-vector product, in float64 (1e-10) and float32
(1e-5).

``torch.autograd.grad(..., create_graph=True)`` followed by a second
backward is what users of gradient penalties and Hessian-vector products
write; the fused Functions' hand-written BPTT must give torch.nn's
numbers there too, not silently drop the second-order terms.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import asctools.nn as ann

torch.set_num_threads(1)

KINDS = ["RNN", "LSTM", "GRU"]
TOL = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
}
CONFIGS = [  # (num_layers, kwargs)
    (1, {}),
    (2, {"bidirectional": True}),
    (2, {"bias": False, "batch_first": True}),
]


def pair(kind, dtype, num_layers, kw, fused=True):
    """(asctools module, torch.nn module) with the same parameters."""
    torch.manual_seed(0)
    ref = getattr(nn, kind)(3, 4, num_layers, dtype=dtype, **kw)
    ours = getattr(ann, kind)(3, 4, num_layers, dtype=dtype, fused=fused, **kw)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def leaf(shape, g, dtype, scale=1.0):
    """A random tensor that requires grad."""
    return (
        scale * torch.randn(shape, generator=g, dtype=dtype)
    ).requires_grad_()


def inputs(kind, dtype, num_layers, kw):
    """x (2, 5, 3) or (5, 2, 3) and an initial state, requiring grad."""
    g = torch.Generator().manual_seed(1)
    shape = (2, 5, 3) if kw.get("batch_first") else (5, 2, 3)
    x = leaf(shape, g, dtype)
    dirs = 2 if kw.get("bidirectional") else 1
    n = 2 if kind == "LSTM" else 1
    hx = [leaf((num_layers * dirs, 2, 4), g, dtype, 0.5) for _ in range(n)]
    return x, (tuple(hx) if n == 2 else hx[0])


def first_loss(model, x, hx):
    """A loss that uses the output and the final states."""
    out, state = model(x, hx)
    states = state if isinstance(state, tuple) else (state,)
    return out.sin().sum() + sum((s * s).sum() for s in states)


def input_penalty(model, x, hx):
    """‖∂L/∂x‖² backpropagated: every parameter's .grad, and the value."""
    model.zero_grad()
    (gx,) = torch.autograd.grad(first_loss(model, x, hx), x, create_graph=True)
    penalty = (gx**2).sum()
    penalty.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    return penalty.detach(), grads


def weight_penalty(model, x, hx):
    """Σ_W ‖∂L/∂W‖² (a gradient penalty on the weights), backpropagated."""
    model.zero_grad()
    params = list(model.parameters())
    grads = torch.autograd.grad(
        first_loss(model, x, hx), params, create_graph=True
    )
    penalty = sum((g**2).sum() for g in grads)
    penalty.backward()
    second = {n: p.grad for n, p in model.named_parameters()}
    return penalty.detach(), second, [g.requires_grad for g in grads]


def assert_grads_equal(ours, ref, tol):
    assert ours.keys() == ref.keys()
    for name in ref:
        assert ours[name] is not None, f"{name}.grad is None"
        torch.testing.assert_close(ours[name], ref[name], **tol, msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("num_layers, kw", CONFIGS)
@pytest.mark.parametrize("kind", KINDS)
def test_input_gradient_penalty_matches_torch(kind, num_layers, kw, dtype):
    ours, ref = pair(kind, dtype, num_layers, kw)
    x, hx = inputs(kind, dtype, num_layers, kw)
    value_ours, grads_ours = input_penalty(ours, x, hx)
    value_ref, grads_ref = input_penalty(ref, x, hx)
    torch.testing.assert_close(value_ours, value_ref, **TOL[dtype])
    assert_grads_equal(grads_ours, grads_ref, TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", KINDS)
def test_weight_gradient_penalty_matches_torch(kind, dtype):
    ours, ref = pair(kind, dtype, 2, {})
    x, hx = inputs(kind, dtype, 2, {})
    value_ours, grads_ours, graph_ours = weight_penalty(ours, x, hx)
    value_ref, grads_ref, _ = weight_penalty(ref, x, hx)
    assert all(graph_ours), "create_graph=True gave a gradient without graph"
    torch.testing.assert_close(value_ours, value_ref, **TOL[dtype])
    assert_grads_equal(grads_ours, grads_ref, TOL[dtype])


@pytest.mark.parametrize("kind", KINDS)
def test_hessian_vector_product_matches_torch(kind):
    """H v for the recurrent weight, with v that itself requires grad."""
    results = []
    for model in pair(kind, torch.float64, 1, {}):
        x, hx = inputs(kind, torch.float64, 1, {})
        w = model.weight_hh_l0
        v = torch.ones_like(w, requires_grad=True)
        (g,) = torch.autograd.grad(first_loss(model, x, hx), w,
                                   create_graph=True)  # fmt: skip
        (hv,) = torch.autograd.grad((g * v).sum(), w, create_graph=True)
        (dv,) = torch.autograd.grad(hv.sum(), v)  # = H·1 summed: uses v
        results.append((hv.detach(), dv))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, **TOL[torch.float64])


@pytest.mark.parametrize("kind", KINDS)
def test_state_depending_on_weights_is_not_counted_twice(kind):
    """h_0 computed from weight_hh: the weight gradient (with a graph) must
    follow the path through h_0 once, as torch.nn's does."""
    results = []
    for model in pair(kind, torch.float64, 1, {}):
        x, _ = inputs(kind, torch.float64, 1, {})
        h0 = torch.tanh(model.weight_hh_l0[:4].sum(0)).expand(1, 2, 4)
        hx = (h0, torch.cos(h0)) if kind == "LSTM" else h0
        results.append(weight_penalty(model, x, hx)[:2])
    (value_ours, grads_ours), (value_ref, grads_ref) = results
    torch.testing.assert_close(value_ours, value_ref, **TOL[torch.float64])
    assert_grads_equal(grads_ours, grads_ref, TOL[torch.float64])


@pytest.mark.parametrize("kind", KINDS)
def test_single_backward_still_gives_no_graph(kind):
    """The ordinary backward keeps the fast hand-written path: the
    gradients it leaves carry no graph."""
    ours, _ = pair(kind, torch.float32, 1, {})
    x, hx = inputs(kind, torch.float32, 1, {})
    first_loss(ours, x, hx).backward()
    assert all(not p.grad.requires_grad for p in ours.parameters())
    assert x.grad is not None and not x.grad.requires_grad


@pytest.mark.parametrize("kind", KINDS)
def test_fused_functions_pass_gradgradcheck(kind):
    """Second derivatives of the Functions by finite differences."""
    from asctools.nn._lstm_seq import lstm_sequence
    from asctools.nn._rnn_seq import gru_sequence, rnn_sequence

    g = torch.Generator().manual_seed(2)
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    shapes = [(3, 2, gates * 2), (2, 2), (gates * 2, 2), (gates * 2,)]
    args = [leaf(s, g, torch.float64, 0.5) for s in shapes]
    if kind == "LSTM":
        args.insert(2, leaf((2, 2), g, torch.float64))
    fn = {"RNN": rnn_sequence, "LSTM": lstm_sequence, "GRU": gru_sequence}
    assert torch.autograd.gradgradcheck(fn[kind], tuple(args))


@pytest.mark.parametrize("kind", KINDS)
def test_second_derivatives_with_dropout_between_layers(kind):
    """Training mode with dropout: the graph backward must see the same
    dropped inputs as the forward (same mask), as the plain path does."""
    penalties = []
    for fused in (True, False):
        torch.manual_seed(3)
        model = getattr(ann, kind)(3, 4, 3, dropout=0.5, fused=fused)
        model.double().train()
        x, hx = inputs(kind, torch.float64, 3, {})
        torch.manual_seed(4)  # the same dropout masks for both paths
        penalties.append(input_penalty(model, x, hx))
    (value_f, grads_f), (value_p, grads_p) = penalties
    torch.testing.assert_close(value_f, value_p, **TOL[torch.float64])
    assert_grads_equal(grads_f, grads_p, TOL[torch.float64])
