"""The old import path of the practice chapter's instruments.

Kept so that code written against it still runs; the code lives in
:mod:`asctools.experiments`.
"""

import warnings

from asctools.dataset import IGNORE_INDEX, delayed_bits
from asctools.experiments.initialisation import (
    forget_bias_runs,
    steps_to_learn,
)
from asctools.experiments.truncation import (
    saved_tensor_bytes,
    stream_accuracy,
    tbptt_train,
)
from asctools.utils import detach_state

__all__ = [
    "IGNORE_INDEX",
    "detach_state",
    "delayed_bits",
    "tbptt_train",
    "stream_accuracy",
    "saved_tensor_bytes",
    "forget_bias_runs",
    "steps_to_learn",
]

warnings.warn(
    "asctools.practice is an old import path: import from "
    "asctools.experiments",
    FutureWarning,
    stacklevel=2,
)
