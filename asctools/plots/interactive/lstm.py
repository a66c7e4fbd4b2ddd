"""Interactive figures of what an LSTM learns (chapter 4).

* :func:`gates_chart`: a trained LSTM on the adding problem, stepped
  through time by a slider (input, gates, cell states, prediction);
  :func:`gates_still` its still, :func:`marker_units` which units to show;
* :func:`success_chart`: the fraction of seeds solved against training
  sequences, with radio buttons for the task, T and the initialisation
  :func:`success_still` its still.
"""

from __future__ import annotations

import altair as alt
import matplotlib.pyplot as plt
import numpy as np

from asctools.experiments.evidence import success_steps
from asctools.experiments.initialisation import INITS
from asctools.plots.interactive._spec import (
    GREY,
    RED,
    csv,
    q,
    rounded,
    slider,
)

__all__ = [
    "gates_chart",
    "gates_still",
    "marker_units",
    "success_chart",
    "success_still",
]
# matplotlib's first colours, so that the chart and its still agree
KIND_COLOURS = {"rnn": "#1f77b4", "lstm": "#ff7f0e", "gru": "#2ca02c"}


def marker_units(trace, x, k=4) -> list[int]:
    """The ``k`` units whose input gate opens most (above its median) at
    the two markers of sequence 0 of the adding problem x (B, T, 2)."""
    gate = trace.gates["i"][0]  # (T, H)
    marked = np.asarray(x)[0, :, 1] > 0
    rise = gate[marked].mean(axis=0) - np.median(gate, axis=0)
    return [int(u) for u in np.argsort(-rise)[:k]]


def _gate_rows(trace, x, units):
    """Sequence 0: per step (t, value v, marker m, prediction p); per
    (t, unit u) the cell state c and the gates i, f, o."""
    x, pred = np.asarray(x)[0], trace.pred[0, :, 0]
    steps = [
        {
            "t": t + 1,
            "v": rounded(x[t, 0], 2),
            "m": int(x[t, 1] > 0),
            "p": rounded(pred[t]),
        }
        for t in range(len(x))
    ]
    cells = [
        {
            "t": t + 1,
            "u": u,
            "c": rounded(trace.c[0, t, u]),
            **{g: rounded(trace.gates[g][0, t, u], 2) for g in "ifo"},
        }
        for t in range(len(x))
        for u in units
    ]
    return steps, cells


def gates_chart(trace, x, target, units=None, value=None):
    """The input (markers in red), the gates i, f, o of ``units`` as
    heat-maps, their c_t and the prediction up to the step t of a slider
    (default: the last). trace: the ``GateTrace`` of an LSTM on x (B, T, 2),
    an adding problem; sequence 0 is drawn, its sum is ``target``; units:
    default :func:`marker_units`."""
    units = marker_units(trace, x) if units is None else units
    steps, cells = _gate_rows(trace, x, units)
    n_t = len(steps)
    t = slider("t", range(1, n_t + 1), value or n_t, "time step t ")
    xs = q("t", None, 0.5, n_t + 0.5)
    seen = alt.condition("datum.t <= t", alt.value(1.0), alt.value(0.15))
    data, per_unit = alt.Chart(csv(steps)), alt.Chart(csv(cells))
    marks = (
        data.transform_filter("datum.m == 1")
        .mark_rule(color=RED, strokeDash=[3, 3])
        .encode(x=xs)
    )
    now = data.transform_filter("datum.t == t").mark_rule(color="black")
    red = alt.condition("datum.m == 1", alt.value(RED), alt.value(GREY))
    inp = data.mark_bar(width=2).encode(
        x=xs, y=alt.Y("v:Q", title="input"), opacity=seen, color=red
    )
    gate = alt.Color(
        "val:Q",
        title="gate",
        scale=alt.Scale(domain=[0, 1], scheme="viridis"),
        legend=alt.Legend(orient="top"),
    )
    heat = per_unit.transform_fold(["i", "f", "o"], as_=["gate", "val"])
    heat = (
        heat.transform_calculate(
            row="datum.gate + ' · unit ' + datum.u", t1="datum.t + 1"
        )
        .mark_rect()
        .encode(
            x=xs,
            x2="t1:Q",
            y=alt.Y("row:N", title=None, sort=None),
            opacity=seen,
            color=gate,
        )
    )
    unit = alt.Color("u:N", title="unit", legend=alt.Legend(orient="top"))
    cell = (
        per_unit.transform_filter("datum.t <= t")
        .mark_line()
        .encode(x=xs, y=alt.Y("c:Q", title="cell state c_t"), color=unit)
    )
    pred = data.transform_filter("datum.t <= t").mark_line(color="black")
    pred = pred.encode(
        x={**xs, "title": "time step t"}, y=alt.Y("p:Q", title="prediction")
    )
    goal = alt.Chart(alt.InlineData(values=[{"y": rounded(target)}]))
    goal = goal.mark_rule(color=RED, strokeDash=[6, 3]).encode(y="y:Q")
    panels = [
        (inp, 60),
        (heat, 36 * len(units)),
        (cell, 90),
        (pred + goal, 70),
    ]
    chart = alt.vconcat(
        *[
            (p + marks + now.encode(x=xs)).properties(
                width="container", height=h
            )
            for p, h in panels
        ],
        spacing=6,
    )
    return chart.add_params(t).resolve_scale(color="independent")


