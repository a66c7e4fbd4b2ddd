"""The course's tasks: parentheses matching and long-range memory tasks.

All generators are seeded (``seed=...``; ``seed=None`` uses the global
generators that :func:`asctools.utils.set_seed` seeds) and return CPU
tensors (or, for parentheses, Python strings and ints) with the shapes and
dtypes in their docstrings. :func:`trivial_baseline` gives the score of a
model that remembers nothing; every plot of these tasks should show it.
"""

from asctools.dataset.parentheses import (
    PARENTHESES_ALPHABET,
    generate_parentheses_dataset,
    parentheses_one_hot,
)
from asctools.dataset.tasks import (
    IGNORE_INDEX,
    adding_problem,
    copy_task,
    delayed_bits,
    first_element_task,
    trivial_baseline,
)

__all__ = [
    "PARENTHESES_ALPHABET",
    "generate_parentheses_dataset",
    "parentheses_one_hot",
    "first_element_task",
    "adding_problem",
    "copy_task",
    "delayed_bits",
    "IGNORE_INDEX",
    "trivial_baseline",
]
