"""MyST markdown as the plain Markdown that Colab renders.

``render(text, view)`` rewrites one markdown cell of a chapter: exercise
fences become ``### Exercise N.k: Title`` headings, a solution's prose is
folded into ``<details>`` (``View`` remembers across cells whether a
solution is open), and roles, labelled math, figures, list tables,
admonitions and the bibliography become Markdown with the numbers the HTML
gives them. Inline code, ``$...$`` math and plain code fences stay as
they are.
"""

from __future__ import annotations

import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from colab_myst import (
    INLINE,
    Block,
    cite,
    names,
    reference,
    role_parts,
    split_blocks,
)
from numbering import Book

WORDS = dict(
    figure="Fig.", table="Table", exercise="Exercise", chapter="Chapter"
)
SPOKEN = dict(
    figure=r"fig\.|figures?",
    table="tables?",
    exercise="exercises?",
    chapter="chapters?",
)
NARRATIVE = {"cite:t", "cite:ts", "cite:alt", "cite:alts", "cite:author"}
TITLED = {"admonition", "dropdown", "margin", "sidebar", "topic"}
BOXES = TITLED | {"note", "tip", "warning", "important", "caution"}
BOXES |= {"hint", "attention", "danger", "error", "seealso"}
CODE = {"code-block", "code", "sourcecode", "code-cell"}
TABLES = {"list-table", "table", "csv-table"}


@dataclass
class View:
    """One chapter's rendering state."""

    book: Book
    path: Path  # the chapter's .md
    chapter: int | None  # its number in the table of contents
    cited: list[str] = field(default_factory=list)
    glued: dict[str, str] = field(default_factory=dict)  # the book's run
    quoted: int = 0  # glue roles rendered so far
    exercises: int = 0
    in_solution: bool = False
    parts: int = 0  # prose and code blocks of the current solution so far

    def number(self, kind: str, label: str | None) -> str:
        """``Fig. 1.2``-style name of ``label``, or '' when unknown."""
        kind_num = self.book.labels.get(label or "")
        if kind_num is None or kind_num[0] != kind:
            return ""
        return f"{WORDS[kind]} {kind_num[1]}"


def render(text: str, view: View) -> str:
    """A markdown cell's MyST as Markdown; tracks exercises and solutions."""
    out, folded = [], []

    def fold():  # a solution's prose so far, as one <details> block
        if folded:
            summary = "Solution" if view.parts == 0 else "Solution, continued"
            out.append(details(summary, "\n\n".join(folded)))
            view.parts += 1
            folded.clear()

    for block in split_blocks(text):
        name = block.name if block.kind == "directive" else ""
        if name == "solution-start":
            view.in_solution, view.parts = True, 0
        elif name == "solution-end":
            fold()
            view.in_solution = False
        elif name != "exercise-end":
            chunk = render_block(block, view).strip("\n")
            if chunk.strip():
                (folded if view.in_solution else out).append(chunk)
    fold()
    return "\n\n".join(out)


def render_body(text: str, view: View) -> str:
    """A directive's body as Markdown (no solution folding here)."""
    chunks = [render_block(b, view).strip("\n") for b in split_blocks(text)]
    return "\n\n".join(c for c in chunks if c.strip())


def details(summary: str, body: str) -> str:
    """A folded block that Colab opens on a click."""
    return (
        f"<details><summary><b>{summary}</b></summary>\n\n{body}\n\n</details>"
    )


def render_block(block: Block, view: View) -> str:
    """One block (text run, code fence or directive) as Markdown."""
    if block.kind != "directive":
        return inline(block.text, view) if block.kind == "text" else block.text
    name = block.name
    if name in ("exercise-start", "exercise"):
        return exercise(block, view)
    if name == "solution":
        return details("Solution", render_body(block.body, view))
    if name in ("figure", "image"):
        return figure(block, view)
    if name == "math":
        return display_math(block.body, block.options.get("label"), view)
    if name == "bibliography":
        return bibliography(block, view)
    if name in TABLES:
        return table(block, view)
    if name in BOXES:
        return box(block, view)
    if name in CODE:
        ticks = [3] + [len(r) + 1 for r in re.findall("`+", block.body)]
        lang = block.arg.split()[0] if block.arg else ""
        return f"{'`' * max(ticks)}{lang}\n{block.body}\n{'`' * max(ticks)}"
    if name in ("toctree", "tableofcontents"):
        return ""
    return render_body(block.body, view)  # any other directive: its content


def exercise(block: Block, view: View) -> str:
    """``### Exercise N.k: Title`` (and the body of an ``{exercise}``)."""
    head = "Exercise"
    if "nonumber" not in block.options:
        view.exercises += 1
        head += f" {number_in(view.chapter, view.exercises)}"
    title = inline(block.arg, view)
    text = f"### {head}: {title}" if title else f"### {head}"
    body = render_body(block.body, view) if block.body else ""
    return f"{text}\n\n{body}" if body else text


def number_in(chapter: int | None, k: int) -> str:
    """``N.k`` in a numbered chapter, ``k`` elsewhere."""
    return f"{chapter}.{k}" if chapter is not None else str(k)


def figure(block: Block, view: View) -> str:
    """An image from the repository's raw files and its numbered caption."""
    url = file_url(block.arg, view)
    caption, _, legend = block.body.partition("\n\n")
    caption = inline(caption.strip(), view)
    alt = block.options.get("alt") or " ".join(caption.split())
    alt = re.sub(r"([][])", r"\\\1", alt)  # brackets end the alt text
    lines = [f"![{alt}]({url})"]
    number = view.number("figure", block.options.get("name"))
    if caption:
        lines.append(f"*{number}: {caption}*" if number else f"*{caption}*")
    if legend.strip():
        lines.append(render_body(legend, view))
    return "\n\n".join(lines)


