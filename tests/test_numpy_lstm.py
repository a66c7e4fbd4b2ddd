"""The NumPy LSTM by hand: Gate, BPTT, gradient check, training."""

import numpy as np
import pytest
import torch
from torch_lstm_reference import torch_lstm_gradients

from asctools.handmade import (
    Adam,
    Gate,
    NumpyLSTM,
    bce_with_logits,
    bptt_loss_and_gradients,
    gradient_check,
    gradient_check_lstm,
    numerical_gradient,
    published_bce_with_logits,
    relative_error,
    train_memory_task,
)

torch.set_num_threads(1)
TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "identity": lambda s: s,
    "relu": torch.relu,
}


def _data(seed, b=3, t=6, d=2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(b, t, d)), rng.integers(0, 2, b).astype(float)


def _gate_chain(gate, xs, h0, ws):
    """h_t = gate(x_t, h_{t−1}); L = Σ_t Σ w_t ⊙ h_t; BPTT; returns L."""
    h, hs = h0, []
    for x in xs:
        h = gate.forward(x, h)
        hs.append(h)
    dh = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        dx, dh = gate.backward(ws[t] + dh)
        xs_grad = dx  # only the first step's ∂L/∂x survives the loop
    return (
        sum(float(np.sum(w * h)) for w, h in zip(ws, hs, strict=True)),
        xs_grad,
        dh,
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity", "relu"])
def test_gate_gradients_pass_finite_difference_check(activation):
    rng = np.random.default_rng(0)
    gate = Gate(3, 4, activation, rng=1)
    xs = list(rng.normal(size=(3, 2, 3)))
    h0, ws = rng.normal(size=(2, 4)), rng.normal(size=(3, 2, 4))
    _, dx0, dh0 = _gate_chain(gate, xs, h0, ws)
    grads = gate.gradients() | {"x0": dx0, "h0": dh0}
    params = gate.parameters() | {"x0": xs[0], "h0": h0}

    def loss_fn():
        out = _gate_chain(gate, xs, h0, ws)[0]
        gate.zero_grad()
        return out

    grads = {k: v.copy() for k, v in grads.items()}
    res = gradient_check(loss_fn, params, grads)
    assert res.passed, str(res)
    assert res.max_rel_err < 1e-6


@pytest.mark.parametrize("activation", sorted(TORCH_ACT))
def test_gate_forward_matches_torch(activation):
    gate = Gate(3, 4, activation, rng=0)
    x, h = np.ones((2, 3)), np.full((2, 4), -0.5)
    p = {k: torch.tensor(v) for k, v in gate.parameters().items()}
    ref = TORCH_ACT[activation](
        torch.tensor(x) @ p["W"].T + torch.tensor(h) @ p["R"].T + p["b"]
    )
    np.testing.assert_allclose(gate.forward(x, h), ref.numpy(), atol=1e-15)


def test_gate_update_is_descent_and_zero_grad_clears():
    gate = Gate(2, 3, rng=0)
    gate.forward(np.ones((1, 2)), np.ones((1, 3)))
    gate.backward(np.ones((1, 3)))
    before = {k: v.copy() for k, v in gate.parameters().items()}
    grads = {k: v.copy() for k, v in gate.gradients().items()}
    gate.update(0.1)
    for k, v in gate.parameters().items():
        np.testing.assert_allclose(v, before[k] - 0.1 * grads[k])
    gate.zero_grad()
    assert all(not g.any() for g in gate.gradients().values())
    with pytest.raises(RuntimeError, match="backward"):
        gate.backward(np.ones((1, 3)))


@pytest.mark.parametrize("forget_gate", [False, True])
def test_bptt_matches_torch_autograd(forget_gate):
    model = NumpyLSTM(2, 4, forget_gate=forget_gate, seed=3)
    x, y = _data(4)
    loss, _ = bptt_loss_and_gradients(model, x, y)
    ref_loss, ref = torch_lstm_gradients(model, x, y)
    assert loss == pytest.approx(ref_loss, abs=1e-14)
    assert sorted(model.gates) == sorted(["z", "i", "o"] + ["f"] * forget_gate)
    for k, g in model.gradients().items():
        np.testing.assert_allclose(g, ref[k], atol=1e-13, err_msg=k)


@pytest.mark.parametrize("forget_gate", [False, True])
def test_lstm_passes_gradient_check(forget_gate):
    model = NumpyLSTM(2, 4, forget_gate=forget_gate, seed=0)
    res = gradient_check_lstm(model, *_data(1, t=8))
    assert res.passed, str(res)
    assert set(res.table) == set(model.parameters())
    assert res.max_rel_err < 1e-6


class NoForgetFactorLSTM(NumpyLSTM):
    """A classic backward bug: ∂c(t)/∂c(t−1) taken as 1 instead of f."""

    def backward_step(self, dh, dc):
        f = self._steps[-1][4]
        dh_prev, dc_prev = super().backward_step(dh, dc)
        return dh_prev, dc_prev / f  # undoes the factor f


def test_gradient_check_catches_dropped_forget_factor():
    model = NoForgetFactorLSTM(2, 4, forget_gate=True, seed=0)
    res = gradient_check_lstm(model, *_data(1, t=8))
    assert not res.passed
    assert res.table["z.W"]["max_rel_err"] > 1e-2
    assert res.table["out.w"]["max_rel_err"] < 1e-6  # local: unaffected


def test_gradient_check_catches_flipped_sign():
    model = NumpyLSTM(2, 4, seed=0)
    o = model.gates["o"]
    o.backward = lambda g: Gate.backward(o, -g)  # ∂L/∂o with a wrong sign
    res = gradient_check_lstm(model, *_data(1, t=8))
    assert not res.passed
    assert res.table["o.b"]["max_rel_err"] > 0.5


def test_numerical_gradient_has_the_expected_truncation_error():
    """L = Σ exp(3θ): central differences err by L⁽³⁾ε²/6 (order 2) and
    by −L⁽⁵⁾ε⁴/30 (order 4), to leading order."""
    theta = np.array([0.1, -0.4])
    exact = 3 * np.exp(3 * theta)

    def loss():
        return float(np.sum(np.exp(3 * theta)))

    eps = 1e-2
    err2 = numerical_gradient(loss, theta, eps, order=2) - exact
    err4 = numerical_gradient(loss, theta, eps, order=4) - exact
    np.testing.assert_allclose(
        err2, 27 * np.exp(3 * theta) * eps**2 / 6, rtol=1e-3
    )
    np.testing.assert_allclose(
        err4, -243 * np.exp(3 * theta) * eps**4 / 30, rtol=1e-2
    )
    np.testing.assert_array_equal(theta, [0.1, -0.4])  # restored


def test_gradient_check_validates_and_relative_error():
    a = np.array([1.0, 0.0, -2.0])
    np.testing.assert_allclose(
        relative_error(a, a + [1e-3, 0.0, 2.0]), [1e-3 / 1.001, 0.0, 1.0]
    )
    p = {"w": np.zeros(2)}
    with pytest.raises(ValueError, match="keys"):
        gradient_check(lambda: 0.0, p, {"v": np.zeros(2)})
    with pytest.raises(TypeError, match="float64"):
        gradient_check(
            lambda: 0.0, {"w": np.zeros(2, np.float32)}, {"w": np.zeros(2)}
        )
    with pytest.raises(ValueError, match="order"):
        gradient_check(lambda: 0.0, p, {"w": np.zeros(2)}, order=3)
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(2), np.zeros(3))


