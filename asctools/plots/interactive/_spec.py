"""What the interactive figures share: small data, sliders, channels.

Private to :mod:`asctools.plots.interactive`.
"""

from __future__ import annotations

import base64

import altair as alt
import numpy as np

RED, GREY = "#d62728", "#888888"


def rounded(x, digits=3) -> float:
    """x to ``digits`` significant digits: the spec stays small."""
    return float(f"{float(x):.{digits}g}")


def csv(rows: list[dict]) -> alt.InlineData:
    """Rows as inline CSV (half the bytes of JSON), numbers parsed."""
    head = list(rows[0])
    text = [",".join(head)] + [",".join(str(r[k]) for k in head) for r in rows]
    numbers = {k: "number" for k in head if not isinstance(rows[0][k], str)}
    fmt = {"type": "csv", "parse": numbers}
    return alt.InlineData(values="\n".join(text), format=fmt)


def near(field: str, param: str) -> str:
    """A filter: the rows whose ``field`` is a slider's (float) value."""
    return f"abs(datum.{field} - {param}) < 1e-6"


def slider(name: str, values, value, label: str):
    """A parameter bound to a labelled range input over evenly spaced
    ``values``, starting at ``value``."""
    values = sorted(values)
    step = np.diff(values)
    if len(values) < 2 or not np.allclose(step, step[0]):
        raise ValueError(f"a slider needs evenly spaced values: {values}")
    lo, hi, step = values[0], values[-1], rounded(step[0])
    bind = alt.binding_range(min=lo, max=hi, step=step, name=label)
    return alt.param(name=name, value=value, bind=bind)


def q(field, title, lo, hi, **scale) -> dict:
    """A quantitative channel on the fixed domain [lo, hi]."""
    domain = [float(lo), float(hi)]
    scale = alt.Scale(domain=domain, nice=False, **scale)
    return {
        "field": field,
        "type": "quantitative",
        "title": title,
        "scale": scale,
    }


def text(chart, expr: str, **mark):
    """Lines of text at the top left of a view: ``expr`` is a Vega
    expression giving an array of strings from ``chart``'s one row."""
    chart = chart.transform_calculate(text=expr)
    mark = chart.mark_text(align="left", baseline="top", x=6, y=6, **mark)
    return mark.encode(text="text:N")


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
