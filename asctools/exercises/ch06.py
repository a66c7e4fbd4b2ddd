"""Exercises of chapter 6, *RTRL and the LSTM learning method*.

``sensitivity_count`` (predict, then run), ``input_gate_step``
(implement), ``gradient_cosine`` (explore). NumPy and float64, batched as
in :mod:`asctools.handmade.rtrl`: x ``(B, D)``, h and c ``(B, H)``; the input
gate's sensitivities ``S = {"W": (B, H, D), "R": (B, H, H), "b": (B, H)}``
hold ∂c_n/∂W_nk, ∂c_n/∂R_nk and ∂c_n/∂b_n (the truncation makes every
other entry zero).
"""

from __future__ import annotations

import numpy as np

from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise
from asctools.handmade import (
    NumpyLSTM,
    TruncatedRTRL,
    bptt_loss_and_gradients,
    memory_task_data,
    rtrl_loss_and_gradients,
    sigmoid,
)

__all__ = [
    "sensitivity_count",
    "input_gate_step",
    "gradient_cosine",
    "cosine_by_length",
]


# --- 1. Predict: the sensitivities of one gate ---


def _solution_sensitivity_count():
    # Run it: the truncated learner of a cell with H = 32 and D = 4
    model = NumpyLSTM(4, 32, forget_gate=True, seed=0)
    rtrl = TruncatedRTRL(model)
    rtrl.reset(1)  # one sequence
    # S["W"] (1, 32, 4), S["R"] (1, 32, 32), S["b"] (1, 32)
    return sum(a.size for a in rtrl.S["i"].values())


@exercise(
    label="ch06-ex-count",
    title="How many sensitivities does one gate need?",
    kind="predict",
    solution=_solution_sensitivity_count,
    hints=[
        "Under the truncation, c_n(t) depends only on row n of each gate's "
        "weights: ∂c_n/∂W_jk = 0 for j ≠ n. So how many numbers are left "
        "per weight of the gate?",
        "One sensitivity per weight: the input gate has W_i (H × D), R_i "
        "(H × H) and b_i (H), with H = 32 and D = 4.",
    ],
)
def sensitivity_count(answer):
    """The reader's prediction: an int."""
    H, D = 32, 4
    expected = _solution_sensitivity_count()
    K = D + H + 1  # u = [x; h(t−1); 1]
    mistakes = {
        H**4: "H⁴ is the order of full RTRL's *work* per step for a fully "
        "recurrent network, not a count of stored entries, and the "
        "truncated method avoids it.",
        H * H * K: "that counts ∂c_n/∂W_jk for every unit n and every "
        "weight row j. Under the truncation c_n depends only on row n: "
        "the entries with j ≠ n are zero and need not be stored.",
        H * H * (D + H): "that counts every unit n against every weight "
        "row j (the diagonal structure removes the j ≠ n entries) and "
        "leaves out the bias.",
        H * (D + H): "the bias b_i is a parameter too (a weight on the "
        "constant input 1) and needs its H sensitivities.",
        2 * H * H * K: "that is full RTRL's count for one gate: every entry "
        "of the state [c; h] against every weight of the gate.",
        3 * expected: "that counts three gates (z, i, f). The question "
        "asks for one gate.",
        4 * expected: "that counts all four gates. The question asks for "
        "one gate (and the output gate needs no sensitivities).",
    }
    msg = checks.check_number(answer, expected, mistakes=mistakes)
    return msg + (
        f" One sensitivity per weight: H (D + H + 1) = 32 · 37. Full RTRL "
        f"would keep 2H · H (D + H + 1) = {2 * H * H * K:,} for this gate "
        "and update each by a (2H × 2H) Jacobian at every step."
    )


# --- 2. Implement: one sensitivity update of the input gate ---


def _solution_input_gate_step(x, h_prev, c_prev, S, params):
    def gate(name):  # the pre-activation W x + R h(t−1) + b, (B, H)
        W, R, b = params[name]
        return x @ W.T + h_prev @ R.T + b

    z = np.tanh(gate("z"))
    i, f, o = (1 / (1 + np.exp(-gate(n))) for n in "ifo")  # σ
    c = f * c_prev + z * i  # c(t) = f ⊙ c(t−1) + z ⊙ i
    h = np.tanh(c) * o  # h(t) = tanh(c(t)) ⊙ o
    q = z * i * (1 - i)  # q = ∂c/∂a_i = z ⊙ i ⊙ (1 − i), (B, H)
    S_new = {  # S(t) = f ⊙ S(t−1) + q uᵀ, u = [x; h(t−1); 1]
        "W": f[:, :, None] * S["W"] + q[:, :, None] * x[:, None, :],
        "R": f[:, :, None] * S["R"] + q[:, :, None] * h_prev[:, None, :],
        "b": f * S["b"] + q,
    }
    return h, c, S_new


