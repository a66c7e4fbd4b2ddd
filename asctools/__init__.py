"""asctools: the helper package of the course *Why RNNs forget and how LSTMs
remember*.

Submodules (imported on use, so ``import asctools`` stays light):
``asctools.nn`` (from-scratch RNN/LSTM/GRU equal to ``torch.nn``),
``asctools.rnn`` (the step-wise models of the original course),
``asctools.rnn_trainer`` (the trainer), ``asctools.dataset`` (tasks),
``asctools.numpy_lstm`` / ``asctools.rtrl`` (the LSTM by hand),
``asctools.gradflow`` and ``asctools.plots`` (gradient-flow instruments).
"""

from asctools.utils import get_device, glue, set_seed, set_threads

__version__ = "0.1.0"
__all__ = ["get_device", "glue", "set_seed", "set_threads", "__version__"]
