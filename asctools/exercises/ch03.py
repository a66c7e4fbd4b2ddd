"""Exercises of chapter 3, *The LSTM*.

``lstm_cell`` (implement), ``lstm_params`` and ``cell_drift`` (predict,
then run), ``set_forget_bias`` (explore). PyTorch's layout throughout: the
gates i, f, g, o are the four row blocks of ``weight_ih`` (4H, D) and
``weight_hh`` (4H, H), and W x is computed as ``x @ W.T``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.func import functional_call

from asctools import nn as anx
from asctools.dataset import adding_problem
from asctools.exercises import checks
from asctools.exercises.core import Incorrect, exercise
from asctools.gradflow import hidden_grad_norms
from asctools.models import RecurrentModel
from asctools.plots import plot_grad_norms
from asctools.utils import set_seed

__all__ = [
    "lstm_cell",
    "lstm_params",
    "cell_drift",
    "constant_input_peaks",
    "drift_experiment",
    "set_forget_bias",
    "forget_bias_experiment",
]

_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _randn(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


# --- 1. One LSTM step from the fused matrices ---


def _solution_lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    # all four gates in one product: (B, 4H), blocks i, f, g, o
    z = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = z.chunk(4, dim=-1)  # (B, H) each
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.tanh(g)  # the candidate is a tanh, not a gate
    c_next = f * c + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_next = o * torch.tanh(c_next)  # h_t = o_t ⊙ tanh(c_t)
    return h_next, c_next


def _torch_lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch.nn.LSTMCell run with these parameters; returns (h', c')."""
    with torch.random.fork_rng(devices=[]):  # its init draws numbers
        cell = nn.LSTMCell(x.shape[1], h.shape[1], dtype=x.dtype)
    values = (weight_ih, weight_hh, bias_ih, bias_hh)
    params = dict(zip(_NAMES, values, strict=True))
    return functional_call(cell, params, (x, (h, c)))


def _cell_variant(
    order="ifgo",
    act_o=torch.sigmoid,
    act_g=torch.tanh,
    hh_bias=True,
    old_c=False,
    swap_out=False,
):
    """An LSTM step with one of the usual mistakes."""

    def step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
        z = x @ weight_ih.T + bias_ih + h @ weight_hh.T
        z = z + bias_hh if hh_bias else z
        blocks = dict(zip(order, z.chunk(4, dim=-1), strict=True))
        i, f = torch.sigmoid(blocks["i"]), torch.sigmoid(blocks["f"])
        g, o = act_g(blocks["g"]), act_o(blocks["o"])
        c_next = f * c + i * g
        h_next = o * torch.tanh(c if old_c else c_next)
        return (c_next, h_next) if swap_out else (h_next, c_next)

    return step


_CELL_MISTAKES = {
    "the i and f blocks are swapped (`f, i, g, o = z.chunk(4, dim=-1)`)": (
        _cell_variant(order="figo")
    ),
    "the g and o blocks are swapped (order i, f, o, g)": _cell_variant(
        order="ifog"
    ),
    "the output gate uses tanh instead of σ": _cell_variant(act_o=torch.tanh),
    "the candidate g uses σ instead of tanh": _cell_variant(
        act_g=torch.sigmoid
    ),
    "`bias_hh` is left out": _cell_variant(hh_bias=False),
    "h' is computed from the old cell state c instead of the new c'": (
        _cell_variant(old_c=True)
    ),
    "(c', h') is returned instead of (h', c')": _cell_variant(swap_out=True),
}


def _cell_cases(seed, sizes):
    """x (B, D), h, c (B, H), weight_ih (4H, D), weight_hh (4H, H), biases."""
    gen = torch.Generator().manual_seed(seed)
    return [
        {
            "x": _randn(gen, B, D),
            "h": _randn(gen, B, H),
            "c": _randn(gen, B, H),
            "weight_ih": _randn(gen, 4 * H, D, scale=0.5),
            "weight_hh": _randn(gen, 4 * H, H, scale=0.5),
            "bias_ih": _randn(gen, 4 * H, scale=0.5),
            "bias_hh": _randn(gen, 4 * H, scale=0.5),
        }
        for B, D, H in sizes
    ]


