"""The old import path of the finite-difference gradient check.

Kept so that code written against it still runs; the code lives in
:mod:`asctools.handmade.gradcheck`.
"""

import warnings

from asctools.handmade.gradcheck import (
    GradCheckResult,
    gradient_check,
    numerical_gradient,
    relative_error,
)

__all__ = [
    "GradCheckResult",
    "gradient_check",
    "numerical_gradient",
    "relative_error",
]

warnings.warn(
    "asctools.gradcheck is an old import path: import from "
    "asctools.handmade.gradcheck",
    FutureWarning,
    stacklevel=2,
)
