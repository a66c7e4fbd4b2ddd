"""asctools.rnn_trainer.RNNTrainer: the seed chapter's contract, target
shapes, clipping, reproducibility, early stopping, NaN handling."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from asctools.dataset import (
    first_element_task,
    generate_parentheses_dataset,
    parentheses_one_hot,
)
from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import set_seed

torch.set_num_threads(1)
QUIET = {"show_progress": False}


class ChapterLSTM(nn.Module):
    """The seed chapter's model: four nn.Linear gates on cat(x, h), forget
    bias 1, a linear read-out, a required hidden from initHidden."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        n = input_size + hidden_size
        self.input_gate = nn.Linear(n, hidden_size)
        self.forget_gate = nn.Linear(n, hidden_size)
        self.cell_gate = nn.Linear(n, hidden_size)
        self.output_gate = nn.Linear(n, hidden_size)
        self.output = nn.Linear(hidden_size, output_size)
        with torch.no_grad():
            self.forget_gate.bias.fill_(1.0)

    def forward(self, input, hidden):
        h, c = hidden
        outputs = []
        for t in range(input.size(1)):
            combined = torch.cat((input[:, t, :], h), dim=1)
            i = torch.sigmoid(self.input_gate(combined))
            f = torch.sigmoid(self.forget_gate(combined))
            g = torch.tanh(self.cell_gate(combined))
            o = torch.sigmoid(self.output_gate(combined))
            c = f * c + i * g
            h = o * torch.tanh(c)
            outputs.append(self.output(h))
        return torch.stack(outputs, dim=1), (h, c)

    def initHidden(self, batch_size):  # CPU tensors, as in the chapter
        zeros = torch.zeros(batch_size, self.hidden_size)
        return zeros, zeros.clone()


def test_seed_chapter_contract(capsys):
    sequences, y_valid = generate_parentheses_dataset(
        n_samples=60, min_length=25, max_length=25
    )
    eval_sequences, eval_y_valid = generate_parentheses_dataset(n_samples=30)
    assert len(eval_sequences) == 30 and len(eval_sequences[0]) == 25
    X = torch.stack([parentheses_one_hot([s])[0] for s in sequences])
    y = torch.tensor(y_valid)
    lstm = ChapterLSTM(28, 8, 2)
    trainer = RNNTrainer(lstm)
    losses = trainer.train(
        input_tensors=X,
        targets=y,
        criterion=nn.CrossEntropyLoss(),
        max_epochs=3,
        learning_rate=0.01,
        clip_grad_norm=1.0,
    )
    assert len(losses) == 3 and all(type(v) is float for v in losses)
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    from asctools.rnn import RNN

    rnn = RNN(28, 8, 2, device="cpu")
    assert (
        len(RNNTrainer(rnn, device="cpu").train(X, y, max_epochs=2, **QUIET))
        == 2
    )


def test_lstm_learns_parentheses():
    set_seed(0)
    s, y = generate_parentheses_dataset(1000, seed=0)
    fresh, fresh_y = generate_parentheses_dataset(300, seed=1)
    trainer = RNNTrainer(RecurrentModel(28, 32, 2), device="cpu")
    trainer.train(parentheses_one_hot(s), y, max_epochs=12, batch_size=50,
                  seed=0, **QUIET)  # fmt: skip
    _, acc = trainer.evaluate(parentheses_one_hot(fresh), fresh_y)
    assert acc > 0.8  # chance: 0.5


def _data(b=8, t=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, d, generator=g), g


