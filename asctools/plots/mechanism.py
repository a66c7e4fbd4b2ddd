"""Figures of what happens inside a recurrent network on a sequence.

* :func:`plot_gate_heatmaps`: an LSTM's gates and cell state, unit by
  unit over time, on one sequence, with the steps that matter marked;
* :func:`plot_drift`: the cell state's size and the share of saturated
  units over time, for several initialisations (internal state drift);
* :func:`plot_time_constants`: the forget gates' time constants
  1 / (1 − f) against the lag a task needs;
* :func:`plot_latch`: hidden trajectories along their main direction,
  coloured by the bit they store (the attractors of a latch).

Inputs are :class:`asctools.gradflow.GateTrace` objects and arrays.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from asctools.plots.axes import fig_ax, mapping

__all__ = [
    "plot_drift",
    "plot_gate_heatmaps",
    "plot_latch",
    "plot_time_constants",
    "principal_directions",
]

_NAMES = {"i": "input gate $i_t$", "f": "forget gate $f_t$",
          "g": "cell input $g_t$", "o": "output gate $o_t$",
          "z": "update gate $z_t$", "r": "reset gate $r_t$"}  # fmt: skip


def plot_gate_heatmaps(trace, index=0, rows=("i", "f", "o", "c"), units=None,
                       marks=(), figsize=(9.0, 7.0)):  # fmt: skip
    """Heat-maps (unit × step) of ``rows`` for sequence ``index``.

    ``rows``: gate names of the trace and ``"c"`` (the cell state) or
    ``"h"``; ``units``: which units, in that order (default all);
    ``marks``: steps to draw as vertical lines (1-based, e.g. markers).
    Gates use a fixed 0–1 scale; the states a symmetric one.
    """
    fig, axes = plt.subplots(len(rows), 1, figsize=figsize, sharex=True,
                             layout="constrained")  # fmt: skip
    axes = np.atleast_1d(axes)
    n_t = trace.h.shape[1]
    for ax, name in zip(axes, rows, strict=True):
        values = {"c": trace.c, "h": trace.h}.get(name)
        if values is None:
            values = trace.gates[name]
        data = values[index] if units is None else values[index][:, units]
        state = name in ("c", "h")
        top = float(np.abs(data).max()) if state else 1.0
        mesh = ax.imshow(
            data.T, aspect="auto", interpolation="nearest",
            cmap="RdBu_r" if state else "viridis",
            vmin=-top if state else 0.0, vmax=top,
            extent=(0.5, n_t + 0.5, data.shape[1] - 0.5, -0.5),
        )  # fmt: skip
        for t in marks:
            ax.axvline(t, color="w" if not state else "k", lw=1, ls="--")
        label = {"c": "cell state $c_t$", "h": "hidden state $h_t$"}
        ax.set_ylabel("unit")
        ax.set_title(label.get(name, _NAMES.get(name, name)), loc="left",
                     fontsize="medium")  # fmt: skip
        fig.colorbar(mesh, ax=ax, pad=0.01)
    axes[-1].set_xlabel("time step $t$")
    return fig, axes


def plot_drift(traces, threshold=0.1, axes=None):
    """Mean |c_t| (log scale) and the share of saturated units,
    1 − tanh²(c_t) < ``threshold``, against t; traces = {label: trace}."""
    traces = mapping("traces", traces)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6),
                                 layout="constrained")  # fmt: skip
    fig = axes[0].figure
    for i, (label, tr) in enumerate(traces.items()):
        t = np.arange(1, tr.c.shape[1] + 1)
        axes[0].semilogy(t, np.abs(tr.c).mean(axis=(0, 2)), color=f"C{i}",
                         label=label)  # fmt: skip
        axes[1].plot(t, tr.saturated(threshold), color=f"C{i}", label=label)
    axes[0].set(xlabel="time step $t$", ylabel=r"mean $|c_t|$")
    axes[1].set(
        xlabel="time step $t$",
        ylim=(-0.03, 1.03),
        ylabel=rf"share with $\tanh'(c_t) < {threshold:g}$",
    )
    axes[0].legend(fontsize="small")
    return fig, axes


def plot_time_constants(traces, lag, ax=None):
    """The share of units whose time constant 1/(1 − f) at t = 1 is at
    least τ, against τ (log x), with the task's lag marked."""
    traces = mapping("traces", traces)
    fig, ax = fig_ax(ax)
    for i, (label, tr) in enumerate(traces.items()):
        tau = np.sort(tr.time_constant()[:, 0].ravel())  # (B·H,) at t = 1
        share = 1.0 - np.arange(len(tau)) / len(tau)
        ax.step(tau, share, where="post", color=f"C{i}", label=label)
    ax.axvline(lag, color="k", ls="--", label=f"lag {lag}")
    ax.set(
        xscale="log",
        xlabel=r"time constant $1/(1 - f)$ (steps)",
        ylabel="share of units with at least this",
        ylim=(-0.03, 1.03),
    )
    ax.legend(fontsize="small")
    return fig, ax


def principal_directions(states, k=2):
    """The top ``k`` principal directions (k, H) of states (..., H)."""
    flat = np.asarray(states, float).reshape(-1, states.shape[-1])
    _, _, vt = np.linalg.svd(flat - flat.mean(axis=0), full_matrices=False)
    return vt[:k]


def plot_latch(states, labels, ax=None, max_lines=40):
    """Hidden trajectories (B, T, H) projected on their first principal
    direction against t, coloured by the stored bit ``labels`` (B,)."""
    fig, ax = fig_ax(ax)
    states, labels = np.asarray(states, float), np.asarray(labels)
    pc = states @ principal_directions(states, 1)[0]  # (B, T)
    t = np.arange(1, states.shape[1] + 1)
    for bit, color in ((1, "C3"), (0, "C0")):
        rows = np.flatnonzero(labels == bit)[:max_lines]
        for j, r in enumerate(rows):
            name = f"first element {'+1' if bit else '−1'}" if j == 0 else None
            ax.plot(t, pc[r], color=color, lw=0.7, alpha=0.5, label=name)
    ax.set(xlabel="time step $t$", ylabel="$h_t$ along its main direction")
    ax.legend(fontsize="small")
    return fig, ax
