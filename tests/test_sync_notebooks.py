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
from html import unescape
from pathlib import Path

import glue_values
import jupytext
import nbformat
import pytest
import sync_notebooks
from colab_view import FORM, RUN_NOTE, colab_notebook
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
    (tmp_path / "book" / "_glue").mkdir(parents=True)
    files = {
        "_toc.yml": TOC,
        "_config.yml": CONFIG,
        "intro.md": "# Hi\n",
        "book/one.md": chapter(CH1),
        "book/two.md": chapter(CH2),
        "book/aside.md": "# Aside\n",
        "book/references.bib": BIB,
        "book/_glue/one.json": '{"one_value:.2f": "3.14"}\n',
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
        source = "".join(cell["source"])
        made = source.startswith("*Fig. 1.2") or source == RUN_NOTE
        assert made or cell["id"].split("-")[0] in expected
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
        "See Fig. 1.2, Fig. 1.1, Table 1.1,\n(1.1) and the number 3.14." in md
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


# ---- the numbers of the book's run in the twins' text -------------------

GLUED = """(ch01)=
# One

Intro.

INSTALL
```{code-cell} ipython3
:mystnb:
:  figure:
:    caption: |
:      Loss after {glue:text}`steps` steps.
:    name: fig-one-loss
glue("steps", 40000)
```

Solved {glue:text}`acc:.1%` after {glue:text}`steps:,` (i.e.
{glue:text}`steps:,d`) sequences in {glue:text}`secs:.2f` s; the gradient
fell to {glue:text}`ratio:.2e`, the task was {glue:text}`task` and
{glue:text}`phrase`.
"""
PLAIN = {  # text/plain as myst-nb stores it, and as the HTML shows it
    "acc": ("0.8666666746139526", "86.7%"),
    "steps": ("40000", "40,000"),
    "secs": ("12.3456", "12.35"),
    "ratio": ("1.234e-11", "1.23e-11"),
    "task": ("'adding'", "adding"),
    "phrase": ("'not within 6,400'", "not within 6,400"),
}


def glued_book(root: Path, plain: dict[str, str] | None) -> Path:
    """``root``'s chapter one with GLUED, and a build's glue.json."""
    (root / "book/one.md").write_text(chapter(GLUED))
    (root / "book/two.md").write_text(chapter("# Two\n\nINSTALL\n"))
    (root / "book/_glue/one.json").unlink()
    if plain is not None:
        built = root / "_build/jupyter_execute/book/one.glue.json"
        built.parent.mkdir(parents=True)
        built.write_text(
            json.dumps({k: build_output(v) for k, v in plain.items()})
        )
    return root


def build_output(plain: str) -> dict:
    """One glue.json entry, as myst-nb writes it."""
    return {"output_type": "display_data", "data": {"text/plain": plain}}


def test_glue_roles_quote_the_book_run(book):
    nb = twin(book, "book/one")
    cells = ["".join(c["source"]) for c in nb["cells"]]
    assert cells[0].startswith("# One")
    assert cells[1] == RUN_NOTE  # under the title, before any number
    assert "the number 3.14." in markdown(nb)
    assert "one_value" not in markdown(nb)
    assert RUN_NOTE not in markdown(twin(book, "book/two"))  # no numbers


def test_make_notebooks_formats_the_build_values_as_myst_nb(book):
    root = glued_book(book, {k: v[0] for k, v in PLAIN.items()})
    assert sync_notebooks.main(["--root", str(root)]) == 0
    values = json.loads((root / "book/_glue/one.json").read_text())
    assert values == {
        "acc:.1%": "86.7%",
        "steps": "40000",
        "steps:,": "40,000",
        "steps:,d": "40,000",
        "secs:.2f": "12.35",
        "ratio:.2e": "1.23e-11",
        "task": "adding",
        "phrase": "not within 6,400",
    }
    for use, text in values.items():  # myst-nb's own function, not a copy
        plain = PLAIN[glue_values.key_of(use)][0]
        assert glue_values.render(use, plain) == text
    md = markdown(json.loads((root / "book/one.ipynb").read_text()))
    assert "*Fig. 1.1: Loss after 40000 steps.*" in md
    assert (
        "Solved 86.7% after 40,000 (i.e.\n40,000) sequences in 12.35 s; "
        "the gradient\nfell to 1.23e-11, the task was adding and\n"
        "not within 6,400." in md
    )
    assert sync_notebooks.main(["--check", "--root", str(root)]) == 0


def test_check_reads_no_build_and_names_what_is_missing(book, capsys):
    root = glued_book(book, {k: v[0] for k, v in PLAIN.items()})
    assert sync_notebooks.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert (
        "ERROR book/one.md: no value for steps, acc:.1%, steps:, and 5 more "
        "in book/_glue/one.json or in the last build: build the book "
        "(`make book`), then run `make notebooks` and commit" in err
    )
    shutil.rmtree(root / "_build")  # and no build either
    assert sync_notebooks.main(["--root", str(root)]) == 1
    assert "no value for steps" in capsys.readouterr().err
    assert not (root / "book/one.ipynb").exists()  # nothing half-written


def test_a_rebuild_updates_values_but_keeps_run_dependent_ones(book):
    root = glued_book(book, {k: v[0] for k, v in PLAIN.items()})
    with (root / "_config.yml").open("a") as config:
        config.write("colab_twins:\n  run_dependent: [se*]\n")
    assert sync_notebooks.main(["--root", str(root)]) == 0
    new = {**PLAIN, "acc": ("0.5", ""), "secs": ("99.0", "")}
    glue_json = root / "_build/jupyter_execute/book/one.glue.json"
    glue_json.write_text(
        json.dumps({k: build_output(v[0]) for k, v in new.items()})
    )
    assert sync_notebooks.main(["--root", str(root)]) == 0
    values = json.loads((root / "book/_glue/one.json").read_text())
    assert values["acc:.1%"] == "50.0%"  # the new build's
    assert values["secs:.2f"] == "12.35"  # a timing: the committed text
    chapter_md = root / "book/one.md"  # a new format of it is new text
    chapter_md.write_text(chapter_md.read_text().replace("secs:.2f", "secs"))
    assert sync_notebooks.main(["--root", str(root)]) == 0
    values = json.loads((root / "book/_glue/one.json").read_text())
    assert values["secs"] == "99.0" and "secs:.2f" not in values


def test_an_unsupported_glue_role_is_an_error(book):
    text = chapter(CH2 + "\nSee {glue}`x` here.\n")
    with pytest.raises(ValueError, match=r"renders only \{glue:text\}"):
        glue_values.uses(text)


def twin_problems(md_text: str, twin: dict) -> list[str]:
    """What a twin's Markdown shows that it should not: a glue role, a
    glue key (the name where the number should be), no run note."""
    keys = {glue_values.key_of(u) for u in glue_values.uses(md_text)}
    text = markdown(twin)
    problems = ["a {glue} role"] if "{glue" in text else []
    shown = sorted(k for k in keys if re.search(rf"\b{re.escape(k)}\b", text))
    problems += [f"glue keys: {shown[:5]}"] if shown else []
    return problems + ([] if RUN_NOTE in text else ["no run note"])


def test_no_twin_shows_a_glue_key_or_role():
    """Each twin's text has the numbers, never the names, of its values."""
    found = 0
    for md in sync_notebooks.chapters():
        path = md.with_suffix(".ipynb")
        text = md.read_text()
        if not (path.exists() and glue_values.uses(text)):
            continue
        found += 1
        problems = twin_problems(text, json.loads(path.read_text()))
        assert not problems, f"{path.name} shows {problems}"
    if not found:
        pytest.skip("no chapter quotes a glued value in this checkout")


def test_a_twin_with_a_glue_key_or_role_is_caught():
    """The check above, on a real twin made wrong in each way."""
    md = next(m for m in sync_notebooks.chapters()
              if m.with_suffix(".ipynb").exists()
              and glue_values.uses(m.read_text()))  # fmt: skip
    text = md.read_text()
    key = glue_values.key_of(glue_values.uses(text)[0])
    twin = json.loads(md.with_suffix(".ipynb").read_text())
    assert twin_problems(text, twin) == []
    cell = next(c for c in twin["cells"] if c["cell_type"] == "markdown")
    for extra, problem in ((f" {key} ", "glue keys"),
                           ("{glue:text}`x`", "{glue} role")):  # fmt: skip
        broken = json.loads(json.dumps(twin))
        first = next(
            c for c in broken["cells"] if c["cell_type"] == "markdown"
        )
        first["source"] = "".join(cell["source"]) + extra
        assert any(problem in p for p in twin_problems(text, broken))


def pasted_texts(html: str) -> list[str]:
    """The texts of the page's ``{glue:text}`` roles, in page order."""
    spans = re.findall(r'<span class="pasted-text">(.*?)</span>', html, re.S)
    return [unescape(s) for s in spans]


@pytest.mark.parametrize("md", sync_notebooks.chapters(), ids=lambda p: p.stem)
def test_committed_values_are_what_the_built_html_shows(md):
    """The twin quotes the build's numbers, formatted as the HTML has them;
    a value listed as run-dependent in _config.yml only has to exist."""
    html = HTML / "book" / f"{md.stem}.html"
    if not html.exists():
        pytest.skip(f"{html} is not built: run `make book`")
    if html.stat().st_mtime < md.stat().st_mtime:
        pytest.skip(f"{html.name} is older than {md.name}: rebuild the book")
    found = glue_values.uses(md.read_text())
    values = glue_values.load(glue_values.values_path(md))
    shown = pasted_texts(html.read_text())
    assert len(shown) == len(found), "the page and its glue roles differ"
    patterns = glue_values.run_dependent(ROOT)
    stale = [  # each use once
        f"{use}: {values.get(use)!r} in the twin, {text!r} in the HTML"
        for use, text in zip(found, shown, strict=True)
        if values.get(use) != text
        and not glue_values.is_run_dependent(use, patterns)
    ]
    assert not stale, (
        f"{md.name}: run `make notebooks` after this build and commit: "
        + "; ".join(list(dict.fromkeys(stale))[:5])
    )
