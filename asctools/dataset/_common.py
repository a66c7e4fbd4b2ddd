"""The random generators shared by the task generators."""

from __future__ import annotations

import numpy as np
import torch

from asctools._validate import check_seed

__all__ = ["numpy_rng", "torch_generator"]


def numpy_rng(seed) -> np.random.Generator:
    """A NumPy generator: from ``seed``, or drawn from NumPy's global RNG.

    Drawing the seed from ``np.random`` makes ``seed=None`` reproducible
    after :func:`asctools.utils.set_seed`.
    """
    seed = check_seed("seed", seed)
    if seed is None:
        seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    return np.random.default_rng(seed)


def torch_generator(seed) -> torch.Generator | None:
    """A CPU ``torch.Generator`` seeded with ``seed``; None = torch's global
    generator (which :func:`asctools.utils.set_seed` seeds)."""
    seed = check_seed("seed", seed)
    if seed is None:
        return None
    return torch.Generator().manual_seed(seed)