@exercise(
    label="ch03-ex-cell",
    title="One LSTM step from the fused matrices",
    kind="implement",
    solution=_solution_lstm_cell,
    hints=[
        "One product gives all four pre-activations: "
        "z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, of shape (B, 4H). Its four "
        "column blocks, in PyTorch's order, belong to i, f, g, o.",
        "`i, f, g, o = z.chunk(4, dim=-1)`; σ for i, f, o and tanh for g; "
        "then c' = f ⊙ c + i ⊙ g, and h' = o ⊙ tanh(c') uses the NEW c'.",
        "Return the pair `(h_next, c_next)`, in that order, like "
        "torch.nn.LSTMCell.",
    ],
)
def lstm_cell(answer):
    """x (B, D), h, c (B, H), weight_ih (4H, D), weight_hh (4H, H),
    bias_ih, bias_hh (4H,) -> (h', c'), each (B, H)."""
    cases = _cell_cases(3, [(3, 4, 5), (2, 6, 3), (1, 2, 4)])  # (B, D, H)
    ref_name = "torch.nn.LSTMCell"
    kw = dict(name="lstm_cell", mistakes=_CELL_MISTAKES, ref_name=ref_name)
    return checks.compare_functions(answer, _torch_lstm_cell, cases, **kw)


# --- 2. Predict: the parameters of nn.LSTM(10, 20, num_layers=2) ---


def _solution_lstm_params():
    lstm = torch.nn.LSTM(input_size=10, hidden_size=20, num_layers=2)
    # every weight and bias stacks the four gates i, f, g, o: 4H = 80 rows
    # layer 0: weight_ih_l0 (80, 10), weight_hh_l0 (80, 20), 2 biases (80,)
    # layer 1: weight_ih_l1 (80, 20) reads h of layer 0, weight_hh_l1,
    # 2 biases
    by_hand = (80 * 10 + 80 * 20 + 2 * 80) + (80 * 20 + 80 * 20 + 2 * 80)
    counted = sum(p.numel() for p in lstm.parameters())
    assert counted == by_hand  # 2560 + 3360
    return counted


@exercise(
    label="ch03-ex-params",
    title="Parameters of nn.LSTM(10, 20, num_layers=2)",
    kind="predict",
    solution=_solution_lstm_params,
    hints=[
        "Each layer has weight_ih, weight_hh, bias_ih and bias_hh, and each "
        "of them stacks the four gates i, f, g, o: 4H rows.",
        "The second layer's input is the first layer's hidden state h "
        "(size H = 20), not x (size D = 10).",
    ],
)
def lstm_params(answer):
    """The reader's prediction: an int."""
    D, H = 10, 20
    with torch.random.fork_rng(devices=[]):  # nn.LSTM's init draws numbers
        expected = _solution_lstm_params()
    G = 4 * H  # rows of every weight and bias: four gates
    layer0, layer1 = G * (D + H), G * (H + H)  # weights only
    mistakes = {
        layer0 + layer1 + 2 * G: "that counts one bias vector per layer; "
        "nn.LSTM has two, `bias_ih_l{k}` and `bias_hh_l{k}`.",
        layer0 + layer1: "that leaves out the biases.",
        2 * (layer0 + 2 * G): "the second layer reads the first layer's h "
        "(20 values), not x (10): `weight_ih_l1` is (80, 20).",
        layer0 + 2 * G: "that is one layer; num_layers=2 stacks two.",
        expected // 4: "every weight and bias stacks FOUR gates: 4H = 80 "
        "rows, not H = 20.",
    }
    msg = checks.check_number(answer, expected, mistakes=mistakes)
    return msg + (
        " Layer 0: 80·10 + 80·20 + 2·80 = 2560; layer 1: 80·20 + 80·20 "
        "+ 2·80 = 3360."
    )


# --- 3. Predict: the 1997 cell's state on a constant input ---


def _solution_cell_drift():
    # Run it: the 1997 cell, c_t = c_{t-1} + i_t ⊙ g_t (no forget gate),
    # 1000 steps of one constant input, random weights.
    peak = constant_input_peaks(forget_gate=False, steps=1000)
    print(
        f"max_k |c_t,k| at t = 500: {peak[499]:.1f}, "
        f"at t = 1000: {peak[999]:.1f}"
    )
    # twice the steps, twice the size: c grows linearly in t
    assert 1.9 < peak[999] / peak[499] < 2.1
    return "c"


def constant_input_peaks(forget_gate, steps=1000, seed=0):
    """max_k |c_t,k| for t = 1, ..., steps of an LSTM cell (D = 4, H = 8)
    with random weights, fed the same input at every step. Without a
    forget gate it is the 1997 cell: f ≡ 1."""
    gen = torch.Generator().manual_seed(seed)
    D, H = 4, 8
    W_ih = 0.5 * torch.randn(4 * H, D, generator=gen)  # (4H, D)
    W_hh = 0.5 * torch.randn(4 * H, H, generator=gen)  # (4H, H)
    x = torch.randn(1, D, generator=gen)  # the same x_t at every step
    h, c, peak = torch.zeros(1, H), torch.zeros(1, H), []
    for _ in range(steps):
        z = x @ W_ih.T + h @ W_hh.T  # (1, 4H), blocks i, f, g, o
        i, f, g, o = z.chunk(4, dim=-1)  # (1, H) each
        f = torch.sigmoid(f) if forget_gate else 1.0  # 1997: f ≡ 1
        c = f * c + torch.sigmoid(i) * torch.tanh(g)  # c_t = f c + i g
        h = torch.sigmoid(o) * torch.tanh(c)  # h_t = o ⊙ tanh(c_t)
        peak.append(c.abs().max().item())  # max_k |c_t,k|
    return peak