TARGETS = {  # name: (K, make target, criterion, manual loss from out)
    "idx (B,)": (3, lambda b, t, g: torch.randint(3, (b,), generator=g),
                 None, lambda o, y: F.cross_entropy(o[:, -1], y)),
    "idx (B,1)": (3, lambda b, t, g: torch.randint(3, (b, 1), generator=g),
                  None, lambda o, y: F.cross_entropy(o[:, -1], y[:, 0])),
    "idx (B,T)": (3, lambda b, t, g: torch.randint(3, (b, t), generator=g),
                  None, lambda o, y: F.cross_entropy(o.transpose(1, 2), y)),
    "one-hot (B,1,K)": (
        3, lambda b, t, g: F.one_hot(torch.randint(3, (b, 1), generator=g),
                                     3).float(),
        None, lambda o, y: F.cross_entropy(o[:, -1], y[:, 0].argmax(-1))),
    "regr (B,1,1)": (1, lambda b, t, g: torch.randn(b, 1, 1, generator=g),
                     nn.MSELoss(), lambda o, y: F.mse_loss(o[:, -1:], y)),
    "regr (B,K)": (2, lambda b, t, g: torch.randn(b, 2, generator=g),
                   nn.MSELoss(), lambda o, y: F.mse_loss(o[:, -1], y)),
    "regr (B,T,K)": (2, lambda b, t, g: torch.randn(b, t, 2, generator=g),
                     nn.MSELoss(), lambda o, y: F.mse_loss(o, y)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TARGETS))
def test_target_shapes(name):
    k, make, criterion, manual = TARGETS[name]
    x, g = _data()
    y = make(8, 5, g)
    torch.manual_seed(0)
    model = RecurrentModel(3, 4, k)
    with torch.no_grad():
        expected = manual(model(x)[0], y).item()
    trainer = RNNTrainer(model, device="cpu")
    trainer.train(x, y, criterion=criterion, max_epochs=2, **QUIET)
    assert trainer.history["step_loss"][0] == pytest.approx(expected, 1e-6)
    assert trainer.history["step_loss"][1] != trainer.history["step_loss"][0]


def test_list_inputs_and_targets_equal_stacked():
    x, g = _data()
    y = torch.randint(2, (8,), generator=g)
    runs = []
    for xs, ys in ((x, y), (list(x), y.tolist()), ([x[:3], x[3:]], list(y))):
        torch.manual_seed(0)
        trainer = RNNTrainer(RecurrentModel(3, 4, 2), device="cpu")
        runs.append(trainer.train(xs, ys, max_epochs=2, **QUIET))
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize(
    "y",
    [
        torch.zeros(8, 2, dtype=torch.long),  # (B, 2) indices: T = 5
        torch.zeros(8, 5, 3),  # K = 2
        torch.zeros(8),  # float (B,): would broadcast against (B, 1)
        torch.zeros(8, 1, 2, dtype=torch.long),  # one-hot must be float
    ],
)
def test_mismatched_targets_raise(y):
    trainer = RNNTrainer(RecurrentModel(3, 4, 2), device="cpu")
    with pytest.raises(ValueError, match=r"targets must have shape.*received"):
        trainer.train(_data()[0], y, criterion=nn.MSELoss(), **QUIET)
    with pytest.raises(ValueError, match="targets must have one row"):
        trainer.train(_data()[0], torch.zeros(7, dtype=torch.long), **QUIET)


