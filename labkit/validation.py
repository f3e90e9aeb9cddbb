"""Checking a parameter where it is given: its type and its range, with a message that helps.

Every public function and widget of labkit checks what it is given with these functions, so a
wrong value fails at the call with a :class:`labkit.errors.ParameterError` (or the model's own
subclass) that names the parameter, the value, the accepted range and what to do, rather than
deep inside numpy or a simulation, or, worse, silently becoming another value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

from labkit.errors import ParameterError

__all__ = ["check_choice", "check_flag", "check_int", "check_real"]


def _kind(value: object) -> str:
    return type(value).__name__


def check_int(
    name: str,
    value: Any,
    low: int,
    high: int | None = None,
    *,
    error: type[ParameterError] = ParameterError,
    where: str = "",
) -> int:
    """``value`` as an int if it is a whole number (not a bool, not 2.5, not "4") in
    ``[low, high]``; otherwise ``error`` naming ``name``."""
    prefix = f"{where}: " if where else ""
    span = f"between {low} and {high}" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise error(
            f"{prefix}{name} must be a whole number {span}; got {value!r} ({_kind(value)}). "
            f"Pass an int, e.g. {name}={low if high is None else min(max(low, 1), high)}"
        )
    if value < low or (high is not None and value > high):
        raise error(f"{prefix}{name} must be {span}; got {value!r}")
    return int(value)


def check_real(
    name: str,
    value: Any,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    error: type[ParameterError] = ParameterError,
    where: str = "",
    unit: str = "",
) -> float:
    """``value`` as a float if it is a finite number (not a bool, not a string) in the range
    (``low`` excluded when ``low_open``); otherwise ``error`` naming ``name``."""
    prefix = f"{where}: " if where else ""
    u = f" {unit}" if unit else ""
    lower = f"> {low:g}{u}" if low_open else f">= {low:g}{u}"
    span = lower if high is None else f"{lower} and <= {high:g}{u}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise error(
            f"{prefix}{name} must be a number {span}; got {value!r} ({_kind(value)}). "
            "Pass an int or a float"
        )
    x = float(value)
    if not math.isfinite(x):
        raise error(f"{prefix}{name} must be a finite number {span}; got {value!r}")
    if x < low or (low_open and x == low) or (high is not None and x > high):
        raise error(f"{prefix}{name} must be {span}; got {value!r}")
    return x


def check_choice(
    name: str,
    value: Any,
    choices: Iterable[Any],
    *,
    error: type[ParameterError] = ParameterError,
    where: str = "",
) -> Any:
    """``value`` if it is one of ``choices``; otherwise ``error`` listing them."""
    options = tuple(choices)
    if value not in options:
        prefix = f"{where}: " if where else ""
        listed = ", ".join(repr(c) for c in options)
        raise error(f"{prefix}{name} must be one of {listed}; got {value!r}")
    return value


def check_flag(
    name: str, value: Any, *, error: type[ParameterError] = ParameterError, where: str = ""
) -> bool:
    """``value`` if it is a bool (True / False, not 1 or "yes"); otherwise ``error``."""
    if not isinstance(value, bool):
        prefix = f"{where}: " if where else ""
        raise error(f"{prefix}{name} must be True or False; got {value!r} ({_kind(value)})")
    return value
