"""Character language models: a recurrent layer reads code, one
character at a time, and predicts the next.

* :class:`CharLM`: one-hot characters into the package's
  :class:`~asctools.models.RecurrentModel` (tanh RNN, LSTM or GRU), with
  dropout before the read-out;
* :func:`hidden_size_for`: the width that gives a kind a parameter count,
  so that the three kinds are compared at equal size;
* :func:`train_char_lm`: truncated BPTT with the state carried from chunk
  to chunk (:func:`asctools.rnn_trainer.tbptt.tbptt_train`);
* :func:`char_log2_probs`, :func:`bits_per_char`: the model scored on a
  whole text, its state carried from the first character to the last;
* :func:`sample`: text drawn from the model at a temperature;
* :func:`lstm_internals`: an LSTM's ``h_t``, ``o_t`` and ``tanh(c_t)`` at
  every character, the activations whose units get names.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asctools._validate import check_int, check_real, describe
from asctools.dataset.pysource import ALPHABET, decode, encode
from asctools.models import KINDS, RecurrentModel
from asctools.rnn_trainer.tbptt import tbptt_train

__all__ = [
    "CharLM",
    "bits_per_char",
    "char_log2_probs",
    "hidden_size_for",
    "lstm_internals",
    "n_params",
    "sample",
    "train_char_lm",
]

V = len(ALPHABET)  # 97 characters
_GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # weight blocks per layer


class CharLM(nn.Module):
    """``logits_t = W_hy dropout(h_t) + b_y``, ``h_t`` from the one-hot
    characters ``x_1 .. x_t`` through a tanh RNN, LSTM or GRU.

    Args:
        kind: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        hidden_size: H.
        dropout: the probability of zeroing each unit of ``h_t`` before
            the read-out while training (0: none).
        vocab_size: V, the alphabet's size (the corpus's 97 characters).

    ``forward(ids (B, T) int64, state=None) -> (logits (B, T, V), state)``
    with the layer's state (``h``, or ``(h, c)`` for the LSTM).
    """

    def __init__(self, kind="lstm", hidden_size=128, dropout=0.0,
                 vocab_size=V):  # fmt: skip
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, 2)
        self.net = RecurrentModel(vocab_size, hidden_size, vocab_size, kind)
        self.kind, self.hidden_size = kind, hidden_size
        self.drop = nn.Dropout(
            check_real("dropout", dropout, 0.0, maximum=1.0)
        )

    def forward(self, ids: Tensor, state=None):
        if not isinstance(ids, Tensor) or ids.dim() != 2:
            raise ValueError(
                f"ids must be a (B, T) int64 Tensor, got {describe(ids)}"
            )
        if ids.is_floating_point():
            raise TypeError(f"ids must hold integers, got {ids.dtype}")
        x = F.one_hot(ids, self.vocab_size).to(self.net.readout.weight)
        out, state = self.net.rnn(x, state)  # (B, T, H)
        return self.net.readout(self.drop(out)), state  # (B, T, V)


def n_params(model: nn.Module) -> int:
    """The number of trained numbers in ``model``."""
    return sum(p.numel() for p in model.parameters())


def hidden_size_for(kind: str, params: int, vocab_size=V) -> int:
    """The H whose :class:`CharLM` of ``kind`` has about ``params``
    parameters: g (V H + H H + 2 H) + H V + V, with g = 1, 3, 4 weight
    blocks for the RNN, GRU and LSTM."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    check_int("params", params, 1)
    g, v = _GATES[kind], vocab_size
    # g H² + (g (V + 2) + V) H + V − params = 0
    b = g * (v + 2) + v
    return max(
        1, round((-b + math.sqrt(b * b + 4 * g * (params - v))) / 2 / g)
    )


