"""Truncated backpropagation through time (Williams & Peng 1990), measured.

* :func:`tbptt_train`: a long stream cut into chunks, the state carried
  from chunk to chunk but cut from autograd's graph, and
  :func:`stream_accuracy`, a model scored on a whole stream (e.g. the
  delayed bits of :func:`asctools.dataset.delayed_bits`, whose dependency
  has a known length): both live in :mod:`asctools.rnn_trainer.tbptt`,
  next to the other training loop, and are re-exported here;
* :func:`saved_tensor_bytes`: the bytes autograd keeps for the backward
  pass, the memory that BPTT needs and truncation bounds;
* :func:`tbptt_record`: one run of the stored experiment
  ``tbptt_chunks``, chunk lengths on both sides of a lag of 6.
"""

from __future__ import annotations

import torch
from torch import Tensor

from asctools._validate import check_callable
from asctools.dataset import delayed_bits
from asctools.experiments.driver import batch_seed, test_seed
from asctools.experiments.handmade_memory import windowed_error
from asctools.experiments.store import SEEDS
from asctools.models import RecurrentModel
from asctools.rnn_trainer.tbptt import stream_accuracy, tbptt_train
from asctools.utils import set_seed

__all__ = [
    "TBPTT_CHUNKS",
    "saved_tensor_bytes",
    "stream_accuracy",
    "tbptt_configs",
    "tbptt_record",
    "tbptt_train",
]


def saved_tensor_bytes(fn):
    """Call ``fn()``; return ``(its result, bytes autograd saved)``.

    Counts each storage that autograd saves for the backward pass once
    (tensors saved by several operations share their storage): the
    activation memory that backpropagation through ``fn`` needs.
    """
    check_callable("fn", fn)
    storages: dict[int, int] = {}  # data pointer -> bytes

    def pack(t: Tensor) -> Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(storages.values())


# --- the stored experiment: which chunk lengths learn a lag of 6 -------

TBPTT_DELAY = 6
TBPTT_CHUNKS = (3, 6, 7, 18)  # around the boundary k − 1 = 6
TBPTT_UPDATES = 300  # the budget, in updates (one per chunk)


def tbptt_configs() -> list[dict]:
    """Every run of ``tbptt_chunks``: chunk lengths × five seeds."""
    return [
        dict(
            task="delayed_bits",
            kind="lstm",
            delay=TBPTT_DELAY,
            chunk_len=k,
            hidden_size=16,
            streams=32,
            updates=TBPTT_UPDATES,
            seed=seed,
        )  # fmt: skip
        for k in TBPTT_CHUNKS
        for seed in SEEDS
    ]


def tbptt_record(config: dict, device="cpu") -> dict:
    """Train one configuration of ``tbptt_chunks``; return its record.

    An LSTM (``RecurrentModel``, torch's default initialisation) reads 32
    streams of ``updates · chunk_len`` random bits whose target is the bit
    ``delay`` steps back, by truncated BPTT in chunks of ``chunk_len``
    (Adam 1e-2, clip 1). ``sequences[i]``: the chunks of 32 streams seen
    after update i + 1 (a chunk without any target gives no update, so
    the first ``delay // chunk_len`` chunks are skipped); ``test_metric``:
    one minus the mean accuracy of
    the last 10 chunks (each scored before its update); solved when that
    reaches 95 %. ``accuracy``: the trained model on 64 fresh streams of
    500 steps, run without truncation.
    """
    c = config
    set_seed(c["seed"])
    model = RecurrentModel(1, c["hidden_size"], 2)
    x, y = delayed_bits(c["streams"], c["updates"] * c["chunk_len"],
                        c["delay"], seed=batch_seed(c["seed"], 0))  # fmt: skip
    hist = tbptt_train(model, x, y, chunk_len=c["chunk_len"])
    x_test, y_test = delayed_bits(64, 500, c["delay"],
                                  seed=test_seed(c["seed"]))  # fmt: skip
    error = windowed_error(hist["accuracy"])
    solved = [i for i, e in enumerate(error) if e <= 0.05]
    n = c["streams"]
    return {
        "config": config,
        **{k: c[k] for k in ("task", "kind", "chunk_len", "seed")},
        "seq_len": c["delay"],
        "init": "default",
        "budget": n * c["updates"],  # chunks without a target are skipped
        "solved_at": n * (solved[0] + 1) if solved else None,
        "sequences": [n * (i + 1) for i in range(len(error))],
        "test_metric": error,
        "metric": "chunk error rate (mean of the last 10 chunks)",
        "baseline": 0.5,
        "threshold": 0.05,
        "accuracy": stream_accuracy(model, x_test, y_test),
    }
