"""What the loop feeds the criterion: inputs, targets and their pairing."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["as_inputs", "as_targets", "match_targets"]


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
