"""The exercise framework: comparison helpers, verdicts, rendering, strict
mode, and display in a real Jupyter kernel."""

from __future__ import annotations

import inspect
import operator
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from asctools.exercises import (
    CheckFailed,
    Exercise,
    Incorrect,
    NotAttempted,
    checks,
    exercise,
)

torch.set_num_threads(1)
F64 = torch.float64
ROOT = Path(__file__).resolve().parents[1]


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(Incorrect) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- compare_tensors ---


def test_compare_tensors_names_the_worst_entry_and_its_errors():
    expected = torch.arange(6, dtype=F64).reshape(2, 3) + 1.0
    got = expected.clone()
    got[1, 2] += 0.5  # expected 6.0
    got[0, 1] += 0.3  # expected 2.0
    msg = _message(checks.compare_tensors, got, expected, "h")
    assert "`h` is wrong in 2 of 6 entries" in msg
    assert "index (1, 2): got 6.5, expected 6" in msg
    assert "max abs error 5.00e-01" in msg
    assert "max rel error 1.50e-01" in msg  # 0.3 / 2.0 at (0, 1)


def test_compare_tensors_accepts_within_tolerance_only():
    expected = torch.ones(3, dtype=F64)
    checks.compare_tensors(expected + 1e-9, expected, atol=1e-8, rtol=0)
    with pytest.raises(Incorrect):
        checks.compare_tensors(expected + 1e-7, expected, atol=1e-8, rtol=0)


@pytest.mark.parametrize(
    ("got", "needle"),
    [
        (torch.ones(3, 2, dtype=F64), "has shape (3, 2), expected (2, 3)"),
        (torch.ones(2, 3), "dtype torch.float32, expected torch.float64"),
        ([[1.0] * 3] * 2, "should be a torch.Tensor"),
        (np.ones((2, 3)), "should be a torch.Tensor"),
    ],
)
def test_compare_tensors_reports_shape_dtype_and_type(got, needle):
    expected = torch.ones(2, 3, dtype=F64)
    assert needle in _message(checks.compare_tensors, got, expected)


def test_compare_tensors_counts_nan_as_wrong_and_handles_numpy():
    expected = np.zeros(4)
    got = expected.copy()
    got[2] = np.nan
    msg = _message(checks.compare_tensors, got, expected, "y")
    assert "index (2,): got nan" in msg
    checks.compare_tensors(expected.copy(), expected)
    assert "numpy.ndarray" in _message(
        checks.compare_tensors, torch.zeros(4), expected
    )


def test_call_answer_flags_none_and_non_callables():
    with pytest.raises(NotAttempted, match="returned None"):
        checks.call_answer(lambda x: None, 1, name="f")
    with pytest.raises(NotAttempted):
        checks.call_answer(lambda: ...)
    assert "should be a function, got int" in _message(checks.call_answer, 3)


# --- compare_functions / compare_modules ---


def _cases():
    gen = torch.Generator().manual_seed(0)
    return [
        {"x": torch.randn(3, 4, generator=gen, dtype=F64), "k": 2},
        {"x": torch.randn(2, 5, generator=gen, dtype=F64), "k": 3},
    ]


def _power(x, k):
    return x**k


def test_compare_functions_passes_a_right_answer():
    msg = checks.compare_functions(
        lambda x, k: x ** (k - 1) * x, _power, _cases(), name="pow"
    )
    assert "`pow` matches the reference (outputs and gradients) in 2" in msg


def test_compare_functions_finds_a_wrong_gradient():
    # right values, wrong derivative: d/dx of x.detach()**k + (x - x) ...
    def answer(x, k):
        return x.detach() ** k + (x - x.detach())

    msg = _message(checks.compare_functions, answer, _power, _cases())
    assert "gradient with respect to `x`" in msg
    assert "test case 1 of 2: x (3, 4), k=2" in msg


def test_compare_functions_says_when_the_graph_is_cut():
    msg = _message(
        checks.compare_functions,
        lambda x, k: (x**k).detach(),
        _power,
        _cases(),
    )
    assert "not connected to its inputs" in msg
    msg = checks.compare_functions(
        lambda x, k: (x**k).detach(), _power, _cases(), grad=False
    )
    assert "(outputs) in 2 test cases" in msg


