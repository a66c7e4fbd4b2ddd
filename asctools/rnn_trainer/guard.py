"""The state after the last good step, so that a bad one can be undone.

A step is applied, then judged: its loss, its gradient norm, and every
parameter and optimizer-state entry after the update must be finite. The
state is copied after each step into one flat buffer per (device, dtype),
and the finite check is one ``abs().amax()`` of that buffer (NaN and ±inf
propagate through a max), read back with the loss and the norm in the
step's one host-device sync. The copy is also what a later bad step (or a
KeyboardInterrupt in the middle of one) is undone from: the parameters
*and* the optimizer's state (Adam's moments and step count), so that
training can go on from there.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["LastGood"]


def _copy_all(dst: list[Tensor], src: list[Tensor]) -> None:
    """``d.copy_(s)`` for each pair, in one call where torch has it."""
    foreach = getattr(torch, "_foreach_copy_", None)
    if foreach is not None:
        foreach(dst, src)
    else:  # pragma: no cover  (torch without _foreach_copy_)
        for d, s in zip(dst, src, strict=True):
            d.copy_(s)


class _Copy:
    """One copy of the tensors, grouped by (device, dtype) into flat
    buffers; ``states`` are the optimizer's per-parameter dicts (shallow)
    at the time of the copy, None where a parameter had no state yet."""

    def __init__(self, groups: dict):
        self.shapes = {k: [t.shape for t in ts] for k, ts in groups.items()}
        self.flats, self.views = {}, {}
        for (device, dtype), ts in groups.items():
            sizes = [t.numel() for t in ts]
            flat = torch.empty(sum(sizes), device=device, dtype=dtype)
            self.flats[(device, dtype)] = flat
            self.views[(device, dtype)] = [
                v.view(t.shape)
                for v, t in zip(flat.split(sizes), ts, strict=True)
            ]
        self.groups, self.states = groups, None

    def fits(self, groups: dict) -> bool:
        return self.shapes == {
            k: [t.shape for t in ts] for k, ts in groups.items()
        }

    def fill(self, groups: dict, states: list) -> None:
        with torch.no_grad():
            for key, ts in groups.items():
                _copy_all(self.views[key], ts)
        self.groups, self.states = groups, states

    def largest(self, device) -> Tensor:
        """max |entry| over all buffers, on ``device``: NaN or inf when
        any entry is not finite."""
        peaks = [
            f.abs().amax().float().to(device) for f in self.flats.values()
        ]
        return peaks[0] if len(peaks) == 1 else torch.stack(peaks).amax()


class LastGood:
    """Parameters and optimizer state after the last good step.

    ``LastGood(optimizer)`` copies them now (before the first step).
    :meth:`step` applies the optimizer's update; :meth:`judge` copies the
    state after it and returns the loss, the norm and whether the state is
    finite; :meth:`accept` keeps that copy as the last good state,
    :meth:`restore` puts the last good one back.
    """

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.params = [p for g in optimizer.param_groups for p in g["params"]]
        self.saved = self._copy(None)
        self.pending = None  # the copy being judged; the spare one after

    def _copy(self, buffer: _Copy | None) -> _Copy:
        """The current state, copied into ``buffer`` when it fits."""
        opt = self.optimizer
        states = [
            dict(opt.state[p]) if p in opt.state else None for p in self.params
        ]
        tensors = self.params + [
            v for s in states if s for v in s.values() if isinstance(v, Tensor)
        ]
        groups: dict = {}  # (device, dtype) -> tensors, in order
        for t in tensors:
            groups.setdefault((t.device, t.dtype), []).append(t)
        if buffer is None or not buffer.fits(groups):
            buffer = _Copy(groups)
        buffer.fill(groups, states)
        return buffer

    def step(self) -> RuntimeError | None:
        """``optimizer.step()``. An overflow inside it (a learning rate too
        large for the dtype) is returned, to be undone like a non-finite
        step; any other error undoes the step and propagates."""
        try:
            self.optimizer.step()
        except RuntimeError as err:
            if "overflow" not in str(err):
                self.restore()
                raise
            return err
        return None

    def judge(self, loss: Tensor, norm: Tensor) -> tuple[float, float, bool]:
        """After a step: ``(loss, norm, state finite)`` in one sync."""
        self.pending = self._copy(self.pending)
        peak = self.pending.largest(loss.device)
        values = torch.stack((loss.float(), norm.float(), peak))
        loss_f, norm_f, peak_f = values.tolist()  # the step's one sync
        return loss_f, norm_f, math.isfinite(peak_f)

    def accept(self) -> None:
        """The judged step was good: its copy is the last good state (and
        the old one the buffer of the next copy)."""
        self.saved, self.pending = self.pending, self.saved

    def restore(self) -> None:
        """Put the last good parameters and optimizer state back."""
        saved, values = self.saved, {}  # id(tensor) -> its saved value
        for key, ts in saved.groups.items():
            for t, v in zip(ts, saved.views[key], strict=True):
                values[id(t)] = v
        with torch.no_grad():
            for p in self.params:
                p.copy_(values[id(p)])
        opt = self.optimizer
        for p, state in zip(self.params, saved.states, strict=True):
            if state is None:
                opt.state.pop(p, None)
            else:  # fresh tensors: the optimizer may have replaced them
                opt.state[p] = {
                    k: values[id(v)].clone() if isinstance(v, Tensor) else v
                    for k, v in state.items()
                }
