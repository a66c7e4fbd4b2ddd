"""Keep each chapter's Colab twin (``.ipynb``) and install cell in sync.

The MyST ``.md`` chapters are the source. For every chapter in ``_toc.yml``
this script

1. writes the repository address from ``_config.yml`` (the only place it is
   kept) into the chapter's install cell, the code cell that starts with
   ``# colab-install`` and is tagged ``remove-cell`` and ``skip-execution``
   (so the build neither runs nor shows it);
2. regenerates ``chapter.ipynb`` beside it with jupytext's ``--update``, which
   keeps existing cell ids stable, and with no outputs.

``python book/_scripts/sync_notebooks.py``          rewrite what drifted
``python book/_scripts/sync_notebooks.py --check``  fail (exit 1) on drift
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

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


def repository() -> tuple[str, str]:
    """The repository URL and branch from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def chapters() -> list[Path]:
    """The ``.md`` files of the table of contents that contain code."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    stack = list(toc.get("chapters", [])) + list(toc.get("parts", []))
    while stack:
        entry = stack.pop(0)
        if "file" in entry:
            files.append(entry["file"])
        stack.extend(entry.get("chapters", []) + entry.get("sections", []))
    paths = [ROOT / f"{f}.md" for f in files]
    return [p for p in paths if "```{code-cell}" in p.read_text()]


def with_install_cell(text: str, path: Path) -> str:
    """``text`` with its install cell rewritten from ``_config.yml``."""
    url, branch = repository()
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


def build_twin(md: Path, ipynb: Path) -> str:
    """Run ``jupytext --update`` in a scratch folder; return the twin."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / md.name, Path(tmp) / ipynb.name
        shutil.copy(md, src)
        if ipynb.exists():
            shutil.copy(ipynb, dst)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jupytext",
                "--quiet",
                "--update",
                "--to",
                "ipynb",
                str(src),
            ],
            check=True,
        )
        nb = json.loads(dst.read_text())
    for cell in nb["cells"]:  # a twin carries no outputs
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="report drift and exit 1 instead of fixing",
    )
    args = parser.parse_args(argv)
    drift = []
    for md in chapters():
        text = md.read_text()
        fixed = with_install_cell(text, md)
        if fixed != text:
            drift.append(f"{md.relative_to(ROOT)}: install cell")
            if not args.check:
                md.write_text(fixed)
        ipynb = md.with_suffix(".ipynb")
        twin = build_twin(md, ipynb)
        if not ipynb.exists() or ipynb.read_text() != twin:
            drift.append(f"{ipynb.relative_to(ROOT)}: out of date")
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
