"""Exercises of chapter 1, *Sequences and recurrence*.

``elman_step`` (implement), ``unroll`` (explore), ``jordan_jacobian``
(implement), ``rnn_params`` and ``bptt_shared_weight`` (predict, then run).
Rows are batch entries, as in PyTorch: W x is computed as ``x @ W.T``.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn
from torch.func import functional_call

from asctools.exercises import checks
from asctools.exercises.core import exercise

__all__ = [
    "elman_step",
    "unroll",
    "jordan_forward",
    "jordan_jacobian",
    "rnn_params",
    "bptt_shared_weight",
    "decay_of_h0",
]


def _randn(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def _elman_cases(seed, sizes):
    """Inputs x (B, [T,] D), h (B, H), W_xh (H, D), W_hh (H, H), b (H,)."""
    gen = torch.Generator().manual_seed(seed)
    return [
        {
            "x": _randn(gen, *size[:-1]),
            "h": _randn(gen, size[0], size[-1]),
            "W_xh": _randn(gen, size[-1], size[-2], scale=0.5),
            "W_hh": _randn(gen, size[-1], size[-1], scale=0.5),
            "b": _randn(gen, size[-1]),
        }
        for size in sizes
    ]


def _torch_rnn(module, x, h, W_xh, W_hh, b):
    """``module`` (RNNCell or RNN) run with these weights, bias_hh = 0."""
    with torch.random.fork_rng(devices=[]):  # its init draws numbers
        rnn = module(W_xh.shape[1], W_xh.shape[0], dtype=x.dtype)
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    values = [W_xh, W_hh, b, torch.zeros_like(b)]
    sfx = "_l0" if module is nn.RNN else ""
    params = {n + sfx: v for n, v in zip(names, values, strict=True)}
    if module is nn.RNNCell:
        return functional_call(rnn, params, (x, h))
    # nn.RNN is time-first: (T, B, D) in, (T, B, H) out
    out = functional_call(rnn, params, (x.transpose(0, 1), h[None]))[0]
    return out.transpose(0, 1)


# --- 1. One Elman step ---


def _solution_elman_step(x, h, W_xh, W_hh, b):
    # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b); x (B, D), h (B, H)
    return torch.tanh(x @ W_xh.T + h @ W_hh.T + b)  # (B, H)


def _elman_variant(
    act=torch.tanh, tx=True, th=True, swap=False, sign=1, bias=1
):
    """An Elman step with one of the usual mistakes."""

    def step(x, h, W_xh, W_hh, b):
        if swap:
            W_xh, W_hh = W_hh, W_xh
        A, B = (W_xh.T if tx else W_xh), (W_hh.T if th else W_hh)
        return act(x @ A + sign * (h @ B) + bias * b)

    return step


_ELMAN_MISTAKES = {
    "the bias `b` is left out": _elman_variant(bias=0),
    "`W_xh` is not transposed (`x @ W_xh`)": _elman_variant(tx=False),
    "`W_hh` is not transposed (`h @ W_hh`)": _elman_variant(th=False),
    "`W_xh` and `W_hh` are swapped": _elman_variant(swap=True),
    "the tanh is left out": _elman_variant(act=lambda z: z),
    "the sign of the recurrent term is flipped": _elman_variant(sign=-1),
}


@exercise(
    label="ch01-ex-elman",
    title="One Elman step",
    kind="implement",
    solution=_solution_elman_step,
    hints=[
        "The equation is h_t = tanh(W_xh x_t + W_hh h_{t-1} + b). x holds "
        "one input per row (B, D), so W_xh x_t for every row is "
        "`x @ W_xh.T`, of shape (B, H).",
        "Three terms inside one `torch.tanh`: `x @ W_xh.T`, `h @ W_hh.T` "
        "and `b` (broadcast over the batch).",
        "`return torch.tanh(x @ W_xh.T + h @ W_hh.T + b)`",
    ],
)
def elman_step(answer):
    """x (B, D), h (B, H), W_xh (H, D), W_hh (H, H), b (H,) -> (B, H)."""
    cases = _elman_cases(1, [(3, 4, 4), (2, 3, 5), (1, 6, 2)])  # (B, D, H)
    ref = partial(_torch_rnn, nn.RNNCell)
    kw = dict(name="elman_step", mistakes=_ELMAN_MISTAKES)
    return checks.compare_functions(
        answer, ref, cases, ref_name="torch.nn.RNNCell", **kw
    )


# --- 2. Unroll (explore) ---


def _solution_unroll(x, h0, W_xh, W_hh, b):
    h, states = h0, []
    for t in range(x.shape[1]):  # x (B, T, D), batch first
        # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)
        h = torch.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b)  # (B, H)
        states.append(h)
    return torch.stack(states, dim=1)  # (B, T, H): h_1, ..., h_T


def decay_of_h0(alphas=(0.5, 0.9, 1.0, 1.5), steps=(1, 5, 10, 20, 50)):
    """What one unit keeps of h_0 = 1 with no input, b = 0, W_hh = α.

    Prints h_t at ``steps`` for each α; returns {α: h_1, ..., h_T}.
    """
    T = max(steps)
    x, h0 = torch.zeros(1, T, 1), torch.ones(1, 1)  # no input; h_0 = 1
    W_xh, b = torch.zeros(1, 1), torch.zeros(1)
    print("alpha" + "".join(f"{'h_' + str(t):>10}" for t in steps))
    states = {}
    for alpha in alphas:
        W_hh = torch.full((1, 1), alpha)  # h_t = tanh(α h_{t-1})
        h = _solution_unroll(x, h0, W_xh, W_hh, b)[0, :, 0]  # (T,)
        print(f"{alpha:5.1f}" + "".join(f"{h[t - 1]:10.2e}" for t in steps))
        states[alpha] = h
    return states


def _unroll_variant(shift=False, carry=True, flip=False):
    """An unrolled Elman network with one of the usual mistakes."""

    def run(x, h0, W_xh, W_hh, b):
        h, states = h0, [h0] if shift else []
        for t in range(x.shape[1]):
            x_t = x[:, -1 - t] if flip else x[:, t]
            h_new = torch.tanh(x_t @ W_xh.T + h @ W_hh.T + b)
            h = h_new if carry else h0
            states.append(h_new)
        return torch.stack(states[: x.shape[1]], dim=1)

    return run


_UNROLL_MISTAKES = {
    "the states are shifted by one step (h_0, ..., h_{T-1} instead of "
    "h_1, ..., h_T)": _unroll_variant(shift=True),
    "the state is not carried (each step starts from h_0)": _unroll_variant(
        carry=False
    ),
    "time runs backwards": _unroll_variant(flip=True),
}


@exercise(
    label="ch01-ex-unroll",
    title="Unroll an Elman network",
    kind="explore",
    solution=_solution_unroll,
    demo=decay_of_h0,
    explanation=(
        "With x = 0, b = 0 and W_hh = α·I every unit follows "
        "h_t = tanh(α h_{t-1}). Since |tanh(u)| ≤ |u|, for α < 1 the state "
        "shrinks at least like α^t: the network forgets h_0. For α > 1 it "
        "settles at a non-zero fixed point h* = tanh(α h*)."
    ),
    hints=[
        "Loop over time, `for t in range(x.shape[1])`, apply one Elman "
        "step to `x[:, t]` (B, D) and the previous state, and keep each "
        "new state in a list.",
        "The result holds h_1, ..., h_T, not h_0: append the state after "
        "the step. `torch.stack(states, dim=1)` gives (B, T, H).",
    ],
)
def unroll(answer):
    """x (B, T, D), h0 (B, H), W_xh, W_hh, b -> states (B, T, H)."""
    cases = _elman_cases(2, [(2, 5, 3, 4), (1, 7, 2, 3)])  # (B, T, D, H)
    ref = partial(_torch_rnn, nn.RNN)
    kw = dict(name="unroll", mistakes=_UNROLL_MISTAKES)
    return checks.compare_functions(
        answer, ref, cases, ref_name="torch.nn.RNN", **kw
    )


# --- 3. The Jordan network's Jacobian ---


def jordan_forward(x, W, R, V):
    """Run a Jordan network: the output is fed back as the next input.

    a(t) = tanh(W x(t) + R ŷ(t-1)), ŷ(t) = σ(V a(t)), t = 1..T, with
    a(0) = 0. ``x`` is (T, D) (row t-1 holds x(t)), W (H, D), R (H, K),
    V (K, H). Returns ``a`` (T+1, H) and ``y`` (T+1, K): row t is time t.
    """
    a = [x.new_zeros(W.shape[0])]  # a(0) = 0
    y = [torch.sigmoid(V @ a[0])]  # ŷ(0) = σ(V a(0))
    for x_t in x:
        a.append(torch.tanh(W @ x_t + R @ y[-1]))  # a(t), (H,)
        y.append(torch.sigmoid(V @ a[-1]))  # ŷ(t), (K,)
    return torch.stack(a), torch.stack(y)


def _solution_jordan_jacobian(x, W, R, V, s, t):
    a, y = jordan_forward(x, W, R, V)  # (T+1, H), (T+1, K)
    J = torch.eye(W.shape[0], dtype=x.dtype)  # ∂a(s)/∂a(s) = I
    for u in range(s + 1, t + 1):  # t - s factors, the newest on the left
        da = 1 - a[u] ** 2  # tanh′ at step u, (H,)
        dy = y[u - 1] * (1 - y[u - 1])  # σ′ at step u-1, (K,)
        # ∂a(u)/∂a(u-1) = diag(da) R diag(dy) V, (H, H)
        J = (da[:, None] * R * dy) @ V @ J
    return J


def _jordan_autograd(x, W, R, V, s, t):
    """∂a(t)/∂a(s) by torch.autograd.functional.jacobian."""
    a_s = jordan_forward(x[:s], W, R, V)[0][-1]

    def rollout(a):  # a(s) -> a(t)
        for x_u in x[s:t]:
            a = torch.tanh(W @ x_u + R @ torch.sigmoid(V @ a))
        return a

    return torch.autograd.functional.jacobian(rollout, a_s)


def _jordan_variant(order="left", lag=1, first=1, last=0, tanh_d=True):
    """The Jacobian product made with one of the usual mistakes."""

    def jac(x, W, R, V, s, t):
        a, y = jordan_forward(x, W, R, V)
        J = torch.eye(W.shape[0], dtype=x.dtype)
        for u in range(s + first, t + 1 + last):
            da = 1 - a[u] ** 2 if tanh_d else torch.ones_like(a[u])
            dy = y[u - lag] * (1 - y[u - lag])
            F = (da[:, None] * R * dy) @ V
            J = F @ J if order == "left" else J @ F
        return J

    return jac


_JORDAN_MISTAKES = {
    "the factors are multiplied oldest-on-the-left": _jordan_variant(
        order="right"
    ),
    "there is one factor too many (t - s + 1)": _jordan_variant(first=0),
    "there is one factor too few (t - s - 1)": _jordan_variant(last=-1),
    "σ′ is taken at ŷ(u) instead of ŷ(u-1)": _jordan_variant(lag=0),
    "tanh′ is left out": _jordan_variant(tanh_d=False),
}


@exercise(
    label="ch01-ex-jordan",
    title="The Jordan network's Jacobian",
    kind="implement",
    solution=_solution_jordan_jacobian,
    helpers=(jordan_forward,),
    hints=[
        "Differentiate one step first: a(u) = tanh(W x(u) + R ŷ(u-1)) and "
        "ŷ(u-1) = σ(V a(u-1)) give ∂a(u)/∂a(u-1) = diag(1 - a(u)²) R "
        "diag(ŷ(u-1)(1 - ŷ(u-1))) V.",
        "By the chain rule ∂a(t)/∂a(s) is the product of the t - s "
        "one-step factors for u = s+1, ..., t, the newest (u = t) on the "
        "left. For s = t it is the identity.",
        "Get a and ŷ from `ex.jordan_forward(x, W, R, V)`, start from "
        "`J = torch.eye(H, dtype=x.dtype)` and loop "
        "`for u in range(s + 1, t + 1): J = F_u @ J`.",
    ],
)
def jordan_jacobian(answer):
    """x (T, D), W (H, D), R (H, K), V (K, H), s ≤ t -> (H, H)."""
    gen = torch.Generator().manual_seed(3)
    T, D, H, K = 6, 2, 4, 3
    net = {
        "x": _randn(gen, T, D),
        "W": _randn(gen, H, D),
        "R": _randn(gen, H, K, scale=1.5),
        "V": _randn(gen, K, H, scale=1.5),
    }
    pairs = [(2, 3), (1, 5), (0, 4), (3, 3)]  # (s, t)
    cases = [{**net, "s": s, "t": t} for s, t in pairs]
    kw = dict(name="jordan_jacobian", grad=False, mistakes=_JORDAN_MISTAKES)
    ref_name = "torch.autograd.functional.jacobian"
    return checks.compare_functions(
        answer,
        _jordan_autograd,
        cases,
        rtol=1e-6,
        atol=1e-12,
        ref_name=ref_name,
        **kw,
    )


# --- 4. Predict: the parameters of nn.RNN(10, 20) ---


def _solution_rnn_params():
    rnn = torch.nn.RNN(input_size=10, hidden_size=20)
    # weight_ih_l0 (20, 10) + weight_hh_l0 (20, 20)
    # + bias_ih_l0 (20,) + bias_hh_l0 (20,): two biases, only their sum
    # matters
    by_hand = 20 * 10 + 20 * 20 + 20 + 20
    counted = sum(p.numel() for p in rnn.parameters())
    assert counted == by_hand
    return counted


@exercise(
    label="ch01-ex-params",
    title="Parameters of nn.RNN(10, 20)",
    kind="predict",
    solution=_solution_rnn_params,
    hints=[
        "List the tensors of one Elman layer: an input weight, a recurrent "
        "weight, and biases. What shape does each have for D = 10, H = 20?",
        "PyTorch keeps two bias vectors, `bias_ih_l0` and `bias_hh_l0`, "
        "although one would do: only their sum matters.",
    ],
)
def rnn_params(answer):
    """The reader's prediction: an int."""
    D, H = 10, 20
    with torch.random.fork_rng(devices=[]):  # nn.RNN's init draws numbers
        expected = _solution_rnn_params()
    mistakes = {
        H * D + H * H + H: "that counts one bias vector; nn.RNN has two, "
        "`bias_ih_l0` and `bias_hh_l0`.",
        H * D + H * H: "that leaves out the two bias vectors.",
        H * D + 2 * H: "the recurrent weight `weight_hh_l0` (20, 20) is a "
        "parameter too.",
        H * H + 2 * H: "the input weight `weight_ih_l0` (20, 10) is a "
        "parameter too.",
    }
    msg = checks.check_number(answer, expected, mistakes=mistakes)
    return msg + " W_ih (20×10) + W_hh (20×20) + two biases (20 each)."


