"""Real text: a fixed snapshot of Python's standard-library source.

The snapshot ships inside the package (``data/pysource.txt.xz``, about
0.8 MB), so every machine and every Colab session reads the same
characters with no download; :mod:`asctools.dataset.make_pysource` is the
script that made it and says how. It is split by *file* into train,
validation and test (``data/pysource.json`` lists each file's split), so
the test files are code that no model trained on.

* :func:`python_source`: the files of a split, as :class:`SourceFile`;
* :func:`split_text`: a split as one string, each file after its header
  (:func:`split_files`: the same pieces, not joined);
* :data:`ALPHABET`, :func:`encode`, :func:`decode`: the 97 characters
  (printable ASCII, tab and newline) and their indices.

The Python Software Foundation's licence of the source is kept next to
it, in ``data/PSF-LICENSE.txt``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import lzma
import string
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from asctools._validate import check_choice, describe

__all__ = [
    "ALPHABET",
    "HEADER",
    "SPLITS",
    "SourceFile",
    "decode",
    "encode",
    "manifest",
    "python_source",
    "split_files",
    "split_text",
]

DATA = Path(__file__).with_name("data")
HEADER = "# ==== {name} ====\n"  # a comment line before every file
SPLITS = ("train", "validation", "test")
# fixed by definition, not by the corpus: the same indices everywhere
ALPHABET = "".join(sorted(set(string.printable) - set("\r\x0b\x0c")))
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


class SourceFile(NamedTuple):
    name: str
    split: str
    text: str


@functools.cache
def manifest() -> dict:
    """``data/pysource.json``: Python version, files, splits, hashes."""
    return json.loads((DATA / "pysource.json").read_text())


@functools.cache
def _files() -> tuple[SourceFile, ...]:
    blob = lzma.decompress((DATA / "pysource.txt.xz").read_bytes())
    text = blob.decode("ascii")
    out, pos = [], 0
    for entry in manifest()["files"]:
        head = HEADER.format(name=entry["name"])
        if not text.startswith(head, pos):
            raise RuntimeError(f"pysource.txt.xz: no header for {head!r}")
        pos += len(head)
        body = text[pos : pos + entry["chars"]]
        pos += entry["chars"]
        if hashlib.sha256(body.encode()).hexdigest() != entry["sha256"]:
            raise RuntimeError(
                f"pysource.txt.xz: {entry['name']} does not match the "
                "SHA-256 in pysource.json"
            )
        out.append(SourceFile(entry["name"], entry["split"], body))
    if pos != len(text):
        raise RuntimeError("pysource.txt.xz has text after its last file")
    return tuple(out)


def python_source(split: str | None = None) -> list[SourceFile]:
    """The snapshot's files in name order: all, or those of ``split``
    (``"train"``, ``"validation"`` or ``"test"``)."""
    if split is not None:
        check_choice("split", split, SPLITS)
    return [f for f in _files() if split is None or f.split == split]


def split_files(split: str) -> list[str]:
    """Each file of ``split`` after its :data:`HEADER` line: the pieces
    that :func:`split_text` joins, for measurements made file by file."""
    return [HEADER.format(name=f.name) + f.text for f in python_source(split)]


def split_text(split: str) -> str:
    """The files of ``split`` as one string, each after its
    :data:`HEADER` line: the stream a language model reads."""
    return "".join(split_files(split))


def encode(text: str) -> Tensor:
    """``text`` as a (len,) int64 tensor of :data:`ALPHABET` indices."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {describe(text)}")
    try:
        return torch.tensor([_INDEX[c] for c in text], dtype=torch.long)
    except KeyError as err:
        raise ValueError(
            f"text must use the {len(ALPHABET)} characters of ALPHABET "
            f"(printable ASCII), got {err.args[0]!r}"
        ) from None


def decode(ids) -> str:
    """The characters of ``ids``, a 1-D tensor or sequence of indices."""
    ids = ids.tolist() if isinstance(ids, Tensor) else list(ids)
    bad = [i for i in ids if not (isinstance(i, int) and 0 <= i < 97)]
    if bad:
        raise ValueError(
            f"ids must be ints in [0, {len(ALPHABET)}), got {bad[0]!r}"
        )
    return "".join(ALPHABET[i] for i in ids)
