"""Run experiments of the catalogue into the results store, in parallel.

``python -m asctools.experiments`` (``make experiments``) runs every
experiment of :data:`asctools.experiments.catalogue.EXPERIMENTS`;
``python -m asctools.experiments long_range copy`` runs the named ones,
``--list`` lists them. Runs go to worker processes with one torch thread
each (small recurrent networks run fastest that way, and two workers use
the two cores of the course machines); every run is seeded by its own
configuration, so the numbers do not depend on which worker ran it or in
which order. The device is the CPU unless ``--device`` says otherwise.

A long run can be interrupted: every finished run is appended to
``<store>/.partial/<name>.jsonl`` (with the commit it was computed at),
and the next call with the same commit and configurations reuses them
(``--fresh`` starts over). The partial file goes once the result is
written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import torch

from asctools.experiments.catalogue import EXPERIMENTS
from asctools.experiments.store import RESULTS, git_commit, provenance, save
from asctools.utils import get_device, progress_bar

__all__ = ["main", "run_experiment"]


def _one(job):
    """Run one configuration of one experiment (in a worker process)."""
    name, index, config, device = job
    torch.set_num_threads(1)
    start = time.perf_counter()
    record = EXPERIMENTS[name].run(config, device)
    record.setdefault("seconds", round(time.perf_counter() - start, 2))
    return name, index, record


def _partial(folder, name) -> Path:
    return Path(folder or RESULTS) / ".partial" / f"{name}.jsonl"


def _resume(path, commit, configs) -> dict[int, dict]:
    """{index: record} of the runs a partial file holds for this commit."""
    if not path.exists():
        return {}
    done = {}
    for line in path.read_text().splitlines():
        item = json.loads(line)
        index = item["index"]
        if (
            item["commit"] == commit
            and index < len(configs)
            and (
                item["record"]["config"]
                == json.loads(json.dumps(configs[index]))
            )
        ):
            done[index] = item["record"]
    return done


def run_experiment(names, workers=2, device="cpu", folder=None, echo=print,
                   fresh=False):  # fmt: skip
    """Run the named experiments; write each one's file; return the paths.

    The jobs of all named experiments share one pool, the most expensive
    first, so both workers stay busy to the end; with one worker they run
    in this process. Runs finished by an interrupted call at the same
    commit are reused unless ``fresh``.
    """
    device, commit = str(get_device(device)), git_commit()
    if folder is not None:  # where runs that ship files write them
        os.environ["ASCTOOLS_RESULTS_OUT"] = str(Path(folder).resolve())
    runs, jobs = {}, []
    for name in names:
        configs = EXPERIMENTS[name].configs()
        path = _partial(folder, name)
        if fresh and path.exists():
            path.unlink()
        done = _resume(path, commit, configs)
        runs[name] = [done.get(i) for i in range(len(configs))]
        jobs += [(name, i, c, device) for i, c in enumerate(configs)
                 if i not in done]  # fmt: skip
        if done:
            echo(f"{name}: {len(done)} runs reused from {path}")
    jobs.sort(key=lambda j: -EXPERIMENTS[j[0]].cost(j[2]))
    start = time.perf_counter()
    pool = get_context("spawn").Pool(workers) if workers > 1 else None
    done = pool.imap_unordered(_one, jobs) if pool else map(_one, jobs)
    with progress_bar(total=len(jobs), unit="run", desc="experiments") as bar:
        for name, index, record in done:
            runs[name][index] = record
            path = _partial(folder, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as log:
                item = {"commit": commit, "index": index, "record": record}
                log.write(json.dumps(item) + "\n")
            bar.update(1)
    if pool is not None:
        pool.close()  # let the workers end on their own: nothing leaks
        pool.join()
    seconds = time.perf_counter() - start
    command = "python -m asctools.experiments " + " ".join(names)
    paths = []
    for name in names:
        spent = sum(r["seconds"] for r in runs[name])
        prov = provenance(command, spent, workers, device, commit)
        prov["wall_seconds_all"] = round(seconds, 1)
        exp = EXPERIMENTS[name]
        paths.append(save(name, exp.description, runs[name], prov, folder))
        _partial(folder, name).unlink(missing_ok=True)
        echo(f"{name}: {len(runs[name])} runs, {spent:.0f} s of compute")
    echo(f"wall time {seconds / 60:.1f} min on {workers} workers")
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m asctools.experiments",
        description="Recompute stored experiments (asctools/results/).",
    )
    parser.add_argument("names", nargs="*", help="experiments (default all)")
    parser.add_argument("--list", action="store_true", help="list them")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None, help="folder (default store)")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="ignore runs kept by an interrupted call",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, exp in EXPERIMENTS.items():
            print(f"{name:>16}: {len(exp.configs()):4d} runs  "
                  f"{exp.description}")  # fmt: skip
        return 0
    unknown = sorted(set(args.names) - set(EXPERIMENTS))
    if unknown:
        parser.error(f"unknown experiments {unknown}; see --list")
    names = args.names or list(EXPERIMENTS)
    run_experiment(names, args.workers, args.device, args.out, print,
                   args.fresh)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
