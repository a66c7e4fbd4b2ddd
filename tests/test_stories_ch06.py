"""Chapter 6's stories, asserted on the stored results (handmade_methods).

When a story stops holding, the chapter's prose is rewritten, not this
test. One stored run is also re-run here and must give the same numbers.
"""

import pytest

from asctools.experiments import evidence
from asctools.experiments.catalogue import EXPERIMENTS
from asctools.experiments.handmade_memory import METHOD_LENGTHS
from asctools.experiments.store import load


@pytest.fixture(scope="module")
def grid():
    methods = load("handmade_methods")
    return {(m, t): methods.select(method=m, seq_len=t)
            for m in ("bptt", "rtrl") for t in METHOD_LENGTHS}  # fmt: skip


def test_five_seeds_per_method_and_length(grid):
    assert all(len(runs) >= 5 for runs in grid.values())


def test_budgets_are_whole_batches(grid):
    assert all(r["budget"] % 64 == 0 for runs in grid.values() for r in runs)


def test_both_methods_learn_up_to_t100(grid):
    """'Up to T = 100 both methods learn the task'."""
    for t in METHOD_LENGTHS:
        if t <= 100:
            assert evidence.solved(grid["bptt", t])[0] >= 4
            assert evidence.solved(grid["rtrl", t])[0] >= 3


def test_the_truncated_method_falls_behind(grid):
    """Never more seeds solved than BPTT; where both solved, more
    sequences; at T = 200 fewer solved."""
    for t in METHOD_LENGTHS:
        k_rtrl = evidence.solved(grid["rtrl", t])[0]
        k_bptt = evidence.solved(grid["bptt", t])[0]
        assert k_rtrl <= k_bptt
        if min(k_rtrl, k_bptt) >= 3:
            rtrl = evidence.summarise(grid["rtrl", t]).median
            assert rtrl > evidence.summarise(grid["bptt", t]).median
    at_200 = [evidence.solved(grid[m, 200])[0] for m in ("rtrl", "bptt")]
    assert at_200[0] < at_200[1]


def test_a_stored_run_reproduces(grid):
    stored = grid["rtrl", 25][0]
    again = EXPERIMENTS["handmade_methods"].run(stored["config"], "cpu")
    for key in ("solved_at", "test_metric", "accuracy", "final_bce"):
        assert again[key] == stored[key], (
            f"handmade_methods no longer reproduces {key}; regenerate with "
            "`python -m asctools.experiments handmade_methods --workers 1`"
        )
