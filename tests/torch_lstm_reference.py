"""The NumPy LSTM's equations in torch: the autograd oracle for its tests.

One reference for the hand-written BPTT (tests/test_numpy_lstm.py), RTRL
(tests/test_rtrl.py) and the chapter-6 exercise (its cosine), so all three
are checked against the same independent implementation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def torch_lstm_gradients(model, x, y, *, truncate=False, per_step_w=None):
    """Loss and autograd gradients of ``model`` (a ``NumpyLSTM``) on x, y.

    s_g = W_g x_t + R_g h(t−1) + b_g; c = f c_prev + z i (f = 1 without a
    forget gate); h = tanh(c) o. ``truncate`` detaches h(t−1) inside the
    gates (the LSTM learning method's truncation). The loss is BCE of
    w_out·h(T) + b_out against y, or Σ_t Σ_n w_t h_t if ``per_step_w``
    (T, B, H) is given. Returns (loss, {name: ndarray}) keyed like
    ``model.gradients()``; a parameter the loss does not reach gets zeros.
    """
    p = {
        k: torch.tensor(v, requires_grad=True)
        for k, v in model.parameters().items()
    }
    xt = torch.tensor(x)
    h = torch.zeros(x.shape[0], model.hidden_size, dtype=torch.float64)
    c, loss = torch.zeros_like(h), 0.0
    for t in range(x.shape[1]):
        u = h.detach() if truncate else h
        s = {
            n: xt[:, t] @ p[f"{n}.W"].T + u @ p[f"{n}.R"].T + p[f"{n}.b"]
            for n in model.gates
        }
        f = torch.sigmoid(s["f"]) if model.forget_gate else 1.0
        c = f * c + torch.tanh(s["z"]) * torch.sigmoid(s["i"])
        h = torch.tanh(c) * torch.sigmoid(s["o"])
        if per_step_w is not None:
            loss = loss + (torch.tensor(per_step_w[t]) * h).sum()
    if per_step_w is None:
        logit = (h @ p["out.w"].T + p["out.b"])[:, 0]
        loss = F.binary_cross_entropy_with_logits(logit, torch.tensor(y))
    loss.backward()
    grads = {
        k: v.grad.numpy() if v.grad is not None else np.zeros(v.shape)
        for k, v in p.items()
    }
    return loss.item(), grads
