"""Every solution the book shows is the package's tested code.

A chapter's solution block (``solution-start`` ... ``solution-end``) may
hold prose and code cells, and every statement of those cells must be a
call of ``ex.<name>.solution()``, ``ex.<name>.check_solution()`` or
``ex.<name>.demo(...)`` of the block's own exercise (or a ``glue(...)``
that puts one of the demo's numbers into the prose): the code readers see
comes from ``asctools.exercises`` (where the tests check it), never
retyped in the chapter, and the Colab twin's folded solution runs the
same calls. ``tests/test_exercises_contract.py`` checks that
``solution()`` shows the very function that passes the check.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("ch[0-9][0-9]_*.md"))
BLOCK = re.compile(  # the label, the options, the fence, then the body
    r"^`{3,4}\{solution-start\} (?P<label>[\w-]+)\n(?::[^\n]*\n)*`{3,4}\n"
    r"(?P<body>.*?)^`{3,4}\{solution-end\}",
    re.S | re.M,
)
FENCE = re.compile(
    r"^(?P<ticks>`{3,4})(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=ticks)\s*$",
    re.S | re.M,
)
METHODS = {"solution", "check_solution", "demo"}
EXERCISES_IMPORT = re.compile(
    r"^from asctools\.exercises import (ch\d\d) as ex$", re.M
)


def solution_blocks(text: str) -> list[tuple[str, str]]:
    return [(m["label"], m["body"]) for m in BLOCK.finditer(text)]


def code_of(cell: str) -> str:
    """A code cell without its option lines (``:tags:``, YAML header)."""
    lines = cell.split("\n")
    if lines and lines[0] == "---":  # a YAML option block
        lines = lines[lines.index("---", 1) + 1 :]
    return "\n".join(ln for ln in lines if not ln.startswith(":"))


def _is_glue(call) -> bool:
    """``glue(...)``: a number into the text, not solution code."""
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "glue"
    )


def problems(label: str, body: str, module) -> list[str]:
    """What in one solution block is not a call of its exercise's code."""
    found, shown = [], False
    for fence in FENCE.finditer(body):
        info = fence["info"].strip()
        if info.startswith("{solution") or info.startswith("{exercise"):
            continue
        if not info.startswith("{code-cell}"):
            found.append(f"{label}: a ```{info} block is not executed code")
            continue
        for stmt in ast.parse(code_of(fence["code"])).body:
            call = getattr(stmt, "value", None)
            if _is_glue(call):
                continue
            target = getattr(call, "func", None)
            owner = getattr(target, "value", None)
            ok = (
                isinstance(stmt, (ast.Expr, ast.Assign))
                and isinstance(call, ast.Call)
                and isinstance(target, ast.Attribute)
                and target.attr in METHODS
                and isinstance(owner, ast.Attribute)
                and isinstance(owner.value, ast.Name)
                and owner.value.id == "ex"
            )
            if not ok:
                found.append(f"{label}: `{ast.unparse(stmt)}` is retyped")
                continue
            exercise = getattr(module, owner.attr, None)
            if getattr(exercise, "label", None) != label:
                found.append(f"{label}: ex.{owner.attr} is another exercise")
            shown |= target.attr == "solution"
    if not shown:
        found.append(f"{label}: no ex.<name>.solution() call")
    return found


def chapter_problems(text: str) -> list[str]:
    match = EXERCISES_IMPORT.search(text)
    assert match, "the chapter must import its exercises as `ex`"
    module = importlib.import_module(f"asctools.exercises.{match[1]}")
    return [
        p for label, body in solution_blocks(text)
        for p in problems(label, body, module)
    ]  # fmt: skip


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_solutions_are_the_package_code(path):
    text = path.read_text()
    assert solution_blocks(text), f"{path.name} has no solution blocks"
    assert chapter_problems(text) == []


RETYPED = """
from asctools.exercises import ch03 as ex

```{solution-start} ch03-ex-cell
:class: dropdown
```

```{code-cell} ipython3
ex.lstm_cell.solution()
def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return h, c
```

```{solution-end}
```
"""


def test_retyped_solution_code_is_caught():
    problems = chapter_problems(RETYPED)
    assert len(problems) == 1 and "retyped" in problems[0]
    clean = RETYPED.replace(
        "def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):\n"
        "    return h, c\n",
        "ex.lstm_cell.check_solution()\n",
    )
    assert chapter_problems(clean) == []
    other = clean.replace("ex.lstm_cell.check", "ex.lstm_params.check")
    assert "another exercise" in chapter_problems(other)[0]
