"""The Colab twins: plain Markdown, folded solutions, stable ids, --check.

``book/_scripts/sync_notebooks.py`` writes each chapter's ``.ipynb`` twin
through ``colab_view.py``; these tests run it on small synthetic books in
temporary folders and on copies of the real chapters, never on the
chapters themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
import sync_notebooks
from colab_view import FORM, colab_notebook
from numbering import load_book, number_labels, toc_docs

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
RAW = "https://raw.githubusercontent.com/org/repo/trunk"
MYST_LEFT = (
    "{exercise- {solution- {glue {numref} {cite {eq} {figure} {ref} "
    "{list-table} {admonition} {note} {bibliography} ::: ```{"
).split()
FRONT = (
    "---\njupytext:\n  text_representation:\n    extension: .md\n"
    "    format_name: myst\nkernelspec:\n  display_name: Python 3\n"
    "  language: python\n  name: python3\n---\n\n"
)
INSTALL = (
    "```{code-cell} ipython3\n:tags: [remove-cell, skip-execution]\n"
    "# colab-install\n```\n\n"
)
BIB = """@article{smith2001one, author = {Smith, Ann}, title = {One},
  journal = {J}, volume = {3}, number = {2}, pages = {1--9}, year = {2001}}
@inproceedings{jones1999two,
  author = {Jones, Bo and M{\\"u}ller, Cy}, title = {Two}, year = 1999}
@misc{lee2010three, author = {Lee, D. and Ng, E. and Ko, F.},
  title = {{T}hree}, note = {arXiv:1}, year = {2010}}
@misc{unused2000, author = {Nobody, N.}, title = {Unused}, year = {2000}}
"""
CH1 = """(ch01)=
# One

Intro {cite:p}`smith2001one,jones1999two` and {cite:t}`lee2010three`.

$$
a = b
$$ (eq-one-a)

Unlabelled $$c = d$$ and inline $x_{\\{k\\}}$ and `bias_l{k}` and `w`
stay.

INSTALL
```{figure} ../figs/pic.svg
:name: fig-one-pic

A [picture] of $h_t$.
```

```{code-cell} ipython3
:tags: [hide-input]
:mystnb:
:  figure:
:    caption: |
:      A plot.
:    name: fig-one-plot
x = 1
```

```{list-table} Names
:header-rows: 1
:name: tbl-one

* - a
  - b
* - $|x|$
  - {eq}`eq-one-b`
```

$$
e = f
$$ (eq-one-b)

See {numref}`fig-one-plot`, {numref}`fig-one-pic`, {numref}`tbl-one`,
{eq}`eq-one-a` and the number {glue:text}`one_value:.2f`.

:::{admonition} Careful
:class: tip
Body with {eq}`eq-one-b`.
:::

## Exercises

```{exercise-start} First
:label: one-ex-a
```

Do it.

```{code-cell} ipython3
answer = None
```

```{exercise-end}
```

```{solution-start} one-ex-a
:class: dropdown
```

Because.

```{code-cell} ipython3
:tags: [hide-output]
answer = 42
print(answer)
```

More prose.

```{note}
Inside.
```

```{code-cell} ipython3
x = 1
```

```{solution-end}
```

````{exercise-start}
:label: one-ex-b
````

Again, after {ref}`one-ex-a`.

````{exercise-end}
````

## References

```{bibliography}
:filter: docname in docnames
```
"""
CH2 = """(ch02)=
# Two

Chapter {ref}`ch01` had {eq}`eq-one-b`; {ref}`ch01` and {ref}`ch02`.

INSTALL
$$
g = h
$$ (eq-two-a)

```{code-cell} ipython3
y = 2
```
"""
TOC = """format: jb-book
root: intro
parts:
  - caption: A
    numbered: true
    chapters:
      - file: book/one
  - caption: B
    numbered: false
    chapters:
      - file: book/aside.md
  - caption: C
    numbered: true
    chapters:
      - file: book/two
"""
CONFIG = """repository:
  url: https://github.com/org/repo
  branch: trunk
bibtex_bibfiles:
  - book/references.bib
"""


def chapter(body: str) -> str:
    """A chapter's text: front matter, and the install cell in place."""
    return FRONT + body.replace("INSTALL\n", INSTALL)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A two-chapter book (and an unnumbered aside) in a temp folder."""
    (tmp_path / "book").mkdir()
    files = {
        "_toc.yml": TOC,
        "_config.yml": CONFIG,
        "intro.md": "# Hi\n",
        "book/one.md": chapter(CH1),
        "book/two.md": chapter(CH2),
        "book/aside.md": "# Aside\n",
        "book/references.bib": BIB,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def twin(root: Path, page: str, text: str | None = None) -> dict:
    """The twin of ``root/page.md`` (or of ``text`` in its place)."""
    path = root / f"{page}.md"
    text = path.read_text() if text is None else text
    return json.loads(colab_notebook(text, path, load_book(root)))


def markdown(nb: dict) -> str:
    cells = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    return "\n\n".join("".join(c["source"]) for c in cells)


def test_twin_is_a_valid_notebook_without_outputs(book):
    nb = twin(book, "book/one")
    nbformat.validate(nbformat.from_dict(nb))
    assert nb["metadata"] == {
        "kernelspec": {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        }
    }
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(
        c["outputs"] == [] and c["execution_count"] is None for c in code
    )
    assert "".join(code[0]["source"]).startswith("# colab-install")


def test_ids_come_from_the_original_cells_and_stay(book):
    text = (book / "book/one.md").read_text()
    first = colab_notebook(text, book / "book/one.md", load_book(book))
    assert first == colab_notebook(text, book / "book/one.md", load_book(book))
    cells = jupytext.reads(text, fmt="md:myst").cells
    expected = {  # sha1 of the original type and source, 8 hex digits
        hashlib.sha1(f"{c.cell_type}\n{c.source}".encode()).hexdigest()[:8]
        for c in cells
    }
    out = json.loads(first)["cells"]
    ids = [c["id"] for c in out]
    assert len(set(ids)) == len(ids)
    for cell in out:
        caption = "".join(cell["source"]).startswith("*Fig. 1.2")
        assert caption or cell["id"].split("-")[0] in expected
    twice = hashlib.sha1(b"code\nx = 1").hexdigest()[:8]
    assert [i for i in ids if i.startswith(twice)] == [twice, f"{twice}-2"]
    edited = text.replace("Do it.", "Do it now.")
    after = [c["id"] for c in twin(book, "book/one", edited)["cells"]]
    changed = [(a, b) for a, b in zip(ids, after, strict=True) if a != b]
    assert len(changed) == 1  # only the edited cell has a new id


def test_solution_code_is_a_folded_form_and_unchanged(book):
    cells = twin(book, "book/one")["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    forms = [c for c in code if c["metadata"].get("cellView") == "form"]
    assert len(forms) == 2
    first = "".join(forms[0]["source"])
    assert first == f"{FORM}\nanswer = 42\nprint(answer)"
    assert forms[0]["metadata"] == {
        "cellView": "form",
        "tags": ["hide-output"],
    }
    others = [c for c in code if c not in forms]
    assert ["".join(c["source"]) for c in others] == [
        "# colab-install",
        "x = 1",
        "answer = None",
    ]  # as written
    assert all("cellView" not in c["metadata"] for c in others)


def test_exercises_become_headings_and_solutions_details(book):
    md = markdown(twin(book, "book/one"))
    assert "### Exercise 1.1: First\n\nDo it." in md
    assert "### Exercise 1.2\n\nAgain, after Exercise 1.1." in md
    assert md.count("<details><summary><b>Solution</b></summary>") == 1
    assert (
        "<b>Solution, continued</b></summary>\n\nMore prose.\n\n"
        "> **Note**\n>\n> Inside.\n\n</details>"
    ) in md
    assert md.count("</details>") == 2
    assert "Because." in md.split("<details>")[1]


def test_no_myst_left_in_any_markdown_cell(book):
    md = markdown(twin(book, "book/one")) + markdown(twin(book, "book/two"))
    for raw in [*MYST_LEFT, "(ch01)=", "$$ (eq"]:
        assert raw not in md, raw
    assert (
        "`bias_l{k}` and `w`\nstay" in md and "$x_{\\{k\\}}$" in md
    )  # left alone
    assert "Unlabelled $$c = d$$" in md


def test_real_twins_have_no_myst_left():
    twins = [p.with_suffix(".ipynb") for p in sync_notebooks.chapters()]
    twins = [p for p in twins if p.exists()]
    if not twins:
        pytest.skip("no chapter twins in this checkout")
    for path in twins:
        nbformat.validate(nbformat.read(path, as_version=4))
        md = markdown(json.loads(path.read_text()))
        for raw in MYST_LEFT:
            assert raw not in md, f"{path.name}: {raw}"


def test_citations_and_references_come_from_the_bib(book):
    md = markdown(twin(book, "book/one"))
    assert (
        "Intro (Smith, 2001; Jones & Müller, 1999) and Lee et al. "
        "(2010)." in md
    )
    refs = md.split("listed in the book's HTML version and below:")[1]
    lines = [ln for ln in refs.strip().split("\n") if ln.startswith("- ")]
    assert lines == [
        "- Bo Jones and Cy Müller. Two. 1999.",
        "- D. Lee, E. Ng, and F. Ko. Three. arXiv:1, 2010.",
        "- Ann Smith. One. *J*, 3(2), 1–9, 2001.",
    ]


def test_figures_tables_equations_and_roles(book):
    md = markdown(twin(book, "book/one"))
    assert f"![A \\[picture\\] of $h_t$.]({RAW}/figs/pic.svg)" in md
    assert "*Fig. 1.1: A [picture] of $h_t$.*" in md
    assert "*Fig. 1.2: A plot.*" in md  # the code cell's own figure
    assert "$$\na = b\n\\tag{1.1}\n$$" in md
    assert "$$\ne = f\n\\tag{1.2}\n$$" in md
    assert (
        "*Table 1.1: Names*\n\n| a | b |\n| --- | --- |\n"
        "| $\\|x\\|$ | (1.2) |" in md
    )
    assert (
        "See Fig. 1.2, Fig. 1.1, Table 1.1,\n(1.1) and the number "
        "`one_value`." in md
    )
    assert "> **Careful**\n>\n> Body with (1.2)." in md


def test_numbers_follow_the_toc_across_parts(book):
    assert toc_docs(book) == [
        ("intro", None),
        ("book/one", 1),
        ("book/aside", None),
        ("book/two", 2),
    ]
    md = markdown(twin(book, "book/two"))
    assert "# Two\n\nChapter 1 had (1.2); Chapter 1 and Chapter 2." in md
    assert "\\tag{2.1}" in md
    config = book / "_config.yml"
    config.write_text(CONFIG + "use_multitoc_numbering: false\n")
    assert toc_docs(book)[-1] == ("book/two", 1)  # each part restarts


def html_numbers(html: str) -> dict[str, str]:
    """label -> number as the built HTML shows it (figures, tables,
    equations, exercises)."""
    found = {}
    for label, text in re.findall(
        r'href="#([\w-]+)"><span class="std std-numref">([^<]+)</span>', html
    ):
        found[label] = text.split()[-1]
    for label, num in re.findall(
        r'id="equation-([\w-]+)">\s*<span class="eqno">\(([\d.]+)\)', html
    ):
        found[label] = num
    for label, num in re.findall(
        r'id="([\w-]+)">\s*<p class="admonition-title">'
        r'<span class="caption-number">Exercise (\S+) ',
        html,
    ):
        found[label] = num
    return found


@pytest.mark.parametrize("page", ["ch01_recurrence", "ch03_lstm"])
def test_numbers_match_the_built_html(page):
    md, html = ROOT / "book" / f"{page}.md", HTML / "book" / f"{page}.html"
    if not html.exists() or not md.exists():
        pytest.skip(f"{html} is not built")
    if html.stat().st_mtime < md.stat().st_mtime:
        pytest.skip(f"{html.name} is older than {md.name}: rebuild the book")
    text = html.read_text()
    chapter = int(
        re.search(r'<h1><span class="section-number">(\d+)\.', text)[1]
    )
    ours = number_labels([(md, chapter)])
    theirs = html_numbers(text)
    assert len(theirs) >= 10
    for label, num in theirs.items():
        assert ours[label][1] == num, label


def copy_book(dst: Path) -> Path:
    """The repository's book files (chapters, twins, config) in ``dst``."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, dst / name)
    shutil.copytree(
        ROOT / "book",
        dst / "book",
        ignore=shutil.ignore_patterns("_scripts", "*.py"),
    )
    return dst


def test_check_passes_after_a_sync_and_fails_after_an_edit(tmp_path, capsys):
    root = copy_book(tmp_path)
    args = ["--root", str(root)]
    assert sync_notebooks.main(args) == 0
    assert sync_notebooks.main(["--check", *args]) == 0
    chapter = sync_notebooks.chapters(root)[-1]
    chapter.write_text(chapter.read_text() + "\nOne more sentence.\n")
    capsys.readouterr()
    assert sync_notebooks.main(["--check", *args]) == 1
    out = capsys.readouterr().out
    assert f"DRIFT {chapter.relative_to(root).with_suffix('.ipynb')}" in out
    assert sync_notebooks.main(args) == 0  # fixes it
    assert sync_notebooks.main(["--check", *args]) == 0
