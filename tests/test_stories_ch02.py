"""Chapter 2's stories, asserted on the stored results (gradient_trained,
clipping) and, for the deterministic measurements, recomputed.

When a story stops holding, the chapter's prose is rewritten, not this
test. One stored run is also re-run here and must give the same numbers.
"""

import copy
import statistics

import pytest

import asctools
from asctools import gradflow as gf
from asctools.dataset import adding_problem
from asctools.experiments import evidence
from asctools.experiments.catalogue import EXPERIMENTS
from asctools.experiments.store import load
from asctools.models import RecurrentModel

MID = 25 - 1  # t = T/2 of T = 50, 0-based


@pytest.fixture(scope="module")
def trained():
    return load("gradient_trained")


@pytest.fixture(scope="module")
def clipping():
    return load("clipping")


def test_five_seeds(trained, clipping):
    for kind in ("lstm", "rnn"):
        assert len(trained.select(kind=kind)) >= 5
    for clip in (None, 1.0):
        assert len(clipping.select(clip=clip)) >= 5


def test_jacobian_products_decay_grow_and_explode():
    """Deterministic: default init decays; sigma_max 3 grows by only a
    few per cent per step at the end (not exponentially); sigma_max 6 is
    exponential."""
    asctools.set_seed(0)
    rnn = RecurrentModel(2, 64, 1, kind="rnn")
    x, _ = adding_problem(16, 100, seed=0)
    growth = {}
    for sigma in (None, 3.0, 6.0):
        net = copy.deepcopy(rnn)
        if sigma:
            gf.scale_spectral_norm(net, sigma)
        norm = gf.rnn_jacobian_norms(net, x).norm_median
        growth[sigma] = (norm[-1] / norm[49]) ** (1 / 50), norm[-1]
    assert growth[None][1] < 1e-10
    assert growth[3.0][0] < 1.05 and growth[3.0][1] < 1e4
    assert growth[6.0][0] > 1.2 and growth[6.0][1] > 1e10


def test_the_lstm_learns_the_adding_problem_and_the_rnn_does_not(trained):
    lstm, rnn = trained.select(kind="lstm"), trained.select(kind="rnn")
    k, n = evidence.solved(lstm)
    assert k >= n - 1, evidence.phrase(lstm)
    assert evidence.solved(rnn)[0] <= 1, evidence.phrase(rnn)
    # "no better than the baseline" of always predicting the mean
    final = statistics.median(r["test_metric"][-1] for r in rnn)
    assert final > 0.9 / 6


def test_the_lstm_learns_to_keep_the_gradient(trained):
    lstm = trained.select(kind="lstm")
    rose = sum(r["after"]["grad_h"][MID] > r["before"]["grad_h"][MID]
               for r in lstm)  # fmt: skip
    assert rose >= len(lstm) - 1
    for r in lstm:
        assert r["after"]["grad_c"][MID] > 0.5  # "nothing is lost"
        assert r["after"]["f_mean"] < r["before"]["f_mean"]  # "lower"
        assert r["after"]["n_keep"] >= 1  # "in every seed ... a unit"
        assert r["after"]["carry_max"] > 0.9


def test_the_rnn_saturates_and_its_gradient_falls(trained):
    rnn = trained.select(kind="rnn")
    for r in rnn:
        assert r["after"]["sigma_max"] > r["before"]["sigma_max"]
        assert r["after"]["slope"] < r["before"]["slope"]
    before = statistics.median(r["before"]["grad_h"][MID] for r in rnn)
    after = statistics.median(r["after"]["grad_h"][MID] for r in rnn)
    assert after < before


def test_clipping_decides_between_diverging_and_learning(clipping):
    unclipped, clipped = clipping.select(clip=None), clipping.select(clip=1.0)
    assert evidence.solved(unclipped)[0] == 0
    assert sum(r["diverged_at"] is not None for r in unclipped) >= 4
    k, n = evidence.solved(clipped)
    assert k >= n - 1, evidence.phrase(clipped)
    assert all(r["diverged_at"] is None for r in clipped)


def test_a_stored_run_reproduces(clipping):
    stored = clipping.select(clip=None, seed=0)[0]
    again = EXPERIMENTS["clipping"].run(stored["config"], "cpu")
    for key in ("diverged_at", "step_loss", "grad_norm"):
        assert again[key] == stored[key], (
            f"clipping no longer reproduces {key}; regenerate with "
            "`python -m asctools.experiments clipping --workers 1`"
        )
