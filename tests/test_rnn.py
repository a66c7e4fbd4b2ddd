"""asctools.rnn (step-wise models) against torch.nn's RNN and LSTM."""

import copy

import pytest
import torch
from torch import nn

from asctools.rnn import LSTM, RNN

torch.set_num_threads(1)
B, T, D, H, K = 3, 6, 4, 5, 2


def torch_twin(model):
    """torch.nn's batch_first layer and a Linear with the same weights."""
    cls = nn.LSTM if isinstance(model, LSTM) else nn.RNN
    layer = cls(D, H, batch_first=True)
    state = {f"{k}_l0": v for k, v in model.state_dict().items()
             if not k.startswith("readout")}  # fmt: skip
    layer.load_state_dict(state)
    return layer, copy.deepcopy(model.readout)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_sequence_forward_and_grads_equal_torch(cls):
    torch.manual_seed(0)
    model = cls(D, H, K)
    layer, readout = torch_twin(model)
    x = torch.randn(B, T, D)
    y, hidden = model(x, model.initHidden(B))
    out, state = layer(x)
    torch.testing.assert_close(y, readout(out))
    if cls is LSTM:
        torch.testing.assert_close(hidden[0], state[0][0])
        torch.testing.assert_close(hidden[1], state[1][0])
    else:
        torch.testing.assert_close(hidden, state[0])
    y.square().sum().backward()
    readout(layer(x)[0]).square().sum().backward()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        grad = getattr(layer, f"{name}_l0").grad
        torch.testing.assert_close(getattr(model, name).grad, grad)
    torch.testing.assert_close(model.readout.weight.grad, readout.weight.grad)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_step_and_one_step_forward_equal_the_cell(cls):
    torch.manual_seed(1)
    model = cls(D, H, K)
    cell = (nn.LSTMCell if cls is LSTM else nn.RNNCell)(D, H)
    cell.load_state_dict(
        {k: v for k, v in model.state_dict().items() if "readout" not in k}
    )
    x = torch.randn(B, D)
    hidden = model.initHidden(B)
    ref = cell(x, hidden)
    h_ref = ref[0] if cls is LSTM else ref
    for out, new in (model.step(x, hidden), model(x, hidden)):
        assert out.shape == (B, K)
        torch.testing.assert_close(out, model.readout(h_ref))
        h_new = new[0] if cls is LSTM else new
        torch.testing.assert_close(h_new, h_ref)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_unbatched_step(cls):
    torch.manual_seed(2)
    model = cls(D, H, K)
    x = torch.randn(D)
    out_b, hid_b = model(x[None], model.initHidden(1))
    out, hid = model(x, model.initHidden())  # (1, H) states
    assert out.shape == (K,)
    torch.testing.assert_close(out, out_b[0])
    flat = (torch.zeros(H), torch.zeros(H)) if cls is LSTM else torch.zeros(H)
    out2, hid2 = model(x, flat)  # (H,) states come back as (H,)
    torch.testing.assert_close(out2, out)
    shapes = [s.shape for s in (hid2 if cls is LSTM else (hid2,))]
    assert shapes == [(H,)] * len(shapes)


def test_lstm_forget_bias_is_one_and_init_like_torch():
    torch.manual_seed(3)
    model = LSTM(D, 40, K)
    f = slice(40, 80)
    b = model.bias_ih.detach() + model.bias_hh.detach()
    assert torch.equal(b[f], torch.ones(40))
    bound = 40**-0.5
    for p in (model.weight_ih, model.weight_hh):
        assert p.abs().max() <= bound and p.abs().max() > 0.9 * bound
    assert model.weight_ih.shape == (160, D)
    assert model.weight_hh.shape == (160, 40)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_init_hidden_and_device(cls):
    model = cls(D, H, K, device="cpu")
    hidden = model.initHidden(4)
    states = hidden if cls is LSTM else (hidden,)
    for s in states:
        assert s.shape == (4, H) and s.device == model.weight_hh.device
        assert not s.any()
    assert model.hidden_size == H
    assert cls(D, H, K, device=torch.device("cpu")).weight_hh.is_cpu
    with pytest.raises(ValueError, match="batch_size"):
        model.initHidden(0)
    with pytest.raises(ValueError, match="device"):
        cls(D, H, K, device="no-such-device")


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_validation(cls):
    model = cls(D, H, K)
    with pytest.raises(ValueError, match="x must have"):
        model(torch.randn(B, T, D + 1), model.initHidden(B))
    with pytest.raises(ValueError, match="hidden"):
        model(torch.randn(B, T, D), model.initHidden(B + 1))
    with pytest.raises(TypeError, match="hidden"):
        model.step(torch.randn(B, D), [1, 2, 3])
    with pytest.raises(TypeError, match="x must be a Tensor"):
        model([1.0] * D, model.initHidden())
    with pytest.raises(ValueError, match="hidden_size"):
        cls(D, 0, K)
    with pytest.raises(TypeError, match="output_size"):
        cls(D, H, 2.5)