def _step_variant(coef="i", h_in_R="prev", scale="old"):
    """The input gate's RTRL step with one of the usual mistakes.

    coef: "i" (right), "z_only" (no i(1 − i)), "cand" (the candidate's
    coefficient), "forget" (the forget gate's). h_in_R: "prev" or "new".
    scale: "old" (f ⊙ S + q u), "none" (S + q u), "all" (f ⊙ (S + q u)).
    """

    def step(x, h_prev, c_prev, S, params):
        def gate(name, phi):
            W, R, b = params[name]
            return phi(x @ W.T + h_prev @ R.T + b)

        z, i = gate("z", np.tanh), gate("i", sigmoid)
        f, o = gate("f", sigmoid), gate("o", sigmoid)
        c = f * c_prev + z * i
        h = np.tanh(c) * o
        q = {
            "i": z * i * (1 - i),
            "z_only": z,
            "cand": i * (1 - z * z),
            "forget": c_prev * f * (1 - f),
        }[coef]
        u_R = h_prev if h_in_R == "prev" else h  # (B, H)
        keep = np.ones_like(f) if scale == "none" else f  # scales S(t−1)
        add = f if scale == "all" else np.ones_like(f)  # scales q uᵀ
        K, A, Q = keep[:, :, None], add[:, :, None], q[:, :, None]
        new = {
            "W": K * S["W"] + A * Q * x[:, None, :],
            "R": K * S["R"] + A * Q * u_R[:, None, :],
            "b": keep * S["b"] + add * q,
        }
        return h, c, new

    return step


_STEP_MISTAKES = {
    "the factor i(1 − i) is missing (q = z instead of z ⊙ i ⊙ (1 − i))": (
        _step_variant(coef="z_only")
    ),
    "the new h(t) is used for the sensitivity of R instead of h(t−1)": (
        _step_variant(h_in_R="new")
    ),
    "the old sensitivities are not multiplied by the forget gate f (that "
    "is the 1997 cell's update, where f ≡ 1)": _step_variant(scale="none"),
    "f multiplies the new term too: f ⊙ (S + q uᵀ) instead of "
    "f ⊙ S + q uᵀ": _step_variant(scale="all"),
    "the candidate's coefficient i ⊙ (1 − z²) is used: that is the "
    "update of S for the weights of z, not of i": _step_variant(coef="cand"),
    "the forget gate's coefficient c(t−1) ⊙ f ⊙ (1 − f) is used: that is "
    "the update of S for the weights of f": _step_variant(coef="forget"),
}


def _package_step(x, h_prev, c_prev, S, params):
    """The same step by :class:`asctools.handmade.TruncatedRTRL`."""
    model = NumpyLSTM(x.shape[1], h_prev.shape[1], forget_gate=True, seed=0)
    for name, (W, R, b) in params.items():
        gate = model.gates[name]
        gate.W, gate.R, gate.b = W.copy(), R.copy(), b.copy()
    rtrl = TruncatedRTRL(model)
    rtrl.reset(len(x))
    rtrl.h, rtrl.c = h_prev.copy(), c_prev.copy()
    rtrl.S["i"] = {k: v.copy() for k, v in S.items()}
    h = rtrl.step(x.copy())
    return h, rtrl.c, rtrl.S["i"]


def _step_cases(seed, sizes):
    """Inputs of ``input_gate_step`` for each (B, D, H), float64."""
    rng = np.random.default_rng(seed)
    cases = []
    for B, D, H in sizes:
        params = {
            n: (
                rng.normal(0, 0.7, (H, D)),
                rng.normal(0, 0.7, (H, H)),
                rng.normal(0, 0.5, H),
            )
            for n in "zifo"
        }
        S = {
            "W": rng.normal(size=(B, H, D)),
            "R": rng.normal(size=(B, H, H)),
            "b": rng.normal(size=(B, H)),
        }
        x, c_prev = rng.normal(size=(B, D)), rng.normal(size=(B, H))
        h_prev = np.tanh(rng.normal(size=(B, H)))
        cases.append((x, h_prev, c_prev, S, params))
    return cases


