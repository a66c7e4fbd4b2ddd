"""The book's build machinery: failing cells fail the build, twins match.

The build command is read from the Makefile's ``book`` target, so these
tests prove the flags the README's command really uses.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def build_flags() -> list[str]:
    """The arguments after ``jupyter-book build .`` in the Makefile."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"jupyter-book build \. (.*)", makefile)
    assert match, "the Makefile's book target must call `jupyter-book build .`"
    return shlex.split(match.group(1))


def make_book(tmp_path: Path, cell: str) -> Path:
    """A one-page book with the project's configuration and ``cell``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["bibtex_bibfiles"] = ["references.bib"]
    config["exclude_patterns"] = ["_build"]
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ROOT / "book" / "references.bib", tmp_path)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (tmp_path / "page.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\nkernelspec:\n  name: python3\n"
        "  display_name: Python 3\n  language: python\n---\n"
        "# A page\n\n```{code-cell} ipython3\nx = 1 + 1\n```\n\n"
        f"```{{code-cell}} ipython3\n{cell}\n```\n"
    )
    return tmp_path


def build(book: Path) -> subprocess.CompletedProcess:
    cmd = [str(BIN / "jupyter-book"), "build", str(book), *build_flags()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_flags_are_strict():
    flags = build_flags()
    for flag in ("--all", "-W", "-n", "--keep-going"):
        assert flag in flags


@pytest.mark.slow
def test_a_good_page_builds(tmp_path):
    result = build(make_book(tmp_path, "print(x)"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    html = (tmp_path / "_build" / "html" / "page.html").read_text()
    assert ">2<" in html or "2\n" in html  # the cell ran and printed


@pytest.mark.slow
def test_an_injected_failing_cell_fails_the_build(tmp_path):
    cell = "raise RuntimeError('injected failure')"
    result = build(make_book(tmp_path, cell))
    assert result.returncode != 0
    assert "injected failure" in result.stdout + result.stderr


@pytest.mark.slow
def test_a_warning_in_a_cell_fails_the_build(tmp_path):
    cell = "import warnings\nwarnings.warn('injected warning')"
    result = build(make_book(tmp_path, cell))
    assert result.returncode != 0


def test_colab_twins_are_in_sync():
    script = ROOT / "book" / "_scripts" / "sync_notebooks.py"
    result = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
