"""RNNTrainer when things go wrong: an update that makes the weights
non-finite, an optimizer that overflows, a KeyboardInterrupt in the middle
of training, empty data, bad seeds, class labels out of range, and the
error class of a target-shape mismatch.

The references are runs that stop where the failing one should have
stopped: the same model, data and optimizer trained for the steps that
completed, compared tensor by tensor (weights and optimizer state).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asctools.dataset import first_element_task
from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer, TargetShapeError

torch.set_num_threads(1)
QUIET = {"show_progress": False}


def regression(b=8, t=4, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, d, generator=g), torch.randn(b, 1, generator=g)


def fresh_model():
    torch.manual_seed(0)
    return RecurrentModel(2, 4, 1)


def params_of(model):
    return [p.detach().clone() for p in model.parameters()]


def state_of(opt):
    """The optimizer's per-parameter state as comparable tensors."""
    return [
        {k: torch.as_tensor(v).clone() for k, v in opt.state[p].items()}
        for grp in opt.param_groups
        for p in grp["params"]
    ]


def assert_same_state(a, b):
    assert len(a) == len(b)
    for sa, sb in zip(a, b, strict=True):
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k


def reference_run(steps, make_opt):
    """Weights and optimizer state after ``steps`` good full-batch steps."""
    x, y = regression()
    model = fresh_model()
    opt = make_opt(model.parameters())
    if steps:
        RNNTrainer(model, device="cpu").train(
            x, y, nn.MSELoss(), opt, max_epochs=steps, **QUIET
        )
    return params_of(model), state_of(opt)


class OverflowAt(torch.optim.Adam):
    """Adam whose update at call k overflows: every parameter becomes
    ±inf or NaN (what a too-large step does, made certain)."""

    def __init__(self, params, k, lr=0.01):
        super().__init__(params, lr=lr)
        self.k, self.calls = k, 0

    @torch.no_grad()
    def step(self, closure=None):
        self.calls += 1
        super().step(closure)
        if self.calls == self.k:
            for grp in self.param_groups:
                for p in grp["params"]:
                    p.mul_(math.inf)


# --- 3. non-finite weights after a step ----------------------------------


@pytest.mark.parametrize("policy", ["stop", "raise"])
def test_sgd_with_infinite_lr_keeps_finite_weights(policy, capsys):
    x, y = regression()
    model = fresh_model()
    before = params_of(model)
    opt = torch.optim.SGD(model.parameters(), lr=math.inf)
    trainer = RNNTrainer(model, device="cpu")
    kw = {"max_epochs": 5, "on_nonfinite": policy, **QUIET}
    if policy == "raise":
        with pytest.raises(FloatingPointError, match="step 1"):
            trainer.train(x, y, nn.MSELoss(), opt, **kw)
    else:
        assert trainer.train(x, y, nn.MSELoss(), opt, **kw) == []
        out = capsys.readouterr().out
        assert "training stopped" in out and "step 1" in out
        assert "parameters" in out  # says what went wrong
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.isfinite(p).all() and torch.equal(p, q)


@pytest.mark.parametrize("k", [1, 3])
def test_overflow_restores_weights_and_optimizer_state(k, capsys):
    """The step that overflowed is undone: weights AND Adam's moments and
    step count are those of the k − 1 good steps, so training can go on."""
    x, y = regression()
    model = fresh_model()
    opt = OverflowAt(model.parameters(), k)
    trainer = RNNTrainer(model, device="cpu")
    trainer.train(x, y, nn.MSELoss(), opt, max_epochs=10,
                  on_nonfinite="stop", **QUIET)  # fmt: skip
    ref_params, ref_state = reference_run(
        k - 1, lambda p: torch.optim.Adam(p, lr=0.01)
    )
    for p, q in zip(model.parameters(), ref_params, strict=True):
        assert torch.equal(p, q)
    assert_same_state(state_of(opt), ref_state)
    hist = trainer.history
    assert len(hist["step_loss"]) == k  # the undone step is recorded
    assert all(math.isfinite(v) for v in hist["step_loss"])
    assert len(hist["loss"]) == k - 1
    out = capsys.readouterr().out
    assert f"step {k}" in out and "undone" in out


