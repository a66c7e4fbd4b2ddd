"""The older lesson's LSTM module, kept so that experiments can repeat it.

Chapter 4 shows this module as the lesson wrote it: one ``nn.Linear`` per
gate on the concatenation [x_t, h_{t−1}], a forget-gate bias of 1, a
linear read-out at every step, and the original course's call
``forward(input, hidden)`` with ``initHidden(batch_size)``. The results
store trains this same module over five seeds.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LessonLSTM"]


class LessonLSTM(nn.Module):
    """An LSTM with one nn.Linear per gate on cat(x_t, h_{t-1})."""

    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.hidden_size = hidden_size
        n = input_size + hidden_size
        self.input_gate = nn.Linear(n, hidden_size)
        self.forget_gate = nn.Linear(n, hidden_size)
        self.cell_gate = nn.Linear(n, hidden_size)
        self.output_gate = nn.Linear(n, hidden_size)
        self.readout = nn.Linear(hidden_size, output_size)
        nn.init.constant_(self.forget_gate.bias, 1.0)  # f ≈ σ(1) at first

    def initHidden(self, batch_size=1):
        h = self.readout.weight.new_zeros(batch_size, self.hidden_size)
        return h, h.clone()  # (h, c), each (B, H), on the model's device

    def forward(self, input, hidden):
        h, c = hidden
        outputs = []
        for x_t in input.unbind(dim=1):  # input (B, T, D): x_t (B, D)
            xh = torch.cat((x_t, h), dim=1)  # (B, D + H)
            i = torch.sigmoid(self.input_gate(xh))
            f = torch.sigmoid(self.forget_gate(xh))
            g = torch.tanh(self.cell_gate(xh))
            o = torch.sigmoid(self.output_gate(xh))
            c = f * c + i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g
            h = o * torch.tanh(c)  # h_t = o ⊙ tanh(c_t)
            outputs.append(self.readout(h))  # (B, K)
        return torch.stack(outputs, dim=1), (h, c)  # (B, T, K)
