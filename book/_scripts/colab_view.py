"""The Colab view of a chapter: its MyST markdown as a plain notebook.

``colab_notebook(text, path, book)`` turns a chapter's ``.md`` into the
JSON of its Colab twin. Colab renders CommonMark, HTML and math, but no MyST,
so the view rewrites what the book's build would render:

- exercises become ``### Exercise N.k: Title`` headings; a solution's prose
  is folded into ``<details>`` and its code cells become Colab forms
  (``# @title`` line, ``cellView: form``), shown folded, run by "Run all";
- citations, cross-references, equation labels, figures, list tables,
  admonitions and the bibliography become Markdown, with the numbers that
  Sphinx gives them in the HTML (``numbering.py`` computes them);
- ``{glue:text}`name:fmt``` becomes the text the book's run gave it (the
  committed ``_glue/<chapter>.json``, ``glue_values.py`` says how), and a
  note under the title says so; in Colab, where myst-nb is absent,
  ``asctools.utils.glue`` prints ``name = value (your run)``.

Code cells are unchanged apart from the solution form. Every cell's id is
derived from its original type and source, so the twin is the same bytes
on every run and an unchanged cell keeps its id.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import jupytext
from colab_markdown import View, inline, render
from colab_myst import INLINE
from glue_values import load, values_path
from numbering import Book, caption_of

FORM = "# @title Solution (double-click to show the code)"
RUN_NOTE = (
    "> **The numbers in this text are the book's run:** they were computed "
    "when the book's web version was built. The cells that compute them "
    "print your run's values, marked *(your run)*; those can differ a "
    "little from machine to machine."
)


def colab_notebook(
    text: str, path: Path, book: Book, glued: dict[str, str] | None = None
) -> str:
    """The Colab twin (``.ipynb`` JSON) of the chapter ``text`` at ``path``.

    ``glued``: role content -> text of the chapter's ``{glue:text}`` roles;
    by default the committed ``_glue/<chapter>.json``.
    """
    nb = jupytext.reads(text, fmt="md:myst")
    rel = path.resolve().relative_to(book.root.resolve()).with_suffix("")
    view = View(book, path, book.numbers.get(rel.as_posix()))
    view.cited = cited_keys(nb.cells)
    view.glued = load(values_path(path)) if glued is None else glued
    pairs = []  # (original type and source, new cell)
    for cell in nb.cells:
        key = f"{cell.cell_type}\n{cell.source}"
        if cell.cell_type == "code":
            pairs.append((key, code_cell(cell, view)))
            caption = figure_caption(cell, view)
            if caption:
                pairs.append(
                    ("caption\n" + key, new_cell("markdown", caption))
                )
        elif cell.cell_type == "markdown":
            md = render(cell.source, view)
            if md.strip():
                pairs.append((key, new_cell("markdown", md, cell.metadata)))
        else:
            pairs.append((key, new_cell(cell.cell_type, cell.source)))
    if view.quoted:
        add_run_note(pairs)
    assign_ids(pairs)
    kernelspec = nb.metadata.get(
        "kernelspec",
        {"display_name": "Python 3", "language": "python", "name": "python3"},
    )
    notebook = {
        "cells": [cell for _, cell in pairs],
        "nbformat": 4,
        "metadata": {"kernelspec": kernelspec},
        "nbformat_minor": 5,
    }
    return (
        json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False)
        + "\n"
    )


def add_run_note(pairs: list[tuple[str, dict]]) -> None:
    """The note on the numbers, after the first markdown cell (the title)."""
    first = next(
        (i for i, (_, c) in enumerate(pairs) if c["cell_type"] == "markdown"),
        -1,
    )
    pairs.insert(first + 1, ("run-note", new_cell("markdown", RUN_NOTE)))


def assign_ids(pairs: list[tuple[str, dict]]) -> None:
    """Set each cell's id: sha1 of its original, ``-2``, ``-3`` on repeats."""
    seen = Counter()
    for key, cell in pairs:
        base = hashlib.sha1(key.encode()).hexdigest()[:8]
        seen[base] += 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"


def new_cell(kind: str, source: str, metadata=None) -> dict:
    """A notebook cell without outputs; ``id`` is set later."""
    cell = {
        "cell_type": kind,
        "metadata": dict(metadata or {}),
        "source": source.strip("\n").splitlines(keepends=True),
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def code_cell(cell, view: View) -> dict:
    """The code cell as it is, or as a folded form inside a solution."""
    if not view.in_solution:
        return new_cell("code", cell.source, cell.metadata)
    view.parts += 1  # prose after it continues the solution
    metadata = {**cell.metadata, "cellView": "form"}
    return new_cell("code", f"{FORM}\n{cell.source}", metadata)


def figure_caption(cell, view: View) -> str:
    """``*Fig. N.k: caption*`` for a code cell that makes a named figure."""
    name, caption = caption_of(cell.metadata)
    number = view.number("figure", name)
    if not (number and caption):
        return ""
    return f"*{number}: {inline(caption.strip(), view)}*"


def cited_keys(cells) -> list[str]:
    """The bib keys that the chapter's markdown and captions cite."""
    texts = [c.source for c in cells if c.cell_type == "markdown"]
    texts += [caption_of(c.metadata)[1] for c in cells]
    keys = []
    for m in INLINE.finditer("\n\n".join(texts)):
        if m["role"] and m["name"].startswith("cite"):
            keys += [k.strip() for k in m["content"].split(",")]
    return list(dict.fromkeys(keys))
