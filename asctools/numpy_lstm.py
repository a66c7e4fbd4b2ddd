"""The old import path of the NumPy LSTM.

Kept so that code written against it still runs; the code lives in
:mod:`asctools.handmade`.
"""

import warnings

from asctools.handmade.gate import ACTIVATIONS, Gate, as_rng
from asctools.handmade.lstm import NumpyLSTM

__all__ = [
    "ACTIVATIONS",
    "Gate",
    "NumpyLSTM",
    "as_rng",
]

warnings.warn(
    "asctools.numpy_lstm is an old import path: import from asctools.handmade",
    FutureWarning,
    stacklevel=2,
)
