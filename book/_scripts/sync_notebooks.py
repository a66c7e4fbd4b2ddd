"""Keep each chapter's Colab twin (``.ipynb``) and install cell in sync.

The MyST ``.md`` chapters are the source. For every chapter in ``_toc.yml``
this script

1. writes the repository address from ``_config.yml`` (the only place it is
   kept) into the chapter's install cell, the code cell that starts with
   ``# colab-install`` and is tagged ``remove-cell`` and ``skip-execution``
   (so the build neither runs nor shows it);
2. refreshes ``_glue/chapter.json`` beside it, the numbers that the
   chapter's text quotes, from the last build of the book when there is
   one (``glue_values.py`` says how);
3. regenerates ``chapter.ipynb`` beside it: the chapter read with
   jupytext's Python API and rewritten as plain Markdown that Colab
   renders, with folded solutions, the book's numbers in the text, no
   outputs and cell ids derived from each cell's source (``colab_view.py``
   says how), so the same chapter always gives the same bytes.

``python book/_scripts/sync_notebooks.py``          rewrite what drifted
``python book/_scripts/sync_notebooks.py --check``  fail (exit 1) on drift;
reads only committed files (no build), so the same checkout always passes
or fails. ``--root DIR`` works on the book in DIR instead of this
repository.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import glue_values as gv
import yaml
from colab_view import colab_notebook
from numbering import load_book, toc_docs

ROOT = Path(__file__).resolve().parents[2]
MARKER = "# colab-install"
CELL_RE = re.compile(
    r"(```\{code-cell\} ipython3\n:tags: \[[^\]]*\]\n)"
    + re.escape(MARKER)
    + r".*?\n```",
    re.S,
)
TEMPLATE = """{marker}: runs only in Google Colab, where it installs the course
# package from the repository; elsewhere it does nothing (see README.md).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and not importlib.util.find_spec("asctools"):
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q",
         "asctools @ git+{url}@{branch}"],
        check=True,
    )"""


def repository(root: Path = ROOT) -> tuple[str, str]:
    """The repository URL and branch from ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def chapters(root: Path = ROOT) -> list[Path]:
    """The ``.md`` files of the table of contents that contain code."""
    paths = [root / f"{page}.md" for page, _ in toc_docs(root)]
    return [
        p for p in paths if p.exists() and "```{code-cell}" in p.read_text()
    ]


def with_install_cell(text: str, path: Path, root: Path = ROOT) -> str:
    """``text`` with its install cell rewritten from ``_config.yml``."""
    url, branch = repository(root)
    body = TEMPLATE.format(marker=MARKER, url=url, branch=branch)
    new, count = CELL_RE.subn(
        lambda m: m.group(1) + body + "\n```", text, count=1
    )
    if count != 1 or "remove-cell" not in new or "skip-execution" not in new:
        raise SystemExit(
            f"{path}: no install cell; add a code cell tagged "
            f"[remove-cell, skip-execution] whose first line is {MARKER!r}"
        )
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="report drift and exit 1 instead of fixing",
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the book's root folder"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    book = load_book(root)
    patterns = gv.run_dependent(root)
    drift, errors = [], []
    for md in chapters(root):
        text = md.read_text()
        fixed = with_install_cell(text, md, root)
        if fixed != text:
            drift.append(f"{md.relative_to(root)}: install cell")
            if not args.check:
                md.write_text(fixed)
        build = None if args.check else gv.built(root, md)
        values = gv.refresh(
            gv.uses(fixed), gv.load(gv.values_path(md)), build, patterns
        )
        if values.missing:
            errors.append(missing(values, md, root))
            continue
        drift += sync_values(values.texts, md, root, args.check)
        ipynb = md.with_suffix(".ipynb")
        twin = colab_notebook(fixed, md, book, values.texts)  # in memory
        if not ipynb.exists() or ipynb.read_text() != twin:
            drift.append(f"{ipynb.relative_to(root)}: out of date")
            if not args.check:
                ipynb.write_text(twin)
    for line in drift:
        print(("DRIFT " if args.check else "updated ") + line)
    for line in errors:
        print(f"ERROR {line}", file=sys.stderr)
    if args.check and drift:
        print("run `make notebooks` and commit the result", file=sys.stderr)
    return 1 if errors or (args.check and drift) else 0


def missing(values: gv.Values, md: Path, root: Path) -> str:
    """Why the chapter's twin cannot be written, and what to do."""
    path = gv.values_path(md).relative_to(root)
    uses = ", ".join(values.missing[:3])
    if len(values.missing) > 3:
        uses += f" and {len(values.missing) - 3} more"
    return (
        f"{md.relative_to(root)}: no value for {uses} in {path} or in "
        "the last build: build the book (`make book`), then run "
        "`make notebooks` and commit"
    )


def sync_values(texts: dict, md: Path, root: Path, check: bool) -> list:
    """Write (or, with ``check``, compare) the chapter's values file."""
    path = gv.values_path(md)
    new = gv.dump(texts) if texts else None
    old = path.read_text() if path.exists() else None
    if new == old:
        return []
    if not check:
        if new is None:
            path.unlink()
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(new)
    return [f"{path.relative_to(root)}: out of date"]


if __name__ == "__main__":
    sys.exit(main())
