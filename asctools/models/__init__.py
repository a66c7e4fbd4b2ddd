"""The course's models, all called as ``model(x, state=None)``.

* :class:`RecurrentModel`: a ``torch.nn`` or ``asctools.nn`` RNN, LSTM or
  GRU layer with a linear read-out (the long-range experiments' model);
* :class:`StepwiseRNN`, :class:`StepwiseLSTM`: the original course's
  step-wise models, which keep every state as an ordinary tensor
  (``asctools.rnn.RNN`` and ``asctools.rnn.LSTM`` are these);
* :class:`LessonLSTM`: the older lesson's LSTM module of chapter 4;
* :mod:`asctools.models.init`: initialisations (orthogonal recurrent
  weights, gate biases); :mod:`asctools.models.protocol`: how the trainer
  and the instruments call a model.
"""

from asctools.models.init import orthogonal_recurrent_, set_gate_bias_
from asctools.models.lesson import LessonLSTM
from asctools.models.protocol import initial_state, output_of, run
from asctools.models.recurrent import KINDS, RecurrentModel
from asctools.models.stepwise import StepwiseLSTM, StepwiseModel, StepwiseRNN

__all__ = [
    "KINDS",
    "LessonLSTM",
    "RecurrentModel",
    "StepwiseLSTM",
    "StepwiseModel",
    "StepwiseRNN",
    "initial_state",
    "orthogonal_recurrent_",
    "output_of",
    "run",
    "set_gate_bias_",
]
