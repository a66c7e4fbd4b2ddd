"""asctools.models.RecurrentModel: layer + read-out, forget bias, init."""

import importlib

import pytest
import torch
from torch import nn

from asctools.models import RecurrentModel

torch.set_num_threads(1)
B, T, D, H, K = 3, 7, 4, 6, 2
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def has_asctools_nn():
    try:
        importlib.import_module("asctools.nn")
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_forward_is_layer_then_readout(kind):
    torch.manual_seed(0)
    model = RecurrentModel(D, H, K, kind=kind, num_layers=2)
    ref = getattr(nn, kind.upper())(D, H, num_layers=2, batch_first=True)
    ref.load_state_dict(model.rnn.state_dict())
    x = torch.randn(B, T, D)
    y, state = model(x)
    out, ref_state = ref(x)
    assert y.shape == (B, T, K)
    torch.testing.assert_close(y, out @ model.readout.weight.T
                               + model.readout.bias)  # fmt: skip
    for a, b in zip(
        state if kind == "lstm" else (state,),
        ref_state if kind == "lstm" else (ref_state,),
        strict=True,
    ):
        assert a.shape == (2, B, H)
        torch.testing.assert_close(a, b)
    y2, _ = model(x[:, 3:], model(x[:, :3])[1])  # state carries over
    torch.testing.assert_close(y2, y[:, 3:])


@pytest.mark.parametrize("layers", [1, 3])
def test_forget_bias_sets_the_forget_slice_only(layers):
    torch.manual_seed(1)
    ref = RecurrentModel(D, H, K, num_layers=layers)
    torch.manual_seed(1)
    model = RecurrentModel(D, H, K, num_layers=layers, forget_bias=2.5)
    f = slice(H, 2 * H)
    for k in range(layers):
        b_ih = getattr(model.rnn, f"bias_ih_l{k}").detach()
        b_hh = getattr(model.rnn, f"bias_hh_l{k}").detach()
        assert torch.equal(b_ih[f] + b_hh[f], torch.full((H,), 2.5))
        assert torch.equal(b_hh[f], torch.zeros(H))
        for name, b in (("ih", b_ih), ("hh", b_hh)):
            other = getattr(ref.rnn, f"bias_{name}_l{k}").detach()
            keep = torch.ones(4 * H, dtype=torch.bool)
            keep[f] = False
            assert torch.equal(b[keep], other[keep])  # i, g, o untouched
    # the effect, through torch's LSTM: with every other weight and bias
    # zero, g = tanh(0) = 0, so c_1 = f ⊙ c_0 = σ(2.5) for c_0 = 1
    with torch.no_grad():
        for name, p in model.rnn.named_parameters():
            if name.startswith("weight"):
                p.zero_()
            else:
                p[:H] = 0.0
                p[2 * H :] = 0.0
    h0 = torch.zeros(layers, 1, H)
    _, (_, c1) = model(torch.zeros(1, 1, D), (h0, torch.ones(layers, 1, H)))
    expected = torch.sigmoid(torch.tensor(2.5)).expand(layers, 1, H)
    torch.testing.assert_close(c1, expected)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_orthogonal_init_per_gate_block(kind):
    torch.manual_seed(2)
    model = RecurrentModel(D, H, K, kind=kind, num_layers=2,
                           init="orthogonal")  # fmt: skip
    default = RecurrentModel(D, H, K, kind=kind, num_layers=2)
    eye = torch.eye(H)
    for k in range(2):
        w = getattr(model.rnn, f"weight_hh_l{k}").detach()
        assert w.shape == (GATES[kind] * H, H)
        for block in w.chunk(GATES[kind], dim=0):
            torch.testing.assert_close(block @ block.T, eye)
        w0 = getattr(default.rnn, f"weight_hh_l{k}").detach()[:H]
        assert not torch.allclose(w0 @ w0.T, eye, atol=0.1)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_asctools_impl_equals_torch_impl(kind):
    if not has_asctools_nn():
        pytest.skip("asctools.nn is not available")
    torch.manual_seed(3)
    ours = RecurrentModel(D, H, K, kind=kind, num_layers=2, impl="asctools")
    ref = RecurrentModel(D, H, K, kind=kind, num_layers=2)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(B, T, D)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])
    assert type(ours.rnn).__module__.startswith("asctools.nn")


def test_dropout_reaches_the_layer():
    model = RecurrentModel(D, H, K, num_layers=2, dropout=0.3)
    assert model.rnn.dropout == 0.3 and model.rnn.batch_first


@pytest.mark.parametrize(
    "kw, err, name",
    [
        ({"kind": "transformer"}, ValueError, "kind"),
        ({"impl": "jax"}, ValueError, "impl"),
        ({"init": "xavier"}, ValueError, "init"),
        ({"kind": "gru", "forget_bias": 1.0}, ValueError, "forget_bias"),
        ({"forget_bias": "1"}, TypeError, "forget_bias"),
        ({"num_layers": 0}, ValueError, "num_layers"),
        ({"hidden_size": 2.0}, TypeError, "hidden_size"),
    ],
)
def test_validation(kw, err, name):
    args = {"input_size": D, "hidden_size": H, "output_size": K, **kw}
    with pytest.raises(err, match=name):
        RecurrentModel(**args)


def test_input_shape_is_checked():
    model = RecurrentModel(D, H, K)
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.randn(B, T, D + 1))
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.randn(T, D))
