"""The book's build machinery: failing cells fail the build, twins match.

The build command is read from the Makefile's ``book`` target, so these
tests prove the flags the README's command really uses. A plain
``jupyter-book build`` (no Makefile, no environment of its own) builds the
same book: ``book/_ext/asctools_book.py`` applies what the build needs from
``_config.yml``.
"""

from __future__ import annotations

import os
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
EXT = ROOT / "book" / "_ext"
PLAIN = ["--all", "-W", "-n", "--keep-going"]  # what a Jupyter Book user runs


def build_flags() -> list[str]:
    """The arguments after ``jupyter-book build .`` in the Makefile."""
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"jupyter-book build \. (.*)", makefile)
    assert match, "the Makefile's book target must call `jupyter-book build .`"
    return shlex.split(match.group(1))


def project_config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def make_book(tmp_path: Path, cell: str, config: dict | None = None) -> Path:
    """A one-page book with the project's configuration and ``cell``.

    The project's extension is loaded from the repository; MathJax comes
    from its CDN (no npm package in a temporary folder).
    """
    config = project_config() if config is None else config
    config["bibtex_bibfiles"] = ["references.bib"]
    config["exclude_patterns"] = ["_build"]
    sphinx = config["sphinx"]
    sphinx["config"].pop("mathjax_path", None)
    sphinx["config"].pop("asctools_vega_versions", None)
    if "local_extensions" in sphinx:
        sphinx["local_extensions"] = {"asctools_book": str(EXT)}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ROOT / "book" / "references.bib", tmp_path)
    shutil.copytree(ROOT / "book" / "_static", tmp_path / "book" / "_static")
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


# ---- a plain `jupyter-book build`: the book's configuration is enough ----

BUILD_VARS = (  # _config.yml's asctools_build_env and its defaults
    "TQDM_DISABLE",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "ASCTOOLS_STRICT_CHECKS",
    "ASCTOOLS_THREADS",
    "OMP_NUM_THREADS",
)
PROGRESS = (
    "import os\n"
    "from asctools.utils import progress_bar\n"
    "for _ in progress_bar(range(3), desc='training'):\n"
    "    pass\n"
    f"print('env', *(os.environ.get(v) for v in {BUILD_VARS!r}))"
)


def plain_build(book: Path) -> subprocess.CompletedProcess:
    """``jupyter-book build BOOK --all -W -n --keep-going``, as a user runs
    it: none of the build's variables in the environment."""
    env = {k: v for k, v in os.environ.items() if k not in BUILD_VARS}
    cmd = [str(BIN / "jupyter-book"), "build", str(book), *PLAIN]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, env=env
    )


def without_extension() -> dict:
    """The project's configuration without book/_ext and its settings."""
    config = project_config()
    sphinx = config["sphinx"]
    del sphinx["local_extensions"]
    for name in [n for n in sphinx["config"] if n.startswith("asctools_")]:
        del sphinx["config"][name]
    return config


def test_the_makefile_uses_the_plain_flags_and_the_configs_environment():
    assert build_flags() == PLAIN
    makefile = (ROOT / "Makefile").read_text()
    spelled = re.search(r"^BUILD_ENV :=(.*)$", makefile, re.M).group(1)
    config = project_config()["sphinx"]["config"]["asctools_build_env"]
    assert dict(v.split("=", 1) for v in spelled.split()) == config


@pytest.mark.slow
def test_a_plain_build_sets_the_environment_itself(tmp_path):
    result = plain_build(make_book(tmp_path, PROGRESS))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    html = (tmp_path / "_build" / "html" / "page.html").read_text()
    assert "env 1 1 1 1 1" in html  # what the kernel saw
    assert "training: " not in html  # no progress bar in the page


@pytest.mark.slow
def test_without_the_extension_a_progress_bar_fails_the_build(tmp_path):
    book = make_book(tmp_path, PROGRESS, config=without_extension())
    result = plain_build(book)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "WARNING: stderr was found in the cell outputs" in out, out[-3000:]


MATHJAX = "_build/mathjax-3.2.2/node_modules/mathjax/es5"


