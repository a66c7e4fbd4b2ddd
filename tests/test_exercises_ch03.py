"""Chapter 3's exercises: realistic wrong answers get the right diagnostic,
strict mode. The checks that every exercise must pass (the reference passes,
the skeleton is "not attempted", hints, solution, labels, random state) are
in test_exercises_contract.py."""

from __future__ import annotations

import inspect

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import asctools.nn as anx
from asctools.exercises import CheckFailed
from asctools.exercises import ch03 as ex

torch.set_num_threads(1)
F64 = torch.float64


# --- 1. The LSTM step ---


def _gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    z = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    return z.chunk(4, dim=-1)


def cell_swapped_i_f(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    f, i, g, o = _gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def cell_tanh_output_gate(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = _gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.tanh(o) * torch.tanh(c), c


def cell_no_bias_hh(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    zero = torch.zeros_like(bias_hh)
    i, f, g, o = _gates(x, h, weight_ih, weight_hh, bias_ih, zero)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def cell_old_c(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = _gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
    h_next = torch.sigmoid(o) * torch.tanh(c)  # c used before the update
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return h_next, c_next


def cell_c_then_h(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = ex.lstm_cell.reference_answer()(
        x, h, c, weight_ih, weight_hh, bias_ih, bias_hh
    )
    return c, h


def cell_only_h(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return ex.lstm_cell.reference_answer()(
        x, h, c, weight_ih, weight_hh, bias_ih, bias_hh
    )[0]


def cell_detached(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c = ex.lstm_cell.reference_answer()(
        x, h, c, weight_ih, weight_hh, bias_ih, bias_hh
    )
    return h.detach(), c.detach()


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (cell_swapped_i_f, "if the i and f blocks are swapped"),
        (cell_tanh_output_gate, "if the output gate uses tanh instead of σ"),
        (cell_no_bias_hh, "if `bias_hh` is left out"),
        (cell_old_c, "if h' is computed from the old cell state c"),
        (cell_c_then_h, "if (c', h') is returned instead of (h', c')"),
        (cell_only_h, "should return 2 tensor(s) (tuple), got 1 (Tensor)"),
        (cell_detached, "not connected to its inputs in autograd's graph"),
    ],
)
def test_cell_wrong_answers_get_the_right_diagnostic(answer, needle, verdict):
    status, message = verdict(ex.lstm_cell, answer)
    assert status == "incorrect"
    assert needle in message
    if needle.startswith("if "):  # a value mismatch: where, how much
        assert "Your result matches what you get " + needle in message
        assert "The largest difference is at index" in message


def test_cell_solution_equals_torch_lstm_cell_in_float32():
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 5)
    x, h, c = torch.randn(4, 3), torch.randn(4, 5), torch.randn(4, 5)
    params = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    got = ex.lstm_cell.reference_answer()(x, h, c, *params)
    expected = cell(x, (h, c))
    for g, e in zip(got, expected, strict=True):
        assert torch.allclose(g, e, atol=1e-6)


def test_a_reader_exception_is_reported_with_its_line():
    def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
        z = x @ weight_ih + h @ weight_hh.T  # forgot the transpose
        return z, z

    line = inspect.getsourcelines(lstm_cell)[1] + 1
    result = ex.lstm_cell.check(lstm_cell)
    assert result.status == "error"
    assert f"at line {line} of test_exercises_ch03.py" in result.message


def test_strict_mode_raises_on_incorrect(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="the i and f blocks are swapped"):
        ex.lstm_cell.check(cell_swapped_i_f)
    with pytest.raises(CheckFailed, match="one bias vector per layer"):
        ex.lstm_params.check(5760)


# --- 2. Parameter count ---


def test_lstm_params_match_the_closed_form(verdict):
    D, H = 10, 20
    per_layer = [4 * H * (D + H) + 8 * H, 4 * H * (H + H) + 8 * H]
    assert ex.lstm_params.reference_answer() == sum(per_layer) == 5920
    assert verdict(ex.lstm_params, 5920)[0] == "correct"


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (5760, "one bias vector per layer"),
        (5600, "leaves out the biases"),
        (5120, "`weight_ih_l1` is (80, 20)"),
        (2560, "that is one layer"),
        (1480, "FOUR gates"),
        (6000, "too high"),
        ("5920", "should be a number, got str"),
    ],
)
def test_lstm_params_wrong_predictions(answer, needle, verdict):
    status, message = verdict(ex.lstm_params, answer)
    assert status == "incorrect"
    assert needle in message


# --- 3. The 1997 cell's drift ---


def test_cell_drift_choices(verdict):
    assert verdict(ex.cell_drift, "(c)")[0] == "correct"
    status, message = verdict(ex.cell_drift, "b")
    assert status == "incorrect" and "modern cell" in message
    status, message = verdict(ex.cell_drift, "a")
    assert status == "incorrect" and "not squashed" in message
    status, message = verdict(ex.cell_drift, "e")
    assert status == "incorrect" and "not one of" in message


def test_the_modern_cell_settles_where_the_1997_cell_drifts():
    # option (b)'s claim: the same cell WITH a forget gate (f < 1) settles
    gen = torch.Generator().manual_seed(0)
    D, H = 4, 8
    W_ih = 0.5 * torch.randn(4 * H, D, generator=gen)
    W_hh = 0.5 * torch.randn(4 * H, H, generator=gen)
    x = torch.randn(1, D, generator=gen)
    h, c, peak = torch.zeros(1, H), torch.zeros(1, H), []
    for _ in range(1000):
        i, f, g, o = (x @ W_ih.T + h @ W_hh.T).chunk(4, dim=-1)
        i, f, o, g = i.sigmoid(), f.sigmoid(), o.sigmoid(), g.tanh()
        c = f * c + i * g
        h = o * torch.tanh(c)
        peak.append(c.abs().max().item())
    # the fixed point c* = i g / (1 − f) is bounded by 1 / (1 − f)
    assert peak[999] < 1 / (1 - f.max().item())
    assert abs(peak[999] - peak[499]) < 1e-6


# --- 4. Forget bias ---


def _set(lstm, value, rows=(1,), ih=True, hh=0.0, layers=None):
    """Set rows (gate blocks) of bias_ih to value and of bias_hh to hh."""
    H = lstm.hidden_size
    with torch.no_grad():
        for k in range(lstm.num_layers if layers is None else layers):
            for r in rows:
                if ih:
                    getattr(lstm, f"bias_ih_l{k}")[r * H : (r + 1) * H] = value
                if hh is not None:
                    getattr(lstm, f"bias_hh_l{k}")[r * H : (r + 1) * H] = hh


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (lambda m, v: _set(m, v, hh=v), "b_if + b_hf = 2"),
        (lambda m, v: _set(m, v, hh=None), "still holds its random initial"),
        (lambda m, v: _set(m, v, rows=(0,)), "you set the bias of gate i"),
        (lambda m, v: _set(m, v, rows=(3,)), "you set the bias of gate o"),
        (lambda m, v: _set(m, v, layers=1), "only layer 0 was changed"),
        (lambda m, v: None, "did not change"),
        (lambda m, v: _set(m, v, rows=(0, 1)), "gates i, g or o changed"),
        (lambda m, v: _set(m, v + 0.5), "b_if + b_hf` is wrong"),
    ],
)
def test_forget_bias_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.set_forget_bias, answer)
    assert status == "incorrect"
    assert needle in message


