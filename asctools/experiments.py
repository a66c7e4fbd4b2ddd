"""Long-range experiments: train RNN, LSTM and GRU on the memory tasks.

:func:`run_task` trains one ``RecurrentModel`` (torch's fused layers) on
fresh batches of a task and tests it every ``eval_every`` steps on
sequences it never saw; it stops once the test metric is below the task's
threshold, or when ``max_sequences`` training sequences are used up.
:func:`length_sweep` repeats that over models, lengths and seeds. Both
return plain data (:class:`TaskResult`): the test metric against the
number of training sequences seen, the sequences needed to reach the
threshold, the trivial baseline. Everything is seeded.

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

import math
import numbers
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from asctools.dataset import (
    adding_problem,
    copy_task,
    first_element_task,
    trivial_baseline,
)
from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import set_seed

__all__ = [
    "TASKS",
    "KINDS",
    "BUILD_SWEEP",
    "FULL_SWEEP",
    "TaskResult",
    "run_task",
    "length_sweep",
]

KINDS = ("rnn", "lstm", "gru")
TEST_SEED = 10**9  # test sets use TEST_SEED + seed; training batches are
TRAIN_SEED = 10**6  # seeded TRAIN_SEED·(seed + 1) + step: never the same


@dataclass(frozen=True)
class _Task:
    """How to make data for a task and how to score a model on it."""

    input_size: int
    output_size: int
    criterion: nn.Module
    metric: str  # what ``TaskResult.test_metric`` holds
    threshold: float  # solved when the test metric is below this
    baseline: float  # the metric of the best memoryless model
    make: object  # (n_samples, seed) -> (x, y)


def _task(task: str, seq_len: int) -> _Task:
    """The task's sizes, criterion, metric, threshold and generator."""
    if task == "first_element":
        return _Task(
            1, 2, nn.CrossEntropyLoss(), "test error rate", 0.01,
            1 - trivial_baseline(task),  # error of guessing: 0.5
            lambda n, seed: first_element_task(n, seq_len, seed=seed),
        )  # fmt: skip
    if task == "adding":
        return _Task(
            2, 1, nn.MSELoss(), "test MSE", 0.01, trivial_baseline(task),
            lambda n, seed: adding_problem(n, seq_len, seed=seed),
        )  # fmt: skip
    if task == "copy":
        base = trivial_baseline("copy", seq_len)  # 10·ln 8/(T + 20)
        return _Task(
            10, 10, nn.CrossEntropyLoss(), "test cross-entropy",
            base / 10, base, lambda n, seed: copy_task(n, seq_len, seed=seed),
        )  # fmt: skip
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


TASKS = ("first_element", "adding", "copy")


@dataclass
class TaskResult:
    """One training run: plain numbers and lists, ready to plot or tabulate.

    ``sequences[i]`` training sequences had been seen when the test metric
    was ``test_metric[i]``; ``train_loss[i]`` is the mean training loss
    since the evaluation before. ``solved_at`` is the first entry of
    ``sequences`` whose test metric was below ``threshold`` (None if
    never); ``final`` the last test metric.
    """

    task: str
    kind: str
    seq_len: int
    seed: int
    metric: str
    baseline: float
    threshold: float
    sequences: list[int] = field(default_factory=list)
    test_metric: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    solved_at: int | None = None
    seconds: float = 0.0

    @property
    def final(self) -> float:
        """The last test metric (NaN before any evaluation)."""
        return self.test_metric[-1] if self.test_metric else math.nan


