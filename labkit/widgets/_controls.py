"""What a control can show: a value it cannot is refused, never clamped or coerced.

An ipywidgets slider given 64 where its end is 8 moves to 8, a Dropdown given an unknown value
raises traitlets' TraitError, an IntSlider given 2.5 rounds it: the lab would then run something
else than it was given. Every widget checks a value with :func:`check_control_value` before it
sets it, which raises :class:`labkit.errors.ParameterError` naming the control, the value, what
the control accepts and what to do.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, TypeVar

import ipywidgets as w

from labkit.errors import ParameterError
from labkit.params import ModelParams
from labkit.widgets._style import slider

__all__ = ["check_control_value", "check_params", "param_slider", "seed_box"]

P = TypeVar("P", bound=ModelParams)

#: The seed box's range: every seed the course uses, and exactly representable in JavaScript.
SEED_MAX = 2**31 - 1


def _options(control: w.Widget) -> list[Any] | None:
    options = getattr(control, "options", None)
    if options is None:
        return None
    return [o[1] if isinstance(o, tuple) else o for o in options]


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


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
            f"{owner}: {name} must be {what} from {_num(low)} to {_num(high)}; got {value!r} "
            f"({type(value).__name__})"
        )
    if not low <= value <= high:
        raise ParameterError(
            f"{owner}: {name} goes from {_num(low)} to {_num(high)} in this lab; got {value!r}"
        )
    return value


def check_params(owner: str, params: Any, cls: type[P]) -> P | None:
    """``params`` if it is a ``cls`` record (or None: the defaults); a ParameterError otherwise,
    at the widget's constructor, rather than an AttributeError from deep inside it."""
    if params is None or isinstance(params, cls):
        return params
    article = "an" if cls.__name__[0] in "AEIOU" else "a"
    raise ParameterError(
        f"{owner}: params must be {article} {cls.__name__}, got {type(params).__name__}; pass "
        f"{cls.__name__}(...) or the fields themselves, e.g. {owner}({cls.names()[0]}=...)"
    )


def param_slider(
    params: type[ModelParams],
    name: str,
    description: str,
    *,
    label_em: float,
    width_em: float,
    **kw: Any,
) -> w.IntSlider | w.FloatSlider:
    """A slider over ``params``' field ``name``, its range the one the field declares for
    controls (:meth:`ModelParams.slider`): the widget and the model cannot disagree on what is
    allowed. An ``int`` field gets an IntSlider, a float field a FloatSlider."""
    low, high, step = params.slider(name)
    kind = w.IntSlider if params.spec(name)["kind"] == "int" else w.FloatSlider
    return slider(kind, description, low, high, step, label_em=label_em, width_em=width_em, **kw)


def seed_box(label_em: float) -> w.BoundedIntText:
    """The seed control every lab has: a number box (a seed has no order worth a slider)."""
    return w.BoundedIntText(
        min=0,
        max=SEED_MAX,
        description="seed",
        style={"description_width": f"{label_em}em"},
        layout=w.Layout(width="18em"),
    )
