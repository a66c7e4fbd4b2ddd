"""Chapter 1's exercises: realistic wrong answers get the right diagnostic,
strict mode. The checks that every exercise must pass (the reference passes,
the skeleton is "not attempted", hints, solution, labels, random state) are
in test_exercises_contract.py."""

from __future__ import annotations

import inspect

import pytest
import torch

from asctools.exercises import CheckFailed, checks
from asctools.exercises import ch01 as ex

torch.set_num_threads(1)
F64 = torch.float64


# --- 1. Elman step: realistic wrong answers ---


def elman_no_bias(x, h, W_xh, W_hh, b):
    return torch.tanh(x @ W_xh.T + h @ W_hh.T)


def elman_transposed(x, h, W_xh, W_hh, b):
    return torch.tanh(x @ W_xh + h @ W_hh.T + b)


def elman_swapped(x, h, W_xh, W_hh, b):
    return torch.tanh(x @ W_hh.T + h @ W_xh.T + b)


def elman_wrong_sign(x, h, W_xh, W_hh, b):
    return torch.tanh(x @ W_xh.T - h @ W_hh.T + b)


def elman_float32(x, h, W_xh, W_hh, b):
    return torch.tanh(x @ W_xh.T + h @ W_hh.T + b).float()


def elman_numpy(x, h, W_xh, W_hh, b):
    z = (x @ W_xh.T + h @ W_hh.T + b).detach().numpy()
    return torch.tanh(torch.from_numpy(z))


def elman_list(x, h, W_xh, W_hh, b):
    return [torch.tanh(x @ W_xh.T + h @ W_hh.T + b)]


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (elman_no_bias, "if the bias `b` is left out"),
        (elman_transposed, "if `W_xh` is not transposed"),
        (elman_swapped, "if `W_xh` and `W_hh` are swapped"),
        (elman_wrong_sign, "if the sign of the recurrent term is flipped"),
        (elman_float32, "dtype torch.float32, expected torch.float64"),
        (elman_numpy, "not connected to its inputs in autograd's graph"),
        (elman_list, "should return 1 tensor(s) (Tensor), got 1 (list)"),
    ],
)
def test_elman_wrong_answers_get_the_right_diagnostic(answer, needle, verdict):
    status, message = verdict(ex.elman_step, answer)
    assert status == "incorrect"
    assert needle in message
    if needle.startswith("if "):  # a value mismatch: where, how much
        assert "Your result matches what you get " + needle in message
        assert "The largest difference is at index" in message
        assert "max abs error" in message and "test case 1 of 3" in message


def test_a_reader_exception_is_reported_with_its_line():
    def elman_step(x, h, W_xh, W_hh, b):  # column-vector habit: W x
        pre = W_xh @ x + W_hh @ h + b
        return torch.tanh(pre)

    line = inspect.getsourcelines(elman_step)[1] + 1
    result = ex.elman_step.check(elman_step)  # reported, not raised
    assert result.status == "error"
    assert result.message.startswith("RuntimeError: ")
    assert "cannot be multiplied" in result.message
    assert f"at line {line} of test_exercises_ch01.py" in result.message
    assert "pre = W_xh @ x + W_hh @ h + b" in result.message


def test_strict_mode_raises_on_incorrect_and_error(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="the bias `b` is left out"):
        ex.elman_step.check(elman_no_bias)
    with pytest.raises(CheckFailed, match="RuntimeError"):
        ex.elman_step.check(lambda x, h, W_xh, W_hh, b: W_xh @ x)
    with pytest.raises(CheckFailed, match="one bias vector"):
        ex.rnn_params.check(620)
    assert ex.elman_step.check(ex.elman_step.reference_answer()).passed


def test_the_renderings_contain_the_diagnostic():
    result = ex.elman_step.check(elman_no_bias)
    assert "the bias <code>b</code> is left out" in result._repr_html_()
    assert "#c62828" in result._repr_html_()  # red
    text = str(result)
    assert text.startswith("✗ Incorrect: One Elman step (ch01-ex-elman)")
    assert "the bias `b` is left out" in text


# --- 2. Unroll ---


def unroll_shifted(x, h0, W_xh, W_hh, b):
    h, states = h0, []
    for t in range(x.shape[1]):
        states.append(h)  # stored before the step: h_0, ..., h_{T-1}
        h = torch.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b)
    return torch.stack(states, dim=1)


def unroll_not_carried(x, h0, W_xh, W_hh, b):
    states = []
    for t in range(x.shape[1]):
        states.append(torch.tanh(x[:, t] @ W_xh.T + h0 @ W_hh.T + b))
    return torch.stack(states, dim=1)


def unroll_unstacked(x, h0, W_xh, W_hh, b):
    return list(ex._solution_unroll(x, h0, W_xh, W_hh, b).unbind(1))


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (unroll_shifted, "if the states are shifted by one step"),
        (unroll_not_carried, "if the state is not carried"),
        (unroll_unstacked, "should return 1 tensor(s) (Tensor), got 5"),
    ],
)
def test_unroll_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.unroll, answer)
    assert status == "incorrect"
    assert needle in message


# --- 3. Jordan network ---


