"""The numbers Sphinx gives the book's chapters, figures and equations.

The HTML numbers chapters in ``_toc.yml`` order (``numbered: true``) and,
within chapter N, figures, tables, labelled equations and exercises each
in document order: ``Fig. N.k``, ``Table N.k``, ``(N.k)``, ``Exercise N.k``.
A figure counts when it has a name: a ``{figure}`` with ``:name:`` or a
code cell whose metadata has ``mystnb.figure.name``. ``load_book`` computes
these numbers for every page of the table of contents, so that a chapter's
Colab twin can quote them, its own and other chapters' alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jupytext
import yaml
from colab_myst import INLINE, read_bib, split_blocks

FIGURES = {"figure", "glue:figure"}
TABLES = {"list-table", "table", "csv-table"}
VERBATIM = {"code-block", "code", "sourcecode", "code-cell", "math", "raw"}
HEADING = re.compile(r"^\s*\n*(#+)\s+(.*?)\s*#*\s*$", re.M)


@dataclass
class Book:
    """What every chapter's Colab view needs to know about the book."""

    root: Path  # the book's root (where _config.yml and _toc.yml are)
    raw: str  # raw-file URL of the book root in the repository
    bib: dict[str, dict[str, str]]  # key -> fields, from the bib files
    labels: dict[str, tuple[str, str]]  # label -> (kind, number or title)
    numbers: dict[str, int | None]  # page ("book/ch01_x") -> chapter number


def load_book(root: Path) -> Book:
    """Read ``_config.yml``, ``_toc.yml``, the bib files and every page."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    docs = toc_docs(root)
    bib = {}
    for name in config.get("bibtex_bibfiles", []):
        bib.update(read_bib(root / name))
    return Book(
        root=root,
        raw=raw_url(config.get("repository", {})),
        bib=bib,
        labels=number_labels([(root / f"{d}.md", n) for d, n in docs]),
        numbers=dict(docs),
    )


def raw_url(repository: dict) -> str:
    """``https://raw.githubusercontent.com/ORG/REPO/BRANCH[/path]``."""
    url = repository.get("url", "").rstrip("/")
    branch = repository.get("branch", "main")
    if url.startswith("https://github.com/"):
        base = url.replace(
            "https://github.com/", "https://raw.githubusercontent.com/", 1
        )
        base += f"/{branch}"
    else:
        base = f"{url}/raw/{branch}"
    path = str(repository.get("path_to_book", "") or "").strip("/")
    return f"{base}/{path}" if path else base


def toc_docs(root: Path) -> list[tuple[str, int | None]]:
    """``[(page, chapter number)]`` in ``_toc.yml`` order, without ``.md``.

    The root page and the chapters of unnumbered parts have no number;
    sections share their chapter's number. Numbers run on across parts
    (Jupyter Book's ``use_multitoc_numbering``, on unless ``_config.yml``
    turns it off, when each part starts again at 1).
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    run_on = config.get("use_multitoc_numbering", True)
    numbered = (toc.get("options") or {}).get("numbered", False)
    parts = toc.get("parts") or [{"chapters": toc.get("chapters", [])}]
    docs, n = [(_page(toc["root"]), None)], 0
    for part in parts:
        on = part.get("numbered", numbered)
        n = n if run_on else 0
        for entry in _files(part.get("chapters", [])):
            n += bool(on)
            docs += [(page, n if on else None) for page in _tree(entry)]
    return docs


def _page(name: str) -> str:
    return re.sub(r"\.(md|ipynb)$", "", name)


def _files(entries: list) -> list[dict]:
    return [e for e in entries if "file" in e]


def _tree(entry: dict) -> list[str]:
    """A toc entry's page and, depth first, its sections' pages."""
    pages = [_page(entry["file"])]
    for sub in _files(entry.get("sections", [])):
        pages += _tree(sub)
    return pages


def caption_of(metadata: dict) -> tuple[str | None, str]:
    """``(name, caption)`` of a code cell's ``mystnb.figure`` metadata."""
    fig = (metadata.get("mystnb") or {}).get("figure") or {}
    return fig.get("name"), fig.get("caption") or ""


def number_labels(
    docs: list[tuple[Path, int | None]],
) -> dict[str, tuple[str, str]]:
    """``{label: (kind, number)}`` over the pages, in document order.

    Kinds: figure, table, equation, exercise (numbers ``N.k``), chapter
    (``N``) and section (its title instead of a number).
    """
    labels: dict[str, tuple[str, str]] = {}
    counts: Counter = Counter()

    def count(kind: str, label: str | None, chapter: int | None) -> None:
        counts[kind, chapter] += 1
        k = counts[kind, chapter]
        if label:
            labels[label] = (
                kind,
                f"{chapter}.{k}" if chapter is not None else str(k),
            )

    for path, chapter in docs:
        if not path.exists():
            continue
        cells = jupytext.reads(path.read_text(), fmt="md:myst").cells
        for cell in cells:
            if cell.cell_type == "code":
                name = caption_of(cell.metadata)[0]
                if name:
                    count("figure", name, chapter)
            elif cell.cell_type == "markdown":
                _scan(cell.source, chapter, count, labels)
    return labels


def _scan(text: str, chapter: int | None, count, labels: dict) -> None:
    """Count the numbered things of one markdown cell (or body)."""
    for block in split_blocks(text):
        if block.kind == "text":
            _scan_text(block.text, chapter, count, labels)
            continue
        if block.kind != "directive":
            continue
        name, opts = block.name, block.options
        if name in FIGURES and opts.get("name"):
            count("figure", opts["name"], chapter)
        elif name in TABLES and opts.get("name"):
            count("table", opts["name"], chapter)
        elif name == "math" and opts.get("label"):
            count("equation", opts["label"], chapter)
        elif name in ("exercise", "exercise-start"):
            if "nonumber" not in opts:
                count("exercise", opts.get("label"), chapter)
        if name not in VERBATIM:
            _scan(block.body, chapter, count, labels)


def _scan_text(text: str, chapter: int | None, count, labels: dict) -> None:
    """Labelled display math and ``(label)=`` targets before headings."""
    for m in INLINE.finditer(text):
        if m["dmath"] and m["label"]:
            count("equation", m["label"], chapter)
        elif m["target"]:
            heading = HEADING.match(text, m.end())
            if not heading:
                continue
            if len(heading[1]) == 1 and chapter is not None:
                labels[m["tlabel"]] = ("chapter", str(chapter))
            else:
                labels[m["tlabel"]] = ("section", heading[2])