class RecordingSGD(torch.optim.SGD):
    """SGD that records the global gradient norm it is asked to apply."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.seen = []

    def step(self, closure=None):
        grads = [p.grad for grp in self.param_groups for p in grp["params"]]
        self.seen.append(torch.cat([g.flatten() for g in grads]).norm().item())
        return super().step(closure)


def _big_gradient_problem():
    x, g = _data(16, 6, 3, seed=1)
    y = 50 + torch.randn(16, 1, generator=g)  # far from the output: big ∇
    torch.manual_seed(0)
    return RecurrentModel(3, 5, 1), x * 3, y


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.mark.parametrize("clip", [0.5, None])
def test_clipping_caps_the_applied_gradient(clip):
    model, x, y = _big_gradient_problem()
    ref = copy.deepcopy(model)
    F.mse_loss(ref(x)[0][:, -1], y).backward()
    manual = torch.cat([p.grad.flatten() for p in ref.parameters()]).norm()
    assert manual > 20  # so that clipping at 0.5 matters
    opt = RecordingSGD(model.parameters(), lr=1.0)
    trainer = RNNTrainer(model, device="cpu")
    trainer.train(x, y, nn.MSELoss(), opt, max_epochs=3, clip_grad_norm=clip,
                  **QUIET)  # fmt: skip
    norms = trainer.history["grad_norm"]
    assert norms[0] == pytest.approx(manual.item(), rel=1e-5)  # pre-clip
    if clip is None:  # nothing clipped; the norm is still recorded
        assert opt.seen == pytest.approx(norms, rel=1e-5)
    else:
        assert max(opt.seen) <= clip * (1 + 1e-6)
        assert opt.seen == pytest.approx([clip] * 3, rel=1e-5)
        assert min(norms) > clip
    # with SGD at lr 1 the first update moves the weights by ‖g_applied‖
    model, x, y = _big_gradient_problem()
    before = _flat(model)
    RNNTrainer(model, device="cpu").train(
        x, y, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=1.0),
        max_epochs=1, clip_grad_norm=clip, **QUIET,
    )  # fmt: skip
    step = (_flat(model) - before).norm().item()
    assert step == pytest.approx(clip or manual.item(), rel=1e-4)


def _seeded_run(seed, shuffle_seed=0):
    set_seed(seed)
    x, y = first_element_task(48, 8, seed=0)
    trainer = RNNTrainer(RecurrentModel(1, 6, 2), device="cpu")
    losses = trainer.train(x, y, max_epochs=3, batch_size=16,
                           seed=shuffle_seed, **QUIET)  # fmt: skip
    return losses, trainer.history["step_loss"], trainer.history["grad_norm"]


def test_seeded_run_reproduces_exactly():
    assert _seeded_run(0) == _seeded_run(0)
    assert _seeded_run(0) != _seeded_run(1)
    assert _seeded_run(0)[1] != _seeded_run(0, shuffle_seed=1)[1]


class IdModel(nn.Module):
    """Records which samples (ids in x[:, 0, 0]) each batch holds."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.seen = []

    def forward(self, x):
        self.seen.append(x[:, 0, 0].long().tolist())
        return x[..., :2] * self.w  # (B, T, 2)


def test_minibatches_cover_each_epoch_once_in_new_orders():
    x = torch.arange(10.0)[:, None, None].expand(10, 2, 2).contiguous()
    y = torch.zeros(10, dtype=torch.long)
    model = IdModel()
    RNNTrainer(model, device="cpu").train(x, y, max_epochs=3, batch_size=4,
                                          seed=3, **QUIET)  # fmt: skip
    assert [len(b) for b in model.seen] == [4, 4, 2] * 3
    epochs = [sum(model.seen[i : i + 3], []) for i in (0, 3, 6)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 3


def test_early_stopping():
    x, y = first_element_task(32, 6, seed=0)
    torch.manual_seed(0)
    model = RecurrentModel(1, 4, 2)
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)  # loss constant
    trainer = RNNTrainer(model, device="cpu")
    losses = trainer.train(x, y, optimizer=frozen, max_epochs=50, patience=2,
                           val_data=(x, y), **QUIET)  # fmt: skip
    assert len(losses) == 3  # best at epoch 1, no gain in 2 and 3
    assert len(trainer.history["val_loss"]) == 3
    # learning, but by less than min_delta per epoch: stops as well
    losses = trainer.train(x, y, max_epochs=50, patience=4, min_delta=10.0,
                           **QUIET)  # fmt: skip
    assert len(losses) == 5 and losses[-1] < losses[0]


def test_early_stopping_watches_validation_loss():
    x, y = first_element_task(64, 5, seed=0)
    runs = []
    for val in (None, (x, 1 - y)):  # flipped labels: val loss rises
        torch.manual_seed(0)
        trainer = RNNTrainer(RecurrentModel(1, 8, 2), device="cpu")
        runs.append(
            trainer.train(
                x,
                y,
                max_epochs=15,
                learning_rate=0.02,
                patience=3,
                val_data=val,
                **QUIET,
            )
        )
    assert len(runs[0]) == 15 and runs[0][-1] < runs[0][0]
    assert len(runs[1]) < 15
    assert runs[1] == runs[0][: len(runs[1])]


