"""asctools.experiments: runs learn, are reproducible, check their args."""

from __future__ import annotations

import math

import pytest
import torch

from asctools.dataset import trivial_baseline
from asctools.experiments import (
    BUILD_SWEEP,
    FULL_SWEEP,
    TaskResult,
    length_sweep,
    run_task,
)

torch.set_num_threads(1)


def _small(task="adding", kind="lstm", seq_len=5, **kw):
    args = dict(max_sequences=640, eval_every=5, n_test=200, device="cpu")
    return run_task(task, kind, seq_len, **{**args, **kw})


@pytest.mark.slow
def test_an_lstm_beats_the_adding_baseline_at_a_short_length():
    r = _small(max_sequences=9_600, eval_every=25)
    base = trivial_baseline("adding")
    assert r.baseline == base and r.threshold == 0.01
    assert r.test_metric[0] > 0.5 * base  # it starts near the baseline
    assert r.final < 0.25 * base  # and learns well below it
    assert r.solved_at is None or r.final < 0.01


def test_the_first_element_task_is_learned_at_t_5():
    r = _small("first_element", "lstm", max_sequences=3_200)
    assert r.metric == "test error rate" and r.baseline == 0.5
    assert r.solved_at is not None and r.final < 0.01
    # stopped at the first evaluation below the threshold
    assert r.sequences[-1] == r.solved_at
    assert all(v >= 0.01 for v in r.test_metric[:-1])
    # an error rate on 200 test sequences: a multiple of 1/200
    for v in r.test_metric:
        assert abs(v * 200 - round(v * 200)) < 1e-3  # float32 accuracy


def test_the_global_random_state_does_not_matter():
    torch.manual_seed(1)
    a = _small(max_sequences=320)
    torch.manual_seed(2)
    b = _small(max_sequences=320)
    assert a.test_metric == b.test_metric


def test_the_bookkeeping_counts_sequences_and_evaluations():
    r = _small(stop_when_solved=False, max_sequences=700, batch_size=64)
    steps = 700 // 64  # 10 steps, tested after 5 and 10
    assert r.sequences == [5 * 64, 10 * 64]
    assert len(r.test_metric) == len(r.train_loss) == 2
    assert r.final == r.test_metric[-1] and r.seconds > 0
    assert r.sequences[-1] == steps * 64


def test_the_copy_task_reports_its_baseline_and_threshold():
    r = _small("copy", seq_len=7, max_sequences=128, eval_every=1)
    base = 10 * math.log(8) / (7 + 20)
    assert r.baseline == pytest.approx(base)
    assert r.threshold == pytest.approx(base / 10)
    assert r.metric == "test cross-entropy"
    # an untrained model predicts ~uniformly over 10 classes: ≈ ln 10
    assert abs(r.test_metric[0] - math.log(10)) < 0.5


def test_runs_are_reproducible_and_seeds_differ():
    a, b = _small(seed=3), _small(seed=3)
    assert a.test_metric == b.test_metric and a.train_loss == b.train_loss
    c = _small(seed=4)
    assert c.test_metric != a.test_metric


def test_the_test_set_is_not_a_training_batch():
    # training batches are seeded TRAIN_SEED·(seed+1) + step, the test set
    # TEST_SEED + seed: a model scored on its own batch would differ
    from asctools.experiments import TEST_SEED, TRAIN_SEED

    assert TRAIN_SEED * (0 + 1) + 10**5 < TEST_SEED


def test_forget_bias_reaches_the_lstm():
    with pytest.raises(ValueError, match="forget_bias needs kind='lstm'"):
        _small(kind="gru", forget_bias=1.0)
    assert _small(forget_bias=3.0).test_metric != _small().test_metric


