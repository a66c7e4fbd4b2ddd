"""Write the book's diagrams as hand-laid-out SVG files into figs/.

``python figs/make_figs.py`` rewrites ``lstm_cell.svg``, one
``lstm_gate_<name>.svg`` per gate (the same cell with that gate and its paths
highlighted), ``rnn_unrolled.svg`` and ``elman_jordan.svg``. The SVGs are
committed; this script is how they were drawn, so they stay consistent.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
GREY = "#9aa0a6"
INK = "#202124"
GATES = {  # name: (x of the gate box, activation, colour, label)
    "f": (200, "σ", "#e8710a", "forget gate f"),
    "i": (330, "σ", "#188038", "input gate i"),
    "g": (440, "tanh", "#1967d2", "candidate g"),
    "o": (560, "σ", "#9334e6", "output gate o"),
}
HEAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
    'width="{w}" height="{h}" font-family="Helvetica, Arial, sans-serif" '
    'font-size="16">\n<defs>\n{markers}</defs>\n'
    '<rect width="100%" height="100%" fill="white"/>\n'
)
MARKER = (
    '<marker id="arr{n}" viewBox="0 0 10 10" refX="9" refY="5" '
    'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
    '<path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>\n'
)


def svg(w: int, h: int, body: list[str], colours: list[str]) -> str:
    markers = "".join(
        MARKER.format(n=k, c=c) for k, c in enumerate(colours)
    )
    return HEAD.format(w=w, h=h, markers=markers) + "".join(body) + "</svg>\n"


def line(pts, colour, marker=None, width=2.5, dash=None):
    d = " ".join(f"{x},{y}" for x, y in pts)
    end = f' marker-end="url(#arr{marker})"' if marker is not None else ""
    dash = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline points="{d}" fill="none" stroke="{colour}" '
        f'stroke-width="{width}"{dash}{end}/>\n'
    )


def text(x, y, s, colour=INK, size=16, anchor="middle", style=""):
    return (
        f'<text x="{x}" y="{y}" fill="{colour}" font-size="{size}" '
        f'text-anchor="{anchor}" {style}>{s}</text>\n'
    )


def node(x, y, op, colour):
    """A pointwise operation: a circle with × or +."""
    return (
        f'<circle cx="{x}" cy="{y}" r="14" fill="white" stroke="{colour}" '
        f'stroke-width="2.5"/>\n' + text(x, y + 6, op, colour, 20)
    )


def box(x, y, label, colour, fill="white", w=64):
    return (
        f'<rect x="{x - w / 2}" y="{y - 18}" width="{w}" height="36" rx="6" '
        f'fill="{fill}" stroke="{colour}" stroke-width="2.5"/>\n'
        + text(x, y + 6, label, colour, 17)
    )


def lstm_cell(highlight: str | None = None) -> str:
    """The LSTM cell; with ``highlight`` one gate is coloured, rest grey."""

    def col(name):
        if highlight is None:
            return GATES[name][2]
        return GATES[name][2] if name == highlight else GREY

    cell_c = INK if highlight in (None, "f", "i", "g") else GREY
    out_c = INK if highlight in (None, "o") else GREY
    colours = [INK, GREY] + [GATES[k][2] for k in GATES]
    idx = {INK: 0, GREY: 1, **{GATES[k][2]: n + 2 for n, k in enumerate(GATES)}}
    b = ['<rect x="70" y="45" width="600" height="270" rx="18" '
         'fill="#f8f9fa" stroke="#dadce0" stroke-width="2"/>\n']
    # the cell state: c_{t-1} -> (× f) -> (+ i⊙g) -> c_t, the additive path
    b.append(line([(20, 85), (186, 85)], cell_c))
    b.append(line([(214, 85), (386, 85)], cell_c))
    b.append(line([(414, 85), (720, 85)], cell_c, idx[cell_c]))
    b.append(text(24, 72, "c<tspan dy='5' font-size='12'>t−1</tspan>",
                  cell_c, anchor="start"))
    b.append(text(716, 72, "c<tspan dy='5' font-size='12'>t</tspan>",
                  cell_c, anchor="end"))
    b.append(node(200, 85, "×", col("f")))
    b.append(node(400, 85, "+", cell_c))
    # input bus: [h_{t-1}, x_t] feeds every gate
    bus = INK if highlight is None else GREY
    b.append(line([(20, 285), (560, 285)], bus))
    b.append(line([(110, 345), (110, 285)], bus))
    b.append(text(24, 305, "h<tspan dy='5' font-size='12'>t−1</tspan>",
                  bus, anchor="start"))
    b.append(text(126, 345, "x<tspan dy='5' font-size='12'>t</tspan>",
                  bus, anchor="start"))
    for name, (x, act, _, _) in GATES.items():
        c = col(name)
        b.append(line([(x, 285), (x, 237)], c, idx[c]))
        b.append(box(x, 218, act, c))
        b.append(text(x + 40, 255, f"{name}<tspan dy='5' font-size='12'>"
                      "t</tspan>", c, anchor="start",
                      style='font-style="italic"'))
    # forget gate multiplies the old cell state
    b.append(line([(200, 200), (200, 99)], col("f"), idx[col("f")]))
    # input gate × candidate, added to the cell state
    ig = INK if highlight in (None, "i", "g") else GREY
    b.append(line([(330, 200), (330, 150), (386, 150)], col("i")))
    b.append(line([(440, 200), (440, 150), (414, 150)], col("g")))
    b.append(node(400, 150, "×", ig))
    b.append(line([(400, 136), (400, 99)], ig, idx[ig]))
    # output: h_t = o ⊙ tanh(c_t)
    b.append(line([(610, 85), (610, 113)], out_c, idx[out_c]))
    b.append('<ellipse cx="610" cy="133" rx="30" ry="18" fill="white" '
             f'stroke="{out_c}" stroke-width="2.5"/>\n')
    b.append(text(610, 139, "tanh", out_c, 15))
    b.append(line([(610, 151), (610, 164)], out_c, idx[out_c]))
    b.append(line([(560, 200), (560, 180), (594, 180)], col("o"),
                  idx[col("o")]))
    b.append(node(610, 180, "×", out_c))
    b.append(line([(624, 180), (650, 180), (650, 285), (720, 285)],
                  out_c, idx[out_c]))
    b.append(line([(650, 180), (650, 20)], out_c, idx[out_c]))
    b.append(text(716, 305, "h<tspan dy='5' font-size='12'>t</tspan>",
                  out_c, anchor="end"))
    b.append(text(664, 30, "h<tspan dy='5' font-size='12'>t</tspan>",
                  out_c, anchor="start"))
    if highlight:
        b.append(text(370, 30, GATES[highlight][3], GATES[highlight][2], 18,
                      style='font-weight="bold"'))
    return svg(740, 360, b, colours)


def rnn_unrolled() -> str:
    """An Elman RNN folded (left) and unrolled over three steps (right)."""
    blue, red = "#1967d2", "#d93025"
    b = []
    # folded network with its self-loop
    b.append(box(80, 160, "h", INK, "#e8f0fe", 56))
    b.append(line([(80, 250), (80, 181)], INK, 0))
    b.append(line([(80, 139), (80, 70)], INK, 0))
    b.append(text(80, 270, "x<tspan dy='5' font-size='12'>t</tspan>"))
    b.append(text(80, 58, "y<tspan dy='5' font-size='12'>t</tspan>"))
    b.append('<path d="M108,150 C150,120 150,200 108,170" fill="none" '
             f'stroke="{INK}" stroke-width="2.5" marker-end="url(#arr0)"/>\n')
    b.append(text(160, 165, "W<tspan dy='5' font-size='12'>hh</tspan>",
                  anchor="start"))
    b.append(text(215, 166, "=", INK, 30))
    xs = [320, 480, 640]
    names = ["t−1", "t", "t+1"]
    b.append(line([(250, 160), (290, 160)], INK, 0))
    b.append(text(252, 150, "…", INK, 20, anchor="start"))
    for k, (x, n) in enumerate(zip(xs, names)):
        b.append(box(x, 160, f"h<tspan dy='5' font-size='12'>{n}</tspan>",
                     INK, "#e8f0fe", 64))
        b.append(line([(x, 250), (x, 179)], INK, 0))
        b.append(line([(x, 141), (x, 70)], INK, 0))
        b.append(text(x, 270, f"x<tspan dy='5' font-size='12'>{n}</tspan>"))
        b.append(text(x, 58, f"y<tspan dy='5' font-size='12'>{n}</tspan>"))
        b.append(text(x + 8, 220, "W<tspan dy='5' font-size='11'>xh</tspan>",
                      blue, 14, anchor="start"))
        b.append(text(x + 8, 112, "W<tspan dy='5' font-size='11'>hy</tspan>",
                      blue, 14, anchor="start"))
        nxt = xs[k + 1] - 32 if k < 2 else 740
        b.append(line([(x + 32, 160), (nxt, 160)], INK, 0))
        mid = (x + 32 + nxt) / 2
        b.append(text(mid, 150, "W<tspan dy='5' font-size='11'>hh</tspan>",
                      blue, 14))
        # backpropagation through time: gradients flow right to left
        if k > 0:
            b.append(line([(x - 40, 198), (xs[k - 1] + 40, 198)], red, 1,
                          2, "6,4"))
    b.append(text(752, 165, "…", INK, 20, anchor="start"))
    b.append(text(480, 318, "same weights W_xh, W_hh, W_hy at every step; "
                  "BPTT sends ∂L/∂h back along the dashed path", INK, 14))
    b[-1] = b[-1].replace("W_xh, W_hh, W_hy", "W<tspan dy='4' font-size="
                          "'10'>xh</tspan><tspan dy='-4'>, W</tspan><tspan "
                          "dy='4' font-size='10'>hh</tspan><tspan dy='-4'>, "
                          "W</tspan><tspan dy='4' font-size='10'>hy</tspan>"
                          "<tspan dy='-4'></tspan>")
    return svg(790, 340, b, [INK, red])


def elman_jordan() -> str:
    """Elman feeds back the hidden state, Jordan the output."""
    red = "#d93025"
    b = []
    for x0, title, fb_from in ((40, "Elman network", "h"), (420, "Jordan "
                                "network", "y")):
        cx = x0 + 160
        b.append(text(cx, 30, title, INK, 18, style='font-weight="bold"'))
        b.append(box(cx, 230, "x<tspan dy='5' font-size='12'>t</tspan>",
                     INK, "#f1f3f4", 60))
        b.append(box(cx, 150, "h<tspan dy='5' font-size='12'>t</tspan>",
                     INK, "#e8f0fe", 60))
        b.append(box(cx, 70, "y<tspan dy='5' font-size='12'>t</tspan>",
                     INK, "#fce8e6", 60))
        b.append(line([(cx, 212), (cx, 169)], INK, 0))
        b.append(line([(cx, 132), (cx, 89)], INK, 0))
        # the context unit holds last step's h (Elman) or y (Jordan)
        b.append(box(x0 + 40, 150, "context", red, "white", 84))
        src_y = 150 if fb_from == "h" else 70
        b.append(line([(cx + 30, src_y), (cx + 90, src_y), (cx + 90, 290),
                       (x0 + 40, 290), (x0 + 40, 169)], red, 1, 2, "6,4"))
        b.append(line([(x0 + 82, 150), (cx - 31, 150)], red, 1))
        b.append(text(cx + 96, 280, f"copy of {fb_from}<tspan dy='5' "
                      "font-size='11'>t</tspan>", red, 14, anchor="start"))
    return svg(800, 320, b, [INK, red])


def main() -> None:
    (HERE / "lstm_cell.svg").write_text(lstm_cell())
    for name in GATES:
        (HERE / f"lstm_gate_{name}.svg").write_text(lstm_cell(name))
    (HERE / "rnn_unrolled.svg").write_text(rnn_unrolled())
    (HERE / "elman_jordan.svg").write_text(elman_jordan())


if __name__ == "__main__":
    main()
