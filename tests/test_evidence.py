"""The evidence helpers (k of n, medians, phrases, success curves) and the
results store, against brute-force counts on hand-made runs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # noqa: E402 (tests draw without a screen)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from asctools.experiments import evidence, store  # noqa: E402
from asctools.plots import median_curve, plot_seeds, plot_success  # noqa: E402


def run(solved_at, budget=10_000, seed=0, **kw):
    seen = list(range(1000, (solved_at or budget) + 1, 1000))
    metric = list(np.linspace(0.5, 0.001 if solved_at else 0.4, len(seen)))
    return dict(solved_at=solved_at, budget=budget, seed=seed,
                sequences=seen, test_metric=metric, **kw)  # fmt: skip


RUNS = [run(3000), run(None, seed=1), run(7000, seed=2), run(2000, seed=3)]


def test_solved_counts_within_the_budget():
    assert evidence.solved(RUNS) == (3, 4)
    assert evidence.solved(RUNS, budget=5000) == (2, 4)  # 7000 is too late
    with pytest.raises(ValueError, match="empty"):
        evidence.solved([])
    with pytest.raises(ValueError, match="several budgets"):
        evidence.solved(RUNS + [run(1000, budget=5000)])


def test_summary_and_phrases():
    s = evidence.summarise(RUNS)
    assert (s.k, s.n, s.median, s.low, s.high) == (3, 4, 3000.0, 2000, 7000)
    assert s.fraction == 0.75
    assert evidence.phrase(RUNS) == (
        "3 of 4 seeds (median 3,000 sequences, range 2,000–7,000)"
    )
    assert evidence.phrase(RUNS[:2]) == "1 of 2 seeds (after 3,000 sequences)"
    assert evidence.phrase([RUNS[1]], unit="runs") == (
        "0 of 1 runs within 10,000 sequences"
    )


def test_success_curve_is_the_brute_force_fraction():
    budgets = [0, 1999, 2000, 3000, 6999, 7000, 10_000]
    brute = [
        np.mean(
            [r["solved_at"] is not None and r["solved_at"] <= b for r in RUNS]
        )  # fmt: skip
        for b in budgets
    ]
    np.testing.assert_allclose(evidence.success_curve(RUNS, budgets), brute)


def test_median_curve_carries_a_solved_run_forward():
    a = dict(sequences=[1, 2, 3], test_metric=[3.0, 2.0, 1.0])
    b = dict(sequences=[1, 2], test_metric=[5.0, 0.0])  # stopped at 2
    c = dict(sequences=[1, 2, 3], test_metric=[4.0, 4.0, 4.0])
    grid, med = median_curve([a, b, c])
    assert list(grid) == [1, 2, 3]
    assert list(med) == [4.0, 2.0, 1.0]  # at 3: median of 1, 0 (kept), 4


def test_plots_draw_every_seed_and_the_median():
    fig, ax = plot_seeds(RUNS, label="LSTM")
    assert len(ax.lines) == len(RUNS) + 1
    assert ax.lines[-1].get_label() == "LSTM, median of 4"
    fig, ax = plot_success({"a": RUNS, "b": RUNS[:1]})
    assert [line.get_label() for line in ax.lines] == ["a (3/4)", "b (1/1)"]
    with pytest.raises(ValueError):
        plot_seeds([])


def test_store_round_trip_and_select(tmp_path):
    prov = store.provenance("python -m test", 1.5, 2, "cpu")
    assert set(prov) >= {"command", "git_commit", "torch", "device",
                         "seconds", "date"}  # fmt: skip
    runs = [dict(kind=k, seed=s, solved_at=None, budget=1)
            for k in ("rnn", "lstm") for s in (0, 1)]  # fmt: skip
    store.save("demo", "a test", runs, prov, folder=tmp_path)
    res = store.load("demo", folder=tmp_path)
    assert res.runs == runs and res.provenance == prov
    assert [r["seed"] for r in res.select(kind="lstm")] == [0, 1]
    assert len(res.select(kind=["rnn", "lstm"], seed=1)) == 2
    assert res.values("kind") == ["rnn", "lstm"]
    assert "python -m test" in res.caption()
    with pytest.raises(KeyError, match="no field"):
        res.select(colour="red")
    with pytest.raises(ValueError, match="demo"):
        store.load("dmeo", folder=tmp_path)  # names the ones there are


def test_table_cells_are_k_of_n_with_the_median():
    runs = [
        dict(r, init=i, seq_len=t)
        for i, t, r in [
            ("a", 10, RUNS[0]),
            ("a", 10, RUNS[1]),
            ("b", 10, RUNS[2]),
            ("a", 30, RUNS[1]),
        ]
    ]
    text = evidence.table(runs, "init", "seq_len", labels={10: "T = 10"})
    assert text.splitlines() == [
        "| init | T = 10 | 30 |",
        "|---|---|---|",
        "| a | 1/2 (3k) | 0/1 |",
        "| b | 1/1 (7k) |  |",
    ]  # fmt: skip