def test_compare_functions_names_a_matching_mistake():
    mistakes = {"k is off by one": lambda x, k: x ** (k + 1)}

    def answer(x, k):
        return x ** (k + 1)

    msg = _message(
        checks.compare_functions, answer, _power, _cases(), mistakes=mistakes
    )
    assert "matches what you get if k is off by one" in msg
    msg = _message(
        checks.compare_functions,
        lambda x, k: -x,
        _power,
        _cases(),
        mistakes=mistakes,
    )
    assert "matches" not in msg


def test_compare_functions_checks_the_output_structure():
    def ref(x):
        return x.sin(), x.cos()

    cases = [{"x": torch.ones(2, dtype=F64)}]
    msg = _message(checks.compare_functions, torch.sin, ref, cases, name="f")
    assert "`f` should return 2 tensor(s) (tuple), got 1 (Tensor)" in msg
    msg = _message(
        checks.compare_functions,
        lambda x: (x.sin(), x.sin()),
        ref,
        cases,
        name="f",
    )
    assert "`f[1]` is wrong" in msg


class _Cell(nn.Module):
    """An Elman cell with torch.nn.RNNCell's parameter names."""

    def __init__(self, D, H, names=("weight_ih", "weight_hh"), use_bhh=True):
        super().__init__()
        self.names, self.use_bhh = names, use_bhh
        setattr(self, names[0], nn.Parameter(torch.zeros(H, D, dtype=F64)))
        setattr(self, names[1], nn.Parameter(torch.zeros(H, H, dtype=F64)))
        self.bias_ih = nn.Parameter(torch.zeros(H, dtype=F64))
        self.bias_hh = nn.Parameter(torch.zeros(H, dtype=F64))

    def forward(self, x, h):
        w_ih, w_hh = (getattr(self, n) for n in self.names)
        b = self.bias_ih + (self.bias_hh if self.use_bhh else 0.0)
        return torch.tanh(x @ w_ih.T + h @ w_hh.T + b)


def _cell_cases():
    gen = torch.Generator().manual_seed(1)
    return [
        {
            "x": torch.randn(2, 3, generator=gen, dtype=F64),
            "h": torch.randn(2, 4, generator=gen, dtype=F64),
        }
    ]


def _rnn_cell(zero_bias_hh=False):
    torch.manual_seed(0)
    ref = nn.RNNCell(3, 4, dtype=F64)
    if zero_bias_hh:
        nn.init.zeros_(ref.bias_hh)
    return ref


def test_compare_modules_passes_a_module_equal_to_torch_nn():
    msg = checks.compare_modules(_Cell(3, 4), _rnn_cell(), _cell_cases())
    assert "matches RNNCell (outputs and gradients) in 1 test cases" in msg


def test_compare_modules_reports_names_shapes_values_and_gradients():
    bad_names = _Cell(3, 4, names=("W_ih", "weight_hh"))
    msg = _message(checks.compare_modules, bad_names, _rnn_cell(), [])
    assert "missing ['weight_ih'], unexpected ['W_ih']" in msg
    msg = _message(checks.compare_modules, _Cell(4, 4), _rnn_cell(), [])
    assert "`weight_ih` has shape (4, 4), expected (4, 3)" in msg
    no_bhh = _Cell(3, 4, use_bhh=False)
    msg = _message(checks.compare_modules, no_bhh, _rnn_cell(), _cell_cases())
    assert "is wrong in" in msg  # bias_hh ≠ 0 in the reference
    msg = _message(
        checks.compare_modules, no_bhh, _rnn_cell(True), _cell_cases()
    )
    assert "`bias_hh` gets no gradient" in msg  # equal values, no gradient
    assert "nn.Module" in _message(
        checks.compare_modules, len, _rnn_cell(), []
    )


# --- finite differences, numbers, choices ---


def test_numerical_gradient_matches_the_closed_form():
    x = torch.linspace(-2, 2, 7, dtype=F64).reshape(7, 1)
    grad = checks.central_difference(lambda z: z.sin().sum(), x)
    assert torch.allclose(grad, x.cos(), rtol=1e-8, atol=1e-9)
    with pytest.raises(TypeError, match="float64"):
        checks.central_difference(lambda z: z.sum(), x.float())