def gates_still(trace, x, target, units=None):
    """:func:`gates_chart` at its default (all T steps), by matplotlib."""
    units = marker_units(trace, x) if units is None else units
    x0 = np.asarray(x)[0]
    t = np.arange(1, len(x0) + 1)
    fig, axes = plt.subplots(
        4,
        1,
        figsize=(6.4, 6.6),
        sharex=True,
        layout="constrained",
        height_ratios=(1, 1.8, 1.3, 1),
    )
    axes[0].bar(
        t, x0[:, 0], width=0.6, color=np.where(x0[:, 1] > 0, RED, GREY)
    )
    rows = [
        (f"{g} · unit {u}", trace.gates[g][0][:, u])
        for g in "ifo"
        for u in units
    ]
    extent = (0.5, len(t) + 0.5, len(rows) - 0.5, -0.5)
    mesh = axes[1].imshow(
        [r for _, r in rows],
        aspect="auto",
        vmin=0,
        vmax=1,
        interpolation="nearest",
        extent=extent,
    )
    axes[1].set_yticks(range(len(rows)), [name for name, _ in rows])
    fig.colorbar(mesh, ax=axes[1], label="gate")
    for u in units:
        axes[2].plot(t, trace.c[0][:, u], label=f"unit {u}")
    axes[2].legend(fontsize="small", ncols=len(units))
    axes[3].plot(t, trace.pred[0, :, 0], color="k")
    axes[3].axhline(target, ls="--", color=RED)
    names = ("input", None, "cell state $c_t$", "prediction")
    for ax, name in zip(axes, names, strict=True):
        ax.set_ylabel(name)
        for m in np.flatnonzero(x0[:, 1] > 0) + 1:
            ax.axvline(m, color=RED, ls=":", lw=1)
    axes[3].set_xlabel("time step $t$")
    return fig


def success_chart(runs, task=None, seq_len=None, init="chrono"):
    """The fraction of seeds solved against training sequences seen, one
    step line per kind, with radio buttons for the task, T and the
    initialisation (starting at task, seq_len, init where they exist).
    runs: records of the results store (``task``, ``kind``, ``init``,
    ``seq_len``, ``seed``, ``budget``, ``solved_at``)."""
    rows = success_steps(runs)
    for r in rows:
        r["y"] = rounded(r["y"])
    start = {"task": task, "seq_len": seq_len, "init": init}
    names = {"task": "task ", "seq_len": "T ", "init": "initialisation "}
    label = {
        "init": lambda v: INITS[v][0] if v in INITS else v,
        "task": lambda v: v.replace("_", " "),
        "seq_len": str,
    }
    params, chosen = [], []
    for field, name in names.items():
        values = sorted({r[field] for r in rows})
        labels = [label[field](v) for v in values]
        bind = alt.binding_radio(options=values, labels=labels, name=name)
        first = start[field] if start[field] in values else values[0]
        params.append(alt.param(name=f"pick_{field}", value=first, bind=bind))
        chosen.append(f"datum.{field} == pick_{field}")
    kinds = alt.Scale(
        domain=list(KIND_COLOURS), range=list(KIND_COLOURS.values())
    )
    line = alt.Chart(csv(rows)).transform_filter(" && ".join(chosen))
    line = line.mark_line(interpolate="step-after", point=True).encode(
        x=alt.X("x:Q", title="training sequences seen"),
        y=alt.Y(
            "y:Q",
            title="fraction of seeds solved",
            scale=alt.Scale(domain=[0, 1]),
        ),
        color=alt.Color(
            "kind:N",
            title=None,
            scale=kinds,
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=["kind:N", "x:Q", "y:Q", "n:Q"],
    )
    return line.add_params(*params).properties(width="container", height=260)


def success_still(runs, task, seq_len, init):
    """:func:`success_chart` at (task, seq_len, init), by matplotlib."""
    chosen = (task, seq_len, init)
    rows = success_steps(runs)
    rows = [r for r in rows if (r["task"], r["seq_len"], r["init"]) == chosen]
    fig, ax = plt.subplots(figsize=(6.0, 3.8), layout="constrained")
    for kind, colour in KIND_COLOURS.items():
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        xs, ys, n = (
            [r["x"] for r in mine],
            [r["y"] for r in mine],
            mine[0]["n"],
        )
        label = f"{kind} ({round(ys[-1] * n)}/{n})"
        ax.step(xs, ys, where="post", color=colour, marker="o", label=label)
    name = INITS[init][0] if init in INITS else init
    ax.set(xlabel="training sequences seen", ylim=(-0.04, 1.04))
    ax.set(ylabel="fraction of seeds solved")
    ax.set_title(f"{task.replace('_', ' ')}, T = {seq_len}, {name}")
    ax.legend()
    return fig