def _jordan_net(seed=0, T=5, D=2, H=3, K=2):
    gen = torch.Generator().manual_seed(seed)
    return [
        torch.randn(*s, generator=gen, dtype=F64)
        for s in ((T, D), (H, D), (H, K), (K, H))
    ]


def test_jordan_forward_follows_its_equations():
    x, W, R, V = _jordan_net()
    a, y = ex.jordan_forward(x, W, R, V)
    assert a.shape == (6, 3) and y.shape == (6, 2)
    assert torch.equal(a[0], torch.zeros(3, dtype=F64))
    assert torch.allclose(y, torch.sigmoid(a @ V.T))  # ŷ(t) = σ(V a(t))
    # a(t) = tanh(W x(t) + R ŷ(t-1)) for t = 1..T
    assert torch.allclose(a[1:], torch.tanh(x @ W.T + y[:-1] @ R.T))


def test_the_jordan_solution_equals_finite_differences():
    x, W, R, V = _jordan_net(seed=1)
    s, t = 1, 4
    a_s = ex.jordan_forward(x, W, R, V)[0][s]

    def a_t(a):  # a(s) -> a(t), from the network's equations
        for u in range(s + 1, t + 1):
            a = torch.tanh(W @ x[u - 1] + R @ torch.sigmoid(V @ a))
        return a

    rows = [
        checks.central_difference(lambda a, i=i: a_t(a)[i], a_s)
        for i in range(3)
    ]
    J = ex.jordan_jacobian.reference_answer()(x, W, R, V, s, t)
    assert torch.allclose(J, torch.stack(rows), rtol=1e-6, atol=1e-9)


def jordan_reversed(x, W, R, V, s, t):
    a, y = ex.jordan_forward(x, W, R, V)
    J = torch.eye(W.shape[0], dtype=x.dtype)
    for u in range(s + 1, t + 1):
        F = (
            torch.diag(1 - a[u] ** 2)
            @ R
            @ torch.diag(y[u - 1] * (1 - y[u - 1]))
            @ V
        )
        J = J @ F  # oldest factor ends up on the left
    return J


def jordan_one_too_many(x, W, R, V, s, t):
    a, y = ex.jordan_forward(x, W, R, V)
    J = torch.eye(W.shape[0], dtype=x.dtype)
    for u in range(s, t + 1):  # t - s + 1 factors
        dy = y[u - 1] * (1 - y[u - 1])
        J = torch.diag(1 - a[u] ** 2) @ R @ torch.diag(dy) @ V @ J
    return J


def jordan_same_step(x, W, R, V, s, t):
    a, y = ex.jordan_forward(x, W, R, V)
    J = torch.eye(W.shape[0], dtype=x.dtype)
    for u in range(s + 1, t + 1):
        dy = y[u] * (1 - y[u])  # σ′ at step u instead of u - 1
        J = torch.diag(1 - a[u] ** 2) @ R @ torch.diag(dy) @ V @ J
    return J


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (jordan_reversed, "if the factors are multiplied oldest-on-the-left"),
        (jordan_one_too_many, "if there is one factor too many"),
        (jordan_same_step, "if σ′ is taken at ŷ(u) instead of ŷ(u-1)"),
        (lambda x, W, R, V, s, t: torch.eye(3), "has shape (3, 3), expected"),
    ],
)
def test_jordan_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.jordan_jacobian, answer)
    assert status == "incorrect"
    assert needle in message


# --- 4., 5. Predictions ---


def test_rnn_params_counts_match_the_closed_form(verdict):
    D, H = 10, 20
    assert ex.rnn_params.reference_answer() == H * D + H * H + 2 * H
    assert verdict(ex.rnn_params, H * D + H * H + 2 * H)[0] == "correct"


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (620, "counts one bias vector"),
        (600, "leaves out the two bias vectors"),
        (700, "too high"),
        ("640", "should be a number, got str"),
    ],
)
def test_rnn_params_wrong_predictions(answer, needle, verdict):
    status, message = verdict(ex.rnn_params, answer)
    assert status == "incorrect"
    assert needle in message


def test_bptt_shared_weight_choices(verdict):
    assert verdict(ex.bptt_shared_weight, "(b)")[0] == "correct"
    status, message = verdict(ex.bptt_shared_weight, "d")
    assert status == "incorrect" and "contributions" in message
    status, message = verdict(ex.bptt_shared_weight, "e")
    assert status == "incorrect" and "not one of" in message


# --- What the book's solutions show and run ---


def test_the_unroll_demo_prints_how_h0_decays(capsys):
    states = ex.unroll.demo()
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["alpha", "h_1", "h_5", "h_10", "h_20", "h_50"]
    assert len(table) == 1 + len(states) and set(states) == {0.5, 0.9, 1, 1.5}
    assert all(h.shape == (50,) for h in states.values())
    assert states[0.5][-1] < 1e-10  # α < 1 forgets h_0 exponentially
    assert abs(states[1.5][-1] - torch.tanh(1.5 * states[1.5][-1])) < 1e-6
    code = ex.unroll.solution().code
    assert "def decay_of_h0(" in code and "= unroll(x, h0," in code


def test_the_jordan_solution_shows_jordan_forward():
    code = ex.jordan_jacobian.solution().code
    assert code.index("def jordan_jacobian(") < code.index(
        "def jordan_forward("
    )
