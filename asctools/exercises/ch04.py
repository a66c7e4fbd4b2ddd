"""Exercises of chapter 4, *Long-range tasks*.

``accuracy`` (explore: a batched evaluation, then length 100),
``MLPReadout`` (implement), ``adding_problem`` (implement),
``copy_baseline`` and ``forget_bias`` (predict, then run).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from asctools.dataset import adding_problem as _package_adding
from asctools.dataset import (
    generate_parentheses_dataset,
    parentheses_one_hot,
    trivial_baseline,
)
from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise
from asctools.models import StepwiseLSTM as LSTM
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import set_seed

__all__ = [
    "accuracy",
    "length_100_experiment",
    "MLPReadout",
    "adding_problem",
    "copy_baseline",
    "forget_bias",
]


# --- 1. A batched accuracy (then: length 100) ---


@torch.no_grad()
def _solution_accuracy(model, X, y, batch_size=100):
    correct = 0
    for i in range(0, len(X), batch_size):  # the last batch may be smaller
        xb, yb = X[i : i + batch_size], y[i : i + batch_size]
        out, _ = model(xb, model.initHidden(len(xb)))  # (b, T, K)
        correct += (out[:, -1].argmax(dim=-1) == yb).sum().item()
    return correct / len(X)  # every sequence counts once


def length_100_experiment(
    n_train=4000, n_val=1000, seq_len=100, max_epochs=20, seed=1
):
    """Parentheses matching with strings of length ``seq_len``: a fresh
    step-wise LSTM(28, 32, 2) trained with the chapter's call plus
    mini-batches of 50 and early stopping on a validation set. Prints the
    accuracies; returns them and the trainer's history (``"loss"`` and
    ``"val_loss"`` per epoch). The defaults take minutes on a CPU."""

    def strings(n, seed):
        s, labels = generate_parentheses_dataset(n, seq_len, seq_len, seed)
        return parentheses_one_hot(s), torch.tensor(labels)  # (n, T, 28)

    X, y = strings(n_train, seed)
    X_val, y_val = strings(n_val, seed + 1)  # other strings
    set_seed(seed)
    lstm = LSTM(28, 32, 2)
    trainer = RNNTrainer(lstm)
    trainer.train(
        input_tensors=X,
        targets=y,
        criterion=nn.CrossEntropyLoss(),
        max_epochs=max_epochs,
        learning_rate=0.01,
        clip_grad_norm=1.0,
        batch_size=50,
        seed=seed,
        val_data=(X_val, y_val),
        patience=3,
    )
    lstm.cpu()  # where X and y are
    acc = {
        "train": _solution_accuracy(lstm, X, y),
        "val": _solution_accuracy(lstm, X_val, y_val),
    }
    epochs = len(trainer.history["loss"])
    print(
        f"{n_train} strings of length {seq_len}, {epochs} epochs: train "
        f"accuracy {acc['train']:.1%}, validation {acc['val']:.1%}"
    )
    return {"accuracy": acc, "history": trainer.history}


def _accuracy_setup():
    """A step-wise LSTM, inputs X (23, 6, 3) and labels y (23,) that agree
    with its last-step prediction except at seven chosen places."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        model = LSTM(3, 5, 3)
        X = torch.randn(23, 6, 3)
    with torch.no_grad():
        out = model(X, model.initHidden(23))[0]  # (23, 6, 3)
    y = out[:, -1].argmax(-1)
    wrong = torch.tensor([0, 3, 7, 11, 20, 21, 22])  # three in the tail
    y[wrong] = (y[wrong] + 1) % 3
    return model, X, y, out


