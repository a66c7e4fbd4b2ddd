"""asctools.nn against torch.nn, finite differences and its own two paths.

Every comparison copies the parameters across with ``load_state_dict`` and
checks outputs, final states and the gradients of parameters, input and
initial state (float32, tolerance ~1e-5).
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import asctools.nn as ann
from asctools.nn._lstm_seq import lstm_sequence
from asctools.nn._rnn_seq import gru_sequence, rnn_sequence

torch.set_num_threads(1)

KINDS = ["RNN", "LSTM", "GRU"]
CELLS = ["RNNCell", "LSTMCell", "GRUCell"]
TOL = {"rtol": 1e-5, "atol": 1e-5}


def pair(kind, *args, fused=True, **kw):
    """(asctools module, torch.nn module) with the same parameters."""
    ours = getattr(ann, kind)(*args, **kw)
    if kind in KINDS:
        ours.fused = fused
    ref = getattr(nn, kind)(*args, **kw)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def run(model, x, hx=None):
    """Forward, a loss on every output, backward; returns all results."""
    x = x.clone().requires_grad_()
    if hx is not None:
        hx = tuple(h.clone().requires_grad_() for h in hx)
    result = model(x, None if hx is None else hx if len(hx) == 2 else hx[0])
    if isinstance(result, torch.Tensor):  # RNNCell, GRUCell: h'
        out, states = result, ()
    elif isinstance(model, (ann.LSTMCell, nn.LSTMCell)):  # (h', c')
        out, states = result[0], result[1:]
    else:  # layers: (output, h_n) or (output, (h_n, c_n))
        out, states = result
        states = states if isinstance(states, tuple) else (states,)
    loss = out.square().sum() + sum(s.sin().sum() for s in states)
    loss.backward()
    grads = [p.grad for p in model.parameters()] + [x.grad]
    grads += [] if hx is None else [h.grad for h in hx]
    return [out, *states], grads


def assert_same(ours, ref, x, hx=None, tol=TOL):
    (vals_a, grads_a), (vals_b, grads_b) = run(ours, x, hx), run(ref, x, hx)
    assert len(vals_a) == len(vals_b)
    for a, b in zip(vals_a + grads_a, vals_b + grads_b, strict=True):
        torch.testing.assert_close(a, b, **tol)


def states_for(kind, shape):
    n = 2 if kind == "LSTM" else 1
    return tuple(torch.randn(shape) for _ in range(n))


# --- layers against torch.nn ------------------------------------------


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_layer_matches_torch(kind, num_layers, batch_first, with_state, fused):
    torch.manual_seed(0)
    ours, ref = pair(
        kind, 3, 5, num_layers, batch_first=batch_first, fused=fused
    )
    x = torch.randn((2, 4, 3) if batch_first else (4, 2, 3))
    hx = states_for(kind, (num_layers, 2, 5)) if with_state else None
    assert_same(ours, ref, x, hx)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_layer_matches_torch(kind, fused):
    torch.manual_seed(1)
    ours, ref = pair(kind, 3, 4, 2, batch_first=True, fused=fused)
    x = torch.randn(5, 3)  # (T, D): batch_first does not apply
    assert_same(ours, ref, x)
    assert_same(ours, ref, x, states_for(kind, (2, 4)))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_and_no_bias_match_torch(kind, fused):
    torch.manual_seed(2)
    ours, ref = pair(
        kind, 3, 4, 2, bias=False, bidirectional=True, fused=fused
    )
    assert_same(ours, ref, torch.randn(5, 2, 3), states_for(kind, (4, 2, 4)))


@pytest.mark.parametrize("fused", [True, False])
def test_relu_rnn_matches_torch(fused):
    torch.manual_seed(3)
    ours, ref = pair("RNN", 3, 4, 2, nonlinearity="relu", fused=fused)
    assert_same(ours, ref, torch.randn(6, 2, 3))


@pytest.mark.parametrize("kind", KINDS)
def test_fused_and_plain_paths_agree_in_float64(kind):
    torch.manual_seed(4)
    fused = getattr(ann, kind)(3, 4, 2, dtype=torch.float64)
    plain = getattr(ann, kind)(3, 4, 2, dtype=torch.float64, fused=False)
    plain.load_state_dict(fused.state_dict())
    for T in (1, 6):
        x = torch.randn(T, 3, 3, dtype=torch.float64)
        hx = tuple(h.double() for h in states_for(kind, (2, 3, 4)))
        assert_same(fused, plain, x, hx, tol={"rtol": 1e-12, "atol": 1e-12})


def test_state_follows_input_dtype():
    model = ann.LSTM(3, 4).double()
    out, (h, c) = model(torch.randn(5, 2, 3, dtype=torch.float64))
    assert out.dtype == h.dtype == c.dtype == torch.float64


# --- the hand-written backward against finite differences --------------


def _gradcheck_inputs(T, B, H, gates, bias):
    """xw (T, B, G·H), h0 (B, H), W_hh (G·H, H), b_hh: float64, small."""
    g = torch.Generator().manual_seed(5)
    shapes = [(T, B, gates * H), (B, H), (gates * H, H), (gates * H,)]
    tensors = [
        (
            0.5 * torch.randn(s, generator=g, dtype=torch.float64)
        ).requires_grad_()
        for s in shapes
    ]
    return (*tensors[:3], tensors[3] if bias else None)


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_sequence_gradcheck(bias):
    xw, h0, w, b = _gradcheck_inputs(4, 2, 3, 4, bias)
    c0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    args = (xw, h0, c0, w) + ((b,) if bias else ())
    assert torch.autograd.gradcheck(lstm_sequence, args)


@pytest.mark.parametrize("bias", [True, False])
def test_gru_sequence_gradcheck(bias):
    xw, h0, w, b = _gradcheck_inputs(4, 2, 3, 3, bias)
    assert torch.autograd.gradcheck(gru_sequence, (xw, h0, w, b))


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_sequence_gradcheck(nonlinearity):
    xw, h0, w, b = _gradcheck_inputs(4, 2, 3, 1, True)
    fn = lambda *a: rnn_sequence(*a, nonlinearity=nonlinearity)
    assert torch.autograd.gradcheck(fn, (xw, h0, w, b))


# --- cells ---------------------------------------------------------------


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("kind", CELLS)
def test_cell_matches_torch(kind, batched, with_state):
    torch.manual_seed(6)
    ours, ref = pair(kind, 3, 4)
    x = torch.randn((2, 3) if batched else (3,))
    shape = (2, 4) if batched else (4,)
    hx = states_for(kind[:-4], shape) if with_state else None
    assert_same(ours, ref, x, hx)


def test_relu_cell_without_bias_matches_torch():
    torch.manual_seed(7)
    ours, ref = pair("RNNCell", 3, 4, bias=False, nonlinearity="relu")
    assert ours.bias_ih is None and ours.bias_hh is None
    assert_same(ours, ref, torch.randn(2, 3))


# --- parameters: names, shapes, state_dict, initialisation ---------------


MODULE_ARGS = [
    ("RNN", (3, 4, 2), {"nonlinearity": "relu"}),
    ("LSTM", (3, 4, 3), {"bidirectional": True}),
    ("GRU", (3, 4, 2), {"bias": False}),
    ("RNNCell", (3, 4), {}),
    ("LSTMCell", (3, 4), {}),
    ("GRUCell", (3, 4), {"bias": False}),
]


@pytest.mark.parametrize("kind, args, kw", MODULE_ARGS)
def test_state_dict_round_trip_both_directions(kind, args, kw):
    ours = getattr(ann, kind)(*args, **kw)
    ref = getattr(nn, kind)(*args, **kw)
    shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert shapes == {k: v.shape for k, v in ref.state_dict().items()}
    ours.load_state_dict(ref.state_dict())  # torch.nn -> asctools
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        for p in ours.parameters():
            p.mul_(-2)
    ref.load_state_dict(ours.state_dict())  # asctools -> torch.nn
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kind, args, kw", MODULE_ARGS)
def test_same_seed_gives_torch_initialisation(kind, args, kw):
    torch.manual_seed(8)
    ours = getattr(ann, kind)(*args, **kw)
    torch.manual_seed(8)
    ref = getattr(nn, kind)(*args, **kw)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a, b)


def test_initialisation_is_uniform_within_one_over_sqrt_h():
    torch.manual_seed(9)
    H = 64
    values = torch.cat([p.flatten() for p in ann.LSTM(28, H, 2).parameters()])
    bound = 1 / math.sqrt(H)
    assert values.abs().max() <= bound
    # U(−a, a): mean 0, std a/√3; here n ≈ 60 000 draws
    assert abs(values.mean()) < 5 * bound / math.sqrt(3 * values.numel())
    assert values.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    model = ann.GRU(28, H)
    before = model.weight_hh_l0.clone()
    model.reset_parameters()  # draws again, from the same distribution
    assert not torch.equal(model.weight_hh_l0, before)
    assert model.weight_hh_l0.abs().max() <= bound


# --- dropout between layers ----------------------------------------------


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_dropout_eval_mode_equals_torch(kind, fused):
    torch.manual_seed(10)
    ours, ref = pair(kind, 3, 4, 3, dropout=0.5, fused=fused)
    ours.eval(), ref.eval()
    assert_same(ours, ref, torch.randn(5, 2, 3))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_dropout_train_mode_drops_inputs_of_upper_layers_only(kind, fused):
    torch.manual_seed(11)
    p = 0.4
    ours = getattr(ann, kind)(3, 4, 3, dropout=p, fused=fused).train()
    x = torch.randn(6, 2, 3)
    torch.manual_seed(12)
    out, _ = ours(x)
    # the same, one torch.nn layer at a time, dropout only between layers
    layers = []
    for k in range(3):
        layer = getattr(nn, kind)(3 if k == 0 else 4, 4)
        layer.load_state_dict(
            {
                n.replace(f"_l{k}", "_l0"): v
                for n, v in ours.state_dict().items()
                if f"_l{k}" in n
            }
        )
        layers.append(layer)
    torch.manual_seed(12)
    y = x
    for k, layer in enumerate(layers):
        y = y if k == 0 else F.dropout(y, p, training=True)
        y, _ = layer(y)
    torch.testing.assert_close(out, y, **TOL)
    ours.eval()
    assert not torch.allclose(ours(x)[0], out)  # dropout did act


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_train_mode_equals_torch_with_same_seed(kind):
    torch.manual_seed(13)
    ours, ref = pair(kind, 3, 4, 2, dropout=0.5)
    x = torch.randn(5, 2, 3)
    torch.manual_seed(14)
    out_a, _ = ours(x)
    torch.manual_seed(14)
    out_b, _ = ref(x)
    torch.testing.assert_close(out_a, out_b, **TOL)


def test_dropout_one_cuts_the_upper_layer_off_its_input():
    torch.manual_seed(15)
    ours = ann.GRU(3, 4, 2, dropout=1.0).train()
    out_a, h_a = ours(torch.randn(5, 2, 3))
    out_b, h_b = ours(torch.randn(5, 2, 3))
    torch.testing.assert_close(out_a, out_b)  # layer 1 saw zeros only
    assert not torch.allclose(h_a[0], h_b[0])  # layer 0 did see x


def test_dropout_with_one_layer_warns_and_does_nothing():
    torch.manual_seed(16)
    with pytest.warns(UserWarning, match="between layers"):
        model = ann.LSTM(3, 4, dropout=0.5)
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(model.train()(x)[0], model.eval()(x)[0])


# --- validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"input_size": 0}, ValueError, "input_size"),
        ({"hidden_size": 4.0}, TypeError, "hidden_size"),
        ({"num_layers": 0}, ValueError, "num_layers"),
        ({"bias": 1}, TypeError, "bias"),
        ({"batch_first": "yes"}, TypeError, "batch_first"),
        ({"dropout": 1.5}, ValueError, "dropout"),
        ({"dropout": "0.1"}, TypeError, "dropout"),
        ({"bidirectional": None}, TypeError, "bidirectional"),
        ({"fused": 1}, TypeError, "fused"),
    ],
)
def test_layer_constructor_validation(kw, error, match):
    args = {"input_size": 3, "hidden_size": 4} | kw
    with pytest.raises(error, match=match):
        ann.LSTM(**args)


def test_constructor_validation_of_specific_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        ann.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity"):
        ann.RNNCell(3, 4, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        ann.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="hidden_size"):
        ann.GRUCell(3, -1)


LSTM_STATE = (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4))


@pytest.mark.parametrize(
    "x, hx, error, match",
    [
        ([[1.0, 2.0, 3.0]], None, TypeError, "torch.Tensor"),
        (torch.zeros(3), None, ValueError, "2 or 3 dimensions"),
        (torch.zeros(5, 2, 3, 1), None, ValueError, "2 or 3 dimensions"),
        (torch.zeros(5, 2, 2), None, ValueError, "input_size=3"),
        (torch.zeros(0, 2, 3), None, ValueError, "empty"),
        (torch.zeros(5, 2, 3, dtype=torch.float64), None, TypeError, "dtype"),
        (torch.zeros(5, 2, 3, dtype=torch.long), None, TypeError, "dtype"),
        (torch.zeros(5, 2, 3), torch.zeros(2, 2, 4), TypeError, "tuple"),
        (torch.zeros(5, 2, 3), LSTM_STATE[:1], TypeError, "tuple"),
        (
            torch.zeros(5, 2, 3),
            (torch.zeros(2, 3, 4), LSTM_STATE[1]),
            ValueError,
            r"h_0 must have shape \(2, 2, 4\)",
        ),
        (
            torch.zeros(5, 2, 3),
            (LSTM_STATE[0], torch.zeros(2, 2)),
            ValueError,
            "c_0 must have shape",
        ),
        (torch.zeros(5, 3), LSTM_STATE, ValueError, r"shape \(2, 4\)"),
        (
            torch.zeros(5, 2, 3),
            (LSTM_STATE[0], LSTM_STATE[1].double()),
            TypeError,
            "c_0 has dtype",
        ),
        (
            torch.zeros(5, 2, 3),
            (LSTM_STATE[0], [0.0]),
            TypeError,
            "c_0 must be a torch.Tensor",
        ),
    ],
)
def test_layer_forward_validation(x, hx, error, match):
    model = ann.LSTM(3, 4, 2)
    with pytest.raises(error, match=match):
        model(x, hx)


def test_packed_sequence_is_refused_with_a_hint():
    packed = nn.utils.rnn.pack_sequence([torch.zeros(4, 3), torch.zeros(2, 3)])
    with pytest.raises(TypeError, match="PackedSequence is not supported"):
        ann.LSTM(3, 4)(packed)


def test_rnn_state_must_be_a_tensor_of_the_right_shape():
    with pytest.raises(ValueError, match="h_0 must have shape"):
        ann.GRU(3, 4)(torch.zeros(5, 2, 3), torch.zeros(1, 3, 4))
    with pytest.raises(TypeError, match="h_0 must be a torch.Tensor"):
        ann.RNN(3, 4)(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4),))


def test_device_mismatch_is_a_value_error():
    model = ann.LSTM(3, 4, device="meta")  # parameters without storage
    with pytest.raises(ValueError, match="parameters are on meta"):
        model(torch.zeros(5, 2, 3))
    state = (torch.zeros(1, 2, 4, device="meta"), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="h_0 is on meta"):
        ann.LSTM(3, 4)(torch.zeros(5, 2, 3), state)


@pytest.mark.parametrize(
    "x, hx, error, match",
    [
        (torch.zeros(2, 5, 3), None, ValueError, "1 or 2 dimensions"),
        (torch.zeros(2, 4), None, ValueError, "input_size=3"),
        (torch.zeros(2, 3).double(), None, TypeError, "dtype"),
        (torch.zeros(2, 3), torch.zeros(3, 4), ValueError, r"\(2, 4\)"),
        (torch.zeros(3), torch.zeros(1, 4), ValueError, r"\(4,\)"),
        (
            torch.zeros(2, 3),
            torch.zeros(2, 4).double(),
            TypeError,
            "hx has dtype",
        ),
    ],
)
def test_cell_validation(x, hx, error, match):
    with pytest.raises(error, match=match):
        ann.GRUCell(3, 4)(x, hx)


def test_lstm_cell_state_must_be_a_pair():
    with pytest.raises(TypeError, match="tuple"):
        ann.LSTMCell(3, 4)(torch.zeros(2, 3), torch.zeros(2, 4))


# --- the benchmark script ---------------------------------------------------


def _load_bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_nn.py"
    spec = importlib.util.spec_from_file_location("bench_nn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_nn_writes_json_and_marks_targets(tmp_path, monkeypatch):
    bench = _load_bench()
    monkeypatch.setattr(bench, "QUICK_GRID", [(2, 3, 4)])
    monkeypatch.setattr(bench, "TARGETS", {("LSTM", 2, 3, 4): 1e9})
    out = tmp_path / "bench.json"
    rows = bench.main(["--quick", "--reps", "1", "--json", str(out)])
    saved = json.loads(out.read_text())
    assert saved["results"] == rows
    assert [r["kind"] for r in rows] == list(bench.KINDS)
    for r in rows:
        assert r["asctools_ratio"] == pytest.approx(
            r["asctools_ms"] / r["torch_ms"]
        )
    assert [r.get("pass") for r in rows] == [None, True, None]
