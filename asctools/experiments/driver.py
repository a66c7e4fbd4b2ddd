"""The one fresh-batch training driver of the experiments, and its seeds.

Every experiment that trains on fresh data follows one seed rule, so that
a run is named by ``(configuration, seed)`` and nothing else:

* the model's initial weights: ``set_seed(seed)`` right before the model
  is built (the experiment builds it);
* training batch ``s`` (s = 0, 1, ...): ``batch_seed(seed, s)``;
* the fixed test set: ``test_seed(seed)``.

The three ranges never meet for seeds below 999 and runs of fewer than
a million steps, so a test sequence is never a training sequence.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from asctools._validate import check_int, check_seed
from asctools.rnn_trainer import RNNTrainer

__all__ = ["TEST_SEED", "TRAIN_SEED", "batch_seed", "test_seed", "train_fresh"]

TRAIN_SEED = 10**6  # batch s of seed k: TRAIN_SEED·(k + 1) + s
TEST_SEED = 10**9  # the test set of seed k: TEST_SEED + k


def batch_seed(seed: int, step: int) -> int:
    """The data seed of training batch ``step`` of run ``seed``."""
    return TRAIN_SEED * (seed + 1) + step


def test_seed(seed: int) -> int:
    """The data seed of run ``seed``'s fixed test set."""
    return TEST_SEED + seed


def train_fresh(
    model: nn.Module,
    make: Callable,
    steps: int,
    *,
    seed: int,
    batch_size: int = 64,
    eval_every: int = 100,
    device=None,
    **options,
) -> RNNTrainer:
    """Train ``model`` for ``steps`` steps on fresh batches of a task.

    ``make(n, data_seed) -> (x, y)`` generates the task; batch ``s`` is
    ``make(batch_size, batch_seed(seed, s))``. ``options`` are those of
    :class:`~asctools.rnn_trainer.TrainConfig` (``criterion``,
    ``learning_rate``, ``clip_grad_norm``, ``on_eval`` ...); progress is
    not shown unless ``show_progress=True``. Returns the trainer, whose
    ``history`` holds the run.
    """
    seed = check_seed("seed", seed, allow_none=False)
    batch_size = check_int("batch_size", batch_size, 1)
    trainer = RNNTrainer(model, device=device)
    options.setdefault("show_progress", False)

    def batch(step):
        return make(batch_size, batch_seed(seed, step))

    trainer.train_stream(batch, steps, eval_every=eval_every, **options)
    return trainer
