"""Chapter 6's exercises: the references agree with finite differences and
torch autograd, realistic wrong answers get the right diagnostic, strict
mode. The checks that every exercise must pass (the reference passes, the
skeleton is "not attempted", hints, solution, labels, random state) are in
test_exercises_contract.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_lstm_reference import torch_lstm_gradients

from asctools.exercises import CheckFailed
from asctools.exercises import ch06 as ex
from asctools.handmade import NumpyLSTM

torch.set_num_threads(1)


def test_strict_mode_raises_on_incorrect_and_error(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="the bias b_i is a parameter"):
        ex.sensitivity_count.check(32 * 36)
    with pytest.raises(CheckFailed, match="ZeroDivisionError"):
        ex.gradient_cosine.check(lambda model, x, y: 1 / 0)
    assert ex.input_gate_step.check(ex.input_gate_step.reference_answer())


# --- 1. Predict: the sensitivities of one gate ---


def test_sensitivity_count_is_one_per_weight_of_the_gate():
    H, D = 32, 4
    gate = NumpyLSTM(D, H, forget_gate=True, seed=0).gates["i"]
    n_weights = sum(p.size for p in gate.parameters().values())
    assert ex.sensitivity_count.reference_answer() == n_weights
    assert n_weights == H * (D + H + 1)


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (32**4, "full RTRL's *work* per step"),
        (32 * 32 * 37, "the entries with j ≠ n are zero"),
        (32 * 32 * 36, "leaves out the bias"),
        (32 * 36, "the bias b_i is a parameter too"),
        (2 * 32 * 32 * 37, "full RTRL's count for one gate"),
        (3 * 1184, "counts three gates"),
        (4 * 1184, "counts all four gates"),
        (1000, "too low"),
        ("1184", "should be a number, got str"),
    ],
)
def test_sensitivity_count_wrong_predictions(answer, needle, verdict):
    status, message = verdict(ex.sensitivity_count, answer)
    assert status == "incorrect"
    assert needle in message


# --- 2. Implement: the input gate's RTRL step ---


def _sequence(seed=0, B=2, T=5, D=2, H=3):
    rng = np.random.default_rng(seed)
    params = {
        n: (
            rng.normal(0, 0.8, (H, D)),
            rng.normal(0, 0.8, (H, H)),
            rng.normal(0, 0.5, H),
        )
        for n in "zifo"
    }
    return rng.normal(size=(B, T, D)), params


def _run(step, x, params):
    """T steps of ``step`` from zero state; returns c(T), S, the h(t−1)."""
    B, T, D = x.shape
    H = params["z"][0].shape[0]
    h, c = np.zeros((B, H)), np.zeros((B, H))
    S = {"W": np.zeros((B, H, D)), "R": np.zeros((B, H, H))}
    S["b"] = np.zeros((B, H))
    h_inputs = []
    for t in range(T):
        h_inputs.append(h)
        h, c, S = step(x[:, t], h, c, S, params)
    return c, S, h_inputs


def _c_with_frozen_h(x, params, h_inputs):
    """c(T) when each h(t−1) is an external input (the truncation)."""
    c = np.zeros_like(h_inputs[0])
    for t, h_prev in enumerate(h_inputs):
        a = {
            n: x[:, t] @ W.T + h_prev @ R.T + b
            for n, (W, R, b) in params.items()
        }
        i, f = 1 / (1 + np.exp(-a["i"])), 1 / (1 + np.exp(-a["f"]))
        c = f * c + np.tanh(a["z"]) * i
    return c


@pytest.mark.parametrize("which", [0, 1, 2])  # W, R, b of the input gate
def test_the_input_gate_step_equals_finite_differences(which):
    x, params = _sequence()
    step = ex.input_gate_step.reference_answer()
    c, S, h_inputs = _run(step, x, params)
    np.testing.assert_allclose(c, _c_with_frozen_h(x, params, h_inputs))
    key, eps = "WRb"[which], 1e-6
    theta = params["i"][which]
    for idx in np.ndindex(theta.shape):  # ∂c(T)/∂θ_idx for every unit n
        parts = []
        for sign in (1, -1):
            p = {n: list(v) for n, v in params.items()}
            p["i"][which] = theta.copy()
            p["i"][which][idx] += sign * eps
            parts.append(_c_with_frozen_h(x, p, h_inputs))
        fd = (parts[0] - parts[1]) / (2 * eps)  # (B, H)
        j = idx[0]  # the weight's row: only c_j may depend on it
        np.testing.assert_allclose(
            fd[:, j], S[key][(slice(None), *idx)], rtol=1e-6, atol=1e-9
        )
        others = np.delete(fd, j, axis=1)
        assert np.abs(others).max() < 1e-9  # the diagonal structure


def test_the_1997_update_is_wrong_for_the_modern_cell_over_steps():
    x, params = _sequence(seed=1)
    _, S, h_inputs = _run(ex.input_gate_step.reference_answer(), x, params)
    no_f = ex._STEP_MISTAKES[next(k for k in ex._STEP_MISTAKES if "1997" in k)]
    _, S_wrong, _ = _run(no_f, x, params)
    assert np.abs(S_wrong["W"] - S["W"]).max() > 1e-2


def _step_returning(transform):
    def step(x, h_prev, c_prev, S, params):
        h, c, S_new = ex.input_gate_step.reference_answer()(
            x, h_prev, c_prev, S, params
        )
        return transform(h, c, S_new)

    return step


def step_in_place(x, h_prev, c_prev, S, params):
    h, c, S_new = ex.input_gate_step.reference_answer()(
        x, h_prev, c_prev, S, params
    )
    for k in S:
        S[k][...] = S_new[k]  # updating the given arrays is fine
    return h, c, S


@pytest.mark.parametrize(
    ("description", "needle"),
    [
        ("i(1 − i) is missing", 'S_new["W"]'),
        ("the new h(t) is used", 'S_new["R"]'),
        ("not multiplied by the forget gate", 'S_new["W"]'),
        ("f multiplies the new term too", 'S_new["W"]'),
        ("the candidate's coefficient", 'S_new["W"]'),
        ("the forget gate's coefficient", 'S_new["W"]'),
    ],
)
def test_step_wrong_answers_get_the_right_diagnostic(
    description, needle, verdict
):
    key = next(k for k in ex._STEP_MISTAKES if description in k)
    status, message = verdict(ex.input_gate_step, ex._STEP_MISTAKES[key])
    assert status == "incorrect"
    assert f"`{needle}` is wrong in" in message
    assert "test case 1 of 3" in message
    assert f"Your result matches what you get if {key}." in message


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (_step_returning(lambda h, c, S: S), "return the triple"),
        (_step_returning(lambda h, c, S: (c, h, S)), "`h(t)` is wrong"),
        (
            _step_returning(lambda h, c, S: (h, c, {**S, "W": S["W"].T})),
            'S_new["W"]` has shape',
        ),
        (
            _step_returning(lambda h, c, S: (h, c, list(S.values()))),
            "should be a dict",
        ),
        (
            _step_returning(lambda h, c, S: (h.astype(np.float32), c, S)),
            "dtype float32, expected float64",
        ),
    ],
)
def test_step_wrong_shapes_and_types(answer, needle, verdict):
    status, message = verdict(ex.input_gate_step, answer)
    assert status == "incorrect"
    assert needle in message
    assert "Your result matches" not in message  # no mistake named


def test_an_in_place_update_is_accepted():
    assert ex.input_gate_step.check(step_in_place).passed


# --- 3. Explore: the cosine of the truncated and the exact gradient ---


def _torch_gradient(model, x, y, truncate):
    """Autograd gradient of the LSTM as one vector, h(t−1) detached or not."""
    _, grads = torch_lstm_gradients(model, x, y, truncate=truncate)
    return torch.from_numpy(
        np.concatenate([g.ravel() for g in grads.values()])
    )


@pytest.mark.parametrize("forget_gate", [False, True])
def test_the_cosine_equals_autograd_with_and_without_detaching(forget_gate):
    rng = np.random.default_rng(7)
    model = NumpyLSTM(1, 4, forget_gate, input_bias=-2.0, seed=rng)
    x = rng.normal(0, 0.2, (6, 40, 1))
    x[:, 0, 0] = rng.choice([-1.0, 1.0], 6)
    y = (x[:, 0, 0] > 0).astype(float)
    a = _torch_gradient(model, x, y, truncate=True)
    b = _torch_gradient(model, x, y, truncate=False)
    cos = torch.nn.functional.cosine_similarity(a, b, dim=0).item()
    got = ex.gradient_cosine.reference_answer()(model, x, y)
    assert isinstance(got, float)
    assert got == pytest.approx(cos, abs=1e-10)
    assert got < 1 - 1e-6  # the truncation changes the direction


def _flat(model):
    return np.concatenate([g.ravel() for g in model.gradients().values()])


def _cosine_variant(kind):
    from asctools.handmade import (
        bptt_loss_and_gradients,
        rtrl_loss_and_gradients,
    )

    def cosine(model, x, y):
        rtrl_loss_and_gradients(model, x, y)
        grads_t = {k: v.copy() for k, v in model.gradients().items()}
        a = _flat(model)
        if kind == "self":
            return float(a @ a / (a @ a))
        bptt_loss_and_gradients(model, x, y)
        b = _flat(model)
        if kind == "dot":
            return float(a @ b)
        if kind == "reldiff":
            return float(np.linalg.norm(a - b) / np.linalg.norm(b))
        if kind == "ratio":
            return float(np.linalg.norm(a) / np.linalg.norm(b))
        pairs = [(grads_t[k], v) for k, v in model.gradients().items()]
        if kind == "no_readout":
            pairs = [
                (grads_t[k], v)
                for k, v in model.gradients().items()
                if not k.startswith("out.")
            ]
            a = np.concatenate([p[0].ravel() for p in pairs])
            b = np.concatenate([p[1].ravel() for p in pairs])
            return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        return float(  # "mean": one cosine per parameter array
            np.mean(
                [
                    p.ravel()
                    @ q.ravel()
                    / np.linalg.norm(p)
                    / np.linalg.norm(q)
                    for p, q in pairs
                ]
            )
        )

    return cosine


def cosine_updates_weights(model, x, y):
    value = ex.gradient_cosine.reference_answer()(model, x, y)
    model.update(0.1)  # one step of gradient descent: not asked for
    return value


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (_cosine_variant("dot"), "that is the dot product"),
        (_cosine_variant("reldiff"), "that is the relative difference"),
        (_cosine_variant("ratio"), "the ratio of the norms"),
        (_cosine_variant("mean"), "one cosine per parameter array"),
        (_cosine_variant("no_readout"), "read-out's gradients"),
        (_cosine_variant("self"), "1 means that the two vectors"),
        (cosine_updates_weights, "changed the model's weights"),
        (lambda model, x, y: "0.9", "should be a number, got str"),
    ],
)
def test_cosine_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.gradient_cosine, answer)
    assert status == "incorrect"
    assert needle in message


def test_a_cosine_as_a_zero_dim_array_is_accepted():
    ref = ex.gradient_cosine.reference_answer()
    assert ex.gradient_cosine.check(
        lambda model, x, y: np.array(ref(model, x, y))
    ).passed


# --- What the book's solutions show and run ---


def test_the_cosine_demo_returns_what_the_chapter_glues(capsys):
    cosines = ex.gradient_cosine.demo(seq_lens=(10, 100))
    assert set(cosines) == {False, True}
    assert all(len(c) == 2 for c in cosines.values())
    assert cosines[False][1] < cosines[False][0] < 1  # falls with T
    assert 1 - min(cosines[True]) < 1e-2  # the modern cell stays near 1
    assert capsys.readouterr().out.count("forget gate") == 2
    code = ex.gradient_cosine.solution().code
    assert "def cosine_by_length(" in code
    assert "gradient_cosine(net, *memory_task_data(64, T, rng))" in code
