"""asctools.nn under torch.autocast, against torch.nn under the same
autocast: CPU with bfloat16 here, CUDA with float16 where a GPU is present.

Tolerance 2e-2 (absolute and relative) on outputs, final states and every
parameter's gradient: bfloat16 keeps 8 bits of mantissa (a relative step
of 2⁻⁸ ≈ 4e-3), and the input projection runs in it.

torch.nn.LSTM under CPU bf16 autocast goes to oneDNN, which refuses on a
CPU without bf16 instructions ("could not create a primitive
descriptor"); there the reference is torch.nn.LSTMCell unrolled over time
under the same autocast: torch's own treatment of the same equations.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import asctools.nn as ann

torch.set_num_threads(1)

KINDS = ["RNN", "LSTM", "GRU"]
TOL = {"rtol": 2e-2, "atol": 2e-2}
CUDA = torch.cuda.is_available()


class UnrolledLSTMCell(nn.Module):
    """torch.nn.LSTMCell looped over time: (T, B, D) -> (out, (h, c))."""

    def __init__(self, lstm: nn.LSTM):
        super().__init__()
        self.cell = nn.LSTMCell(lstm.input_size, lstm.hidden_size)
        self.cell.to(lstm.weight_ih_l0.device)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.cell, name).copy_(getattr(lstm, name + "_l0"))

    def forward(self, x, hx):
        h, c = hx[0][0], hx[1][0]
        outs = []
        for x_t in x:
            h, c = self.cell(x_t, (h, c))
            outs.append(h)
        return torch.stack(outs), (h[None], c[None])


def reference(kind, ours, device, dtype, x, hx):
    """torch.nn's module with ours' weights, or the unrolled cell where
    torch.nn's LSTM does not run under this autocast."""
    ref = getattr(nn, kind)(3, 8).to(device)
    ref.load_state_dict(ours.state_dict())
    if kind != "LSTM":
        return ref
    try:
        with torch.autocast(device, dtype=dtype):
            ref(x, hx)
    except RuntimeError:
        return UnrolledLSTMCell(ref)
    return ref


def run(model, x, hx, device, dtype):
    """Forward and loss under autocast, backward after it (as the AMP
    recipe does); returns outputs, states and parameter gradients."""
    x = x.clone().requires_grad_()
    with torch.autocast(device, dtype=dtype):
        out, state = model(x, hx)
        states = state if isinstance(state, tuple) else (state,)
        loss = out.float().square().sum() + sum(
            s.float().sin().sum() for s in states
        )
    loss.backward()
    grads = [p.grad for p in model.parameters()] + [x.grad]
    return [out, *states], grads


def compare(kind, device, dtype, fused=True):
    torch.manual_seed(0)
    ours = getattr(ann, kind)(3, 8, fused=fused).to(device)
    x = torch.randn(6, 4, 3, device=device)
    n = 2 if kind == "LSTM" else 1
    hx = tuple(0.5 * torch.randn(1, 4, 8, device=device) for _ in range(n))
    hx = hx if n == 2 else hx[0]
    ref = reference(kind, ours, device, dtype, x, hx)
    (vals_a, grads_a), (vals_b, grads_b) = (
        run(m, x, hx, device, dtype) for m in (ours, ref)
    )
    for a, b in zip(vals_a + grads_a, vals_b + grads_b, strict=True):
        torch.testing.assert_close(a.float(), b.float(), **TOL)
    return vals_a


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_cpu_bfloat16_autocast_matches_torch(kind, fused):
    outs = compare(kind, "cpu", torch.bfloat16, fused)
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize("kind", KINDS)
def test_backward_inside_the_autocast_region(kind):
    """``backward()`` called inside ``with torch.autocast`` gives the
    gradients of a backward after it: the hand-written BPTT runs in the
    dtype its forward used, whatever the caller's autocast state."""
    torch.manual_seed(1)
    model = getattr(ann, kind)(3, 8)
    x = torch.randn(5, 2, 3)
    grads = []
    for inside in (False, True):
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(x)[0].float().square().sum()
            if inside:
                loss.backward()
        if not inside:
            loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_low_precision_input_under_autocast(kind):
    """Inside autocast an upstream layer hands over bfloat16: accepted, as
    torch.nn does, and close to the float32 input's result."""
    torch.manual_seed(2)
    model = getattr(ann, kind)(3, 8, batch_first=True)
    x = torch.randn(2, 5, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out32, _ = model(x)
        out16, _ = model(x.bfloat16())
    torch.testing.assert_close(out16.float(), out32.float(), **TOL)
    with pytest.raises(TypeError, match="dtype"):  # outside: still refused
        model(x.bfloat16())


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
@pytest.mark.parametrize("kind", KINDS)
def test_cuda_float16_autocast_matches_torch(kind):
    compare(kind, "cuda", torch.float16)
