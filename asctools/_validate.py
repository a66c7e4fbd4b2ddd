"""The argument checks of the whole package, written once.

Every message names the argument, says what was expected and shows what
was received, e.g. ``seq_len must be an int >= 2, got 1``. Integers may be
Python's or NumPy's (``np.arange`` gives ``np.int64``); ``bool`` is never
accepted where a number is expected, although it is an ``int``.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "SEED_MAX",
    "autocast_enabled",
    "is_int",
    "is_real",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_dtype",
    "check_int",
    "check_real",
    "check_seed",
    "describe",
]

SEED_MAX = 2**64 - 1  # the largest seed torch.manual_seed accepts


def describe(value) -> str:
    """``value`` for a message: its repr, and its type when that helps."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (bool, int, float, str)) or value is None:
        return text
    return f"{text} ({type(value).__name__})"


def is_int(value) -> bool:
    """An integer (Python's or NumPy's), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A real number (Python's or NumPy's), and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(
    name, value, minimum=None, maximum=None, maximum_text=None
) -> int:
    """``value`` as a Python int in [minimum, maximum] (either may be None).

    TypeError if it is not an integer, ValueError if out of range;
    ``maximum_text`` writes the maximum in the message (``2**64 - 1``).
    """
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        what = " (a positive int)" if minimum == 1 else ""
        raise ValueError(f"{name} must be >= {minimum}{what}, got {value}")
    if maximum is not None and value > maximum:
        text = maximum if maximum_text is None else maximum_text
        raise ValueError(f"{name} must be <= {text}, got {value}")
    return value


def check_real(
    name, value, minimum=None, *, strict=False, maximum=None, finite=True
) -> float:
    """``value`` as a float; ``minimum`` is exclusive with ``strict``.

    NaN is never accepted, ±inf only with ``finite=False``.
    """
    if not is_real(value):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        kind = "a finite real number" if finite else "a real number"
        raise ValueError(f"{name} must be {kind}, got {value}")
    if minimum is not None:
        low = value > minimum if strict else value >= minimum
        if not low:
            op = ">" if strict else ">="
            raise ValueError(f"{name} must be {op} {minimum:g}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value}")
    return value


def check_bool(name, value) -> bool:
    """``value`` if it is a bool (NumPy's ``np.bool_`` too)."""
    if type(value).__name__ not in ("bool", "bool_"):
        raise TypeError(f"{name} must be a bool, got {describe(value)}")
    return bool(value)


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices`` (compared with ``==``)."""
    if not isinstance(value, (str, int, float, type(None))) or (
        value not in tuple(choices)
    ):
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"{name} must be one of {options}, got {describe(value)}"
        )
    return value


def check_seed(name, value, allow_none=True) -> int | None:
    """A seed: an int in [0, 2**64 − 1] (the range torch accepts), or None
    when ``allow_none``. NumPy integers are accepted."""
    if value is None and allow_none:
        return None
    if not is_int(value):
        what = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name} must be {what}, got {describe(value)}")
    return check_int(
        name, value, 0, SEED_MAX, "2**64 - 1 (the largest seed torch takes)"
    )


def check_callable(name, value, what="callable"):
    """``value`` if it is callable; ``what`` says what it should be."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {describe(value)}")
    return value


def autocast_enabled(device_type: str) -> bool:
    """Whether ``torch.autocast`` is on for this device type."""
    import torch

    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return device_type == "cuda" and torch.is_autocast_enabled()


def check_dtype(
    name, tensor, dtype, owner="the parameters have", hint=""
) -> None:
    """TypeError unless ``tensor.dtype`` is ``dtype``, the dtype ``owner``
    has (the message: "x has dtype float64 but the parameters have
    float32"). Inside ``torch.autocast`` any floating dtype passes: an
    upstream layer hands over float16/bfloat16, and autocast casts it."""
    if tensor.dtype == dtype:
        return
    if tensor.is_floating_point() and autocast_enabled(tensor.device.type):
        return
    raise TypeError(
        f"{name} has dtype {tensor.dtype} but {owner} {dtype}{hint}"
    )
