"""Interactive figures of the gradient's flow (chapter 2).

* :func:`jacobian_chart`: ‖∂h_t/∂h_0‖ of a tanh RNN against t, with the
  bound (γσ_max)^t and ρ^t, and a slider over σ_max(W_hh);
* :func:`cliff_chart`: gradient descent on the one-unit cliff, a slider
  over the step size and a checkbox for clipping; :func:`cliff_paths` its
  data, :func:`cliff_still` its still.
"""

from __future__ import annotations

import io
import json

import altair as alt
import matplotlib.pyplot as plt
import numpy as np

from asctools.gradflow import cliff_descent
from asctools.plots.gradflow import plot_cliff
from asctools.plots.interactive._spec import (
    csv,
    data_uri,
    near,
    q,
    rounded,
    slider,
    text,
)

__all__ = ["cliff_chart", "cliff_paths", "cliff_still", "jacobian_chart"]


def jacobian_chart(norms: dict, value: float, every: int = 2):
    """‖∂h_t/∂h_0‖ (median) against t with (γσ_max)^t and ρ^t, a slider
    over σ_max. norms: {σ: JacobianNorms} on evenly spaced σ
    (:func:`asctools.gradflow.jacobian_norms_by_scale`); value: the
    slider's start; every: keep every ``every``-th lag. The log y axis
    spans what the measured curves and ρ^t reach over all σ."""
    rows, meta, reach = [], [], []
    for s, j in sorted(norms.items()):
        lags = range(0, len(j.lag), every)
        rows += [
            {"s": s, "t": int(j.lag[i]), "m": rounded(j.norm_median[i])}
            for i in lags
        ]
        meta.append(
            {
                "s": s,
                "rho": rounded(j.rho),
                "g": rounded(j.gamma * s),
                "end": rounded(j.norm_median[-1], 2),
            }
        )
        reach += [j.norm_median, j.rho_power]
    reach = np.concatenate(reach)
    lo = np.floor(np.log10(reach[reach > 0].min()))
    hi = np.ceil(np.log10(max(reach.max(), 10.0)))
    n, t_end = len(j.per_sequence), int(j.lag[-1])
    names = {
        "m": f"measured (median of {n})",
        "bound": "bound (γσ_max)^t",
        "rho_t": "ρ^t",
    }
    legend = alt.Legend(
        orient="bottom",
        direction="vertical",
        labelExpr=f"{json.dumps(names)}[datum.label]",
    )
    color = {
        "field": "series",
        "type": "nominal",
        "title": None,
        "scale": alt.Scale(domain=list(names)),
        "legend": legend,
    }
    dash = alt.Scale(domain=list(names), range=[[1, 0], [6, 3], [2, 2]])
    y = q("v", "‖∂h_t/∂h_k‖₂", 10**lo, 10**hi, type="log")
    lookup = alt.LookupData(alt.InlineData(values=meta), "s", ["rho", "g"])
    lines = (
        alt.Chart(csv(rows))
        .transform_filter(near("s", "sigma"))
        .transform_lookup(lookup="s", from_=lookup)
        .transform_calculate(
            bound="pow(datum.g, datum.t)", rho_t="pow(datum.rho, datum.t)"
        )
        .transform_fold(list(names), as_=["series", "v"])
        .mark_line(clip=True)
        .encode(
            x=q("t", "distance t − k (steps), k = 0", 0, t_end),
            y={**y, "axis": alt.Axis(format=".0e")},
            color=color,
            strokeDash={**color, "scale": dash},
        )
    )
    now = alt.Chart(alt.InlineData(values=meta))
    label = text(
        now.transform_filter(near("s", "sigma")),
        (
            "['γσ_max = ' + format(datum.g, '.2f') + ', ρ = ' + "
            "format(datum.rho, '.2f'), "
            f"'measured at t = {t_end}: ' + format(datum.end, '.1e')]"
        ),
    )
    sigma = slider("sigma", norms, value, "σ_max(W_hh) ")
    chart = (lines + label).add_params(sigma)
    return chart.properties(width="container", height=280)


# --- ch02: gradient descent on the one-unit cliff ------------------------


