"""The hand-written NumPy LSTM on the first-element task, over seeds.

Two experiments of the results store train
:func:`asctools.handmade.train_memory_task` (H = 32 or 8, Adam 1e-2,
fresh batches of 64, each batch scored *before* the update it gives):

* ``handmade_cells``: the 1997 cell (no forget gate) with its input gates
  started closed (bias −2) or open (bias 0), and the modern cell with a
  forget bias of 3, at T = 100;
* ``handmade_methods``: the 1997 cell (H = 8) trained by BPTT or by the
  truncated gradient of the LSTM learning method, at several T.

A run is solved when the mean accuracy of its last 10 batches reaches
99 % (the training loop's own stopping rule); ``solved_at`` is the number
of training sequences seen then. Budgets are whole batches. Every run is
seeded by its configuration alone (``train_memory_task(seed=...)`` draws
the weights and every batch from one ``np.random.Generator``).
"""

from __future__ import annotations

import numpy as np

from asctools.experiments.store import SEEDS
from asctools.handmade.training import train_memory_task

__all__ = [
    "CELLS",
    "CELL_BUDGET",
    "METHOD_BUDGET",
    "METHOD_LENGTHS",
    "cells_configs",
    "memory_record",
    "methods_configs",
    "windowed_error",
]

BATCH = 64
WINDOW = 10  # the stopping rule's window of batches
# name -> train_memory_task keywords of the cells compared at T = 100
CELLS = {
    "1997, input bias -2": {"forget_gate": False, "input_bias": -2.0},
    "1997, input bias 0": {"forget_gate": False, "input_bias": 0.0},
    "modern, forget bias 3": {
        "forget_gate": True,
        "forget_bias": 3.0,
        "input_bias": -2.0,
    },
}
# fixed before the runs: 500 batches, against the 58,370 sequences of
# Hochreiter & Schmidhuber 1997 (Exp. 3a, T = 100)
CELL_BUDGET = 500 * BATCH  # 32,000 sequences
METHOD_LENGTHS = (25, 50, 100, 200)
METHOD_BUDGET = 160 * BATCH  # 10,240 sequences


def cells_configs() -> list[dict]:
    """The runs of ``handmade_cells``: every cell × seed at T = 100."""
    return [
        dict(
            task="first_element",
            cell=cell,
            seq_len=100,
            hidden_size=32,
            method="bptt",
            seed=seed,
            budget=CELL_BUDGET,
        )  # fmt: skip
        for cell in CELLS
        for seed in SEEDS
    ]


def methods_configs() -> list[dict]:
    """The runs of ``handmade_methods``: BPTT and the truncated RTRL of
    the LSTM learning method × T × seed, the 1997 cell with H = 8."""
    return [
        dict(
            task="first_element",
            cell="1997, input bias -2",
            seq_len=t,
            hidden_size=8,
            method=method,
            seed=seed,
            budget=METHOD_BUDGET,
        )  # fmt: skip
        for method in ("bptt", "rtrl")
        for t in METHOD_LENGTHS
        for seed in SEEDS
    ]


def windowed_error(accuracy, window=WINDOW) -> list[float]:
    """1 − the mean batch accuracy of the last ``window`` batches (fewer at
    the start), after every update: the curve the stopping rule reads."""
    acc = np.asarray(accuracy, dtype=np.float64)
    sums = np.cumsum(acc)
    n = np.arange(1, len(acc) + 1)
    lagged = np.concatenate([np.zeros(window), sums[:-window]])[: len(acc)]
    mean = (sums - lagged) / np.minimum(n, window)
    return [round(float(1 - m), 6) for m in mean]


def memory_record(config: dict, device=None) -> dict:
    """Train one configuration; return its record for the store.

    ``sequences[i]`` sequences had been seen after update i + 1;
    ``test_metric[i]`` is the batch error rate then (one minus the mean
    accuracy of the last 10 batches, each scored before its update);
    ``accuracy`` is the final model's on 1000 fresh sequences. ``device``
    is ignored: NumPy runs on the CPU.
    """
    result = train_memory_task(
        seq_len=config["seq_len"],
        hidden_size=config["hidden_size"],
        batch_size=BATCH,
        lr=1e-2,
        max_sequences=config["budget"],
        method=config["method"],
        seed=config["seed"],
        **CELLS[config["cell"]],
    )
    history = result.history
    n = len(history["accuracy"])
    return {
        "config": config,
        **{
            k: config[k]
            for k in ("task", "cell", "method", "seq_len", "seed", "budget")
        },  # fmt: skip
        "kind": "numpy lstm",
        "init": config["cell"],
        "solved_at": result.n_sequences_seen if result.solved else None,
        "sequences": [BATCH * (i + 1) for i in range(n)],
        "test_metric": windowed_error(history["accuracy"]),
        "metric": "batch error rate (mean of the last 10 batches)",
        "baseline": 0.5,
        "threshold": 0.01,
        "accuracy": result.accuracy,
        "final_bce": float(history["bce"][-1]),
    }