class NaNAt:
    """MSE whose value (or only its gradient) turns NaN at call k."""

    def __init__(self, k, where):
        self.k, self.where, self.calls = k, where, 0

    def __call__(self, pred, target):
        self.calls += 1
        loss = F.mse_loss(pred, target)
        if self.calls >= self.k and self.where == "loss":
            loss = loss * math.nan
        elif self.calls >= self.k:  # value unchanged, ∂/∂pred = 0·∞ = NaN
            loss = loss + 0 * (pred - pred.detach()).sqrt().sum()
        return loss


@pytest.mark.parametrize("where", ["loss", "grad"])
@pytest.mark.parametrize("policy", ["stop", "raise"])
def test_nonfinite_keeps_last_good_weights(where, policy, capsys):
    x, g = _data(8, 4, 2)
    y = torch.randn(8, 1, generator=g)
    torch.manual_seed(0)
    model = RecurrentModel(2, 4, 1)
    ref = copy.deepcopy(model)
    RNNTrainer(ref, device="cpu").train(x, y, nn.MSELoss(), max_epochs=3,
                                        **QUIET)  # fmt: skip
    trainer = RNNTrainer(model, device="cpu")
    kw = {"max_epochs": 10, "on_nonfinite": policy, **QUIET}
    if policy == "raise":
        with pytest.raises(FloatingPointError, match="step 4"):
            trainer.train(x, y, NaNAt(4, where), **kw)
    else:
        losses = trainer.train(x, y, NaNAt(4, where), **kw)
        assert len(losses) == 3
        assert "training stopped" in capsys.readouterr().out
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p, q)
    assert len(trainer.history["step_loss"]) == 4
    bad = trainer.history["step_loss" if where == "loss" else "grad_norm"]
    assert math.isnan(bad[-1])


def test_device_argument():
    model = RecurrentModel(2, 3, 2)
    assert RNNTrainer(model, device="cpu").device == torch.device("cpu")
    assert RNNTrainer(model, torch.device("cpu")).device.type == "cpu"
    with pytest.raises(ValueError, match="device"):
        RNNTrainer(model, device="not-a-device")
    with pytest.raises(TypeError, match="device"):
        RNNTrainer(model, device=0.5)
    with pytest.raises(TypeError, match="model"):
        RNNTrainer("lstm")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_moves_model_data_and_hidden():
    x, y = first_element_task(16, 5, seed=0)
    model = ChapterLSTM(1, 4, 2)  # initHidden gives CPU tensors
    trainer = RNNTrainer(model, device="cuda")
    losses = trainer.train(x, y, max_epochs=2, val_data=(x, y), **QUIET)
    assert next(model.parameters()).is_cuda and len(losses) == 2


def test_hidden_init_func_is_used():
    x, g = _data(4, 3, 2)
    y = torch.randint(2, (4,), generator=g)
    torch.manual_seed(0)
    model = ChapterLSTM(2, 3, 2)
    h0 = (torch.ones(4, 3), torch.full((4, 3), 2.0))
    with torch.no_grad():
        expected = F.cross_entropy(model(x, h0)[0][:, -1], y).item()
    trainer = RNNTrainer(model, device="cpu")
    trainer.train(x, y, max_epochs=1, hidden_init_func=lambda: h0, **QUIET)
    assert trainer.history["step_loss"][0] == pytest.approx(expected, 1e-6)