def cliff_paths(starts, lrs, steps=20, clip=1.0, **loss_kw) -> list[dict]:
    """Rows (start i, lr, clipped c, step k, w, b, loss L) of
    :func:`asctools.gradflow.cliff_descent` from each (w0, b0) in
    ``starts`` with each step size in ``lrs``, unclipped and clipped at
    ``clip``; also ``jump``, the length of the step that led there."""
    rows = []
    for i, (w0, b0) in enumerate(starts):
        for lr in lrs:
            for c in (0, 1):
                cut = clip if c else None
                path = cliff_descent(w0, b0, lr, steps, cut, **loss_kw)
                jumps = np.r_[0.0, np.hypot(*np.diff(path[:, :2], axis=0).T)]
                rows += [
                    {
                        "i": i,
                        "lr": rounded(lr),
                        "c": c,
                        "k": k,
                        "w": rounded(w),
                        "b": rounded(b),
                        "L": rounded(loss),
                        "jump": rounded(d),
                    }
                    for k, ((w, b, loss), d) in enumerate(
                        zip(path, jumps, strict=True)
                    )
                ]
    return rows


def _surface_uri(surface) -> tuple[str, float, float]:
    """The log loss as a viridis PNG (top row = largest b), its range."""
    loss = surface.loss
    lo = max(float(loss[loss > 0].min()), 1e-8 * float(loss.max()))
    hi = float(loss.max())
    buf = io.BytesIO()
    plt.imsave(
        buf,
        np.log10(np.maximum(loss, lo))[::-1],
        cmap="viridis",
        vmin=np.log10(lo),
        vmax=np.log10(hi),
        format="png",
    )
    return data_uri(buf.getvalue()), lo, hi


def cliff_chart(surface, rows, lr: float, clipped=False, threshold=1.0):
    """The loss surface (an image) with the descent paths of
    :func:`cliff_paths` (clipped at ``threshold``); a slider over the step
    size and a checkbox for clipping, starting at (lr, clipped)."""
    (w0, w1), (b0, b1) = surface.w[[0, -1]], surface.b[[0, -1]]
    x, y = q("w", "recurrent weight w", w0, w1), q("b", "bias b", b0, b1)
    uri, lo, hi = _surface_uri(surface)
    corners = {"url": uri, "w": w0, "w2": w1, "b": b1, "b2": b0}
    image = (
        alt.Chart(alt.InlineData(values=[corners]))
        .mark_image(aspect=False)
        .encode(x=x, x2="w2:Q", y=y, y2="b2:Q", url="url:N")
    )
    colours = alt.Scale(type="log", scheme="viridis")
    legend = alt.Legend(title="loss", format=".0e")
    key = alt.Chart(alt.InlineData(values=[{"L": lo}, {"L": hi}]))
    key = key.mark_point(opacity=0).encode(
        color=alt.Color("L:Q", scale=colours, legend=legend)
    )
    chosen = f"{near('lr', 'lr')} && datum.c == (clip ? 1 : 0)"
    paths = alt.Chart(csv(rows)).transform_filter(chosen)
    line = paths.mark_line(clip=True, color="white")
    line = line.encode(x=x, y=y, detail="i:N", order="k:Q")
    dots = paths.mark_circle(
        clip=True,
        size=24,
        color="white",
        opacity=1,
        stroke="black",
        strokeWidth=0.5,
    )
    dots = dots.encode(x=x, y=y, tooltip=["k:Q", "w:Q", "b:Q", "L:Q"])
    summary = (
        paths.transform_joinaggregate(big="max(jump)", last="max(k)")
        .transform_filter("datum.k == datum.last")  # where each path ends
        .transform_aggregate(big="max(big)", end="max(L)")
    )
    note = text(
        summary,
        (
            "['longest step ' + format(datum.big, '.2~f'), "
            "'highest final loss ' + format(datum.end, '.2f')]"
        ),
        color="white",
    )
    rate = slider("lr", {r["lr"] for r in rows}, lr, "step size ")
    box = alt.binding_checkbox(
        name=f"clip the gradient at norm {threshold:g} "
    )
    clip = alt.param(name="clip", value=clipped, bind=box)
    chart = (image + key + line + dots + note).add_params(rate, clip)
    return chart.properties(width="container", height=300)


def cliff_still(surface, rows, lr: float, clipped=False, threshold=1.0):
    """:func:`cliff_chart` at (lr, clipped), drawn by matplotlib."""
    fig, ax = plot_cliff(surface)
    for i in sorted({r["i"] for r in rows}):
        path = [
            (r["w"], r["b"])
            for r in rows
            if r["i"] == i and abs(r["lr"] - lr) < 1e-6 and r["c"] == clipped
        ]
        w, b = np.array(path).T
        ax.plot(w, b, "o-", ms=3, color="w", mec="k", mew=0.5)
    ax.set(xlim=surface.w[[0, -1]], ylim=surface.b[[0, -1]])
    clip = f"clipped at norm {threshold:g}" if clipped else "no clipping"
    ax.set_title(f"gradient descent, step size {lr:g}, {clip}")
    return fig
