"""Training the NumPy LSTM on the first-element memory task.

Every batch is fresh data. The gradient comes from one of
:data:`GRADIENT_METHODS`: backpropagation through time (the exact
gradient, memory growing with T) or truncated RTRL, the LSTM learning
method (forward in time, memory constant in T). Two classic mistakes can
be switched on to see what they do:

* ``loss_sign_bug``: the sign-flipped loss of one published solution
  (:func:`~asctools.handmade.losses.published_bce_with_logits`): the loss
  falls below zero forever while the accuracy stays at chance;
* ``gradient_ascent``: θ ← θ + lr ∇L. The loss now climbs, the logits
  saturate (confident, and wrong on about half of the sequences), the
  weights grow and the accuracy stays at chance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from asctools._validate import check_choice
from asctools.dataset import first_element_task
from asctools.handmade.bptt import bptt_loss_and_gradients
from asctools.handmade.losses import bce_with_logits
from asctools.handmade.lstm import NumpyLSTM
from asctools.handmade.optim import Adam
from asctools.handmade.rtrl import rtrl_loss_and_gradients

__all__ = [
    "GRADIENT_METHODS",
    "TrainResult",
    "memory_task_data",
    "train_memory_task",
]

# name -> f(model, x, y, loss) -> (loss value, logits), gradients in model
GRADIENT_METHODS = {
    "bptt": bptt_loss_and_gradients,
    "rtrl": rtrl_loss_and_gradients,
}


def memory_task_data(n, seq_len, rng, noise_std=0.2):
    """float64 x ``(n, T, 1)`` and float64 y ``(n,)`` from the dataset."""
    seed = int(rng.integers(2**31))
    x, y = first_element_task(n, seq_len, noise_std=noise_std, seed=seed)
    return x.numpy().astype(np.float64), y.numpy().astype(np.float64)


@dataclass
class TrainResult:
    """What :func:`train_memory_task` returns.

    ``history`` holds per-update lists: ``"loss"`` (the loss that was
    optimised), ``"bce"`` (the correct BCE), ``"accuracy"`` (on the batch,
    scored before the update) and ``"weight_norm"`` (‖θ‖₂ over all
    parameters). ``accuracy`` is on ``n_test`` fresh sequences.
    """

    model: NumpyLSTM
    history: dict = field(default_factory=dict)
    accuracy: float = float("nan")
    n_sequences_seen: int = 0
    seconds: float = 0.0
    solved: bool = False


def _record(history, model, loss, s, y):
    history["loss"].append(loss)
    history["bce"].append(bce_with_logits(s, y)[0])
    history["accuracy"].append(float(np.mean((s > 0) == (y > 0.5))))
    sq = sum(float(np.sum(p * p)) for p in model.parameters().values())
    history["weight_norm"].append(np.sqrt(sq))


def _solved(history, window, stop_accuracy):
    """True once the mean batch accuracy of the last ``window`` updates is
    at least ``stop_accuracy``."""
    acc = history["accuracy"][-window:]
    return len(acc) == window and np.mean(acc) >= stop_accuracy


def train_memory_task(
    seq_len=100,
    hidden_size=32,
    forget_gate=False,
    forget_bias=1.0,
    input_bias=-2.0,
    batch_size=64,
    lr=1e-2,
    optimizer="adam",
    max_sequences=60_000,
    stop_window=10,
    stop_accuracy=0.99,
    n_test=1000,
    noise_std=0.2,
    method="bptt",
    loss_sign_bug=False,
    gradient_ascent=False,
    seed=0,
):
    """Train a ``NumpyLSTM`` on the first-element task; return TrainResult.

    Every batch is fresh data and is scored *before* the model learns from
    it, so the batch accuracy is an honest estimate. Training stops when
    the mean accuracy of the last ``stop_window`` batches reaches
    ``stop_accuracy`` (``solved``), or after ``max_sequences`` (rounded
    up to whole batches). ``method`` names one of
    :data:`GRADIENT_METHODS`: ``"bptt"`` or ``"rtrl"`` (the truncated
    forward-mode gradient of :mod:`asctools.handmade.rtrl`). The two
    mistake flags are described in the module docstring; ``forget_gate``,
    ``forget_bias`` and ``input_bias`` go to :class:`NumpyLSTM` (the
    default input bias −2 keeps the 1997 cell out of saturation at
    T = 100; with 0 it did not learn in 30,000 sequences in our runs).
    """
    check_choice("optimizer", optimizer, ("adam", "sgd"))
    grad_fn = GRADIENT_METHODS[
        check_choice("method", method, GRADIENT_METHODS)
    ]
    rng = np.random.default_rng(seed)
    model = NumpyLSTM(
        1,
        hidden_size,
        forget_gate=forget_gate,
        forget_bias=forget_bias,
        input_bias=input_bias,
        seed=rng,
    )
    loss_name = "published" if loss_sign_bug else "bce"
    sign = 1.0 if gradient_ascent else -1.0
    adam = Adam(model.parameters(), lr=lr)
    history = {k: [] for k in ("loss", "bce", "accuracy", "weight_norm")}
    result, start, seen = TrainResult(model, history), time.perf_counter(), 0
    while seen < max_sequences and not result.solved:
        x, y = memory_task_data(batch_size, seq_len, rng, noise_std)
        loss, s = grad_fn(model, x, y, loss=loss_name)
        _record(history, model, loss, s, y)
        if optimizer == "adam":
            adam.step(model.gradients(), sign)
        else:
            model.update(-sign * lr)  # update(lr) descends: θ ← θ − lr ∇
        seen += batch_size
        result.solved = _solved(history, stop_window, stop_accuracy)
    result.n_sequences_seen, result.seconds = seen, time.perf_counter() - start
    x, y = memory_task_data(n_test, seq_len, rng, noise_std)
    result.accuracy = float(np.mean((model.forward(x) > 0) == (y > 0.5)))
    model.zero_grad()  # drop the test forward's caches
    return result
