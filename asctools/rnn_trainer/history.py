"""The trainer's record: the history lists, early stopping, the summary,
and what it says when a step goes wrong or training is interrupted."""

from __future__ import annotations

import math

__all__ = ["Stopper", "bad_step", "interrupted", "new_history", "summary"]

STEP_KEYS = ("step_loss", "grad_norm", "lr")
EPOCH_KEYS = ("loss", "val_loss", "val_accuracy", "time", "sequences")


def new_history() -> dict[str, list]:
    """Per-step and per-epoch lists, all empty."""
    return {k: [] for k in STEP_KEYS + EPOCH_KEYS}


class Stopper:
    """Early stopping on a monitored loss, and stopping below a target."""

    def __init__(self, config, unit: str):
        self.config, self.unit = config, unit
        self.best, self.wait, self.note = math.inf, 0, ""

    def __call__(self, monitored: float) -> bool:
        """Record this epoch's monitored loss; True = stop now."""
        cfg = self.config
        if monitored < self.best - cfg.min_delta:
            self.best, self.wait = monitored, 0
        else:
            self.wait += 1
        if cfg.patience is not None and self.wait >= cfg.patience:
            self.note = f"; early stop: no gain for {self.wait} {self.unit}s"
            return True
        if cfg.stop_below is not None and monitored < cfg.stop_below:
            self.note = f"; reached loss < {cfg.stop_below:g}"
            return True
        return False


def summary(hist, unit, note) -> str:
    """One line: epochs, steps, sequences, seconds, first → last loss."""
    loss = hist["loss"]
    if not loss:
        return f"0 {unit}s, {len(hist['step_loss'])} steps{note}"
    line = (
        f"{len(loss)} {unit}s, {len(hist['step_loss'])} steps, "
        f"{hist['sequences'][-1]} sequences in {hist['time'][-1]:.1f} s: "
        f"loss {loss[0]:.4g} → {loss[-1]:.4g}"
    )
    if hist["val_loss"]:
        line += f", val loss {hist['val_loss'][-1]:.4g}"
    return line + note


def bad_step(step, loss, norm, overflow) -> str:
    """What went wrong at ``step``, and what the model keeps."""
    last = f"step {step - 1}" if step > 1 else "the initial weights"
    if overflow is not None:
        what = f"the optimizer's update overflowed ({overflow})"
    elif math.isfinite(loss) and math.isfinite(norm):
        what = (
            "the update made the parameters or the optimizer's state "
            f"non-finite (loss {loss:.4g} and gradient norm {norm:.4g} were "
            "finite: is the learning rate too large?)"
        )
    else:
        what = f"non-finite loss {loss} or gradient norm {norm}"
    return (
        f"at step {step} {what}; that step was undone: the model and the "
        f"optimizer keep their state of the last good step ({last})"
    )


def interrupted(hist, unit) -> str:
    """How far an interrupted run got."""
    n, epochs = len(hist["step_loss"]), len(hist["loss"])
    return (
        f"training interrupted during step {n + 1}: the model and the "
        f"optimizer keep their state after the {n} completed steps "
        f"({epochs} complete {unit}s), which trainer.history holds"
    )
