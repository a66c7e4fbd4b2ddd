"""Long-range memory tasks: first element, adding problem, copy task.

Every generator returns CPU tensors, draws from a ``torch.Generator`` seeded
with ``seed`` (``seed=None`` draws from torch's global generator, which
:func:`asctools.utils.set_seed` seeds), and is cheap enough to call once per
training step for fresh data.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from asctools._validate import check_int, check_real
from asctools.dataset._common import torch_generator

IGNORE_INDEX = -100  # F.cross_entropy's default ignore_index

__all__ = [
    "IGNORE_INDEX",
    "delayed_bits",
    "first_element_task",
    "adding_problem",
    "copy_task",
    "trivial_baseline",
]


def first_element_task(n_samples, seq_len, noise_std=0.2, seed=None):
    """Remember the first element (Hochreiter & Schmidhuber 1997, Exp. 3a
    with N = 1; the university assignment's "memory task").

    ``x[:, 0] ∈ {−1, +1}`` with equal probability, ``x[:, 1:]`` is
    N(0, noise_std²) noise (the assignment's N(0, 0.2²); the paper's noise
    has *variance* 0.2, i.e. ``noise_std = 0.2 ** 0.5``). The label says
    whether the first element was +1; it is needed only at the last step,
    ``seq_len − 1`` steps later.

    Returns:
        x: float32 ``(n_samples, seq_len, 1)``.
        y: int64 ``(n_samples,)``, ``y = 1`` iff ``x[:, 0, 0] = +1``.
    """
    n = check_int("n_samples", n_samples, 1)
    t = check_int("seq_len", seq_len, 1)
    noise_std = check_real("noise_std", noise_std, 0)
    gen = torch_generator(seed)
    y = torch.randint(0, 2, (n,), generator=gen)  # (n,) int64
    x = torch.randn(n, t, 1, generator=gen) * noise_std  # (n, T, 1)
    x[:, 0, 0] = 2.0 * y - 1.0  # 0 → −1, 1 → +1
    return x, y


def adding_problem(n_samples, seq_len, variant="modern", seed=None):
    """The adding problem: add the two marked values, report at the end.

    Channel 0 holds the values, channel 1 the markers.

    ``variant="modern"`` (Le et al. 2015; Arjovsky et al. 2016): values
    U[0, 1]; marker 1 at one position drawn uniformly from
    ``[0, seq_len // 2)`` and one from ``[seq_len // 2, seq_len)``, 0
    elsewhere; target = sum of the two marked values. Predicting the mean
    (1) gives MSE Var = 2 · 1/12 = 1/6.

    ``variant="hochreiter1997"`` (H&S 1997, Experiment 4, at a fixed length
    ``seq_len`` instead of the paper's random length in [T, 1.1 T]): values
    U[−1, 1]; X1 is marked at a position drawn uniformly from ``0..9``, X2
    uniformly from the other ``seq_len // 2 − 1`` positions of
    ``0..seq_len // 2 − 1``; marker 1.0 there, −1.0 at the first and the
    last position when they are not marked, 0 elsewhere. If X1 sits at
    position 0 its value is set to 0 (as in the paper). Target
    ``0.5 + (X1 + X2) / 4``; the paper counts ``|error| < 0.04`` as
    correct. Predicting the mean 0.5 gives MSE (0.9/3 + 1/3)/16 = 19/480
    ≈ 0.040. Needs ``seq_len >= 20``.

    Returns:
        x: float32 ``(n_samples, seq_len, 2)``.
        y: float32 ``(n_samples, 1)``.
    """
    n = check_int("n_samples", n_samples, 1)
    if variant == "modern":
        t = check_int("seq_len", seq_len, 2)
        return _adding_modern(n, t, torch_generator(seed))
    if variant == "hochreiter1997":
        t = check_int("seq_len", seq_len, 20)
        return _adding_1997(n, t, torch_generator(seed))
    raise ValueError(
        f"variant must be 'modern' or 'hochreiter1997', got {variant!r}"
    )


def _adding_modern(n, t, gen):
    values = torch.rand(n, t, generator=gen)  # (n, T) U[0, 1]
    p1 = torch.randint(0, t // 2, (n,), generator=gen)  # first half
    p2 = torch.randint(t // 2, t, (n,), generator=gen)  # second half
    return _mark(values, torch.zeros(n, t), p1, p2)


def _adding_1997(n, t, gen):
    values = torch.rand(n, t, generator=gen) * 2 - 1  # (n, T) U[−1, 1]
    p1 = torch.randint(0, 10, (n,), generator=gen)  # one of the first 10
    # X2: uniform over 0..t//2 − 1 without p1 (t//2 − 1 positions)
    r = torch.randint(0, t // 2 - 1, (n,), generator=gen)
    p2 = r + (r >= p1).long()
    markers = torch.zeros(n, t)
    markers[:, 0] = -1.0  # first and last pair: −1 unless marked
    markers[:, -1] = -1.0
    values[p1 == 0, 0] = 0.0  # X1 = 0 when the first pair holds it
    x, y = _mark(values, markers, p1, p2)
    return x, 0.5 + y / 4  # target 0.5 + (X1 + X2)/4


def _mark(values, markers, p1, p2):
    """Put marker 1 at p1, p2; return x (n, T, 2) and y = X1 + X2 (n, 1)."""
    rows = torch.arange(values.shape[0])
    markers[rows, p1] = 1.0
    markers[rows, p2] = 1.0
    y = values[rows, p1] + values[rows, p2]  # (n,)
    return torch.stack((values, markers), dim=-1), y[:, None]


def copy_task(n_samples, seq_len, n_symbols=8, copy_len=10, seed=None):
    """The copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

    Classes ``0..n_symbols−1`` are data symbols, ``n_symbols`` is the blank
    and ``n_symbols + 1`` the marker. The input is ``copy_len`` random
    symbols, ``seq_len − 1`` blanks, the marker, and ``copy_len`` blanks
    (length ``seq_len + 2·copy_len``). The target is the blank everywhere
    except the last ``copy_len`` steps, which must repeat the symbols.
    A memoryless model that predicts the blanks and guesses uniformly
    scores cross-entropy ``copy_len·ln(n_symbols)/(seq_len + 2·copy_len)``.

    Returns:
        x: float32 one-hot ``(n, seq_len + 2·copy_len, n_symbols + 2)``.
        y: int64 class indices ``(n, seq_len + 2·copy_len)``.
    """
    n = check_int("n_samples", n_samples, 1)
    t = check_int("seq_len", seq_len, 1)
    k = check_int("n_symbols", n_symbols, 1)
    c = check_int("copy_len", copy_len, 1)
    gen = torch_generator(seed)
    symbols = torch.randint(0, k, (n, c), generator=gen)  # (n, c)
    tokens = torch.full((n, t + 2 * c), k)  # blanks
    tokens[:, :c] = symbols
    tokens[:, c + t - 1] = k + 1  # the marker: "recall now"
    y = torch.full((n, t + 2 * c), k)  # blank targets ...
    y[:, -c:] = symbols  # ... except the recall phase
    return F.one_hot(tokens, k + 2).float(), y


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


def trivial_baseline(task, seq_len=None, **kw) -> float:
    """The score of the best model that remembers nothing.

    ``"parentheses"``, ``"first_element"``: accuracy 0.5 (balanced
    classes). ``"adding"``: MSE 1/6. ``"adding_hochreiter1997"``: MSE
    19/480 ≈ 0.040 (see :func:`adding_problem`). ``"copy"``: cross-entropy
    ``copy_len·ln(n_symbols)/(seq_len + 2·copy_len)``; needs ``seq_len``
    and takes ``n_symbols=8``, ``copy_len=10``.
    """
    if seq_len is not None:
        check_int("seq_len", seq_len, 1)
    fixed = {
        "parentheses": 0.5,
        "first_element": 0.5,
        "adding": 1 / 6,
        "adding_hochreiter1997": 19 / 480,
    }
    if task in fixed:
        if kw:
            raise TypeError(f"task {task!r} takes no options, got {kw}")
        return fixed[task]
    if task == "copy":
        return _copy_baseline(seq_len, **kw)
    raise ValueError(
        f"task must be one of {sorted(fixed) + ['copy']}, got {task!r}"
    )


def _copy_baseline(seq_len, n_symbols=8, copy_len=10) -> float:
    if seq_len is None:
        raise ValueError("seq_len is required for task 'copy'")
    k = check_int("n_symbols", n_symbols, 1)
    c = check_int("copy_len", copy_len, 1)
    return c * math.log(k) / (seq_len + 2 * c)