def drift_experiment(steps=1000):
    """The figure: max_k |c_t,k| against t, the 1997 cell and the cell
    with a forget gate, the same weights and the same constant input."""
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    for forget_gate in (False, True):
        label = "with forget gate" if forget_gate else "1997, no forget gate"
        peak = constant_input_peaks(forget_gate, steps)
        ax.plot(range(1, steps + 1), peak, label=label)
    # log scale: the settled cell's small |c| shows next to the growing one
    ax.set(xlabel="step $t$", ylabel="$\\max_k |c_{t,k}|$", yscale="log")
    ax.legend()
    return fig


@exercise(
    label="ch03-ex-drift",
    title="The 1997 cell on a long constant input",
    kind="predict",
    solution=_solution_cell_drift,
    helpers=(constant_input_peaks,),
    demo=drift_experiment,
    hints=[
        "With a constant input, h soon stops changing, and so do i and g: "
        "each step then adds the same i ⊙ g to c.",
        "Nothing in c_t = c_{t-1} + i_t ⊙ g_t ever takes anything away "
        "from c. Compare the modern cell, where f < 1 shrinks c each step.",
    ],
)
def cell_drift(answer):
    """The reader's choice among 'a', 'b', 'c', 'd'."""
    feedback = {
        "a": "h = o ⊙ tanh(c) stays in (−1, 1), but c itself is not "
        "squashed: nothing bounds c_t = c_{t-1} + i ⊙ g.",
        "b": "That is the modern cell: with f < 1 the state settles where "
        "f ⊙ c + i ⊙ g = c. Without a forget gate nothing balances i ⊙ g.",
        "c": "Each step adds about the same i ⊙ g, so |c_t| grows like t "
        "and tanh(c_t) saturates at ±1: what the cell writes no longer "
        "shows in h_t, and the gradient through tanh′(c_t) vanishes. Gers "
        "et al. (2000) added the forget gate for this.",
        "d": "Growing exponentially would need c multiplied by a factor "
        "above 1 each step; here ∂c_t/∂c_{t-1} = I along the cell state, "
        "so c grows by a bounded amount per step: linearly.",
    }
    correct = checks.rerun_quietly(_solution_cell_drift)
    return checks.check_choice(answer, "abcd", correct, feedback=feedback)


# --- 4. Explore: the forget-gate bias ---