def run_task(
    task,
    kind,
    seq_len,
    *,
    max_sequences=20_000,
    hidden_size=32,
    batch_size=64,
    learning_rate=1e-2,
    eval_every=25,
    n_test=500,
    stop_when_solved=True,
    forget_bias=None,
    seed=0,
    device=None,
) -> TaskResult:
    """Train a ``RecurrentModel(kind=kind)`` on fresh batches of ``task``.

    Adam (``learning_rate``), batches of ``batch_size`` fresh sequences,
    gradient norm clipped at 1, hidden size ``hidden_size``. Every
    ``eval_every`` steps the model is tested on ``n_test`` fixed sequences
    (seed ``TEST_SEED + seed``). The model's initial weights come from
    ``set_seed(seed)``.

    Args:
        task: one of :data:`TASKS`. kind: one of :data:`KINDS`.
        seq_len: the task's T (the distance to remember over).
        max_sequences: the training budget in sequences (≥ batch_size).
        stop_when_solved: stop at the first test below the threshold.
        forget_bias: LSTM only: the forget gate's starting bias (None =
            torch's default init, b_f ~ U(−2/√H, 2/√H)).
        device: where to train (None = :func:`asctools.get_device`).

    Returns:
        A :class:`TaskResult`.
    """
    spec = _checked(task, kind, seq_len, max_sequences, batch_size,
                    eval_every, n_test, seed)  # fmt: skip
    set_seed(seed)
    model = RecurrentModel(
        spec.input_size, hidden_size, spec.output_size, kind=kind,
        forget_bias=forget_bias,
    )  # fmt: skip
    trainer = RNNTrainer(model, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    test = spec.make(n_test, TEST_SEED + seed)
    result = TaskResult(task, kind, seq_len, seed, spec.metric,
                        spec.baseline, spec.threshold)  # fmt: skip
    n_steps = max_sequences // batch_size
    start = time.perf_counter()
    for first in range(0, n_steps, eval_every):
        steps = min(eval_every, n_steps - first)
        offset = TRAIN_SEED * (seed + 1) + first

        def batch(step, offset=offset):
            return spec.make(batch_size, offset + step)

        losses = trainer.train_stream(
            batch, steps, criterion=spec.criterion, optimizer=opt,
            clip_grad_norm=1.0, eval_every=steps, show_progress=False,
        )  # fmt: skip
        _record(result, trainer, spec, test, (first + steps) * batch_size)
        result.train_loss.append(losses[-1])
        if stop_when_solved and result.solved_at is not None:
            break
    result.seconds = time.perf_counter() - start
    return result


def _record(result, trainer, spec, test, seen) -> None:
    """Test the model; append the metric; note when it is first solved."""
    loss, acc = trainer.evaluate(*test, criterion=spec.criterion)
    value = 1.0 - acc if result.task == "first_element" else loss
    result.sequences.append(seen)
    result.test_metric.append(value)
    if result.solved_at is None and value < spec.threshold:
        result.solved_at = seen


BUILD_SWEEP = {"lengths": (10, 30, 100), "seeds": (0,)}
FULL_SWEEP = {
    "lengths": (10, 30, 100, 300),
    "seeds": (0, 1, 2),
    "max_sequences": 100_000,
}


def length_sweep(
    task, kinds=KINDS, lengths=None, seeds=None, full=False, **kw
) -> list[TaskResult]:
    """:func:`run_task` for every kind × length × seed (in that order).

    ``lengths`` and ``seeds`` default to :data:`BUILD_SWEEP` (small enough
    for the book's build), or with ``full=True`` to :data:`FULL_SWEEP`,
    which also raises ``max_sequences`` to 100,000 unless ``kw`` sets it.
    ``kw`` goes to :func:`run_task` (``max_sequences``, ``hidden_size``,
    ...). Returns the results in a flat list.
    """
    preset = dict(FULL_SWEEP if full else BUILD_SWEEP)
    lengths = preset.pop("lengths") if lengths is None else lengths
    seeds = preset.pop("seeds") if seeds is None else seeds
    kw = {"max_sequences": preset.get("max_sequences", 20_000), **kw}
    for name, values in (("kinds", kinds), ("lengths", lengths),
                         ("seeds", seeds)):  # fmt: skip
        if isinstance(values, (str, bytes)) or not isinstance(
            values, (list, tuple)
        ):
            raise TypeError(f"{name} must be a list or tuple, got {values!r}")
        if not values:
            raise ValueError(f"{name} must not be empty")
    return [
        run_task(task, kind, t, seed=s, **kw)
        for kind in kinds
        for t in lengths
        for s in seeds
    ]


def _checked(task, kind, seq_len, max_sequences, batch_size, eval_every,
             n_test, seed) -> _Task:  # fmt: skip
    """Check run_task's arguments; return the task's spec."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    for name, value, low in (
        ("seq_len", seq_len, 2),
        ("batch_size", batch_size, 1),
        ("eval_every", eval_every, 1),
        ("n_test", n_test, 1),
        ("seed", seed, 0),
        ("max_sequences", max_sequences, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if max_sequences < batch_size:
        raise ValueError(
            f"max_sequences must be >= batch_size ({batch_size}), got "
            f"{max_sequences}"
        )
    return _task(task, seq_len)
