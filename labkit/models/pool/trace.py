"""What serving a workload produced, before statistics: the record both serving paths return.

The two paths (:mod:`labkit.models.pool.fifo`, the closed-form recursion used when no worker ever waits
for a P, and :mod:`labkit.models.pool.engine`, the event loop with Ps and time slices) fill the same
record, so :mod:`labkit.models.pool.result` computes statistics one way for every policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ServedTrace:
    """Per-request times (ms) and sampled state, for requests in arrival order.

    ``start_ms``: when a worker (or the request's own goroutine) took the request.
    ``done_ms``: when it finished; the run drains after ``duration_s`` with no new arrivals, so
    every request has one (see :mod:`labkit.models.pool.result` on how that is reported).
    ``wait_ms``: time spent neither on a P nor in a network wait: in the channel waiting for a
    worker, plus in the run queue waiting for a P. Accumulated from differences of event times
    that never go backwards, so never negative.
    Sampled at ``sample_t_ms`` (state after every event at or before that instant):
    ``queue_depth`` (requests in the channel, len(taskCh)), ``run_queue_depth`` (goroutines
    runnable but without a P), ``workers`` (live worker goroutines; for per_request the live
    request goroutines), ``busy_workers`` and ``in_system``.
    ``worker_change_ms`` / ``worker_count``: the live worker count as a step function (the count
    holds from each change time until the next), for an exact time average.
    ``cpu_ms_in_window``: P time spent running requests inside [0, duration).
    """

    start_ms: np.ndarray
    done_ms: np.ndarray
    wait_ms: np.ndarray
    sample_t_ms: np.ndarray
    queue_depth: np.ndarray
    run_queue_depth: np.ndarray
    workers: np.ndarray
    busy_workers: np.ndarray
    in_system: np.ndarray
    worker_change_ms: np.ndarray
    worker_count: np.ndarray
    cpu_ms_in_window: float