def _accuracy_mistakes(out, y, bs):
    """Values that the usual mistakes give, {value: what went wrong}."""
    hit = (out[:, -1].argmax(-1) == y).float()  # (N,)
    full = len(y) - len(y) % bs
    per_batch = [hit[i : i + bs].mean() for i in range(0, len(y), bs)]
    every_step = (out.argmax(-1) == y[:, None]).float().mean()
    first_step = (out[:, 0].argmax(-1) == y).float().mean()
    return {
        hit[:full].mean().item(): "the last, smaller batch is left out",
        sum(per_batch).item() / len(per_batch): "that is the mean of the "
        "batches' accuracies: a smaller last batch then weighs as much as "
        "a full one. Count the correct sequences and divide by N.",
        every_step.item(): "that compares the prediction of every step "
        "with the label; only the last step has read the whole sequence",
        first_step.item(): "that uses the first step's output; the label "
        "is for the last step, `out[:, -1]`",
    }


@exercise(
    label="ch04-ex-accuracy",
    title="Length 100: a batched accuracy",
    kind="explore",
    solution=_solution_accuracy,
    demo=length_100_experiment,
    hints=[
        "Loop `for i in range(0, len(X), batch_size)` and slice "
        "`X[i : i + batch_size]`: the slice of the last batch is shorter "
        "when batch_size does not divide N, and that is fine.",
        "Each batch needs its own initial state, "
        "`model.initHidden(len(xb))`; count the correct last-step "
        "predictions, `(out[:, -1].argmax(-1) == yb).sum()`, and divide "
        "the total by `len(X)` at the end.",
    ],
)
def accuracy(answer):
    """answer(model, X (N, T, D), y (N,), batch_size) -> float."""
    model, X, y, out = _accuracy_setup()
    for bs in (5, 23, 64):
        got = checks.call_answer(answer, model, X, y, bs, name="accuracy")
        expected = _solution_accuracy(model, X, y, bs)
        try:
            checks.check_number(
                got, expected, atol=1e-6, name=f"accuracy(batch_size={bs})",
                mistakes=_accuracy_mistakes(out, y, bs),
            )  # fmt: skip
        except Incorrect as exc:
            raise Incorrect(
                f"{exc}\n(test case: N = 23 sequences, batch_size = {bs})"
            ) from None
    return (
        "`accuracy` equals the batched reference for batch sizes 5, 23 "
        "and 64 (a smaller last batch included)."
    )


# --- 2. An MLP read-out ---


class _SolutionMLPReadout(nn.Module):
    def __init__(self, hidden_size, output_size, mlp_size):
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, mlp_size)
        self.fc2 = nn.Linear(mlp_size, output_size)

    def forward(self, h):  # h (..., H): (B, T, H) or (B, H)
        return self.fc2(torch.relu(self.fc1(h)))  # (..., K)


def _mlp_variants(ref):
    """The usual mistakes, computed with the reference's weights."""
    a, b = ref.fc1, ref.fc2
    return {
        "the ReLU between the two layers is left out (two linear maps in "
        "a row are one linear map)": lambda h: b(a(h)),
        "a ReLU is applied to the output too (scores can then never be "
        "negative)": lambda h: torch.relu(b(torch.relu(a(h)))),
        "tanh is used instead of ReLU": lambda h: b(torch.tanh(a(h))),
        "the hidden state goes through `fc1` only": lambda h: a(h),
    }


