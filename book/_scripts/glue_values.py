"""The numbers a chapter's text quotes, kept for its Colab twin.

The book's text quotes computed values with ``{glue:text}`key:fmt` ``;
myst-nb fills them in when the book is built, from what the chapter's cells
passed to ``asctools.utils.glue``. Colab has no build, so the twin's text
quotes the book's own run instead, kept beside the chapter in
``_glue/<chapter>.json``: ``"key:fmt"`` (the role's content) -> the text the
HTML shows.

- ``make notebooks`` refreshes that file from the last build (myst-nb's
  ``_build/jupyter_execute/<chapter>.glue.json``), formatting each value
  with myst-nb's own function; a value that ``_config.yml`` lists under
  ``colab_twins.run_dependent`` (a wall-clock timing) keeps its committed
  text, so a rebuild does not rewrite every twin;
- ``sync_notebooks.py --check`` reads only the committed file: no build;
- after a build, ``tests/test_sync_notebooks.py`` checks that every other
  committed text is what the built HTML shows.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import yaml
from colab_myst import INLINE

ROLE = "glue:text"  # the one glue role the twins render
BUILD = Path("_build") / "jupyter_execute"  # where myst-nb writes glue.json


@dataclass
class Values:
    """One chapter's quoted values and what is wrong with them."""

    texts: dict[str, str]  # role content -> text, for every use
    missing: list[str] = field(default_factory=list)  # uses without a value


def values_path(md: Path) -> Path:
    """The committed values of the chapter ``md``."""
    return md.parent / "_glue" / f"{md.stem}.json"


def uses(text: str) -> list[str]:
    """The glue roles' contents, in the order the page shows them.

    Markdown cells and figure captions of code cells, cell by cell; raises
    ``ValueError`` for a glue role the twin cannot render.
    """
    found = []
    for cell in jupytext.reads(text, fmt="md:myst").cells:
        if cell.cell_type == "markdown":
            found += _roles(cell.source)
        elif cell.cell_type == "code":
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            found += _roles(str(figure.get("caption", "")))
    return found


def _roles(text: str) -> list[str]:
    out = []
    for m in INLINE.finditer(text):
        if not (m["role"] and m["name"].startswith("glue")):
            continue
        if m["name"] != ROLE or "::" in m["content"]:
            raise ValueError(
                f"{{{m['name']}}}`{m['content']}`: the Colab twin renders "
                f"only {{{ROLE}}} with a key of this page"
            )
        out.append(m["content"].strip())
    return out


def load(path: Path) -> dict[str, str]:
    """A values file's mapping; empty when there is none."""
    return json.loads(path.read_text()) if path.exists() else {}


def dump(texts: dict[str, str]) -> str:
    """A values file's content: sorted, one value a line."""
    return json.dumps(texts, indent=1, sort_keys=True, ensure_ascii=False) + (
        "\n"
    )


def built(root: Path, md: Path) -> dict[str, str] | None:
    """``key -> text/plain`` from the last build of ``md``, or None."""
    page = md.resolve().relative_to(root.resolve()).with_suffix("")
    path = root / BUILD / f"{page.as_posix()}.glue.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return {
        key: out["data"]["text/plain"]
        for key, out in data.items()
        if "text/plain" in out.get("data", {})
    }


def render(use: str, plain: str) -> str:
    """``use`` (``key:fmt``) as the HTML shows it, given its text/plain."""
    from myst_nb.core.variables import format_plain_text

    parts = use.rsplit(":", 1)  # as myst-nb's {glue:text} splits it
    fmt = parts[1] if len(parts) == 2 else "s"
    return format_plain_text(plain, fmt)


def key_of(use: str) -> str:
    """The glue key of ``use`` (``key:fmt`` or ``key``)."""
    return use.rsplit(":", 1)[0]


def run_dependent(root: Path) -> list[str]:
    """Patterns of keys whose values change from run to run."""
    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    return list((config.get("colab_twins") or {}).get("run_dependent", []))


def is_run_dependent(use: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(key_of(use), p) for p in patterns)


def refresh(
    found: list[str],
    committed: dict[str, str],
    build: dict[str, str] | None,
    patterns: list[str],
) -> Values:
    """The values of the uses ``found``: the build's, else the committed.

    A run-dependent use keeps its committed text when it has one.
    """
    out = Values({})
    for use in dict.fromkeys(found):
        keep = use in committed and is_run_dependent(use, patterns)
        if build is not None and key_of(use) in build and not keep:
            out.texts[use] = render(use, build[key_of(use)])
        elif use in committed:
            out.texts[use] = committed[use]
        else:
            out.missing.append(use)
    return out
