"""Parentheses matching, the older lesson's experiment, over many seeds.

:func:`parentheses_run` repeats chapter 4's experiment: 1,000 training
strings of length 25, the lesson's trainer call (full-batch Adam, learning
rate 0.01, gradient norm clipped at 1) for 100 epochs, and the accuracy on
300 fresh strings, for the lesson's LSTM module and for a tanh RNN
(``asctools.rnn.RNN``) of the same hidden size. The seed draws the data,
the weights and nothing else.
"""

from __future__ import annotations

import torch
from torch import nn

from asctools._validate import check_choice
from asctools.dataset import generate_parentheses_dataset, parentheses_one_hot
from asctools.experiments.driver import test_seed
from asctools.models import LessonLSTM, StepwiseRNN
from asctools.rnn_trainer import RNNTrainer
from asctools.utils import set_seed

__all__ = ["MODELS", "parentheses_accuracy", "parentheses_run"]

MODELS = {"lstm": LessonLSTM, "rnn": StepwiseRNN}


@torch.no_grad()
def parentheses_accuracy(model, x, y) -> float:
    """Fraction of strings whose last-step class is the label, in one
    batched pass from the model's initial state."""
    out, _ = model(x, model.initHidden(len(x)))  # (B, T, K)
    return (out[:, -1].argmax(dim=-1) == y).float().mean().item()


def _strings(n, length, seed):
    s, labels = generate_parentheses_dataset(n, length, length, seed=seed)
    return parentheses_one_hot(s), torch.tensor(labels)


def parentheses_run(kind="lstm", seed=0, length=25, n_train=1000,
                    n_test=300, epochs=100, hidden_size=32,
                    eval_every=10, device="cpu") -> dict:  # fmt: skip
    """Train one model as the lesson did; return a record for the store
    with the test error after every ``eval_every`` epochs."""
    check_choice("kind", kind, MODELS)
    x, y = _strings(n_train, length, seed)
    x_test, y_test = _strings(n_test, length, test_seed(seed))
    set_seed(seed)
    model = MODELS[kind](28, hidden_size, 2)
    record = {
        "task": "parentheses",
        "kind": kind,
        "init": "lesson",
        "seq_len": length,
        "seed": seed,
        "budget": epochs * n_train,
        "solved_at": None,
        "sequences": [],
        "test_metric": [],
    }

    def on_eval(trainer):
        epoch = len(trainer.history["loss"])
        if epoch % eval_every == 0:
            acc = parentheses_accuracy(model, x_test, y_test)
            record["sequences"].append(epoch * n_train)
            record["test_metric"].append(1.0 - acc)  # the test error rate

    trainer = RNNTrainer(model, device=device)
    trainer.train(x, y, criterion=nn.CrossEntropyLoss(), max_epochs=epochs,
                  learning_rate=0.01, clip_grad_norm=1.0,
                  show_progress=False, on_eval=on_eval)  # fmt: skip
    record["train_error"] = 1.0 - parentheses_accuracy(model, x, y)
    record["test_error"] = record["test_metric"][-1]
    return record
