"""The one place for device selection, seeding and thread settings."""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import Tensor

from asctools._validate import check_int, check_seed

__all__ = [
    "available_devices",
    "detach_state",
    "get_device",
    "glue",
    "map_state",
    "progress_bar",
    "set_seed",
    "set_threads",
]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Return ``device`` as a ``torch.device``, or the best one available.

    Order when ``device`` is None: the ``ASCTOOLS_DEVICE`` environment
    variable, then CUDA, then Apple's MPS, then the CPU. A CUDA or MPS
    device that this machine does not have is a ValueError that says
    which devices it has.
    """
    name = "device"
    if device is None and os.environ.get("ASCTOOLS_DEVICE"):
        device, name = os.environ["ASCTOOLS_DEVICE"], "ASCTOOLS_DEVICE"
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(
            "device must be a str, a torch.device or None, "
            f"got {type(device).__name__}"
        )
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"{name} must name a torch device such as 'cpu' or 'cuda:0', "
            f"got {device!r}"
        ) from err
    _check_available(chosen, name)
    return chosen


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def available_devices() -> list[str]:
    """The devices this machine has: 'cpu', 'cuda:0', ..., 'mps'."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def _check_available(device: torch.device, name: str) -> None:
    """ValueError if ``device`` is a CUDA/MPS device this machine lacks."""
    kind = {"cuda": "CUDA", "mps": "MPS"}.get(device.type)
    if kind is None:
        return  # cpu, meta, ...: always there
    present = torch.cuda.is_available() if kind == "CUDA" else _mps_available()
    have = ", ".join(repr(d) for d in available_devices())
    if not present:
        raise ValueError(
            f"{name} is {str(device)!r}, but {kind} is not available on "
            f"this machine (torch {torch.__version__}); available: {have}"
        )
    count = torch.cuda.device_count() if kind == "CUDA" else 1
    if device.index is not None and device.index >= count:
        raise ValueError(
            f"{name} is {str(device)!r}, but this machine has {count} "
            f"{kind} device(s); available: {have}"
        )


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (CUDA's too)."""
    seed = check_seed("seed", seed, allow_none=False)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op CPU threads; return the number in force.

    The course's models are small: per time step a matrix product of a few
    thousand numbers. On a shared 2-core machine a second thread mostly adds
    synchronisation, so the default is the ``ASCTOOLS_THREADS`` environment
    variable, else 1. Pass ``n`` to choose (``benchmarks/`` measures both).
    """
    if n is None:
        n = int(os.environ.get("ASCTOOLS_THREADS", "1"))
    torch.set_num_threads(check_int("n", n, 1))
    return torch.get_num_threads()


def map_state(fn, state):
    """``fn`` applied to every tensor of a recurrent state.

    A state is None, a tensor, or nested tuples/lists of them (an LSTM's
    ``(h, c)``); the structure is kept.
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(fn, s) for s in state)
    raise TypeError(
        "state must be a Tensor, a tuple of Tensors or None, got "
        f"{type(state).__name__}"
    )


def detach_state(state):
    """``state`` cut from autograd's graph (the values stay).

    A backward pass that starts after this point stops here: the cut that
    truncated backpropagation through time makes between chunks.
    """
    return map_state(Tensor.detach, state)


def progress_bar(*args, **kwargs):
    """A tqdm progress bar: a widget in Jupyter/Colab, text elsewhere.

    ``tqdm.auto`` warns on stderr ("IProgress not found") in a kernel
    without ipywidgets, such as the one that builds the book; there the
    text bar is used instead, and ``TQDM_DISABLE=1`` silences it.
    """
    try:
        import ipywidgets  # noqa: F401  (the widget bar needs it)
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm.std import tqdm
    return tqdm(*args, **kwargs)


def glue(name: str, value, display: bool = False) -> None:
    """Keep ``value`` under ``name`` for the book's ``{glue}`` roles.

    In the book build this is ``myst_nb.glue``: the text quotes the number
    the cell computed. Where myst-nb is not installed (Colab), the chapter's
    Colab twin quotes the book's run instead, so this run's value is shown
    here: as the cell's output when ``display`` is true, otherwise printed
    as ``name = value (your run)``, a float (Python's, NumPy's, or a 0-d
    tensor or array) to 3 significant digits.

    A ``str`` value is glued as it is: ``{glue:text}`` reads a glued
    value's ``repr`` back as a Python literal, so the phrase appears
    without quotes, and a phrase such as ``"1,600"`` stays a phrase
    (a bare ``1,600`` would be read back as the tuple ``(1, 600)``).

    ``name`` must be a non-empty ``str``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("name must be a non-empty str, got ''")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
            return
        import numbers

        item = value
        if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
            item = value.item()  # a 0-d tensor or array: its number
        is_float = isinstance(item, numbers.Real) and not isinstance(
            item, numbers.Integral
        )
        text = f"{item:.3g}" if is_float else f"{value}"
        print(f"{name} = {text} (your run)")
        return
    myst_glue(name, value, display=display)
