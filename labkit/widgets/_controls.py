"""What a control can show: a value it cannot is refused, never clamped or coerced.

An ipywidgets slider given 64 where its end is 8 moves to 8, a Dropdown given an unknown value
raises traitlets' TraitError, an IntSlider given 2.5 rounds it: the lab would then run something
else than it was given. Every widget checks a value with :func:`check_control_value` before it
sets it, which raises :class:`labkit.errors.ParameterError` naming the control, the value, what
the control accepts and what to do.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import ipywidgets as w

from labkit.errors import ParameterError

__all__ = ["check_control_value"]


def _options(control: w.Widget) -> list[Any] | None:
    options = getattr(control, "options", None)
    if options is None:
        return None
    return [o[1] if isinstance(o, tuple) else o for o in options]


def check_control_value(owner: str, name: str, control: w.Widget, value: Any) -> Any:
    """``value`` if ``control`` can show it as it is; otherwise a ParameterError."""
    options = _options(control)
    if options is not None:
        if value not in options:
            listed = ", ".join(repr(o) for o in options)
            raise ParameterError(f"{owner}: {name} must be one of {listed}; got {value!r}")
        return value
    if isinstance(control, w.Checkbox | w.ToggleButton):
        if not isinstance(value, bool):
            raise ParameterError(f"{owner}: {name} must be True or False; got {value!r}")
        return value
    low, high = getattr(control, "min", None), getattr(control, "max", None)
    if low is None:
        return value
    whole = isinstance(control, w.IntSlider | w.BoundedIntText | w.IntRangeSlider)
    kind = Integral if whole else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "a whole number" if whole else "a number"
        raise ParameterError(
            f"{owner}: {name} must be {what} from {low:g} to {high:g}; got {value!r} "
            f"({type(value).__name__})"
        )
    if not low <= value <= high:
        raise ParameterError(
            f"{owner}: {name} goes from {low:g} to {high:g} in this lab; got {value!r}"
        )
    return value
