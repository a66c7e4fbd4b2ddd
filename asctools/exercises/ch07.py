"""Exercises of chapter 7, *LSTMs in practice*.

``tbptt_grads`` (implement), ``choose_threshold`` (explore),
``bidirectional_shapes`` and ``gru_params`` (predict, then run).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from asctools._validate import is_real
from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise
from asctools.models import RecurrentModel

__all__ = [
    "tbptt_grads",
    "norm_record",
    "choose_threshold",
    "bidirectional_shapes",
    "gru_params",
]


# --- 1. Truncated BPTT ---


def _solution_tbptt_grads(model, x, y, k):
    state, losses = None, []
    for s in range(0, x.shape[1], k):  # chunks x[:, s:s+k], the last shorter
        if state is not None:  # keep the values, cut the graph
            state = tuple(t.detach() for t in state)
        pred, state = model(x[:, s : s + k], state)  # (B, k, K)
        loss = F.mse_loss(pred, y[:, s : s + k])
        loss.backward()  # gradients add up over the chunks
        losses.append(loss.item())
    return losses


def _tbptt_variant(detach=True, carry=True, last=True, zero=False):
    """Truncated BPTT with one of the usual mistakes (no backward calls
    that fail: the losses are summed, then backpropagated once)."""

    def run(model, x, y, k):
        state, total, losses = None, 0.0, []
        stop = x.shape[1] if last else x.shape[1] - k + 1
        for s in range(0, stop, k):
            if zero:  # only the last chunk's gradient survives
                total = 0.0
            if state is not None and detach:
                state = tuple(t.detach() for t in state)
            pred, state = model(x[:, s : s + k], state if carry else None)
            loss = F.mse_loss(pred, y[:, s : s + k])
            total, losses = total + loss, losses + [loss.item()]
        total.backward()
        return losses

    return run


_TBPTT_MISTAKES = {
    "the state is not detached, so the gradient flows back into the "
    "earlier chunks (full BPTT through the whole sequence)": _tbptt_variant(
        detach=False
    ),
    "the state is not carried: every chunk starts from zeros": (
        _tbptt_variant(carry=False)
    ),
    "the last, shorter chunk is left out": _tbptt_variant(last=False),
    "the gradients are zeroed in every chunk, so only the last chunk's "
    "gradient is left": _tbptt_variant(zero=True),
}


def _tbptt_case(seed, T, k, B=3):
    """A float64 LSTM model and a stream x (B, T, 2), y (B, T, 1)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RecurrentModel(2, 4, 1, kind="lstm").double()
        x = torch.randn(B, T, 2, dtype=torch.float64)
        y = torch.randn(B, T, 1, dtype=torch.float64)
    return model, x, y, k


def _grads_of(fn, model, x, y, k):
    """Run ``fn`` on a fresh copy of ``model``; return (result, grads)."""
    twin = copy.deepcopy(model)
    twin.zero_grad(set_to_none=True)
    out = fn(twin, x, y, k)
    grads = {
        n: (p.grad.clone() if p.grad is not None else None)
        for n, p in twin.named_parameters()
    }
    return out, grads


def _same_grads(a, b) -> bool:
    return all(
        a[n] is not None
        and b[n] is not None
        and torch.allclose(a[n], b[n], rtol=1e-6, atol=1e-10)
        for n in b
    )


def _named_mistake(model, x, y, k, got) -> str:
    for description, wrong in _TBPTT_MISTAKES.items():
        if _same_grads(got, _grads_of(wrong, model, x, y, k)[1]):
            return f"\nYour result matches what you get if {description}."
    return ""


@exercise(
    label="ch07-ex-tbptt",
    title="A truncated-BPTT chunk loop",
    kind="implement",
    solution=_solution_tbptt_grads,
    hints=[
        "Loop `for s in range(0, T, k)` over chunk starts; the last chunk "
        "`x[:, s:s+k]` may be shorter. Run the model on the chunk from the "
        "state the previous chunk returned, take `F.mse_loss`, call "
        "`loss.backward()` and keep `loss.item()`.",
        "Before each chunk cut the state from the graph: the LSTM's state "
        "is a tuple `(h, c)`, so `state = tuple(t.detach() for t in "
        "state)` (not for the first chunk, where it is None). Do not zero "
        "the gradients inside the loop: they add up over the chunks.",
    ],
)
def tbptt_grads(answer):
    """model(x_chunk, state) -> (pred, state); x (B, T, D), y (B, T, K)."""
    cases = [(0, 10, 4), (1, 9, 3), (2, 6, 6)]  # (seed, T, k)
    for i, (seed, T, k) in enumerate(cases):
        model, x, y, k = _tbptt_case(seed, T, k)
        expected, ref = _grads_of(_solution_tbptt_grads, model, x, y, k)
        try:
            losses, got = _grads_of(
                lambda *a: checks.call_answer(answer, *a, name="tbptt_grads"),
                model, x, y, k,
            )  # fmt: skip
        except RuntimeError as exc:
            if "second time" not in str(exc):
                raise
            raise Incorrect(
                "backward() failed in the second chunk: the state it starts "
                "from still belongs to the first chunk's graph, which the "
                "first backward() freed. Detach the state between chunks "
                "(`tuple(t.detach() for t in state)`)."
            ) from None
        where = f"\n(test case {i + 1} of {len(cases)}: T={T}, k={k})"
        try:
            _check_losses(losses, expected)
            _check_grads(got, ref)
        except Incorrect as exc:
            hint = _named_mistake(model, x, y, k, got)
            raise Incorrect(f"{exc}{where}{hint}") from None
    return (
        f"`tbptt_grads` gives the reference's chunk losses and gradients "
        f"in {len(cases)} test cases."
    )


