"""Chapter 1's stories, asserted on the stored results (tiny_rnn).

When a story stops holding, the chapter's prose is rewritten, not this
test. One stored run is also re-run here and must give the same numbers.
"""

import math

import pytest

from asctools.experiments import evidence
from asctools.experiments.catalogue import EXPERIMENTS
from asctools.experiments.store import load

CHANCE = math.log(2)


@pytest.fixture(scope="module")
def tiny():
    return load("tiny_rnn")


def plateau(losses):
    """Epochs before the loss first fell below half of ln 2 (as ch01)."""
    return next(i for i, v in enumerate(losses) if v < CHANCE / 2)


def test_five_seeds_per_length(tiny):
    for t in (10, 50):
        assert len(tiny.select(seq_len=t)) >= 5


def test_the_tiny_rnn_learns_both_lengths(tiny):
    """'With T = 10 ... With T = 50 it still succeeds'."""
    for t in (10, 50):
        runs = tiny.select(seq_len=t)
        k, n = evidence.solved(runs)
        assert k >= n - 1, f"T = {t}: {evidence.phrase(runs)}"
        assert min(r["accuracy"] for r in runs if r["solved_at"]) >= 0.99


def test_longer_sequences_wait_longer_on_the_plateau(tiny):
    """'... the plateau is longer at T = 50', and it needs more epochs."""
    short, long_ = tiny.select(seq_len=10), tiny.select(seq_len=50)
    assert evidence.summarise(long_).median > evidence.summarise(short).median
    med = [sorted(plateau(r["train_loss"]) for r in runs)[len(runs) // 2]
           for runs in (short, long_)]  # fmt: skip
    assert med[1] > med[0]


def test_a_stored_run_reproduces(tiny):
    stored = tiny.select(seq_len=10, seed=0)[0]
    again = EXPERIMENTS["tiny_rnn"].run(stored["config"], "cpu")
    for key in ("solved_at", "train_loss", "test_metric", "accuracy"):
        assert again[key] == stored[key], (
            f"tiny_rnn no longer reproduces {key}; regenerate with "
            "`python -m asctools.experiments tiny_rnn --workers 1`"
        )
