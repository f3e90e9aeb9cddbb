"""The inputs of one pool simulation, checked once, in one frozen record.

Every run of :func:`labkit.pool.simulate_pool` starts by building a :class:`PoolParams`; the result
carries it, so any number the course shows can be reproduced from ``result.params`` (the OSTEP
habit: print the inputs first). Validation happens here and only here, and every error names the
parameter, what was wrong, and what to pass instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from labkit.errors import ParameterError

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


def check_number(
    name: str, value: Any, *, low: float, low_open: bool = False, high=None, hint: str
):
    """Check that ``value`` is a finite real within the bounds; return it as a float."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise PoolParameterError(f"{name} must be a finite number, got {value!r}; {hint}")
    value = float(value)
    if value < low or (low_open and value == low):
        bound = ">" if low_open else ">="
        raise PoolParameterError(f"{name} must be {bound} {low:g}, got {value:g}; {hint}")
    if high is not None and value > high:
        raise PoolParameterError(f"{name} must be <= {high:g}, got {value:g}; {hint}")
    return value


def check_integer(name: str, value: Any, *, low: int, hint: str) -> int:
    """Check that ``value`` is an integer >= ``low``; return it as an int."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise PoolParameterError(f"{name} must be an integer, got {value!r}; {hint}")
    if value < low:
        raise PoolParameterError(f"{name} must be >= {low}, got {value}; {hint}")
    return int(value)


def check_choice(name: str, value: Any, options: Sequence[str]) -> str:
    if value not in options:
        raise PoolParameterError(
            f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}"
        )
    return value


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


@dataclass(frozen=True)
class PoolParams:
    """Everything one simulation depends on (together with the replayed arrivals, if any)."""

    arrival_rate: float
    service_ms: float
    service: str
    policy: str
    workers: int
    gomaxprocs: int
    duration_s: float
    seed: int
    burst: Burst | None
    replayed_arrivals: int | None
    service_sigma: float
    cpu_bound: float
    time_slice_ms: float
    spawn_us: float
    interval_ms: float
    high_samples: int
    high_factor: float
    grow_step: int
    shrink_step: int
    min_workers: int
    max_workers: int | None
    sample_ms: float

    @property
    def mean_arrival_rate_per_s(self) -> float:
        """Time-averaged arrival rate the generator aims at (replays: count / duration)."""
        if self.replayed_arrivals is not None:
            return self.replayed_arrivals / self.duration_s
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


def make_params(
    *,
    arrival_rate,
    service_ms,
    service,
    policy,
    workers,
    gomaxprocs,
    duration_s,
    seed,
    burst,
    arrivals,
    service_sigma,
    cpu_bound,
    time_slice_ms,
    spawn_us,
    interval_ms,
    high_samples,
    high_factor,
    grow_step,
    shrink_step,
    min_workers,
    max_workers,
    sample_ms,
) -> tuple[PoolParams, np.ndarray | None]:
    """Validate every input; return the params and the replayed arrivals (seconds) if given."""
    arrival_rate = check_number(
        "arrival_rate", arrival_rate, low=0.0, hint="pass the mean requests per second, e.g. 300.0"
    )
    service_ms = check_number(
        "service_ms", service_ms, low=0.0, low_open=True, hint="pass the mean service time in ms"
    )
    service = check_choice("service", service, SERVICE_KINDS)
    policy = check_choice("policy", policy, POLICIES)
    workers = check_integer("workers", workers, low=1, hint="a pool needs at least one worker")
    gomaxprocs = check_integer(
        "gomaxprocs", gomaxprocs, low=1, hint="GOMAXPROCS is the number of Ps, at least 1"
    )
    seed = check_integer("seed", seed, low=0, hint="pass a non-negative integer seed, e.g. 0")
    service_sigma = check_number(
        "service_sigma",
        service_sigma,
        low=0.0,
        low_open=True,
        high=3.0,
        hint="the lognormal's sigma (spread of log service time), e.g. 0.5",
    )
    cpu_bound = check_number(
        "cpu_bound",
        cpu_bound,
        low=0.0,
        high=1.0,
        hint="the fraction of service time that is CPU work needing a P (1.0 = all CPU)",
    )
    time_slice_ms = check_number(
        "time_slice_ms",
        time_slice_ms,
        low=0.0,
        low_open=True,
        hint="the scheduler's time slice, 10 ms (forcePreemptNS) in Go",
    )
    spawn_us = check_number(
        "spawn_us", spawn_us, low=0.0, hint="the CPU cost of creating a goroutine, about 1 us"
    )
    interval_ms = check_number(
        "interval_ms",
        interval_ms,
        low=0.0,
        low_open=True,
        hint="the watchdog's sampling interval, 100 ms in the article",
    )
    high_samples = check_integer(
        "high_samples", high_samples, low=1, hint="consecutive high samples before growing (3)"
    )
    high_factor = check_number(
        "high_factor",
        high_factor,
        low=0.0,
        hint="queue length over workers that counts as high (2)",
    )
    grow_step = check_integer("grow_step", grow_step, low=1, hint="workers added per growth (2)")
    shrink_step = check_integer(
        "shrink_step", shrink_step, low=1, hint="workers removed per shrink (1)"
    )
    if min_workers is None:
        min_workers = workers
    min_workers = check_integer(
        "min_workers", min_workers, low=1, hint="the pool's floor (baseSize)"
    )
    if min_workers > workers:
        raise PoolParameterError(
            f"min_workers ({min_workers}) must be <= workers ({workers}), the starting size; "
            "lower min_workers or start with more workers"
        )
    if max_workers is not None:
        max_workers = check_integer("max_workers", max_workers, low=1, hint="the pool's ceiling")
        if max_workers < workers:
            raise PoolParameterError(
                f"max_workers ({max_workers}) must be >= workers ({workers}); raise max_workers "
                "or pass None for no ceiling (the article's watchdog has none)"
            )

    parsed_burst = None
    if burst is not None:
        if arrivals is not None:
            raise PoolParameterError(
                "burst and arrivals cannot be combined: a replayed arrival list already fixes "
                "every arrival time; pass one or the other"
            )
        if isinstance(burst, (str, bytes)) or not isinstance(burst, Sequence) or len(burst) != 3:
            raise PoolParameterError(
                f"burst must be a tuple (rate_per_s, on_s, off_s) or None, got {burst!r}"
            )
        rate = check_number("burst rate", burst[0], low=0.0, hint="burst=(rate_per_s, on_s, off_s)")
        on_s = check_number(
            "burst on_s", burst[1], low=0.0, low_open=True, hint="burst=(rate_per_s, on_s, off_s)"
        )
        off_s = check_number(
            "burst off_s", burst[2], low=0.0, hint="burst=(rate_per_s, on_s, off_s)"
        )
        parsed_burst = Burst(rate, on_s, off_s)

    replay = None
    if arrivals is not None:
        try:
            replay = np.array(arrivals, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise PoolParameterError(
                f"arrivals must be a 1-D list of arrival times in seconds ({exc})"
            ) from None
        if not np.all(np.isfinite(replay)) or (replay.size and replay.min() < 0):
            raise PoolParameterError(
                "arrivals must be finite times >= 0 in seconds; drop NaN/inf and negative entries"
            )
        if replay.size > 1 and np.any(np.diff(replay) < 0):
            raise PoolParameterError(
                "arrivals must be sorted in time (non-decreasing); sort them first, e.g. "
                "numpy.sort(arrivals)"
            )
        replay.setflags(write=False)
        if duration_s is None:
            if replay.size == 0 or replay[-1] == 0:
                raise PoolParameterError(
                    "duration_s is needed when the replayed arrivals do not span any time; "
                    "pass duration_s in seconds"
                )
            duration_s = float(replay[-1])
    if duration_s is None:
        duration_s = DEFAULT_DURATION_S
    duration_s = check_number(
        "duration_s", duration_s, low=0.0, low_open=True, hint="pass the simulated time in seconds"
    )
    if replay is not None and replay.size and replay[-1] > duration_s:
        raise PoolParameterError(
            f"arrivals run to {replay[-1]:g} s, past duration_s={duration_s:g} s; pass a longer "
            "duration_s or drop the late arrivals"
        )
    sample_ms = check_number(
        "sample_ms",
        sample_ms,
        low=0.0,
        low_open=True,
        high=duration_s * 1000.0,
        hint="the time-series step in ms, at most the whole duration",
    )

    params = PoolParams(
        arrival_rate=arrival_rate,
        service_ms=service_ms,
        service=service,
        policy=policy,
        workers=workers,
        gomaxprocs=gomaxprocs,
        duration_s=duration_s,
        seed=seed,
        burst=parsed_burst,
        replayed_arrivals=None if replay is None else int(replay.size),
        service_sigma=service_sigma,
        cpu_bound=cpu_bound,
        time_slice_ms=time_slice_ms,
        spawn_us=spawn_us,
        interval_ms=interval_ms,
        high_samples=high_samples,
        high_factor=high_factor,
        grow_step=grow_step,
        shrink_step=shrink_step,
        min_workers=min_workers,
        max_workers=max_workers,
        sample_ms=sample_ms,
    )
    expected = params.mean_arrival_rate_per_s * duration_s
    if expected > MAX_REQUESTS:
        raise PoolParameterError(
            f"arrival_rate x duration_s asks for about {expected:,.0f} requests, more than the "
            f"model's limit of {MAX_REQUESTS:,}; shorten duration_s or lower the rate"
        )
    return params, replay
