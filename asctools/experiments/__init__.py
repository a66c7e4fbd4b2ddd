"""Experiments: each trains or measures something the book reports.

One fresh-batch driver with one seed rule (:mod:`~.driver`) serves them
all; each concept has its module:

* :mod:`~.tasks`: the long-range tasks' data, loss, metric and threshold;
* :mod:`~.long_range`: RNN, LSTM and GRU on those tasks, against length;
* :mod:`~.gradient_ratio`: how much gradient reaches the middle of a
  sequence, at initialisation and after training;
* :mod:`~.clipping`: an exploding RNN with and without clipping;
* :mod:`~.initialisation`: what the starting gate biases decide;
* :mod:`~.truncation`: truncated BPTT on long streams and its memory.
"""

from asctools.experiments.clipping import ClippingRuns, clipping_comparison
from asctools.experiments.driver import (
    TEST_SEED,
    TRAIN_SEED,
    batch_seed,
    test_seed,
    train_fresh,
)
from asctools.experiments.gradient_ratio import (
    RATIO_CONFIGS,
    RatioResult,
    adding_ratio,
    ratio_table,
)
from asctools.experiments.initialisation import (
    forget_bias_runs,
    steps_to_learn,
)
from asctools.experiments.long_range import (
    BUILD_SWEEP,
    FULL_SWEEP,
    TaskResult,
    length_sweep,
    run_task,
)
from asctools.experiments.tasks import TASKS, TaskSpec, task_spec
from asctools.experiments.truncation import (
    saved_tensor_bytes,
    stream_accuracy,
    tbptt_train,
)
from asctools.models import KINDS

__all__ = [
    "BUILD_SWEEP",
    "ClippingRuns",
    "FULL_SWEEP",
    "KINDS",
    "RATIO_CONFIGS",
    "RatioResult",
    "TASKS",
    "TEST_SEED",
    "TRAIN_SEED",
    "TaskResult",
    "TaskSpec",
    "adding_ratio",
    "batch_seed",
    "clipping_comparison",
    "forget_bias_runs",
    "length_sweep",
    "ratio_table",
    "run_task",
    "saved_tensor_bytes",
    "steps_to_learn",
    "stream_accuracy",
    "task_spec",
    "tbptt_train",
    "test_seed",
    "train_fresh",
]
