"""The results store: one JSON file per experiment, shipped in the package.

``make experiments`` (``python -m asctools.experiments``) runs every
experiment of :mod:`asctools.experiments.catalogue` and writes
``asctools/results/<name>.json``::

    {"name": ..., "description": ...,
     "provenance": {"command", "git_commit", "torch", "numpy", "python",
                    "device", "cpu", "workers", "seconds", "date"},
     "runs": [{"task", "kind", "init", "seq_len", "seed", "budget",
               "solved_at", "sequences", "test_metric", ...}, ...]}

Each run holds its configuration (what :func:`Experiment.run` needs to
repeat it) next to its results, so a test can re-run any stored run and
demand the same numbers. The chapters read the store with :func:`load`
and draw and phrase it with :mod:`asctools.experiments.evidence`.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from asctools._validate import check_choice

__all__ = [
    "RESULTS",
    "SEEDS",
    "Experiment",
    "Results",
    "load",
    "git_commit",
    "provenance",
    "save",
    "stored",
]

RESULTS = Path(__file__).resolve().parents[1] / "results"
SEEDS = (0, 1, 2, 3, 4)  # five seeds for every configuration


@dataclass(frozen=True)
class Experiment:
    """One file of the store.

    ``configs()`` lists every run (every seed, length and budget, fixed
    before any of them ran); ``run(config, device)`` runs one and returns
    its record: ``{"config": config, ...results}``, so that a test can
    repeat it; ``cost(config)`` is a relative cost, to schedule the most
    expensive runs first.
    """

    name: str
    description: str
    configs: Callable[[], list[dict]]
    run: Callable[[dict, str], dict]
    cost: Callable[[dict], float] = lambda config: 1.0


@dataclass
class Results:
    """One experiment's stored runs and where they came from."""

    name: str
    description: str
    provenance: dict
    runs: list[dict]

    def select(self, **where) -> list[dict]:
        """The runs whose fields equal every ``where`` value; a list or
        tuple value matches any of its entries."""

        def keep(run):
            for key, want in where.items():
                if key not in run:
                    raise KeyError(
                        f"the runs of {self.name!r} have no field {key!r}; "
                        f"they have {sorted(run)}"
                    )
                ok = (
                    run[key] in want
                    if isinstance(want, (list, tuple))
                    else (run[key] == want)
                )
                if not ok:
                    return False
            return True

        return [r for r in self.runs if keep(r)]

    def values(self, field: str) -> list:
        """The distinct values of ``field`` over the runs, in order."""
        return list(dict.fromkeys(r[field] for r in self.runs))

    def caption(self) -> str:
        """A sentence saying where the numbers come from, for a caption."""
        p = self.provenance
        return (
            f"Stored results `{self.name}` ({len(self.runs)} runs), made by "
            f"`{p['command']}` at commit {p['git_commit'][:8]} on "
            f"{p['date'][:10]}, torch {p['torch']}, {p['device']}."
        )


def git_commit() -> str:
    """The repository's HEAD commit, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True,
            cwd=RESULTS.parent, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def provenance(command: str, seconds: float, workers: int, device,
               commit=None) -> dict:  # fmt: skip
    """Where a result came from: command, commit (default: HEAD now; the
    runner passes the commit it started at), versions, machine."""
    return {
        "command": command,
        "git_commit": commit or git_commit(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "cpu": f"{platform.machine()}, "
        f"{torch.backends.cpu.get_cpu_capability()}",
        "workers": workers,
        "seconds": round(float(seconds), 1),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def save(name, description, runs, provenance, folder=None) -> Path:
    """Write ``<folder>/<name>.json`` (default: the package's results)."""
    folder = RESULTS if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    data = {
        "name": name,
        "description": description,
        "provenance": provenance,
        "runs": runs,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def stored() -> list[str]:
    """The names of the experiments in the store."""
    return sorted(p.stem for p in RESULTS.glob("*.json"))


def load(name: str, folder=None) -> Results:
    """The stored results of experiment ``name``."""
    folder = RESULTS if folder is None else Path(folder)
    path = folder / f"{name}.json"
    if not path.exists():
        names = sorted(p.stem for p in folder.glob("*.json"))
        check_choice("name", name, names)  # says which names exist
    data = json.loads(path.read_text())
    return Results(
        data["name"], data["description"], data["provenance"], data["runs"]
    )
