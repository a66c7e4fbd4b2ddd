"""Exercises and their verdicts (see the package docstring); how they are
displayed is :mod:`asctools.exercises.display`."""

from __future__ import annotations

import inspect
import os
import re
import sysconfig
import textwrap
import time
import traceback
from pathlib import Path

from asctools._validate import check_int
from asctools.exercises.display import (
    CORRECT,
    ERROR,
    INCORRECT,
    NOT_ATTEMPTED,
    CheckResult,
    Note,
    ipython_shell,
)

KINDS = ("implement", "predict", "explore")
STRICT_ENV = "ASCTOOLS_STRICT_CHECKS"


class Incorrect(Exception):
    """Raised by a checker: the answer is wrong; the message says what."""


class NotAttempted(Exception):
    """Raised by a checker: the answer is still the skeleton."""


class CheckFailed(AssertionError):
    """Raised by ``check`` in strict mode for an incorrect answer or error."""


def strict_mode() -> bool:
    """True when ``ASCTOOLS_STRICT_CHECKS`` is 1 (``make book`` sets it)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true")


# Frames in these folders are library code; the reader's frame is the last
# frame of a traceback outside them (a notebook cell, a script, a test).
_LIBRARY_DIRS = tuple(
    {
        str(Path(sysconfig.get_paths()[key]).resolve()) + os.sep
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    | {str(Path(__file__).resolve().parents[1]) + os.sep}
)


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):  # <stdin>, <string> are the reader's
        return filename.startswith(("<frozen", "<eval_with_key"))
    return str(Path(filename).resolve()).startswith(_LIBRARY_DIRS)


def _error_message(exc: Exception) -> tuple[str, bool]:
    """The message for ``exc`` and whether the reader's code raised it.

    The place is the last traceback frame in the reader's code: 'line 3 of
    In[7], in f:' and that line (IPython names a cell's file In[n]).
    """
    mine = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not _is_library(f.filename)
    ]
    text = f"{type(exc).__name__}: {exc}"
    if not mine:
        return text, False
    frame, place = mine[-1], Path(mine[-1].filename).name
    try:
        place = ipython_shell().compile.format_code_name(frame.filename)[1]
    except (AttributeError, TypeError):  # not IPython, or not a cell
        pass
    text += f"\nat line {frame.lineno} of {place}, in {frame.name}"
    return text + (f":\n    {frame.line}" if frame.line else ""), True


class Exercise:
    """One exercise: ``check(answer)``, ``hint(n)``, ``solution()``.

    ``checker(answer)`` returns a sentence saying what it verified, or
    raises :class:`Incorrect` / :class:`NotAttempted` with a message saying
    what is wrong; exceptions of the reader's code pass through it.
    ``solution`` is the reference: for ``kind="predict"`` a function without
    arguments that returns the answer (running the experiment that decides
    it), otherwise the answer itself (a function or a class).
    ``solution()`` shows its source under ``name`` (default: the checker's
    name), the name readers give their answer, followed by the source of
    ``helpers`` it calls and of ``demo``, an experiment that uses the
    solution (``demo()`` runs it). The book's solutions show this code and
    nothing else, so the code readers see is the code the tests check.
    """

    def __init__(
        self,
        checker,
        *,
        label,
        title,
        kind,
        solution,
        hints=(),
        explanation="",
        name=None,
        helpers=(),
        demo=None,
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if not (callable(checker) and callable(solution)):
            raise TypeError("checker and solution must be callable")
        if demo is not None and not callable(demo):
            raise TypeError("demo must be callable or None")
        if not all(callable(h) for h in helpers):
            raise TypeError("helpers must be callables")
        if isinstance(hints, str) or not all(
            isinstance(h, str) for h in hints
        ):
            raise TypeError("hints must be a sequence of strings")
        self.checker, self.solution_fn = checker, solution
        self.label, self.title, self.kind = label, title, kind
        self.hints, self.explanation = tuple(hints), explanation
        self.name = name or getattr(checker, "__name__", "answer")
        self.helpers, self.demo_fn = tuple(helpers), demo
        self.last_result = None

    def __repr__(self):
        return f"<Exercise {self.label} ({self.kind}): {self.title}>"

    def reference_answer(self):
        """The reference solution's answer (what the tests check)."""
        if self.kind == "predict":
            return self.solution_fn()
        return self.solution_fn

    def check(self, answer) -> CheckResult:
        """Check ``answer``, display the verdict and return it.

        In strict mode (``ASCTOOLS_STRICT_CHECKS=1``) a verdict "incorrect"
        or "error" then raises :class:`CheckFailed`.
        """
        start = time.perf_counter()
        result = self._evaluate(answer)
        result.elapsed_s = time.perf_counter() - start
        self.last_result = result
        result.show()
        if result.status in (INCORRECT, ERROR) and strict_mode():
            raise CheckFailed(str(result)) from result.exception
        return result

    def _evaluate(self, answer) -> CheckResult:
        what = "your prediction" if self.kind == "predict" else "your code"
        if answer is None or answer is Ellipsis:
            msg = f"Replace `{answer!r}` with {what}, then run the cell."
            return CheckResult(self, NOT_ATTEMPTED, msg)
        try:
            message = self.checker(answer)
        except NotAttempted as exc:
            return CheckResult(self, NOT_ATTEMPTED, str(exc))
        except NotImplementedError:
            msg = (
                f"`{self.name}` still raises NotImplementedError: replace "
                "that line with your code, then run the cell again."
            )
            return CheckResult(self, NOT_ATTEMPTED, msg)
        except Incorrect as exc:
            return CheckResult(self, INCORRECT, str(exc))
        except Exception as exc:  # the reader's code (or the checker) raised
            msg, mine = _error_message(exc)
            if not mine:
                msg = "The checker itself failed (please report it):\n" + msg
            return CheckResult(self, ERROR, msg, exc)
        return CheckResult(self, CORRECT, message or "Well done.")

    def hint(self, n: int = 1) -> Note:
        """Display and return hint ``n`` (1 = the gentlest)."""
        n = check_int("n", n, 1)
        total = len(self.hints)
        if n > total:
            title = f"No hint {n}: {self.title}"
            text = (
                f"There are only {total} hints for this exercise; "
                f"`hint({total})` is the last. `.solution()` shows the "
                "reference solution."
            )
        else:
            title = f"Hint {n} of {total}: {self.title}"
            text = self.hints[n - 1]
        note = Note("hint", title, text)
        note.show()
        return note

    def solution(self) -> Note:
        """Display and return the reference solution's source code (with
        its helpers and its demo, if it has them)."""
        # the reference is shown under the name the reader uses
        code = re.sub(
            r"^(def|class) \w+",
            rf"\1 {self.name}",
            _source(self.solution_fn, self.name),
            count=1,
            flags=re.M,
        )
        parts = [code] + [_source(f, self.name) for f in self.helpers]
        if self.demo_fn is not None:
            parts.append(_source(self.demo_fn, self.name))
        # helpers and demo call the reference by the reader's name too
        own = getattr(self.solution_fn, "__name__", self.name)
        text = re.sub(
            rf"\b{re.escape(own)}\b",
            self.name,
            "\n\n\n".join(p.rstrip() for p in parts),
        )
        title = f"Solution: {self.title}"
        note = Note("solution", title, self.explanation, text)
        note.show()
        return note

    def check_solution(self) -> CheckResult:
        """Check the reference solution, as the book does: its verdict."""
        return self.check(self.reference_answer())

    def demo(self, *args, **kwargs):
        """Run the experiment that :meth:`solution` shows last; return what
        it returns (a figure, a table)."""
        if self.demo_fn is None:
            raise AttributeError(f"exercise {self.label} has no demo")
        return self.demo_fn(*args, **kwargs)


def _source(fn, name) -> str:
    """The dedented source of ``fn``, or a line saying it is missing."""
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):  # defined where no source file is
        return f"# The source of {name} is not available."


def exercise(*, label, title, kind, solution, **options):
    """Decorator: turn a checker function into an :class:`Exercise`;
    ``options`` are ``hints``, ``explanation``, ``helpers``, ``demo``."""
    meta = dict(label=label, title=title, kind=kind, solution=solution)
    return lambda checker: Exercise(checker, **meta, **options)
