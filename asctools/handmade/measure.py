"""Measurements of RTRL against BPTT that the RTRL chapter plots.

All functions return plain dicts of lists and floats. Timings are wall
clock (``time.perf_counter``) on whatever threads NumPy uses: set
``OMP_NUM_THREADS=1`` for reproducible ratios, and read them as ratios.
"""

from __future__ import annotations

import time
import tracemalloc
from functools import partial

import numpy as np

from asctools._validate import check_choice
from asctools.handmade.lstm import NumpyLSTM
from asctools.handmade.rtrl import TruncatedRTRL
from asctools.handmade.rtrl_full import FullRTRL
from asctools.handmade.training import (
    GRADIENT_METHODS,
    memory_task_data,
    train_memory_task,
)

__all__ = [
    "fit_exponent",
    "longest_learnable_length",
    "memory_vs_length",
    "time_per_step",
]


def fit_exponent(sizes, seconds):
    """Slope a of the least-squares line log t = a log H + b."""
    sizes, seconds = np.asarray(sizes, float), np.asarray(seconds, float)
    if sizes.ndim != 1 or len(sizes) < 2 or sizes.shape != seconds.shape:
        raise ValueError("sizes and seconds must be 1-D, equal length >= 2")
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def _seconds_per_call(fn, min_seconds, repeats, clock):
    """The fastest of ``repeats`` runs of mean time per call of ``fn``."""
    best = np.inf
    for _ in range(repeats):
        n, start = 0, clock()
        while n == 0 or clock() - start < min_seconds:
            fn()
            n += 1
        best = min(best, (clock() - start) / n)
    return best


def _step_fn(method, hidden_size, batch_size, rng):
    """A no-argument callable doing one step of ``method``."""
    model = NumpyLSTM(1, hidden_size, seed=rng)
    x = rng.normal(size=(batch_size, 1))
    if method == "bptt":  # one forward step and its backward step
        h = np.zeros((batch_size, hidden_size))

        def bptt_step():
            model.step(x, h, h)
            model.backward_step(h, h)

        return bptt_step
    learner = {"truncated": TruncatedRTRL, "full": FullRTRL}[method](model)
    learner.reset(batch_size)
    return lambda: learner.step(x)


def time_per_step(
    hidden_sizes,
    method="truncated",
    batch_size=1,
    min_seconds=0.1,
    repeats=3,
    clock="cpu",
    seed=0,
):
    """Seconds per time step against the hidden size H.

    ``method``: ``"truncated"`` (the LSTM learning method, O(H²)),
    ``"full"`` (full RTRL, O(H⁴)) or ``"bptt"`` (a forward and a backward
    step, O(H²)). ``clock``: ``"cpu"`` (the process's CPU time, robust to
    other work on the machine when NumPy runs one thread) or ``"wall"``.
    Each size reports the best of ``repeats`` means over ≥ ``min_seconds``.
    Returns ``{"hidden_sizes", "seconds", "exponent", "local_exponents"}``:
    the slope of the log-log line fitted to all sizes (NaN for a single
    size) and the slopes between neighbouring sizes. Small sizes are
    dominated by NumPy's fixed cost per call, so the local slope at the
    large end is the better estimate of the asymptotic exponent.
    """
    check_choice("method", method, ("truncated", "full", "bptt"))
    clocks = {"cpu": time.process_time, "wall": time.perf_counter}
    check_choice("clock", clock, clocks)
    rng = np.random.default_rng(seed)
    seconds = [
        _seconds_per_call(
            _step_fn(method, h, batch_size, rng),
            min_seconds,
            repeats,
            clocks[clock],
        )
        for h in hidden_sizes
    ]
    exponent = (
        fit_exponent(hidden_sizes, seconds)
        if len(hidden_sizes) > 1
        else float("nan")
    )
    local = [
        fit_exponent(hidden_sizes[j : j + 2], seconds[j : j + 2])
        for j in range(len(seconds) - 1)
    ]
    return {
        "hidden_sizes": list(hidden_sizes),
        "seconds": seconds,
        "exponent": exponent,
        "local_exponents": local,
    }


def _peak_bytes(fn):
    """tracemalloc's peak of new allocations while ``fn()`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def memory_vs_length(seq_lens, hidden_size=32, batch_size=32, seed=0):
    """Peak memory of one gradient computation, BPTT vs truncated RTRL.

    Measured with ``tracemalloc`` (NumPy reports its array buffers to it):
    the peak of allocations made during the call, the input excluded.
    BPTT keeps every step's cache, so it grows linearly in T; RTRL keeps
    the state and the sensitivities, a constant. Returns ``{"seq_lens",
    "bptt_bytes", "rtrl_bytes"}``.
    """
    rng = np.random.default_rng(seed)
    out = {"seq_lens": list(seq_lens), "bptt_bytes": [], "rtrl_bytes": []}
    for t in seq_lens:
        model = NumpyLSTM(1, hidden_size, seed=rng)
        x, y = memory_task_data(batch_size, t, rng)
        for name, fn in GRADIENT_METHODS.items():
            peak = _peak_bytes(partial(fn, model, x, y))
            out[f"{name}_bytes"].append(peak)
    return out


def longest_learnable_length(
    seq_lens,
    method="rtrl",
    hidden_size=16,
    budget_sequences=10_000,
    seed=0,
    **train_kw,
):
    """Train on each T in ``seq_lens`` (ascending) until one fails.

    A length counts as learned when the model scores ≥ 95 % on 1000 fresh
    test sequences after :func:`train_memory_task` stopped (on its
    criterion, or at ``budget_sequences``). Returns ``{"method",
    "budget_sequences", "runs": [{"seq_len", "solved", "accuracy",
    "n_sequences_seen", "seconds"}, ...], "longest"}`` (``longest`` is
    None if none was learned).
    """
    check_choice("method", method, GRADIENT_METHODS)
    runs, longest = [], None
    for t in sorted(seq_lens):
        res = train_memory_task(
            seq_len=t,
            hidden_size=hidden_size,
            method=method,
            seed=seed,
            max_sequences=budget_sequences,
            **train_kw,
        )
        ok = res.accuracy >= 0.95
        runs.append(
            {
                "seq_len": t,
                "solved": ok,
                "accuracy": res.accuracy,
                "n_sequences_seen": res.n_sequences_seen,
                "seconds": res.seconds,
            }
        )
        if not ok:
            break
        longest = t
    return {
        "method": method,
        "budget_sequences": budget_sequences,
        "runs": runs,
        "longest": longest,
    }
