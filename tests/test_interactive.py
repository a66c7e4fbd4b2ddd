"""asctools.plots.interactive without a browser: each spec holds the data
and the controls it should, the still is the chart's default state, and
show() gives the book its HTML block (the browser tests render it)."""

import csv
import io
import json
import random
import re
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from asctools import gradflow as gf  # noqa: E402
from asctools.dataset import adding_problem  # noqa: E402
from asctools.experiments import evidence  # noqa: E402
from asctools.models import RecurrentModel  # noqa: E402
from asctools.plots import interactive as iv  # noqa: E402
from asctools.plots import plot_jacobian_norms  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def tables(spec) -> list[list[dict]]:
    """Every inline CSV table of a spec, parsed (numbers as floats):
    Altair keeps them in the top-level ``datasets``."""
    found = []
    for values in spec.get("datasets", {}).values():
        if isinstance(values, str):
            rows = csv.DictReader(io.StringIO(values))
            found.append([{k: _num(v) for k, v in r.items()} for r in rows])
    return found


def table_with(spec, *fields) -> list[dict]:
    (rows,) = [t for t in tables(spec) if set(fields) <= set(t[0])]
    return rows


def _num(text):
    try:
        return float(text)
    except ValueError:
        return text


def params(spec) -> dict:
    return {p["name"]: p for p in spec.get("params", [])}


# ------------------------------------------------------------ the Jacobian
@pytest.fixture(scope="module")
def jac():
    torch.manual_seed(0)
    rnn = RecurrentModel(2, 8, 1, kind="rnn")
    x, _ = adding_problem(3, 12, seed=0)
    before = rnn.rnn.weight_hh_l0.detach().clone()
    norms = gf.jacobian_norms_by_scale(rnn, x, [0.5, 1.0, 1.5, 2.0])
    assert torch.equal(rnn.rnn.weight_hh_l0, before)  # copies were scaled
    return norms


def test_jacobian_norms_by_scale_rescales_copies(jac):
    assert list(jac) == [0.5, 1.0, 1.5, 2.0]
    for sigma, j in jac.items():
        assert j.sigma_max == pytest.approx(sigma)
        assert np.all(j.norm_median <= j.bound * (1 + 1e-9))


def test_jacobian_spec_holds_every_scale_and_its_slider(jac):
    spec = iv.jacobian_chart(jac, value=1.0, every=1).to_dict()
    slider = params(spec)["sigma"]
    assert slider["value"] == 1.0
    assert slider["bind"]["input"] == "range"
    assert (slider["bind"]["min"], slider["bind"]["max"]) == (0.5, 2.0)
    assert slider["bind"]["step"] == 0.5 and slider["bind"]["name"]
    (rows,) = tables(spec)
    for sigma, j in jac.items():
        mine = [r["m"] for r in rows if r["s"] == sigma]
        np.testing.assert_allclose(mine, j.norm_median, rtol=1e-2)
    assert spec["width"] == "container"
    with pytest.raises(ValueError, match="evenly spaced"):
        iv.jacobian_chart({0.5: jac[0.5], 1.0: jac[1.0], 2.0: jac[2.0]}, 1.0)


def test_jacobian_still_is_the_default_state(jac):
    spec = iv.jacobian_chart(jac, value=1.0, every=1).to_dict()
    (rows,) = tables(spec)
    fig, ax = plot_jacobian_norms(jac[1.0])
    measured = ax.lines[0].get_ydata()
    shown = [r["m"] for r in rows if r["s"] == 1.0]
    np.testing.assert_allclose(shown, measured, rtol=1e-2)


# ---------------------------------------------------------------- the cliff
def test_one_unit_grad_is_the_finite_difference():
    for w, b, act in [(1.0, -0.5, "tanh"), (2.0, 0.3, "tanh"),
                      (3.0, -1.0, "sigmoid")]:  # fmt: skip
        loss, dw, db = gf.one_unit_grad(w, b, seq_len=30, activation=act)
        eps = 1e-6

        def f(w_, b_, act=act):
            return float(gf.one_unit_loss(w_, b_, 30, activation=act))

        assert loss == pytest.approx(f(w, b))
        assert dw == pytest.approx((f(w + eps, b) - f(w - eps, b)) / 2 / eps,
                                   rel=1e-4, abs=1e-8)  # fmt: skip
        assert db == pytest.approx((f(w, b + eps) - f(w, b - eps)) / 2 / eps,
                                   rel=1e-4, abs=1e-8)  # fmt: skip


