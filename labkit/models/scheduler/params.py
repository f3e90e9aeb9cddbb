"""The scheduler model's inputs besides the program: a frozen, self-checking record.

``simulate(main, params=None, **overrides)`` takes them the way every labkit model takes its
parameters (:mod:`labkit.params`); ``Result.params`` is the record it ran with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labkit.errors import ParameterError
from labkit.models.scheduler.programs import ProgramError
from labkit.params import ModelParams, checked, flag, whole

__all__ = ["SchedParamError", "SchedParams", "check_cores", "cores_field", "sysmon_backoff_field"]


class SchedParamError(ProgramError, ParameterError):
    """A bad ``simulate()`` argument: a ProgramError (what the scheduler model raises) and a
    ParameterError (what every model raises for a bad parameter)."""


def _horizon(name: str, value: Any, where: str, error: type[ParameterError]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise error(f"{where}: {name} must be a number of ms > 0, got {value!r}")
    if math.isinf(value):
        raise error(f"{where}: {name} must be finite; pick a horizon such as 10_000 ms")
    return float(value)


def check_cores(name: str, value: Any, where: str, error: type[ParameterError]) -> int | None:
    """A ``cores`` field's check (SchedParams, the scheduler lab's LabParams): None, or a whole
    number of CPUs >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise error(
            f"{where}: {name} must be None (a CPU for every thread) or a whole number of CPUs "
            f">= 1, got {value!r}"
        )
    return value


def cores_field() -> Any:
    """The ``cores`` field, as SchedParams and the models that pass it on (the scheduler lab's
    LabParams) declare it."""
    return checked(
        None,
        check_cores,
        doc="CPUs the OS shares between the threads (None: one per thread)",
        low=1,
    )


def sysmon_backoff_field() -> Any:
    """The ``sysmon_backoff`` field, declared alike wherever it is passed on (see cores_field)."""
    return flag(False, doc="the process ran a while before t=0: sysmon is in its 10 ms rounds")


@dataclass(frozen=True)
class SchedParams(ModelParams):
    """GOMAXPROCS, the preemption mode, the horizon and the seed of one scheduler run.

    ``async_preempt=False`` models Go <= 1.13, or GODEBUG=asyncpreemptoff=1: a loop without
    function calls (``cpu(ms, calls=False)``) then cannot be preempted until it ends. ``seed``
    drives the only random choices: the victim order of work stealing (stealOrder in proc.go),
    and whether a preemption request that sysmon makes during a switch comes after execute.
    ``cores``: None gives every thread (M) a CPU of its own; a number n makes the OS share n
    CPUs between the Ms running Go code, round robin in slices of runtime.OS_SLICE_MS
    (``cpus.py``), as when GOMAXPROCS is above the machine's CPU count. ``sysmon_backoff=True``
    starts the run in a process that has been running a while, as a service is when a burst
    comes: sysmon already sleeps 10 ms between rounds, at a phase drawn from the seed
    (``sysmon.first_sysmon_round_ms``); the default is a process just started.
    """

    error = SchedParamError

    gomaxprocs: int = whole(4, 1, doc="Ps")
    async_preempt: bool = flag(True, doc="Go >= 1.14's signal-based preemption")
    until_ms: float = checked(10_000.0, _horizon, doc="virtual time to stop at, ms")
    seed: int = whole(0, 0, 2**63 - 1, doc="work stealing's victim order")
    cores: int | None = cores_field()
    sysmon_backoff: bool = sysmon_backoff_field()