def _copy_case(case):
    x, h_prev, c_prev, S, params = case
    S = {k: v.copy() for k, v in S.items()}
    params = {n: tuple(a.copy() for a in p) for n, p in params.items()}
    return x.copy(), h_prev.copy(), c_prev.copy(), S, params


def _compare_step(got, expected):
    """Raise Incorrect naming the first output of (h, c, S) that differs."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        kind = type(got).__name__
        raise Incorrect(f"return the triple (h, c, S_new), got a {kind}")
    h, c, S = got
    checks.compare_tensors(h, expected[0], "h(t)", rtol=1e-9, atol=1e-12)
    checks.compare_tensors(c, expected[1], "c(t)", rtol=1e-9, atol=1e-12)
    if not isinstance(S, dict) or set(S) != {"W", "R", "b"}:
        raise Incorrect(
            'S_new should be a dict with the keys "W", "R", "b", got '
            f"{S!r:.60}"
        )
    for k in ("W", "R", "b"):
        checks.compare_tensors(
            S[k], expected[2][k], f'S_new["{k}"]', rtol=1e-9, atol=1e-12
        )


def _step_mistake(case, got):
    """A sentence naming the first mistake whose result ``got`` matches."""
    for description, wrong in _STEP_MISTAKES.items():
        try:
            _compare_step(got, wrong(*_copy_case(case)))
        except Incorrect:
            continue
        return f"\nYour result matches what you get if {description}."
    return ""


@exercise(
    label="ch06-ex-step",
    title="One RTRL step for the input gate",
    kind="implement",
    solution=_solution_input_gate_step,
    hints=[
        "First the forward step of the modern cell: the four gates from "
        "x and h(t−1), then c(t) = f ⊙ c(t−1) + z ⊙ i and "
        "h(t) = tanh(c(t)) ⊙ o. Then the update of S, in which only "
        "h(t−1) appears (the truncation treats it as an input).",
        "S(t) = f ⊙ S(t−1) + q uᵀ row by row, with q = z ⊙ i ⊙ (1 − i) "
        "(B, H) and u = x for W, h(t−1) for R, 1 for b. With a batch: "
        "`f[:, :, None] * S['W'] + q[:, :, None] * x[:, None, :]`.",
    ],
)
def input_gate_step(answer):
    """(x (B, D), h_prev, c_prev (B, H), S, params) -> (h, c, S_new);
    params = {"z": (W, R, b), "i": ..., "f": ..., "o": ...}."""
    cases = _step_cases(6, [(3, 2, 4), (2, 3, 3), (1, 1, 5)])  # (B, D, H)
    for n, case in enumerate(cases):
        expected = _package_step(*_copy_case(case))
        got = checks.call_answer(
            answer, *_copy_case(case), name="input_gate_step"
        )
        try:
            _compare_step(got, expected)
        except Incorrect as exc:
            B, D = case[0].shape
            where = f"\n(test case {n + 1} of 3: B={B}, D={D}, "
            where += f"H={case[1].shape[1]})"
            raise Incorrect(
                str(exc) + where + _step_mistake(case, got)
            ) from None
    return (
        "h(t), c(t) and the input gate's sensitivities match "
        "asctools.handmade.TruncatedRTRL in 3 test cases."
    )


# --- 3. Explore: how far the truncated gradient is from the exact one ---


def _solution_gradient_cosine(model, x, y):
    rtrl_loss_and_gradients(model, x, y)  # the truncated gradient
    a = np.concatenate([g.ravel() for g in model.gradients().values()])
    bptt_loss_and_gradients(model, x, y)  # the exact gradient
    b = np.concatenate([g.ravel() for g in model.gradients().values()])
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def cosine_by_length(seq_lens=(10, 25, 50, 100, 200)):
    """The cosine of the truncated and the exact gradient at
    initialisation (H = 8, input bias −2, 64 sequences of the memory
    task of each length), for the 1997 cell and for the modern cell
    (forget bias 1). Prints them; returns {forget_gate: [cosine per T]}."""
    cosines = {}
    for forget_gate in (False, True):
        rng = np.random.default_rng(0)
        net = NumpyLSTM(1, 8, forget_gate, input_bias=-2.0, seed=rng)
        cosines[forget_gate] = [
            _solution_gradient_cosine(net, *memory_task_data(64, T, rng))
            for T in seq_lens
        ]
        print("forget gate", forget_gate, np.round(cosines[forget_gate], 5))
    return cosines


def _gradient_pair(model, x, y):
    """{name: (truncated, exact)} gradients, copied."""
    rtrl_loss_and_gradients(model, x, y)
    trunc = {k: v.copy() for k, v in model.gradients().items()}
    bptt_loss_and_gradients(model, x, y)
    return {k: (trunc[k], v.copy()) for k, v in model.gradients().items()}


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _cosine_mistakes(pairs):
    """Values that the usual mistakes give, with what they mean."""
    a = np.concatenate([p[0].ravel() for p in pairs.values()])
    b = np.concatenate([p[1].ravel() for p in pairs.values()])
    nb = np.linalg.norm(b)
    per = [_cos(t.ravel(), e.ravel()) for t, e in pairs.values()]
    gates = [k for k in pairs if not k.startswith("out.")]
    ga = np.concatenate([pairs[k][0].ravel() for k in gates])
    gb = np.concatenate([pairs[k][1].ravel() for k in gates])
    return {
        float(a @ b): "that is the dot product g_trunc · g_exact: divide "
        "by both norms for the cosine.",
        float(np.linalg.norm(a - b) / nb): "that is the relative "
        "difference ‖g_trunc − g_exact‖ / ‖g_exact‖, not the cosine.",
        float(np.mean(per)): "that is the mean of one cosine per parameter "
        "array. Concatenate all the gradients into one vector first.",
        _cos(ga, gb): "the "
        "read-out's gradients (out.w, out.b) are missing from the vectors.",
        float(
            np.linalg.norm(a) / nb
        ): "that is the ratio of the norms, not the cosine.",
        1.0: "1 means that the two vectors are the same: compare the "
        "truncated gradient (rtrl_loss_and_gradients) with the exact one "
        "(bptt_loss_and_gradients).",
    }


@exercise(
    label="ch06-ex-cosine",
    title="How far does T go with RTRL?",
    kind="explore",
    solution=_solution_gradient_cosine,
    demo=cosine_by_length,
    hints=[
        "`rtrl_loss_and_gradients(model, x, y)` leaves the truncated "
        "gradient in `model.gradients()`, `bptt_loss_and_gradients` the "
        "exact one: flatten the first into a vector before you compute the "
        "second.",
        "Flatten each into one vector, "
        "`np.concatenate([g.ravel() for g in model.gradients().values()])`, "
        "and return a · b / (‖a‖ ‖b‖) as a float.",
    ],
)
def gradient_cosine(answer):
    """gradient_cosine(model, x (B, T, 1), y (B,)) -> float in [−1, 1]."""
    configs = [(False, 4, 30, 0), (True, 3, 12, 1), (False, 5, 60, 2)]
    for forget_gate, H, T, seed in configs:  # the 1997 and the modern cell
        rng = np.random.default_rng(seed)
        model = NumpyLSTM(1, H, forget_gate, input_bias=-2.0, seed=rng)
        x = rng.normal(0, 0.2, (8, T, 1))
        x[:, 0, 0] = rng.choice([-1.0, 1.0], 8)  # the first-element task
        y = (x[:, 0, 0] > 0).astype(float)
        before = {k: v.copy() for k, v in model.parameters().items()}
        pairs = _gradient_pair(model, x, y)
        expected = _solution_gradient_cosine(model, x, y)
        got = checks.call_answer(answer, model, x, y, name="gradient_cosine")
        if any(
            not np.array_equal(v, before[k])
            for k, v in model.parameters().items()
        ):
            raise Incorrect("gradient_cosine changed the model's weights.")
        if isinstance(got, np.ndarray) and got.size == 1:
            got = got.item()
        where = f" (cell {'with' if forget_gate else 'without'} forget "
        where += f"gate, H = {H}, T = {T})"
        try:
            checks.check_number(
                got,
                expected,
                rtol=1e-8,
                atol=1e-12,
                mistakes=_cosine_mistakes(pairs),
            )
        except Incorrect as exc:
            raise Incorrect(f"{exc}{where}; expected {expected:.6f}") from None
    return (
        "Your cosine matches the truncated and the exact gradients in 3 "
        "cases, with and without a forget gate."
    )
