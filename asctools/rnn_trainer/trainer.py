"""RNNTrainer: zero_grad → forward → loss → backward → clip → step."""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor, nn

from asctools._validate import check_callable, check_int, check_seed
from asctools.models.protocol import initial_state, output_of
from asctools.rnn_trainer.config import TrainConfig
from asctools.rnn_trainer.guard import LastGood
from asctools.rnn_trainer.history import (
    Stopper,
    bad_step,
    interrupted,
    new_history,
    summary,
)
from asctools.rnn_trainer.targets import (
    LabelCheck,
    as_inputs,
    as_targets,
    check_labels,
    match_targets,
)
from asctools.utils import get_device, map_state, progress_bar

__all__ = ["RNNTrainer"]


class RNNTrainer:
    """Trains ``model`` on ``device`` (None = :func:`asctools.get_device`).

    The trainer does not know which model it trains: it calls
    ``model(x, state)`` with the state from ``hidden_init_func()`` or, for
    a model of the original course's contract, ``model.initHidden(B)``,
    and ``model(x)`` otherwise (:mod:`asctools.models.protocol`). The
    output (or its first element, if it is a tuple) is (B, T, K) or
    (B, K); :func:`match_targets` lists the target shapes.

    ``history`` (reset by every :meth:`train` / :meth:`train_stream`)
    holds per-step lists ``step_loss``, ``grad_norm`` (the global gradient
    norm *before* clipping, as ``clip_grad_norm_`` returns it) and ``lr``,
    and per-epoch lists ``loss`` (mean over the epoch's sequences),
    ``val_loss``, ``val_accuracy`` (NaN unless the targets are class
    indices), ``time`` (seconds since the call began) and ``sequences``
    (training sequences seen so far).

    A step whose loss, gradient norm or resulting parameters (or optimizer
    state) are not finite is undone: the model and the optimizer keep the
    state of the last good step, the bad step is still recorded in the
    per-step lists, and ``on_nonfinite`` says whether to raise or stop. A
    ``KeyboardInterrupt`` (Colab's stop button) in the middle of a step
    undoes that step too: the model keeps the weights of the last
    completed step, ``history`` holds every completed step (and every
    complete epoch), a line says how far training got, and the
    KeyboardInterrupt is re-raised, so that a loop over runs stops too.
    """

    def __init__(self, model: nn.Module, device=None):
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be an nn.Module, got {type(model).__name__}"
            )
        self.device = get_device(device)
        self.model = model.to(self.device)
        self.history = new_history()

    def train(
        self,
        input_tensors,
        targets,
        criterion=None,
        optimizer=None,
        max_epochs=100,
        learning_rate=0.01,
        batch_size=None,
        seed=None,
        **options,
    ) -> list[float]:
        """Train for up to ``max_epochs`` passes over a fixed data set.

        Args:
            input_tensors: float (B, T, D), or a list of (T, D) or
                (b, T, D) tensors (stacked / concatenated).
            targets: a tensor or a list; shapes in :func:`match_targets`.
            criterion, optimizer, learning_rate: see :class:`TrainConfig`.
            batch_size: None = full batch; else mini-batches reshuffled
                every epoch by a generator seeded with ``seed`` (None: a
                seed drawn from torch's global generator). A ``seed``
                without ``batch_size`` is a ValueError: full-batch
                training draws nothing (seed the model's own randomness,
                such as dropout, with :func:`asctools.set_seed`).
            options: the other fields of :class:`TrainConfig`
                (``clip_grad_norm=1.0``, ``patience``, ``min_delta``,
                ``hidden_init_func``, ``show_progress``, ``val_data``,
                ``on_nonfinite``, ``stop_below``, ``on_eval``).

        Returns:
            The per-epoch mean training losses (``history["loss"]``).

        Raises:
            TargetShapeError: the targets do not fit the model's output.
            ValueError: empty inputs; class indices outside [0, K) (for
                torch's CrossEntropyLoss/NLLLoss, before the first step).
            FloatingPointError: a non-finite step with
                ``on_nonfinite="raise"`` (the default).
            KeyboardInterrupt: re-raised after undoing the step it hit.
        """
        config = TrainConfig.from_options(
            "train", dict(options, criterion=criterion, optimizer=optimizer,
                          learning_rate=learning_rate),
        )  # fmt: skip
        x = as_inputs(input_tensors, "input_tensors").to(self.device)
        y = as_targets(targets, len(x), "targets").to(self.device)
        epochs = check_int("max_epochs", max_epochs, 1)
        seed = check_seed("seed", seed)
        if seed is not None and batch_size is None:
            raise ValueError(
                "seed orders the mini-batches and needs batch_size; "
                f"full-batch training draws nothing, got seed={seed} with "
                "batch_size=None (asctools.set_seed seeds the model's own "
                "randomness, e.g. dropout)"
            )
        gen = torch.Generator()
        if batch_size is not None:
            check_int("batch_size", batch_size, 1)
            gen.manual_seed(_draw_seed() if seed is None else seed)
        batches = (_shuffled(x, y, batch_size, gen) for _ in range(epochs))
        return self._fit(batches, epochs, config, "epoch", batch_size, y)

    def train_stream(
        self, batch_fn, steps, eval_every=100, **options
    ) -> list[float]:
        """Train on fresh data: step s uses ``batch_fn(s) -> (x, y)``.

        Long-range tasks count their cost in *sequences seen* (Hochreiter
        & Schmidhuber 1997), and fresh batches rule out memorising. The
        loop body, the options (:class:`TrainConfig`) and ``history`` are
        those of :meth:`train`, with one "epoch" = ``eval_every`` steps:
        ``history["loss"]`` holds each chunk's mean loss, ``val_*`` the
        validation after it, ``sequences`` the sequences seen so far.
        Early stopping, ``stop_below`` and ``on_eval`` act after each
        chunk.

        Returns:
            The per-chunk mean training losses.
        """
        check_callable("batch_fn", batch_fn, "callable: step -> (x, y)")
        n = check_int("steps", steps, 1)
        every = check_int("eval_every", eval_every, 1)
        config = TrainConfig.from_options("train_stream", options)
        chunks = (
            (self._fresh(batch_fn, s) for s in range(c, min(c + every, n)))
            for c in range(0, n, every)
        )
        return self._fit(chunks, math.ceil(n / every), config, "chunk")

    @torch.no_grad()
    def evaluate(
        self, x, y, criterion=None, batch_size=None, hidden_init_func=None
    ) -> tuple[float, float]:
        """``(mean loss, accuracy)`` on ``(x, y)`` in eval mode; accuracy
        is NaN unless ``y`` holds class indices."""
        x = as_inputs(x, "x").to(self.device)
        y = as_targets(y, len(x), "y").to(self.device)
        criterion = nn.CrossEntropyLoss() if criterion is None else criterion
        was_training = self.model.training
        self.model.eval()
        total = torch.zeros(2, device=self.device)  # Σ loss·b, Σ acc·b
        step = batch_size or len(x)
        try:
            for i in range(0, len(x), step):
                xb, yb = x[i : i + step], y[i : i + step]
                pred, target = match_targets(
                    self._forward(xb, hidden_init_func), yb
                )
                if not target.is_floating_point():
                    check_labels(target, pred.shape[-1], criterion, "y")
                total[0] += criterion(pred, target) * len(xb)
                if not target.is_floating_point():
                    hit = (pred.argmax(-1) == target).float().mean()
                    total[1] += hit * len(xb)
        finally:
            self.model.train(was_training)
        loss, acc = (total / len(x)).tolist()  # one device sync
        return loss, (math.nan if y.is_floating_point() else acc)

    # ---- the loop, shared by train and train_stream ----------------------

    def _fit(self, epochs, n_epochs, cfg, unit, eval_batch=None, labels=None):
        """Run the epochs (iterables of (x, y) batches); fill history.
        ``labels``: all targets of a fixed data set, checked once."""
        self.history = new_history()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self._params, self._optimizer = params, cfg.make_optimizer(params)
        self._labels = LabelCheck(labels)
        val = self._val_data(cfg.val_data)
        self.model.train()
        self._guard = LastGood(self._optimizer)
        try:
            return self._loop(epochs, n_epochs, cfg, unit, eval_batch, val)
        except KeyboardInterrupt:
            self._guard.restore()  # undo a step it may have hit half-way
            self.model.zero_grad(set_to_none=True)
            print(interrupted(self.history, unit))
            raise

    def _loop(self, epochs, n_epochs, cfg, unit, eval_batch, val):
        hist = self.history
        stop, start, seen = Stopper(cfg, unit), time.perf_counter(), 0
        # leave=False: the bar vanishes, one summary line stays. Not passing
        # disable when shown lets TQDM_DISABLE=1 silence it (a book build).
        quiet = {} if cfg.show_progress else {"disable": True}
        with progress_bar(
            total=n_epochs, unit=unit, leave=False, **quiet
        ) as bar:
            for batches in epochs:
                done = self._epoch(batches, cfg)  # (mean loss, count)
                if isinstance(done, str):
                    return self._nonfinite(cfg, done)
                seen += done[1]
                monitored = self._end_epoch(done[0], seen, start, cfg, val,
                                            eval_batch)  # fmt: skip
                bar.set_postfix_str(f"loss {monitored:.4g}", refresh=False)
                bar.update(1)
                if cfg.on_eval is not None and cfg.on_eval(self):
                    stop.note = "; stopped by on_eval"
                    break
                if stop(monitored):
                    break
        if cfg.show_progress:
            print(summary(hist, unit, stop.note))
        return list(hist["loss"])

    def _epoch(self, batches, cfg) -> tuple[float, int] | str:
        """Steps over the batches: (mean loss, sequences), or the message
        of a step that was undone."""
        total, count = 0.0, 0
        for x, y in batches:
            loss = self._step(x, y, cfg)
            if isinstance(loss, str):
                return loss
            total, count = total + loss * len(x), count + len(x)
        return total / count, count

    def _step(self, x, y, cfg) -> float | str:
        """One update; returns the loss, or a message if the step was bad
        (non-finite loss, gradient norm or new state): then it is undone.

        The update is applied, then judged with one host-device sync
        (loss, norm, and one finite check of the new state), and rolled
        back from the last good state if needed (:mod:`.guard`)."""
        opt = self._optimizer
        opt.zero_grad(set_to_none=True)
        pred, target = match_targets(self._forward(x, cfg.hidden_init_func), y)
        self._labels(pred, target, cfg.criterion)
        loss = cfg.criterion(pred, target)
        if not (isinstance(loss, Tensor) and loss.dim() == 0):
            raise ValueError("criterion must return a scalar tensor")
        loss.backward()
        # g ← g · min(1, max_norm / ‖g‖); the return value is ‖g‖ before
        norm = nn.utils.clip_grad_norm_(self._params, cfg.max_norm)
        overflow = self._guard.step()
        loss_f, norm_f, ok = self._guard.judge(loss.detach(), norm)
        self.history["step_loss"].append(loss_f)
        self.history["grad_norm"].append(norm_f)
        self.history["lr"].append(opt.param_groups[0]["lr"])
        if ok and overflow is None and math.isfinite(loss_f + norm_f):
            self._guard.accept()
            return loss_f
        self._guard.restore()
        opt.zero_grad(set_to_none=True)
        step = len(self.history["step_loss"])
        return bad_step(step, loss_f, norm_f, overflow)

    def _forward(self, x, hidden_init_func) -> Tensor:
        """The model's output on x, from the protocol's initial state."""
        if hidden_init_func is not None:
            state = hidden_init_func()
        else:
            state = initial_state(self.model, x.shape[0])
        if state is None:
            return output_of(self.model(x))
        to_device = lambda s: s.to(self.device)  # noqa: E731
        return output_of(self.model(x, map_state(to_device, state)))

    def _end_epoch(self, loss, seen, start, cfg, val, eval_batch) -> float:
        """Record the epoch; return the loss that early stopping watches."""
        hist = self.history
        hist["loss"].append(loss)
        hist["sequences"].append(seen)
        if val is not None:
            loss, acc = self.evaluate(
                *val, cfg.criterion, eval_batch, cfg.hidden_init_func
            )
            hist["val_loss"].append(loss)
            hist["val_accuracy"].append(acc)
        hist["time"].append(time.perf_counter() - start)
        return loss

    def _nonfinite(self, cfg, msg) -> list[float]:
        if cfg.on_nonfinite == "raise":
            raise FloatingPointError(msg)
        print(f"training stopped: {msg}")
        return list(self.history["loss"])

    def _fresh(self, batch_fn, step):
        """``batch_fn(step)``, checked and moved to the device."""
        out = batch_fn(step)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("batch_fn(step) must return a pair (x, y)")
        x = as_inputs(out[0], "batch_fn's x").to(self.device)
        y = as_targets(out[1], len(x), "targets").to(self.device)
        return x, y

    def _val_data(self, val_data):
        """``val_data`` checked and moved to the device (or None)."""
        if val_data is None:
            return None
        x = as_inputs(val_data[0], "val_data").to(self.device)
        y = as_targets(val_data[1], len(x), "val_data")
        return x, y.to(self.device)


def _shuffled(x, y, batch_size, gen):
    """The epoch's batches: all at once, or a fresh permutation cut up."""
    n = len(x)
    if batch_size is None or batch_size >= n:
        yield x, y
        return
    order = torch.randperm(n, generator=gen).to(x.device)
    for i in range(0, n, batch_size):
        idx = order[i : i + batch_size]
        yield x[idx], y[idx]


def _draw_seed() -> int:
    """A seed from torch's global generator (reproducible after set_seed)."""
    return int(torch.randint(0, 2**62, (1,)).item())
