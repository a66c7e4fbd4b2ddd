"""How verdicts, hints and solutions show themselves: a coloured box in
Jupyter and Colab (HTML, the code highlighted by pygments), text elsewhere.
"""

from __future__ import annotations

import html
import re

__all__ = [
    "CORRECT",
    "NOT_ATTEMPTED",
    "INCORRECT",
    "ERROR",
    "CheckResult",
    "Note",
    "ipython_shell",
]

CORRECT, NOT_ATTEMPTED = "correct", "not attempted"
INCORRECT, ERROR = "incorrect", "error"

# style -> (symbol, headline, border colour, background colour)
_STYLE = {
    CORRECT: ("✓", "Correct", "#2e7d32", "#e8f5e9"),
    NOT_ATTEMPTED: ("○", "Not attempted yet", "#546e7a", "#eceff1"),
    INCORRECT: ("✗", "Incorrect", "#c62828", "#ffebee"),
    ERROR: ("⚠", "Your code raised an error", "#c62828", "#ffebee"),
    "hint": ("?", "Hint", "#1565c0", "#e3f2fd"),
    "solution": ("✎", "Solution", "#546e7a", "#fafafa"),
}


# A solution's code box spans the note from border to border, on a light
# background whatever the page's theme (pygments' colours are for light
# ones). At .8em, 79 columns fit at the book's desktop width; wider code,
# and a phone's screen, scroll inside the box, never the page.
_CODE_BOX = "margin:.5em -.8em -.5em"  # the note's padding is .5em .8em
_CODE = (
    "margin:0;padding:.6em .8em;overflow-x:auto;font-size:.8em;"
    "background:#f3f4f5;color:#212121;border-radius:0"
)


def ipython_shell():
    """The running IPython shell, or None (a script, a test)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _inline_code(text: str) -> str:
    """HTML-escape ``text`` and turn `backticks` into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


class _Shown:
    """Something that displays itself: ``show()`` displays or prints.

    In IPython, ``show()`` remembers the cell (execution count) it ran in;
    when the same object is that cell's last expression, IPython calls
    ``_ipython_display_``, which then shows nothing, so the box appears
    once. In a later cell, or through ``print``, it shows again.
    """

    _shown_in = None
    style, title, text = "hint", "", ""

    def show(self):
        shell = ipython_shell()
        if shell is None:
            print(self)
            return
        self._publish()
        self._shown_in = shell.execution_count

    def _publish(self):
        from IPython.display import display

        data = {"text/html": self._repr_html_(), "text/plain": str(self)}
        display(data, raw=True)

    def _ipython_display_(self):
        shell = ipython_shell()
        if shell is None or shell.execution_count != self._shown_in:
            self._publish()

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))

    def __str__(self):
        return f"{_STYLE[self.style][0]} {self.title}\n{self.text}".rstrip()

    def _body_html(self) -> str:
        text = _inline_code(self.text)
        return f'<div style="white-space:pre-wrap">{text}</div>'

    def _repr_html_(self):
        symbol, _, border, background = _STYLE[self.style]
        return (
            f'<div style="border-left:5px solid {border};'
            f"background:{background};color:#212121;padding:.5em .8em;"
            f'margin:.4em 0;border-radius:3px;font-size:95%">'
            f'<div style="font-weight:bold;color:{border}">{symbol} '
            f"{html.escape(self.title)}</div>{self._body_html()}</div>"
        )


class CheckResult(_Shown):
    """The verdict of one ``check``.

    ``status`` is ``"correct"``, ``"not attempted"``, ``"incorrect"`` or
    ``"error"``; ``passed`` is True only for ``"correct"``. ``message`` says
    what was checked or what is wrong; ``exception`` is the exception behind
    ``"error"``; ``elapsed_s`` the checker's run time in seconds.
    """

    def __init__(self, exercise, status, message, exception=None):
        self.exercise, self.status, self.message = exercise, status, message
        self.style = status
        self.title = (
            f"{_STYLE[status][1]}: {exercise.title} ({exercise.label})"
        )
        self.exception, self.elapsed_s = exception, 0.0

    text = property(lambda self: self.message)
    passed = property(lambda self: self.status == CORRECT)

    def __repr__(self):
        first = self.message.splitlines()[0]
        return f"<CheckResult {self.exercise.label}: {self.status}. {first}>"


class Note(_Shown):
    """A hint (``style="hint"``) or a solution: ``text`` and ``code``."""

    def __init__(self, style, title, text, code=""):
        self.style, self.title, self.text, self.code = style, title, text, code

    def __str__(self):
        return super().__str__() + (f"\n\n{self.code}" if self.code else "")

    def __repr__(self):
        return f"<Note {self.title!r}>"

    def _body_html(self):
        body = super()._body_html() if self.text else ""
        if not self.code:
            return body
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            pre = f'<pre style="{_CODE}">{html.escape(self.code)}</pre>'
            return body + f'<div style="{_CODE_BOX}">{pre}</div>'
        fmt = HtmlFormatter(
            noclasses=True, nobackground=True, cssstyles=_CODE_BOX,
            prestyles=_CODE,
        )  # fmt: skip
        return body + highlight(self.code, PythonLexer(), fmt)
