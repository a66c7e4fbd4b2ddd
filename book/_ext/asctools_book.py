"""What the book's build needs, in the book's own configuration.

A Sphinx extension, loaded by ``_config.yml`` (``sphinx.local_extensions``),
so that a plain ``jupyter-book build . --all -W -n --keep-going`` builds
the same book as ``make book``. Its settings live in ``_config.yml`` under
``sphinx.config``:

- ``asctools_build_env``: environment variables set before any kernel
  starts (kernels inherit the build's environment), e.g. ``TQDM_DISABLE``:
  a progress bar writes to stderr, and stderr in a cell fails the strict
  build; ``asctools_build_env_defaults``: the same, unless already set
  (``make ASCTOOLS_THREADS=2 book`` still works);
- ``asctools_cache_key_files``: globs, relative to the book's root, of the
  files that key the execution cache besides the cells' source (the
  package, the requirements). When their content changes, the cache is
  cleared, so every chapter runs on the new package;
- ``asctools_mathjax_version``: the version of npm's ``mathjax`` package
  that ``make book`` installs into ``_build/mathjax-VERSION``; when
  ``mathjax_path`` is a local path, its ``es5`` folder is copied into the
  site's ``_static/`` at the end of the build, and a build without it stops
  at once and says how to install it;
- ``asctools_vega_versions``: the versions of npm's ``vega``,
  ``vega-lite`` and ``vega-embed``, which draw the interactive figures;
  ``make book`` installs them into ``_build/vega-V1-V2-V3``, the build
  copies their ``*.min.js`` into ``_static/vega/`` (where
  ``html_js_files`` points), and a build without them stops at once and
  says how to install them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)
KEY_FILE = ".cache-key"  # beside the cache, in the build folder


def setup(app: Sphinx) -> dict:
    app.add_config_value("asctools_build_env", {}, "env", dict)
    app.add_config_value("asctools_build_env_defaults", {}, "env", dict)
    app.add_config_value("asctools_cache_key_files", [], "env", list)
    app.add_config_value("asctools_mathjax_version", "", "html", str)
    app.add_config_value("asctools_vega_versions", {}, "html", dict)
    # after myst-nb's own config-inited handlers; long before any kernel
    app.connect("config-inited", set_environment, priority=900)
    app.connect("config-inited", key_execution_cache, priority=900)
    app.connect("builder-inited", check_mathjax)
    app.connect("builder-inited", check_vega)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", copy_vega)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def set_environment(app: Sphinx, config: Config) -> None:
    """The build's environment variables, for this process and kernels."""
    for name, value in config.asctools_build_env_defaults.items():
        os.environ.setdefault(name, str(value))
    for name, value in config.asctools_build_env.items():
        os.environ[name] = str(value)


def cache_key(root: Path, patterns: list[str]) -> str:
    """16 hex digits of sha256 over the files' names and contents."""
    digest = hashlib.sha256()
    files = sorted({p for pat in patterns for p in root.glob(pat)})
    for path in files:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def key_execution_cache(app: Sphinx, config: Config) -> None:
    """Clear the execution cache when the package or requirements change.

    The cache is keyed on the cells' source only, so without this a change
    to ``asctools`` would leave every chapter's old outputs in the book.
    """
    if config.nb_execution_mode != "cache":
        return
    build = Path(app.outdir).parent
    cache = Path(config.nb_execution_cache_path or build / ".jupyter_cache")
    key = cache_key(Path(app.srcdir), config.asctools_cache_key_files)
    key_file = build / KEY_FILE
    old = key_file.read_text().strip() if key_file.exists() else None
    if old == key:
        return
    if cache.exists():
        logger.info("asctools or requirements changed: clearing %s", cache)
        shutil.rmtree(cache)
    build.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key + "\n")


def mathjax_source(app: Sphinx) -> Path | None:
    """npm's MathJax folder when the site serves it itself, else None."""
    path = app.config.mathjax_path
    version = app.config.asctools_mathjax_version
    if not version or "//" in path or path.startswith("/"):
        return None  # MathJax from a CDN: nothing to copy
    npm = Path(app.outdir).parent / f"mathjax-{version}"
    return npm / "node_modules" / "mathjax" / "es5"


def check_mathjax(app: Sphinx) -> None:
    """Stop before anything runs when the local MathJax is missing."""
    source = mathjax_source(app)
    if app.builder.format != "html" or source is None:
        return
    if Path(app.config.mathjax_path).parent == Path("."):
        raise ConfigError(
            "mathjax_path must name a file in a folder of _static/ (such "
            f"as mathjax/tex-mml-chtml.js), got {app.config.mathjax_path}"
        )
    if not (source / Path(app.config.mathjax_path).name).exists():
        version = app.config.asctools_mathjax_version
        prefix = source.parents[2]
        raise ConfigError(
            f"MathJax {version} is not installed in {prefix}: "
            "the book serves its own copy (mathjax_path: "
            f"{app.config.mathjax_path}). Run `make book`, or `npm install "
            f"--prefix {prefix} --no-save mathjax@{version}` and build again."
        )


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax to where ``mathjax_path`` points, inside ``_static``."""
    source = mathjax_source(app)
    if exception or app.builder.format != "html" or source is None:
        return
    target = Path(app.outdir) / "_static" / Path(app.config.mathjax_path)
    shutil.rmtree(target.parent, ignore_errors=True)
    shutil.copytree(source, target.parent)


def vega_files(app: Sphinx) -> list[Path]:
    """npm's vega, vega-lite and vega-embed builds, or [] when unused."""
    versions = app.config.asctools_vega_versions
    if not versions:
        return []
    npm = Path(app.outdir).parent / ("vega-" + "-".join(versions.values()))
    return [
        npm / "node_modules" / name / "build" / f"{name}.min.js"
        for name in versions
    ]


def check_vega(app: Sphinx) -> None:
    """Stop before anything runs when the local Vega-Lite is missing."""
    files = vega_files(app)
    if app.builder.format != "html" or not files:
        return
    missing = [f for f in files if not f.exists()]
    if missing:
        prefix = files[0].parents[3]
        packages = " ".join(
            f"{name}@{version}"
            for name, version in app.config.asctools_vega_versions.items()
        )
        raise ConfigError(
            f"Vega-Lite is not installed in {prefix} (missing "
            f"{missing[0].name}): the book serves its own copy for the "
            "interactive figures. Run `make book`, or `npm install "
            f"--prefix {prefix} --no-save {packages}` and build again."
        )


def copy_vega(app: Sphinx, exception: Exception | None) -> None:
    """Copy the Vega-Lite scripts into ``_static/vega/``."""
    files = vega_files(app)
    if exception or app.builder.format != "html" or not files:
        return
    target = Path(app.outdir) / "_static" / "vega"
    target.mkdir(parents=True, exist_ok=True)
    for source in files:
        shutil.copy2(source, target / source.name)
