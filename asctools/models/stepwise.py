"""The original course's step-wise models: an Elman RNN and an LSTM.

They run the recurrence one step at a time in Python, so every hidden state
is an ordinary tensor you can keep, inspect or ``retain_grad()`` (the
gradient-flow chapter does). Parameters use ``torch.nn.RNNCell`` /
``torch.nn.LSTMCell`` names and layout (``weight_ih`` (G·H, D),
``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh``; LSTM gates i, f, g, o),
plus a linear read-out ``readout`` applied at every step, so a state_dict
moves to and from torch.nn. Equations: :mod:`asctools.nn.functional`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asctools._validate import check_dtype, check_int
from asctools.models.init import set_gate_bias_
from asctools.nn.functional import lstm_step, rnn_step
from asctools.utils import get_device

__all__ = ["StepwiseModel", "StepwiseRNN", "StepwiseLSTM"]


class StepwiseModel(nn.Module):
    """Shared shape handling of the step-wise models.

    The protocol of every model in :mod:`asctools.models`:
    ``model(x, state=None) -> (output, state)``, zeros when ``state`` is
    None. Subclasses define ``_recur``, ``_h``, ``_states`` and ``_map``.
    """

    n_gates = 1

    def __init__(self, input_size, hidden_size, output_size, device=None):
        super().__init__()
        for name, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("output_size", output_size),
        ):
            check_int(name, value, 1)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        gh = self.n_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gh, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gh, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(gh))
        self.bias_hh = nn.Parameter(torch.empty(gh))
        self.readout = nn.Linear(hidden_size, output_size)
        self.reset_parameters()
        if device is not None:
            self.to(get_device(device))

    def reset_parameters(self) -> None:
        """torch.nn's init: U(−1/√H, 1/√H) for the recurrent parameters."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            nn.init.uniform_(p, -bound, bound)

    def _zeros(self, batch_size) -> Tensor:
        batch_size = check_int("batch_size", batch_size, 1)
        return self.weight_hh.new_zeros(batch_size, self.hidden_size)

    def step(self, x_t: Tensor, hidden):
        """One step: ``x_t`` (B, D) → ``(output (B, K), hidden)``."""
        self._check(x_t, 2, hidden)
        hidden = self._recur(
            F.linear(x_t, self.weight_ih, self.bias_ih), hidden
        )
        return self.readout(self._h(hidden)), hidden

    def forward(self, x: Tensor, hidden=None):
        """Run one step or a whole sequence from ``hidden``.

        Args:
            x: one step ``(B, D)``, a sequence ``(B, T, D)`` or one
                unbatched step ``(D,)`` (then ``hidden`` may be (H,) or
                (1, H) per tensor and comes back in the same shape).
            hidden: the state from :meth:`initHidden` or a previous call;
                None starts from zeros (``initHidden(B)``).

        Returns:
            ``(output, hidden)``: output ``(B, K)``, ``(B, T, K)`` or
            ``(K,)`` like ``x``; hidden the state after the last step.
        """
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a Tensor, got {type(x).__name__}")
        _check_not_empty(x)
        if hidden is None:
            hidden = self.initHidden(1 if x.dim() == 1 else x.shape[0])
        if x.dim() == 1:
            return self._unbatched(x, hidden)
        if x.dim() == 2:
            return self.step(x, hidden)
        self._check(x, 3, hidden)
        xw = F.linear(x, self.weight_ih, self.bias_ih)  # (B, T, G·H) at once
        hs = []
        for t in range(x.shape[1]):  # only the recurrence is sequential
            hidden = self._recur(xw[:, t], hidden)
            hs.append(self._h(hidden))  # (B, H)
        return self.readout(torch.stack(hs, dim=1)), hidden  # (B, T, K)

    def _unbatched(self, x, hidden):
        flat = [s.dim() == 1 for s in self._states(hidden)]
        if any(flat):  # (H,) states: add the batch dim, remove it after
            hidden = self._map(hidden, lambda s: s.unsqueeze(0))
        out, hidden = self.step(x.unsqueeze(0), hidden)
        if any(flat):
            hidden = self._map(hidden, lambda s: s.squeeze(0))
        return out.squeeze(0), hidden  # (K,)

    def _check(self, x, dim, hidden) -> None:
        if x.dim() != dim or x.shape[-1] != self.input_size:
            raise ValueError(
                f"x must have {dim} dims with last size {self.input_size}, "
                f"got shape {tuple(x.shape)}"
            )
        _check_not_empty(x)
        dtype, hint = self.weight_ih.dtype, " (model.to(dtype) converts it)"
        check_dtype("x", x, dtype, "the parameters have", hint)
        want = (x.shape[0], self.hidden_size)
        for s in self._states(hidden):
            check_dtype("hidden", s, dtype, "the parameters have", hint)
            if tuple(s.shape) != want:
                raise ValueError(
                    f"hidden tensors must have shape {want}, got "
                    f"{tuple(s.shape)} (use initHidden({x.shape[0]}))"
                )


def _check_not_empty(x) -> None:
    if x.numel() == 0:
        raise ValueError(
            "x must not be empty: (B, T, D) or (B, D) with B, T >= 1, "
            f"got shape {tuple(x.shape)}"
        )


class StepwiseRNN(StepwiseModel):
    """Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), with
    a read-out y_t = W_hy h_t + b_y at every step.

    ``device``: where to put the parameters (str or torch.device); None
    keeps torch's default (the CPU). The hidden state is a (B, H) tensor.
    """

    def initHidden(self, batch_size: int = 1) -> Tensor:
        """Zeros (batch_size, H) on the model's device."""
        return self._zeros(batch_size)

    def _recur(self, xw_t, h):
        return rnn_step(xw_t, h, self.weight_hh, self.bias_hh)  # (B, H)

    def _h(self, h):
        return h

    def _states(self, hidden):
        if not isinstance(hidden, Tensor):
            raise TypeError(
                f"hidden must be a Tensor, got {type(hidden).__name__}"
            )
        return (hidden,)

    def _map(self, hidden, fn):
        return fn(hidden)


class StepwiseLSTM(StepwiseModel):
    """LSTM (gates i, f, g, o as in torch.nn.LSTMCell) with a read-out
    y_t = W_hy h_t + b_y at every step; the hidden state is ``(h, c)``.

    The forget-gate bias starts at 1 (``bias_ih[H:2H] = 1``,
    ``bias_hh[H:2H] = 0``), so f ≈ σ(1) ≈ 0.73 at first and the cell
    state is not wiped out before training has begun (Gers et al. 2000;
    Jozefowicz et al. 2015).
    """

    n_gates = 4

    def reset_parameters(self) -> None:
        super().reset_parameters()
        set_gate_bias_(self, "lstm", "f", 1.0)  # b_if + b_hf = 1

    def initHidden(self, batch_size: int = 1):
        """``(h, c)``, zeros (batch_size, H) each, on the model's device."""
        return self._zeros(batch_size), self._zeros(batch_size)

    def _recur(self, xw_t, hidden):
        h, c = hidden
        return lstm_step(xw_t, h, c, self.weight_hh, self.bias_hh)

    def _h(self, hidden):
        return hidden[0]

    def _states(self, hidden):
        if not (
            isinstance(hidden, (tuple, list))
            and len(hidden) == 2
            and all(isinstance(s, Tensor) for s in hidden)
        ):
            raise TypeError("hidden must be a tuple (h, c) of two Tensors")
        return tuple(hidden)

    def _map(self, hidden, fn):
        return tuple(fn(s) for s in hidden)
