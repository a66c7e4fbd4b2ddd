"""asctools: the helper package of the course *Why RNNs forget and how LSTMs
remember*.

Submodules (imported on use, so ``import asctools`` stays light):
``asctools.nn`` (from-scratch RNN/LSTM/GRU equal to ``torch.nn``),
``asctools.models`` (``RecurrentModel`` and the step-wise models of the
original course), ``asctools.dataset`` (tasks and the Python-source
corpus), ``asctools.rnn_trainer`` (the training loops),
``asctools.handmade`` (the LSTM by hand in NumPy, BPTT and RTRL),
``asctools.gradflow`` (instruments), ``asctools.text`` (character models
of real text), ``asctools.experiments`` (what the book trains, and the
results store), ``asctools.plots`` (figures), ``asctools.exercises``.
README's "How the package is built" says how they depend on each other.

Importing the package pins torch's CPU kernels to AVX2 (oneDNN's, which
torch.nn's LSTM and GRU use, through ``ONEDNN_MAX_CPU_ISA``, and ATen's,
through ``ATEN_CPU_CAPABILITY``), unless those variables are already set:
an AVX-512 CPU rounds a float32 LSTM differently in the last bit, and a
training run that differs in one bit drifts apart. With the pin the results
store (``make experiments``) reproduces to the last digit on any x86 CPU
with AVX2 (other CPUs are left alone). It must happen before torch's first
operation, so import asctools first; set the variables yourself to choose
other kernels.
"""

import os
import platform

if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

from asctools.utils import get_device, glue, set_seed, set_threads

__version__ = "0.1.0"
__all__ = ["get_device", "glue", "set_seed", "set_threads", "__version__"]
