"""Instruments of the practice chapter: truncated BPTT, memory, forget bias.

* :func:`detach_state` and :func:`tbptt_train`: truncated backpropagation
  through time (Williams & Peng 1990) on a long stream cut into chunks,
  the state carried from chunk to chunk but cut from autograd's graph.
* :func:`delayed_bits`: a stream whose target is the input ``delay`` steps
  back, a dependency of known length; :func:`stream_accuracy` scores a
  model on a whole stream.
* :func:`saved_tensor_bytes`: the bytes autograd keeps for the backward
  pass, the memory that BPTT needs and truncation bounds.
* :func:`forget_bias_runs` and :func:`steps_to_learn`: learning curves of
  LSTMs that differ only in their starting forget-gate bias.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asctools.dataset import first_element_task
from asctools.dataset._common import check_int, torch_generator
from asctools.utils import set_seed

__all__ = [
    "IGNORE_INDEX",
    "detach_state",
    "delayed_bits",
    "tbptt_train",
    "stream_accuracy",
    "saved_tensor_bytes",
    "forget_bias_runs",
    "steps_to_learn",
]

IGNORE_INDEX = -100  # F.cross_entropy's default ignore_index


def detach_state(state):
    """``state`` (a tensor, a tuple of them, or None) cut from the graph.

    The values stay; only the history is dropped, so a backward pass that
    starts after this point stops here.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    raise TypeError(
        "state must be a Tensor, a tuple of Tensors or None, got "
        f"{type(state).__name__}"
    )


def delayed_bits(n_streams, length, delay, seed=None):
    """Random ±1 streams whose target at step t is the bit at t − delay.

    Returns:
        x: float32 ``(n_streams, length, 1)``, each entry −1 or +1.
        y: int64 ``(n_streams, length)``: ``y[:, t] = 1`` iff
            ``x[:, t − delay] = +1`` for ``t >= delay``; the first
            ``delay`` steps have no target and hold :data:`IGNORE_INDEX`.
    """
    n = check_int("n_streams", n_streams, 1)
    d = check_int("delay", delay, 1)
    t = check_int("length", length, d + 1)
    bits = torch.randint(0, 2, (n, t), generator=torch_generator(seed))
    x = (2.0 * bits - 1.0).unsqueeze(-1)  # (n, T, 1): 0 → −1, 1 → +1
    y = torch.full_like(bits, IGNORE_INDEX)  # (n, T)
    y[:, d:] = bits[:, :-d]  # y_t = bit_{t−d}
    return x, y


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
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    storages: dict[int, int] = {}  # data pointer -> bytes

    def pack(t: Tensor) -> Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(storages.values())


def forget_bias_runs(
    forget_biases=(0.0, 1.0),
    seeds=(0, 1, 2),
    seq_len=20,
    steps=200,
    hidden_size=16,
    batch_size=32,
    learning_rate=1e-2,
    clip_grad_norm=1.0,
    device="cpu",
) -> dict[float, np.ndarray]:
    """Train LSTMs on the first-element task that differ only in their
    starting forget-gate bias b_f = b_if + b_hf.

    For every seed, each bias gets the same initial weights (apart from
    b_f) and the same fresh batches. Adam, cross-entropy at the last step.
    ``device``: where to train (None = :func:`asctools.get_device`); these
    small models train fastest on the CPU.

    Returns:
        ``{forget_bias: float64 array (len(seeds), steps)}`` of per-step
        training losses.
    """
    from asctools.models import RecurrentModel
    from asctools.rnn_trainer import RNNTrainer

    steps = check_int("steps", steps, 1)
    curves = {}
    for fb in forget_biases:
        if isinstance(fb, bool) or not isinstance(fb, numbers.Real):
            raise TypeError(f"forget_biases must hold numbers, got {fb!r}")
        rows = []
        for seed in seeds:
            set_seed(seed)  # same initial weights for every bias
            model = RecurrentModel(1, hidden_size, 2, forget_bias=fb)
            trainer = RNNTrainer(model, device=device)

            def batch(step, seed=seed):  # the same batches for every bias
                return first_element_task(
                    batch_size, seq_len, seed=10_000 * seed + step
                )

            trainer.train_stream(
                batch, steps, learning_rate=learning_rate,
                clip_grad_norm=clip_grad_norm, eval_every=steps,
                show_progress=False,
            )  # fmt: skip
            rows.append(trainer.history["step_loss"])
        curves[float(fb)] = np.asarray(rows, dtype=np.float64)
    return curves


def steps_to_learn(losses, threshold=0.1, window=10) -> int | None:
    """The first step at which the mean loss of the last ``window`` steps
    is below ``threshold`` (1-based), or None if it never is.

    ``losses``: a 1-D sequence of per-step losses.
    """
    arr = np.asarray(losses, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"losses must be 1-D, got shape {arr.shape}")
    w = check_int("window", window, 1)
    if len(arr) < w:
        return None
    running = np.convolve(arr, np.ones(w) / w, mode="valid")  # (n − w + 1,)
    below = np.flatnonzero(running < threshold)
    return int(below[0]) + w if below.size else None