def test_cliff_descent_steps_and_clipping():
    path = gf.cliff_descent(1.0, 0.0, lr=0.1, steps=5)
    _, dw, db = gf.one_unit_grad(1.0, 0.0)
    assert path.shape == (6, 3)
    np.testing.assert_allclose(path[1, :2], [1.0 - 0.1 * dw, -0.1 * db])
    clipped = gf.cliff_descent(1.0, 0.0, lr=0.1, steps=20, clip=1.0)
    steps = np.hypot(*np.diff(clipped[:, :2], axis=0).T)
    assert steps.max() <= 0.1 + 1e-12
    free = np.hypot(*np.diff(gf.cliff_descent(1.0, 0.0, 0.1, 20)[:, :2],
                             axis=0).T)  # fmt: skip
    assert free.max() > 1.0  # the wall throws an unclipped step far
    with pytest.raises(ValueError):
        gf.cliff_descent(1.0, 0.0, lr=0.0)


@pytest.fixture(scope="module")
def cliff():
    surface = gf.cliff_surface(n=41)
    rows = iv.cliff_paths([(1.0, 0.0), (1.5, -0.5)], [0.1, 0.2, 0.3], 8)
    return surface, rows


def test_cliff_spec_holds_paths_image_and_controls(cliff):
    surface, rows = cliff
    assert len(rows) == 2 * 3 * 2 * 9
    spec = iv.cliff_chart(surface, rows, lr=0.2, clipped=True).to_dict()
    p = params(spec)
    assert p["lr"]["value"] == 0.2 and p["lr"]["bind"]["input"] == "range"
    assert (p["lr"]["bind"]["min"], p["lr"]["bind"]["max"]) == (0.1, 0.3)
    assert p["clip"]["value"] is True
    assert p["clip"]["bind"]["input"] == "checkbox"
    assert "norm 1" in p["clip"]["bind"]["name"]
    (paths,) = tables(spec)
    assert len(paths) == len(rows)
    text = json.dumps(spec)
    assert text.count("data:image/png;base64,") == 1  # the surface
    for r in rows:
        if r["c"]:
            assert r["jump"] <= r["lr"] * 1.01  # clipped at norm 1


def test_cliff_still_draws_the_default_paths(cliff):
    surface, rows = cliff
    fig = iv.cliff_still(surface, rows, lr=0.2, clipped=False)
    ax = fig.axes[0]
    drawn = [line.get_xydata() for line in ax.lines]
    assert len(drawn) == 2
    for i, xy in enumerate(drawn):
        want = [(r["w"], r["b"]) for r in rows
                if r["i"] == i and r["lr"] == 0.2 and r["c"] == 0]  # fmt: skip
        np.testing.assert_allclose(xy, want)
    assert "0.2" in ax.get_title() and "no clipping" in ax.get_title()


# ---------------------------------------------------------------- the gates
@pytest.fixture(scope="module")
def gates():
    torch.manual_seed(0)
    model = RecurrentModel(2, 6, 1, kind="lstm")
    x, y = adding_problem(1, 16, seed=1)
    return gf.gate_trace(model, x), x.numpy(), float(y[0, 0])


def test_gates_spec_steps_through_time(gates):
    trace, x, target = gates
    units = iv.marker_units(trace, x, k=2)
    assert len(units) == 2 and len(set(units)) == 2
    spec = iv.gates_chart(trace, x, target, units).to_dict()
    t = params(spec)["t"]
    assert t["value"] == 16 and t["bind"]["input"] == "range"
    assert (t["bind"]["min"], t["bind"]["max"], t["bind"]["step"]) == (
        1,
        16,
        1,
    )
    steps, cells = table_with(spec, "v", "m"), table_with(spec, "u", "i")
    assert [r["m"] for r in steps] == list((x[0, :, 1] > 0).astype(float))
    for r in cells:
        u, k = int(r["u"]), int(r["t"]) - 1
        assert u in units
        for g in "ifo":
            assert r[g] == pytest.approx(trace.gates[g][0, k, u], abs=6e-3)
    assert all(v["width"] == "container" for v in spec["vconcat"])


def test_gates_still_is_the_whole_sequence(gates):
    trace, x, target = gates
    units = iv.marker_units(trace, x, k=2)
    fig = iv.gates_still(trace, x, target, units)
    heat = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(heat[0], trace.gates["i"][0][:, units[0]])
    assert heat.shape == (3 * 2, 16)


