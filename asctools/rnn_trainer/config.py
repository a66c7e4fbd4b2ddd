"""The options that ``train`` and ``train_stream`` share, checked once."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import nn

from asctools._validate import (
    check_callable,
    check_choice,
    check_int,
    check_real,
)

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """How the loop trains; every field is a keyword of ``train`` and of
    ``train_stream``.

    Attributes:
        criterion: ``f(pred, target) -> scalar``; None =
            ``nn.CrossEntropyLoss()``.
        optimizer: a ``torch.optim.Optimizer``; None = ``Adam`` with
            ``learning_rate``, made for each call.
        learning_rate: Adam's step size when ``optimizer`` is None.
        clip_grad_norm: the max global gradient norm; None = no clipping
            (the norm is still recorded).
        patience, min_delta: stop when the validation loss (the training
            loss without ``val_data``) has not improved by more than
            ``min_delta`` for ``patience`` epochs (chunks).
        hidden_init_func: called with no arguments for each batch's
            initial state, instead of ``model.initHidden(B)``; it must fit
            every batch size in use.
        show_progress: a tqdm bar that vanishes when done, then one
            summary line; False prints nothing.
        val_data: ``(x, y)``, evaluated after every epoch (chunk).
        on_nonfinite: ``"raise"`` (FloatingPointError) or ``"stop"``
            (print a message and return) when a step's loss, gradient
            norm, or the parameters or optimizer state after its update
            are NaN/inf (or the update overflows inside the optimizer);
            that step is undone, the model and the optimizer keep the
            state of the last good step.
        stop_below: stop once the monitored loss is below this.
        on_eval: ``f(trainer) -> bool | None``, called after every epoch
            (chunk) once ``history`` holds it; True stops training. An
            experiment observes training through it (a test set, a
            threshold) instead of restarting the loop.
    """

    criterion: object = None
    optimizer: torch.optim.Optimizer | None = None
    learning_rate: float = 0.01
    clip_grad_norm: float | None = 1.0
    patience: int | None = None
    min_delta: float = 0.0
    hidden_init_func: object = None
    show_progress: bool = True
    val_data: tuple | None = None
    on_nonfinite: str = "raise"
    stop_below: float | None = None
    on_eval: object = None

    def __post_init__(self):
        if self.criterion is None:
            self.criterion = nn.CrossEntropyLoss()
        check_callable("criterion", self.criterion, "callable: (pred, y)")
        if self.optimizer is None:
            check_real("learning_rate", self.learning_rate, 0, strict=True)
        elif not isinstance(self.optimizer, torch.optim.Optimizer):
            raise TypeError(
                "optimizer must be a torch.optim.Optimizer or None, got "
                f"{type(self.optimizer).__name__}"
            )
        if self.clip_grad_norm is not None:
            check_real("clip_grad_norm", self.clip_grad_norm, 0, strict=True)
        if self.patience is not None:
            check_int("patience", self.patience, 1)
        check_real("min_delta", self.min_delta, 0)
        if self.stop_below is not None:
            check_real("stop_below", self.stop_below, 0)
        check_choice("on_nonfinite", self.on_nonfinite, ("raise", "stop"))
        for name in ("hidden_init_func", "on_eval"):
            if getattr(self, name) is not None:
                check_callable(name, getattr(self, name), "callable or None")
        if self.val_data is not None and not (
            isinstance(self.val_data, (tuple, list))
            and len(self.val_data) == 2
        ):
            raise TypeError("val_data must be a pair (x, y) or None")
        self.show_progress = bool(self.show_progress)

    @classmethod
    def from_options(cls, caller: str, options: dict) -> TrainConfig:
        """``TrainConfig(**options)``; an unknown name is a TypeError that
        lists the known ones."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(
                f"{caller}() got unexpected keyword argument(s) {unknown}; "
                f"its options are {known}"
            )
        return cls(**options)

    @property
    def max_norm(self) -> float:
        """The clipping threshold; inf = no clipping."""
        if self.clip_grad_norm is None:
            return math.inf
        return float(self.clip_grad_norm)

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """The optimizer given, or a fresh Adam over ``params``."""
        if self.optimizer is not None:
            return self.optimizer
        return torch.optim.Adam(params, lr=float(self.learning_rate))
