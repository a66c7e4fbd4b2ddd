"""The training loop of the course (minGPT's minimal honest loop).

``RNNTrainer(model, device=None)`` with ``train(...)`` on a fixed data set
and ``train_stream(batch_fn, steps, ...)`` on fresh batches (long-range
tasks count sequences seen); both share one loop body and fill
``trainer.history``. :func:`match_targets` says which outputs each target
shape is compared with.
"""

from asctools.rnn_trainer._data import match_targets
from asctools.rnn_trainer.trainer import RNNTrainer

__all__ = ["RNNTrainer", "match_targets"]
