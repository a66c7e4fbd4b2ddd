"""Property tests: asctools.nn against torch.nn over random small
configurations (kind, layers, directions, batch_first, bias, with or
without an initial state, batched or not, the fused or the plain path),
in float64 to 1e-10: outputs, final states, and the gradients of every
parameter, the input and the initial state.
"""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import asctools.nn as ann

torch.set_num_threads(1)
TOL = {"rtol": 1e-10, "atol": 1e-10}


@st.composite
def configs(draw):
    kind = draw(st.sampled_from(["RNN", "LSTM", "GRU"]))
    kw = {
        "num_layers": draw(st.integers(1, 3)),
        "bidirectional": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "bias": draw(st.booleans()),
    }
    if kind == "RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    sizes = {
        "D": draw(st.integers(1, 4)),
        "H": draw(st.integers(1, 5)),
        "T": draw(st.integers(1, 6)),
        "B": draw(st.integers(1, 3)),
    }
    case = {
        "with_state": draw(st.booleans()),
        "unbatched": draw(st.booleans()),
        "fused": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    return kind, kw, sizes, case


def inputs(kind, kw, sizes, case):
    """x and hx (or None) for the configuration, float64."""
    g = torch.Generator().manual_seed(case["seed"])
    D, H, T, B = sizes["D"], sizes["H"], sizes["T"], sizes["B"]
    if case["unbatched"]:
        x_shape = (T, D)
    else:
        x_shape = (B, T, D) if kw["batch_first"] else (T, B, D)
    x = torch.randn(x_shape, generator=g, dtype=torch.float64)
    if not case["with_state"]:
        return x, None
    layers = kw["num_layers"] * (2 if kw["bidirectional"] else 1)
    s_shape = (layers, H) if case["unbatched"] else (layers, B, H)
    n = 2 if kind == "LSTM" else 1
    hx = [torch.randn(s_shape, generator=g, dtype=torch.float64)
          for _ in range(n)]  # fmt: skip
    return x, (tuple(hx) if n == 2 else hx[0])


def run(model, x, hx):
    """Outputs, states and every gradient after one loss."""
    x = x.clone().requires_grad_()
    if hx is not None:
        hx = (
            tuple(h.clone().requires_grad_() for h in hx)
            if isinstance(hx, tuple)
            else hx.clone().requires_grad_()
        )
    out, state = model(x, hx)
    states = state if isinstance(state, tuple) else (state,)
    loss = out.sin().sum() + sum((s * s).sum() for s in states)
    loss.backward()
    grads = [p.grad for p in model.parameters()] + [x.grad]
    if hx is not None:
        grads += [h.grad for h in (hx if isinstance(hx, tuple) else (hx,))]
    return [out, *states] + grads


@given(configs())
def test_asctools_nn_equals_torch_nn(config):
    kind, kw, sizes, case = config
    torch.manual_seed(case["seed"])
    ref = getattr(nn, kind)(sizes["D"], sizes["H"], **kw).double()
    ours = getattr(ann, kind)(
        sizes["D"], sizes["H"], fused=case["fused"], **kw
    ).double()
    ours.load_state_dict(ref.state_dict())
    x, hx = inputs(kind, kw, sizes, case)
    results = run(ours, x, hx), run(ref, x, hx)
    for a, b in zip(*results, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, **TOL)
