"""RNNTrainer: zero_grad → forward → loss → backward → clip → step."""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor, nn

from asctools.rnn_trainer import _data as D
from asctools.rnn_trainer._data import match_targets
from asctools.utils import get_device, progress_bar

__all__ = ["RNNTrainer"]


class RNNTrainer:
    """Trains ``model`` on ``device`` (None = :func:`asctools.get_device`).

    The trainer does not know which model it trains: one with an
    ``initHidden(batch_size)`` method is called as ``model(x, hidden)``,
    any other as ``model(x)``; the output (or its first element, if it is
    a tuple) is (B, T, K) or (B, K). :func:`match_targets` lists the
    target shapes.

    ``history`` (reset by every :meth:`train` / :meth:`train_stream`)
    holds per-step lists ``step_loss``, ``grad_norm`` (the global gradient
    norm *before* clipping, as ``clip_grad_norm_`` returns it) and ``lr``,
    and per-epoch lists ``loss`` (mean over the epoch's sequences),
    ``val_loss``, ``val_accuracy`` (NaN unless the targets are class
    indices), ``time`` (seconds since the call began) and ``sequences``
    (training sequences seen so far). A step that was not applied
    (non-finite loss or gradient) is still recorded in the per-step lists.
    """

    def __init__(self, model: nn.Module, device=None):
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be an nn.Module, got {type(model).__name__}"
            )
        self.device = get_device(device)
        self.model = model.to(self.device)
        self.history = D.new_history()

    def train(
        self,
        input_tensors,
        targets,
        criterion=None,
        optimizer=None,
        max_epochs=100,
        learning_rate=0.01,
        batch_size=None,
        clip_grad_norm=1.0,
        patience=None,
        min_delta=0.0,
        hidden_init_func=None,
        show_progress=True,
        val_data=None,
        on_nonfinite="raise",
        seed=None,
        stop_below=None,
    ) -> list[float]:
        """Train for up to ``max_epochs`` passes over a fixed data set.

        Args:
            input_tensors: float (B, T, D), or a list of (T, D) or
                (b, T, D) tensors (stacked / concatenated).
            targets: a tensor or a list; shapes in :func:`match_targets`.
            criterion: ``f(pred, target) -> scalar``; default
                ``nn.CrossEntropyLoss()``.
            optimizer: default ``Adam(lr=learning_rate)``, made per call.
            batch_size: None = full batch; else mini-batches reshuffled
                every epoch by a generator seeded with ``seed`` (None: a
                seed drawn from torch's global generator).
            clip_grad_norm: the max global norm; None = no clipping.
            patience, min_delta: stop when the validation loss (the
                training loss without ``val_data``) has not improved by
                more than ``min_delta`` for ``patience`` epochs.
            hidden_init_func: called with no arguments for each batch's
                initial hidden state (instead of ``model.initHidden(B)``);
                it must fit every batch size in use.
            show_progress: a tqdm bar that vanishes when done, then one
                summary line; False prints nothing.
            val_data: ``(x, y)``, evaluated after every epoch.
            on_nonfinite: a step whose loss or gradient norm is NaN/inf
                is never applied, so the model keeps the weights of the
                last good step; then ``"raise"`` raises FloatingPointError,
                ``"stop"`` prints a message and returns.
            seed: seeds the mini-batch shuffling.
            stop_below: stop once the monitored loss is below this.

        Returns:
            The per-epoch mean training losses (``history["loss"]``).
        """
        x = D.as_inputs(input_tensors, "input_tensors").to(self.device)
        y = D.as_targets(targets, len(x), "targets").to(self.device)
        epochs = D.check_int("max_epochs", max_epochs)
        gen = torch.Generator()
        if batch_size is not None:
            D.check_int("batch_size", batch_size)
            gen.manual_seed(_draw_seed() if seed is None else seed)
        cfg = self._config(
            criterion, optimizer, learning_rate, clip_grad_norm, patience,
            min_delta, hidden_init_func, show_progress, on_nonfinite,
            stop_below, val_data, batch_size,
        )  # fmt: skip
        batches = (D.shuffled(x, y, batch_size, gen) for _ in range(epochs))
        return self._fit(batches, epochs, cfg, "epoch")

    def train_stream(
        self,
        batch_fn,
        steps,
        criterion=None,
        optimizer=None,
        learning_rate=0.01,
        clip_grad_norm=1.0,
        eval_every=100,
        patience=None,
        min_delta=0.0,
        hidden_init_func=None,
        show_progress=True,
        val_data=None,
        on_nonfinite="raise",
        stop_below=None,
    ) -> list[float]:
        """Train on fresh data: step s uses ``batch_fn(s) -> (x, y)``.

        Long-range tasks count their cost in *sequences seen* (Hochreiter
        & Schmidhuber 1997), and fresh batches rule out memorising. The
        loop body, the arguments and ``history`` are those of
        :meth:`train`, with one "epoch" = ``eval_every`` steps:
        ``history["loss"]`` holds each chunk's mean loss, ``val_*`` the
        validation after it, ``sequences`` the sequences seen so far.
        Early stopping and ``stop_below`` act after each chunk.

        Returns:
            The per-chunk mean training losses.
        """
        if not callable(batch_fn):
            raise TypeError("batch_fn must be callable: step -> (x, y)")
        n = D.check_int("steps", steps)
        every = D.check_int("eval_every", eval_every)
        cfg = self._config(
            criterion, optimizer, learning_rate, clip_grad_norm, patience,
            min_delta, hidden_init_func, show_progress, on_nonfinite,
            stop_below, val_data, None,
        )  # fmt: skip
        chunks = (
            (self._fresh(batch_fn, s) for s in range(c, min(c + every, n)))
            for c in range(0, n, every)
        )
        return self._fit(chunks, math.ceil(n / every), cfg, "chunk")

    @torch.no_grad()
    def evaluate(
        self, x, y, criterion=None, batch_size=None, hidden_init_func=None
    ) -> tuple[float, float]:
        """``(mean loss, accuracy)`` on ``(x, y)`` in eval mode; accuracy
        is NaN unless ``y`` holds class indices."""
        x = D.as_inputs(x, "x").to(self.device)
        y = D.as_targets(y, len(x), "y").to(self.device)
        criterion = nn.CrossEntropyLoss() if criterion is None else criterion
        was_training = self.model.training
        self.model.eval()
        total = torch.zeros(2, device=self.device)  # Σ loss·b, Σ acc·b
        step = batch_size or len(x)
        for i in range(0, len(x), step):
            xb, yb = x[i : i + step], y[i : i + step]
            pred, target = match_targets(
                self._forward(xb, hidden_init_func), yb
            )
            total[0] += criterion(pred, target) * len(xb)
            if not target.is_floating_point():
                hit = (pred.argmax(-1) == target).float().mean()
                total[1] += hit * len(xb)
        self.model.train(was_training)
        loss, acc = (total / len(x)).tolist()  # one device sync
        return loss, (math.nan if y.is_floating_point() else acc)

    # ---- the loop, shared by train and train_stream ----------------------

    def _fit(self, epochs, n_epochs, cfg, unit) -> list[float]:
        """Run the epochs (iterables of (x, y) batches); fill history."""
        self.history = hist = D.new_history()
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self.model.train()
        stop, start, seen = D.Stopper(cfg, unit), time.perf_counter(), 0
        show = cfg.show_progress
        # leave=False: the bar vanishes, one summary line stays. Not passing
        # disable when shown lets TQDM_DISABLE=1 silence it (a book build).
        quiet = {} if show else {"disable": True}
        with progress_bar(
            total=n_epochs, unit=unit, leave=False, **quiet
        ) as bar:
            for batches in epochs:
                done = self._epoch(batches, cfg)  # (mean loss, count)
                if done is None:
                    return self._nonfinite(cfg)
                seen += done[1]
                monitored = self._end_epoch(done[0], seen, start, cfg)
                bar.set_postfix_str(f"loss {monitored:.4g}", refresh=False)
                bar.update(1)
                if stop(monitored):
                    break
        if show:
            print(D.summary(hist, unit, stop.note))
        return list(hist["loss"])

    def _epoch(self, batches, cfg) -> tuple[float, int] | None:
        """Steps over the batches: (mean loss, sequences), None on NaN."""
        total, count = 0.0, 0
        for x, y in batches:
            loss = self._step(x, y, cfg)
            if loss is None:
                return None
            total, count = total + loss * len(x), count + len(x)
        return total / count, count

    def _step(self, x, y, cfg) -> float | None:
        """One update; returns the loss, or None (and no update) if the
        loss or the gradient norm is not finite."""
        opt = cfg.optimizer
        opt.zero_grad(set_to_none=True)
        pred, target = match_targets(self._forward(x, cfg.hidden_init_func), y)
        loss = cfg.criterion(pred, target)
        if not (isinstance(loss, Tensor) and loss.dim() == 0):
            raise ValueError("criterion must return a scalar tensor")
        loss.backward()
        # g ← g · min(1, max_norm / ‖g‖); the return value is ‖g‖ before
        norm = nn.utils.clip_grad_norm_(self._params, cfg.max_norm)
        pair = torch.stack((loss.detach().float(), norm.float()))
        loss_f, norm_f = pair.tolist()  # the step's one host-device sync
        self.history["step_loss"].append(loss_f)
        self.history["grad_norm"].append(norm_f)
        self.history["lr"].append(opt.param_groups[0]["lr"])
        if not (math.isfinite(loss_f) and math.isfinite(norm_f)):
            opt.zero_grad(set_to_none=True)
            return None
        opt.step()
        return loss_f

    def _forward(self, x, hidden_init_func) -> Tensor:
        """``model(x, hidden)`` for step-wise models, else ``model(x)``."""
        model = self.model
        if hidden_init_func is not None:
            out = model(x, D.to_device(hidden_init_func(), self.device))
        elif callable(getattr(model, "initHidden", None)):
            hidden = model.initHidden(x.shape[0])
            out = model(x, D.to_device(hidden, self.device))
        else:
            out = model(x)
        if isinstance(out, (tuple, list)):
            out = out[0]  # (output, state) → output
        if not isinstance(out, Tensor):
            raise TypeError("the model must return a Tensor or a tuple")
        return out

    def _end_epoch(self, loss, seen, start, cfg) -> float:
        """Record the epoch; return the loss that early stopping watches."""
        hist = self.history
        hist["loss"].append(loss)
        hist["sequences"].append(seen)
        if cfg.val_data is not None:
            loss, acc = self.evaluate(
                *cfg.val_data, cfg.criterion, cfg.eval_batch,
                cfg.hidden_init_func,
            )  # fmt: skip
            hist["val_loss"].append(loss)
            hist["val_accuracy"].append(acc)
        hist["time"].append(time.perf_counter() - start)
        return loss

    def _nonfinite(self, cfg) -> list[float]:
        hist = self.history
        msg = (
            f"non-finite loss {hist['step_loss'][-1]} or gradient norm "
            f"{hist['grad_norm'][-1]} at step {len(hist['step_loss'])}; "
            "that step was not applied: the model keeps the weights of the "
            "last good step"
        )
        if cfg.on_nonfinite == "raise":
            raise FloatingPointError(msg)
        print(f"training stopped: {msg}")
        return list(hist["loss"])

    def _fresh(self, batch_fn, step):
        """``batch_fn(step)``, checked and moved to the device."""
        out = batch_fn(step)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("batch_fn(step) must return a pair (x, y)")
        x = D.as_inputs(out[0], "batch_fn's x").to(self.device)
        y = D.as_targets(out[1], len(x), "targets").to(self.device)
        return x, y

    def _config(self, *args) -> D.Config:
        *shared, val_data, eval_batch = args
        params = [p for p in self.model.parameters() if p.requires_grad]
        cfg = D.make_config(params, *shared)
        cfg.eval_batch = eval_batch
        if val_data is not None:
            if not (
                isinstance(val_data, (tuple, list)) and len(val_data) == 2
            ):
                raise TypeError("val_data must be a pair (x, y) or None")
            x = D.as_inputs(val_data[0], "val_data").to(self.device)
            y = D.as_targets(val_data[1], len(x), "val_data")
            cfg.val_data = (x, y.to(self.device))
        return cfg


def _draw_seed() -> int:
    """A seed from torch's global generator (reproducible after set_seed)."""
    return int(torch.randint(0, 2**62, (1,)).item())
