"""Keep each chapter's Colab twin (``.ipynb``) and install cell in sync.

The MyST ``.md`` chapters are the source. For every chapter in ``_toc.yml``
this script

1. writes the repository address from ``_config.yml`` (the only place it is
   kept) into the chapter's install cell, the code cell that starts with
   ``# colab-install`` and is tagged ``remove-cell`` and ``skip-execution``
   (so the build neither runs nor shows it);
2. regenerates ``chapter.ipynb`` beside it: the chapter read with
   jupytext's Python API and rewritten as plain Markdown that Colab
   renders, with folded solutions, no outputs and cell ids derived from
   each cell's source (``colab_view.py`` says how), so the same chapter
   always gives the same bytes.

``python book/_scripts/sync_notebooks.py``          rewrite what drifted
``python book/_scripts/sync_notebooks.py --check``  fail (exit 1) on drift
``--root DIR`` works on the book in DIR instead of this repository.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

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
    drift = []
    for md in chapters(root):
        text = md.read_text()
        fixed = with_install_cell(text, md, root)
        if fixed != text:
            drift.append(f"{md.relative_to(root)}: install cell")
            if not args.check:
                md.write_text(fixed)
        ipynb = md.with_suffix(".ipynb")
        twin = colab_notebook(fixed, md, book)  # built in memory
        if not ipynb.exists() or ipynb.read_text() != twin:
            drift.append(f"{ipynb.relative_to(root)}: out of date")
            if not args.check:
                ipynb.write_text(twin)
    for line in drift:
        print(("DRIFT " if args.check else "updated ") + line)
    if args.check and drift:
        print("run `make notebooks` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
