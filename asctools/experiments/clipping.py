"""An Elman RNN in the exploding regime, trained with and without clipping.

:func:`clipping_comparison` pushes σ_max(W_hh) above 1 and trains the
same network twice on the adding problem, same seed, data and batch
order: with gradient-norm clipping and without.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from asctools._validate import check_real
from asctools.dataset import adding_problem
from asctools.gradflow import scale_spectral_norm
from asctools.models import RecurrentModel
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import set_seed

__all__ = ["ClippingRuns", "clipping_comparison"]


@dataclass
class ClippingRuns:
    """Per-step float64 arrays of the two runs, under keys
    ``"grad_norm"`` (pre-clip global norm, the trainer's record),
    ``"applied_norm"`` (global norm of the gradient the optimiser used)
    and ``"step_loss"``. A run stopped at a non-finite loss is shorter."""

    threshold: float
    sigma_max: float
    clipped: dict[str, np.ndarray]
    unclipped: dict[str, np.ndarray]


def _record_applied_norm(optimizer) -> list[float]:
    """A list that gets the global gradient norm before every step."""
    sink: list[float] = []

    def hook(opt, args, kwargs):
        grads = [
            p.grad.detach().norm()
            for group in opt.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        sink.append(float(torch.stack(grads).norm()))  # ‖(g_1, ..., g_n)‖

    optimizer.register_step_pre_hook(hook)
    return sink


def _arrays(history, applied) -> dict[str, np.ndarray]:
    return {
        "grad_norm": np.asarray(history["grad_norm"], dtype=np.float64),
        "applied_norm": np.asarray(applied, dtype=np.float64),
        "step_loss": np.asarray(history["step_loss"], dtype=np.float64),
    }


def _clip_run(model, x, y, clip, lr, batch_size, epochs, seed, device):
    """SGD on (x, y) with the trainer; the same batch order for any clip."""
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    applied = _record_applied_norm(opt)
    trainer = RNNTrainer(model, device=device)
    trainer.train(
        x, y, criterion=torch.nn.MSELoss(), optimizer=opt,
        max_epochs=epochs, batch_size=batch_size, clip_grad_norm=clip,
        show_progress=False, on_nonfinite="stop", seed=seed,
    )  # fmt: skip
    return _arrays(trainer.history, applied)


def clipping_comparison(
    threshold: float = 1.0,
    sigma_max: float = 3.0,
    seq_len: int = 20,
    hidden_size: int = 32,
    n_samples: int = 1024,
    batch_size: int = 32,
    epochs: int = 2,
    learning_rate: float = 0.05,
    seed: int = 0,
    device="cpu",
) -> ClippingRuns:
    """Train an Elman RNN with σ_max(W_hh) = ``sigma_max`` twice with SGD
    on the adding problem (MSE at the last step), same initial weights,
    data and batch order: clipped at ``threshold``, and not clipped."""
    threshold = check_real("threshold", threshold, 0, strict=True)
    x, y = adding_problem(n_samples, seq_len, seed=seed)  # (N, T, 2), (N, 1)
    runs = {}
    for name, clip in (("clipped", threshold), ("unclipped", None)):
        set_seed(seed)
        model = RecurrentModel(2, hidden_size, 1, kind="rnn")
        scale_spectral_norm(model, sigma_max)
        runs[name] = _clip_run(
            model, x, y, clip, learning_rate, batch_size, epochs, seed, device
        )
    return ClippingRuns(float(threshold), float(sigma_max), **runs)
