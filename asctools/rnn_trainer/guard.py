"""The state after the last good step, so that a bad one can be undone.

A step is applied, then judged: its loss, its gradient norm, and every
parameter and optimizer-state entry after the update must be finite. The
state is copied after each step into one flat buffer per (device, dtype),
and the finite check is one ``aminmax`` of that buffer (NaN propagates
through a min and a max, and ±inf is one of them), read back with the loss
and the norm in the step's one host-device sync. The copy is also what a
later bad step (or a KeyboardInterrupt in the middle of one) is undone
from: the parameters *and* the optimizer's state (Adam's moments and step
count), so that training can go on from there.
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
    """One copy of ``tensors``, grouped by (device, dtype) into flat
    buffers; ``items`` are the optimizer's ``(param, state dict)`` pairs
    (shallow copies) at the time of the copy."""

    def __init__(self, tensors: list[Tensor]):
        self.ids = [id(t) for t in tensors]
        groups: dict = {}  # (device, dtype) -> tensors, in order
        for t in tensors:
            groups.setdefault((t.device, t.dtype), []).append(t)
        self.groups, self.flats, self.views = groups, {}, {}
        for (device, dtype), ts in groups.items():
            sizes = [t.numel() for t in ts]
            flat = torch.empty(sum(sizes), device=device, dtype=dtype)
            self.flats[(device, dtype)] = flat
            self.views[(device, dtype)] = [
                v.view(t.shape)
                for v, t in zip(flat.split(sizes), ts, strict=True)
            ]
        self.items = []

    def fits(self, tensors: list[Tensor]) -> bool:
        """The same tensor objects as last time (so the same layout)."""
        return self.ids == [id(t) for t in tensors]

    def fill(self, items: list) -> None:
        with torch.no_grad():
            for key, ts in self.groups.items():
                _copy_all(self.views[key], ts)
        self.items = items

    def extremes(self, device) -> list[Tensor]:
        """min and max of every floating buffer, as float32 scalars on
        ``device``: all finite iff every entry is (a min or a max
        propagates NaN and meets ±inf). A float64 buffer is reduced to
        whether it is finite, so that no finite value overflows float32."""
        out = []
        for f in self.flats.values():
            if not f.is_floating_point():
                continue  # integer state (step counts) is always finite
            pair = torch.stack(torch.aminmax(f))
            if f.dtype == torch.float64:
                pair = pair.isfinite().all().float().log()  # 0 or -inf
            out.append(pair.to(device, torch.float32).reshape(-1))
        return out


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
        # (param, state) pairs straight from the dict: no tensor hashing
        items = [(p, dict(st)) for p, st in self.optimizer.state.items()]
        tensors = self.params + [
            v for _, st in items for v in st.values() if isinstance(v, Tensor)
        ]
        if buffer is None or not buffer.fits(tensors):
            buffer = _Copy(tensors)
        buffer.fill(items)
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
        extremes = self.pending.extremes(loss.device)
        values = torch.cat(
            [loss.float().reshape(1), norm.float().reshape(1)] + extremes
        ).tolist()  # the step's one sync
        ok = all(math.isfinite(v) for v in values[2:])
        return values[0], values[1], ok

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
        state = self.optimizer.state
        state.clear()  # parameters without state then had none
        for p, st in saved.items:  # fresh tensors: the optimizer may
            state[p] = {  # have replaced its own
                k: values[id(v)].clone() if isinstance(v, Tensor) else v
                for k, v in st.items()
            }
