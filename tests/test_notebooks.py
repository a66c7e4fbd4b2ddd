"""Every chapter's Colab twin runs top to bottom, as Colab would run it.

``book/_scripts/run_notebooks.py`` does the work (its docstring says how):
a fresh environment with the package installed from the working tree, an
empty working folder, every cell. The seconds go to
``_build/notebook_times.json``; a notebook fails on an error or past the
hard limit, ``ASCTOOLS_NOTEBOOK_LIMIT`` seconds (default 300; the target
is 90).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import nbformat
import pytest
import run_notebooks as runner

ROOT = Path(__file__).resolve().parents[1]
LIMIT = float(os.environ.get("ASCTOOLS_NOTEBOOK_LIMIT", runner.LIMIT_S))
TWINS = runner.twins()


@pytest.fixture(scope="module")
def python() -> Path:
    """The notebook environment's python (made on first use: minutes)."""
    return runner.ensure_venv()


@pytest.fixture(scope="module")
def times():
    """Results of this module's chapter runs, written out at the end."""
    results: list[runner.Result] = []
    yield results
    if results:
        runner.write_times(results, merge=len(results) < len(TWINS))


def _notebook(tmp_path: Path, *cells: str, tags=()) -> Path:
    """A notebook of code ``cells``; the first one gets ``tags``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.cells[0].metadata["tags"] = list(tags)
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_kernel_has_only_the_installed_package(tmp_path, python):
    venv = str(python.parent.parent)
    threads = os.environ.get("ASCTOOLS_THREADS", "1")
    check = (
        "import os, sys, asctools\n"
        f"assert sys.prefix == {venv!r}, sys.prefix\n"
        "assert asctools.__file__.startswith(sys.prefix), asctools.__file__\n"
        f"assert not os.getcwd().startswith({str(ROOT)!r}), os.getcwd()\n"
        "assert os.listdir('.') == [], os.listdir('.')\n"
        f"assert {str(ROOT)!r} not in sys.path\n"
        f"assert os.environ['ASCTOOLS_THREADS'] == {threads!r}\n"
    )
    result = runner.run_notebook(_notebook(tmp_path, check), python, 120)
    assert result.error is None, result.error


@pytest.mark.slow
def test_a_failing_cell_is_reported(tmp_path, python):
    path = _notebook(tmp_path, "x = 1", "raise ValueError('injected')")
    result = runner.run_notebook(path, python, 120)
    assert result.error and "injected" in result.error


@pytest.mark.slow
def test_every_cell_runs_whatever_its_tags(tmp_path, python):
    # Colab ignores tags: a skip-execution cell runs there, and may fail
    failing = "raise ValueError('tagged')"
    path = _notebook(tmp_path, failing, tags=["skip-execution"])
    assert "tagged" in (runner.run_notebook(path, python, 120).error or "")
    path = _notebook(tmp_path, failing, "y = 2", tags=["raises-exception"])
    assert runner.run_notebook(path, python, 120).error is None


@pytest.mark.slow
def test_a_notebook_past_the_limit_is_stopped(tmp_path, python):
    path = _notebook(tmp_path, "import time\ntime.sleep(60)")
    result = runner.run_notebook(path, python, limit=8)
    assert result.error and "limit" in result.error
    assert result.seconds < 30


@pytest.mark.slow
@pytest.mark.parametrize("ipynb", TWINS, ids=lambda p: p.stem)
def test_chapter_runs_top_to_bottom(ipynb, python, times):
    result = runner.run_notebook(ipynb, python, LIMIT)
    times.append(result)
    assert result.error is None, f"{ipynb.name}: {result.error}"
    assert result.seconds <= LIMIT
    if result.seconds > runner.TARGET_S:
        warnings.warn(
            f"{ipynb.name} took {result.seconds:.0f} s "
            f"(target {runner.TARGET_S:.0f} s)",
            stacklevel=1,
        )


def test_twins_are_the_toc_chapters_with_a_notebook(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: A\n"
        "    chapters:\n      - file: a/one\n        sections:\n"
        "          - file: a/two.md\n      - file: three\n"
    )
    (tmp_path / "a").mkdir()
    for name in ("intro", "a/one", "a/two", "three", "stray"):
        (tmp_path / f"{name}.md").write_text("# x\n")
    for name in ("a/one", "a/two", "stray"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    assert runner.toc_files(tmp_path) == ["intro", "a/one", "a/two", "three"]
    expected = [tmp_path / "a/one.ipynb", tmp_path / "a/two.ipynb"]
    assert runner.twins(tmp_path) == expected
