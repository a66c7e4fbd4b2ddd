"""What the loop feeds the criterion, and the checks of its arguments."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
from torch import Tensor, nn


def match_targets(out: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Pair the model output with the targets for the criterion.

    ``out`` is (B, T, K) (or (B, K) = the last step only). Targets:

    * class indices (integer) (B,) or (B, 1): the last step's output
      (B, K) against (B,); (B, T): every step, (B·T, K) against (B·T,);
    * floats (B, 1, K) or (B, K): the last step (many-to-one one-hot or
      regression; (B, 1, 1) = last-step regression); (B, T, K): every step.

    Anything else raises a ValueError naming ``targets`` (no broadcasting).
    """
    if out.dim() == 2:
        out = out.unsqueeze(1)  # (B, 1, K): the model gave the last step
    if out.dim() != 3:
        raise ValueError(
            "model output must have shape (B, T, K) or (B, K), got "
            f"{tuple(out.shape)}"
        )
    b, t, k = out.shape
    shape = tuple(y.shape)
    if not y.is_floating_point():  # class indices
        if shape in ((b,), (b, 1)):
            return out[:, -1], y.reshape(b)  # (B, K), (B,)
        if shape == (b, t):
            return out.reshape(b * t, k), y.reshape(b * t)
        expected = f"({b},), ({b}, 1) or ({b}, {t}) class indices"
    else:
        if shape in ((b, 1, k), (b, k)):
            return out[:, -1], y.reshape(b, k)  # (B, K), (B, K)
        if shape == (b, t, k):
            return out.reshape(b * t, k), y.reshape(b * t, k)
        expected = f"({b}, 1, {k}), ({b}, {k}) or ({b}, {t}, {k}) floats"
    raise ValueError(
        f"targets must have shape {expected} for a model output of shape "
        f"{(b, t, k)}; received {shape} ({y.dtype})"
    )


@dataclass
class Config:
    """The checked keyword arguments shared by train and train_stream."""

    criterion: object
    optimizer: torch.optim.Optimizer
    max_norm: float  # inf = no clipping; the norm is still computed
    hidden_init_func: object
    patience: int | None
    min_delta: float
    on_nonfinite: str
    show_progress: bool
    stop_below: float | None
    eval_batch: int | None = None
    val_data: tuple | None = None


def make_config(
    params,
    criterion,
    optimizer,
    learning_rate,
    clip_grad_norm,
    patience,
    min_delta,
    hidden_init_func,
    show_progress,
    on_nonfinite,
    stop_below,
) -> Config:
    """Check the arguments; build the default criterion and optimizer."""
    criterion = nn.CrossEntropyLoss() if criterion is None else criterion
    if not callable(criterion):
        raise TypeError("criterion must be callable: (pred, target)")
    if optimizer is None:
        lr = check_real("learning_rate", learning_rate)
        optimizer = torch.optim.Adam(params, lr=lr)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optimizer must be a torch.optim.Optimizer or None")
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(
            f"on_nonfinite must be 'raise' or 'stop', got {on_nonfinite!r}"
        )
    if hidden_init_func is not None and not callable(hidden_init_func):
        raise TypeError("hidden_init_func must be callable or None")
    return Config(
        criterion=criterion,
        optimizer=optimizer,
        max_norm=math.inf
        if clip_grad_norm is None
        else check_real("clip_grad_norm", clip_grad_norm),
        hidden_init_func=hidden_init_func,
        patience=None if patience is None else check_int("patience", patience),
        min_delta=check_real("min_delta", min_delta, zero_ok=True),
        on_nonfinite=on_nonfinite,
        show_progress=bool(show_progress),
        stop_below=None
        if stop_below is None
        else check_real("stop_below", stop_below, zero_ok=True),
    )


