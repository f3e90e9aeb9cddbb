"""``simulate_pool``: draw a workload, serve it under a policy, report the result."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.pool.engine import serve_events
from labkit.pool.fifo import serve_fifo
from labkit.pool.params import (
    DEFAULT_LOGNORMAL_SIGMA,
    DEFAULT_SAMPLE_MS,
    FORCE_PREEMPT_MS,
    GOROUTINE_SPAWN_US,
    WATCHDOG_GROW_STEP,
    WATCHDOG_HIGH_FACTOR,
    WATCHDOG_HIGH_SAMPLES,
    WATCHDOG_INTERVAL_MS,
    WATCHDOG_SHRINK_STEP,
    PoolParameterError,
    PoolParams,
    make_params,
)
from labkit.pool.result import PoolResult, build_result
from labkit.pool.trace import ServedTrace
from labkit.pool.workload import Workload, make_workload

SERVE_METHODS = ("auto", "fifo", "events")


def fifo_is_exact(params: PoolParams) -> bool:
    """True when a static pool never has a runnable worker without a P.

    With at most ``gomaxprocs`` workers every runnable worker gets a P at once, and with no CPU
    work nobody needs one; either way the pool is a plain FIFO c-server queue.
    """
    return params.policy == "static" and (
        params.workers <= params.gomaxprocs or params.cpu_bound == 0.0
    )


def serve(params: PoolParams, workload: Workload, method: str = "auto") -> ServedTrace:
    """Serve ``workload`` under ``params``: the fast FIFO recursion when it is exact, else events.

    ``method="events"`` forces the event loop (the tests use it to check the recursion against
    it); ``"fifo"`` is refused when the recursion would be wrong.
    """
    if method not in SERVE_METHODS:
        raise ValueError(f"method must be one of {SERVE_METHODS}, got {method!r}")
    if method == "fifo" and not fifo_is_exact(params):
        raise ValueError(
            "method='fifo' is only exact for a static pool with workers <= gomaxprocs or no CPU "
            "work; use method='auto'"
        )
    if method == "events" or (method == "auto" and not fifo_is_exact(params)):
        return serve_events(params, workload)
    return serve_fifo(params, workload)


def prepare_params(**kwargs: Any) -> tuple[PoolParams, np.ndarray | None]:
    """Validate keyword arguments of :func:`simulate_pool` (its defaults fill in the rest); return
    the params and the replayed arrivals. An unknown name is a :class:`PoolParameterError`."""
    signature = _signature()
    try:
        bound = signature.bind(**kwargs)
    except TypeError as err:
        names = ", ".join(signature.parameters)
        raise PoolParameterError(f"{err}; simulate_pool takes: {names}") from None
    bound.apply_defaults()
    return make_params(**bound.arguments)


@functools.cache
def _signature() -> inspect.Signature:
    return inspect.signature(simulate_pool)


def prepare(**kwargs: Any) -> tuple[PoolParams, Workload]:
    """Validate :func:`simulate_pool`'s keyword arguments and draw the workload they describe."""
    params, replay = prepare_params(**kwargs)
    return params, make_workload(params, replay)


def simulate_pool(
    arrival_rate: float = 300.0,
    service_ms: float = 10.0,
    service: str = "exp",
    policy: str = "static",
    workers: int = 4,
    gomaxprocs: int = 4,
    duration_s: float | None = None,
    seed: int = 0,
    burst: tuple[float, float, float] | None = None,
    *,
    arrivals: Sequence[float] | None = None,
    service_sigma: float = DEFAULT_LOGNORMAL_SIGMA,
    cpu_bound: float = 1.0,
    time_slice_ms: float = FORCE_PREEMPT_MS,
    spawn_us: float = GOROUTINE_SPAWN_US,
    interval_ms: float = WATCHDOG_INTERVAL_MS,
    high_samples: int = WATCHDOG_HIGH_SAMPLES,
    high_factor: float = WATCHDOG_HIGH_FACTOR,
    grow_step: int = WATCHDOG_GROW_STEP,
    shrink_step: int = WATCHDOG_SHRINK_STEP,
    min_workers: int | None = None,
    max_workers: int | None = None,
    sample_ms: float = DEFAULT_SAMPLE_MS,
) -> PoolResult:
    """Simulate a Go server handing requests to goroutines, and report latency and cost.

    Arrivals (per second): Poisson at ``arrival_rate`` over ``duration_s`` (default 60 s); or bursty,
    ``burst=(rate, on_s, off_s)``: repeating ``off_s`` seconds at ``arrival_rate`` then ``on_s``
    seconds at ``rate``, starting with the quiet part; or replayed, ``arrivals=`` sorted times in
    seconds (``duration_s`` then defaults to the last one).

    Service (ms, mean ``service_ms``): ``"exp"``, ``"const"`` or ``"lognormal"`` (log-time standard
    deviation ``service_sigma``, default 0.5). ``cpu_bound`` of it is CPU work that needs a P, the
    rest a network wait that does not (it comes first: wait for the database, then compute).

    Policies: ``"static"``: ``workers`` goroutines ranging over one channel (FIFO).
    ``"per_request"``: ``go handle(req)`` per request, each paying ``spawn_us`` of CPU; no queue,
    every live goroutine competes for the Ps (``workers`` is ignored). ``"adaptive"``: the
    article's watchdog resizing a pool that starts at ``workers`` (see
    :mod:`labkit.pool.engine`): ``interval_ms=100``, ``high_samples=3``, ``high_factor=2``,
    ``grow_step=2``, ``shrink_step=1`` as in the article, floor ``min_workers`` (default
    ``workers``, the article's baseSize) and ceiling ``max_workers`` (default none, as in the
    article).

    CPU work runs on at most ``gomaxprocs`` Ps at once, round robin in ``time_slice_ms`` slices
    (10 ms: forcePreemptNS, src/runtime/proc.go). Same arguments, same result, bit for bit:
    everything random comes from ``numpy.random.default_rng(seed)``.

    Raises :class:`labkit.pool.PoolParameterError` (a ValueError) naming any bad argument.
    """
    params, workload = prepare(**locals())  # every argument, by name
    return build_result(params, workload, serve(params, workload))