@pytest.mark.parametrize("lr", [math.inf, math.nan])
def test_infinite_or_nan_learning_rate_is_a_value_error(lr):
    x, y = regression()
    with pytest.raises(ValueError, match="learning_rate"):
        RNNTrainer(fresh_model(), device="cpu").train(
            x, y, nn.MSELoss(), learning_rate=lr, **QUIET
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda p: torch.optim.Adam(p, lr=1e300),
        lambda p: torch.optim.Adam(p, lr=1e38),
        lambda p: torch.optim.SGD(p, lr=1e300),
    ],
)
def test_huge_finite_lr_ends_in_the_same_clear_stop(make, capsys):
    x, y = regression()
    model = fresh_model()
    before = params_of(model)
    opt = make(model.parameters())
    trainer = RNNTrainer(model, device="cpu")
    losses = trainer.train(x, y, nn.MSELoss(), opt, max_epochs=5,
                           on_nonfinite="stop", **QUIET)  # fmt: skip
    out = capsys.readouterr().out
    assert "training stopped" in out and "overflow" in out
    assert all(torch.isfinite(p).all() for p in model.parameters())
    if not losses:  # stopped at step 1: the initial weights
        for p, q in zip(model.parameters(), before, strict=True):
            assert torch.equal(p, q)
    model = fresh_model()
    with pytest.raises(FloatingPointError, match="overflow"):
        RNNTrainer(model, device="cpu").train(
            x, y, nn.MSELoss(), make(model.parameters()), max_epochs=5,
            **QUIET,
        )  # fmt: skip


# --- 4. interrupted training ---------------------------------------------


class InterruptAt:
    """MSE that raises KeyboardInterrupt at call k (a reader pressing
    stop while step k computes its loss)."""

    def __init__(self, k):
        self.k, self.calls = k, 0

    def __call__(self, pred, target):
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt
        return F.mse_loss(pred, target)


class InterruptInStep(torch.optim.Adam):
    """Adam interrupted half-way through its update at call k: the
    moments are updated, the parameters only partly."""

    def __init__(self, params, k):
        super().__init__(params, lr=0.01)
        self.k, self.calls = k, 0

    @torch.no_grad()
    def step(self, closure=None):
        self.calls += 1
        if self.calls == self.k:
            super().step(closure)
            first = self.param_groups[0]["params"][0]
            first.add_(1.0)  # a partial second update ...
            raise KeyboardInterrupt  # ... and the reader presses stop
        return super().step(closure)


@pytest.mark.parametrize("where", ["criterion", "optimizer"])
def test_interrupt_keeps_last_completed_step(where, capsys):
    k = 4
    x, y = regression()
    model = fresh_model()
    if where == "criterion":
        opt, criterion = torch.optim.Adam(model.parameters(), 0.01), None
        criterion = InterruptAt(k)
    else:
        opt, criterion = InterruptInStep(model.parameters(), k), nn.MSELoss()
    trainer = RNNTrainer(model, device="cpu")
    with pytest.raises(KeyboardInterrupt):
        trainer.train(x, y, criterion, opt, max_epochs=10, **QUIET)
    ref_params, ref_state = reference_run(
        k - 1, lambda p: torch.optim.Adam(p, lr=0.01)
    )
    for p, q in zip(model.parameters(), ref_params, strict=True):
        assert torch.equal(p, q)
    assert_same_state(state_of(opt), ref_state)
    hist = trainer.history
    assert len(hist["step_loss"]) == len(hist["grad_norm"]) == k - 1
    assert len(hist["loss"]) == k - 1  # full batch: one step per epoch
    out = capsys.readouterr().out
    assert "interrupted" in out and f"step {k}" in out
    assert f"{k - 1} completed steps" in out


def test_interrupt_from_batch_fn_in_train_stream(capsys):
    def batch_fn(step):
        if step == 5:
            raise KeyboardInterrupt
        return first_element_task(4, 5, seed=step)

    torch.manual_seed(0)
    model = RecurrentModel(1, 4, 2)
    ref = copy.deepcopy(model)
    trainer = RNNTrainer(model, device="cpu")
    with pytest.raises(KeyboardInterrupt):
        trainer.train_stream(batch_fn, 20, eval_every=2, **QUIET)
    RNNTrainer(ref, device="cpu").train_stream(
        batch_fn, 5, eval_every=2, **QUIET
    )
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p, q)
    assert len(trainer.history["step_loss"]) == 5
    assert trainer.history["sequences"] == [8, 16]  # two complete chunks
    assert "5 completed steps" in capsys.readouterr().out


# --- 5. empty data ---------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 4, 2), (3, 0, 2)])
def test_empty_inputs_are_a_value_error(shape):
    trainer = RNNTrainer(fresh_model(), device="cpu")
    y = torch.zeros(shape[0], 1)
    with pytest.raises(ValueError, match="input_tensors.*empty"):
        trainer.train(torch.zeros(shape), y, nn.MSELoss(), **QUIET)
    with pytest.raises(ValueError, match="empty"):
        trainer.train_stream(
            lambda s: (torch.zeros(shape), y), 3, criterion=nn.MSELoss(),
            **QUIET,
        )  # fmt: skip