def train_char_lm(model, ids, batch_size=16, chunk_len=100, updates=800,
                  learning_rate=2e-2, clip_grad_norm=1.0):  # fmt: skip
    """Train ``model`` on the text ``ids`` (1-D int64) by truncated BPTT.

    The text is cut into ``batch_size`` contiguous streams, read side by
    side in chunks of ``chunk_len`` characters, the state carried from
    chunk to chunk and the graph cut between them; ``updates`` chunks
    (Adam, the global gradient norm clipped). Returns the bits per
    character of each chunk, scored before its update: text the model
    had not yet seen.
    """
    if not isinstance(ids, Tensor) or ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D Tensor, got {describe(ids)}")
    b = check_int("batch_size", batch_size, 1)
    k = check_int("chunk_len", chunk_len, 1)
    n = check_int("updates", updates, 1) * k
    if b * (n + 1) > ids.numel():
        raise ValueError(
            f"ids must hold batch_size * (updates * chunk_len + 1) = "
            f"{b * (n + 1):,} characters, got {ids.numel():,}"
        )
    streams = ids[: ids.numel() // b * b].view(b, -1)[:, : n + 1]
    device = next(model.parameters()).device
    x, y = streams[:, :-1].to(device), streams[:, 1:].to(device)
    hist = tbptt_train(model, x, y, chunk_len=k, learning_rate=learning_rate,
                       clip_grad_norm=clip_grad_norm)  # fmt: skip
    return [loss / math.log(2) for loss in hist["loss"]]


@torch.no_grad()
def char_log2_probs(model, ids, chunk_len=4096) -> Tensor:
    """log2 P(ids[i] | ids[:i]) for i = 1 .. N − 1, as a (N − 1,) float64
    tensor: one pass over the text, the state carried throughout."""
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.numel() < 2:
        raise ValueError(
            f"ids must be a 1-D Tensor of >= 2 tokens, got {describe(ids)}"
        )
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out, state = [], None
    for start in range(0, ids.numel() - 1, chunk_len):
        xb = ids[start : start + chunk_len][None].to(device)
        yb = ids[start + 1 : start + chunk_len + 1].to(device)
        logits, state = model(xb[:, : yb.numel()], state)
        logp = logits[0].float().log_softmax(-1)  # (k, V)
        out.append(logp.gather(1, yb[:, None])[:, 0].double().cpu())
    model.train(was_training)
    return torch.cat(out) / math.log(2)


def bits_per_char(model, ids) -> float:
    """−mean log2 P(next character), over the text ``ids``."""
    return -char_log2_probs(model, ids).mean().item()


@torch.no_grad()
def sample(model, prime="\n", length=200, temperature=1.0, seed=0) -> str:
    """``length`` characters drawn from ``model`` after ``prime``, from
    softmax(logits / temperature); seeded, so a rerun draws the same."""
    check_int("length", length, 1)
    t = check_real("temperature", temperature, 0.0, strict=True)
    ids = encode(prime)
    if ids.numel() == 0:
        raise ValueError("prime must hold at least one character, got ''")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    logits, state = model(ids[None].to(device))
    out = []
    for _ in range(length):
        p = (logits[0, -1].float().cpu() / t).softmax(-1)
        nxt = torch.multinomial(p, 1, generator=gen)
        out.append(nxt.item())
        logits, state = model(nxt[None].to(device), state)
    model.train(was_training)
    return decode(out)


@torch.no_grad()
def lstm_internals(model: CharLM, ids: Tensor) -> dict[str, Tensor]:
    """An LSTM's ``h``, ``o`` and ``tanh_c`` after each character of
    ``ids``, each (N, H) float32.

    torch's LSTM returns every ``h_t`` but only the last ``c_t``; since
    ``h_t = o_t ⊙ tanh(c_t)`` with ``o_t = σ(W_io x_t + W_ho h_{t−1} +
    b_o) > 0``, ``tanh(c_t) = h_t / o_t``, and ``o_t`` comes from the
    inputs and the previous ``h`` in one batched product.
    """
    if not isinstance(model, CharLM) or model.kind != "lstm":
        raise ValueError(
            f"model must be a CharLM of kind 'lstm', got {describe(model)}"
        )
    rnn, hs = model.net.rnn, model.hidden_size
    x = F.one_hot(ids[None], model.vocab_size).float()  # (1, N, V)
    h, _ = rnn(x)  # (1, N, H)
    h_prev = torch.cat([h.new_zeros(1, 1, hs), h[:, :-1]], 1)
    o_rows = slice(3 * hs, 4 * hs)  # gate order i, f, g, o
    o = torch.sigmoid(
        x @ rnn.weight_ih_l0[o_rows].T
        + h_prev @ rnn.weight_hh_l0[o_rows].T
        + rnn.bias_ih_l0[o_rows]
        + rnn.bias_hh_l0[o_rows]
    )  # (1, N, H)
    return {"h": h[0], "o": o[0], "tanh_c": (h / o)[0]}