# --- 5. Predict: the gradient of a shared weight ---


def _solution_bptt_shared_weight():
    # Run it: give every step its own copy of W_hh; the shared weight's
    # gradient is the sum of the copies' gradients.
    gen = torch.Generator().manual_seed(0)
    x, h0 = torch.randn(5, 3, generator=gen), torch.randn(4, generator=gen)
    W_xh = torch.randn(4, 3, generator=gen)
    W_hh = torch.randn(4, 4, generator=gen).requires_grad_()
    copies = [W_hh.detach().clone().requires_grad_() for _ in x]

    def loss(weights):  # unrolled over T = 5 steps
        h = h0
        for x_t, W in zip(x, weights, strict=True):
            h = torch.tanh(W_xh @ x_t + W @ h)  # h_t
        return h.sum()

    loss([W_hh] * len(x)).backward()
    loss(copies).backward()
    assert torch.allclose(W_hh.grad, sum(W.grad for W in copies))
    return "b"


@exercise(
    label="ch01-ex-bptt",
    title="The gradient of a shared weight",
    kind="predict",
    solution=_solution_bptt_shared_weight,
    hints=[
        "Unrolled, the network is a feed-forward network in which every "
        "layer uses the same W_hh. What does the chain rule do when one "
        "variable is used in several places?",
        "Give each step its own copy of W_hh, compute each copy's "
        "gradient, then tie the copies back together.",
    ],
)
def bptt_shared_weight(answer):
    """The reader's choice among 'a', 'b', 'c', 'd'."""
    feedback = {
        "a": "The last step's copy of W_hh is only one of T uses; every "
        "use contributes to the gradient.",
        "b": "A weight used at T steps collects T contributions: "
        "∂L/∂W_hh = Σ_t ∂L/∂W_hh(t), each copy's gradient.",
        "c": "Nothing divides by T: the contributions add up, so the "
        "gradient grows with the number of uses.",
        "d": "Products appear inside each contribution (in ∂h_t/∂h_k), "
        "but the contributions of the T uses are added.",
    }
    correct = _solution_bptt_shared_weight()
    return checks.check_choice(answer, "abcd", correct, feedback=feedback)
