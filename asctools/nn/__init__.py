"""From-scratch recurrent modules equal to their ``torch.nn`` twins.

``RNNCell``, ``LSTMCell``, ``GRUCell`` (one step) and ``RNN``, ``LSTM``,
``GRU`` (multi-layer, whole sequences) take torch.nn's arguments, return
what torch.nn returns and name their parameters as torch.nn does, so a
``state_dict`` moves across in both directions. The single-step equations
are in :mod:`asctools.nn.functional`.
"""

from asctools.nn import functional
from asctools.nn.cells import GRUCell, LSTMCell, RNNCell
from asctools.nn.layers import GRU, LSTM, RNN

__all__ = [
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "RNN",
    "LSTM",
    "GRU",
    "functional",
]
