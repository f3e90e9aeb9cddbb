"""One shape for every model's parameters: a frozen record that checks itself.

Every model and scenario of labkit takes its parameters the same way::

    result = simulate_x(params=None, **overrides)   # e.g. simulate_frames(gogc=50)
    result.params                                  # the XParams it ran with
    result.summary()                               # one line

``XParams`` is a frozen dataclass built on :class:`ModelParams`. Each field declares its kind and
range once, with :func:`whole`, :func:`number`, :func:`choice`, :func:`flag` or :func:`checked`;
building the record checks every field (``__post_init__``), so a bad value fails at the call with a
:class:`labkit.errors.ParameterError` that names the parameter, the value and the accepted range,
and never becomes another value silently. The same declarations give the widgets their slider
bounds (:meth:`ModelParams.bounds`), so a control can never offer what the model refuses.

Why a record and not keyword arguments alone: a result that carries the exact inputs can be re-run
and printed (the OSTEP simulators' habit: show the inputs first), two runs can be compared field by
field, and a widget can hold one value instead of twenty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, field, fields, replace
from typing import Any, ClassVar, Self

from labkit.errors import ParameterError
from labkit.validation import check_choice, check_flag, check_int, check_real

__all__ = ["ModelParams", "Slider", "checked", "choice", "flag", "number", "whole"]

Checker = Callable[[str, Any, str, type[ParameterError]], Any]


#: A control's range: ``(low, high, step)``, inside the range the model accepts.
Slider = tuple[float, float, float]


def _field(default: Any, check: Checker, doc: str, ui: Slider | None = None, **meta: Any) -> Any:
    return field(default=default, metadata={"check": check, "doc": doc, "ui": ui, **meta})


def whole(
    default: int, low: int, high: int | None = None, *, doc: str = "", ui: Slider | None = None
) -> Any:
    """A whole-number field in ``[low, high]`` (not a bool, not 2.5, not "4"). ``ui``: the range
    a widget's slider offers, when narrower than what the model accepts."""

    def check(name: str, value: Any, where: str, error: type[ParameterError]) -> int:
        return check_int(name, value, low, high, where=where, error=error)

    return _field(default, check, doc, ui, kind="int", low=low, high=high)


def number(
    default: float,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    unit: str = "",
    doc: str = "",
    ui: Slider | None = None,
) -> Any:
    """A finite real field in the range (``low`` excluded when ``low_open``), stored as a float."""

    def check(name: str, value: Any, where: str, error: type[ParameterError]) -> float:
        return check_real(
            name, value, low, high, low_open=low_open, where=where, error=error, unit=unit
        )

    return _field(default, check, doc, ui, kind="real", low=low, high=high, unit=unit)


def choice(default: Any, options: Iterable[Any], *, doc: str = "") -> Any:
    """A field that must be one of ``options``."""
    options = tuple(options)

    def check(name: str, value: Any, where: str, error: type[ParameterError]) -> Any:
        return check_choice(name, value, options, where=where, error=error)

    return _field(default, check, doc, kind="choice", options=options)


def flag(default: bool, *, doc: str = "") -> Any:
    """A True / False field (not 1, not "yes")."""

    def check(name: str, value: Any, where: str, error: type[ParameterError]) -> bool:
        return check_flag(name, value, where=where, error=error)

    return _field(default, check, doc, kind="flag")


def checked(
    default: Any, check: Checker, *, doc: str = "", ui: Slider | None = None, **meta: Any
) -> Any:
    """A field with its own check: ``check(name, value, where, error)`` returns the value to store
    (normalised, e.g. a list made a tuple) or raises ``error``. ``meta`` may give ``low`` / ``high``
    for a widget's bounds."""
    return _field(default, check, doc, ui, kind="custom", **meta)


class ModelParams:
    """Base of every model's frozen parameters record (use with ``@dataclass(frozen=True)``).

    Subclasses declare fields with :func:`whole`, :func:`number`, :func:`choice`, :func:`flag` or
    :func:`checked`, set :attr:`error` to the model's :class:`ParameterError` subclass, and may
    override :meth:`check_together` for rules that tie fields together.
    """

    #: The exception a bad value raises: the model's own ParameterError subclass.
    error: ClassVar[type[ParameterError]] = ParameterError

    def __post_init__(self) -> None:
        """Check and normalise every declared field, then the rules between fields."""
        where = type(self).__name__
        for f in fields(self):  # type: ignore[arg-type]
            check = f.metadata.get("check")
            if check is not None:
                object.__setattr__(
                    self, f.name, check(f.name, getattr(self, f.name), where, self.error)
                )
        self.check_together()

    def check_together(self) -> None:
        """Rules between fields (e.g. a floor below a ceiling); raise ``self.error``."""

    @classmethod
    def make(cls, params: Self | None = None, /, **overrides: Any) -> Self:
        """``params`` (or the defaults) with ``overrides``, checked: what every ``simulate_x``
        calls first. An unknown name lists the known ones."""
        if params is None:
            base = cls()
        elif isinstance(params, cls):
            base = params
        else:
            raise cls.error(
                f"params must be a {cls.__name__}, got {type(params).__name__}; pass "
                f"{cls.__name__}(...) or keyword overrides such as "
                f"{next(iter(cls.names()))}=..."
            )
        unknown = sorted(set(overrides) - set(cls.names()))
        if unknown:
            raise cls.error(
                f"unknown {cls.__name__} parameter(s) {', '.join(map(repr, unknown))}; the "
                f"parameters are {', '.join(cls.names())}"
            )
        return replace(base, **overrides) if overrides else base  # type: ignore[type-var]

    def replace(self, **overrides: Any) -> Self:
        """A copy with ``overrides``, checked like a new record."""
        return type(self).make(self, **overrides)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameters' names, in declaration order."""
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def spec(cls, name: str) -> Mapping[str, Any]:
        """What ``name`` accepts: ``kind`` and, as declared, ``low`` / ``high`` / ``options`` /
        ``unit`` / ``doc``, and its ``default``."""
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name == name:
                return {**f.metadata, "default": _default(f)}
        raise cls.error(
            f"{cls.__name__} has no parameter {name!r}; it has {', '.join(cls.names())}"
        )

    @classmethod
    def bounds(cls, name: str) -> tuple[float, float]:
        """``(low, high)`` of a numeric parameter: a widget's slider range comes from here."""
        spec = cls.spec(name)
        if spec.get("low") is None or spec.get("high") is None:
            raise cls.error(f"{cls.__name__}.{name} has no declared range (it is {spec['kind']})")
        return spec["low"], spec["high"]

    @classmethod
    def slider(cls, name: str) -> Slider:
        """``(low, high, step)`` a widget's control offers for ``name``: the declared ``ui`` range,
        else the accepted range with step 1. Never wider than what the model accepts."""
        spec = cls.spec(name)
        if spec.get("ui") is not None:
            return spec["ui"]
        low, high = cls.bounds(name)
        return low, high, 1

    @classmethod
    def options(cls, name: str) -> tuple[Any, ...]:
        """The accepted values of a choice parameter: a widget's menu comes from here."""
        spec = cls.spec(name)
        if "options" not in spec:
            raise cls.error(f"{cls.__name__}.{name} is not a choice (it is {spec['kind']})")
        return spec["options"]

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (name -> value), in declaration order."""
        return {name: getattr(self, name) for name in self.names()}

    def changed(self, other: ModelParams | None = None) -> dict[str, Any]:
        """The fields that differ from ``other`` (default: the defaults), with this record's values."""
        other = type(self)() if other is None else other
        return {k: v for k, v in self.as_dict().items() if getattr(other, k) != v}


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING
