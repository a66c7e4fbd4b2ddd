"""The results store holds what its code computes: stored runs re-run.

For every experiment of the catalogue the store must have a file whose
runs are exactly the catalogue's configurations, with provenance. Then a
sample of cheap runs is repeated — the cheapest of each (task, kind) of
every experiment, at least three in all and across tasks and kinds —
and must give identical numbers on the CPU. When a stored number no
longer reproduces, the failure says which run and the command that
regenerates the file.
"""

from __future__ import annotations

import json

import pytest
import torch

from asctools.experiments import store
from asctools.experiments.catalogue import EXPERIMENTS

torch.set_num_threads(1)
MAX_SECONDS = 8.0  # a sampled run must be cheap
PROVENANCE = {"command", "git_commit", "torch", "device", "seconds", "date"}


def _plain(record: dict) -> dict:
    """The record as JSON gives it back, without its timing."""
    out = json.loads(json.dumps(record))
    out.pop("seconds", None)
    return out


def sample() -> list[tuple[str, dict]]:
    """(experiment, stored run): the cheapest run of every (task, kind)
    group of every stored experiment, if it is cheap enough."""
    picked = []
    for name in EXPERIMENTS:
        if name not in store.stored():
            continue
        groups = {}
        for run in store.load(name).runs:
            key = (run.get("task"), run.get("kind"), run.get("method"))
            if key not in groups or run["seconds"] < groups[key]["seconds"]:
                groups[key] = run
        picked += [(name, r) for r in groups.values()
                   if r["seconds"] <= MAX_SECONDS]  # fmt: skip
    return picked


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_experiment_is_stored_with_provenance(name):
    assert name in store.stored(), (
        f"no stored results for {name!r}: run "
        f"`python -m asctools.experiments {name}` (make experiments)"
    )
    res = store.load(name)
    assert PROVENANCE <= set(res.provenance)
    configs = [_plain(c) for c in EXPERIMENTS[name].configs()]
    stored = [_plain(r["config"]) for r in res.runs]
    assert stored == configs, (
        f"the stored runs of {name!r} are not the catalogue's: regenerate "
        f"with `python -m asctools.experiments {name}`"
    )


def test_the_sample_spans_tasks_and_kinds():
    picked = sample()
    assert len(picked) >= 3
    assert len({r.get("task") for _, r in picked}) >= 2
    assert len({r.get("kind") for _, r in picked}) >= 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "run"), sample(),
    ids=lambda v: v if isinstance(v, str) else "-".join(
        str(v["config"].get(k)) for k in ("task", "kind", "init", "seq_len",
                                          "seed") if k in v["config"]),
)  # fmt: skip
def test_a_stored_run_reproduces_exactly(name, run):
    again = EXPERIMENTS[name].run(run["config"], "cpu")
    stored, fresh = _plain(run), _plain(again)
    differ = sorted(k for k in stored.keys() | fresh.keys()
                    if stored.get(k) != fresh.get(k))  # fmt: skip
    assert not differ, (
        f"stored run {run['config']} of {name!r} no longer reproduces: "
        f"{differ} differ (stored {[stored.get(k) for k in differ]}, now "
        f"{[fresh.get(k) for k in differ]}). Regenerate with "
        f"`python -m asctools.experiments {name}`."
    )