class Stopper:
    """Early stopping on a monitored loss, and stopping below a target."""

    def __init__(self, cfg: Config, unit: str):
        self.cfg, self.unit = cfg, unit
        self.best, self.wait, self.note = math.inf, 0, ""

    def __call__(self, monitored: float) -> bool:
        """Record this epoch's monitored loss; True = stop now."""
        cfg = self.cfg
        if monitored < self.best - cfg.min_delta:
            self.best, self.wait = monitored, 0
        else:
            self.wait += 1
        if cfg.patience is not None and self.wait >= cfg.patience:
            self.note = f"; early stop: no gain for {self.wait} {self.unit}s"
            return True
        if cfg.stop_below is not None and monitored < cfg.stop_below:
            self.note = f"; reached loss < {cfg.stop_below:g}"
            return True
        return False


def shuffled(x, y, batch_size, gen):
    """The epoch's batches: all at once, or a fresh permutation cut up."""
    n = len(x)
    if batch_size is None or batch_size >= n:
        yield x, y
        return
    order = torch.randperm(n, generator=gen).to(x.device)
    for i in range(0, n, batch_size):
        idx = order[i : i + batch_size]
        yield x[idx], y[idx]


def as_inputs(data, name) -> Tensor:
    """A float (B, T, D) tensor from a tensor or a list of tensors."""
    if isinstance(data, (list, tuple)):
        if not data or not all(isinstance(t, Tensor) for t in data):
            raise TypeError(f"{name} must be a Tensor or a list of Tensors")
        if len({tuple(t.shape[-2:]) for t in data}) != 1:
            raise ValueError(f"{name}: all tensors need the same (T, D)")
        if all(t.dim() == 2 for t in data):
            data = torch.stack(data)  # B × (T, D) → (B, T, D)
        elif all(t.dim() == 3 for t in data):
            data = torch.cat(data)  # (b_i, T, D) → (Σ b_i, T, D)
    if not isinstance(data, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(data).__name__}")
    if data.dim() != 3 or not data.is_floating_point():
        raise ValueError(
            f"{name} must be a float tensor (B, T, D), got shape "
            f"{tuple(data.shape)} ({data.dtype})"
        )
    return data


def as_targets(data, n, name) -> Tensor:
    """Targets as a tensor with n rows (integers become int64)."""
    if isinstance(data, (list, tuple)):
        tensors = bool(data) and all(isinstance(t, Tensor) for t in data)
        data = torch.stack(list(data)) if tensors else torch.as_tensor(data)
    if not isinstance(data, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(data).__name__}")
    if data.dim() == 0 or len(data) != n:
        raise ValueError(
            f"{name} must have one row per sequence: expected {n} rows, got "
            f"shape {tuple(data.shape)}"
        )
    return data if data.is_floating_point() else data.long()


def to_device(state, device):
    """Move a hidden state (a tensor or nested tuples of them)."""
    if isinstance(state, Tensor):
        return state.to(device)
    if isinstance(state, (tuple, list)):
        return type(state)(to_device(s, device) for s in state)
    return state


def check_int(name, value) -> int:
    """``value`` as an int ≥ 1, else TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_real(name, value, zero_ok=False) -> float:
    """``value`` as a float > 0 (≥ 0 with ``zero_ok``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if math.isnan(value) or not (value >= 0 if zero_ok else value > 0):
        op = ">=" if zero_ok else ">"
        raise ValueError(f"{name} must be {op} 0, got {value}")
    return float(value)


def new_history() -> dict[str, list]:
    """Per-step and per-epoch lists, all empty."""
    keys = ("step_loss", "grad_norm", "lr", "loss", "val_loss",
            "val_accuracy", "time", "sequences")  # fmt: skip
    return {k: [] for k in keys}


def summary(hist, unit, note) -> str:
    """One line: epochs, steps, sequences, seconds, first → last loss."""
    loss = hist["loss"]
    if not loss:
        return f"0 {unit}s, {len(hist['step_loss'])} steps{note}"
    line = (
        f"{len(loss)} {unit}s, {len(hist['step_loss'])} steps, "
        f"{hist['sequences'][-1]} sequences in {hist['time'][-1]:.1f} s: "
        f"loss {loss[0]:.4g} → {loss[-1]:.4g}"
    )
    if hist["val_loss"]:
        line += f", val loss {hist['val_loss'][-1]:.4g}"
    return line + note
