"""Reading MyST markdown and BibTeX for the chapters' Colab view.

Three small parsers, used by ``colab_view.py``:

- ``split_blocks``: a markdown cell as text runs, plain code fences and
  directives (```` ```{name} arg ```` or ``:::{name} arg`` with ``:key:``
  options or a YAML block, and a body);
- ``INLINE``: one left-to-right scan of a text run that finds roles
  (``{name}`content` ``), labelled display math (``$$ ... $$ (label)``),
  and the spans that must be left alone (inline code, ``$...$``);
- ``read_bib`` and ``cite``: the entries of ``references.bib`` and
  author-year citations formatted from them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FENCE = re.compile(
    r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$"
)
DIRECTIVE = re.compile(r"^\{(?P<name>[A-Za-z][\w:.+-]*)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
PARA = r"(?:(?!\n[ \t]*\n).)"  # any character, but no blank line
INLINE = re.compile(
    rf"(?P<code>(?<!`)(?P<ticks>`+){PARA}+?(?<!`)(?P=ticks)(?!`))"
    rf"|(?P<role>\{{(?P<name>[A-Za-z][\w:.+-]*)\}}(?P<rt>`+)"
    rf"(?P<content>{PARA}+?)(?<!`)(?P=rt)(?!`))"
    r"|(?P<dmath>\$\$(?P<body>.+?)\$\$(?:[ \t]*\((?P<label>[^()\s]+)\))?)"
    r"|(?P<imath>(?<!\\)\$(?!\s)(?:\\.|[^$\\])+?(?<!\s)\$)"
    r"|(?P<target>^\((?P<tlabel>[^()\s]+)\)=[ \t]*(?:\n|$))"
    r"|(?P<comment>^%[^\n]*(?:\n|$))",
    re.S | re.M,
)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


@dataclass
class Block:
    """A piece of a markdown cell: ``text``, ``code`` or ``directive``."""

    kind: str
    text: str = ""  # text and code: the lines as written
    name: str = ""  # directive: its name, argument, options and body
    arg: str = ""
    options: dict = field(default_factory=dict)
    body: str = ""


def split_blocks(text: str) -> list[Block]:
    """``text`` as text runs, plain code fences and directives, in order."""
    lines, blocks, run, i = text.split("\n"), [], [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        info = m["info"].strip() if m else ""
        if not m or not _opens(m["fence"][0], info):
            run.append(lines[i])
            i += 1
            continue
        end = _closing(lines, i + 1, m["fence"])
        if run:
            blocks.append(Block("text", text="\n".join(run)))
            run = []
        inner = [ln[len(m["indent"]) :] for ln in lines[i + 1 : end]]
        directive = DIRECTIVE.match(info)
        if directive:
            blocks.append(_directive(directive, inner))
        else:
            blocks.append(Block("code", text="\n".join(lines[i : end + 1])))
        i = end + 1
    if run:
        blocks.append(Block("text", text="\n".join(run)))
    return blocks


def _opens(char: str, info: str) -> bool:
    """Whether a fence of ``char`` with ``info`` opens a block."""
    if char == ":":  # a colon fence is a directive or nothing
        return info.startswith("{")
    return not (char == "`" and "`" in info)


def _closing(lines: list[str], start: int, fence: str) -> int:
    """Index of the line that closes ``fence`` (``len(lines)`` if none)."""
    closer = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
    for j in range(start, len(lines)):
        if closer.match(lines[j]):
            return j
    return len(lines)


def _directive(match: re.Match, lines: list[str]) -> Block:
    """A directive block from its ``{name} arg`` match and inner lines."""
    options, i = {}, 0
    if lines and lines[0].strip() == "---":  # a YAML block of options
        end = lines.index("---", 1) if "---" in lines[1:] else len(lines)
        options = yaml.safe_load("\n".join(lines[1:end])) or {}
        i = end + 1
    while i < len(lines) and (m := OPTION.match(lines[i])):
        options[m["key"]] = m["value"].strip()
        i += 1
    body = "\n".join(lines[i:]).strip("\n")
    return Block(
        "directive",
        name=match["name"],
        arg=match["arg"].strip(),
        options=options,
        body=body,
    )


def role_parts(content: str) -> tuple[str, str]:
    """``(text, target)`` of a role's content; text is '' when implicit."""
    m = EXPLICIT.match(content.strip())
    if m:
        return m["text"], m["target"].strip()
    return "", content.strip()


