"""Truncated BPTT (asctools.experiments.truncation), the delayed-bits
memory, the forget-bias runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from asctools.dataset import IGNORE_INDEX, delayed_bits
from asctools.experiments import (
    forget_bias_runs,
    saved_tensor_bytes,
    steps_to_learn,
    stream_accuracy,
    tbptt_train,
)
from asctools.models import RecurrentModel
from asctools.utils import detach_state

torch.set_num_threads(1)


def test_detach_state_keeps_values_and_cuts_the_graph():
    w = torch.ones(2, requires_grad=True)
    h, c = 2 * w, 3 * w
    for got, ref in ((detach_state(h), h), (detach_state((h, c))[1], c)):
        assert torch.equal(got, ref) and got.grad_fn is None
        assert not got.requires_grad
    assert isinstance(detach_state([h, c]), list)
    assert detach_state(None) is None
    with pytest.raises(TypeError, match="state must be a Tensor"):
        detach_state(np.zeros(2))


def test_delayed_bits_targets_are_the_input_delay_steps_back():
    x, y = delayed_bits(4, 30, delay=5, seed=3)
    assert x.shape == (4, 30, 1) and x.dtype == torch.float32
    assert y.shape == (4, 30) and y.dtype == torch.int64
    assert set(x.unique().tolist()) == {-1.0, 1.0}
    assert (y[:, :5] == IGNORE_INDEX).all()
    assert torch.equal(y[:, 5:], (x[:, :-5, 0] > 0).long())
    x2, y2 = delayed_bits(4, 30, delay=5, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"length": 5}, ValueError, "length must be >= 6"),
        ({"delay": 0}, ValueError, "delay must be >= 1"),
        ({"n_streams": 2.0}, TypeError, "n_streams must be an int"),
    ],
)
def test_delayed_bits_validates(kwargs, error, match):
    args = {"n_streams": 2, "length": 10, "delay": 5} | kwargs
    with pytest.raises(error, match=match):
        delayed_bits(**args)


class _Recorder:
    """An optimiser that keeps each step's gradients and changes nothing."""

    def __init__(self, model):
        self.model, self.steps = model, []

    def zero_grad(self, set_to_none=True):
        self.model.zero_grad(set_to_none=set_to_none)

    def step(self):
        self.steps.append(
            {n: p.grad.clone() for n, p in self.model.named_parameters()}
        )


def test_tbptt_gradients_stop_at_the_chunk_boundary():
    """Each update's gradient equals autograd's gradient of that chunk's
    loss from the state a no-grad run over the earlier steps reaches."""
    torch.manual_seed(0)
    model = RecurrentModel(1, 5, 2).double()
    x, y = delayed_bits(3, 11, delay=2, seed=1)
    x = x.double()
    opt = _Recorder(model)
    hist = tbptt_train(model, x, y, 4, optimizer=opt, clip_grad_norm=None)
    assert len(opt.steps) == len(hist["loss"]) == 3  # chunks 4, 4, 3
    for j, s in enumerate(range(0, 11, 4)):
        with torch.no_grad():
            state = model(x[:, :s])[1] if s else None
        logits, _ = model(x[:, s : s + 4], state)
        loss = F.cross_entropy(logits.flatten(0, 1), y[:, s : s + 4].flatten())
        assert hist["loss"][j] == pytest.approx(loss.item(), rel=1e-12)
        names, params = zip(*model.named_parameters(), strict=True)
        grads = torch.autograd.grad(loss, params)
        for n, g in zip(names, grads, strict=True):
            torch.testing.assert_close(opt.steps[j][n], g)


def test_tbptt_skips_chunks_without_targets_and_clips():
    torch.manual_seed(0)
    model = RecurrentModel(1, 4, 2)
    x, y = delayed_bits(2, 12, delay=5, seed=0)
    opt = _Recorder(model)
    hist = tbptt_train(model, x, y, 4, optimizer=opt, clip_grad_norm=1e-3)
    assert len(hist["loss"]) == 2  # the first chunk holds no target
    for grads in opt.steps:
        norm = torch.cat([g.flatten() for g in grads.values()]).norm()
        assert norm.item() == pytest.approx(1e-3, rel=1e-4)


@pytest.mark.slow
def test_tbptt_learns_a_delay_shorter_than_its_chunks():
    torch.manual_seed(0)
    model = RecurrentModel(1, 8, 2)
    x, y = delayed_bits(16, 8 * 150, delay=2, seed=0)
    tbptt_train(model, x, y, 8)
    xt, yt = delayed_bits(16, 200, delay=2, seed=1)
    assert stream_accuracy(model, xt, yt) > 0.95


@pytest.mark.parametrize(
    ("y", "error", "match"),
    [
        (torch.zeros(2, 9, dtype=torch.long), ValueError, r"shape \(2, 10\)"),
        (torch.zeros(2, 10), TypeError, "integer classes"),
    ],
)
def test_tbptt_validates_the_targets(y, error, match):
    model = RecurrentModel(1, 4, 2)
    with pytest.raises(error, match=match):
        tbptt_train(model, torch.zeros(2, 10, 1), y, 4)


