"""Exercises of chapter 5, *The LSTM by hand in NumPy*.

``lstm_backward_step`` and ``bce_with_logits`` (implement), ``sign_bug``
and ``accumulate`` (predict, then run), ``saturation`` (explore). Arrays
are float64 NumPy arrays with one batch entry per row: h, c ``(B, H)``.
The references are independent of the package's NumPy code: torch.autograd
for the derivatives, the cell's equations written out for the states.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise
from asctools.handmade import (
    Gate,
    NumpyLSTM,
    memory_task_data,
    published_bce_with_logits,
    sigmoid,
    train_memory_task,
)

__all__ = [
    "lstm_backward_step",
    "bce_with_logits",
    "sign_bug",
    "accumulate",
    "AssigningGate",
    "saturation",
    "saturation_by_input_bias",
]


def _compare(answer, reference, cases, name, outputs, mistakes):
    """Compare NumPy results within rtol 1e-7, atol 1e-12; name a mistake
    that a wrong result matches."""
    return checks.compare_functions(
        answer, reference, cases, name=name, grad=False, rtol=1e-7,
        atol=1e-12, mistakes=mistakes, outputs=outputs,
    )  # fmt: skip


# --- 1. The backward pass of one LSTM step ---


def _solution_lstm_backward_step(dh, dc, c_prev, z, i, f, o):
    c = f * c_prev + z * i  # c_t = f ⊙ c_{t-1} + z ⊙ i, (B, H)
    tc = np.tanh(c)
    do = dh * tc  # h_t = tanh(c_t) ⊙ o  ⇒  ∂h/∂o = tanh(c_t)
    dc = dc + dh * o * (1.0 - tc**2)  # carousel + the path through h_t
    dz, di, df = dc * i, dc * z, dc * c_prev  # ∂c_t/∂z, ∂c_t/∂i, ∂c_t/∂f
    return dz, di, df, do, dc * f  # ∂c_t/∂c_{t-1} = f


def _torch_step_grads(dh, dc, c_prev, z, i, f, o):
    """(∂L/∂z, ∂L/∂i, ∂L/∂f, ∂L/∂o, ∂L/∂c_prev) by torch.autograd for
    L = Σ dh ⊙ h_t + Σ dc ⊙ c_t."""
    leaves = [torch.tensor(v, requires_grad=True) for v in (z, i, f, o)]
    tz, ti, tf, to = leaves
    tcp = torch.tensor(c_prev, requires_grad=True)
    c = tf * tcp + tz * ti
    h = torch.tanh(c) * to
    loss = (torch.tensor(dh) * h).sum() + (torch.tensor(dc) * c).sum()
    grads = torch.autograd.grad(loss, [*leaves, tcp])
    return tuple(g.numpy() for g in grads)


def _step_variant(mistake):
    """The backward step with one of the usual mistakes (a keyword)."""

    def step(dh, dc, c_prev, z, i, f, o):
        c = f * c_prev + z * i
        tc = np.tanh(c)
        do = dh * (c if mistake == "o_of_c" else tc)
        dphi = 1.0 - (c**2 if mistake == "tanh_of_c" else tc**2)
        dc = dc if mistake == "no_h_path" else dc + dh * o * dphi
        dz, di = (dc * z, dc * i) if mistake == "swap" else (dc * i, dc * z)
        df = dc * (c if mistake == "f_of_new_c" else c_prev)
        return dz, di, df, do, dc if mistake == "no_f" else dc * f

    return step


_STEP_MISTAKES = {
    "∂c_t/∂c_{t-1} is taken as 1 instead of f_t (the forget factor is "
    "dropped)": _step_variant("no_f"),
    "the path through h_t = tanh(c_t) ⊙ o_t is left out of ∂L/∂c_t": (
        _step_variant("no_h_path")
    ),
    "tanh′ is computed as 1 − c_t² instead of 1 − tanh²(c_t)": (
        _step_variant("tanh_of_c")
    ),
    "the gradients of z and i are swapped": _step_variant("swap"),
    "∂L/∂o uses c_t instead of tanh(c_t)": _step_variant("o_of_c"),
    "∂L/∂f uses the new c_t instead of c_{t-1}": _step_variant("f_of_new_c"),
}


def _step_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    for B, H in [(3, 4), (2, 5), (4, 3)]:
        z = np.tanh(rng.normal(size=(B, H)))
        i, f, o = sigmoid(rng.normal(size=(3, B, H)))
        dh, dc = rng.normal(size=(2, B, H))
        c_prev = 1.5 * rng.normal(size=(B, H))
        cases.append(dict(dh=dh, dc=dc, c_prev=c_prev, z=z, i=i, f=f, o=o))
    cases[-1]["f"] = np.ones_like(cases[-1]["f"])
    return cases  # the last case is the 1997 cell: f ≡ 1


@exercise(
    label="ch05-ex-backward",
    title="The backward pass of one LSTM step",
    kind="implement",
    solution=_solution_lstm_backward_step,
    hints=[
        "Recompute c_t = f ⊙ c_{t-1} + z ⊙ i and tanh(c_t) first. "
        "`dh` is ∂L/∂h_t and `dc` is the gradient that reached c_t from "
        "step t+1 along the cell state.",
        "c_t reaches the loss twice: through c_{t+1} (that is `dc`) and "
        "through h_t = tanh(c_t) ⊙ o. So ∂L/∂c_t = dc + dh ⊙ o ⊙ "
        "(1 − tanh²(c_t)); every other gradient follows from it.",
        "do = dh ⊙ tanh(c_t); then with the total ∂L/∂c_t: dz = ∂L/∂c_t ⊙ "
        "i, di = ∂L/∂c_t ⊙ z, df = ∂L/∂c_t ⊙ c_{t-1}, dc_prev = ∂L/∂c_t "
        "⊙ f.",
    ],
)
def lstm_backward_step(answer):
    """dh, dc, c_prev, z, i, f, o ``(B, H)`` -> dz, di, df, do, dc_prev."""
    msg = _compare(
        answer, _torch_step_grads, _step_cases(5), "lstm_backward_step",
        ("dz", "di", "df", "do", "dc_prev"), _STEP_MISTAKES,
    )  # fmt: skip
    return msg + " The reference is torch.autograd; case 3 has f ≡ 1."


# --- 2. Binary cross-entropy from logits ---


def _solution_bce_with_logits(s, y):
    # L = mean(softplus(s) − y s); softplus(s) = log(1 + e^s), stable
    loss = np.mean(np.logaddexp(0.0, s) - y * s)
    sig = 0.5 * (1.0 + np.tanh(0.5 * s))  # σ(s) without overflow
    return float(loss), (sig - y) / len(s)  # ∂L/∂s = (σ(s) − y) / B


def _torch_bce(s, y):
    st = torch.tensor(s, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        st, torch.tensor(y)
    )
    loss.backward()
    return np.float64(loss.item()), st.grad.numpy()


def _bce_variant(keep_neg=True, grad_sign=1.0, reduce="mean", per_b=True):
    """BCE with one of the usual mistakes."""

    def bce(s, y):
        terms = y * np.logaddexp(0.0, -s)  # −y log σ(s)
        terms = terms + (1 - y) * np.logaddexp(0.0, s) if keep_neg else terms
        grad = sigmoid(s) - y if keep_neg else -y * (1 - sigmoid(s))
        n = len(s) if reduce == "mean" else 1
        loss = np.sum(terms) / n
        return loss, grad_sign * grad / (n if per_b else 1)

    return bce


_BCE_MISTAKES = {
    "you take the published sign error, −(y log ŷ − (1 − y) log(1 − ŷ)): "
    "its y = 0 term has the wrong sign": published_bce_with_logits,
    "the (1 − y) log(1 − ŷ) term is missing": _bce_variant(keep_neg=False),
    "the gradient has the wrong sign (y − σ(s) instead of σ(s) − y)": (
        _bce_variant(grad_sign=-1.0)
    ),
    "the loss and its gradient are summed over the batch, not averaged": (
        _bce_variant(reduce="sum")
    ),
    "the gradient is not divided by the batch size B": _bce_variant(
        per_b=False
    ),
}


def _bce_cases(seed):
    rng = np.random.default_rng(seed)
    big = np.array([-800.0, -40.0, 0.0, 35.0, 800.0, 2.0])
    return [
        dict(s=3 * rng.normal(size=8), y=rng.integers(0, 2, 8).astype(float)),
        dict(s=big, y=np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])),
    ]


def _finite(answer, s, y):
    """Incorrect if the answer is not finite for large logits."""
    with np.errstate(all="ignore"):
        loss, grad = checks.call_answer(answer, s, y, name="bce_with_logits")
    if not (np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))):
        raise Incorrect(
            "the loss or the gradient is not finite (inf or nan) for logits "
            f"as large as |s| = {np.abs(s).max():g}: log σ(s) = "
            "−log(1 + e^(−s)) overflows when computed as written. Use "
            "softplus: `np.logaddexp(0, s)` = log(1 + e^s)."
        )


@exercise(
    label="ch05-ex-bce",
    title="Binary cross-entropy from logits, and its gradient",
    kind="implement",
    solution=_solution_bce_with_logits,
    hints=[
        "With ŷ = σ(s): log ŷ = −softplus(−s) and log(1 − ŷ) = −softplus(s),"
        " where softplus(s) = log(1 + e^s). Simplify L = −[y log ŷ + (1 − y)"
        " log(1 − ŷ)]; the result is softplus(s) − y s.",
        "`np.logaddexp(0.0, s)` is softplus(s) without overflow. The "
        "derivative of softplus is σ, so ∂L/∂s = σ(s) − y, divided by B "
        "because the loss is a mean.",
    ],
)
def bce_with_logits(answer):
    """s, y ``(B,)`` -> (mean loss: float, ∂loss/∂s ``(B,)``)."""
    cases = _bce_cases(6)
    rest = ("bce_with_logits", ("loss", "grad"), _BCE_MISTAKES)
    _compare(answer, _torch_bce, cases[:1], *rest)  # moderate logits first
    _finite(answer, **cases[1])  # then: does it survive s = ±800?
    msg = _compare(answer, _torch_bce, cases, *rest)
    return msg + (
        " The reference is torch's binary_cross_entropy_with_logits, with "
        "logits up to ±800."
    )


# --- 3. Predict: the printed loss under the sign error ---


def _solution_sign_bug():
    # Run it: a short training with the published loss.
    kw = dict(seq_len=10, hidden_size=8, max_sequences=64 * 60, seed=0)
    res = train_memory_task(loss_sign_bug=True, **kw)
    h = res.history
    print(
        f"printed loss {h['loss'][0]:.2f} -> {h['loss'][-1]:.2f}, true BCE "
        f"{h['bce'][-1]:.2f}, test accuracy {res.accuracy:.1%}"
    )
    assert h["loss"][-1] < 0 < h["bce"][0] < h["bce"][-1]
    assert abs(np.mean(h["accuracy"][-20:]) - 0.5) < 0.1  # chance
    return "b"


@exercise(
    label="ch05-ex-sign",
    title="The printed loss under the sign error",
    kind="predict",
    solution=_solution_sign_bug,
    hints=[
        "Look at one sequence with y = 0. The published loss is then "
        "+log(1 − ŷ) instead of −log(1 − ŷ). Which ŷ minimises it, and "
        "what is its value there?",
        "With y = 1 the term is right, −log ŷ, and it also prefers ŷ → 1. "
        "So what does the network learn to say for every sequence?",
    ],
)
def sign_bug(answer):
    """The reader's choice among 'a', 'b', 'c', 'd'."""
    feedback = {
        "a": "It does fall, which is the trap — but not towards 0: it "
        "passes 0 and keeps going, and the accuracy never leaves chance.",
        "b": "For y = 0 the published term is +log(1 − ŷ), which goes to −∞ "
        "as ŷ → 1; for y = 1, −log ŷ also wants ŷ → 1. The network says "
        "'1' for every sequence, the printed loss falls without bound, the "
        "true BCE rises and the weights grow.",
        "c": "The optimiser descends the loss it is given, so that loss "
        "falls. It is the TRUE binary cross-entropy that rises.",
        "d": "The published loss has a direction that always lowers it "
        "(ŷ → 1 for every sequence), so the optimiser moves.",
    }
    return checks.check_choice(answer, "abcd", "b", feedback=feedback)


