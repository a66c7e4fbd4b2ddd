"""Training-step time of asctools.nn RNN/LSTM/GRU relative to torch.nn.

One training step = zero_grad, forward, loss, backward, SGD step, on a
batch_first model with input size 28 (the parentheses task's alphabet).
The two implementations' repetitions are interleaved (torch, asctools,
torch, asctools, ...) and medians are compared, so that load on the
machine affects both alike. Run::

    python benchmarks/bench_nn.py [--quick] [--threads N] [--json PATH]
                                  [--reps N] [--plain]

``--plain`` adds the plain autograd loop (``fused=False``) as a third
column. With one thread the clock is the process's CPU time, so that time
spent waiting for a busy CPU is not counted (``--clock wall`` to change).
The LSTM targets (ratio ≤ 1.5 at B 256, T 50, H 64 and ≤ 3 at B 64,
T 100, H 64) are marked pass/fail.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asctools.nn as ann  # noqa: E402
from asctools.utils import set_seed, set_threads  # noqa: E402

INPUT_SIZE = 28
KINDS = ("RNN", "LSTM", "GRU")
# (batch, seq_len, hidden): the book's range, ≤ ~2 min on one thread
GRID = [
    (64, 25, 32),
    (64, 100, 64),
    (64, 200, 128),
    (256, 50, 64),
    (1000, 25, 32),
    (1000, 50, 64),
]
QUICK_GRID = [(64, 100, 64), (256, 50, 64)]
# (kind, batch, seq_len, hidden) -> the largest acceptable ratio
TARGETS = {("LSTM", 256, 50, 64): 1.5, ("LSTM", 64, 100, 64): 3.0}


def make_models(kind: str, hidden: int) -> dict[str, torch.nn.Module]:
    """The torch.nn model and its asctools.nn twin(s), same weights."""
    reference = getattr(torch.nn, kind)(INPUT_SIZE, hidden, batch_first=True)
    models = {"torch": reference}
    for name, fused in (("asctools", True), ("plain", False)):
        model = getattr(ann, kind)(
            INPUT_SIZE, hidden, batch_first=True, fused=fused
        )
        model.load_state_dict(reference.state_dict())
        models[name] = model
    return models


def train_step(model, optimizer, x) -> None:
    """zero_grad → forward → loss → backward → SGD step."""
    optimizer.zero_grad()
    out, _ = model(x)  # (B, T, H)
    loss = out.square().mean()
    loss.backward()
    optimizer.step()


def time_point(kind, batch, seq_len, hidden, reps, names, clock) -> dict:
    """Median step time (ms) of each implementation at one grid point."""
    set_seed(0)
    models = make_models(kind, hidden)
    x = torch.randn(batch, seq_len, INPUT_SIZE)
    opts = {n: torch.optim.SGD(models[n].parameters(), lr=1e-3) for n in names}
    times = {n: [] for n in names}
    for rep in range(reps + 1):  # repetition 0 is a warm-up
        for n in names:  # interleaved: load hits every implementation
            start = clock()
            train_step(models[n], opts[n], x)
            if rep > 0:
                times[n].append(clock() - start)
    row = {
        "kind": kind,
        "batch": batch,
        "seq_len": seq_len,
        "hidden": hidden,
        "input_size": INPUT_SIZE,
    }
    for n in names:
        row[f"{n}_ms"] = 1e3 * statistics.median(times[n])
    for n in names[1:]:
        row[f"{n}_ratio"] = row[f"{n}_ms"] / row["torch_ms"]
    target = TARGETS.get((kind, batch, seq_len, hidden))
    if target is not None:
        row["target"] = target
        row["pass"] = row["asctools_ratio"] <= target
    return row


def format_row(row, names) -> str:
    cells = [
        f"{row['kind']:<5}",
        f"{row['batch']:>5}",
        f"{row['seq_len']:>4}",
        f"{row['hidden']:>4}",
    ]
    cells += [f"{row[n + '_ms']:>9.1f}" for n in names]
    cells += [f"{row[n + '_ratio']:>7.2f}x" for n in names[1:]]
    if "target" in row:
        verdict = "pass" if row["pass"] else "FAIL"
        cells.append(f" ≤{row['target']:g}x {verdict}")
    return " ".join(cells)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="two grid points, 3 repetitions (a few seconds)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        help="write the results to this JSON file",
    )
    p.add_argument(
        "--reps",
        type=int,
        default=None,
        help="timed repetitions per point (default 7, quick 3)",
    )
    p.add_argument(
        "--plain",
        action="store_true",
        help="also time the plain autograd loop (fused=False)",
    )
    p.add_argument(
        "--clock",
        choices=["auto", "cpu", "wall"],
        default="auto",
        help="cpu: this process's CPU time, robust to other processes "
        "on the machine; wall: elapsed time; auto (default): cpu with "
        "one thread, wall with more",
    )
    return p.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    threads = set_threads(args.threads)
    reps = args.reps or (3 if args.quick else 7)
    if reps < 1:
        raise ValueError(f"--reps must be ≥ 1, got {reps}")
    grid = QUICK_GRID if args.quick else GRID
    names = ["torch", "asctools"] + (["plain"] if args.plain else [])
    clock_name = args.clock
    if clock_name == "auto":
        clock_name = "cpu" if threads == 1 else "wall"
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    print(
        f"torch {torch.__version__}, {threads} thread(s), median of "
        f"{reps}, {clock_name} time of a training step in ms"
    )
    print(
        "kind  batch    T    H "
        + " ".join(f"{n:>9}" for n in names)
        + " "
        + " ".join(f"{n[:5] + '/t':>8}" for n in names[1:])
    )
    rows, start = [], time.perf_counter()
    for kind in KINDS:
        for batch, seq_len, hidden in grid:
            row = time_point(kind, batch, seq_len, hidden, reps, names, clock)
            print(format_row(row, names), flush=True)
            rows.append(row)
    elapsed = time.perf_counter() - start
    print(f"total {elapsed:.0f} s; x/t = time of x / time of torch.nn")
    if args.json is not None:
        meta = {
            "torch": torch.__version__,
            "threads": threads,
            "reps": reps,
            "clock": clock_name,
            "quick": args.quick,
            "machine": platform.machine(),
            "seconds": elapsed,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"meta": meta, "results": rows}, indent=1)
        )
    return rows


if __name__ == "__main__":
    main()
