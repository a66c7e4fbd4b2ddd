"""Chapter 5's exercises: realistic wrong answers get the right diagnostic,
strict mode. The checks that every exercise must pass (the reference passes,
the skeleton is "not attempted", hints, solution, labels, random state) are
in test_exercises_contract.py."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from asctools.exercises import CheckFailed
from asctools.exercises import ch05 as ex
from asctools.handmade import Gate, NumpyLSTM, numerical_gradient

torch.set_num_threads(1)


def test_strict_mode_raises_on_incorrect(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="sign error"):
        ex.bce_with_logits.check(published_loss)
    with pytest.raises(CheckFailed, match="not right"):
        ex.sign_bug.check("a")


# --- 1. The backward step ---


def _step_inputs(seed=0, B=2, H=3):
    rng = np.random.default_rng(seed)
    z = np.tanh(rng.normal(size=(B, H)))
    i, f, o = 1 / (1 + np.exp(-rng.normal(size=(3, B, H))))
    dh, dc, c_prev = rng.normal(size=(3, B, H))
    return dh, dc, c_prev, z, i, f, o


def test_the_backward_step_solution_equals_finite_differences():
    dh, dc, c_prev, z, i, f, o = _step_inputs()
    leaves = {"z": z, "i": i, "f": f, "o": o, "c_prev": c_prev}

    def loss():  # L = Σ dh ⊙ h_t + Σ dc ⊙ c_t, from the cell's equations
        c = leaves["f"] * leaves["c_prev"] + leaves["z"] * leaves["i"]
        h = np.tanh(c) * leaves["o"]
        return float(np.sum(dh * h) + np.sum(dc * c))

    got = ex.lstm_backward_step.reference_answer()(dh, dc, c_prev, z, i, f, o)
    for g, key in zip(got, leaves, strict=True):
        num = numerical_gradient(loss, leaves[key])
        np.testing.assert_allclose(g, num, rtol=1e-7, atol=1e-10)


def test_the_backward_step_runs_bptt_like_the_package():
    """Chained over T steps, the solution's dc reproduces NumpyLSTM's
    ∂L/∂b of the z gate (a forget-gate cell, loss at the last step)."""
    model = NumpyLSTM(1, 3, forget_gate=True, seed=0)
    x = np.random.default_rng(1).normal(size=(2, 6, 1))
    model.forward(x)
    model.backward(np.ones(2))  # ∂L/∂s = 1 for L = Σ_b s_b
    ref_db = model.gates["z"].db.copy()
    h = c = np.zeros((2, 3))
    steps = []
    for t in range(6):
        a = {
            n: g.forward(x[:, t], h, cache=False)
            for n, g in model.gates.items()
        }
        steps.append((c, a))
        c = a["f"] * c + a["z"] * a["i"]
        h = np.tanh(c) * a["o"]
    step = ex.lstm_backward_step.reference_answer()
    dh, dc, db = np.ones((2, 1)) @ model.w_out, np.zeros((2, 3)), 0.0
    for c_prev, a in reversed(steps):
        z, i, f, o = a["z"], a["i"], a["f"], a["o"]
        dz, di, df, do, dc = step(dh, dc, c_prev, z, i, f, o)
        gs = {  # ∂L/∂s of each gate: times φ′
            "z": dz * (1 - z**2),
            "i": di * i * (1 - i),
            "f": df * f * (1 - f),
            "o": do * o * (1 - o),
        }
        db = db + gs["z"].sum(axis=0)
        dh = sum(gs[n] @ g.R for n, g in model.gates.items())
    np.testing.assert_allclose(db, ref_db, rtol=1e-10, atol=1e-14)


def step_no_forget_factor(dh, dc, c_prev, z, i, f, o):
    c = f * c_prev + z * i
    tc = np.tanh(c)
    dc = dc + dh * o * (1 - tc**2)
    return dc * i, dc * z, dc * c_prev, dh * tc, dc  # dc_prev: no f


def step_no_h_path(dh, dc, c_prev, z, i, f, o):
    tc = np.tanh(f * c_prev + z * i)
    return dc * i, dc * z, dc * c_prev, dh * tc, dc * f


def step_tanh_prime_of_c(dh, dc, c_prev, z, i, f, o):
    c = f * c_prev + z * i
    dc = dc + dh * o * (1 - c**2)  # 1 − c² instead of 1 − tanh²(c)
    return dc * i, dc * z, dc * c_prev, dh * np.tanh(c), dc * f


def step_swapped(dh, dc, c_prev, z, i, f, o):
    c = f * c_prev + z * i
    tc = np.tanh(c)
    dc = dc + dh * o * (1 - tc**2)
    return dc * z, dc * i, dc * c_prev, dh * tc, dc * f


def step_four_outputs(dh, dc, c_prev, z, i, f, o):
    return ex._solution_lstm_backward_step(dh, dc, c_prev, z, i, f, o)[:4]


def step_float32(dh, dc, c_prev, z, i, f, o):
    out = ex._solution_lstm_backward_step(dh, dc, c_prev, z, i, f, o)
    return tuple(a.astype(np.float32) for a in out)


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (step_no_forget_factor, "if ∂c_t/∂c_{t-1} is taken as 1"),
        (step_no_h_path, "if the path through h_t"),
        (step_tanh_prime_of_c, "if tanh′ is computed as 1 − c_t²"),
        (step_swapped, "if the gradients of z and i are swapped"),
        (step_four_outputs, "should return 5 values"),
        (step_float32, "dtype float32, expected float64"),
    ],
)
def test_backward_step_wrong_answers(answer, needle, verdict):
    status, message = verdict(ex.lstm_backward_step, answer)
    assert status == "incorrect"
    assert needle in message


# --- 2. BCE from logits ---


def published_loss(s, y):  # the published formula, written as printed
    p = 1 / (1 + np.exp(-s))
    loss = -np.mean(y * np.log(p) - (1 - y) * np.log(1 - p))
    return loss, (-y * (1 - p) - (1 - y) * p) / len(s)


def naive_bce(s, y):  # right formula, overflows for large |s|
    p = 1 / (1 + np.exp(-s))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, (p - y) / len(s)


def bce_missing_term(s, y):
    p = 0.5 * (1 + np.tanh(0.5 * s))
    return np.mean(y * np.logaddexp(0, -s)), -y * (1 - p) / len(s)


def bce_flipped_gradient(s, y):
    p = 0.5 * (1 + np.tanh(0.5 * s))
    return np.mean(np.logaddexp(0, s) - y * s), (y - p) / len(s)


def bce_summed(s, y):
    p = 0.5 * (1 + np.tanh(0.5 * s))
    return np.sum(np.logaddexp(0, s) - y * s), p - y


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (published_loss, "if you take the published sign error"),
        (naive_bce, "not finite (inf or nan)"),
        (bce_missing_term, "if the (1 − y) log(1 − ŷ) term is missing"),
        (bce_flipped_gradient, "if the gradient has the wrong sign"),
        (bce_summed, "if the loss and its gradient are summed"),
        (lambda s, y: "0.5", "should return 2 values"),
        (lambda s, y: ("0.5", s), "should be a number, got str"),
    ],
)
def test_bce_wrong_answers(answer, needle, recwarn, verdict):
    status, message = verdict(ex.bce_with_logits, answer)
    assert status == "incorrect"
    assert needle in message
    assert not [w for w in recwarn if "overflow" in str(w.message)]


def test_bce_accepts_a_numpy_scalar_or_a_0d_array(verdict):
    def bce(s, y):
        loss, grad = ex._solution_bce_with_logits(s, y)
        return np.array(loss), grad

    assert verdict(ex.bce_with_logits, bce)[0] == "correct"


# --- 3., 4. Predictions ---


def test_sign_bug_choices(verdict):
    assert ex.sign_bug.reference_answer() == "b"  # runs the training
    assert verdict(ex.sign_bug, "(b)")[0] == "correct"
    status, message = verdict(ex.sign_bug, "c")
    assert status == "incorrect" and "TRUE binary cross-entropy" in message


def test_accumulate_choices(verdict):
    assert ex.accumulate.reference_answer() == "b"
    status, message = verdict(ex.accumulate, "c")
    assert status == "incorrect" and "overwrites" in message
    assert verdict(ex.accumulate, "B")[0] == "correct"


# --- 5. Saturation ---


def _states(model, x):
    h = c = np.zeros((x.shape[0], model.hidden_size))
    cs, hs = [], []
    for t in range(x.shape[1]):
        h, c = model.step(x[:, t], h, c)
        cs.append(c)
        hs.append(h)
    model.zero_grad()
    return np.array(cs), np.array(hs)


def saturation_of_h(model, x, threshold=0.1):
    hs = _states(model, x)[1]
    return np.mean(1 - np.tanh(hs) ** 2 < threshold, axis=(1, 2))


def saturation_square_c(model, x, threshold=0.1):
    cs = _states(model, x)[0]
    return np.mean(1 - cs**2 < threshold, axis=(1, 2))


def saturation_shifted(model, x, threshold=0.1):
    cs = _states(model, x)[0]
    cs = np.concatenate([np.zeros_like(cs[:1]), cs[:-1]])  # c_0 .. c_{T-1}
    return np.mean(1 - np.tanh(cs) ** 2 < threshold, axis=(1, 2))


def saturation_final_only(model, x, threshold=0.1):
    cs = _states(model, x)[0]
    return float(np.mean(1 - np.tanh(cs[-1]) ** 2 < threshold))


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (saturation_of_h, "if h_t is used instead of c_t"),
        (saturation_square_c, "if tanh′ is computed as 1 − c²"),
        (saturation_shifted, "if the states are shifted by one step"),
        (saturation_final_only, "should be a numpy.ndarray"),
    ],
)
def test_saturation_wrong_answers(answer, needle, verdict):
    status, message = verdict(ex.saturation, answer)
    assert status == "incorrect"
    assert needle in message


def test_saturation_grows_with_the_input_bias():
    """The lesson of the exercise, measured: more saturation at bias 0."""
    x = 0.2 * np.random.default_rng(0).normal(size=(16, 100, 1))
    sat = ex.saturation.reference_answer()
    frac = {
        b: sat(NumpyLSTM(1, 16, input_bias=b, seed=0), x)[-1]
        for b in (0.0, -2.0)
    }
    assert frac[0.0] > frac[-2.0] + 0.2


# --- What the book's solutions show and run ---


def test_the_sign_bug_reference_prints_what_it_found(capsys):
    assert ex.sign_bug.solution_fn() == "b"
    assert "printed loss" in capsys.readouterr().out


def test_the_assigning_gate_keeps_only_the_last_call_s_share():
    xs = np.random.default_rng(3).normal(size=(4, 1, 2))  # (T, B, D)
    shares = {}
    for kind in (Gate, ex.AssigningGate):  # the same weights
        gate = kind(2, 3, "tanh", rng=np.random.default_rng(0))
        h = np.zeros((1, 3))
        for x_t in xs:
            h = gate.forward(x_t, h)
        shares[kind], dh = [], np.ones((1, 3))
        for _ in xs:  # t = T, ..., 1
            before = gate.dW.copy()
            _, dh = gate.backward(np.ones((1, 3)) + dh)
            shares[kind].append(gate.dW - before)
        shares[kind] = (shares[kind], gate.dW)
    (right_shares, right_dW), (_, wrong_dW) = shares.values()
    assert np.allclose(right_dW, sum(right_shares))  # += : the sum
    assert np.allclose(wrong_dW, right_shares[-1])  # = : step 1's share
    code = ex.accumulate.solution().code
    assert code.startswith("def accumulate():")
    assert "class AssigningGate(Gate):" in code


def test_the_saturation_demo_draws_one_curve_per_bias():
    fig = ex.saturation.demo(biases=(0.0, -3.0), T=30)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["bias 0", "bias -3"]
    assert all(len(ln.get_ydata()) == 30 for ln in lines)
    assert lines[0].get_ydata()[-1] > lines[1].get_ydata()[-1]
    plt.close(fig)