# --- 6. seeds ------------------------------------------------------------


@pytest.mark.parametrize(
    "seed, err",
    [("abc", TypeError), (1.5, TypeError), (True, TypeError),
     (2**64, ValueError), (-1, ValueError)],
)  # fmt: skip
def test_bad_seed_is_a_clear_error(seed, err):
    x, y = regression()
    trainer = RNNTrainer(fresh_model(), device="cpu")
    with pytest.raises(err, match="seed"):
        trainer.train(x, y, nn.MSELoss(), batch_size=2, seed=seed, **QUIET)


def test_numpy_seed_gives_the_same_batches():
    import numpy as np

    x, y = regression()
    runs = []
    for seed in (5, np.int64(5)):
        trainer = RNNTrainer(fresh_model(), device="cpu")
        losses = trainer.train(x, y, nn.MSELoss(), max_epochs=2,
                               batch_size=3, seed=seed, **QUIET)  # fmt: skip
        runs.append(losses)
    assert runs[0] == runs[1]


def test_seed_without_batch_size_is_refused():
    """Full-batch training draws nothing: a seed there would do nothing,
    so it is an error that says so instead of being ignored."""
    x, y = regression()
    trainer = RNNTrainer(fresh_model(), device="cpu")
    with pytest.raises(ValueError, match="seed.*batch_size"):
        trainer.train(x, y, nn.MSELoss(), seed=0, **QUIET)


# --- 7. class labels out of range ----------------------------------------


def test_label_out_of_range_is_checked_before_the_first_step():
    x, _ = first_element_task(6, 4, seed=0)
    y = torch.tensor([0, 1, 5, 1, 0, 1])
    model = RecurrentModel(1, 3, 2)
    before = params_of(model)
    trainer = RNNTrainer(model, device="cpu")
    with pytest.raises(ValueError, match=r"targets.*\[0, 2\).*5"):
        trainer.train(x, y, max_epochs=2, **QUIET)
    assert trainer.history["step_loss"] == []
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="-3"):
        trainer.train(x, -3 * torch.ones(6, dtype=torch.long), **QUIET)
    with pytest.raises(ValueError, match="targets"):
        trainer.train_stream(lambda s: (x, y), 3, **QUIET)


def test_ignore_index_still_works():
    """-100 (cross_entropy's ignore_index) marks steps without a target;
    the loss equals cross_entropy's over the other steps."""
    x, _ = first_element_task(4, 5, seed=1)
    y = torch.randint(0, 2, (4, 5), generator=torch.Generator().manual_seed(0))
    y[:, :2] = -100
    torch.manual_seed(0)
    model = RecurrentModel(1, 3, 2)
    with torch.no_grad():
        out = model(x)[0]
        expected = F.cross_entropy(out.reshape(20, 2), y.reshape(20)).item()
    trainer = RNNTrainer(model, device="cpu")
    trainer.train(x, y, max_epochs=1, **QUIET)
    assert trainer.history["step_loss"][0] == pytest.approx(expected, 1e-6)
    custom = nn.CrossEntropyLoss(ignore_index=7)
    y[:, :2] = 7
    RNNTrainer(model, device="cpu").train(x, y, custom, max_epochs=1, **QUIET)
    with pytest.raises(ValueError, match="targets"):
        y[:, :2] = -100  # not the ignore_index of this criterion
        RNNTrainer(model, device="cpu").train(x, y, custom, **QUIET)


# --- 9. one error class for target shapes --------------------------------


@pytest.mark.parametrize(
    "y",
    [
        torch.zeros(8, 2, dtype=torch.long),  # (B, 2) indices, T = 4
        torch.zeros(8, 4, 3),  # K = 1
        torch.zeros(7, dtype=torch.long),  # rows
    ],
)
def test_target_shape_error_is_value_and_runtime_error(y):
    x, _ = regression()
    trainer = RNNTrainer(fresh_model(), device="cpu")
    for caught in (TargetShapeError, ValueError, RuntimeError):
        with pytest.raises(caught, match="targets"):
            trainer.train(x, y, nn.MSELoss(), **QUIET)
    assert issubclass(TargetShapeError, ValueError)
    assert issubclass(TargetShapeError, RuntimeError)


def test_overflow_is_undone_in_a_float64_model():
    x, y = regression()
    model = fresh_model().double()
    before = params_of(model)
    opt = OverflowAt(model.parameters(), 1)
    trainer = RNNTrainer(model, device="cpu")
    with pytest.raises(FloatingPointError, match="step 1"):
        trainer.train(x.double(), y.double(), nn.MSELoss(), opt, **QUIET)
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q)
    assert not opt.state  # Adam had no state before its first step
