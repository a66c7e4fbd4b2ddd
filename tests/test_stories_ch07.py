"""Chapter 7's stories, asserted on the stored results (forget_bias,
tbptt_chunks, clip_thresholds).

When a story stops holding, the chapter's prose is rewritten, not this
test. One stored run is also re-run here and must give the same numbers.
"""

import statistics

import numpy as np
import pytest

from asctools.experiments import evidence
from asctools.experiments.catalogue import EXPERIMENTS
from asctools.experiments.store import load


@pytest.fixture(scope="module")
def stores():
    return {n: load(n) for n in ("forget_bias", "tbptt_chunks",
                                 "clip_thresholds")}  # fmt: skip


def test_five_seeds_everywhere(stores):
    fb, tb, th = stores.values()
    assert all(len(fb.select(forget_bias=b)) >= 5 for b in (0.0, 1.0))
    assert all(len(tb.select(chunk_len=k)) >= 5 for k in (3, 6, 7, 18))
    assert all(len(th.select(clip=c)) >= 5 for c in (None, 0.05, 0.5, 5.0))


def test_the_forget_bias_decides_at_t20(stores):
    """b_f = 1 learns, b_f = 0 stays at chance, within 300 steps."""
    fb = stores["forget_bias"]
    k, n = evidence.solved(fb.select(forget_bias=1.0))
    assert k >= n - 1
    assert evidence.solved(fb.select(forget_bias=0.0))[0] <= 1
    best = [min(r["test_metric"]) for r in fb.select(forget_bias=0.0)]
    assert statistics.median(best) > 0.4  # "its loss stays on chance"


def test_truncation_reaches_back_k_minus_1_steps(stores):
    """Lag 6: chunks of 3 and 6 stay at chance, 7 starts to learn, 18
    solves it."""
    tb = stores["tbptt_chunks"]
    for k in (3, 6):
        runs = tb.select(chunk_len=k)
        assert evidence.solved(runs)[0] == 0
        assert statistics.median(r["accuracy"] for r in runs) < 0.6
    seven = tb.select(chunk_len=7)
    assert min(r["accuracy"] for r in seven) > 0.65  # "learning starts"
    k, n = evidence.solved(tb.select(chunk_len=18))
    assert k >= n - 1
    assert min(r["accuracy"] for r in tb.select(chunk_len=18)) > 0.95


def test_spikes_come_at_the_start_and_at_the_drop(stores):
    for r in stores["clip_thresholds"].select(clip=None):
        g = np.array(r["grad_norm"])
        top = np.flatnonzero(g > np.percentile(g, 95)) + 1
        drop = r["sequences"][int(np.argmax(np.array(r["test_metric"])
                                            < 1 / 12))] // 32  # fmt: skip
        early = (top <= 20).sum()
        near = ((top > drop - 150) & (top <= drop)).sum()
        assert early + near >= 0.6 * len(top)
        assert early >= 3 and near >= 5


def test_under_adam_the_threshold_does_not_decide(stores):
    th = stores["clip_thresholds"]
    for clip in (None, 0.05, 0.5, 5.0):
        k, n = evidence.solved(th.select(clip=clip))
        assert k >= n - 1, clip
    unclipped, never = th.select(clip=None), th.select(clip=5.0)
    assert [r["test_metric"] for r in never] == [
        r["test_metric"] for r in unclipped
    ]  # "a threshold of 5 never acted"
    share = np.mean([np.mean(np.array(r["grad_norm"]) > 0.05)
                     for r in th.select(clip=0.05)])  # fmt: skip
    assert share > 0.5  # "rescaled most steps"


def test_a_stored_run_reproduces(stores):
    stored = stores["forget_bias"].select(forget_bias=1.0, seed=0)[0]
    again = EXPERIMENTS["forget_bias"].run(stored["config"], "cpu")
    for key in ("solved_at", "step_loss", "test_metric"):
        assert again[key] == stored[key], (
            f"forget_bias no longer reproduces {key}; regenerate with "
            "`python -m asctools.experiments forget_bias --workers 1`"
        )