@exercise(
    label="ch04-ex-mlp",
    title="An MLP read-out",
    kind="implement",
    solution=_SolutionMLPReadout,
    hints=[
        "Two `nn.Linear` layers, `fc1` (H → mlp_size) and `fc2` "
        "(mlp_size → K), with a ReLU between them. `nn.Linear` acts on "
        "the last dimension, so (B, T, H) and (B, H) both work unchanged.",
        "`forward` is one line: `return self.fc2(torch.relu(self.fc1(h)))`.",
    ],
)
def MLPReadout(answer):  # noqa: N802 (readers call ex.MLPReadout)
    """answer: a class MLPReadout(hidden_size, output_size, mlp_size)."""
    if not isinstance(answer, type):
        kind = type(answer).__name__
        raise Incorrect(f"`MLPReadout` should be a class, got {kind}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        mine = answer(8, 3, 16)  # hidden 8, 3 classes, 16 units inside
        ref = _SolutionMLPReadout(8, 3, 16)
        cases = [{"h": torch.randn(2, 5, 8)}, {"h": torch.randn(4, 8)}]
    try:
        return checks.compare_modules(mine, ref, cases, name="MLPReadout")
    except Incorrect as exc:
        raise Incorrect(str(exc) + _which_mlp_mistake(mine, ref)) from None


def _which_mlp_mistake(mine, ref) -> str:
    """Name the usual mistake that the reader's module reproduces."""
    h = torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(6))
    try:
        with torch.no_grad():
            got = mine(h)
            for what, wrong in _mlp_variants(ref).items():
                out = wrong(h)
                if out.shape == got.shape and torch.allclose(out, got):
                    return f"\nYour result matches what you get if {what}."
    except (RuntimeError, TypeError, ValueError):
        pass  # the module does not run on this input: no guess
    return ""


# --- 3. The adding problem by hand ---


def _solution_adding_problem(n_samples, seq_len, seed):
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(n_samples, seq_len, generator=gen)  # U[0, 1)
    half = seq_len // 2
    p1 = torch.randint(0, half, (n_samples,), generator=gen)  # first half
    p2 = torch.randint(half, seq_len, (n_samples,), generator=gen)
    rows = torch.arange(n_samples)
    markers = torch.zeros(n_samples, seq_len)
    markers[rows, p1] = 1.0
    markers[rows, p2] = 1.0
    y = values[rows, p1] + values[rows, p2]  # y = X1 + X2, (n,)
    x = torch.stack((values, markers), dim=-1)  # (n, T, 2)
    return x, y[:, None]  # (n, T, 2), (n, 1)


def _adding_output(answer, n, t, seed):
    """Call the answer; check the pair, the shapes and the dtypes."""
    out = checks.call_answer(answer, n, t, seed, name="adding_problem")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise Incorrect("`adding_problem` should return a pair (x, y)")
    x, y = out
    for name, v, shape in (("x", x, (n, t, 2)), ("y", y, (n, 1))):
        if not isinstance(v, torch.Tensor):
            raise Incorrect(f"`{name}` should be a torch.Tensor")
        if tuple(v.shape) != shape:
            raise Incorrect(
                f"`{name}` has shape {tuple(v.shape)}, expected {shape} "
                f"(n_samples = {n}, seq_len = {t})"
            )
        if v.dtype != torch.float32:
            raise Incorrect(f"`{name}` has dtype {v.dtype}, expected float32")
    return x, y


def _check_structure(x, y, t):
    """Values in [0, 1], one marker per half, y = the marked sum."""
    values, markers = x[..., 0], x[..., 1]
    if values.min() < 0 or values.max() > 1:
        raise Incorrect(
            f"the values (channel 0) should lie in [0, 1]; got min "
            f"{values.min().item():.3g}, max {values.max().item():.3g}"
        )
    half = t // 2
    first = (markers[:, :half] == 1).sum(1)  # markers in the first half
    second = (markers[:, half:] == 1).sum(1)
    others = ((markers != 0) & (markers != 1)).sum(1)
    bad = ((first != 1) | (second != 1) | (others != 0)).nonzero()
    if len(bad):
        i = bad[0].item()
        where = (markers[i] != 0).nonzero().flatten().tolist()
        raise Incorrect(
            f"row {i} has markers at positions {where}; every row needs "
            f"exactly one marker (1.0) in the first half, positions "
            f"0..{half - 1}, and one in the second, {half}..{t - 1} "
            f"(seq_len = {t}); the other entries of channel 1 are 0 "
            f"({len(bad)} of {len(x)} rows are wrong)"
        )
    marked = (values * markers).sum(1, keepdim=True)  # X1 + X2, (n, 1)
    if not torch.allclose(y, marked, atol=1e-5):
        i = (y - marked).abs().argmax().item()
        hint = ""
        if torch.allclose(y, values.sum(1, keepdim=True), atol=1e-4):
            hint = " Your y is the sum of all values, not of the marked two."
        raise Incorrect(
            f"y[{i}] = {y[i].item():.4f}, but the two marked values of row "
            f"{i} add up to {marked[i].item():.4f}.{hint}"
        )


