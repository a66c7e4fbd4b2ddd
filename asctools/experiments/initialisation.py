"""How the starting gate biases decide what a gated network can learn.

:data:`INITS` names the initialisations the long-range experiments
compare: torch's default, a forget bias of 1 (Jozefowicz et al. 2015) or
3, a forget bias of 3 with the input gates closed at −3 (the remedy of
Hochreiter & Schmidhuber 1997 against internal state drift), and chrono
(Tallec & Ollivier 2018). :func:`forget_bias_runs` trains LSTMs that
differ only in their starting forget-gate bias on the first-element task;
:func:`steps_to_learn` reads off when each learning curve crossed a
threshold; :func:`forget_bias_record` is one run of the stored experiment
``forget_bias`` (b_f = 0 against 1, five seeds).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from asctools._validate import check_choice, check_int, is_real
from asctools.dataset import first_element_task
from asctools.experiments.driver import test_seed, train_fresh
from asctools.experiments.store import SEEDS
from asctools.models import RecurrentModel
from asctools.utils import set_seed

__all__ = [
    "INITS",
    "INITS_OF",
    "forget_bias_configs",
    "forget_bias_record",
    "forget_bias_runs",
    "init_kwargs",
    "steps_to_learn",
]


def forget_bias_runs(
    forget_biases=(0.0, 1.0),
    seeds=(0, 1, 2),
    seq_len=20,
    steps=200,
    hidden_size=16,
    batch_size=32,
    learning_rate=1e-2,
    clip_grad_norm=1.0,
    device="cpu",
) -> dict[float, np.ndarray]:
    """Train LSTMs on the first-element task that differ only in their
    starting forget-gate bias b_f = b_if + b_hf.

    For every seed, each bias gets the same initial weights (apart from
    b_f) and the same fresh batches. Adam, cross-entropy at the last step.
    ``device``: where to train (None = :func:`asctools.get_device`); these
    small models train fastest on the CPU.

    Returns:
        ``{forget_bias: float64 array (len(seeds), steps)}`` of per-step
        training losses.
    """
    steps = check_int("steps", steps, 1)
    curves = {}
    for fb in forget_biases:
        if not is_real(fb):
            raise TypeError(f"forget_biases must hold numbers, got {fb!r}")
        rows = []
        for seed in seeds:
            set_seed(seed)  # same initial weights for every bias
            model = RecurrentModel(1, hidden_size, 2, forget_bias=fb)
            trainer = train_fresh(  # the same batches for every bias
                model, lambda n, s: first_element_task(n, seq_len, seed=s),
                steps, seed=seed, batch_size=batch_size, eval_every=steps,
                device=device, criterion=nn.CrossEntropyLoss(),
                learning_rate=learning_rate, clip_grad_norm=clip_grad_norm,
            )  # fmt: skip
            rows.append(trainer.history["step_loss"])
        curves[float(fb)] = np.asarray(rows, dtype=np.float64)
    return curves


def steps_to_learn(losses, threshold=0.1, window=10) -> int | None:
    """The first step at which the mean loss of the last ``window`` steps
    is below ``threshold`` (1-based), or None if it never is.

    ``losses``: a 1-D sequence of per-step losses.
    """
    arr = np.asarray(losses, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"losses must be 1-D, got shape {arr.shape}")
    w = check_int("window", window, 1)
    if len(arr) < w:
        return None
    running = np.convolve(arr, np.ones(w) / w, mode="valid")  # (n − w + 1,)
    below = np.flatnonzero(running < threshold)
    return int(below[0]) + w if below.size else None


# name -> (label, RecurrentModel keyword arguments for a task of length T)
INITS = {
    "default": ("torch's default", lambda t: {}),
    "forget1": ("forget bias 1", lambda t: {"forget_bias": 1.0}),
    "forget3": ("forget bias 3", lambda t: {"forget_bias": 3.0}),
    "forget3+input-3": (
        "forget bias 3, input bias −3",
        lambda t: {"forget_bias": 3.0, "input_bias": -3.0},
    ),
    "chrono": ("chrono", lambda t: {"chrono": t}),
}
INITS_OF = {  # the initialisations each kind of network has
    "rnn": ("default",),
    "lstm": tuple(INITS),
    "gru": ("default", "chrono"),
}


def init_kwargs(init: str, kind: str, seq_len: int) -> dict:
    """``RecurrentModel`` keyword arguments of initialisation ``init``
    (a key of :data:`INITS`) for a ``kind`` network on lags up to
    ``seq_len``; chrono prepares for T_max = ``seq_len``."""
    check_choice("init", init, INITS)
    if init not in INITS_OF[kind]:
        raise ValueError(
            f"init {init!r} is not defined for kind {kind!r}; it has "
            f"{INITS_OF[kind]}"
        )
    return INITS[init][1](seq_len)


# --- the stored experiment: forget bias 0 against 1, five seeds --------

FORGET_BIAS_STEPS = 300  # the budget: 300 steps of 32 = 9,600 sequences


def forget_bias_configs() -> list[dict]:
    """Every run of ``forget_bias``: b_f = 0 and 1 × five seeds, the
    settings of :func:`forget_bias_runs` at T = 20."""
    return [
        dict(
            task="first_element",
            kind="lstm",
            forget_bias=fb,
            seq_len=20,
            hidden_size=16,
            batch_size=32,
            steps=FORGET_BIAS_STEPS,
            seed=seed,
        )  # fmt: skip
        for fb in (0.0, 1.0)
        for seed in SEEDS
    ]


def forget_bias_record(config: dict, device="cpu") -> dict:
    """One run of :func:`forget_bias_runs` as a store record.

    The same weights, batches and updates as ``forget_bias_runs`` with
    the same seed; tested on the way (500 fixed sequences, every 25
    steps). Solved as in chapter 7: the mean training loss of 10 steps
    below 0.1 (:func:`steps_to_learn`).
    """
    c = config
    set_seed(c["seed"])
    model = RecurrentModel(1, c["hidden_size"], 2,
                           forget_bias=c["forget_bias"])  # fmt: skip
    test = first_element_task(500, c["seq_len"], seed=test_seed(c["seed"]))
    seen, errors = [], []

    def on_eval(trainer):
        seen.append(trainer.history["sequences"][-1])
        errors.append(1.0 - trainer.evaluate(*test)[1])

    trainer = train_fresh(
        model, lambda n, s: first_element_task(n, c["seq_len"], seed=s),
        c["steps"], seed=c["seed"], batch_size=c["batch_size"],
        eval_every=25, device=device, criterion=nn.CrossEntropyLoss(),
        learning_rate=1e-2, clip_grad_norm=1.0, on_eval=on_eval,
    )  # fmt: skip
    loss = trainer.history["step_loss"]
    step = steps_to_learn(loss, threshold=0.1)
    return {
        "config": config,
        **{k: c[k] for k in ("task", "kind", "seq_len", "seed")},
        "init": f"forget bias {c['forget_bias']:g}",
        "forget_bias": c["forget_bias"],
        "budget": c["steps"] * c["batch_size"],
        "solved_at": None if step is None else step * c["batch_size"],
        "sequences": seen,
        "test_metric": errors,
        "metric": "test error rate",
        "baseline": 0.5,
        "threshold": 0.1,
        "step_loss": [float(v) for v in loss],
    }
