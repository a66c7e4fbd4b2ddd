"""A tiny tanh RNN trained for epochs on a fixed set of first-element
sequences: the first training run of the book, over seeds.

:func:`train_first_element` is the recipe that chapter 1 shows: an
``asctools.rnn.RNN`` with 16 hidden units, 256 training sequences,
mini-batches of 32, Adam 1e-2, clipping at 1, until the mean training
loss of an epoch is below 0.01 or for at most 40 epochs. The seeds follow
:mod:`asctools.experiments.driver`: ``set_seed(seed)`` for the weights,
``batch_seed(seed, 0)`` for the training set, ``seed`` for the shuffling
and ``test_seed(seed)`` for 1000 test sequences. The experiment
``tiny_rnn`` runs it for five seeds at T = 10 and T = 50.
"""

from __future__ import annotations

from torch import nn

from asctools.dataset import first_element_task
from asctools.experiments.driver import batch_seed, test_seed
from asctools.experiments.store import SEEDS
from asctools.models import StepwiseRNN
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import set_seed

__all__ = [
    "TINY_EPOCHS",
    "TINY_LENGTHS",
    "TINY_TRAIN",
    "tiny_configs",
    "tiny_record",
    "train_first_element",
]

TINY_LENGTHS = (10, 50)
TINY_TRAIN = 256  # training sequences, seen once per epoch
TINY_EPOCHS = 40  # the budget: 40 epochs = 10,240 sequences


def train_first_element(seq_len, hidden_size=16, max_epochs=TINY_EPOCHS,
                        seed=0, device=None, on_eval=None):  # fmt: skip
    """Train a tanh RNN on a fixed first-element training set.

    Returns ``(losses, accuracy)``: the mean training loss of every epoch
    and the accuracy on 1000 fresh sequences. ``on_eval(trainer)`` is
    called after every epoch (it may look, not change anything).
    """
    set_seed(seed)  # the initial weights
    model = StepwiseRNN(input_size=1, hidden_size=hidden_size, output_size=2)
    x, y = first_element_task(TINY_TRAIN, seq_len, seed=batch_seed(seed, 0))
    trainer = RNNTrainer(model, device=device)
    losses = trainer.train(
        x, y, criterion=nn.CrossEntropyLoss(), max_epochs=max_epochs,
        learning_rate=0.01, batch_size=32, seed=seed, clip_grad_norm=1.0,
        stop_below=0.01, show_progress=False, on_eval=on_eval,
    )  # fmt: skip
    x_test, y_test = first_element_task(1000, seq_len, seed=test_seed(seed))
    return losses, trainer.evaluate(x_test, y_test)[1]


def tiny_configs() -> list[dict]:
    """Every run of ``tiny_rnn``: T = 10 and 50, five seeds each."""
    return [
        dict(
            task="first_element",
            kind="rnn",
            seq_len=t,
            hidden_size=16,
            seed=seed,
            max_epochs=TINY_EPOCHS,
        )  # fmt: skip
        for t in TINY_LENGTHS
        for seed in SEEDS
    ]


def tiny_record(config: dict, device=None) -> dict:
    """One run of ``tiny_rnn`` as a store record.

    ``train_loss[e]`` is epoch e + 1's mean training loss and
    ``test_metric[e]`` the test error rate after it, ``sequences[e]`` the
    training sequences seen by then; solved = the training loss fell below
    0.01 (the run's stopping rule) within the budget of 40 epochs.
    """
    test = first_element_task(1000, config["seq_len"],
                              seed=test_seed(config["seed"]))  # fmt: skip
    errors = []

    def on_eval(trainer):
        errors.append(1.0 - trainer.evaluate(*test)[1])

    losses, accuracy = train_first_element(
        config["seq_len"], config["hidden_size"], config["max_epochs"],
        config["seed"], device=device, on_eval=on_eval,
    )  # fmt: skip
    solved = losses[-1] < 0.01
    return {
        "config": config,
        **{k: config[k] for k in ("task", "kind", "seq_len", "seed")},
        "init": "default",
        "budget": TINY_TRAIN * config["max_epochs"],
        "epochs": len(losses),
        "solved_at": TINY_TRAIN * len(losses) if solved else None,
        "sequences": [TINY_TRAIN * (e + 1) for e in range(len(losses))],
        "train_loss": [float(v) for v in losses],
        "test_metric": errors,
        "metric": "test error rate",
        "baseline": 0.5,
        "accuracy": accuracy,
    }