def _check_statistics(x, y, t, ref_x, ref_y):
    """Moments and marker positions, against the package's generator."""
    for what, got, ref, tol in (
        ("mean of the values", x[..., 0].mean(), ref_x[..., 0].mean(), 0.02),
        ("variance of the values", x[..., 0].var(), 1 / 12, 0.01),
        ("mean of y", y.mean(), ref_y.mean(), 0.04),
        ("variance of y", y.var(), 1 / 6, 0.02),
    ):
        if abs(float(got) - float(ref)) > tol:
            raise Incorrect(
                f"the {what} is {float(got):.4f}; the package's generator "
                f"gives {float(ref):.4f} (values U[0, 1]: mean 1/2, "
                "variance 1/12; y: mean 1, variance 1/6)"
            )
    n, half = len(x), t // 2
    pos = x[..., 1].argmax(1), x[:, half:, 1].argmax(1) + half  # p1, p2
    for k, (p, lo, hi) in enumerate(((pos[0], 0, half), (pos[1], half, t))):
        counts = torch.bincount(p, minlength=t)[lo:hi].float()
        expected = n / (hi - lo)
        low = (counts < 0.6 * expected).nonzero().flatten() + lo
        if len(low):
            raise Incorrect(
                f"the {('first', 'second')[k]} marker sits at position "
                f"{low[0].item()} in {int(counts[low[0] - lo])} of {n} "
                f"rows, expected about {expected:.0f}: it should be "
                f"uniform over positions {lo}..{hi - 1}"
            )


@exercise(
    label="ch04-ex-adding",
    title="The adding problem, generated by hand",
    kind="implement",
    solution=_solution_adding_problem,
    hints=[
        "Draw from `gen = torch.Generator().manual_seed(seed)`: values "
        "`torch.rand(n, T, generator=gen)`, the first marker's position "
        "uniform in 0..T//2-1 and the second's in T//2..T-1, one per row "
        "(`torch.randint(low, high, (n,), generator=gen)`; high is "
        "excluded).",
        "Index rows and positions together: `rows = torch.arange(n)`, "
        "`markers[rows, p1] = 1`, `y = values[rows, p1] + "
        "values[rows, p2]`; return `torch.stack((values, markers), -1)` "
        "and `y[:, None]`.",
    ],
)
def adding_problem(answer):
    """answer(n_samples, seq_len, seed) -> x (n, T, 2), y (n, 1) float32."""
    _adding_output(answer, 3, 8, 0)
    n, t = 4000, 21  # an odd length: halves of 10 and 11 positions
    x, y = _adding_output(answer, n, t, 1)
    _check_structure(x, y, t)
    _check_statistics(x, y, t, *_package_adding(n, t, seed=1))
    x2, _ = _adding_output(answer, n, t, 1)
    if not torch.equal(x, x2):
        raise Incorrect(
            "the same seed gave different data: draw every random number "
            "from `torch.Generator().manual_seed(seed)`"
        )
    if torch.equal(x, _adding_output(answer, n, t, 2)[0]):
        raise Incorrect("seeds 1 and 2 gave the same data: use the seed")
    return (
        "`adding_problem` has the right shapes and dtypes, one marker in "
        "each half, y = X1 + X2, the package's statistics, and it is "
        "reproducible."
    )


# --- 4. Predict: the copy task's baseline at T = 60 ---