def test_length_sweep_order_presets_and_kwargs():
    rs = length_sweep(
        "adding", kinds=("rnn", "lstm"), lengths=(4, 6), seeds=(0,),
        max_sequences=64, eval_every=1, n_test=32, device="cpu",
    )  # fmt: skip
    assert [(r.kind, r.seq_len) for r in rs] == [
        ("rnn", 4), ("rnn", 6), ("lstm", 4), ("lstm", 6),
    ]  # fmt: skip
    assert all(isinstance(r, TaskResult) and r.sequences == [64] for r in rs)
    assert BUILD_SWEEP["lengths"] == (10, 30, 100)
    assert FULL_SWEEP["max_sequences"] > 20_000


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"task": "copying"}, ValueError, "task must be one of"),
        ({"kind": "transformer"}, ValueError, "kind must be one of"),
        ({"seq_len": 1}, ValueError, "seq_len must be >= 2"),
        ({"seq_len": 10.0}, TypeError, "seq_len must be an int"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"eval_every": True}, TypeError, "eval_every must be an int"),
        ({"n_test": 0}, ValueError, "n_test must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"max_sequences": 10}, ValueError, "max_sequences must be >= batch"),
    ],
)
def test_run_task_validates_its_arguments(kw, error, match):
    args = {"task": "adding", "kind": "lstm", "seq_len": 5, **kw}
    with pytest.raises(error, match=match):
        run_task(args.pop("task"), args.pop("kind"), args.pop("seq_len"),
                 **args)  # fmt: skip


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"kinds": "lstm"}, TypeError, "kinds must be a list or tuple"),
        ({"lengths": ()}, ValueError, "lengths must not be empty"),
        ({"seeds": 0}, TypeError, "seeds must be a list or tuple"),
    ],
)
def test_length_sweep_validates_its_arguments(kw, error, match):
    with pytest.raises(error, match=match):
        length_sweep("adding", **kw)


def test_final_is_nan_before_any_evaluation():
    r = TaskResult("adding", "lstm", 5, 0, "test MSE", 1 / 6, 0.01)
    assert math.isnan(r.final)