def test_compare_gradient_rejects_a_wrong_gradient():
    x = torch.linspace(-1, 1, 5, dtype=F64)

    def f(z):
        return (z**3).sum()

    checks.compare_gradient(3 * x**2, f, x)
    msg = _message(checks.compare_gradient, 2 * x**2, f, x, name="dL/dx")
    assert "`dL/dx` is wrong in 4 of 5 entries" in msg  # x = 0 agrees


def test_check_number():
    assert checks.check_number(640, 640) == "640 is right."
    assert checks.check_number(torch.tensor(640), 640) == "640 is right."
    assert checks.check_number(0.499, 0.5, atol=0.01) == "0.499 is right."
    msg = _message(checks.check_number, 620, 640, mistakes={620: "one bias"})
    assert msg == "620 is not right: one bias"
    assert "too low" in _message(checks.check_number, 600, 640)
    assert "too high" in _message(checks.check_number, 700, 640)
    assert "got bool" in _message(checks.check_number, True, 1)
    assert "got str '640'" in _message(checks.check_number, "640", 640)


def test_check_choice():
    feedback = {"a": "No: A.", "b": "Yes: B."}
    assert checks.check_choice(" (B) ", "ab", "b", feedback=feedback) == (
        "(b) is right. Yes: B."
    )
    msg = _message(checks.check_choice, "a", "ab", "b", feedback=feedback)
    assert msg == "(a) is not right. No: A."
    assert "not one of ['a', 'b']" in _message(
        checks.check_choice, "c", "ab", "b"
    )
    assert "as a string, got int" in _message(
        checks.check_choice, 2, "ab", "b"
    )


# --- Exercise: verdicts, hints, solution, strict mode, rendering ---


def _solution_square(x):
    return x * x  # x²


@exercise(
    label="t-ex-square",
    title="Square it",
    kind="implement",
    solution=_solution_square,
    hints=["Multiply.", "`x * x`"],
)
def square(answer):
    cases = [{"x": torch.linspace(-1, 2, 4, dtype=F64)}]
    return checks.compare_functions(answer, torch.square, cases, name="sq")


# a checker with a bug (a KeyError raised inside library code)
_bug_checker = operator.itemgetter("missing")


def test_exercise_verdicts(capsys):
    assert square.check(_solution_square).passed
    assert square.last_result.status == "correct"
    assert square.check(lambda x: 2 * x).status == "incorrect"

    def skeleton(x):
        raise NotImplementedError

    for answer in (skeleton, lambda x: None, None, ...):
        result = square.check(answer)
        assert (result.status, result.passed) == ("not attempted", False)
    out = capsys.readouterr().out  # outside IPython: printed, once each
    assert out.count("✓ Correct: Square it (t-ex-square)") == 1
    assert out.count("✗ Incorrect") == 1
    assert out.count("○ Not attempted yet") == 4


def test_a_reader_exception_is_reported_with_its_line():
    def answer(x):
        y = x.reshape(3, 3)  # 4 entries cannot make (3, 3)
        return y

    line = inspect.getsourcelines(answer)[1] + 1
    result = square.check(answer)
    assert result.status == "error"
    assert isinstance(result.exception, RuntimeError)
    assert result.message.startswith("RuntimeError: shape '[3, 3]'")
    assert f"at line {line} of test_exercises_core.py, in answer" in (
        result.message
    )
    assert "y = x.reshape(3, 3)" in result.message


def test_code_without_a_source_file_is_the_readers():
    namespace = {}
    src = "def answer(x):\n    return x.reshape(3, 3)\n"
    exec(compile(src, "<cell>", "exec"), namespace)  # as a REPL would
    result = square.check(namespace["answer"])
    assert result.status == "error"
    assert "at line 2 of <cell>, in answer" in result.message


def test_a_checker_bug_is_not_blamed_on_the_reader():
    ex = Exercise(
        _bug_checker,
        label="t-bug",
        title="Bug",
        kind="predict",
        solution=lambda: 1,
        name="bug",
    )
    result = ex.check({})
    assert result.status == "error"
    assert result.message.startswith("The checker itself failed")
    assert "KeyError" in result.message


def test_strict_mode_raises_on_incorrect_and_error_only(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="is wrong in"):
        square.check(lambda x: 2 * x)
    with pytest.raises(CheckFailed, match="RuntimeError") as info:
        square.check(lambda x: x.reshape(3, 3))
    assert isinstance(info.value.__cause__, RuntimeError)
    assert square.check(None).status == "not attempted"
    assert square.check(_solution_square).passed
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "0")
    assert square.check(lambda x: 2 * x).status == "incorrect"


