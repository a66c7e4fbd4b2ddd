"""Truncated backpropagation through time (Williams & Peng 1990).

* :func:`tbptt_train`: a long stream cut into chunks, the state carried
  from chunk to chunk but cut from autograd's graph
  (:func:`asctools.utils.detach_state`): the loop of a language model;
* :func:`stream_accuracy`: a model scored on a whole stream, in one go.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asctools._validate import check_int
from asctools.dataset import IGNORE_INDEX
from asctools.utils import detach_state

__all__ = ["stream_accuracy", "tbptt_train"]


def _check_stream(x, y) -> None:
    tokens = (
        isinstance(x, Tensor) and x.dim() == 2 and not x.is_floating_point()
    )
    if not isinstance(x, Tensor) or not (x.dim() == 3 or tokens):
        raise ValueError(
            "x must be a (B, N, D) Tensor, or (B, N) integer tokens for a "
            f"model that embeds them, got {_shape(x)}"
        )
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
    """One pass of truncated BPTT over the streams ``x`` (B, N, D), or
    (B, N) tokens for a model that embeds them (a character model).

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
