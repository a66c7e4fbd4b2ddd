"""The long-range tasks as experiments see them: data, loss, metric, bar.

Tasks (generators in :mod:`asctools.dataset`), metric and threshold:

* ``"first_element"``: test *error rate* (1 − accuracy) at the last step;
  solved below 0.01; baseline 0.5.
* ``"adding"`` (the modern variant): test MSE at the last step; solved
  below 0.01; baseline 1/6.
* ``"copy"`` (8 symbols, 10 to recall): test cross-entropy per step over
  all ``seq_len + 20`` steps; solved below a tenth of the baseline
  ``10·ln 8 / (seq_len + 20)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from asctools._validate import check_choice, check_int
from asctools.dataset import (
    adding_problem,
    copy_task,
    first_element_task,
    trivial_baseline,
)

__all__ = ["TASKS", "TaskSpec", "task_spec"]

TASKS = ("first_element", "adding", "copy")


@dataclass(frozen=True)
class TaskSpec:
    """How to make data for a task and how to score a model on it."""

    name: str
    seq_len: int
    input_size: int
    output_size: int
    criterion: nn.Module
    metric: str  # what a result's ``test_metric`` holds
    threshold: float  # solved when the test metric is below this
    baseline: float  # the metric of the best memoryless model
    make: Callable  # (n_samples, data_seed) -> (x, y)

    def score(self, loss: float, accuracy: float) -> float:
        """The task's metric from a test loss and accuracy."""
        return 1.0 - accuracy if self.name == "first_element" else loss


def task_spec(task: str, seq_len: int) -> TaskSpec:
    """The spec of ``task`` (one of :data:`TASKS`) at length ``seq_len``."""
    check_choice("task", task, TASKS)
    t = check_int("seq_len", seq_len, 2)
    if task == "first_element":
        return TaskSpec(
            task, t, 1, 2, nn.CrossEntropyLoss(), "test error rate", 0.01,
            1 - trivial_baseline(task),  # the error of guessing: 0.5
            lambda n, seed: first_element_task(n, t, seed=seed),
        )  # fmt: skip
    if task == "adding":
        return TaskSpec(
            task, t, 2, 1, nn.MSELoss(), "test MSE", 0.01,
            trivial_baseline(task),
            lambda n, seed: adding_problem(n, t, seed=seed),
        )  # fmt: skip
    base = trivial_baseline("copy", t)  # 10·ln 8/(T + 20)
    return TaskSpec(
        task, t, 10, 10, nn.CrossEntropyLoss(), "test cross-entropy",
        base / 10, base, lambda n, seed: copy_task(n, t, seed=seed),
    )  # fmt: skip