def _solution_set_forget_bias(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():  # an in-place change, not part of any graph
        for k in range(lstm.num_layers):
            # gate order i, f, g, o: the forget gate is rows H:2H
            getattr(lstm, f"bias_ih_l{k}")[H : 2 * H] = value
            getattr(lstm, f"bias_hh_l{k}")[H : 2 * H] = 0.0  # b_if + b_hf


def forget_bias_experiment(biases=(-2.0, 0.0, 1.0, 3.0, 10.0), T=200):
    """The figure: ‖∂L/∂c_t‖ relative to t = T of a fresh LSTM (H = 64)
    on the adding problem, one curve per forget-gate bias b_f; float64,
    since float32 underflows below ~1e-45 and would draw a cliff there."""
    x, y = adding_problem(64, T, seed=0)  # (64, T, 2), (64, 1)
    x, y = x.double(), y.double()
    results = {}
    for b_f in biases:
        set_seed(0)  # the same weights for every b_f
        model = RecurrentModel(2, 64, 1, kind="lstm").double()
        _solution_set_forget_bias(model.rnn, b_f)
        results[f"$b_f$ = {b_f:g}"] = hidden_grad_norms(model, x, y)
    fig, _ = plot_grad_norms(results, which="c", relative=True)
    return fig


def _biases(lstm, k, H):
    """Layer k's gate biases b_ih + b_hh as (4, H): rows i, f, g, o."""
    b_ih = lstm.get_parameter(f"bias_ih_l{k}")
    return (b_ih + lstm.get_parameter(f"bias_hh_l{k}")).detach().view(4, H)


def _diagnose_layer(lstm, before, k, value):
    """Raise Incorrect saying what is wrong with layer k's biases."""
    H, name = lstm.hidden_size, f"layer {k}"
    now, old = _biases(lstm, k, H), _biases(before, k, H)  # (4, H)
    target = torch.full((H,), float(value), dtype=now.dtype)
    b_ih = lstm.get_parameter(f"bias_ih_l{k}").detach()
    if torch.allclose(now, old):
        if k > 0 and not torch.allclose(
            _biases(lstm, 0, H), _biases(before, 0, H)
        ):
            raise Incorrect(
                f"only layer 0 was changed; every layer k has its own "
                f"`bias_ih_l{k}` and `bias_hh_l{k}` (here num_layers="
                f"{lstm.num_layers})."
            )
        raise Incorrect(
            f"the biases of {name} did not change: set them in place, "
            "e.g. `lstm.bias_ih_l0[H:2*H] = value` inside `torch.no_grad()`."
        )
    if torch.allclose(now[1], 2 * target):
        raise Incorrect(
            f"{name}: the forget gate sees b_if + b_hf = {2 * value:g}: both "
            "`bias_ih` and `bias_hh` were set to the value. Set one of them "
            "to the value and the other one's rows to 0."
        )
    if torch.allclose(b_ih[H : 2 * H], target):
        raise Incorrect(
            f"{name}: `bias_ih_l{k}[H:2H]` is right, but `bias_hh_l{k}"
            "[H:2H]` still holds its random initial values, and the gate "
            "sees the sum b_if + b_hf. Set those rows of bias_hh to 0."
        )
    for row, gate in ((0, "i"), (2, "g"), (3, "o")):
        if torch.allclose(now[row], target):
            raise Incorrect(
                f"{name}: you set the bias of gate {gate}. PyTorch's order "
                "is i, f, g, o: the forget gate f is rows H:2H "
                "(`[H : 2 * H]`)."
            )
    checks.compare_tensors(now[1], target, f"{name}'s b_if + b_hf")


def _check_bias_case(answer, module, L, D, H, value):
    """Run ``answer`` on a fresh LSTM; raise Incorrect if it is wrong."""
    kw = {"num_layers": L, "dtype": torch.float64}
    with torch.random.fork_rng(devices=[]):  # the init draws numbers
        lstm, before = module(D, H, **kw), module(D, H, **kw)
    before.load_state_dict(lstm.state_dict())
    answer(lstm, value)  # changes lstm in place; the return is ignored
    others = torch.tensor([True, False, True, True])  # rows i, g, o
    for k in range(L):
        now, old = _biases(lstm, k, H), _biases(before, k, H)  # (4, H)
        if not torch.allclose(now[1], torch.full_like(now[1], value)):
            _diagnose_layer(lstm, before, k, value)
        if not torch.allclose(now[others], old[others]):
            raise Incorrect(
                f"layer {k}: the biases of the gates i, g or o changed; "
                "only the forget gate's rows H:2H should."
            )
    for name, p in lstm.named_parameters():
        if name.startswith("weight") and not torch.equal(
            p, before.get_parameter(name)
        ):
            raise Incorrect(f"`{name}` changed; only biases should.")


@exercise(
    label="ch03-ex-forget-bias",
    title="Set the forget-gate bias",
    kind="explore",
    solution=_solution_set_forget_bias,
    demo=forget_bias_experiment,
    explanation=(
        "The forget gate sees b_if + b_hf, so one of the two bias vectors "
        "gets the value and the other gets 0 in rows H:2H. At "
        "initialisation f ≈ σ(b_f): b_f = −2 closes the cell state's path "
        "(f ≈ 0.12) and the gradient is gone within a few steps; b_f = 0 "
        "(f ≈ 0.5) halves it at every step; b_f = 1 and 3 carry it further "
        "and further. With b_f = 10, f ≈ 1: nothing decays, and the "
        "gradient reaching c_1 can exceed the one at c_T, because every "
        "step's paths through the gates add to the carousel. But such a "
        "cell can hardly forget: the forget gate must learn to close."
    ),
    hints=[
        "PyTorch's gate order is i, f, g, o: the forget gate's biases are "
        "entries H:2H of `bias_ih_l{k}` and of `bias_hh_l{k}`, for every "
        "layer k in `range(lstm.num_layers)`.",
        "The gate sees the SUM b_if + b_hf. Inside `with torch.no_grad():` "
        "set `getattr(lstm, f'bias_ih_l{k}')[H:2*H] = value` and the same "
        "rows of bias_hh to 0.",
    ],
)
def set_forget_bias(answer):
    """``answer(lstm, value)`` changes a torch.nn / asctools.nn LSTM's
    biases in place so that b_if + b_hf = value in every layer."""
    if not callable(answer):
        kind = type(answer).__name__
        raise Incorrect(f"`set_forget_bias` should be a function, got {kind}")
    cases = [  # (module, num_layers, D, H, value)
        (nn.LSTM, 1, 3, 5, 1.0),
        (nn.LSTM, 3, 2, 4, 2.5),
        (anx.LSTM, 2, 3, 3, -1.5),
    ]
    for module, L, D, H, value in cases:
        _check_bias_case(answer, module, L, D, H, value)
    return (
        "b_if + b_hf has the value in every layer (torch.nn.LSTM and "
        "asctools.nn.LSTM), and nothing else changed."
    )