# --------------------------------------------- probes, catalogue, runner
class _Oracle(torch.nn.Module):
    """Predicts a·X1 + b·X2 + c from the markers: a known answer."""

    def __init__(self, a, b, c=0.0):
        super().__init__()
        self.a, self.b, self.c = a, b, c

    def forward(self, x, state=None):
        t = x.shape[1]
        first = (x[:, : t // 2, 0] * x[:, : t // 2, 1]).sum(1)
        second = (x[:, t // 2 :, 0] * x[:, t // 2 :, 1]).sum(1)
        y = self.a * first + self.b * second + self.c  # (B,)
        return y[:, None, None].expand(-1, t, 1), state


def test_adding_probe_recovers_the_weights_of_the_two_values():
    from asctools.dataset import adding_problem
    from asctools.experiments.curriculum import adding_probe

    x, y = adding_problem(400, 20, seed=3)
    exact = adding_probe(_Oracle(1.0, 1.0), x, y)
    assert exact["mse"] == pytest.approx(0.0, abs=1e-12)
    assert exact["coef_x1"] == pytest.approx(1.0)
    assert exact["coef_x2"] == pytest.approx(1.0)
    second = adding_probe(_Oracle(0.0, 1.0, 0.5), x, y, bins=4)
    assert second["coef_x1"] == pytest.approx(0.0, abs=1e-6)  # float32
    assert second["coef_x2"] == pytest.approx(1.0)
    # knowing X2 only, the error is (X1 − 0.5)²: E = 1/12 in every bin
    assert second["mse"] == pytest.approx(1 / 12, rel=0.15)
    assert len(second["mse_by_p1"]) == 4


def test_curriculum_and_parentheses_records_are_complete():
    from asctools.experiments.curriculum import curriculum_run
    from asctools.experiments.parentheses import parentheses_run

    rec = curriculum_run(seq_len=10, max_sequences=128, eval_every=1,
                         n_probe=50, device="cpu")  # fmt: skip
    assert rec["sequences"] == [64, 128]
    assert len(rec["coef_x1"]) == len(rec["mse_by_p1"]) == 2
    par = parentheses_run("rnn", n_train=40, n_test=20, epochs=4,
                          eval_every=2)  # fmt: skip
    assert par["sequences"] == [80, 160] and len(par["test_metric"]) == 2
    assert 0 <= par["test_error"] <= 1 and 0 <= par["train_error"] <= 1
    assert par == parentheses_run(
        "rnn", n_train=40, n_test=20, epochs=4, eval_every=2
    )  # seeded: the same again


def test_the_catalogue_fixes_five_seeds_and_one_budget_per_setting():
    """Five seeds for everything trained; a counting baseline (char_lm's
    unigram and n-grams: no seed enters them) is stored once."""
    from asctools.experiments.catalogue import EXPERIMENTS
    from asctools.experiments.char_lm import BASELINES

    for name, exp in EXPERIMENTS.items():
        configs = exp.configs()
        settings = {}
        for c in configs:
            key = tuple(sorted((k, v) for k, v in c.items() if k != "seed"))
            settings.setdefault(key, []).append(c["seed"])
        for key, seeds in settings.items():
            counts = name == "char_lm" and dict(key)["kind"] in BASELINES
            want = [0] if counts else [0, 1, 2, 3, 4]
            assert sorted(seeds) == want, (name, key)


def test_the_runner_writes_a_file_with_provenance(tmp_path, monkeypatch):
    from asctools.experiments import catalogue, runner, store

    tiny = store.Experiment(
        "tiny", "two tiny runs",
        lambda: [dict(task="first_element", kind="rnn", seq_len=3, seed=s,
                      max_sequences=64, n_test=8) for s in (0, 1)],
        lambda config, device: {"config": config, **run_task(
            **config, device=device).record()},
    )  # fmt: skip
    monkeypatch.setitem(catalogue.EXPERIMENTS, "tiny", tiny)
    monkeypatch.setitem(runner.EXPERIMENTS, "tiny", tiny)
    (path,) = runner.run_experiment(["tiny"], workers=1, folder=tmp_path,
                                    echo=lambda *a: None)  # fmt: skip
    res = store.load("tiny", folder=tmp_path)
    assert [r["seed"] for r in res.runs] == [0, 1]
    assert res.provenance["workers"] == 1 and path.exists()


def test_an_interrupted_run_resumes_from_its_partial_file(
    tmp_path, monkeypatch
):
    from asctools.experiments import catalogue, runner, store

    calls = []

    def run(config, device):
        calls.append(config["seed"])
        if config["seed"] == 1 and calls.count(1) == 1:
            raise KeyboardInterrupt  # the maintainer presses Ctrl-C
        return {"config": config, "value": 10 * config["seed"]}

    exp = store.Experiment(
        "resumable", "", lambda: [{"seed": s} for s in range(3)], run
    )
    monkeypatch.setitem(catalogue.EXPERIMENTS, "resumable", exp)
    monkeypatch.setitem(runner.EXPERIMENTS, "resumable", exp)
    quiet = dict(workers=1, folder=tmp_path, echo=lambda *a: None)
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(["resumable"], **quiet)
    assert (tmp_path / ".partial" / "resumable.jsonl").exists()
    runner.run_experiment(["resumable"], **quiet)
    assert sorted(calls) == [0, 1, 1, 2]  # seed 0 ran once: it was kept
    res = store.load("resumable", folder=tmp_path)
    assert [r["value"] for r in res.runs] == [0, 10, 20]
    assert not (tmp_path / ".partial" / "resumable.jsonl").exists()


def test_least_squares_equals_lapack():
    from asctools.experiments.curriculum import least_squares

    g = torch.Generator().manual_seed(0)
    f64 = torch.float64
    design = torch.cat([torch.rand(500, 2, generator=g, dtype=f64),
                        torch.ones(500, 1, dtype=f64)], 1)  # fmt: skip
    target = design @ torch.tensor([0.7, -1.3, 0.2], dtype=torch.float64)
    target = target + 0.01 * torch.randn(500, generator=g, dtype=torch.float64)
    want = torch.linalg.lstsq(design, target[:, None]).solution[:, 0]
    got = least_squares(design, target)
    assert got == pytest.approx(want.tolist(), rel=1e-9)
    with pytest.raises(ValueError, match="independent columns"):
        least_squares(torch.ones(4, 2), torch.ones(4))