def _check_losses(losses, expected) -> None:
    if not isinstance(losses, (list, tuple)):
        raise Incorrect(
            "`tbptt_grads` should return a list of chunk losses, got "
            f"{type(losses).__name__}"
        )
    if len(losses) != len(expected):
        raise Incorrect(
            f"`tbptt_grads` returned {len(losses)} chunk losses, expected "
            f"{len(expected)} (one per chunk, the last may be shorter)"
        )
    got = torch.tensor([float(v) for v in losses], dtype=torch.float64)
    want = torch.tensor(expected, dtype=torch.float64)
    checks.compare_tensors(got, want, "chunk losses", rtol=1e-6, atol=1e-10)


def _check_grads(got, ref) -> None:
    for name, g in ref.items():
        if got[name] is None:
            raise Incorrect(f"`{name}` has no gradient: was backward() run?")
        checks.compare_tensors(
            got[name], g, f"gradient of {name}", rtol=1e-6, atol=1e-10
        )


# --- 2. Choosing a threshold (explore) ---


def norm_record(seed=0, steps=600, scale=1.0):
    """A made-up record of pre-clip gradient norms, float64 (steps,).

    Most steps are log-normal around ``scale``; a few rare spikes are 10
    to 100 times larger, as in the record of an unclipped training run.
    """
    rng = np.random.default_rng(seed)
    norms = scale * rng.lognormal(0.0, 0.5, steps)  # (steps,)
    spikes = rng.choice(steps, size=max(1, steps // 100), replace=False)
    norms[spikes] *= rng.uniform(10, 100, spikes.size)
    return norms


def _solution_clip_threshold(norms):
    # a high percentile: the typical steps pass, the rare spikes are cut
    return float(np.percentile(norms, 95))


_RECORDS = [(1, 0.02), (2, 1.0), (3, 40.0)]  # (seed, scale)


@exercise(
    label="ch07-ex-threshold",
    title="Choose a clipping threshold",
    kind="explore",
    solution=_solution_clip_threshold,
    hints=[
        "Look at `np.percentile(norms, [50, 90, 95, 99, 100])` for the "
        "record `ex.norm_record()`: where do the typical steps end and the "
        "spikes begin?",
        "A threshold below the median clips most steps (a smaller learning "
        "rate in disguise); the maximum clips nothing. A high percentile "
        "of the record, computed from `norms`, works at every scale.",
    ],
)
def choose_threshold(answer):
    """choose(norms (steps,)) -> τ; 0.5 % to 20 % of the steps clipped."""
    lines = []
    for seed, scale in _RECORDS:
        norms = norm_record(seed, scale=scale)
        tau = checks.call_answer(answer, norms.copy(), name="your function")
        if not is_real(tau):
            raise Incorrect(
                f"the threshold should be a number, got {type(tau).__name__}"
            )
        frac = float(np.mean(norms > tau))
        median = float(np.median(norms))
        where = (
            f" (record with median norm {median:.3g}: τ = {float(tau):.3g} "
            f"clips {frac:.1%} of the steps)"
        )
        if frac > 0.20:
            raise Incorrect(
                "τ is too low: it clips more than 20 % of the steps, so it "
                "rescales typical steps too (a smaller learning rate in "
                "disguise), not just the spikes" + where
            )
        if frac < 0.005:
            raise Incorrect(
                "τ is too high: it clips less than 0.5 % of the steps, so "
                "most spikes pass unchanged" + where
            )
        lines.append(f"{frac:.1%}")
    return (
        "Your threshold clips " + ", ".join(lines) + " of the steps of "
        "three records at very different scales: the rare spikes, not the "
        "typical steps."
    )


# --- 3. Predict: shapes of a bidirectional 2-layer LSTM ---


def _solution_bidirectional_shapes():
    lstm = nn.LSTM(
        input_size=8,
        hidden_size=16,
        num_layers=2,
        bidirectional=True,
        batch_first=True,
    )
    out, (h_n, c_n) = lstm(torch.zeros(3, 10, 8))  # (B, T, D)
    # out: both directions side by side; h_n: (layers·directions, B, H)
    return tuple(out.shape), tuple(h_n.shape)


@exercise(
    label="ch07-ex-bishapes",
    title="Shapes of a bidirectional two-layer LSTM",
    kind="predict",
    solution=_solution_bidirectional_shapes,
    hints=[
        "The output holds, at every step, the last layer's forward and "
        "backward states side by side; `batch_first` puts B first.",
        "h_n has one (B, H) row block per layer and direction, and "
        "`batch_first` does not apply to it.",
    ],
)
def bidirectional_shapes(answer):
    """A pair (output shape, h_n shape) of tuples."""
    with torch.random.fork_rng(devices=[]):  # the LSTM's init draws
        expected = _solution_bidirectional_shapes()
    try:
        got = tuple(tuple(int(n) for n in s) for s in answer)
    except TypeError:
        raise Incorrect(
            "answer with a pair of shapes: ((B, T, ...), (..., B, H))"
        ) from None
    if len(got) != 2:
        raise Incorrect(f"answer with two shapes, got {len(got)}")
    out_msgs = {
        (3, 10, 16): "the output concatenates both directions: 2·H features.",
        (10, 3, 32): "with batch_first=True the output is (B, T, 2·H).",
        (3, 10, 64): "only the last layer's states are in the output.",
    }
    h_msgs = {
        (2, 3, 16): "h_n has a row block for each layer AND direction.",
        (3, 4, 16): "batch_first does not apply to h_n: it is "
        "(layers·directions, B, H).",
        (4, 3, 32): "each direction's final state has H entries; they "
        "are stacked, not concatenated, in h_n.",
        (2, 3, 32): "h_n stacks layers and directions: (2·2, B, H).",
    }
    problems = []
    if got[0] != expected[0]:
        problems.append(
            f"output: {got[0]} is not right. "
            + out_msgs.get(got[0], "Count T, B and the features again.")
        )
    if got[1] != expected[1]:
        problems.append(
            f"h_n: {got[1]} is not right. "
            + h_msgs.get(got[1], "Count layers, directions, B and H.")
        )
    if problems:
        raise Incorrect("\n".join(problems))
    return f"output {expected[0]} and h_n {expected[1]} are right."


# --- 4. Predict: the parameters of nn.GRU(10, 20, num_layers=2) ---


def _solution_gru_params():
    gru = nn.GRU(input_size=10, hidden_size=20, num_layers=2)
    # per layer: 3 blocks (r, z, n) of W_ih, W_hh, b_ih, b_hh; layer 2
    # reads the 20 outputs of layer 1
    by_hand = (3 * 20 * (10 + 20) + 2 * 60) + (3 * 20 * (20 + 20) + 2 * 60)
    counted = sum(p.numel() for p in gru.parameters())
    assert counted == by_hand  # 1920 + 2520
    return counted


@exercise(
    label="ch07-ex-gruparams",
    title="Parameters of nn.GRU(10, 20, num_layers=2)",
    kind="predict",
    solution=_solution_gru_params,
    hints=[
        "A GRU layer has three gate blocks (r, z, n), each with an input "
        "weight, a recurrent weight and two bias vectors.",
        "The second layer's input is the first layer's output: its input "
        "size is H = 20, not D = 10.",
    ],
)
def gru_params(answer):
    """The reader's prediction: an int."""
    D, H, G = 10, 20, 3

    def layer(d, g=G, biases=2):
        return g * H * (d + H) + biases * g * H

    with torch.random.fork_rng(devices=[]):  # nn.GRU's init draws numbers
        expected = _solution_gru_params()
    mistakes = {
        layer(D, biases=1) + layer(H, biases=1): "that counts one bias "
        "vector per gate block; torch.nn keeps two, b_ih and b_hh.",
        2 * layer(D): "the second layer's input size is H = 20 (the first "
        "layer's output), not D = 10.",
        layer(D): "that is one layer; num_layers=2 stacks two.",
        layer(D, g=4) + layer(H, g=4): "that is the LSTM's count (four "
        "gate blocks); the GRU has three.",
    }
    msg = checks.check_number(answer, expected, mistakes=mistakes)
    return msg + " Layer 1: 3·20·(10+20) + 2·60; layer 2: 3·20·(20+20) + 2·60."
