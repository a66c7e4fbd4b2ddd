"""Figures of the gradient-flow instruments (:mod:`asctools.gradflow`).

One function per figure type. Each takes an instrument's result, draws on
``ax`` (a new figure when None) and returns ``(fig, ax)``; nothing is
shown and no backend is chosen, so a notebook displays the figure and a
script can save it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from asctools.gradflow import relative_grad_norms
from asctools.plots.axes import fig_ax, mapping

__all__ = [
    "plot_grad_norms",
    "plot_jacobian_norms",
    "plot_spectrum",
    "plot_clipping",
    "plot_cliff",
    "plot_learning_curve",
]


def plot_grad_norms(results, which="h", relative=False, ax=None):
    """‖∂L/∂h_t‖ against t, log y, one curve per entry of ``results``.

    results: {label: GradNorms}. which: "h" or "c" (cell state).
    relative: divide each curve by its value at t = T.
    """
    results = mapping("results", results)
    if which not in ("h", "c"):
        raise ValueError(f"which must be 'h' or 'c', got {which!r}")
    fig, ax = fig_ax(ax)
    for label, res in results.items():
        y = res.grad_h_norm if which == "h" else res.grad_c_norm
        if y is None:
            raise ValueError(f"{label!r} has no cell-state norms (no LSTM)")
        if relative:
            y = relative_grad_norms(res, which)
        ax.semilogy(res.t, y, label=label)
    g = rf"\|\partial L/\partial {which}_t\|"
    if relative:
        g += rf" \,/\, \|\partial L/\partial {which}_T\|"
    ax.set(xlabel="time step $t$", ylabel=f"${g}$")
    ax.set_title("Gradient norm reaching each step")
    ax.legend()
    return fig, ax


def plot_jacobian_norms(result, stat="median", ax=None):
    """‖∂h_t/∂h_k‖₂ against t − k (median or mean over sequences), with
    the bound (γσ_max)^(t−k) and ρ^(t−k) dashed. result: JacobianNorms."""
    if stat not in ("median", "mean"):
        raise ValueError(f"stat must be 'median' or 'mean', got {stat!r}")
    fig, ax = fig_ax(ax)
    y = result.norm_median if stat == "median" else result.norm_mean
    ax.semilogy(
        result.lag,
        y,
        label=rf"$\|\partial h_t/\partial h_k\|_2$"
        f" ({stat})",
    )
    ax.semilogy(
        result.lag,
        result.bound,
        "--",
        label=rf"$(\gamma\sigma_{{max}})^{{t-k}}$, "
        rf"$\gamma\sigma_{{max}}$ = {result.gamma * result.sigma_max:.3g}",
    )
    ax.semilogy(
        result.lag,
        result.rho_power,
        "--",
        label=rf"$\rho(W_{{hh}})^{{t-k}}$, $\rho$ = {result.rho:.3g}",
    )
    ax.set(
        xlabel="distance $t - k$ (steps)",
        ylabel=r"$\|\partial h_t/\partial h_k\|_2$",
    )
    ax.set_title("Jacobian product and its bound")
    ax.legend()
    return fig, ax


def plot_spectrum(spec, axes=None):
    """Eigenvalues of W_hh in the complex plane with the unit circle, and
    its singular values as a stem plot. spec: Spectrum. axes: two Axes."""
    if axes is None:
        fig, axes = plt.subplots(
            1, 2, figsize=(9.0, 3.8), layout="constrained"
        )
    elif len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
        raise TypeError("axes must be a pair of matplotlib Axes")
    ax_eig, ax_sv = axes
    phi = np.linspace(0, 2 * np.pi, 361)
    ax_eig.plot(
        np.cos(phi), np.sin(phi), "--", color="gray", label="unit circle"
    )
    ax_eig.scatter(
        spec.eigenvalues.real,
        spec.eigenvalues.imag,
        s=12,
        label=rf"eigenvalues, $\rho$ = {spec.rho:.3g}",
    )
    ax_eig.set_aspect("equal", adjustable="datalim")
    ax_eig.set(
        xlabel=r"Re $\lambda$",
        ylabel=r"Im $\lambda$",
        title=r"Eigenvalues of $W_{hh}$",
    )
    ax_eig.legend(loc="upper right", fontsize="small")
    k = np.arange(1, len(spec.singular_values) + 1)
    ax_sv.stem(
        k,
        spec.singular_values,
        basefmt=" ",
        label=rf"$\sigma_i$, $\sigma_{{max}}$ = {spec.sigma_max:.3g}",
    )
    ax_sv.axhline(1.0, ls="--", color="gray", label=r"$\sigma = 1$")
    ax_sv.set(
        xlabel="index $i$",
        ylabel=r"singular value $\sigma_i$",
        title=r"Singular values of $W_{hh}$",
    )
    ax_sv.legend(fontsize="small")
    return axes[0].figure, (ax_eig, ax_sv)


def plot_clipping(runs, ax=None):
    """Pre-clip global gradient norm per step, with and without clipping
    (log y), and the clip threshold. runs: ClippingRuns."""
    fig, ax = fig_ax(ax)
    for name, run in (
        ("no clipping", runs.unclipped),
        ("clipping", runs.clipped),
    ):
        ax.semilogy(
            np.arange(1, len(run["grad_norm"]) + 1),
            run["grad_norm"],
            label=name,
            lw=1,
        )
    ax.axhline(
        runs.threshold,
        ls="--",
        color="k",
        label=f"clip threshold {runs.threshold:g}",
    )
    ax.set(
        xlabel="training step",
        ylabel=r"$\|\nabla_\theta L\|$ (before clipping)",
    )
    ax.set_title(
        rf"Exploding RNN, $\sigma_{{max}}(W_{{hh}})$ = "
        f"{runs.sigma_max:g}"
    )
    ax.legend()
    return fig, ax


def plot_cliff(surface, ax=None):
    """The one-unit RNN's loss over (w, b), log colour. surface:
    CliffSurface."""
    fig, ax = fig_ax(ax, figsize=(5.5, 4.2))
    loss = surface.loss
    floor = max(float(loss[loss > 0].min()), 1e-8 * float(loss.max()))
    mesh = ax.pcolormesh(
        surface.w,
        surface.b,
        np.maximum(loss, floor),
        norm=LogNorm(floor, float(loss.max())),
        shading="auto",
        cmap="viridis",
    )
    fig.colorbar(mesh, ax=ax, label=r"loss $(h_T - y)^2$")
    act = r"\tanh" if surface.activation == "tanh" else r"\sigma"
    ax.set(xlabel="recurrent weight $w$", ylabel="bias $b$")
    ax.set_title(rf"$h_t = {act}(w h_{{t-1}} + b)$, T = {surface.seq_len}")
    return fig, ax


def plot_learning_curve(
    curves,
    baseline=None,
    baseline_label="trivial baseline",
    xlabel="epoch",
    ylabel="loss",
    logy=False,
    ax=None,
):
    """Loss (or accuracy) curves, one per entry, and the trivial baseline
    as a labelled horizontal line. curves: {label: sequence of floats}."""
    curves = mapping("curves", curves)
    fig, ax = fig_ax(ax)
    for label, values in curves.items():
        if not isinstance(values, (Sequence, np.ndarray)):
            raise TypeError(f"curve {label!r} must be a sequence of floats")
        ax.plot(np.arange(1, len(values) + 1), values, label=label)
    if baseline is not None:
        ax.axhline(
            float(baseline),
            ls="--",
            color="gray",
            label=f"{baseline_label} ({float(baseline):.3g})",
        )
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title("Learning curve")
    ax.legend()
    return fig, ax