# ---- BibTeX -------------------------------------------------------------

ACCENTS = dict(
    zip(
        "\"'`^~=.cvuH",
        "\u0308\u0301\u0300\u0302\u0303\u0304\u0307\u0327\u030c\u0306\u030b",
        strict=True,
    )
)
LETTERS = dict(zip("L l o O ss aa AA ae AE".split(), "ŁłøØßåÅæÆ", strict=True))
ACCENT = re.compile(r"\\([\"'`^~=.]|[cvuH](?=[\s{]))\s*\{?([A-Za-z\\]i?)\}?")
LETTER = re.compile(r"\\(ss|aa|AA|ae|AE|[LlOo])(?![A-Za-z])\s?")


def detex(text: str) -> str:
    """BibTeX's LaTeX escapes as Unicode; braces and ``--`` resolved."""
    text = LETTER.sub(lambda m: LETTERS[m[1]], text)
    text = ACCENT.sub(
        lambda m: m[2].replace("\\i", "i")[0] + ACCENTS[m[1]], text
    )
    text = text.replace("---", "\u2014").replace("--", "\u2013")
    text = re.sub(r"\s+", " ", text.replace("{", "").replace("}", ""))
    return unicodedata.normalize("NFC", text).strip()


def read_bib(path: Path) -> dict[str, dict[str, str]]:
    """``{key: {field: value}}`` of a ``.bib`` file, values de-LaTeXed."""
    text, entries = path.read_text(), {}
    for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        fields, i = {"type": m[1].lower()}, m.end()
        while True:
            f = re.compile(r"\s*(\w+)\s*=\s*").match(text, i)
            if not f:
                break
            value, i = _bib_value(text, f.end())
            fields[f[1].lower()] = detex(value)
            i = re.compile(r"\s*,?").match(text, i).end()
        entries[m[2]] = fields
    return entries


def _bib_value(text: str, i: int) -> tuple[str, int]:
    """A ``{...}``, ``"..."`` or bare value starting at ``text[i]``."""
    if text[i] not in '{"':
        m = re.compile(r"[^,}\s]+").match(text, i)
        return m[0], m.end()
    depth = 0
    for j in range(i, len(text)):
        depth += (text[j] == "{") - (text[j] == "}")
        closes = text[j] == ("}" if text[i] == "{" else '"')
        if depth == 0 and j > i and closes:
            return text[i + 1 : j], j + 1
    raise ValueError(f"unclosed bib value at character {i}")


def names(entry: dict[str, str]) -> list[tuple[str, str]]:
    """``[(first names, last name)]`` of an entry's authors."""
    result = []
    for name in re.split(r"\s+and\s+", entry.get("author", "")):
        if "," in name:
            last, first = (s.strip() for s in name.split(",", 1))
        else:
            first, _, last = name.strip().rpartition(" ")
        result.append((first, last))
    return result


def cite(keys: list[str], bib: dict, narrative: bool) -> str:
    """Author-year citation: ``(A & B, 1997; C et al., 2000)`` or
    ``C et al. (2000)`` when ``narrative``; unknown keys stay as keys."""
    parts = []
    for key in keys:
        entry = bib.get(key)
        if entry is None:
            parts.append(key)
            continue
        last = [n[1] for n in names(entry)]
        amp = " and " if narrative else " & "
        who = amp.join(last) if len(last) <= 2 else f"{last[0]} et al."
        year = entry.get("year", "n.d.")
        parts.append(f"{who} ({year})" if narrative else f"{who}, {year}")
    return ", ".join(parts) if narrative else f"({'; '.join(parts)})"


def reference(entry: dict[str, str]) -> str:
    """One line of a reference list: Authors. Title. *Venue*, 9(8), year."""
    people = [f"{first} {last}".strip() for first, last in names(entry)]
    if len(people) > 2:
        people = [", ".join(people[:-1]) + ",", people[-1]]
    venue = next(
        (
            entry[k]
            for k in ("journal", "booktitle", "institution", "school")
            if k in entry
        ),
        "",
    )
    where = [f"*{venue}*"] if venue else []
    if "volume" in entry:
        number = f"({entry['number']})" if "number" in entry else ""
        where.append(entry["volume"] + number)
    where += [entry[k] for k in ("pages", "note", "year") if k in entry]
    return f"{' and '.join(people)}. {entry.get('title', '')}. " + (
        ", ".join(where) + "."
    )
