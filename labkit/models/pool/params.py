"""The inputs of one pool simulation, checked once, in one frozen record.

Every run of :func:`labkit.models.pool.simulate_pool` starts from a :class:`PoolParams` (a
:class:`labkit.params.ModelParams`); the result carries it, resolved (the run's duration and the
pool's floor filled in), so any number the course shows can be reproduced from ``result.params``
(the OSTEP habit: print the inputs first). Validation happens here and only here, and every error
names the parameter, what was wrong, and what to pass instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from labkit.errors import ParameterError
from labkit.params import ModelParams, checked, choice, number, whole
from labkit.validation import check_int, check_real

POLICIES = ("static", "per_request", "adaptive")
SERVICE_KINDS = ("exp", "const", "lognormal")

# sysmon preempts a G that has run this long on the same schedtick: forcePreemptNS = 10 ms in
# src/runtime/proc.go (retake). The course measured 14-19 ms on go1.27.3 because sysmon's own sleep
# grows to 10 ms when it finds nothing to do, so the real slice is 10 ms plus detection delay.
FORCE_PREEMPT_MS = 10.0

# Creating, running and exiting one empty goroutine (`go f()` = runtime.newproc -> newproc1, a
# gfget'd or freshly stackalloc'd stack of at least 2 KiB, then goexit0 -> gfput). Measured with
# the venv's go1.27.3 on the course machine (linux/amd64, 2 shared cores): 0.6-0.7 us per goroutine
# with GOMAXPROCS=2, 1.4-1.5 us with GOMAXPROCS=1; 1 us sits between the two.
GOROUTINE_SPAWN_US = 1.0

# The article's watchdog (seed section 4.4): sample len(taskCh) every 100 ms; after 3 consecutive
# samples above 2 * workers grow by 2; when the queue is empty and workers > baseSize shrink by 1.
WATCHDOG_INTERVAL_MS = 100.0
WATCHDOG_HIGH_SAMPLES = 3
WATCHDOG_HIGH_FACTOR = 2.0
WATCHDOG_GROW_STEP = 2
WATCHDOG_SHRINK_STEP = 1

DEFAULT_DURATION_S = 60.0
DEFAULT_SAMPLE_MS = 100.0  # the time series' step: the watchdog's own sampling interval
DEFAULT_LOGNORMAL_SIGMA = 0.5

# A guard, not a runtime constant: more requests than this would take minutes in the event loop,
# so the model refuses instead of freezing a notebook.
MAX_REQUESTS = 5_000_000


class PoolParameterError(ParameterError):
    """A parameter of the pool model is out of range; the message names it and says what to do."""


@dataclass(frozen=True)
class Burst:
    """Bursty arrivals: a repeating cycle of a quiet period then a burst.

    The cycle starts at t = 0 with ``off_s`` seconds at the base ``arrival_rate`` (so the pool is in
    its steady state when the first burst hits), then ``on_s`` seconds at ``rate`` per second, and
    repeats. Inside each period arrivals are Poisson at that period's rate.
    """

    rate: float
    on_s: float
    off_s: float

    @property
    def period_s(self) -> float:
        return self.on_s + self.off_s


def _check_burst(name: str, value: Any, where: str, error: type[ParameterError]) -> Burst | None:
    """None, a Burst, or a tuple ``(rate_per_s, on_s, off_s)`` made a Burst."""
    if value is None or isinstance(value, Burst):
        parts = None if value is None else (value.rate, value.on_s, value.off_s)
    elif isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != 3:
        raise error(f"{name} must be a tuple (rate_per_s, on_s, off_s) or None, got {value!r}")
    else:
        parts = tuple(value)
    if parts is None:
        return None
    kw = {"where": where, "error": error}
    return Burst(
        check_real(f"{name} rate", parts[0], 0.0, unit="/s", **kw),
        check_real(f"{name} on_s", parts[1], 0.0, low_open=True, unit="s", **kw),
        check_real(f"{name} off_s", parts[2], 0.0, unit="s", **kw),
    )


def _optional_whole(low: int) -> Any:
    def check(name: str, value: Any, where: str, error: type[ParameterError]) -> int | None:
        return None if value is None else check_int(name, value, low, where=where, error=error)

    return check


def _check_duration(name: str, value: Any, where: str, error: type[ParameterError]) -> float | None:
    if value is None:
        return None
    return check_real(name, value, 0.0, low_open=True, where=where, error=error, unit="s")


@dataclass(frozen=True)
class PoolParams(ModelParams):
    """Everything one simulation depends on (together with the replayed arrivals, if any).

    ``duration_s=None`` runs 60 s, or to the last replayed arrival; ``min_workers=None`` is
    ``workers`` (the article's baseSize); ``max_workers=None`` is no ceiling (the article's
    watchdog has none). ``replayed_arrivals`` is the count of arrivals ``simulate_pool(arrivals=)``
    replayed, filled in by :meth:`resolve`. See :func:`labkit.models.pool.simulate_pool` for the rest.
    """

    error: ClassVar[type[ParameterError]] = PoolParameterError

    arrival_rate: float = number(
        300.0, 0.0, unit="/s", doc="mean requests per second", ui=(0.0, 1000.0, 10.0)
    )
    service_ms: float = number(
        10.0, 0.0, low_open=True, unit="ms", doc="mean service time", ui=(0.5, 100.0, 0.5)
    )
    service: str = choice("exp", SERVICE_KINDS)
    policy: str = choice("static", POLICIES)
    workers: int = whole(
        4, 1, doc="the pool's (starting) size; ignored by per_request", ui=(1, 64, 1)
    )
    gomaxprocs: int = whole(4, 1, doc="GOMAXPROCS: the Ps CPU work shares", ui=(1, 16, 1))
    duration_s: float | None = checked(
        None, _check_duration, doc="simulated time (s)", ui=(5.0, 60.0, 5.0), low=0.0
    )
    seed: int = whole(0, 0, 2**63 - 1)
    burst: Burst | None = checked(None, _check_burst, doc="(rate_per_s, on_s, off_s) or None")
    service_sigma: float = number(DEFAULT_LOGNORMAL_SIGMA, 0.0, 3.0, low_open=True)
    cpu_bound: float = number(
        1.0, 0.0, 1.0, doc="share of service time that needs a P", ui=(0.0, 1.0, 0.05)
    )
    time_slice_ms: float = number(FORCE_PREEMPT_MS, 0.0, low_open=True, unit="ms")
    spawn_us: float = number(GOROUTINE_SPAWN_US, 0.0, unit="us")
    interval_ms: float = number(
        WATCHDOG_INTERVAL_MS, 0.0, low_open=True, unit="ms", ui=(10.0, 1000.0, 10.0)
    )
    high_samples: int = whole(WATCHDOG_HIGH_SAMPLES, 1, ui=(1, 10, 1))
    high_factor: float = number(WATCHDOG_HIGH_FACTOR, 0.0, ui=(0.5, 10.0, 0.5))
    grow_step: int = whole(WATCHDOG_GROW_STEP, 1, ui=(1, 16, 1))
    shrink_step: int = whole(WATCHDOG_SHRINK_STEP, 1, ui=(1, 16, 1))
    min_workers: int | None = checked(None, _optional_whole(1), doc="the pool's floor")
    max_workers: int | None = checked(None, _optional_whole(1), doc="the pool's ceiling")
    sample_ms: float = number(DEFAULT_SAMPLE_MS, 0.0, low_open=True, unit="ms")
    replayed_arrivals: int | None = checked(None, _optional_whole(0))

    def check_together(self) -> None:
        """The pool's floor and ceiling around its start, the time-series step inside the run,
        and a guard against a run too long to finish."""
        if self.min_workers is not None and self.min_workers > self.workers:
            raise self.error(
                f"min_workers ({self.min_workers}) must be <= workers ({self.workers}), the "
                "starting size; lower min_workers or start with more workers"
            )
        if self.max_workers is not None and self.max_workers < self.workers:
            raise self.error(
                f"max_workers ({self.max_workers}) must be >= workers ({self.workers}); raise "
                "max_workers or pass None for no ceiling (the article's watchdog has none)"
            )
        if self.duration_s is not None and self.sample_ms > self.duration_s * 1000.0:
            raise self.error(
                f"sample_ms must be <= {self.duration_s * 1000.0:g} ms, the whole duration; got "
                f"{self.sample_ms:g}"
            )
        expected = self.mean_arrival_rate_per_s * (self.duration_s or DEFAULT_DURATION_S)
        if expected > MAX_REQUESTS:
            raise self.error(
                f"arrival_rate x duration_s asks for about {expected:,.0f} requests, more than "
                f"the model's limit of {MAX_REQUESTS:,}; shorten duration_s or lower the rate"
            )

    def resolve(
        self, arrivals: Sequence[float] | None = None
    ) -> tuple[PoolParams, np.ndarray | None]:
        """The record a run uses: ``duration_s`` and ``min_workers`` filled in and the replay
        counted; and the replayed arrival times (seconds, read-only), if any."""
        replay = None if arrivals is None else _replay(arrivals, self)
        duration_s = self.duration_s
        if duration_s is None:
            duration_s = DEFAULT_DURATION_S
            if replay is not None:
                if replay.size == 0 or replay[-1] == 0:
                    raise self.error(
                        "duration_s is needed when the replayed arrivals do not span any time; "
                        "pass duration_s in seconds"
                    )
                duration_s = float(replay[-1])
        if replay is not None and replay.size and replay[-1] > duration_s:
            raise self.error(
                f"arrivals run to {replay[-1]:g} s, past duration_s={duration_s:g} s; pass a "
                "longer duration_s or drop the late arrivals"
            )
        resolved = replace(
            self,
            duration_s=duration_s,
            min_workers=self.workers if self.min_workers is None else self.min_workers,
            replayed_arrivals=None if replay is None else int(replay.size),
        )
        return resolved, replay

    @property
    def mean_arrival_rate_per_s(self) -> float:
        """Time-averaged arrival rate the generator aims at (replays: count / duration)."""
        if self.replayed_arrivals is not None:
            return self.replayed_arrivals / (self.duration_s or DEFAULT_DURATION_S)
        if self.burst is None:
            return self.arrival_rate
        b = self.burst
        return (b.rate * b.on_s + self.arrival_rate * b.off_s) / b.period_s

    @property
    def peak_arrival_rate_per_s(self) -> float:
        if self.burst is None or self.replayed_arrivals is not None:
            return self.mean_arrival_rate_per_s
        return max(self.burst.rate, self.arrival_rate)

    @property
    def mean_cpu_ms(self) -> float:
        """Mean CPU demand of one request on a P (the spawn cost is added for per_request)."""
        spawn_ms = self.spawn_us / 1000.0 if self.policy == "per_request" else 0.0
        return self.cpu_bound * self.service_ms + spawn_ms

    def capacity_per_s(self) -> float:
        """Requests per second the policy can finish at most, in the long run.

        A pool of w workers finishes at most w / E[service]; whatever the pool, CPU work can use at
        most GOMAXPROCS Ps at once (only a G holding a P runs Go code: the M-P pairing in
        runtime.schedule / execute, src/runtime/proc.go), so also at most gomaxprocs / E[cpu].
        """
        cpu_limit = (
            math.inf if self.mean_cpu_ms == 0 else self.gomaxprocs * 1000.0 / self.mean_cpu_ms
        )
        if self.policy == "per_request":
            return cpu_limit
        pool = self.max_workers if self.policy == "adaptive" else self.workers
        if pool is None:
            return cpu_limit
        return min(pool * 1000.0 / self.service_ms, cpu_limit)

    def offered_load(self) -> float:
        """Mean arrival rate over capacity: at 1 or above the queue grows without bound."""
        return self.mean_arrival_rate_per_s / self.capacity_per_s()


def _replay(arrivals: Sequence[float], params: PoolParams) -> np.ndarray:
    """Replayed arrival times (seconds) as a read-only array, checked."""
    error = params.error
    if params.burst is not None:
        raise error(
            "burst and arrivals cannot be combined: a replayed arrival list already fixes "
            "every arrival time; pass one or the other"
        )
    try:
        replay = np.array(arrivals, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise error(f"arrivals must be a 1-D list of arrival times in seconds ({exc})") from None
    if not np.all(np.isfinite(replay)) or (replay.size and replay.min() < 0):
        raise error(
            "arrivals must be finite times >= 0 in seconds; drop NaN/inf and negative entries"
        )
    if replay.size > 1 and np.any(np.diff(replay) < 0):
        raise error(
            "arrivals must be sorted in time (non-decreasing); sort them first, e.g. "
            "numpy.sort(arrivals)"
        )
    replay.setflags(write=False)
    return replay
