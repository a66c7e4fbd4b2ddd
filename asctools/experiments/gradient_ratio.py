"""‖∂L/∂h_{T/2}‖ / ‖∂L/∂h_T‖ on the adding problem, before and after
training: how much of the loss's gradient reaches the middle of the
sequence, for RNNs, LSTMs and GRUs with several initialisations. The
stored experiment ``gradient_trained`` (:func:`trained_record`) trains an
LSTM and a tanh RNN for five seeds and keeps the gradient and the gates
before and after.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from asctools._validate import check_int
from asctools.dataset import adding_problem
from asctools.experiments.driver import test_seed, train_fresh
from asctools.experiments.store import SEEDS
from asctools.gradflow import (
    GradNorms,
    gate_trace,
    grad_ratio,
    hidden_grad_norms,
    relative_grad_norms,
    spectrum,
)
from asctools.models import RecurrentModel
from asctools.utils import set_seed

__all__ = [
    "RATIO_CONFIGS",
    "RatioResult",
    "TRAINED",
    "adding_ratio",
    "ratio_table",
    "trained_configs",
    "trained_record",
]

# the configurations of the chapter's ratio table -> RecurrentModel kwargs
RATIO_CONFIGS = {
    "tanh RNN": {"kind": "rnn"},
    "tanh RNN, orthogonal": {"kind": "rnn", "init": "orthogonal"},
    "LSTM": {"kind": "lstm"},
    "LSTM, forget bias 1": {"kind": "lstm", "forget_bias": 1.0},
    "GRU": {"kind": "gru"},
}


@dataclass
class RatioResult:
    """ratio = ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖; norms for all t; step_loss of the
    training run (empty at initialisation)."""

    ratio: float
    norms: GradNorms
    step_loss: np.ndarray


def _train_adding(model, seq_len, steps, batch_size, lr, seed, device):
    """Adam (clip 1) on fresh adding-problem batches, until the mean loss
    of 100 steps is below 0.01 (solved); returns the step losses."""
    trainer = train_fresh(
        model, lambda n, s: adding_problem(n, seq_len, seed=s), steps,
        seed=seed, batch_size=batch_size, eval_every=100, device=device,
        criterion=torch.nn.MSELoss(), learning_rate=lr, clip_grad_norm=1.0,
        stop_below=0.01,
    )  # fmt: skip
    model.cpu()
    return np.asarray(trainer.history["step_loss"], dtype=np.float64)


def adding_ratio(
    kind: str = "rnn",
    *,
    init: str = "default",
    forget_bias: float | None = None,
    seq_len: int = 100,
    hidden_size: int = 64,
    t: int | None = None,
    n_samples: int = 256,
    train_steps: int = 0,
    batch_size: int = 64,
    learning_rate: float = 2e-2,
    seed: int = 0,
    device="cpu",
) -> RatioResult:
    """‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ (t = T/2 by default) of a ``RecurrentModel``
    on ``n_samples`` adding-problem sequences (MSE at the last step).

    With ``train_steps`` > 0 the model is first trained with Adam (clip 1,
    fresh batches) for at most that many steps, stopping once the mean
    MSE of 100 steps is below 0.01; kind, init, forget_bias go to
    ``RecurrentModel``. The norms are measured in float64. At T = 100,
    H = 64 an LSTM sits at the baseline MSE 1/6 for 500 to 1000 steps
    before its loss drops; a tanh RNN stays there.
    """
    check_int("train_steps", train_steps, 0)
    set_seed(seed)
    model = RecurrentModel(
        2, hidden_size, 1, kind=kind, init=init, forget_bias=forget_bias
    )
    step_loss = np.zeros(0)
    if train_steps:
        step_loss = _train_adding(
            model, seq_len, train_steps, batch_size, learning_rate, seed,
            device,
        )  # fmt: skip
    x, y = adding_problem(n_samples, seq_len, seed=seed)
    # float64: a trained tanh RNN's ratio can fall below float32's 1e-45
    norms = hidden_grad_norms(model.double(), x.double(), y.double())
    return RatioResult(grad_ratio(norms, t), norms, step_loss)


def ratio_table(
    configs: dict | None = None, train_steps: int = 0, **kwargs
) -> dict[str, float]:
    """{name: ratio} of :func:`adding_ratio` for each configuration
    (default :data:`RATIO_CONFIGS`); ``kwargs`` go to every call."""
    configs = RATIO_CONFIGS if configs is None else configs
    return {
        name: adding_ratio(**cfg, train_steps=train_steps, **kwargs).ratio
        for name, cfg in configs.items()
    }


# --- the stored experiment: the gradient after training, five seeds ----

TRAINED = {  # name -> RecurrentModel keywords of the two trained models
    "lstm": {"kind": "lstm", "forget_bias": 1.0},
    "rnn": {"kind": "rnn"},
}
TRAINED_STEPS = 1000  # the budget: 1000 steps of 64 = 64,000 sequences


def trained_configs() -> list[dict]:
    """Every run of ``gradient_trained``: LSTM (forget bias 1) and tanh
    RNN, adding problem T = 50, H = 64, five seeds."""
    return [
        dict(
            task="adding",
            model=name,
            seq_len=50,
            hidden_size=64,
            steps=TRAINED_STEPS,
            seed=seed,
        )  # fmt: skip
        for name in TRAINED
        for seed in SEEDS
    ]


def _snapshot(model, x, y) -> dict:
    """What the chapter reads off a model: the relative gradient norms
    (h, and c for an LSTM), and the LSTM's forget gates or the RNN's
    σ_max(W_hh) and mean tanh′, on the test sequences (x, y)."""
    twin = copy.deepcopy(model).cpu().double()
    norms = hidden_grad_norms(twin, x.double(), y.double())
    out = {"grad_h": relative_grad_norms(norms).tolist()}
    if norms.grad_c_norm is not None:
        out["grad_c"] = relative_grad_norms(norms, "c").tolist()
        f = gate_trace(twin, x.double()).gates["f"]  # (B, T, H)
        carry = f[:, x.shape[1] // 2 :].prod(axis=1).mean(axis=0)  # (H,)
        out.update(f_mean=float(f.mean()), carry_max=float(carry.max()),
                   n_keep=int((carry > 0.5).sum()))  # fmt: skip
    else:
        with torch.no_grad():
            h = twin.rnn(x.double())[0]
        out.update(sigma_max=spectrum(twin.rnn.weight_hh_l0).sigma_max,
                   slope=float((1 - h**2).mean()))  # fmt: skip
    return out


def trained_record(config: dict, device="cpu") -> dict:
    """Train one configuration of ``gradient_trained``; return its record.

    Adam (2e-2, clip 1) on fresh batches of 64 until the test MSE on 256
    fixed sequences is below 0.01 (tested every 100 steps) or for
    ``steps`` steps; ``before`` and ``after`` hold :func:`_snapshot` of
    the model at initialisation and after training, in float64.
    """
    c = config
    set_seed(c["seed"])
    model = RecurrentModel(2, c["hidden_size"], 1, **TRAINED[c["model"]])
    x, y = adding_problem(256, c["seq_len"], seed=test_seed(c["seed"]))
    before = _snapshot(model, x, y)
    seen, metric = [], []

    def on_eval(trainer):
        seen.append(trainer.history["sequences"][-1])
        metric.append(trainer.evaluate(x, y, criterion=torch.nn.MSELoss())[0])
        return metric[-1] < 0.01

    trainer = train_fresh(
        model, lambda n, s: adding_problem(n, c["seq_len"], seed=s),
        c["steps"], seed=c["seed"], batch_size=64, eval_every=100,
        device=device, criterion=torch.nn.MSELoss(), learning_rate=2e-2,
        clip_grad_norm=1.0, on_eval=on_eval,
    )  # fmt: skip
    kind = TRAINED[c["model"]]["kind"]
    return {
        "config": config,
        **{k: c[k] for k in ("task", "seq_len", "seed")},
        "kind": kind,
        "init": "forget1" if kind == "lstm" else "default",
        "budget": c["steps"] * 64,
        "solved_at": seen[-1] if metric and metric[-1] < 0.01 else None,
        "sequences": seen,
        "test_metric": metric,
        "metric": "test MSE",
        "baseline": 1 / 6,
        "threshold": 0.01,
        "step_loss": trainer.history["step_loss"],
        "before": before,
        "after": _snapshot(model, x, y),
    }
