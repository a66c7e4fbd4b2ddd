"""The old import path of truncated RTRL, the LSTM learning method.

Kept so that code written against it still runs; the code lives in
:mod:`asctools.handmade.rtrl`.
"""

import warnings

from asctools.handmade.rtrl import TruncatedRTRL, rtrl_loss_and_gradients

__all__ = [
    "TruncatedRTRL",
    "rtrl_loss_and_gradients",
]

warnings.warn(
    "asctools.rtrl is an old import path: import from asctools.handmade.rtrl",
    FutureWarning,
    stacklevel=2,
)