def file_url(target: str, view: View) -> str:
    """The raw-file URL of a path relative to the chapter."""
    if re.match(r"^[a-z]+://", target):
        return target
    chapter_dir = view.path.resolve().parent.relative_to(view.book.root)
    rel = posixpath.normpath(posixpath.join(chapter_dir.as_posix(), target))
    return f"{view.book.raw}/{rel}"


def display_math(body: str, label: str | None, view: View) -> str:
    """``$$ body \\tag{N.k} $$``; no tag without a (known) label."""
    body = body.strip("\n")
    kind_num = view.book.labels.get(label or "")
    if label and (kind_num is None or kind_num[0] != "equation"):
        warn(view, f"unknown equation label {label!r}")
    elif label:
        body += f"\n\\tag{{{kind_num[1]}}}"
    return f"$$\n{body}\n$$" if "\n" in body else f"$${body}$$"


def table(block: Block, view: View) -> str:
    """A numbered caption above a Markdown table (list-table or table)."""
    caption = inline(block.arg, view)
    number = view.number("table", block.options.get("name"))
    head = (
        f"*{number}: {caption}*"
        if number
        else (f"*{caption}*" if caption else "")
    )
    if block.name == "list-table":
        rows = list_table(block, view)
    else:
        rows = render_body(block.body, view)
    return f"{head}\n\n{rows}" if head else rows


def list_table(block: Block, view: View) -> str:
    """A ``{list-table}`` body as a pipe table (escaped ``|`` in cells)."""
    rows: list[list[str]] = []
    for line in block.body.split("\n"):
        if m := re.match(r"^\*\s+-\s*(.*)$", line):
            rows.append([m[1]])
        elif (m := re.match(r"^\s+-\s*(.*)$", line)) and rows:
            rows[-1].append(m[1])
        elif line.strip() and rows:
            rows[-1][-1] += " " + line.strip()
    width = max((len(r) for r in rows), default=0)
    cells = [
        [inline(c, view).replace("|", r"\|") for c in r]
        + [""] * (width - len(r))
        for r in rows
    ]
    headers = int(block.options.get("header-rows", 0) or 0)
    head = cells[0] if headers else [""] * width
    lines = [head, ["---"] * width] + cells[1 if headers else 0 :]
    return "\n".join("| " + " | ".join(r) + " |" for r in lines)


def box(block: Block, view: View) -> str:
    """An admonition (note, tip, ...) as a blockquote with a bold title."""
    if block.name in TITLED:
        title = inline(block.arg, view)
    else:
        title = "See also" if block.name == "seealso" else block.name.title()
    body = render_body(block.body, view)
    text = f"**{title}**\n\n{body}" if title else body
    return "\n".join(f"> {ln}" if ln else ">" for ln in text.split("\n"))


def bibliography(block: Block, view: View) -> str:
    """A line that points to the book and the chapter's cited entries."""
    keys = list(view.book.bib) if "all" in block.options else view.cited
    entries = sorted(
        (view.book.bib[k] for k in keys if k in view.book.bib),
        key=lambda e: ([n[1] for n in names(e)], e.get("year", "")),
    )
    if not entries:
        return "The references are listed in the book's HTML version."
    items = "\n".join(f"- {reference(e)}" for e in entries)
    return (
        "The references are listed in the book's HTML version and below:"
        f"\n\n{items}"
    )


# ---- inline ---------------------------------------------------------------


def inline(text: str, view: View) -> str:
    """Roles, labelled math, targets and comments of a text run."""

    def one(m: re.Match) -> str:
        if m["role"]:
            return role(m, view)
        if m["dmath"] and m["label"]:
            return display_math(m["body"], m["label"], view)
        if m["target"] or m["comment"]:
            return ""
        return m[0]  # inline code and math stay as they are

    return INLINE.sub(one, text)


def role(m: re.Match, view: View) -> str:
    """A role as the text the HTML shows for it."""
    name, content = m["name"], m["content"]
    if name.startswith("cite"):
        keys = [k.strip() for k in content.split(",")]
        return cite(keys, view.book.bib, narrative=name in NARRATIVE)
    if name.startswith("glue"):
        return glued(content, view)
    if name == "math":
        return f"${content}$"
    text, target = role_parts(content)
    if name not in ("numref", "ref", "eq"):
        return text or target  # any other role: its text
    kind_num = view.book.labels.get(target)
    if kind_num is None:
        warn(view, f"unknown label {target!r} in {{{name}}}")
        return text or target
    kind, num = kind_num
    if text:
        return text.replace("%s", num).replace("{number}", num)
    if kind == "equation":
        return f"({num})"
    if kind == "section":
        return num  # the section's title
    before = m.string[: m.start()]
    if re.search(rf"(?i)\b(?:{SPOKEN[kind]})\s+$", before):
        return num  # "chapter {ref}`ch01`" reads "chapter 1"
    return f"{WORDS[kind]} {num}"


def glued(content: str, view: View) -> str:
    """The text the book's run gave ``{glue:text}`content` ``."""
    text = view.glued.get(content.strip())
    view.quoted += 1
    if text is None:
        raise KeyError(
            f"{view.path.name}: no value for {{glue:text}}`{content}`; "
            "build the book (`make book`), then run `make notebooks`"
        )
    return re.sub(r"([\\`*_<>\[\]$])", r"\\\1", text)  # literal


def warn(view: View, message: str) -> None:
    """A problem in a chapter that the twin can work around."""
    print(f"warning: {view.path.name}: {message}", file=sys.stderr)