# ------------------------------------------------------- success vs budget
def synthetic_runs(seed=0):
    rng, runs = random.Random(seed), []
    for task in ("adding", "first_element"):
        for seq_len, budget in ((30, 10_000), (100, 20_000)):
            for kind, inits in (("rnn", ["default"]),
                                ("lstm", ["default", "chrono"])):  # fmt: skip
                for init in inits:
                    for s in range(5):
                        at = rng.randrange(64, budget, 64)
                        at = at if rng.random() < 0.6 else None
                        run = dict(task=task, kind=kind, init=init,
                                   seq_len=seq_len, seed=s, budget=budget,
                                   solved_at=at)  # fmt: skip
                        runs.append(run)
    return runs


def test_success_steps_are_the_brute_force_fractions():
    runs = synthetic_runs()
    rows = evidence.success_steps(runs)
    key = ("task", "seq_len", "init", "kind")
    for r in rows:
        group = [q for q in runs if all(q[k] == r[k] for k in key)]
        at = [q["solved_at"] for q in group]
        brute = np.mean([a is not None and a <= r["x"] for a in at])
        assert r["y"] == pytest.approx(brute) and r["n"] == len(group)
    ends = [r for r in rows if r["x"] == 0]
    assert len(ends) == 2 * 2 * 3 and all(r["y"] == 0 for r in ends)


def test_success_spec_has_a_selector_for_task_length_and_init():
    spec = iv.success_chart(synthetic_runs(), init="chrono").to_dict()
    p = params(spec)
    assert p["pick_task"]["bind"]["options"] == ["adding", "first_element"]
    assert p["pick_seq_len"]["bind"]["options"] == [30, 100]
    assert p["pick_init"]["value"] == "chrono"
    assert p["pick_init"]["bind"]["labels"] == ["chrono", "torch's default"]
    assert all(v["bind"]["input"] == "radio" for v in p.values())
    (rows,) = tables(spec)
    assert {r["kind"] for r in rows} == {"rnn", "lstm"}


def test_success_still_is_the_chosen_state():
    runs = synthetic_runs()
    fig = iv.success_still(runs, "adding", 100, "chrono")
    (line,) = fig.axes[0].lines  # the RNN has no chrono runs
    want = [r for r in evidence.success_steps(runs) if (r["task"],
            r["seq_len"], r["init"], r["kind"]) == ("adding", 100, "chrono",
            "lstm")]  # fmt: skip
    np.testing.assert_allclose(line.get_xdata(), [r["x"] for r in want])
    np.testing.assert_allclose(line.get_ydata(), [r["y"] for r in want])


# ---------------------------------------------------------------- show()
def test_show_gives_the_book_a_still_and_a_guarded_embed(jac, monkeypatch):
    monkeypatch.setenv(iv.BOOK_ENV, "1")
    chart = iv.jacobian_chart(jac, value=1.0)
    fig, _ = plot_jacobian_norms(jac[1.0])
    block = iv.show(chart, fig, 'alt "text" <here>')
    page = block._repr_html_()
    assert not plt.fignum_exists(fig.number)  # closed: shown once
    assert repr(block) == 'alt "text" <here>'
    assert 'alt="alt &quot;text&quot; &lt;here&gt;"' in page
    assert re.search(
        r'<img class="asc-still" src="data:image/png;base64,', page
    )
    script = page.split("<script>")[1].split("</script>")[0]
    assert "</" not in script
    assert "if (!window.vegaEmbed || !box) return;" in script
    assert script.count("vegaEmbed(") == 1 and "actions: false" in script
    assert "http" not in script.replace(
        "https://vega.github.io/schema/vega-lite/", ""
    )  # nothing to fetch; the $schema URL only names the version
    spec = json.loads(block.spec.replace("<\\/", "</"))
    assert spec["params"] == chart.to_dict()["params"]
    assert spec["description"] == 'alt "text" <here>'


def test_show_gives_notebooks_the_chart(jac, monkeypatch):
    chart = iv.jacobian_chart(jac, value=1.0)
    monkeypatch.delenv(iv.BOOK_ENV, raising=False)
    fig, _ = plot_jacobian_norms(jac[1.0])
    assert iv.show(chart, fig, "alt") is chart
    assert not plt.fignum_exists(fig.number)
    monkeypatch.setenv(iv.BOOK_ENV, "1")
    monkeypatch.setitem(sys.modules, "google.colab", object())
    fig, _ = plot_jacobian_norms(jac[1.0])
    assert iv.show(chart, fig, "alt") is chart  # Colab renders Vega-Lite

    class Broken:
        def to_dict(self):
            raise ValueError("no")

    assert iv.show(Broken(), fig, "alt") is fig  # the still instead
