"""Language models of real text, their baselines, and what they remember.

* :mod:`asctools.text.charlm`: character models (tanh RNN, LSTM, GRU),
  trained by truncated BPTT, scored, sampled;
* :mod:`asctools.text.ngram`: the baselines, unigram and Kneser-Ney;
* :mod:`asctools.text.syntax`: where Python source opens and closes
  brackets and strings, per character;
* :mod:`asctools.text.probes`: closers by distance, loss by context,
  units correlated with the syntax.

The corpus is :mod:`asctools.dataset.pysource`; the stored experiment is
:mod:`asctools.experiments.char_lm`.
"""

from asctools.text.charlm import (
    CharLM,
    bits_per_char,
    char_log2_probs,
    hidden_size_for,
    lstm_internals,
    n_params,
    sample,
    train_char_lm,
)
from asctools.text.ngram import KneserNey, Unigram

__all__ = [
    "CharLM",
    "KneserNey",
    "Unigram",
    "bits_per_char",
    "char_log2_probs",
    "hidden_size_for",
    "lstm_internals",
    "n_params",
    "sample",
    "train_char_lm",
]
