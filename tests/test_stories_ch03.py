"""Chapter 3's stories. Its measurements are deterministic (fixed networks
at initialisation, no training), so they are recomputed here, in float64
as the chapter computes them."""

import numpy as np

import asctools
from asctools.dataset import adding_problem
from asctools.gradflow import grad_ratio, hidden_grad_norms
from asctools.models import RecurrentModel


def _norms():
    x, y = adding_problem(64, 100, seed=0)
    x, y = x.double(), y.double()
    out = {}
    for b_f in (None, 1.0, 3.0):
        asctools.set_seed(0)
        model = RecurrentModel(2, 64, 1, kind="lstm", forget_bias=b_f)
        out[b_f] = hidden_grad_norms(model.double(), x, y)
    asctools.set_seed(0)
    rnn = RecurrentModel(2, 64, 1, kind="rnn").double()
    return out, hidden_grad_norms(rnn, x, y)


def test_the_forget_bias_orders_the_cell_state_gradient():
    lstm, rnn = _norms()
    r = {b: grad_ratio(n, 50, which="c") for b, n in lstm.items()}
    assert r[3.0] > r[1.0] > r[None]
    assert r[3.0] > 0.1  # "with b_f = 3 it keeps" a sizeable share
    # "about as little as the tanh RNN's": within three orders of magnitude
    assert abs(np.log10(r[None]) - np.log10(grad_ratio(rnn, 50))) < 3
    # float64: no curve falls to the underflow floor
    for n in (*lstm.values(), rnn):
        values = n.grad_c_norm if n.grad_c_norm is not None else n.grad_h_norm
        assert values.min() > 1e-300
