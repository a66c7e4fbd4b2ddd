"""asctools.gradflow against hand-unrolled torch, autograd and closed forms."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import asctools.nn as anl
from asctools import experiments as xp
from asctools import gradflow as gf
from asctools import rnn as step_rnn
from asctools.models import RecurrentModel

torch.set_num_threads(1)
B, T, D, H = 3, 7, 2, 4
LAYERS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
ASC_LAYERS = {"rnn": anl.RNN, "lstm": anl.LSTM, "gru": anl.GRU}


# ---------------------------------------------------------------- reference
def ref_cell(kind, x_t, h, c, w_ih, w_hh, b_ih, b_hh, act="tanh"):
    """One step written out with plain torch ops (PyTorch's layout)."""
    gi, gh = x_t @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    n_h = h.shape[1]
    if kind == "rnn":
        a = gi + gh
        return (torch.tanh(a) if act == "tanh" else torch.relu(a)), c
    if kind == "lstm":
        i, f, g, o = (gi + gh).split(n_h, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    r = torch.sigmoid(gi[:, :n_h] + gh[:, :n_h])
    z = torch.sigmoid(gi[:, n_h : 2 * n_h] + gh[:, n_h : 2 * n_h])
    n = torch.tanh(gi[:, 2 * n_h :] + r * gh[:, 2 * n_h :])
    return (1 - z) * n + z * h, c


def ref_unroll(kind, layer, x, h0=None):
    """Batch-first top outputs and every layer's states [k][t], t=1..T."""
    inp, hs_all, cs_all = x, [], []
    act = getattr(layer, "nonlinearity", "tanh")
    for k in range(layer.num_layers):
        p = [
            getattr(layer, f"{n}_l{k}")
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        h = x.new_zeros(x.shape[0], H) if h0 is None else h0[k]
        c = x.new_zeros(x.shape[0], H)
        hs, cs = [], []
        for t in range(x.shape[1]):
            h, c = ref_cell(kind, inp[:, t], h, c, *p, act)
            hs.append(h)
            cs.append(c)
        hs_all.append(hs)
        cs_all.append(cs)
        inp = torch.stack(hs, dim=1)
    return inp, hs_all, cs_all


def ref_norms(loss, states):
    """(B, T) per-sequence norms B·‖∂L/∂s_t^(b)‖ by autograd.grad."""
    grads = torch.autograd.grad(loss, states)
    return np.stack([len(g) * g.norm(dim=1).numpy() for g in grads], 1)


def ref_loss(out, target, loss_at):
    if target is None:
        return out[:, -1].sum() / out.shape[0]
    if loss_at == "last":
        return F.mse_loss(out[:, -1], target)
    return F.mse_loss(out, target)


def make_layer(kind, num_layers=1, act="tanh", cls=None, seed=0):
    torch.manual_seed(seed)
    cls = cls or LAYERS[kind]
    kw = {"nonlinearity": act} if kind == "rnn" else {}
    return cls(D, H, num_layers=num_layers, batch_first=True, **kw).double()


def data(seed=1, every=False, k=H):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    shape = (B, T, k) if every else (B, k)
    return x, torch.randn(*shape, generator=g, dtype=torch.float64)


# ----------------------------------------------------- per-step grad norms
CASES = [(k, n, a) for k in LAYERS for n in (1, 2) for a in ("last", "every")]


@pytest.mark.parametrize("kind,num_layers,loss_at", CASES)
def test_norms_match_hand_unrolled_reference(kind, num_layers, loss_at):
    layer = make_layer(kind, num_layers)
    x, y = data(every=loss_at == "every")
    for k in range(num_layers):
        out, hs, _ = ref_unroll(kind, layer, x)
        torch.testing.assert_close(out, layer(x)[0])  # the reference is right
        res = gf.hidden_grad_norms(layer, x, y, loss_at=loss_at, layer=k)
        want_h = ref_norms(ref_loss(out, y, loss_at), hs[k])
        np.testing.assert_allclose(res.per_sequence_h, want_h, rtol=1e-10)
        np.testing.assert_allclose(res.grad_h_norm, want_h.mean(0))
        np.testing.assert_array_equal(res.t, np.arange(1, T + 1))
        if kind == "lstm":
            out, _, cs = ref_unroll(kind, layer, x)
            want_c = ref_norms(ref_loss(out, y, loss_at), cs[k])
            np.testing.assert_allclose(res.per_sequence_c, want_c, rtol=1e-10)
        else:
            assert res.grad_c_norm is None


@pytest.mark.parametrize("kind", list(LAYERS))
def test_no_target_loss_and_initial_state(kind):
    layer = make_layer(kind, 2)
    x, _ = data()
    h0 = torch.randn(2, B, H, dtype=torch.float64)
    state = (h0, torch.zeros_like(h0)) if kind == "lstm" else h0
    out, hs, _ = ref_unroll(kind, layer, x, h0)
    res = gf.hidden_grad_norms(layer, x, state=state)
    want = ref_norms(ref_loss(out, None, "last"), hs[1])
    np.testing.assert_allclose(res.per_sequence_h, want, rtol=1e-10)
    assert res.loss == pytest.approx(float(out[:, -1].sum().detach() / B))


def test_relu_rnn_and_batch_first_false():
    layer = make_layer("rnn", 1, act="relu")
    x, y = data(every=True)
    out, hs, _ = ref_unroll("rnn", layer, x)
    want = ref_norms(ref_loss(out, y, "every"), hs[0])
    res = gf.hidden_grad_norms(layer, x, y, loss_at="every")
    np.testing.assert_allclose(res.per_sequence_h, want, rtol=1e-10)
    seq_first = torch.nn.RNN(D, H, nonlinearity="relu").double()
    seq_first.load_state_dict(layer.state_dict())
    res2 = gf.hidden_grad_norms(
        seq_first, x.transpose(0, 1), y.transpose(0, 1), loss_at="every"
    )
    np.testing.assert_allclose(res2.per_sequence_h, want, rtol=1e-10)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_asctools_nn_layers_give_torch_nn_results(kind):
    ref = make_layer(kind, 2)
    ours = make_layer(kind, 2, cls=ASC_LAYERS[kind])
    ours.load_state_dict(ref.state_dict())
    x, y = data(every=True)
    a = gf.hidden_grad_norms(ref, x, y, loss_at="every")
    b = gf.hidden_grad_norms(ours, x, y, loss_at="every")
    np.testing.assert_allclose(b.per_sequence_h, a.per_sequence_h, rtol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(b.grad_c_norm, a.grad_c_norm, rtol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_model_with_cross_entropy(kind):
    torch.manual_seed(0)
    model = RecurrentModel(D, H, 3, kind=kind, num_layers=2).double()
    x, _ = data()
    y = torch.randint(0, 3, (B, T))
    out, hs, _ = ref_unroll(kind, model.rnn, x)
    logits = model.readout(out)  # (B, T, 3)
    loss = F.cross_entropy(logits.reshape(B * T, 3), y.reshape(-1))
    res = gf.hidden_grad_norms(model, x, y, loss_at="every")
    np.testing.assert_allclose(
        res.per_sequence_h, ref_norms(loss, hs[1]), rtol=1e-10
    )


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_stepwise_models(kind):
    torch.manual_seed(0)
    cls = step_rnn.RNN if kind == "rnn" else step_rnn.LSTM
    model = cls(D, H, 2).double()
    x, y = data(k=2)
    p = (model.weight_ih, model.weight_hh, model.bias_ih, model.bias_hh)
    h, c, hs, cs = x.new_zeros(B, H), x.new_zeros(B, H), [], []
    for t in range(T):
        h, c = ref_cell(kind, x[:, t], h, c, *p)
        hs.append(h)
        cs.append(c)
    loss = F.mse_loss(model.readout(h), y)
    res = gf.hidden_grad_norms(model, x, y)
    want = ref_norms(loss, hs + cs if kind == "lstm" else hs)
    np.testing.assert_allclose(res.per_sequence_h, want[:, :T])
    if kind == "lstm":
        np.testing.assert_allclose(res.per_sequence_c, want[:, T:])


def test_grad_ratio_and_relative_norms():
    layer = make_layer("lstm")
    x, y = data()
    res = gf.hidden_grad_norms(layer, x, y)
    rel = gf.relative_grad_norms(res)
    assert rel[-1] == 1.0
    want = res.per_sequence_h.mean(0)[2] / res.per_sequence_h.mean(0)[-1]
    assert gf.grad_ratio(res, 3) == pytest.approx(want)
    assert gf.grad_ratio(res) == pytest.approx(rel[T // 2 - 1])
    want_c = res.grad_c_norm[0] / res.grad_c_norm[-1]
    assert gf.grad_ratio(res, 1, which="c") == pytest.approx(want_c)


def test_norm_validation():
    layer = make_layer("rnn")
    x, y = data()
    bad = [
        (ValueError, dict(x=x[0])),
        (TypeError, dict(x=x.long())),
        (ValueError, dict(loss_at="first")),
        (ValueError, dict(layer=1)),
        (TypeError, dict(layer=True)),
        (ValueError, dict(target=y[:2])),
        (ValueError, dict(target=y[:, :2])),
        (ValueError, dict(target=y, loss_at="every")),
        (ValueError, dict(target=None, criterion=torch.nn.MSELoss())),
        (TypeError, dict(target=[1.0])),
        (ValueError, dict(state=torch.zeros(2, B, H))),
    ]
    for err, kw in bad:
        args = {"x": x, "target": y, **kw}
        with pytest.raises(err):
            gf.hidden_grad_norms(layer, args.pop("x"), **args)
    with pytest.raises(TypeError):
        gf.hidden_grad_norms(torch.nn.Linear(2, 2), x)
    with pytest.raises(ValueError, match="bidirectional"):
        gf.hidden_grad_norms(torch.nn.GRU(D, H, bidirectional=True), x)
    with pytest.raises(TypeError, match="tuple"):
        gf.hidden_grad_norms(make_layer("lstm"), x, state=torch.zeros(1, B, H))
    res = gf.hidden_grad_norms(layer, x, y)
    for err, kw in [
        (ValueError, dict(t=0)),
        (ValueError, dict(t=T + 1)),
        (TypeError, dict(t=2.0)),
        (ValueError, dict(which="c")),
        (ValueError, dict(which="x")),
    ]:
        with pytest.raises(err):
            gf.grad_ratio(res, **kw)
    with pytest.raises(TypeError):
        gf.relative_grad_norms({"grad_h_norm": 1})


# ------------------------------------------------------ Jacobian products
def autograd_jacobian_norms(layer, x, start, layer_idx=0):
    """(B, N) spectral norms of ∂h_{start+n}/∂h_start by autograd."""
    _, hs, _ = ref_unroll("rnn", layer, x)
    inp = x if layer_idx == 0 else torch.stack(hs[layer_idx - 1], 1)
    p = [
        getattr(layer, f"{n}_l{layer_idx}")
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    ]
    h_start = hs[layer_idx][start - 1] if start else x.new_zeros(B, H)
    out = np.zeros((B, T - start))
    for b in range(B):
        for n in range(1, T - start + 1):

            def f(h, b=b, n=n):
                h = h[None]
                for t in range(start, start + n):
                    h, _ = ref_cell(
                        "rnn",
                        inp[b : b + 1, t],
                        h,
                        None,
                        *p,
                        layer.nonlinearity,
                    )
                return h[0]

            jac = torch.autograd.functional.jacobian(f, h_start[b].detach())
            out[b, n - 1] = np.linalg.norm(jac.detach().numpy(), 2)
    return out


@pytest.mark.parametrize("act,start", [("tanh", 0), ("relu", 2)])
def test_jacobian_products_match_autograd(act, start):
    layer = make_layer("rnn", act=act)
    x, _ = data()
    res = gf.rnn_jacobian_norms(layer, x, start=start)
    want = autograd_jacobian_norms(layer, x, start)
    np.testing.assert_allclose(res.per_sequence, want, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(res.norm_median, np.median(want, 0))
    np.testing.assert_array_equal(res.lag, np.arange(1, T - start + 1))


def test_jacobian_second_layer_and_models():
    layer = make_layer("rnn", 2)
    x, _ = data()
    res = gf.rnn_jacobian_norms(layer, x, start=1, layer=1)
    want = autograd_jacobian_norms(layer, x, 1, layer_idx=1)
    np.testing.assert_allclose(res.per_sequence, want, rtol=1e-9)
    one = make_layer("rnn")
    torch.manual_seed(0)
    stepwise = step_rnn.RNN(D, H, 1).double()
    with torch.no_grad():
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(stepwise, n).copy_(getattr(one, f"{n}_l0"))
    a = gf.rnn_jacobian_norms(one, x).per_sequence
    np.testing.assert_allclose(
        gf.rnn_jacobian_norms(stepwise, x).per_sequence, a, rtol=1e-12
    )


@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 4.0])
def test_products_never_exceed_the_bound(act, sigma):
    layer = make_layer("rnn", act=act, seed=3)
    gf.scale_spectral_norm(layer, sigma)
    w = layer.weight_hh_l0.detach().numpy()
    assert np.linalg.norm(w, 2) == pytest.approx(sigma)
    x = torch.randn(8, 30, D, dtype=torch.float64)
    res = gf.rnn_jacobian_norms(layer, x)
    np.testing.assert_allclose(res.bound, sigma**res.lag)
    assert np.all(res.per_sequence <= res.bound * (1 + 1e-9))
    rho = np.abs(np.linalg.eigvals(w)).max()
    np.testing.assert_allclose(res.rho_power, rho**res.lag)


def test_sigmoid_products_and_quarter_bound():
    torch.manual_seed(0)
    w = torch.randn(H, H, dtype=torch.float64)
    w *= 6.0 / torch.linalg.matrix_norm(w, 2)
    u = torch.randn(2, 5, H, dtype=torch.float64)  # inputs W_ih x_t + b
    h0 = torch.rand(2, H, dtype=torch.float64)
    h, pre = h0, []
    for t in range(5):
        pre.append(h @ w.T + u[:, t])
        h = torch.sigmoid(pre[-1])
    res = gf.jacobian_product_norms(w, torch.stack(pre, 1), "sigmoid")
    assert res.gamma == 0.25
    for b in range(2):

        def f(h, b=b):
            for t in range(5):
                h = torch.sigmoid(w @ h + u[b, t])
            return h

        jac = torch.autograd.functional.jacobian(f, h0[b]).numpy()
        assert res.per_sequence[b, -1] == pytest.approx(
            np.linalg.norm(jac, 2), rel=1e-9
        )
    assert np.all(res.per_sequence <= (0.25 * 6.0) ** res.lag * (1 + 1e-9))


def test_spectrum_matches_numpy():
    w = np.random.default_rng(0).normal(size=(6, 6))
    spec = gf.spectrum(torch.from_numpy(w))
    np.testing.assert_allclose(
        np.sort_complex(spec.eigenvalues),
        np.sort_complex(np.linalg.eigvals(w)),
    )
    np.testing.assert_allclose(
        spec.singular_values, np.linalg.svd(w, compute_uv=False)
    )
    assert spec.rho == pytest.approx(np.abs(np.linalg.eigvals(w)).max())
    assert spec.sigma_max == pytest.approx(np.linalg.norm(w, 2))


def test_jacobian_validation():
    layer = make_layer("rnn")
    x, _ = data()
    with pytest.raises(ValueError, match="square"):
        gf.spectrum(torch.zeros(8, 4))
    with pytest.raises(ValueError, match="Elman"):
        gf.rnn_jacobian_norms(make_layer("lstm"), x)
    with pytest.raises(ValueError):
        gf.rnn_jacobian_norms(layer, x, start=T)
    with pytest.raises(ValueError):
        gf.rnn_jacobian_norms(layer, x, layer=1)
    with pytest.raises(ValueError):
        gf.rnn_jacobian_norms(layer, x[0])
    with pytest.raises(ValueError, match="units"):
        gf.jacobian_product_norms(torch.eye(H), torch.zeros(1, 3, H + 1))
    with pytest.raises(ValueError, match="nonlinearity"):
        gf.jacobian_product_norms(torch.eye(H), torch.zeros(1, 3, H), "elu")
    with pytest.raises(ValueError):
        gf.scale_spectral_norm(layer, 0.0)
    with pytest.raises(TypeError):
        gf.scale_spectral_norm(layer, "1")


# ------------------------------------------------------------------ cliff
def test_cliff_grid_equals_a_direct_loop():
    for act, phi in [
        ("tanh", math.tanh),
        ("sigmoid", lambda a: 1 / (1 + math.exp(-a))),
    ]:
        s = gf.cliff_surface(
            (-1, 4), (-2, 1), n=11, seq_len=30, activation=act
        )
        assert s.loss.shape == (11, 11)
        for i, j in [(0, 0), (3, 7), (10, 4), (6, 10)]:
            h = 0.5
            for _ in range(30):
                h = phi(s.w[j] * h + s.b[i])
            assert s.loss[i, j] == pytest.approx((h - 0.7) ** 2, rel=1e-12)


def test_cliff_has_a_cliff_and_validates():
    s = gf.cliff_surface(n=101)
    jump = np.abs(np.diff(s.loss, axis=0)).max()  # along b
    assert jump > 1.0  # h_T switches attractor between neighbouring b
    with pytest.raises(ValueError):
        gf.cliff_surface(w_range=(1, 0))
    with pytest.raises(ValueError):
        gf.cliff_surface(n=1)
    with pytest.raises(ValueError):
        gf.cliff_surface(activation="relu")
    with pytest.raises(ValueError):
        gf.one_unit_loss(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError):
        gf.one_unit_loss(1.0, 0.0, seq_len=0)


# ------------------------------------------------------- training runs
def test_clipping_comparison():
    runs = xp.clipping_comparison(n_samples=256, epochs=1, batch_size=32)
    c, u = runs.clipped, runs.unclipped
    assert len(c["grad_norm"]) == len(u["grad_norm"]) == 8
    assert c["grad_norm"][0] == u["grad_norm"][0]  # same weights and data
    assert np.all(c["applied_norm"] <= runs.threshold * (1 + 1e-5))
    np.testing.assert_allclose(
        c["applied_norm"],
        np.minimum(c["grad_norm"], runs.threshold),
        rtol=1e-4,
    )
    np.testing.assert_allclose(u["applied_norm"], u["grad_norm"], rtol=1e-5)
    assert np.any(u["grad_norm"] > runs.threshold)
    with pytest.raises(ValueError):
        xp.clipping_comparison(threshold=0.0)


def test_ratio_at_init_orders_the_configurations():
    table = xp.ratio_table(n_samples=32)
    assert list(table) == list(xp.RATIO_CONFIGS)
    assert table["tanh RNN, orthogonal"] > 1e3 * table["tanh RNN"]
    assert table["LSTM, forget bias 1"] > 1e3 * table["LSTM"]


def test_adding_ratio_trains():
    res = xp.adding_ratio(
        "lstm",
        seq_len=10,
        hidden_size=8,
        n_samples=16,
        train_steps=40,
        batch_size=16,
        learning_rate=0.05,
    )
    assert len(res.step_loss) == 40
    assert res.step_loss[-10:].mean() < 0.5 * res.step_loss[:3].mean()
    assert res.ratio == pytest.approx(gf.grad_ratio(res.norms))
    with pytest.raises(ValueError):
        xp.adding_ratio(train_steps=-1)


# ------------------------------------------------------------ gate trace
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gate_trace_rebuilds_torch_nn_states(kind):
    torch.manual_seed(0)
    layer = LAYERS[kind](D, H, num_layers=2, batch_first=True)
    x = torch.randn(B, T, D)
    out, _ = layer(x)
    for k in (0, 1):
        tr = gf.gate_trace(layer, x, layer=k)
        g = {n: torch.from_numpy(v) for n, v in tr.gates.items()}
        h = torch.zeros(B, H, dtype=torch.float64)
        c = torch.zeros(B, H, dtype=torch.float64)
        for t in range(T):  # the gate equations, with the traced gates
            if kind == "lstm":
                c = g["f"][:, t] * c + g["i"][:, t] * g["g"][:, t]
                h = g["o"][:, t] * torch.tanh(c)
                np.testing.assert_allclose(tr.c[:, t], c.numpy(), atol=1e-6)
            else:
                h = (1 - g["z"][:, t]) * g["n"][:, t] + g["z"][:, t] * h
            np.testing.assert_allclose(tr.h[:, t], h.numpy(), atol=1e-6)
    np.testing.assert_allclose(tr.h, out.detach().double().numpy(), atol=1e-6)
    keep = g["f" if kind == "lstm" else "z"].numpy()
    np.testing.assert_allclose(tr.time_constant(), 1 / (1 - keep))


def test_gate_trace_saturation_and_errors():
    model = RecurrentModel(D, H, 2, kind="lstm", forget_bias=5.0)
    tr = gf.gate_trace(model, torch.randn(B, T, D))
    sat = tr.saturated(threshold=0.5)
    brute = [
        np.mean([1 - np.tanh(v) ** 2 < 0.5 for v in tr.c[:, t].ravel()])
        for t in range(T)
    ]
    np.testing.assert_allclose(sat, brute)
    assert tr.pred.shape == (B, T, 2)
    with pytest.raises(ValueError, match="LSTM or a GRU"):
        gf.gate_trace(make_layer("rnn"), data()[0])
    with pytest.raises(ValueError, match="layer"):
        gf.gate_trace(model, torch.randn(B, T, D), layer=1)
    gru = gf.gate_trace(
        LAYERS["gru"](D, H, batch_first=True), torch.randn(B, T, D)
    )
    with pytest.raises(ValueError, match="LSTM"):
        gru.saturated()


def test_final_singular_values_are_those_of_the_whole_product():
    layer = make_layer("rnn")
    x, _ = data()
    res = gf.rnn_jacobian_norms(layer, x, start=2)
    h = [torch.zeros(B, H, dtype=torch.float64)]
    for t in range(T):  # the states by hand, then the product by hand
        h.append(torch.tanh(x[:, t] @ layer.weight_ih_l0.T + layer.bias_ih_l0
                            + h[-1] @ layer.weight_hh_l0.T
                            + layer.bias_hh_l0).detach())  # fmt: skip
    prod = torch.eye(H, dtype=torch.float64).expand(B, H, H)
    for t in range(3, T + 1):  # ∂h_T/∂h_2 = Π diag(1 − h_t²) W_hh
        prod = ((1 - h[t] ** 2)[:, :, None] * layer.weight_hh_l0) @ prod
    np.testing.assert_allclose(
        res.final_singular_values,
        torch.linalg.svdvals(prod).detach().numpy(), rtol=1e-10,
    )  # fmt: skip
    assert res.final_singular_values[:, 0] == pytest.approx(
        res.per_sequence[:, -1]
    )
