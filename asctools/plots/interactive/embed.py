"""How the book shows an interactive figure: :func:`show`.

In the book's build (environment variable ``ASCTOOLS_BOOK_HTML`` = 1) a
cell's figure becomes one HTML block: the still (a PNG, with alt text),
an empty container and a short script that calls
``vegaEmbed(container, spec, {actions: false})`` only if ``vegaEmbed``
exists, and hides the still once the chart is drawn (and names each
group of radio buttons by its label). Where scripts do not run, or the
library is missing, the still stays. The library (npm's vega, vega-lite,
vega-embed) is the book's own copy in ``_static/vega/``.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import sys

import matplotlib.pyplot as plt

from asctools.plots.interactive._spec import data_uri

__all__ = ["BOOK_ENV", "show"]

BOOK_ENV = "ASCTOOLS_BOOK_HTML"  # "1" in the book's build

_SCRIPT = """(function () {
  var spec = %s;
  function embed() {  // no vega-embed (no scripts, no file): the still stays
    var box = document.getElementById("%s");
    if (!window.vegaEmbed || !box) return;
    vegaEmbed(box, spec, {actions: false, renderer: "svg"}).then(function () {
      box.parentNode.querySelector("img.asc-still").style.display = "none";
      box.querySelectorAll(".vega-bind-radio").forEach(function (group) {
        group.setAttribute("role", "radiogroup");  // named by its label
        group.setAttribute("aria-label", group.previousSibling.textContent);
      });
    }).catch(function (err) { console.error("vega-embed: " + err); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", embed);
  } else { embed(); }
})();"""
_STYLE = (
    ".asc-interactive img, .asc-interactive svg {max-width: 100%; "
    "height: auto} .asc-interactive .vega-bind {margin: 0.3em 0}"
)


def still_png(fig, dpi=90) -> bytes:
    """``fig`` as a PNG of 256 colours (a third of the bytes)."""
    from PIL import Image  # matplotlib's own dependency

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    img = Image.open(buf).convert("RGB").quantize(256)
    out = io.BytesIO()
    img.save(out, format="png", optimize=True)
    return out.getvalue()


def spec_json(chart, description: str) -> str:
    """The chart's Vega-Lite spec as compact JSON, safe in a <script>."""
    spec = chart.properties(description=description).to_dict()
    spec["config"] = {**spec.get("config", {}), "background": "white"}
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/")  # nothing in it ends the script


class Block:
    """The book's HTML for one figure (``_repr_html_``); its plain-text
    form is the alt text."""

    def __init__(self, chart, fig, alt_text: str):
        spec = spec_json(chart, alt_text)
        ident = "asc-vega-" + hashlib.sha1(spec.encode()).hexdigest()[:10]
        still = data_uri(still_png(fig))
        plt.close(fig)
        self.alt_text, self.spec = alt_text, spec
        self.html = (
            f'<div class="asc-interactive"><style>{_STYLE}</style>'
            f'<img class="asc-still" src="{still}" '
            f'alt="{html.escape(alt_text)}">'
            f'<div class="asc-chart" id="{ident}" style="width: 100%"></div>'
            f"<script>{_SCRIPT % (spec, ident)}</script></div>"
        )

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.alt_text


def show(chart, still_fig, alt_text: str):
    """What a chapter's cell returns to display ``chart``.

    In the book's build: a :class:`Block` of ``still_fig`` (the figure
    at the controls' defaults) with ``alt_text``, which vega-embed
    replaces by the chart where it runs. In Colab (which renders
    Vega-Lite): the chart, or the still if the chart does not convert.
    Elsewhere: the chart. ``still_fig`` is closed unless it is returned.
    """
    if "google.colab" in sys.modules:
        try:
            chart.to_dict()
        except Exception:  # e.g. an Altair too old for this spec
            return still_fig
    elif os.environ.get(BOOK_ENV) == "1":
        return Block(chart, still_fig, alt_text)
    plt.close(still_fig)
    return chart
