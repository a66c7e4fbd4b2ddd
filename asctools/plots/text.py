"""Figures of the character models: closers by distance, loss by
context, and source text coloured by a unit's activation.

The first two read runs of the stored experiment ``char_lm``
(:mod:`asctools.experiments.char_lm`): every seed thin, the median bold,
the n-gram baselines dashed. :func:`coloured_text` is the picture of
Karpathy, Johnson & Fei-Fei (2015): each character's background is the
unit's value after reading it, as static HTML that wraps at any width.
"""

from __future__ import annotations

import html

import numpy as np

from asctools._validate import check_real, describe
from asctools.plots.axes import fig_ax

__all__ = [
    "KIND_COLORS",
    "coloured_text",
    "plot_closers",
    "plot_context",
]

KIND_COLORS = {"rnn": "C3", "lstm": "C0", "gru": "C2",
               "kn5": "0.35", "kn3": "0.6", "unigram": "0.75"}  # fmt: skip
KIND_LABELS = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU",
               "kn5": "5-gram", "kn3": "3-gram",
               "unigram": "unigram"}  # fmt: skip
MIN_COUNT = 20  # a bin with fewer closers is not drawn


def _by_kind(runs) -> dict[str, list[dict]]:
    if not runs:
        raise ValueError("runs is empty: the selection matched no run")
    out: dict[str, list[dict]] = {}
    for r in runs:
        out.setdefault(r["kind"], []).append(r)
    return out


def _draw(ax, kind, xs_list, ys_list) -> None:
    """Every seed thin, their median bold (a baseline: one dashed line)."""
    color, label = KIND_COLORS.get(kind, "k"), KIND_LABELS.get(kind, kind)
    ys = np.array(ys_list, dtype=float)
    if kind in ("kn5", "kn3", "unigram"):
        ax.plot(xs_list[0], ys[0], color=color, ls="--", lw=1.6, label=label)
        return
    for x, y in zip(xs_list, ys, strict=True):
        ax.plot(x, y, color=color, lw=0.8, alpha=0.35)
    ax.plot(xs_list[0], np.median(ys, 0), color=color, lw=2.2, marker="o",
            ms=3, label=f"{label} (median of {len(ys)})")  # fmt: skip


def plot_closers(runs, which="all", ax=None):
    """P(the closing bracket or quote) against the distance back to its
    opener, on the held-out files; ``which``: "all", "bracket", "quote"."""
    fig, ax = fig_ax(ax)
    for kind, group in _by_kind(runs).items():
        xs, ys = [], []
        for r in group:
            c = r["closers"][which]
            keep = [i for i, n in enumerate(c["count"]) if n >= MIN_COUNT]
            xs.append([c["edges"][i] for i in keep])
            ys.append([c["mean"][i] for i in keep])
        _draw(ax, kind, xs, ys)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("distance back to the opener (characters, bin start)")
    ax.set_ylabel("P(closer) given by the model")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    return fig, ax


def plot_context(runs, ax=None):
    """Bits per character at fixed held-out positions against the
    characters of context the model was given (its state reset k back)."""
    fig, ax = fig_ax(ax)
    for kind, group in _by_kind(runs).items():
        _draw(ax, kind, [r["contexts"] for r in group],
              [r["context_bits"] for r in group])  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("context k (characters)")
    ax.set_ylabel("bits per character")
    ax.legend(fontsize=8)
    return fig, ax


def _colour(v: float) -> str:
    """Karpathy's map: −1 blue, 0 white, +1 red, as rgb()."""
    lo = round(255 * (1 - 0.75 * min(abs(v), 1.0)))
    return f"rgb(255,{lo},{lo})" if v > 0 else f"rgb({lo},{lo},255)"


# inline, so that Colab shows it as the book does: wrapped, no scrolling
_PRE = ("white-space:pre-wrap;overflow-wrap:anywhere;font-size:0.8em;"
        "line-height:1.45;padding:0.5em;margin:0;background:#fff;"
        "color:#111;border:1px solid #ccc")  # fmt: skip


def coloured_text(text: str, values, title="", scale=1.0) -> str:
    """HTML: ``text`` with each character on a background set by its
    value (``values[i] / scale`` clipped to [−1, 1]: blue negative, red
    positive); long lines wrap, so it reads at phone width."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    v = np.asarray(values, dtype=float)
    if v.shape != (len(text),):
        raise ValueError(
            f"values must hold one value per character ({len(text)}), got "
            f"shape {v.shape}"
        )
    s = check_real("scale", scale, 0.0, strict=True)
    q = np.clip(np.round(v / s * 8) / 8, -1, 1)  # 17 shades: fewer spans
    spans, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or q[i] != q[start] or text[i - 1] == "\n":
            piece = html.escape(text[start:i])
            spans.append(
                f'<span style="background:{_colour(q[start])}">{piece}</span>'
            )
            start = i
    head = f"<p><b>{html.escape(title)}</b></p>" if title else ""
    body = "".join(spans)
    pre = f'<pre style="{_PRE}">{body}</pre>'
    return f'<div class="asc-unit-text">{head}{pre}</div>'
