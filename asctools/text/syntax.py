"""Where Python source opens and closes things, character by character.

Python's own tokenizer (:mod:`tokenize`) finds the code's brackets and
its strings and comments, so a bracket inside a string is not counted.
An f-string is one string here on every Python (3.12 tokenizes the
inside of an f-string as code; 3.10 and 3.11 do not), so the results are
the same on each. Standard library only, on purpose: the measurements
are plain data.

* :func:`annotate`: the closers of one source text, and per-character
  features (inside a string, inside a comment, bracket depth,
  indentation, position in the line);
* :func:`annotate_texts`: the same for texts read one after another, as
  a language model reads a split of the corpus.
"""

from __future__ import annotations

import io
import tokenize
from typing import NamedTuple

__all__ = ["FEATURES", "Closer", "Syntax", "annotate", "annotate_texts"]

OPEN, CLOSE = "([{", ")]}"
FEATURES = ("in_string", "in_comment", "in_string_or_comment",
            "bracket_depth", "indent", "column")  # fmt: skip
_FSTRING = ("FSTRING_START", "FSTRING_END")  # token names of 3.12+


class Closer(NamedTuple):
    """A closing bracket or quote at offset ``pos``; its opener is
    ``distance`` characters back."""

    pos: int
    distance: int
    char: str
    kind: str  # "bracket" or "quote"


class Syntax(NamedTuple):
    closers: list[Closer]
    features: dict[str, list[int]]  # name -> one value per character


def _offsets(source: str) -> list[int]:
    starts, pos = [0], 0
    for line in source.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def _string_closer(text: str, start: int, end: int) -> Closer:
    body = text.lstrip("rRbBuUfF")
    delim = body[:3] if body[:3] in ('"""', "'''") else body[0]
    opener = start + len(text) - len(body)
    return Closer(end - len(delim), end - len(delim) - opener, delim[0],
                  "quote")  # fmt: skip


def _tokens(source: str):
    """(kind, text, start, end) of the strings, comments and brackets,
    with offsets into ``source``; an f-string is one "string"."""
    line_start = _offsets(source)
    nested, fstart = 0, None
    readline = io.StringIO(source).readline
    for tok in tokenize.generate_tokens(readline):
        start = line_start[tok.start[0] - 1] + tok.start[1]
        end = line_start[tok.end[0] - 1] + tok.end[1]
        name = tokenize.tok_name[tok.type]
        if name == _FSTRING[0]:
            nested += 1
            fstart = start if nested == 1 else fstart
        elif name == _FSTRING[1]:
            nested -= 1
            if nested == 0:
                yield "string", source[fstart:end], fstart, end
        elif nested:
            continue  # inside an f-string: part of the string
        elif name == "STRING":
            yield "string", tok.string, start, end
        elif name == "COMMENT":
            yield "comment", tok.string, start, end
        elif name == "OP" and tok.string in OPEN + CLOSE:
            yield "bracket", tok.string, start, end


def annotate(source: str) -> Syntax:
    """The closers and the per-character features of ``source``.

    Features, for character i (after reading it): ``in_string`` 1
    between a string's delimiters, ``in_comment`` 1 from ``#`` to the end
    of the line, ``in_string_or_comment`` either (text written for people
    rather than code), ``bracket_depth`` the brackets open, ``indent`` the
    spaces that start i's line, ``column`` i's position in its line.
    """
    n = len(source)
    f = {name: [0] * n for name in FEATURES}
    closers, stack, depth_change = [], [], [0] * (n + 1)
    for kind, text, start, end in _tokens(source):
        if kind == "bracket" and text in OPEN:
            stack.append(start)
            depth_change[start] += 1
        elif kind == "bracket":
            if stack:  # an unmatched closer is a syntax error: not counted
                closers.append(
                    Closer(start, start - stack.pop(), text, "bracket")
                )
                depth_change[start] -= 1
        elif kind == "string":
            c = _string_closer(text, start, end)
            closers.append(c)
            for i in range(c.pos - c.distance + 1, c.pos):
                f["in_string"][i] = 1
        else:
            for i in range(start, end):
                f["in_comment"][i] = 1
    depth, col = 0, 0
    for i, ch in enumerate(source):
        depth += depth_change[i]
        f["bracket_depth"][i] = depth
        f["column"][i] = col
        col = 0 if ch == "\n" else col + 1
    f["in_string_or_comment"] = [
        max(s, c) for s, c in zip(f["in_string"], f["in_comment"], strict=True)
    ]
    f["indent"] = []
    for line in source.splitlines(keepends=True):
        f["indent"] += [len(line) - len(line.lstrip(" "))] * len(line)
    closers.sort()
    return Syntax(closers, f)


def annotate_texts(texts) -> Syntax:
    """:func:`annotate` of each text, the offsets those of the texts
    joined one after another (``"".join(texts)``)."""
    closers, features, offset = [], {name: [] for name in FEATURES}, 0
    for text in texts:
        s = annotate(text)
        closers += [c._replace(pos=c.pos + offset) for c in s.closers]
        for name in FEATURES:
            features[name] += s.features[name]
        offset += len(text)
    return Syntax(closers, features)
