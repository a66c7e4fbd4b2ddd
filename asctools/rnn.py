"""The original course's step-wise models, at their original import path.

``from asctools.rnn import RNN`` is the path the course's seed chapter
uses, so it stays; the models live in :mod:`asctools.models.stepwise`
(``asctools.rnn.RNN is asctools.models.StepwiseRNN``). They are not the
``torch.nn`` twins of :mod:`asctools.nn`: they run one step at a time and
carry a read-out.
"""

from asctools.models.stepwise import StepwiseLSTM as LSTM
from asctools.models.stepwise import StepwiseRNN as RNN

__all__ = ["RNN", "LSTM"]