def test_renderings_contain_the_message():
    results = {
        "correct": square.check(_solution_square),
        "incorrect": square.check(lambda x: 2 * x),
        "not attempted": square.check(None),
    }
    colours = {
        "correct": "#2e7d32",
        "incorrect": "#c62828",
        "not attempted": "#546e7a",
    }
    for status, result in results.items():
        html, text = result._repr_html_(), str(result)
        assert colours[status] in html
        first = result.message.splitlines()[0]
        assert first in text
        assert re.sub(r"`([^`]+)`", r"<code>\1</code>", first) in html
        assert status in repr(result)
    assert "<code>sq</code> is wrong in" in results["incorrect"]._repr_html_()


def test_hints_and_solution():
    assert square.hint().text == "Multiply."
    assert "Hint 2 of 2" in str(square.hint(2))
    beyond = square.hint(3)
    assert "only 2 hints" in beyond.text and "`hint(2)`" in beyond.text
    for bad in (0, -1):
        with pytest.raises(ValueError, match="positive int"):
            square.hint(bad)
    for bad in (1.0, True):  # a wrong type is a TypeError everywhere
        with pytest.raises(TypeError, match="n must be an int"):
            square.hint(bad)
    sourceless = Exercise(
        _bug_checker,
        label="l",
        title="t",
        kind="predict",
        solution=eval("lambda: 1"),
    )
    assert "not available" in sourceless.solution().code
    solution = square.solution()
    assert solution.code.startswith("def square(x):")
    assert "return x * x  # x²" in solution.code
    assert "def square(x):" in str(solution)
    assert "square" in solution._repr_html_()


def test_a_solution_s_code_box_scrolls_inside_and_fits_79_columns():
    page = square.solution()._repr_html_()
    box, pre = re.search(
        r'<div[^>]*style="([^"]*)"><pre style="([^"]*)"', page
    ).groups()
    assert box.startswith("margin:.5em -.8em")  # border to border
    assert "overflow-x:auto" in pre  # wide code scrolls in its box
    assert "font-size:.8em" in pre  # 79 columns fit on a desktop


def test_exercise_validates_its_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        Exercise(
            _bug_checker,
            label="l",
            title="t",
            kind="guess",
            solution=_solution_square,
        )
    with pytest.raises(TypeError, match="hints"):
        Exercise(
            _bug_checker,
            label="l",
            title="t",
            kind="predict",
            solution=_solution_square,
            hints="one hint",
        )
    with pytest.raises(TypeError, match="callable"):
        Exercise(
            _bug_checker, label="l", title="t", kind="predict", solution=42
        )


@pytest.mark.slow
def test_a_kernel_shows_each_verdict_once():
    """In Jupyter, check() displays the box and the returned result is not
    displayed again as the cell's value; in a later cell it is."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "from asctools.exercises import ch01 as ex",
        "ex.rnn_params.check(620)",
        "r = ex.rnn_params.check(640)\nr",
        "r",
        "ex.rnn_params.hint(2)",
        "print(r)",
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c) for c in cells]
    )
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    outs = [cell.outputs for cell in nb.cells]
    for i in (1, 2, 3, 4):
        assert len(outs[i]) == 1, outs[i]
        assert outs[i][0].output_type == "display_data"
    assert "✗ Incorrect" in outs[1][0].data["text/html"]
    assert "one bias vector" in outs[1][0].data["text/plain"]
    assert "✓ Correct" in outs[2][0].data["text/html"]
    assert "✓ Correct" in outs[3][0].data["text/html"]  # shown again
    assert "Hint 2 of 2" in outs[4][0].data["text/html"]
    assert outs[5][0].text.startswith("✓ Correct")


def test_the_book_build_runs_in_strict_mode():
    makefile = (ROOT / "Makefile").read_text()
    build_env = re.search(r"^BUILD_ENV :=(.*)$", makefile, re.M).group(1)
    assert "ASCTOOLS_STRICT_CHECKS=1" in build_env.split()
    assert "$(BUILD_ENV) $(BIN)/jupyter-book build" in makefile