def test_train_stream_history_and_sequences(capsys):
    calls = []

    def batch_fn(step):
        calls.append(step)
        return first_element_task(4, 6, seed=step)

    torch.manual_seed(0)
    trainer = RNNTrainer(RecurrentModel(1, 4, 2), device="cpu")
    val = first_element_task(20, 6, seed=99)
    losses = trainer.train_stream(batch_fn, steps=7, eval_every=3,
                                  val_data=val, **QUIET)  # fmt: skip
    hist = trainer.history
    assert calls == list(range(7))
    steps = hist["step_loss"]
    chunks = [steps[0:3], steps[3:6], steps[6:7]]
    assert losses == pytest.approx([sum(c) / len(c) for c in chunks])
    assert hist["sequences"] == [12, 24, 28]
    assert len(hist["grad_norm"]) == 7 and len(hist["val_loss"]) == 3
    assert 0 <= hist["val_accuracy"][-1] <= 1
    assert trainer.evaluate(*val)[0] == pytest.approx(hist["val_loss"][-1])
    short = trainer.train_stream(batch_fn, 50, eval_every=5, stop_below=1e9,
                                 **QUIET)  # fmt: skip
    assert len(short) == 1
    assert capsys.readouterr() == ("", "")


def test_progress_output():
    x, y = first_element_task(8, 4, seed=0)
    trainer = RNNTrainer(RecurrentModel(1, 3, 2), device="cpu")
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        trainer.train(x, y, max_epochs=4)
    assert len(out.getvalue().strip().splitlines()) == 1
    assert "4 epochs" in out.getvalue()


def test_validation_accuracy_and_regression_nan():
    x, y = first_element_task(32, 4, seed=0)
    torch.manual_seed(0)
    model = RecurrentModel(1, 4, 2)
    trainer = RNNTrainer(model, device="cpu")
    trainer.train(x, y, max_epochs=1, val_data=(x, y), **QUIET)
    with torch.no_grad():
        pred = model(x)[0][:, -1].argmax(-1)
    acc = (pred == y).float().mean().item()
    assert trainer.history["val_accuracy"] == [pytest.approx(acc)]
    loss, acc = trainer.evaluate(x, y.float()[:, None, None].expand(32, 1, 2),
                                 nn.MSELoss())  # fmt: skip
    assert math.isnan(acc) and loss > 0


@pytest.mark.parametrize(
    "kw, err, name",
    [
        ({"max_epochs": 0}, ValueError, "max_epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.0}, TypeError, "batch_size"),
        ({"clip_grad_norm": -1.0}, ValueError, "clip_grad_norm"),
        ({"learning_rate": 0}, ValueError, "learning_rate"),
        ({"patience": 0}, ValueError, "patience"),
        ({"min_delta": -0.1}, ValueError, "min_delta"),
        ({"on_nonfinite": "ignore"}, ValueError, "on_nonfinite"),
        ({"optimizer": "adam"}, TypeError, "optimizer"),
        ({"criterion": 3}, TypeError, "criterion"),
        ({"hidden_init_func": 3}, TypeError, "hidden_init_func"),
        ({"val_data": (1,)}, TypeError, "val_data"),
        ({"input_tensors": torch.zeros(8, 3)}, ValueError, "input_tensors"),
        ({"input_tensors": torch.zeros(8, 3, 1, dtype=torch.long)},
         ValueError, "input_tensors"),
        ({"input_tensors": [torch.zeros(3, 1), torch.zeros(4, 1)]},
         ValueError, "input_tensors"),
        ({"input_tensors": "x"}, TypeError, "input_tensors"),
    ],
)  # fmt: skip
def test_argument_validation(kw, err, name):
    args = {
        "input_tensors": torch.zeros(8, 3, 1),
        "targets": torch.zeros(8, dtype=torch.long),
        **kw,
        **QUIET,
    }
    trainer = RNNTrainer(RecurrentModel(1, 2, 2), device="cpu")
    with pytest.raises(err, match=name):
        trainer.train(**args)


def test_stream_validation():
    trainer = RNNTrainer(RecurrentModel(1, 2, 2), device="cpu")
    with pytest.raises(TypeError, match="batch_fn"):
        trainer.train_stream(3, 5, **QUIET)
    with pytest.raises(ValueError, match="eval_every"):
        trainer.train_stream(lambda s: None, 5, eval_every=0, **QUIET)
    with pytest.raises(TypeError, match="batch_fn"):
        trainer.train_stream(lambda s: torch.zeros(2, 3, 1), 5, **QUIET)
