"""The performance report: every speed figure of the course, from one run.

``python benchmarks/report.py`` (or ``make bench``) measures, in this order,
and writes ``benchmarks/results/report.md`` and ``report.json``:

1. the cold book build (``_build`` removed: every chapter executed) and the
   warm one (nothing changed: the execution cache is used), with the
   per-chapter execution time the cold build recorded;
2. each chapter's Colab-style run in a fresh environment
   (``book/_scripts/run_notebooks.py``), when ``--notebooks`` is given;
3. ``asctools.nn`` vs ``torch.nn`` training-step ratios (``bench_nn.py``);
4. the trainer's overhead over a bare loop (``bench_trainer.py``);
5. the RTRL step-time scaling exponent (``bench_rtrl.py``);
6. training sequences the LSTM needs to solve the adding problem at
   T = 50, 100, 200 (``adding_check.py``).

Targets (from the course's issues) are printed next to each number. Every
figure is measured in this run; ratios compare runs taken side by side.
``--skip-build`` leaves out step 1 (it takes minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
BIN = Path(sys.executable).parent
TARGETS = {
    "cold_build_s": 300,
    "warm_build_s": 30,
    "chapter_s": 90,
    "lstm_ratio_b256": 1.5,
    "lstm_ratio_b64": 3.0,
    "trainer_overhead": 0.05,
}


def run(cmd: list[str], check: bool = True, **kw) -> float:
    """Run ``cmd`` in the repository; return its wall time in seconds."""
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=check, **kw)
    return time.perf_counter() - start


def script(name: str, *args: str, check: bool = True) -> dict:
    """Run ``benchmarks/<name>`` with ``--json``; return what it wrote."""
    path = OUT / f"{Path(name).stem}.json"
    run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / name),
            *args,
            "--json",
            str(path),
        ],
        check=check,
    )
    return json.loads(path.read_text())


def chapter_times() -> dict[str, float]:
    """Per-notebook execution seconds recorded by the execution cache."""
    from jupyter_cache import get_cache

    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    return {
        Path(r.uri).stem: round(r.data.get("execution_seconds", 0.0), 1)
        for r in cache.list_cache_records()
    }


def builds() -> dict:
    """Cold build (no _build at all), then a warm one."""
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    cold = run(["make", "book"], stdout=subprocess.DEVNULL)
    times = chapter_times()
    warm = run(["make", "book"], stdout=subprocess.DEVNULL)
    return {
        "cold_build_s": round(cold, 1),
        "warm_build_s": round(warm, 1),
        "chapter_exec_s": times,
    }


def notebooks() -> dict[str, float]:
    run([sys.executable, str(ROOT / "book" / "_scripts" / "run_notebooks.py")])
    return json.loads((ROOT / "_build" / "notebook_times.json").read_text())


def nn_ratios() -> dict:
    rows = script("bench_nn.py")["results"]
    return {
        f"{r['kind']} B{r['batch']} T{r['seq_len']} H{r['hidden']}": round(
            r["asctools_ratio"], 2
        )
        for r in rows
    }


def adding(seq_lens=(50, 100, 200)) -> dict:
    out = {}
    for t in seq_lens:
        # exits 1 when the LSTM misses the target: that is a result here
        res = script(
            "adding_check.py",
            "--seq-len",
            str(t),
            "--max-sequences",
            "100000",
            "--quiet",
            check=False,
        )
        for model in res["results"]:
            model["solved"] = model["test_mse"] < res["args"]["target"]
        out[t] = res["results"]
    return out


def check(value, target) -> str:
    ok = value <= target
    return f"{value} (target ≤ {target}: {'pass' if ok else 'MISSED'})"


def markdown(r: dict) -> str:
    lines = ["# Performance report", "", f"Machine: {r['machine']}", ""]
    if "cold_build_s" in r:
        lines += [
            f"- {k.replace('_s', '').replace('_', ' ')}: "
            f"{check(r[k], TARGETS[k])} s"
            for k in ("cold_build_s", "warm_build_s")
        ]
        lines += [
            "",
            "| chapter | executed in the build (s) | fresh kernel (s) |",
            "|---|---|---|",
        ]
        fresh = r.get("notebooks", {})
        for name, sec in sorted(r["chapter_exec_s"].items()):
            lines.append(
                f"| {name} | {check(sec, TARGETS['chapter_s'])} | "
                f"{fresh.get(name, '–')} |"
            )
        lines.append("")
    lines += [
        "## asctools.nn / torch.nn, training step",
        "",
        "| point | ratio |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in r["nn_ratios"].items()]
    over = round(r["trainer"]["overhead"], 3)
    lines += [
        "",
        "## Trainer",
        "",
        f"overhead over a bare loop: "
        f"{check(over, TARGETS['trainer_overhead'])}",
        "",
        "## RTRL: seconds per step vs hidden size",
        "",
        "| method | fitted exponent | local exponents |",
        "|---|---|---|",
    ]
    for name in ("truncated", "bptt", "full"):
        t = r["rtrl"][f"time_{name}"]
        local = ", ".join(f"{e:.2f}" for e in t["local_exponents"])
        lines.append(f"| {name} | {t['exponent']:.2f} | {local} |")
    lines += [
        "",
        "## Adding problem: sequences to test MSE < 0.01",
        "",
        "| T | model | sequences | test MSE | solved |",
        "|---|---|---|---|---|",
    ]
    for t, res in r["adding"].items():
        for model in res:
            lines.append(
                f"| {t} | {model.get('kind')} | "
                f"{model['sequences']} | {model['test_mse']:.4f} | "
                f"{model['solved']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-build", action="store_true")
    p.add_argument(
        "--notebooks",
        action="store_true",
        help="also run every notebook in a fresh environment",
    )
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    r = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, python "
        f"{platform.python_version()}"
    }
    if not args.skip_build:
        r.update(builds())
    if args.notebooks:
        r["notebooks"] = notebooks()
    r["nn_ratios"] = nn_ratios()
    r["trainer"] = script("bench_trainer.py")
    r["rtrl"] = script("bench_rtrl.py")
    r["adding"] = adding()
    (OUT / "report.json").write_text(json.dumps(r, indent=1))
    (OUT / "report.md").write_text(markdown(r))
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