@pytest.mark.slow
def test_the_build_serves_npms_mathjax_or_says_how_to_install_it(tmp_path):
    config = project_config()  # mathjax_path: mathjax/tex-mml-chtml.js
    config["sphinx"]["config"].pop("asctools_vega_versions")
    config["sphinx"]["local_extensions"] = {"asctools_book": str(EXT)}
    config["exclude_patterns"] = ["_build"]
    config["bibtex_bibfiles"] = ["references.bib"]
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    shutil.copy(ROOT / "book" / "references.bib", tmp_path)
    shutil.copytree(ROOT / "book" / "_static", tmp_path / "book" / "_static")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (tmp_path / "page.md").write_text("# A page\n\nMath: $x^2$.\n")
    result = plain_build(tmp_path)
    assert result.returncode != 0
    assert (
        "MathJax 3.2.2 is not installed in "
        f"{tmp_path}/_build/mathjax-3.2.2: the book serves its own copy"
    ) in result.stderr, result.stderr[-2000:]
    assert "npm install --prefix" in result.stderr
    npm = tmp_path / MATHJAX
    npm.mkdir(parents=True)
    (npm / "tex-mml-chtml.js").write_text("// MathJax stand-in\n")
    result = plain_build(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    site = tmp_path / "_build" / "html"
    served = site / "_static" / "mathjax" / "tex-mml-chtml.js"
    assert served.read_text() == "// MathJax stand-in\n"
    assert (
        "_static/mathjax/tex-mml-chtml.js" in (site / "page.html").read_text()
    )


@pytest.mark.slow
def test_the_build_serves_npms_vega_or_says_how_to_install_it(tmp_path):
    config = project_config()
    sphinx = config["sphinx"]
    sphinx["config"].pop("mathjax_path")
    sphinx["local_extensions"] = {"asctools_book": str(EXT)}
    config["exclude_patterns"] = ["_build"]
    config["bibtex_bibfiles"] = ["references.bib"]
    # in _config.yml's order, which names the npm folder
    (tmp_path / "_config.yml").write_text(
        yaml.safe_dump(config, sort_keys=False)
    )
    shutil.copy(ROOT / "book" / "references.bib", tmp_path)
    shutil.copytree(ROOT / "book" / "_static", tmp_path / "book" / "_static")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: page\n")
    (tmp_path / "page.md").write_text("# A page\n\nNo figure.\n")
    result = plain_build(tmp_path)
    versions = sphinx["config"]["asctools_vega_versions"]
    npm = tmp_path / "_build" / ("vega-" + "-".join(versions.values()))
    assert result.returncode != 0
    assert f"Vega-Lite is not installed in {npm}" in result.stderr, (
        result.stderr[-2000:]
    )
    assert "npm install --prefix" in result.stderr
    for name in versions:
        build = npm / "node_modules" / name / "build"
        build.mkdir(parents=True)
        (build / f"{name}.min.js").write_text(f"// {name} stand-in\n")
    result = plain_build(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    site = tmp_path / "_build" / "html"
    for name in versions:
        served = site / "_static" / "vega" / f"{name}.min.js"
        assert served.read_text() == f"// {name} stand-in\n"
        assert (
            f"_static/vega/{name}.min.js" in (site / "page.html").read_text()
        )


@pytest.mark.slow
def test_a_change_to_a_key_file_reruns_cached_pages(tmp_path):
    config = project_config()
    config["sphinx"]["config"]["asctools_cache_key_files"] = ["key.txt"]
    cell = "print(open('key.txt').read(), open('other.txt').read())"
    book = make_book(tmp_path, cell, config)
    page = tmp_path / "_build" / "html" / "page.html"
    (book / "key.txt").write_text("key-1")
    (book / "other.txt").write_text("other-1")
    assert plain_build(book).returncode == 0
    (book / "other.txt").write_text("other-2")  # not a key file
    assert plain_build(book).returncode == 0
    assert "key-1 other-1" in page.read_text()  # the cell's source is the same
    (book / "key.txt").write_text("key-2")
    assert plain_build(book).returncode == 0
    assert "key-2 other-2" in page.read_text()  # the cache was cleared
