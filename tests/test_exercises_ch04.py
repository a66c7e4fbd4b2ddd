"""Chapter 4's exercises: realistic wrong answers get the right diagnostic,
strict mode. The checks that every exercise must pass (the reference passes,
the skeleton is "not attempted", hints, solution, labels, random state) are
in test_exercises_contract.py."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from asctools.dataset import adding_problem as package_adding
from asctools.exercises import CheckFailed
from asctools.exercises import ch04 as ex
from asctools.experiments import run_task

torch.set_num_threads(1)


def test_strict_mode_raises_on_incorrect_and_error(monkeypatch):
    monkeypatch.setenv("ASCTOOLS_STRICT_CHECKS", "1")
    with pytest.raises(CheckFailed, match="last, smaller batch"):
        ex.accuracy.check(accuracy_drop_last)
    with pytest.raises(CheckFailed, match="in bits"):
        ex.copy_baseline.check(30 / 80)
    assert ex.forget_bias.check("b").passed


# --- 1. Batched accuracy ---


def _accuracy(pick=-1, drop_last=False, per_batch=False, fixed_h=False):
    """A batched accuracy with one of the usual mistakes."""

    @torch.no_grad()
    def accuracy(model, X, y, batch_size=100):
        n = len(X) - len(X) % batch_size if drop_last else len(X)
        hits, means = 0, []
        for i in range(0, n, batch_size):
            xb, yb = X[i : i + batch_size], y[i : i + batch_size]
            b = batch_size if fixed_h else len(xb)
            out, _ = model(xb, model.initHidden(b))
            hit = (out[:, pick].argmax(-1) == yb).float()
            hits, means = hits + hit.sum().item(), means + [hit.mean()]
        return sum(means).item() / len(means) if per_batch else hits / n

    return accuracy


accuracy_drop_last = _accuracy(drop_last=True)


@torch.no_grad()
def accuracy_every_step(model, X, y, batch_size=100):
    out, _ = model(X, model.initHidden(len(X)))
    return (out.argmax(-1) == y[:, None]).float().mean().item()


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (accuracy_drop_last, "the last, smaller batch is left out"),
        (_accuracy(per_batch=True), "mean of the batches' accuracies"),
        (_accuracy(pick=0), "uses the first step's output"),
        (accuracy_every_step, "compares the prediction of every step"),
        (lambda model, X, y, bs: "0.7", "should be a number, got str"),
    ],
)
def test_accuracy_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    status, message = verdict(ex.accuracy, answer)
    assert status == "incorrect"
    assert needle in message and "batch_size = 5" in message


def test_a_fixed_size_initial_state_is_reported_as_an_error(verdict):
    status, message = verdict(ex.accuracy, _accuracy(fixed_h=True))
    assert status == "error"
    assert "initHidden(3)" in message  # the model's own message


def test_the_accuracy_reference_counts_by_hand():
    model, X, y, out = ex._accuracy_setup()
    by_hand = sum(
        int(out[i, -1].argmax() == y[i]) for i in range(len(y))
    ) / len(y)
    assert by_hand == pytest.approx(16 / 23)  # 7 labels were changed
    for bs in (1, 5, 23, 64):
        assert ex.accuracy.reference_answer()(model, X, y, bs) == by_hand


# --- 2. MLP read-out ---


def _mlp(act=torch.relu, out_act=None, layers=2):
    class MLPReadout(nn.Module):
        def __init__(self, hidden_size, output_size, mlp_size):
            super().__init__()
            self.fc1 = nn.Linear(hidden_size, mlp_size)
            self.fc2 = nn.Linear(mlp_size, output_size)

        def forward(self, h):
            z = act(self.fc1(h))
            if layers == 1:
                return self.fc1(h)
            z = self.fc2(z)
            return out_act(z) if out_act else z

    return MLPReadout


class MLPSwappedArgs(nn.Module):
    def __init__(self, hidden_size, mlp_size, output_size):  # order swapped
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, mlp_size)
        self.fc2 = nn.Linear(mlp_size, output_size)

    def forward(self, h):
        return self.fc2(torch.relu(self.fc1(h)))


class MLPSequential(nn.Module):
    def __init__(self, hidden_size, output_size, mlp_size):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden_size, mlp_size),
            nn.ReLU(),
            nn.Linear(mlp_size, output_size),
        )

    def forward(self, h):
        return self.net(h)


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (_mlp(act=lambda z: z), "the ReLU between the two layers is left"),
        (_mlp(out_act=torch.relu), "a ReLU is applied to the output too"),
        (_mlp(act=torch.tanh), "tanh is used instead of ReLU"),
        (MLPSwappedArgs, "parameter `fc1.weight` has shape (3, 8)"),
        (MLPSequential, "missing ['fc1.bias', 'fc1.weight'"),
        (_mlp()(8, 3, 16), "should be a class, got MLPReadout"),
    ],
)
def test_mlp_wrong_answers_get_the_right_diagnostic(answer, needle, verdict):
    status, message = verdict(ex.MLPReadout, answer)
    assert status == "incorrect"
    assert needle in message


def test_the_mlp_reference_matches_a_sequential_with_its_weights():
    ref = ex.MLPReadout.reference_answer()(8, 3, 16)
    seq = nn.Sequential(ref.fc1, nn.ReLU(), ref.fc2)
    h = torch.randn(2, 5, 8)
    assert torch.equal(ref(h), seq(h)) and ref(h).shape == (2, 5, 3)
    assert ref(h[:, -1]).shape == (2, 3)


# --- 3. The adding problem ---


def _adding(lo2=None, short=False, incl=False, target="marked", values="rand",
            y_shape=True, seeded=True, dtype=torch.float32):  # fmt: skip
    """An adding-problem generator with one of the usual mistakes."""

    def adding_problem(n_samples, seq_len, seed):
        gen = torch.Generator().manual_seed(seed) if seeded else None
        n, t, half = n_samples, seq_len, seq_len // 2
        v = torch.rand(n, t, generator=gen)
        if values == "randn":
            v = torch.randn(n, t, generator=gen)
        p1 = torch.randint(0, half + incl, (n,), generator=gen)
        p2 = torch.randint(lo2 if lo2 is not None else half, t - short,
                           (n,), generator=gen)  # fmt: skip
        rows = torch.arange(n)
        m = torch.zeros(n, t)
        m[rows, p1] = 1.0
        m[rows, p2] = 1.0
        y = v[rows, p1] + v[rows, p2] if target == "marked" else v.sum(1)
        y = y[:, None] if y_shape else y
        return torch.stack((v, m), -1).to(dtype), y.to(dtype)

    return adding_problem


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (_adding(lo2=0), "every row needs exactly one marker (1.0) in"),
        (_adding(incl=True), "first half, positions 0..9"),
        (_adding(target="all"), "the sum of all values, not of the marked"),
        (_adding(values="randn"), "should lie in [0, 1]"),
        (_adding(y_shape=False), "`y` has shape (3,), expected (3, 1)"),
        (_adding(dtype=torch.float64), "dtype torch.float64, expected"),
        (_adding(short=True), "the second marker sits at position 20 in 0 of"),
        (_adding(seeded=False), "the same seed gave different data"),
    ],
)
def test_adding_wrong_answers_get_the_right_diagnostic(
    answer, needle, verdict
):
    torch.manual_seed(0)
    status, message = verdict(ex.adding_problem, answer)
    assert status == "incorrect"
    assert needle in message


def test_the_package_generator_passes_the_checker(verdict):
    def adding_problem(n_samples, seq_len, seed):
        return package_adding(n_samples, seq_len, seed=seed)

    assert verdict(ex.adding_problem, adding_problem)[0] == "correct"


def test_the_adding_reference_follows_the_definition():
    x, y = ex.adding_problem.reference_answer()(500, 9, 0)
    markers = x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((500,), 2.0))
    assert torch.equal(markers[:, :4].sum(1), torch.ones(500))
    assert torch.allclose(y[:, 0], (x[..., 0] * markers).sum(1))


# --- 4., 5. Predictions ---


def test_copy_baseline_is_the_closed_form(verdict):
    assert ex.copy_baseline.reference_answer() == pytest.approx(
        10 * math.log(8) / 80
    )
    assert verdict(ex.copy_baseline, 0.2599)[0] == "correct"


@pytest.mark.parametrize(
    ("answer", "needle"),
    [
        (math.log(8), "the loss of one recalled symbol"),
        (10 * math.log(8) / 60, "divides by T = 60"),
        (10 * math.log(10) / 80, "guesses among all 10 classes"),
        (30 / 80, "in bits"),
        (0.1733, "too low"),
        ("0.26", "should be a number, got str"),
    ],
)
def test_copy_baseline_wrong_predictions(answer, needle, verdict):
    status, message = verdict(ex.copy_baseline, answer)
    assert status == "incorrect"
    assert needle in message


def test_forget_bias_choices(verdict):
    assert verdict(ex.forget_bias, "(b)")[0] == "correct"
    status, message = verdict(ex.forget_bias, "a")
    assert status == "incorrect" and "starting point" in message
    status, message = verdict(ex.forget_bias, "e")
    assert status == "incorrect" and "not one of" in message


@pytest.mark.slow
def test_forget_bias_3_solves_what_the_default_does_not():
    """The experiment behind ch04-ex-forget-bias, as the chapter runs it."""
    kw = dict(max_sequences=6_400, device="cpu")
    default = run_task("first_element", "lstm", 30, **kw)
    biased = run_task("first_element", "lstm", 30, forget_bias=3.0, **kw)
    assert default.solved_at is None and default.final > 0.4
    assert biased.solved_at is not None


# --- What the book's solutions show and run ---


def test_the_length_100_demo_trains_and_reports_both_accuracies(capsys):
    out = ex.accuracy.demo(n_train=40, n_val=20, seq_len=8, max_epochs=2)
    assert set(out) == {"accuracy", "history"}
    assert set(out["accuracy"]) == {"train", "val"}
    assert all(0 <= a <= 1 for a in out["accuracy"].values())
    epochs = len(out["history"]["loss"])
    assert 1 <= epochs <= 2 and len(out["history"]["val_loss"]) == epochs
    assert "40 strings of length 8" in capsys.readouterr().out
    code = ex.accuracy.solution().code
    assert "def length_100_experiment(" in code
    assert "accuracy(lstm, X_val, y_val)" in code  # the reader's name
