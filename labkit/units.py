"""Units a learner types after a number: read them, convert them, reject the wrong kind.

An exercise names its unit (``"ms"``, ``"MiB"``, ``"cycles/s"``, ``"%"``, ``"threads"``). The
learner may answer in that unit, in another unit of the same kind (``"0.01717 s"``,
``"8.29 MB"``, ``"2.4 GC/s"``), or with a bare number, which means the question's unit. A unit of
another kind is an error that names both kinds: ``"17.170 GiB is a size; this question asks for a
time in ms"``.

Five kinds, each with a base unit that conversions go through:

* **time** (base: s): ns, us / µs / μs, ms, s, and their long names;
* **size** (base: byte): B; the binary KiB, MiB, GiB (1024-based: what the Go runtime reports,
  runtime/metrics and gctrace alike; gctrace prints "MB" but shifts by 20 bits,
  src/runtime/mgc.go:1625) and the decimal kB / KB, MB, GB (1000-based, as the SI and
  IEC 80000-13 define them). Decimal units are real units of the same kind and are converted as
  such: 8.29 MB is 7.91 MiB. That is exactly how an answer that computed a frame in MB, and typed
  the number where the question asks for MiB, is told apart from a right one;
* **share**: ``%`` (percent);
* **rate** (base: per second): ``1/s``, ``/ms``, ``Hz``, ``per second``, or a counted thing per
  time, ``cycles/s``, ``items/s``, ``requests/s``;
* **count**: a number of things, ``threads``, ``goroutines``, ``workers``, ``cycles``.

Counts and rates carry a *noun*. When both the question and the answer name one, they must be
the same thing (``9 goroutines`` is not an answer to "how many threads"); an answer without a
noun (``12``, ``2.4/s``) is taken as the question's. A question without a unit asks for a plain
number: a counted noun is fine there (``387 goroutines``), a time or a size is not.

Why a table and not a units library: the course needs these five kinds and a few dozen
spellings, and the table shows on one screen everything that is accepted. pint, the well-kept
general library, is a large registry parsed at import (with its own dependencies), and it gets
two of the five kinds wrong for this purpose: its ``cycle`` is a *turn*, 2π radians
(``turn = 2 * π * radian = _ = revolution = cycle`` in its default_en.txt), so ``2 cycles/s``
converts to 12.6 1/s; and threads, goroutines and workers are no units to it at all, so it could
not tell a count of goroutines from a count of threads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from labkit.errors import LabkitError

__all__ = ["Unit", "UnitError", "convert", "describe", "parse_quantity", "unit"]


class UnitError(LabkitError):
    """A unit that is not known, or of the wrong kind for the question (message for a learner)."""


@dataclass(frozen=True)
class Unit:
    """A unit: its ``kind``, how many base units one of it is (``factor``), what it counts."""

    symbol: str
    kind: str  # "time", "size", "share", "rate", "count" or "number" (no unit at all)
    factor: float = 1.0  # in base units: seconds, bytes, percent, per second, things
    noun: str = ""  # the counted thing, singular ("thread"); "" when not said


#: Time units, in seconds.
TIME = {
    "ns": 1e-9,
    "nsec": 1e-9,
    "nanosecond": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # MICRO SIGN
    "μs": 1e-6,  # GREEK SMALL LETTER MU
    "usec": 1e-6,
    "microsecond": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "millisecond": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
}
#: Size units, in bytes: binary (KiB, MiB, GiB) and decimal (kB, MB, GB) alike.
SIZE = {
    "b": 1,
    "byte": 1,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
}
#: Shares, in percent.
SHARE = {"%": 1.0, "percent": 1.0}
#: What a count or a rate may count: spelling -> the thing (singular).
NOUNS = {
    "cycle": "cycle",
    "gc": "cycle",
    "gc cycle": "cycle",
    "thread": "thread",
    "os thread": "thread",
    "goroutine": "goroutine",
    "worker": "worker",
    "item": "item",
    "request": "request",
    "req": "request",
    "frame": "frame",
    "connection": "connection",
    "turn": "turn",
}
#: How each kind is named in a message.
KIND_NAMES = {
    "time": "a time",
    "size": "a size",
    "share": "a percentage",
    "rate": "a rate",
    "count": "a count",
    "number": "a plain number",
}


def _key(table: dict, word: str) -> str:
    """``word`` as ``table`` spells it: itself, or without a plural "s" ("threads", "seconds")."""
    if word in table:
        return word
    return word[:-1] if word.endswith("s") and word[:-1] in table else word


def _noun(text: str) -> str | None:
    """The counted thing ``text`` names (``"threads"`` -> ``"thread"``), or None."""
    return NOUNS.get(_key(NOUNS, text))


def _time_factor(text: str) -> float | None:
    return TIME.get(_key(TIME, text))


_RATE = re.compile(r"^(?:(?P<noun>[a-z][a-z ]*?)\s*)?(?:/|per\s+)\s*(?P<time>[a-zµμ]+)$")


def unit(text: str) -> Unit:
    """The unit spelt ``text`` (case does not matter; ``""`` is a plain number).

    >>> unit("ms").factor, unit("MiB").factor, unit("cycles/s").noun
    (0.001, 1048576, 'cycle')
    """
    raw = " ".join(str(text).split())
    key = raw.lower()
    if not key:
        return Unit("", "number")
    if (f := _time_factor(key)) is not None:
        return Unit(raw, "time", f)
    if _key(SIZE, key) in SIZE:
        return Unit(raw, "size", float(SIZE[_key(SIZE, key)]))
    if key in SHARE:
        return Unit(raw, "share", SHARE[key])
    if key == "hz":
        return Unit(raw, "rate", 1.0)
    if (noun := _noun(key)) is not None:
        return Unit(raw, "count", 1.0, noun)
    m = _RATE.match(key) or re.match(r"^(?P<noun>1)\s*/\s*(?P<time>[a-zµμ]+)$", key)
    if m and (per := _time_factor(m["time"])) is not None:
        what = m["noun"]
        if what in (None, "1"):
            return Unit(raw, "rate", 1.0 / per)
        if (noun := _noun(what)) is not None:
            return Unit(raw, "rate", 1.0 / per, noun)
    raise UnitError(
        f"unknown unit {raw!r}; use a time (ns, us, ms, s), a size (B, KiB, MiB, GiB, kB, MB, "
        "GB), %, a rate (1/s, cycles/s) or a count (threads, goroutines, workers)"
    )


def describe(u: Unit) -> str:
    """How a message names the kind of ``u``: "a time", "a count of goroutines", ..."""
    name = KIND_NAMES[u.kind]
    if u.noun:
        name += f" of {u.noun}s"
    return name


def convert(value: float, given: Unit, target: Unit, *, text: str = "") -> float:
    """``value`` in ``given`` units, converted to ``target`` units.

    Raises UnitError when the kinds (or the counted things) differ; ``text`` is what the learner
    typed, quoted in the message."""
    said = text or f"{value:g} {given.symbol}".strip()
    if target.kind == "number":
        if given.kind in ("number", "count"):
            return value
        raise UnitError(f"{said} is {describe(given)}; this question asks for a plain number")
    if given.kind == "number":
        return value
    if given.kind != target.kind or (given.noun and target.noun and given.noun != target.noun):
        wanted = describe(target) + ("" if target.kind == "count" else f" in {target.symbol}")
        raise UnitError(f"{said} is {describe(given)}; this question asks for {wanted}")
    return value * given.factor / target.factor


_NUMBER = re.compile(
    r"^\s*(?:~|≈|about\s+)?\s*(?P<num>[-+−]?(?:\d[\d,_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"\s*(?P<unit>.*?)\s*$"
)
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][-+]?\d+)?$")


def parse_quantity(text: str) -> tuple[float, Unit]:
    """Read ``"14.5"``, ``"14.5 ms"``, ``"1,000 goroutines"``, ``"2e3"``, ``"~7.9MiB"``.

    Returns the number as typed and its unit (``Unit("", "number")`` when none was typed).
    Raises UnitError (a ValueError) with a message for the learner."""
    m = _NUMBER.match(str(text))
    if not m:
        raise UnitError(f"{text!r} is not a number; type digits such as 14.5")
    num = m["num"].replace("−", "-")
    if "," in num:
        if not _THOUSANDS.match(num):
            raise UnitError(
                f"{m['num']!r}: a comma can only separate thousands (1,000); "
                "write decimals with a point, 17.17"
            )
        num = num.replace(",", "")
    value = float(num.replace("_", ""))
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite number")
    return value, unit(m["unit"])
