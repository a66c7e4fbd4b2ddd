"""How a trained tanh RNN holds the first element: read it at every step.

:func:`latch_run` trains a tanh RNN on the first-element task as the
long-range grid does and then reads, on fixed test sequences, whether the
read-out would give the right answer at every step t (not only at the
last, where it was trained), and how the product of step Jacobians from
t = 50 to T treats the directions of the state (its singular values). A
network that stores the bit in a fixed state is right at every late step;
one that stores it in the phase of an oscillation is right only at the
steps that share the last step's phase.
"""

from __future__ import annotations

import numpy as np

from asctools.dataset import first_element_task
from asctools.experiments.driver import test_seed
from asctools.experiments.long_range import run_task
from asctools.gradflow import rnn_jacobian_norms, unroll

__all__ = ["latch_run", "readout_accuracy"]


def readout_accuracy(model, x, y) -> np.ndarray:
    """(T,): the share of sequences whose read-out at step t is right."""
    pred = unroll(model, x).pred.detach().numpy()  # (B, T, 2)
    right = (pred[..., 1] > pred[..., 0]) == (y.numpy()[:, None] == 1)
    return right.mean(axis=0)


def latch_run(seq_len=100, seed=0, max_sequences=20_000, n_probe=200,
              device="cpu") -> dict:  # fmt: skip
    """Train (as ``run_task``), then probe; a record for the store."""
    result = run_task("first_element", "rnn", seq_len, seed=seed,
                      max_sequences=max_sequences, keep_model=True,
                      device=device)  # fmt: skip
    record = result.record()
    x, y = first_element_task(n_probe, seq_len, seed=test_seed(seed) + 1)
    record["accuracy_by_step"] = readout_accuracy(result.model, x, y).tolist()
    sv = rnn_jacobian_norms(result.model, x, start=seq_len // 2)
    record["singular_values"] = np.median(sv.final_singular_values,
                                          axis=0).tolist()  # fmt: skip
    return record
