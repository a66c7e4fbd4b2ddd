"""What the loop feeds the criterion: inputs, targets and their pairing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LabelCheck",
    "TargetShapeError",
    "as_inputs",
    "as_targets",
    "check_labels",
    "match_targets",
]


class TargetShapeError(ValueError, RuntimeError):
    """The targets' shape does not fit the model's output (or the inputs).

    Both a ``ValueError`` (a bad argument) and a ``RuntimeError`` (what
    code written against the original course package catches, where the
    criterion raised on the mismatch), so that either ``except`` works.
    """


def match_targets(out: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Pair the model output with the targets for the criterion.

    ``out`` is (B, T, K) (or (B, K) = the last step only). Targets:

    * class indices (integer) (B,) or (B, 1): the last step's output
      (B, K) against (B,); (B, T): every step, (B·T, K) against (B·T,);
    * floats (B, 1, K) or (B, K): the last step (many-to-one one-hot or
      regression; (B, 1, 1) = last-step regression); (B, T, K): every step.

    Anything else raises :class:`TargetShapeError` naming ``targets`` (no
    broadcasting).
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
    raise TargetShapeError(
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
    if data.numel() == 0:
        raise ValueError(
            f"{name} must not be empty: (B, T, D) with B, T, D >= 1, got "
            f"shape {tuple(data.shape)}"
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
        raise TargetShapeError(
            f"{name} must have one row per sequence: expected {n} rows, got "
            f"shape {tuple(data.shape)}"
        )
    return data if data.is_floating_point() else data.long()


def check_labels(labels: Tensor, k: int, criterion, name: str) -> None:
    """Class indices must lie in [0, k) or be the criterion's
    ``ignore_index``; checked for torch's index losses (CrossEntropyLoss,
    NLLLoss and their functional forms), whose own error is an IndexError
    (a device-side assert on CUDA) in the middle of a step."""
    if isinstance(criterion, (nn.CrossEntropyLoss, nn.NLLLoss)):
        ignore = criterion.ignore_index
    elif criterion in (F.cross_entropy, F.nll_loss):
        ignore = -100  # their default
    else:
        return  # a criterion of the caller's own: its labels, its rules
    bad = ((labels < 0) | (labels >= k)) & (labels != ignore)
    if bool(bad.any()):
        values = sorted(set(labels[bad].unique()[:5].tolist()))
        raise ValueError(
            f"{name} must be class indices in [0, {k}) for a model output "
            f"with K = {k} classes (or ignore_index {ignore}), got "
            f"{values}"
        )


class LabelCheck:
    """:func:`check_labels` before the criterion of each step: a fixed data
    set's ``labels`` all at once on the first step (K is known from the
    first output), a stream's (``labels=None``) batch by batch."""

    def __init__(self, labels: Tensor | None = None):
        self.labels, self.done = labels, False

    def __call__(self, pred: Tensor, target: Tensor, criterion) -> None:
        if self.done or target.is_floating_point():
            return
        k = pred.shape[-1]
        if self.labels is None:  # a stream: every batch is new
            check_labels(target, k, criterion, "targets")
            return
        check_labels(self.labels, k, criterion, "targets")
        self.labels, self.done = None, True
