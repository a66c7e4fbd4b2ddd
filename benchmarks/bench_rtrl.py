"""RTRL against BPTT for the NumPy LSTM: time, memory, how far T goes.

    python benchmarks/bench_rtrl.py            # defaults: about a minute
    python benchmarks/bench_rtrl.py --budget 20000 --lens 50 100 200 400

Prints (1) seconds per time step against the hidden size H for truncated
RTRL (the LSTM learning method), BPTT and full RTRL, with the exponent of a
log-log fit; (2) the tracemalloc peak of one gradient computation against T;
(3) the longest T of the first-element task each method learns (≥ 95 % on
1000 test sequences) within a budget of training sequences. Runs on one
thread unless OMP_NUM_THREADS says otherwise; per-step times are the
process's CPU time, so other work on the machine disturbs them less.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before NumPy loads BLAS
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asctools.handmade.measure import (  # noqa: E402
    longest_learnable_length,
    memory_vs_length,
    time_per_step,
)
from asctools.utils import set_threads  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[64, 128, 256, 512, 1024],
        help="hidden sizes for truncated RTRL and BPTT",
    )
    p.add_argument(
        "--full-sizes",
        type=int,
        nargs="+",
        default=[16, 24, 32, 48, 64, 96],
        help="hidden sizes for full RTRL (O(H^4))",
    )
    p.add_argument(
        "--mem-lens", type=int, nargs="+", default=[25, 50, 100, 200, 400]
    )
    p.add_argument(
        "--lens",
        type=int,
        nargs="+",
        default=[25, 50, 100, 200],
        help="sequence lengths for the longest-T search",
    )
    p.add_argument(
        "--hidden",
        type=int,
        default=8,
        help="hidden size for the longest-T search",
    )
    p.add_argument(
        "--budget",
        type=int,
        default=5000,
        help="training sequences allowed per length",
    )
    p.add_argument("--json", default=None, help="also write results here")
    return p.parse_args()


def print_timings(name, out):
    cells = "  ".join(
        f"H={h}: {1e3 * s:.3f} ms"
        for h, s in zip(out["hidden_sizes"], out["seconds"], strict=True)
    )
    local = ", ".join(f"{e:.2f}" for e in out["local_exponents"])
    print(f"{name:>10}  {cells}")
    print(f"{'':>10}  exponent {out['exponent']:.2f} (local: {local})")


def main():
    args = parse_args()
    set_threads(1)
    start, results = time.perf_counter(), {}
    print("1) seconds per time step (batch 1), log-log exponent")
    for name, sizes in [
        ("truncated", args.sizes),
        ("bptt", args.sizes),
        ("full", args.full_sizes),
    ]:
        results[f"time_{name}"] = out = time_per_step(
            sizes, method=name, min_seconds=0.05
        )
        print_timings(name, out)
    print("2) tracemalloc peak of one gradient (H=32, batch 32), MB")
    mem = results["memory"] = memory_vs_length(args.mem_lens)
    rows = zip(
        mem["seq_lens"], mem["bptt_bytes"], mem["rtrl_bytes"], strict=True
    )
    for t, b, r in rows:
        print(f"   T={t:>5}  BPTT {b / 1e6:7.2f}   RTRL {r / 1e6:7.2f}")
    print(
        f"3) longest T learned within {args.budget} sequences "
        f"(H={args.hidden}, batch 64)"
    )
    for method in ("bptt", "rtrl"):
        out = longest_learnable_length(
            args.lens, method, args.hidden, args.budget
        )
        results[f"longest_{method}"] = out
        runs = ", ".join(
            f"T={r['seq_len']}: {100 * r['accuracy']:.1f}% after "
            f"{r['n_sequences_seen']} seq ({r['seconds']:.1f} s)"
            for r in out["runs"]
        )
        print(f"   {method}: longest {out['longest']}  [{runs}]")
    results["seconds_total"] = time.perf_counter() - start
    print(f"total {results['seconds_total']:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
