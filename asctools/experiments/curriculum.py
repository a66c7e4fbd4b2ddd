"""Does the adding problem teach itself? Probing a network as it learns.

The adding problem's target is X1 + X2, the first marked value somewhere
in the first half, the second in the second half, often close to the end.
A network could first learn to carry the *second* value over a short
distance (MSE 1/12: it knows one of the two values), and learn the gating
that later carries the first one too. :func:`curriculum_run` trains a
``RecurrentModel`` as :func:`~asctools.experiments.long_range.run_task`
does and, at every evaluation, probes it on fixed sequences:

* the least-squares fit of the prediction ŷ ≈ a·X1 + b·X2 + c: a model
  that uses X2 only has b ≈ 1, a ≈ 0; the solution has a = b = 1;
* the MSE split by where the first marker sits (bins of its position in
  the first half): sequences whose first value lies late, closer to the
  end, should be learned first if the task contains its own curriculum.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from asctools.dataset import adding_problem
from asctools.experiments.driver import test_seed, train_fresh
from asctools.experiments.initialisation import init_kwargs
from asctools.experiments.tasks import task_spec
from asctools.models import RecurrentModel
from asctools.utils import set_seed

__all__ = ["adding_probe", "curriculum_run", "least_squares"]


def _markers(x):
    """Positions (n,) and values (n,) of the two marked steps of x."""
    t = x.shape[1]
    p1 = x[:, : t // 2, 1].argmax(dim=1)
    p2 = t // 2 + x[:, t // 2 :, 1].argmax(dim=1)
    rows = torch.arange(len(x))
    return p1, p2, x[rows, p1, 0], x[rows, p2, 0]


def least_squares(design: Tensor, target: Tensor) -> list[float]:
    """The coefficients c minimising ‖design c − target‖², for a design
    of a few columns: the normal equations, summed elementwise and solved
    by Cramer's rule in Python floats. LAPACK's solvers round differently
    on different CPUs in the last digits; this gives the same bits on
    every machine (the store is compared to the last digit)."""
    d = design.double()
    t = target.double()
    k = d.shape[1]
    gram = [[(d[:, i] * d[:, j]).sum().item() for j in range(k)]
            for i in range(k)]  # fmt: skip
    rhs = [(d[:, i] * t).sum().item() for i in range(k)]
    det = _det(gram)
    if det == 0:
        raise ValueError("design must have independent columns")
    return [_det([row[:i] + [b] + row[i + 1 :] for row, b in zip(gram, rhs,
                 strict=True)]) / det for i in range(k)]  # fmt: skip


def _det(m: list[list[float]]) -> float:
    """Determinant by cofactor expansion (small matrices only)."""
    if len(m) == 1:
        return m[0][0]
    return sum((-1) ** j * m[0][j] * _det([r[:j] + r[j + 1 :] for r in m[1:]])
               for j in range(len(m)))  # fmt: skip


@torch.no_grad()
def adding_probe(model, x, y, bins=5) -> dict:
    """How ``model`` uses the two values, on adding sequences ``x``, ``y``.

    Returns ``{"mse", "coef_x1", "coef_x2", "mse_by_p1"}``: the MSE, the
    least-squares coefficients of X1 and X2 in ŷ ≈ a X1 + b X2 + c, and
    the MSE in each of ``bins`` equal bins of the first marker's position
    over [0, T/2) (early lags first).
    """
    was_training = model.training
    model.eval()
    pred = model(x)[0][:, -1, 0].double()  # (n,)
    model.train(was_training)
    p1, _, x1, x2 = _markers(x)
    design = torch.stack([x1, x2, torch.ones_like(x1)], dim=1).double()
    coef = least_squares(design, pred)
    err = (pred - y[:, 0].double()) ** 2
    edges = np.linspace(0, x.shape[1] // 2, bins + 1)
    which = np.clip(np.digitize(p1.numpy(), edges) - 1, 0, bins - 1)
    by_bin = [float(err[torch.from_numpy(which == b)].mean())
              for b in range(bins)]  # fmt: skip
    return {
        "mse": float(err.mean()),
        "coef_x1": float(coef[0]),
        "coef_x2": float(coef[1]),
        "mse_by_p1": by_bin,
    }


def curriculum_run(
    kind="lstm",
    init="default",
    seq_len=100,
    seed=0,
    max_sequences=50_000,
    n_probe=1000,
    bins=5,
    eval_every=25,
    device=None,
) -> dict:
    """Train on the adding problem as the long-range grid does (H = 32,
    Adam 1e-2, batch 64, clip 1) and probe at every evaluation; stop when
    the probe's MSE is below 0.01. Returns a record for the store."""
    spec = task_spec("adding", seq_len)
    set_seed(seed)
    model = RecurrentModel(2, 32, 1, kind=kind,
                           **init_kwargs(init, kind, seq_len))  # fmt: skip
    probe_x, probe_y = adding_problem(n_probe, seq_len, seed=test_seed(seed))
    record = {
        "task": "adding", "kind": kind, "init": init, "seq_len": seq_len,
        "seed": seed, "budget": max_sequences, "solved_at": None,
        "sequences": [], "test_metric": [], "coef_x1": [], "coef_x2": [],
        "mse_by_p1": [], "bin_edges": list(np.linspace(0, seq_len // 2,
                                                       bins + 1)),
    }  # fmt: skip

    def on_eval(trainer):
        probe = adding_probe(model, probe_x.to(trainer.device),
                             probe_y.to(trainer.device), bins)  # fmt: skip
        seen = trainer.history["sequences"][-1]
        record["sequences"].append(seen)
        record["test_metric"].append(probe["mse"])
        for key in ("coef_x1", "coef_x2", "mse_by_p1"):
            record[key].append(probe[key])
        if probe["mse"] < spec.threshold and record["solved_at"] is None:
            record["solved_at"] = seen
        return record["solved_at"] is not None

    train_fresh(
        model, spec.make, max_sequences // 64, seed=seed, batch_size=64,
        eval_every=eval_every, device=device, criterion=spec.criterion,
        learning_rate=1e-2, clip_grad_norm=1.0, on_eval=on_eval,
    )  # fmt: skip
    return record
