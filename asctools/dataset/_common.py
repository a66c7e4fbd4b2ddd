"""Argument checks and random generators shared by the task generators."""

from __future__ import annotations

import numbers

import numpy as np
import torch


def check_int(name: str, value, minimum: int) -> int:
    """Return ``value`` if it is an int ≥ ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_seed(seed) -> int | None:
    """A seed is None (use the global generators) or an int ≥ 0."""
    if seed is None:
        return None
    return check_int("seed", seed, 0)


def numpy_rng(seed) -> np.random.Generator:
    """A NumPy generator: from ``seed``, or drawn from NumPy's global RNG.

    Drawing the seed from ``np.random`` makes ``seed=None`` reproducible
    after :func:`asctools.utils.set_seed`.
    """
    seed = check_seed(seed)
    if seed is None:
        seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    return np.random.default_rng(seed)


def torch_generator(seed) -> torch.Generator | None:
    """A CPU ``torch.Generator`` seeded with ``seed``; None = torch's global
    generator (which :func:`asctools.utils.set_seed` seeds)."""
    seed = check_seed(seed)
    if seed is None:
        return None
    return torch.Generator().manual_seed(seed)
