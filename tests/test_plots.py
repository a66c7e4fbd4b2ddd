"""asctools.plots: each helper returns a labelled figure with its curves."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from asctools import experiments as xp  # noqa: E402
from asctools import gradflow as gf  # noqa: E402
from asctools import plots  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def _norms(kind):
    torch.manual_seed(0)
    layer = getattr(torch.nn, kind)(2, 8, batch_first=True)
    return gf.hidden_grad_norms(layer, torch.randn(3, 12, 2))


def test_plot_grad_norms():
    res = {k: _norms(k) for k in ("RNN", "LSTM", "GRU")}
    fig, ax = plots.plot_grad_norms(res)
    assert isinstance(fig, Figure) and ax.get_yscale() == "log"
    _labelled(ax)
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["RNN", "LSTM", "GRU"]
    np.testing.assert_allclose(lines[1].get_ydata(), res["LSTM"].grad_h_norm)
    _, ax = plots.plot_grad_norms(
        {"LSTM": res["LSTM"]}, which="c", relative=True
    )
    assert ax.get_lines()[0].get_ydata()[-1] == 1.0
    assert "c_T" in ax.get_ylabel()
    with pytest.raises(ValueError, match="cell-state"):
        plots.plot_grad_norms({"RNN": res["RNN"]}, which="c")
    with pytest.raises(TypeError):
        plots.plot_grad_norms(res["RNN"])
    with pytest.raises(ValueError):
        plots.plot_grad_norms(res, which="x")


def test_plot_jacobian_norms_draws_dashed_bounds():
    torch.manual_seed(0)
    layer = torch.nn.RNN(2, 8, batch_first=True)
    res = gf.rnn_jacobian_norms(layer, torch.randn(4, 15, 2))
    fig, ax = plots.plot_jacobian_norms(res, stat="mean")
    _labelled(ax)
    lines = ax.get_lines()
    assert len(lines) == 3 and ax.get_yscale() == "log"
    np.testing.assert_allclose(lines[0].get_ydata(), res.norm_mean)
    np.testing.assert_allclose(lines[1].get_ydata(), res.bound)
    assert [ln.get_linestyle() for ln in lines[1:]] == ["--", "--"]
    with pytest.raises(ValueError):
        plots.plot_jacobian_norms(res, stat="max")


def test_plot_spectrum():
    w = torch.randn(6, 6)
    spec = gf.spectrum(w)
    fig, (ax_eig, ax_sv) = plots.plot_spectrum(spec)
    assert isinstance(fig, Figure)
    for ax in (ax_eig, ax_sv):
        _labelled(ax)
    circle = ax_eig.get_lines()[0]
    np.testing.assert_allclose(
        np.hypot(circle.get_xdata(), circle.get_ydata()), 1.0
    )
    pts = ax_eig.collections[0].get_offsets()
    np.testing.assert_allclose(
        np.sort(pts[:, 0]), np.sort(spec.eigenvalues.real)
    )
    stems = ax_sv.containers[0]
    np.testing.assert_allclose(
        stems.markerline.get_ydata(), spec.singular_values
    )
    _, axes = plt.subplots(1, 3)
    with pytest.raises(TypeError):
        plots.plot_spectrum(spec, axes=axes)


def test_plot_clipping():
    runs = xp.ClippingRuns(
        threshold=1.0, sigma_max=3.0,
        clipped={"grad_norm": np.array([5.0, 0.5, 0.8])},
        unclipped={"grad_norm": np.array([5.0, 40.0, 2.0, 9.0])},
    )  # fmt: skip
    fig, ax = plots.plot_clipping(runs)
    _labelled(ax)
    lines = ax.get_lines()
    assert len(lines) == 3 and ax.get_yscale() == "log"
    np.testing.assert_allclose(lines[0].get_ydata(), [5, 40, 2, 9])
    np.testing.assert_allclose(lines[2].get_ydata(), [1.0, 1.0])
    assert "threshold" in lines[2].get_label()


def test_plot_cliff():
    surf = gf.cliff_surface(n=21)
    fig, ax = plots.plot_cliff(surf)
    _labelled(ax)
    mesh = ax.collections[0]
    assert mesh.norm.__class__.__name__ == "LogNorm"
    assert mesh.get_array().size == surf.loss.size
    assert len(fig.axes) == 2  # the plot and its colour bar


def test_plot_learning_curve_with_baseline():
    fig, ax0 = plt.subplots()
    out_fig, ax = plots.plot_learning_curve(
        {"RNN": [0.3, 0.2, 0.17], "LSTM": np.array([0.3, 0.1, 0.01])},
        baseline=1 / 6, ax=ax0, logy=True,
    )  # fmt: skip
    assert out_fig is fig and ax is ax0
    _labelled(ax)
    lines = ax.get_lines()
    assert len(lines) == 3 and ax.get_yscale() == "log"
    assert lines[2].get_ydata()[0] == pytest.approx(1 / 6)
    assert "baseline" in lines[2].get_label()
    _, ax = plots.plot_learning_curve({"x": [1.0, 2.0]})
    assert len(ax.get_lines()) == 1
    with pytest.raises(TypeError):
        plots.plot_learning_curve({"x": 3.0})
    with pytest.raises(TypeError):
        plots.plot_learning_curve({"x": [1.0]}, ax="axes")


# ------------------------------------------------------------- mechanism
def test_mechanism_figures_draw_what_they_are_given():
    from asctools.models import RecurrentModel

    torch.manual_seed(0)
    model = RecurrentModel(2, 5, 1, kind="lstm", forget_bias=3.0)
    tr = gf.gate_trace(model, torch.randn(3, 12, 2))
    fig, axes = plots.plot_gate_heatmaps(tr, index=1, marks=(3, 9))
    assert len(axes) == 4 and axes[-1].get_xlabel() == "time step $t$"
    image = axes[0].images[0].get_array()  # i_t of sequence 1, unit × t
    np.testing.assert_allclose(image, tr.gates["i"][1].T)
    fig, (a, b) = plots.plot_drift({"fb3": tr})
    np.testing.assert_allclose(a.lines[0].get_ydata(),
                               np.abs(tr.c).mean(axis=(0, 2)))  # fmt: skip
    fig, ax = plots.plot_time_constants({"fb3": tr}, lag=10)
    assert ax.lines[-1].get_xdata()[0] == 10  # the lag's line


def test_principal_direction_is_the_spread_direction():
    gen = np.random.default_rng(0)
    pts = gen.normal(size=(500, 1)) * np.array([[3.0, 0.0, 0.1]])
    pts += 0.01 * gen.normal(size=(500, 3))
    d = plots.principal_directions(pts, 1)[0]
    assert abs(abs(d[0]) - 1) < 1e-3
    states = np.stack([pts[:50], -pts[:50]], axis=1)  # (50, 2, 3)
    fig, ax = plots.plot_latch(states, np.array([1, 0] * 25))
    assert len(ax.lines) == 50


def test_plot_success_takes_one_colour_per_group():
    runs = [{"solved_at": 10, "budget": 20}, {"solved_at": None, "budget": 20}]
    fig, ax = plots.plot_success({"a": runs, "b": runs}, colors=["r", "k"])
    assert [line.get_color() for line in ax.lines] == ["r", "k"]
    plt.close(fig)
