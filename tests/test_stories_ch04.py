"""Chapter 4's stories, checked against the results store.

Each test states one sentence of the chapter as a claim about the stored
runs (five seeds per configuration, budgets fixed in the catalogue). When
a recomputed store no longer supports a story, the test fails and the
chapter's text has to change, not the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from asctools.experiments import evidence, store


@pytest.fixture(scope="module")
def grid():
    return store.load("long_range")


def k(grid, task, kind, init, seq_len):
    runs = grid.select(task=task, kind=kind, init=init, seq_len=seq_len)
    assert len(runs) == 5, (task, kind, init, seq_len)
    return evidence.solved(runs)[0]


# --- first element: the plain RNN wins at the default initialisation ---
def test_the_rnn_solves_the_first_element_task(grid):
    assert k(grid, "first_element", "rnn", "default", 30) >= 4
    assert k(grid, "first_element", "rnn", "default", 100) >= 4
    assert k(grid, "first_element", "rnn", "default", 300) >= 2


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_default_gated_networks_fail_the_first_element_task(grid, kind):
    for seq_len in (30, 100, 300):
        assert k(grid, "first_element", kind, "default", seq_len) <= 1


# --- adding: the RNN never, the GRU always, the default LSTM rarely ---
def test_the_rnn_never_solves_the_adding_problem(grid):
    for seq_len in (30, 100, 300):
        assert k(grid, "adding", "rnn", "default", seq_len) == 0


def test_the_default_gru_is_the_robust_winner_of_the_adding_problem(grid):
    for seq_len in (30, 100, 300):
        assert k(grid, "adding", "gru", "default", seq_len) >= 4
        assert k(grid, "adding", "gru", "default", seq_len) >= k(
            grid, "adding", "lstm", "default", seq_len
        )


def test_the_default_lstm_rarely_solves_the_adding_problem(grid):
    for seq_len in (30, 100, 300):
        assert k(grid, "adding", "lstm", "default", seq_len) <= 1


# --- the initialisation lesson ----------------------------------------
def test_a_forget_bias_alone_fails_as_t_grows(grid):
    assert k(grid, "first_element", "lstm", "forget3", 30) >= 4
    assert k(grid, "first_element", "lstm", "forget3", 100) <= 2
    assert k(grid, "first_element", "lstm", "forget3", 300) <= 1
    assert k(grid, "first_element", "lstm", "forget1", 100) <= 1


def test_closed_input_gates_help_until_the_lag_exceeds_21_steps(grid):
    f3i3 = "forget3+input-3"
    assert k(grid, "first_element", "lstm", f3i3, 100) >= 3
    assert k(grid, "first_element", "lstm", f3i3, 100) > k(
        grid, "first_element", "lstm", "forget3", 100
    )
    assert k(grid, "first_element", "lstm", f3i3, 300) <= 1


def test_chrono_solves_both_tasks_at_the_long_lengths(grid):
    for seq_len in (30, 100, 300):
        assert k(grid, "first_element", "lstm", "chrono", seq_len) == 5
    for seq_len in (100, 300):
        assert k(grid, "adding", "lstm", "chrono", seq_len) == 5


def test_the_adding_budget_at_t_30_is_tight_for_every_lstm(grid):
    for init in ("default", "forget1", "forget3", "chrono"):
        assert k(grid, "adding", "lstm", init, 30) <= 3


def test_the_gru_update_gate_needs_chrono_for_the_first_element(grid):
    for seq_len in (30, 100, 300):
        assert k(grid, "first_element", "gru", "default", seq_len) == 0
        assert k(grid, "first_element", "gru", "chrono", seq_len) == 5


def test_chrono_and_the_1997_remedy_beat_74000_sequences(grid):
    for init in ("chrono", "forget3+input-3"):
        runs = grid.select(task="adding", kind="lstm", init=init,
                           seq_len=100)  # fmt: skip
        assert evidence.summarise(runs).median < 74_000


# --- parentheses, curriculum, copy -----------------------------------
def test_the_lstm_beats_the_rnn_on_fresh_parentheses():
    par = store.load("parentheses")
    test = {
        kind: np.median([1 - r["test_error"] for r in par.select(kind=kind)])
        for kind in ("lstm", "rnn")
    }
    train = {
        kind: np.median([1 - r["train_error"] for r in par.select(kind=kind)])
        for kind in ("lstm", "rnn")
    }
    assert test["lstm"] > test["rnn"] + 0.1
    assert train["rnn"] > test["rnn"] + 0.1  # it memorises the strings


def test_the_adding_problem_does_not_learn_the_near_value_first():
    runs = store.load("curriculum").select(init="chrono")

    def first(run, key):
        pairs = zip(run["sequences"], run[key], strict=True)
        hits = [s for s, v in pairs if v >= 0.8]
        return hits[0] if hits else np.inf

    x1_first = sum(first(r, "coef_x1") < first(r, "coef_x2") for r in runs)
    assert x1_first >= 4  # the far value first, not the near one
    near = [sum(0.06 < m < 0.11 for m in r["test_metric"]) for r in runs]
    assert np.median(near) <= 1  # no rest at 1/12 on the way down


def test_the_copy_task_stays_unsolved_within_its_budget():
    copy = store.load("copy")
    for init in ("default", "chrono"):
        assert evidence.solved(copy.select(init=init))[0] == 0


def test_the_rnn_latch_is_a_clock_read_at_the_trained_length():
    lat = store.load("latch")
    assert all(r["solved_at"] is not None for r in lat.runs)
    right_at_end = [r["accuracy_by_step"][-1] for r in lat.runs]
    wrong_before = [r["accuracy_by_step"][-2] < 0.5 for r in lat.runs]
    assert min(right_at_end) > 0.95 and sum(wrong_before) >= 4
    kept = [r["singular_values"][0] for r in lat.runs]
    assert all(v < 1e-6 or 0.5 < v < 2 for v in kept)  # none, or one ~1
    assert all(r["singular_values"][1] < 1e-6 for r in lat.runs)
