"""Self-checking exercises: one module per chapter, ``ch01`` ... ``ch07``.

For readers
-----------
Each exercise is an object with three methods::

    from asctools.exercises import ch01 as ex

    def elman_step(x, h, W_xh, W_hh, b):
        raise NotImplementedError  # your code here

    ex.elman_step.check(elman_step)   # the verdict, in a coloured box
    ex.elman_step.hint()              # hint 1; hint(2) is more direct
    ex.elman_step.solution()          # the reference solution's code

A verdict is *correct*; *not attempted* (the skeleton still raises
NotImplementedError, returns None or ``...``, or a prediction is still
None); *incorrect*, saying what is wrong (which output or gradient, at which
index, by how much, the shape or dtype expected, or which common mistake
the result matches); or *error*: your code raised, reported with the
exception and the line of your code where it happened.

``check`` displays the verdict itself (as HTML in Jupyter and Colab, as
text elsewhere) and returns it as a :class:`CheckResult` with ``.status``
and ``.passed``; the same result is kept as ``ex.elman_step.last_result``.
When the call is the cell's last expression the verdict is not shown twice:
the returned object skips displaying itself in the cell where ``check``
already showed it (in a later cell, or with ``print``, it shows again).
``hint`` and ``solution`` work the same way and return a :class:`Note`.

Strict mode
-----------
With the environment variable ``ASCTOOLS_STRICT_CHECKS=1`` (``make book``
sets it), a verdict *incorrect* or *error* raises :class:`CheckFailed`, so a
book whose solution fails its own check does not build. *Not attempted*
never raises, so the skeleton cells run.

For authors of a chapter module
-------------------------------
An exercise is a checker function decorated with :func:`exercise`; the
decorated name is what readers call (``ex.elman_step``). The checker gets
the reader's answer and returns a sentence saying what it verified, or
raises :class:`Incorrect` (or :class:`NotAttempted`) with a message. The
helpers in :mod:`asctools.exercises.checks` do the comparing and write the
messages. The solution is real code in the module: the checker's tests run
it, and ``solution()`` shows its source under the exercise's name. For
``kind="predict"`` the solution is a function without arguments that
computes the answer::

    import torch
    from asctools.exercises import checks
    from asctools.exercises.core import exercise

    def _solution_double(x):
        return 2 * x  # (B, D)

    @exercise(label="ch02-ex-double", title="Double it", kind="implement",
              solution=_solution_double,
              hints=["Multiply by 2.", "`return 2 * x`"])
    def double(answer):
        gen = torch.Generator().manual_seed(0)
        cases = [{"x": torch.randn(3, 4, generator=gen, dtype=torch.float64)}]
        return checks.compare_functions(
            answer, lambda x: x + x, cases, name="double",
            mistakes={"x is returned unchanged": lambda x: x},
        )

Keep each checker under a second on a CPU: a few small seeded cases in
float64. Exceptions raised by the reader's code pass through the checker;
``check`` reports them. Test each exercise as ``tests/test_exercises_ch01.py``
does: the reference passes, realistic wrong answers get the right message,
the skeleton is "not attempted".
"""

from asctools.exercises import checks
from asctools.exercises.core import (
    CheckFailed,
    CheckResult,
    Exercise,
    Incorrect,
    NotAttempted,
    Note,
    exercise,
    strict_mode,
)

__all__ = [
    "checks",
    "exercise",
    "Exercise",
    "CheckResult",
    "Note",
    "Incorrect",
    "NotAttempted",
    "CheckFailed",
    "strict_mode",
]