def test_losses_match_torch_and_the_published_formula():
    s = np.array([-50.0, -2.0, 0.0, 3.0, 50.0])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    st = torch.tensor(s, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        st, torch.tensor(y)
    )
    ref.backward()
    loss, grad = bce_with_logits(s, y)
    assert loss == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(grad, st.grad.numpy(), atol=1e-16)
    # −(y log ŷ − (1 − y) log(1 − ŷ)), away from the saturated logits
    sm, ym = s[1:4], y[1:4]
    yh = 1 / (1 + np.exp(-sm))
    bad = np.mean(-(ym * np.log(yh) - (1 - ym) * np.log(1 - yh)))
    assert published_bce_with_logits(sm, ym)[0] == pytest.approx(bad)
    assert published_bce_with_logits(np.array([9.0]), np.zeros(1))[0] < -8


@pytest.mark.slow  # torch.optim's first step loads much of torch (~2 s)
def test_adam_matches_torch():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2))
    wt = torch.tensor(w.copy(), requires_grad=True)
    opt, ref = Adam({"w": w}, lr=0.05), torch.optim.Adam([wt], lr=0.05)
    for _ in range(4):
        g = rng.normal(size=(3, 2))
        opt.step({"w": g})
        wt.grad = torch.tensor(g)
        ref.step()
    np.testing.assert_allclose(w, wt.detach().numpy(), atol=1e-14)


def test_validation_errors():
    with pytest.raises(ValueError, match="activation"):
        Gate(2, 3, "softmax")
    with pytest.raises(TypeError, match="in_features"):
        Gate(2.0, 3)
    with pytest.raises(ValueError, match="hidden_size"):
        NumpyLSTM(1, 0)
    with pytest.raises(TypeError, match="forget_gate"):
        NumpyLSTM(1, 2, forget_gate=1)
    with pytest.raises(TypeError, match="seed"):
        NumpyLSTM(1, 2, seed="0")
    gate = Gate(2, 3)
    with pytest.raises(ValueError, match="x"):
        gate.forward(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="h"):
        gate.forward(np.zeros((4, 2)), np.zeros((5, 3)))
    with pytest.raises(TypeError, match="dtype"):
        gate.forward(np.zeros((4, 2), np.float32), np.zeros((4, 3)))
    model = NumpyLSTM(1, 2)
    with pytest.raises(ValueError, match="x"):
        model.forward(np.zeros((4, 5)))
    with pytest.raises(RuntimeError, match="forward"):
        model.backward(np.zeros(4))
    model.forward(np.zeros((4, 5, 1)))
    with pytest.raises(ValueError, match="grad_logits"):
        model.backward(np.zeros(3))
    with pytest.raises(ValueError, match="optimizer"):
        train_memory_task(optimizer="rmsprop")
    with pytest.raises(ValueError, match="method"):
        train_memory_task(method="bp")


SHORT = dict(seq_len=15, hidden_size=8, seed=0)


def test_training_learns_short_memory_task():
    res = train_memory_task(max_sequences=15_000, **SHORT)
    assert res.solved and res.accuracy >= 0.95
    assert res.n_sequences_seen == 64 * len(res.history["loss"])
    assert res.history["bce"][-1] < 0.2 < 0.6 < res.history["bce"][0]


@pytest.mark.parametrize("bug", ["loss_sign_bug", "gradient_ascent"])
def test_classic_mistakes_do_not_learn_and_weights_grow(bug):
    res = train_memory_task(max_sequences=64 * 150, **SHORT, **{bug: True})
    h = res.history
    assert not res.solved and res.accuracy < 0.75
    assert h["weight_norm"][-1] > 1.5 * h["weight_norm"][0]
    assert h["bce"][-1] > 3 * h["bce"][0]  # the real loss got worse
    if bug == "loss_sign_bug":  # ... while the optimised one "falls"
        assert h["loss"][-1] < 0 < h["bce"][-1]
        assert h["loss"][-1] < h["loss"][0]
