"""Make the Python-source corpus (``data/pysource.txt.xz``) from a stdlib.

Run ``python -m asctools.dataset.make_pysource`` under the Python whose
standard library you want; the shipped snapshot was made with CPython
3.11.7. It takes every top-level ``*.py`` module of the library folder
(``sysconfig.get_paths()["stdlib"]``; no packages, no tests) of at most
``MAX_BYTES`` bytes, in name order, except ``_sysconfigdata*.py`` (the
build's settings, written by a machine and different on every platform);
replaces every character outside printable ASCII (and ``\\r``,
``\\x0b``, ``\\x0c``) by ``?`` so that the
alphabet is small and fixed; and writes

* ``data/pysource.txt.xz``: the files, each preceded by a header line
  ``# ==== <name> ====`` (:data:`~asctools.dataset.pysource.HEADER`);
* ``data/pysource.json``: the Python version, the files with their split
  and SHA-256, the characters replaced;
* ``data/PSF-LICENSE.txt``: the library's licence, which the snapshot
  keeps.

The split is by file, fixed by position in name order: every tenth file
from the fourth is a test file, every tenth from the eighth a validation
file, the rest train, so that the test files are code no model saw.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import platform
import shutil
import string
import sysconfig
from pathlib import Path

MAX_BYTES = 100_000  # leaves out the seven largest modules (≈ 0.8 MB xz)
KEEP = set(string.printable) - set("\r\x0b\x0c")
DATA = Path(__file__).with_name("data")


def split_of(index: int) -> str:
    """The split of the ``index``-th file in name order."""
    return {3: "test", 7: "validation"}.get(index % 10, "train")


def clean(text: str) -> tuple[str, int]:
    """``text`` with every character outside :data:`KEEP` as ``?``."""
    out = "".join(c if c in KEEP else "?" for c in text)
    return out, sum(c not in KEEP for c in text)


def make(stdlib: Path, out: Path = DATA) -> dict:
    """Write the snapshot of ``stdlib`` into ``out``; return its manifest."""
    from asctools.dataset.pysource import HEADER

    paths = sorted(
        p
        for p in stdlib.glob("*.py")
        if p.stat().st_size <= MAX_BYTES
        and not p.name.startswith("_sysconfigdata")
    )
    parts, files = [], []
    for i, path in enumerate(paths):
        text, replaced = clean(path.read_text(encoding="utf-8"))
        parts.append(HEADER.format(name=path.name) + text)
        files.append(
            {
                "name": path.name,
                "split": split_of(i),
                "chars": len(text),
                "replaced": replaced,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    blob = lzma.compress("".join(parts).encode("ascii"), preset=9)
    (out / "pysource.txt.xz").write_bytes(blob)
    shutil.copyfile(stdlib / "LICENSE.txt", out / "PSF-LICENSE.txt")
    manifest = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "source": "top-level *.py modules of the standard library, "
        f"at most {MAX_BYTES} bytes each",
        "made_by": "python -m asctools.dataset.make_pysource",
        "files": files,
    }
    (out / "pysource.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--stdlib",
        type=Path,
        default=Path(sysconfig.get_paths()["stdlib"]),
        help="the standard library folder (default: this Python's)",
    )
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    m = make(args.stdlib, args.out)
    n = sum(f["chars"] for f in m["files"])
    print(f"{len(m['files'])} files, {n:,} characters, Python {m['python']}")


if __name__ == "__main__":
    main()