def test_forget_bias_that_changes_a_weight_is_refused(verdict):
    def answer(lstm, value):
        ex.set_forget_bias.reference_answer()(lstm, value)
        with torch.no_grad():
            lstm.weight_hh_l0.zero_()

    status, message = verdict(ex.set_forget_bias, answer)
    assert status == "incorrect" and "`weight_hh_l0` changed" in message


def test_forget_bias_without_no_grad_is_an_error_of_the_reader(verdict):
    def answer(lstm, value):
        H = lstm.hidden_size
        lstm.bias_ih_l0[H : 2 * H] = value  # in place on a leaf

    status, message = verdict(ex.set_forget_bias, answer)
    assert status == "error" and "RuntimeError" in message


@pytest.mark.parametrize("module", [nn.LSTM, anx.LSTM])
def test_the_forget_bias_solution_sets_the_gate_the_model_sees(module):
    torch.manual_seed(0)
    lstm = module(2, 3, num_layers=2, dtype=F64)
    ex.set_forget_bias.reference_answer()(lstm, 4.0)
    # with zero input and state, a = b_ih + b_hh: f = σ(4) in every layer
    W = {n: p for n, p in lstm.named_parameters() if "weight" in n}
    with torch.no_grad():
        for p in W.values():
            p.zero_()
    h0 = torch.zeros(2, 1, 3, dtype=F64)
    c0 = torch.ones(2, 1, 3, dtype=F64)
    _, (_, c_n) = lstm(torch.zeros(1, 1, 2, dtype=F64), (h0, c0))
    b = (lstm.bias_ih_l1 + lstm.bias_hh_l1).detach()  # layer 1's a
    i, _, g, _ = b.chunk(4)
    f = torch.sigmoid(torch.tensor(4.0, dtype=F64))
    # c_1 = f ⊙ c_0 + i ⊙ g with c_0 = 1
    assert torch.allclose(c_n[1, 0], f + torch.sigmoid(i) * torch.tanh(g))


# --- What the book's solutions show and run ---


def test_the_drift_reference_prints_the_peaks_and_the_check_does_not(capsys):
    assert ex.cell_drift.solution_fn() == "c"
    assert "at t = 1000" in capsys.readouterr().out
    ex.cell_drift.check("c")  # reruns the experiment, quietly
    assert "at t = 1000" not in capsys.readouterr().out


def test_constant_input_peaks_grow_without_and_settle_with_a_forget_gate():
    grows = ex.constant_input_peaks(forget_gate=False, steps=400)
    settles = ex.constant_input_peaks(forget_gate=True, steps=400)
    assert len(grows) == len(settles) == 400
    assert grows[-1] > 50 * max(settles)
    assert abs(settles[-1] - settles[199]) < 1e-6


def test_the_drift_demo_is_the_figure_of_both_cells():
    fig = ex.cell_drift.demo(steps=50)
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == [
        "1997, no forget gate", "with forget gate",
    ]  # fmt: skip
    assert all(len(ln.get_xdata()) == 50 for ln in lines)
    plt.close(fig)
    code = ex.cell_drift.solution().code
    for name in ("cell_drift", "constant_input_peaks", "drift_experiment"):
        assert f"def {name}(" in code


def test_the_forget_bias_demo_draws_one_curve_per_bias():
    fig = ex.set_forget_bias.demo(biases=(0.0, 3.0), T=20)
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert labels == ["$b_f$ = 0", "$b_f$ = 3"]
    plt.close(fig)
    assert (
        "set_forget_bias(model.rnn, b_f)" in ex.set_forget_bias.solution().code
    )
