"""The LSTM by hand in NumPy, its gradients three ways, and their checks.

* :mod:`~asctools.handmade.gate`: ``Gate``, a = φ(W x + R h + b), with
  forward, backward, zero_grad and update;
* :mod:`~asctools.handmade.lstm`: ``NumpyLSTM``, the 1997 cell and the
  modern one, with backpropagation through time step by step;
* :mod:`~asctools.handmade.losses`, :mod:`~asctools.handmade.optim`: the
  memory task's BCE (and its published sign error), Adam;
* :mod:`~asctools.handmade.gradcheck`: central finite differences;
* :mod:`~asctools.handmade.bptt`, :mod:`~asctools.handmade.rtrl`,
  :mod:`~asctools.handmade.rtrl_full`: the gradient by BPTT, by truncated
  RTRL (the LSTM learning method) and by full RTRL;
* :mod:`~asctools.handmade.training`: training on the memory task with
  any of :data:`GRADIENT_METHODS`; :mod:`~asctools.handmade.measure`: the
  cost and memory of the methods, and how far T goes.
"""

from asctools.handmade.bptt import bptt_loss_and_gradients, gradient_check_lstm
from asctools.handmade.gate import ACTIVATIONS, Gate, sigmoid
from asctools.handmade.gradcheck import (
    GradCheckResult,
    gradient_check,
    numerical_gradient,
    relative_error,
)
from asctools.handmade.losses import (
    LOSSES,
    bce_with_logits,
    published_bce_with_logits,
)
from asctools.handmade.lstm import NumpyLSTM
from asctools.handmade.optim import Adam
from asctools.handmade.rtrl import TruncatedRTRL, rtrl_loss_and_gradients
from asctools.handmade.rtrl_full import FullRTRL, full_rtrl_loss_and_gradients
from asctools.handmade.training import (
    GRADIENT_METHODS,
    TrainResult,
    memory_task_data,
    train_memory_task,
)

__all__ = [
    "ACTIVATIONS",
    "Adam",
    "FullRTRL",
    "GRADIENT_METHODS",
    "Gate",
    "GradCheckResult",
    "LOSSES",
    "NumpyLSTM",
    "TrainResult",
    "TruncatedRTRL",
    "bce_with_logits",
    "bptt_loss_and_gradients",
    "full_rtrl_loss_and_gradients",
    "gradient_check",
    "gradient_check_lstm",
    "memory_task_data",
    "numerical_gradient",
    "published_bce_with_logits",
    "relative_error",
    "rtrl_loss_and_gradients",
    "sigmoid",
    "train_memory_task",
]