# --- 4. Predict: assignment instead of accumulation ---


def _solution_accumulate():
    # Run it: BPTT through an Elman chain h_t = tanh(W x_t + R h_{t-1} + b)
    # of T = 6 steps, L = Σ_t w · h_t, with `+=` (Gate) and `=`
    # (AssigningGate), the same weights. Step 1's input is x_1 = 0, so its
    # share δ_1 x_1ᵀ of ∂L/∂W is zero and the other steps' shares are not.
    right = Gate(3, 4, "tanh", rng=np.random.default_rng(0))  # D=3, H=4
    wrong = AssigningGate(3, 4, "tanh", rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    xs, w = rng.normal(size=(6, 2, 3)), rng.normal(size=4)  # (T, B, D)
    xs[0] = 0.0  # x_1 = 0
    for gate in (right, wrong):
        h = np.zeros((2, 4))  # h_0, (B, H)
        for x_t in xs:  # t = 1, ..., T
            h = gate.forward(x_t, h)
        dh = np.zeros_like(h)  # nothing comes back from step T + 1
        for _ in xs:  # t = T, ..., 1
            _, dh = gate.backward(w + dh)  # ∂L/∂h_t -> ∂L/∂h_{t-1}
    print(
        f"max |dW| with +=: {np.abs(right.dW).max():.3f}, "
        f"with =: {np.abs(wrong.dW).max():.3f}"
    )
    assert np.abs(right.dW).max() > 0.01  # += : the sum of the shares
    assert not wrong.dW.any()  # = : step 1's share is what is left, 0
    return "b"


class AssigningGate(Gate):
    """The mistake: every backward call *assigns* its step's share,
    ``self.dW = delta.T @ x``, instead of adding it (``+=``)."""

    def backward(self, grad_a):
        # drop what the earlier calls stored (zero_grad would also drop
        # the forward caches that backward still needs)
        self.dW, self.dR, self.db = (
            np.zeros_like(p) for p in (self.W, self.R, self.b)
        )
        return super().backward(grad_a)


@exercise(
    label="ch05-ex-accumulate",
    title="Assigning instead of accumulating",
    kind="predict",
    solution=_solution_accumulate,
    helpers=(AssigningGate,),
    hints=[
        "In which order does BPTT call the gates' backward: t = 1, 2, ..., "
        "T or t = T, T−1, ..., 1?",
        "With `self.dW = delta.T @ x` each call overwrites what the "
        "previous call left. Which call is the last one?",
    ],
)
def accumulate(answer):
    """The reader's choice among 'a', 'b', 'c', 'd'."""
    feedback = {
        "a": "Step T's share is computed first: BPTT walks backwards in "
        "time, so later calls overwrite it.",
        "b": "BPTT calls backward for t = T, T−1, ..., 1; with `=` every "
        "call overwrites the last, and step 1's share is what remains. "
        "The shared weight's gradient is the SUM over steps: `+=`.",
        "c": "That is what `+=` gives. With `=` each call overwrites what "
        "the call before it stored.",
        "d": "Nothing divides by T, with `=` or with `+=`.",
    }
    return checks.check_choice(answer, "abcd", "b", feedback=feedback)


# --- 5. Explore: the input-gate bias and saturation ---


def _solution_saturation(model, x, threshold=0.1):
    B, T, _ = x.shape
    h = np.zeros((B, model.hidden_size))
    c, frac = np.zeros_like(h), np.zeros(T)
    for t in range(T):
        h, c = model.step(x[:, t], h, c)  # c_t, (B, H)
        frac[t] = np.mean(1.0 - np.tanh(c) ** 2 < threshold)  # tanh′(c_t)
    model.zero_grad()  # drop the caches that step() kept
    return frac  # (T,): t = 1, ..., T


def saturation_by_input_bias(biases=(0.0, -1.0, -2.0, -3.0), T=100):
    """The figure: the saturated fraction of the 1997 cell (H = 32) at
    initialisation, 64 sequences of the memory task, per input-gate bias."""
    x, _ = memory_task_data(64, T, np.random.default_rng(0))  # (64, T, 1)
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    for bias in biases:
        cell = NumpyLSTM(1, 32, input_bias=bias, seed=0)
        frac = _solution_saturation(cell, x)  # (T,)
        ax.plot(range(1, T + 1), frac, label=f"bias {bias:g}")
    ax.set(xlabel="step $t$", ylabel="saturated fraction")
    ax.legend()
    return fig


def _cell_states(model, x):
    """c_1, ..., c_T ``(T, B, H)`` and h_1, ..., h_T from the equations."""
    p, sig = model.parameters(), sigmoid
    B, T, _ = x.shape
    h = c = np.zeros((B, model.hidden_size))
    cs, hs = [], []
    for t in range(T):
        s = {
            n: x[:, t] @ p[f"{n}.W"].T + h @ p[f"{n}.R"].T + p[f"{n}.b"]
            for n in model.gates
        }
        f = sig(s["f"]) if "f" in s else 1.0
        c = f * c + np.tanh(s["z"]) * sig(s["i"])
        h = np.tanh(c) * sig(s["o"])
        cs.append(c)
        hs.append(h)
    return np.array(cs), np.array(hs)


def _saturation_variant(use="c", shift=False, square_c=False, flip=False):
    def frac(model, x, threshold):
        cs, hs = _cell_states(model, x)
        a = hs if use == "h" else cs
        if shift:  # c_0, ..., c_{T-1}
            a = np.concatenate([np.zeros_like(a[:1]), a[:-1]])
        d = 1.0 - (a**2 if square_c else np.tanh(a) ** 2)
        return np.mean((d > threshold) if flip else (d < threshold), (1, 2))

    return frac


_SATURATION_MISTAKES = {
    "tanh′ is computed as 1 − c² instead of 1 − tanh²(c)": (
        _saturation_variant(square_c=True)
    ),
    "the states are shifted by one step (c_0, ..., c_{T-1})": (
        _saturation_variant(shift=True)
    ),
    "h_t is used instead of c_t": _saturation_variant(use="h"),
    "the test is reversed (the fraction NOT saturated)": (
        _saturation_variant(flip=True)
    ),
}


def _saturation_cases(seed):
    rng, cases = np.random.default_rng(seed), []
    for bias, forget, thr in [
        (0, False, 0.1),
        (-2, False, 0.3),
        (0, True, 0.2),
    ]:
        kw = dict(forget_gate=forget, input_bias=bias, seed=rng)
        model = NumpyLSTM(1, 6, **kw)  # H = 6
        x = 0.2 * rng.normal(size=(5, 60, 1))
        x[:, 0, 0] = rng.choice([-1.0, 1.0], 5)  # the first element
        cases.append(dict(model=model, x=x, threshold=thr))
    return cases


@exercise(
    label="ch05-ex-saturation",
    title="The input-gate bias and saturated cells",
    kind="explore",
    solution=_solution_saturation,
    demo=saturation_by_input_bias,
    explanation=(
        "With input bias 0 the 1997 cell adds about z ⊙ 0.5 at every step, "
        "so |c_t| grows with t and more and more units reach tanh′(c_t) ≈ "
        "0, where ∂h_t/∂c_t = o_t ⊙ tanh′(c_t) stops the gradient. A "
        "negative bias writes less per step: fewer units saturate. Too "
        "negative, and the cell hardly writes at all, so the first element "
        "leaves only a faint trace and the gradient into the input gate is "
        "small too: training is slow at both ends."
    ),
    hints=[
        "Start from h = c = zeros (B, H) and call `model.step(x[:, t], h, "
        "c)` for t = 0, ..., T−1; it returns the new (h, c).",
        "After each step, `np.mean(1 - np.tanh(c) ** 2 < threshold)` is "
        "the fraction of saturated (sequence, unit) pairs at that step.",
    ],
)
def saturation(answer):
    """model (NumpyLSTM), x ``(B, T, 1)``, threshold -> fractions ``(T,)``.

    The reference runs the cell's equations from the model's parameters.
    """

    def reference(model, x, threshold):
        cs = _cell_states(model, x)[0]  # (T, B, H)
        return np.mean(1.0 - np.tanh(cs) ** 2 < threshold, axis=(1, 2))

    msg = _compare(
        answer, reference, _saturation_cases(7), "saturation",
        ("saturation",), _SATURATION_MISTAKES,
    )  # fmt: skip
    return msg + " The reference runs the cell's equations."