def _solution_copy_baseline():
    T, copy_len, n_symbols = 60, 10, 8
    # blanks: certain, 0 nats; each recalled symbol: a guess, ln 8 nats;
    # averaged over all T + 2·copy_len steps
    baseline = copy_len * math.log(n_symbols) / (T + 2 * copy_len)
    assert math.isclose(baseline, trivial_baseline("copy", T))  # ≈ 0.260
    return baseline


@exercise(
    label="ch04-ex-copy-baseline",
    title="The copy task's baseline",
    kind="predict",
    solution=_solution_copy_baseline,
    hints=[
        "The sequence has T + 20 steps. On which steps can a model that "
        "has forgotten the ten symbols still be certain, and what does it "
        "lose on the others?",
        "Blanks cost 0 nats, each of the 10 recalled symbols ln 8 nats "
        "(a uniform guess among 8); `nn.CrossEntropyLoss` averages over "
        "all steps.",
    ],
)
def copy_baseline(answer):
    """The reader's prediction for T = 60: a float (nats per step)."""
    expected = _solution_copy_baseline()
    ln8, ln10 = math.log(8), math.log(10)
    mistakes = {
        ln8: "that is the loss of one recalled symbol; the blanks, which "
        "cost nothing, dilute it over all T + 20 steps.",
        10 * ln8 / 60: "that divides by T = 60; the sequence has T + 20 "
        "steps (10 symbols, T - 1 blanks, the marker, 10 recall steps).",
        10 * ln8 / 70: "that counts only one block of 10 extra steps; "
        "there are two (the symbols and the recall phase).",
        10 * ln10 / 80: "that guesses among all 10 classes; a memoryless "
        "model still knows that the recalled symbols are among the 8 data "
        "symbols.",
        ln10: "that is the loss of a model that knows nothing at all; the "
        "baseline knows where the blanks are.",
        10 * 3 / 80: "that is in bits (log2 8 = 3); the cross-entropy of "
        "PyTorch is in nats (natural logarithm).",
    }
    return checks.check_number(answer, expected, atol=5e-4, mistakes=mistakes)


# --- 5. Predict: a larger forget bias on the first-element task ---


def _solution_forget_bias():
    # f = σ(3) ≈ 0.95: 0.95^29 ≈ 0.23 of x_1's trace survives 29 steps
    # (σ(0) = 0.5: 0.5^29 ≈ 2e-9), so the gradient reaches step 1
    return "b"


@exercise(
    label="ch04-ex-forget-bias",
    title="RNN vs LSTM: a larger forget bias",
    kind="predict",
    solution=_solution_forget_bias,
    explanation=(
        "At initialisation every step multiplies the cell state by the "
        "forget gate. With the default bias f ≈ σ(0) = 1/2, and "
        "(1/2)^29 ≈ 2e-9: x_1 has vanished from the cell, and from the "
        "gradient, long before the label. With b_f = 3, f ≈ 0.95 and "
        "0.95^29 ≈ 0.23 survives, so the gradient can teach the gates to "
        "keep it. Nothing else changed: same parameters, same data."
    ),
    hints=[
        "At initialisation, by how much is the cell state scaled after "
        "29 steps when f ≈ σ(0), and when f ≈ σ(3)?",
        "σ(0) = 0.5 and σ(3) ≈ 0.95; compare 0.5^29 with 0.95^29.",
    ],
)
def forget_bias(answer):
    """The reader's choice: "a", "b", "c" or "d"."""
    feedback = {
        "a": "An LSTM can hold one bit: with f = 1 its cell state never "
        "decays. What stops it here is the starting point of training.",
        "b": "With f ≈ σ(3) ≈ 0.95, 0.95^29 ≈ 0.23 of x_1's trace reaches "
        "the last step at initialisation, instead of 0.5^29 ≈ 2e-9.",
        "c": "The number of parameters does not change: only the starting "
        "value of the forget-gate bias does.",
        "d": "The cell-state path is scaled by f < 1 at every step, so a "
        "larger f cannot make it grow beyond 1.",
    }
    return checks.check_choice(answer, "abcd", "b", feedback=feedback)
