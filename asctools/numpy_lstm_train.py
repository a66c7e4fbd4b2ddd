"""Training the NumPy LSTM on the first-element memory task.

The loss is binary cross-entropy at the last step, computed from the logit
s (ŷ = σ(s)) so that it never takes log(0):

    L = −[y log σ(s) + (1 − y) log(1 − σ(s))] = softplus(s) − y s,
    ∂L/∂s = σ(s) − y.

Two classic mistakes can be switched on to see what they do:

* ``loss_sign_bug``: the loss as one published solution wrote it,
  −(y log ŷ − (1 − y) log(1 − ŷ)). Its y = 0 term is *minus* the correct
  one, so descending it drives every prediction to 1, the weights grow
  without bound and the loss falls below zero forever — it "goes down",
  which looks like learning, while the accuracy stays at chance.
* ``gradient_ascent``: θ ← θ + lr ∇L. The loss now climbs, the logits
  saturate (confident, and wrong on about half of the sequences), the
  weights grow and the accuracy stays at chance.

The optimiser is a hand-written Adam (Kingma & Ba 2015) by default: its
per-parameter step size copes with gradients whose scales differ widely
between parameters, so one learning rate (1e−2) works. Plain SGD
(``optimizer="sgd"``, ``Gate.update``'s rule) learns short sequences
(T = 20 at lr 0.5) but stalled at T = 100 in our runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from asctools.gradcheck import gradient_check
from asctools.numpy_lstm import NumpyLSTM

__all__ = [
    "Adam",
    "TrainResult",
    "bce_with_logits",
    "published_bce_with_logits",
    "bptt_loss_and_gradients",
    "gradient_check_lstm",
    "memory_task_data",
    "train_memory_task",
]


def bce_with_logits(s, y):
    """Mean BCE of logits s ``(B,)`` and targets y ``(B,)`` in {0, 1}.

    Returns ``(loss, ∂loss/∂s)``; softplus(s) = max(s, 0) + log(1 + e^−|s|).
    """
    softplus = np.logaddexp(0.0, s)  # log(1 + e^s), stable
    loss = np.mean(softplus - y * s)  # softplus(s) − y s
    sig = 0.5 * (1.0 + np.tanh(0.5 * s))  # σ(s)
    return float(loss), (sig - y) / len(s)  # ∂/∂s = (σ(s) − y) / B


def published_bce_with_logits(s, y):
    """The sign-flipped loss −(y log ŷ − (1 − y) log(1 − ŷ)), mean over B.

    With log ŷ = −softplus(−s) and log(1 − ŷ) = −softplus(s) it is
    y softplus(−s) − (1 − y) softplus(s): unbounded below. Returns
    ``(loss, ∂loss/∂s)``.
    """
    loss = np.mean(y * np.logaddexp(0.0, -s) - (1 - y) * np.logaddexp(0.0, s))
    sig = 0.5 * (1.0 + np.tanh(0.5 * s))
    # ∂/∂s = −y (1 − σ) − (1 − y) σ
    return float(loss), (-y * (1 - sig) - (1 - y) * sig) / len(s)


LOSSES = {"bce": bce_with_logits, "published": published_bce_with_logits}


def bptt_loss_and_gradients(model, x, y, loss="bce"):
    """Zero the gradients, run forward and BPTT; return (loss, logits).

    x ``(B, T, D)``, y ``(B,)`` float; afterwards ``model.gradients()``
    holds ∂loss/∂θ.
    """
    model.zero_grad()
    s = model.forward(x)  # (B,)
    value, grad_s = LOSSES[loss](s, y)
    model.backward(grad_s)
    return value, s


def gradient_check_lstm(model, x, y, **kwargs):
    """Finite-difference check of every parameter of a ``NumpyLSTM``.

    ``kwargs`` go to :func:`asctools.gradcheck.gradient_check`.
    """
    bptt_loss_and_gradients(model, x, y)
    grads = {k: v.copy() for k, v in model.gradients().items()}

    def loss_fn():
        return bce_with_logits(model.forward(x), y)[0]

    return gradient_check(loss_fn, model.parameters(), grads, **kwargs)


class Adam:
    """Adam on a dict of NumPy arrays (updated in place).

    m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,
    θ ← θ − lr m̂ / (√v̂ + ε) with the bias-corrected m̂, v̂.
    """

    def __init__(self, params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def step(self, grads, sign=-1.0):
        """One update; ``sign=+1`` makes it (mistaken) gradient ascent."""
        self.t += 1
        b1, b2 = self.betas
        for k, p in self.params.items():
            g = grads[k]
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat = self.m[k] / (1 - b1**self.t)
            v_hat = self.v[k] / (1 - b2**self.t)
            p += sign * self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def memory_task_data(n, seq_len, rng, noise_std=0.2):
    """float64 x ``(n, T, 1)`` and float64 y ``(n,)`` from the dataset."""
    from asctools.dataset import first_element_task

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
    up to whole batches). ``method`` is ``"bptt"`` or ``"rtrl"`` (the
    truncated forward-mode gradient of :mod:`asctools.rtrl`). The two
    mistake flags are described in the module docstring; ``forget_gate``,
    ``forget_bias`` and ``input_bias`` go to :class:`NumpyLSTM` (the
    default input bias −2 keeps the 1997 cell out of saturation at
    T = 100; with 0 it did not learn in 30,000 sequences in our runs).
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(
            f"optimizer must be 'adam' or 'sgd', got {optimizer!r}"
        )
    if method not in ("bptt", "rtrl"):
        raise ValueError(f"method must be 'bptt' or 'rtrl', got {method!r}")
    rng = np.random.default_rng(seed)
    model = NumpyLSTM(
        1,
        hidden_size,
        forget_gate=forget_gate,
        forget_bias=forget_bias,
        input_bias=input_bias,
        seed=rng,
    )
    grad_fn = bptt_loss_and_gradients
    if method == "rtrl":
        from asctools.rtrl import rtrl_loss_and_gradients as grad_fn
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
