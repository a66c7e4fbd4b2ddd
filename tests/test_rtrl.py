"""RTRL for the NumPy LSTM against torch autograd and BPTT."""

import numpy as np
import pytest
import torch
from torch_lstm_reference import torch_lstm_gradients

from asctools.handmade import (
    NumpyLSTM,
    TruncatedRTRL,
    bptt_loss_and_gradients,
    full_rtrl_loss_and_gradients,
    rtrl_loss_and_gradients,
    train_memory_task,
)
from asctools.handmade.measure import (
    fit_exponent,
    longest_learnable_length,
    memory_vs_length,
    time_per_step,
)

torch.set_num_threads(1)


def _data(seed, b=3, t=8, d=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(b, t, d)), rng.integers(0, 2, b).astype(float)


@pytest.mark.parametrize("forget_gate", [False, True])
def test_truncated_rtrl_equals_autograd_with_detached_h(forget_gate):
    model = NumpyLSTM(2, 5, forget_gate=forget_gate, seed=0)
    x, y = _data(1)
    rtrl_loss_and_gradients(model, x, y)
    _, ref = torch_lstm_gradients(model, x, y, truncate=True)
    for name, g in model.gradients().items():
        np.testing.assert_allclose(
            g, ref[name], rtol=0, atol=1e-10, err_msg=name
        )


@pytest.mark.parametrize("forget_gate", [False, True])
def test_truncated_rtrl_per_step_losses(forget_gate):
    """accumulate() at every step = the gradient of Σ_t w_t·h(t)."""
    model = NumpyLSTM(2, 4, forget_gate=forget_gate, seed=2)
    x, _ = _data(3, t=6)
    w = np.random.default_rng(4).normal(size=(6, 3, 4))
    rtrl = TruncatedRTRL(model)
    model.zero_grad()
    rtrl.reset(3)
    for t in range(6):
        rtrl.step(x[:, t])
        rtrl.accumulate(w[t])
    _, ref = torch_lstm_gradients(model, x, None, truncate=True, per_step_w=w)
    for name, g in model.gradients().items():
        np.testing.assert_allclose(
            g, ref[name], rtol=0, atol=1e-10, err_msg=name
        )


@pytest.mark.parametrize("forget_gate", [False, True])
def test_full_rtrl_equals_bptt_and_truncation_differs(forget_gate):
    model = NumpyLSTM(2, 4, forget_gate=forget_gate, seed=5)
    x, y = _data(6, t=7)
    loss_b, _ = bptt_loss_and_gradients(model, x, y)
    bptt = {k: v.copy() for k, v in model.gradients().items()}
    loss_f, _ = full_rtrl_loss_and_gradients(model, x, y)
    assert loss_f == pytest.approx(loss_b, abs=1e-14)
    for name, g in model.gradients().items():
        np.testing.assert_allclose(
            g, bptt[name], rtol=0, atol=1e-12, err_msg=name
        )
    rtrl_loss_and_gradients(model, x, y)
    diff = max(abs(model.gradients()[k] - bptt[k]).max() for k in bptt)
    assert diff > 1e-3  # the truncation drops real paths through h(t−1)
    # ... but not the read-out's gradient, which is local at step T
    np.testing.assert_allclose(
        model.gradients()["out.w"], bptt["out.w"], atol=1e-14
    )


def test_sensitivities_are_shaped_like_weights_and_memory_is_constant():
    model = NumpyLSTM(3, 5, forget_gate=True, seed=0)
    rtrl = TruncatedRTRL(model)
    rtrl.reset(2)
    sizes = []
    for t in range(40):
        rtrl.step(np.full((2, 3), 0.1 * t))
        sizes.append(
            sum(a.nbytes for s in rtrl.S.values() for a in s.values())
        )
    assert sorted(rtrl.S) == ["f", "i", "z"]  # none for o
    for n, s in rtrl.S.items():
        gate = model.gates[n]
        assert s["W"].shape == (2, *gate.W.shape)
        assert s["R"].shape == (2, *gate.R.shape)
        assert s["b"].shape == (2, *gate.b.shape)
        assert not gate._cache  # no history kept
    assert len(set(sizes)) == 1


def test_rtrl_validates_input():
    model = NumpyLSTM(2, 3, seed=0)
    with pytest.raises(ValueError, match="x"):
        rtrl_loss_and_gradients(model, np.zeros((2, 5, 3)), np.zeros(2))
    with pytest.raises(TypeError, match="x"):
        full_rtrl_loss_and_gradients(
            model, np.zeros((2, 5, 2), np.float32), np.zeros(2)
        )
    with pytest.raises(ValueError, match="x"):
        rtrl_loss_and_gradients(model, np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="time step"):
        full_rtrl_loss_and_gradients(model, np.zeros((2, 0, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="method"):
        longest_learnable_length([5], method="nope")


@pytest.mark.slow
def test_rtrl_learns_short_memory_task():
    res = train_memory_task(
        seq_len=15, hidden_size=8, method="rtrl", max_sequences=15_000, seed=0
    )
    assert res.solved and res.accuracy >= 0.95


def test_fit_exponent_recovers_power_law():
    sizes = np.array([8, 16, 32, 64])
    assert fit_exponent(sizes, 3e-6 * sizes**2.0) == pytest.approx(2.0)
    assert fit_exponent(sizes, 1e-9 * sizes**4.0) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="sizes"):
        fit_exponent([8], [1.0])


def test_time_per_step_returns_positive_times():
    out = time_per_step([4, 8], method="truncated", min_seconds=0.01)
    assert out["hidden_sizes"] == [4, 8]
    assert all(t > 0 for t in out["seconds"])
    assert len(out["local_exponents"]) == 1
    with pytest.raises(ValueError, match="method"):
        time_per_step([4], method="nope")


def test_memory_grows_with_length_for_bptt_only():
    out = memory_vs_length([20, 80], hidden_size=8, batch_size=4)
    bptt, rtrl = out["bptt_bytes"], out["rtrl_bytes"]
    assert bptt[1] > 3 * bptt[0]  # linear in T: 4× the steps
    assert rtrl[1] < 1.2 * rtrl[0]  # constant in T
    assert rtrl[1] < bptt[1]


def test_longest_learnable_length_stops_at_first_failure(monkeypatch):
    import asctools.handmade.measure as rm
    from asctools.handmade import TrainResult

    calls = []

    def fake_train(seq_len, max_sequences, **kw):
        calls.append((seq_len, max_sequences, kw["method"]))
        acc = 1.0 if seq_len <= 50 else 0.6  # "learns" up to T = 50
        return TrainResult(None, accuracy=acc, n_sequences_seen=64)

    monkeypatch.setattr(rm, "train_memory_task", fake_train)
    out = rm.longest_learnable_length(
        [200, 10, 100, 50], "rtrl", budget_sequences=999
    )
    assert calls == [
        (10, 999, "rtrl"),
        (50, 999, "rtrl"),
        (100, 999, "rtrl"),
    ]  # sorted; 200 never tried
    assert out["longest"] == 50
    assert [r["solved"] for r in out["runs"]] == [True, True, False]
