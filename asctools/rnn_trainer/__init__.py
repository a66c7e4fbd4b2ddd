"""The training loop of the course (minGPT's minimal honest loop).

``RNNTrainer(model, device=None)`` with ``train(...)`` on a fixed data set
and ``train_stream(batch_fn, steps, ...)`` on fresh batches (long-range
tasks count sequences seen); both share one loop body, one set of options
(:class:`TrainConfig`) and fill ``trainer.history``. :func:`match_targets`
says which outputs each target shape is compared with; a target shape that
fits none raises :class:`TargetShapeError` (a ValueError and a
RuntimeError).
"""

from asctools.rnn_trainer.config import TrainConfig
from asctools.rnn_trainer.targets import TargetShapeError, match_targets
from asctools.rnn_trainer.trainer import RNNTrainer

__all__ = ["RNNTrainer", "TargetShapeError", "TrainConfig", "match_targets"]