def test_tbptt_validates_the_chunk_length_and_the_stream():
    model, y = RecurrentModel(1, 4, 2), torch.zeros(2, 10, dtype=torch.long)
    with pytest.raises(ValueError, match="chunk_len must be >= 1"):
        tbptt_train(model, torch.zeros(2, 10, 1), y, 0)
    with pytest.raises(ValueError, match=r"x must be a \(B, N, D\)"):
        tbptt_train(model, torch.zeros(2, 10), y, 4)


def test_stream_accuracy_counts_only_the_targets_and_keeps_the_mode():
    torch.manual_seed(0)
    model = RecurrentModel(1, 4, 2)
    x, y = delayed_bits(3, 9, delay=3, seed=2)
    pred = model(x)[0].argmax(-1)
    keep = y != IGNORE_INDEX
    expected = (pred[keep] == y[keep]).float().mean().item()
    assert stream_accuracy(model, x, y) == pytest.approx(expected)
    assert model.training


def test_saved_tensor_bytes_counts_what_autograd_keeps():
    x = torch.randn(100, requires_grad=True)
    out, nbytes = saved_tensor_bytes(lambda: x.sin())  # saves x
    assert nbytes == 100 * 4 and torch.equal(out, x.sin())
    assert saved_tensor_bytes(lambda: x.exp() * 2)[1] == 400  # exp's out
    w = torch.randn(100, dtype=torch.float64, requires_grad=True)
    assert saved_tensor_bytes(lambda: w * w)[1] == 800  # one storage
    # two views of one storage: its 800 bytes count once
    halves = saved_tensor_bytes(lambda: w[:50].sin() + w[50:].sin())[1]
    assert halves == 800
    with torch.no_grad():
        assert saved_tensor_bytes(lambda: x.sin())[1] == 0
    with pytest.raises(TypeError, match="fn must be callable"):
        saved_tensor_bytes(3)


def test_saved_tensor_bytes_grow_linearly_with_the_sequence():
    lstm = torch.nn.LSTM(1, 8, batch_first=True)
    b = [saved_tensor_bytes(lambda t=t: lstm(torch.randn(2, t, 1)))[1]
         for t in (20, 40, 80)]  # fmt: skip
    assert b[2] - b[1] == pytest.approx(2 * (b[1] - b[0]), rel=0.01)


def test_forget_bias_runs_differ_only_in_the_bias():
    kw = {"seeds": (0, 1), "seq_len": 5, "steps": 3, "hidden_size": 4}
    same = forget_bias_runs(forget_biases=(1.0, 1.0), **kw)
    assert list(same) == [1.0]  # one key per distinct bias
    runs = forget_bias_runs(forget_biases=(0.0, 1.0, 1.0), **kw)
    assert runs[1.0].shape == (2, 3) and runs[1.0].dtype == np.float64
    np.testing.assert_array_equal(runs[1.0], same[1.0])  # reproducible
    assert not np.array_equal(runs[0.0][:, 0], runs[1.0][:, 0])
    assert not np.array_equal(runs[1.0][0], runs[1.0][1])  # seeds differ
    with pytest.raises(TypeError, match="forget_biases must hold numbers"):
        forget_bias_runs(forget_biases=(True,), **kw)


def test_forget_bias_runs_start_from_the_same_weights(monkeypatch):
    import asctools.experiments.initialisation as initialisation

    born = []

    class Recorded(initialisation.RecurrentModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            born.append({k: v.clone() for k, v in self.state_dict().items()})

    monkeypatch.setattr(initialisation, "RecurrentModel", Recorded)
    H = 4
    forget_bias_runs(forget_biases=(0.0, 1.0), seeds=(3,), seq_len=5,
                     steps=1, hidden_size=H)  # fmt: skip
    zero, one = born
    for name, value in zero.items():
        if name.startswith("rnn.bias_ih"):  # b_f = b_if + b_hf, rows H:2H
            assert torch.equal(value[H : 2 * H], torch.zeros(H))
            assert torch.equal(one[name][H : 2 * H], torch.ones(H))
            value, other = value.clone(), one[name].clone()
            value[H : 2 * H] = other[H : 2 * H] = 0
            assert torch.equal(value, other)
        else:
            assert torch.equal(value, one[name]), name


def test_steps_to_learn():
    losses = [1.0] * 5 + [0.0] * 5
    # means of steps 1-4, 2-5, ...: 1, 1, .75, .5 (steps 4-7), .25 (5-8)
    assert steps_to_learn(losses, threshold=0.6, window=4) == 7
    assert steps_to_learn(losses, threshold=0.5, window=4) == 8
    assert steps_to_learn([1.0] * 5, threshold=0.5) is None
    assert steps_to_learn([0.0] * 3, window=10) is None
    with pytest.raises(ValueError, match="1-D"):
        steps_to_learn(np.zeros((2, 2)))
