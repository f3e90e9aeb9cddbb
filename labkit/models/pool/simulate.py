"""``simulate_pool``: draw a workload, serve it under a policy, report the result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.models.pool.engine import serve_events
from labkit.models.pool.fifo import serve_fifo
from labkit.models.pool.params import PoolParams
from labkit.models.pool.result import PoolResult, build_result
from labkit.models.pool.trace import ServedTrace
from labkit.models.pool.workload import Workload, make_workload

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


def prepare_params(
    params: PoolParams | None = None,
    /,
    *,
    arrivals: Sequence[float] | None = None,
    **overrides: Any,
) -> tuple[PoolParams, np.ndarray | None]:
    """The resolved :class:`PoolParams` of a run (``params`` or the defaults, with ``overrides``)
    and the replayed arrivals, if any. An unknown name is a :class:`PoolParameterError` listing
    the known ones."""
    return PoolParams.make(params, **overrides).resolve(arrivals)


def prepare(
    params: PoolParams | None = None,
    /,
    *,
    arrivals: Sequence[float] | None = None,
    **overrides: Any,
) -> tuple[PoolParams, Workload]:
    """The resolved params and the seeded workload they describe."""
    resolved, replay = prepare_params(params, arrivals=arrivals, **overrides)
    return resolved, make_workload(resolved, replay)


def simulate_pool(
    params: PoolParams | None = None,
    /,
    *,
    arrivals: Sequence[float] | None = None,
    **overrides: Any,
) -> PoolResult:
    """Simulate a Go server handing requests to goroutines, and report latency and cost.

    ``params`` is a :class:`PoolParams` (default: its defaults); ``overrides`` change its fields
    by name, e.g. ``simulate_pool(policy="adaptive", arrival_rate=500)``.

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
    :mod:`labkit.models.pool.engine`): ``interval_ms=100``, ``high_samples=3``, ``high_factor=2``,
    ``grow_step=2``, ``shrink_step=1`` as in the article, floor ``min_workers`` (default
    ``workers``, the article's baseSize) and ceiling ``max_workers`` (default none, as in the
    article).

    CPU work runs on at most ``gomaxprocs`` Ps at once, round robin in ``time_slice_ms`` slices
    (10 ms: forcePreemptNS, src/runtime/proc.go). Same arguments, same result, bit for bit:
    everything random comes from ``numpy.random.default_rng(seed)``.

    Raises :class:`labkit.models.pool.PoolParameterError` (a ValueError) naming any bad argument.
    """
    resolved, workload = prepare(params, arrivals=arrivals, **overrides)
    return build_result(resolved, workload, serve(resolved, workload))
