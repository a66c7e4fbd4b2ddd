"""What every exercise of every chapter (``asctools.exercises.chNN``) must
do: its reference passes quickly, its untouched skeleton is "not attempted"
(also in strict mode), its hints and solution display, its checker leaves
the global random states alone; each chapter has unique labels and mixes
the kinds. The chapter files test the realistic wrong answers."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest
import torch

import asctools.exercises as package
from asctools.exercises import Exercise
from asctools.exercises.core import KINDS

torch.set_num_threads(1)
CHAPTERS = {
    info.name: importlib.import_module(f"{package.__name__}.{info.name}")
    for info in pkgutil.iter_modules(package.__path__)
    if re.fullmatch(r"ch\d\d", info.name)
}
# (chapter, exercise): the Exercise objects a chapter module defines
EXERCISES = [
    (name, obj)
    for name, module in CHAPTERS.items()
    for obj in vars(module).values()
    if isinstance(obj, Exercise)
]
DECORATORS = ("@torch.no_grad()",)  # allowed above a reference solution


def _exercises(chapter):
    return [e for c, e in EXERCISES if c == chapter]


each_exercise = pytest.mark.parametrize(
    "exercise", [e for _, e in EXERCISES], ids=lambda e: e.label
)


def _skeleton(exercise):
    """The answer as a notebook hands it out, before the reader edits it."""
    if exercise.kind == "predict":
        return None
    if inspect.isclass(exercise.solution_fn):
        bases = exercise.solution_fn.__bases__  # e.g. (nn.Module,)

        class answer(*bases):  # noqa: N801 (the skeleton's shape)
            def __init__(self, *args, **kwargs):
                super().__init__()
                raise NotImplementedError  # your code here

        return answer

    def answer(*args):
        raise NotImplementedError  # your code here

    return answer


def test_every_chapter_module_is_found():
    # at least the chapters that have a tests/test_exercises_chNN.py
    assert set(CHAPTERS) >= {f"ch{i:02d}" for i in range(1, 8)}
    assert len(EXERCISES) >= 3 * len(CHAPTERS)


@each_exercise
def test_the_reference_solution_passes_quickly(exercise):
    result = exercise.check(exercise.reference_answer())
    assert result.passed, result.message
    assert result.elapsed_s < 5  # well under a second when not loaded


@each_exercise
def test_the_untouched_skeleton_is_not_attempted(
    exercise, monkeypatch, verdict
):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")  # and never raises
    status, message = verdict(exercise, _skeleton(exercise))
    assert status == "not attempted"
    assert ("NotImplementedError" in message) != (exercise.kind == "predict")


@each_exercise
def test_hints_and_solution(exercise):
    assert 2 <= len(exercise.hints) <= 3
    last = len(exercise.hints)
    assert f"Hint {last} of {last}" in exercise.hint(last).title
    assert "only" in exercise.hint(last + 1).text
    code = exercise.solution().code
    source = inspect.getsource(exercise.solution_fn).split("\n")
    n_dec = next(i for i, s in enumerate(source) if not s.startswith("@"))
    assert set(source[:n_dec]) <= set(DECORATORS)
    keyword = "class" if inspect.isclass(exercise.solution_fn) else "def"
    header = "".join(f"{d}\n" for d in source[:n_dec])
    assert code.startswith(f"{header}{keyword} {exercise.name}(")
    body = "\n".join(source[n_dec + 1 :])  # below the def/class line
    assert body.rstrip() in code  # the code shown is the code tested


@each_exercise
def test_checks_leave_the_global_random_states_alone(exercise):
    answer = exercise.reference_answer()  # e.g. nn.RNN(10, 20) draws
    torch.manual_seed(123)
    np.random.seed(123)
    expected = torch.rand(3), np.random.rand(3)
    torch.manual_seed(123)
    np.random.seed(123)
    exercise.check(answer)
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])


@pytest.mark.parametrize("chapter", list(CHAPTERS))
def test_labels_are_unique_and_the_kinds_mixed(chapter):
    exercises = _exercises(chapter)
    assert len(exercises) >= 3
    assert len({e.label for e in exercises}) == len(exercises)
    assert all(e.label.startswith(f"{chapter}-ex-") for e in exercises)
    assert {e.kind for e in exercises} == set(KINDS)  # all three kinds


@each_exercise
def test_the_solution_shown_fits_79_columns(exercise):
    # the book shows this code: nothing may scroll sideways (STYLE.md 15)
    long = [ln for ln in exercise.solution().code.splitlines() if len(ln) > 79]
    assert long == []


@each_exercise
def test_helpers_and_demo_are_public_and_shown_after_the_reference(exercise):
    code = exercise.solution().code
    for fn in filter(None, [*exercise.helpers, exercise.demo_fn]):
        assert not fn.__name__.startswith("_"), fn.__name__
        keyword = "class" if inspect.isclass(fn) else "def"
        assert code.index(f"\n{keyword} {fn.__name__}(") > 0
