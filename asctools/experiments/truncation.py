"""Truncated backpropagation through time (Williams & Peng 1990), measured.

* :func:`tbptt_train`: a long stream cut into chunks, the state carried
  from chunk to chunk but cut from autograd's graph
  (:func:`asctools.utils.detach_state`);
* :func:`stream_accuracy`: a model scored on a whole stream, e.g. the
  delayed bits of :func:`asctools.dataset.delayed_bits`, whose dependency
  has a known length;
* :func:`saved_tensor_bytes`: the bytes autograd keeps for the backward
  pass, the memory that BPTT needs and truncation bounds;
* :func:`tbptt_record`: one run of the stored experiment
  ``tbptt_chunks``, chunk lengths on both sides of a lag of 6.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asctools._validate import check_callable, check_int
from asctools.dataset import IGNORE_INDEX, delayed_bits
from asctools.experiments.driver import batch_seed, test_seed
from asctools.experiments.handmade_memory import windowed_error
from asctools.experiments.store import SEEDS
from asctools.models import RecurrentModel
from asctools.utils import detach_state, set_seed

__all__ = [
    "TBPTT_CHUNKS",
    "saved_tensor_bytes",
    "stream_accuracy",
    "tbptt_configs",
    "tbptt_record",
    "tbptt_train",
]


def _check_stream(x, y) -> None:
    if not isinstance(x, Tensor) or x.dim() != 3:
        raise ValueError(f"x must be a (B, N, D) Tensor, got {_shape(x)}")
    if not isinstance(y, Tensor) or tuple(y.shape) != tuple(x.shape[:2]):
        raise ValueError(
            f"y must be class indices of shape {tuple(x.shape[:2])}, got "
            f"{_shape(y)}"
        )
    if y.is_floating_point():
        raise TypeError(f"y must hold integer classes, got {y.dtype}")


def _shape(v) -> str:
    return str(tuple(v.shape)) if isinstance(v, Tensor) else type(v).__name__


def _masked_accuracy(logits: Tensor, y: Tensor) -> float:
    """Accuracy over the targets that are not IGNORE_INDEX."""
    keep = y != IGNORE_INDEX
    hits = (logits.argmax(-1) == y) & keep
    return hits.sum().item() / max(keep.sum().item(), 1)


def tbptt_train(
    model,
    x,
    y,
    chunk_len,
    optimizer=None,
    learning_rate=1e-2,
    clip_grad_norm=1.0,
) -> dict[str, list[float]]:
    """One pass of truncated BPTT over the streams ``x`` (B, N, D).

    The streams are cut into chunks of ``chunk_len`` steps (the last one
    may be shorter). For each chunk: run ``model(x_chunk, state) ->
    (logits (B, k, K), state)`` from the *detached* state the previous
    chunk left, take the cross-entropy against ``y`` (B, N) class
    indices (IGNORE_INDEX is skipped), backpropagate (no further than the
    chunk's first step), clip the global norm, step. An update every
    ``chunk_len`` steps, and memory for ``chunk_len`` steps only.

    Returns:
        ``{"loss": [...], "accuracy": [...]}``, one float per chunk.
    """
    _check_stream(x, y)
    k = check_int("chunk_len", chunk_len, 1)
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer is None:
        optimizer = torch.optim.Adam(params, lr=learning_rate)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    state = None
    for start in range(0, x.shape[1], k):
        xb, yb = x[:, start : start + k], y[:, start : start + k]
        # the state keeps its values; the graph behind it is cut
        logits, state = model(xb, detach_state(state))  # (B, k, K)
        if (yb == IGNORE_INDEX).all():
            continue  # a chunk without targets teaches nothing
        loss = F.cross_entropy(logits.flatten(0, 1), yb.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # reaches back to this chunk's first step only
        if clip_grad_norm is not None:
            nn.utils.clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        history["loss"].append(loss.item())
        history["accuracy"].append(_masked_accuracy(logits, yb))
    return history


@torch.no_grad()
def stream_accuracy(model, x, y) -> float:
    """Accuracy of ``model`` run over the whole streams in one go (no
    truncation, no gradient), over the targets that are not ignored."""
    _check_stream(x, y)
    was_training = model.training
    model.eval()
    logits, _ = model(x)  # (B, N, K)
    model.train(was_training)
    return _masked_accuracy(logits, y)


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
