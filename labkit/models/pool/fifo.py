"""A static pool that never waits for a P: the FIFO c-server queue, solved by recursion.

``workers`` goroutines loop on ``for task := range taskCh``. A Go channel hands values to
receivers in FIFO order (runtime.chanrecv takes the oldest buffered element, and blocked
receivers queue on ``recvq`` in arrival order, src/runtime/chan.go), so the pool is a first-come
first-served queue with ``workers`` servers. When every runnable worker can hold a P at once
(``workers <= gomaxprocs``, or no CPU work at all) nothing else delays a request, and the queue
obeys the Kiefer-Wolfowitz recursion: request i starts at max(arrival_i, earliest time a worker is
free) and holds that worker for its service time. A heap of the workers' free times makes that
O(n log c), fast enough for a live widget.

:mod:`labkit.models.pool.engine` produces the same times with its event loop (tests compare the two);
this path exists only to be fast.
"""

from __future__ import annotations

import heapq

import numpy as np

from labkit.models.pool.params import PoolParams
from labkit.models.pool.trace import ServedTrace
from labkit.models.pool.workload import Workload


def sample_times_ms(params: PoolParams) -> np.ndarray:
    """Sample instants 0, sample_ms, 2 sample_ms, ... up to duration_s (inclusive)."""
    end_ms = params.duration_s * 1000.0
    count = int(np.floor(end_ms / params.sample_ms + 1e-9)) + 1
    return np.arange(count) * params.sample_ms


def overlap_ms(begin_ms: np.ndarray, end_ms: np.ndarray, window_ms: float) -> np.ndarray:
    """Length of each interval [begin, end] inside [0, window]."""
    return np.clip(end_ms, 0.0, window_ms) - np.clip(begin_ms, 0.0, window_ms)


def serve_fifo(params: PoolParams, workload: Workload) -> ServedTrace:
    """Serve ``workload`` with ``params.workers`` FIFO servers that never contend for a P.

    Only valid when ``workers <= gomaxprocs`` or the work has no CPU part; the caller
    (:func:`labkit.models.pool.simulate.serve`) checks that.
    """
    arrival_ms = (workload.arrival_s * 1000.0).tolist()
    io_ms = workload.io_ms.tolist()
    cpu_ms = workload.cpu_ms.tolist()
    n = len(arrival_ms)
    free_ms = [0.0] * params.workers  # a heap of the times each worker is next free
    start = [0.0] * n
    done = [0.0] * n
    replace = heapq.heapreplace
    for i in range(n):
        a = arrival_ms[i]
        f = free_ms[0]
        s = a if a > f else f
        d = (s + io_ms[i]) + cpu_ms[i]  # same association as the event loop: io end, then cpu
        start[i] = s
        done[i] = d
        replace(free_ms, d)

    a_ms = np.array(arrival_ms)
    start_ms = np.array(start)
    done_ms = np.array(done)
    wait_ms = start_ms - a_ms  # FIFO with a P always at hand: the only wait is for a worker
    t_ms = sample_times_ms(params)
    # FCFS start times follow arrival order, so start_ms is already sorted.
    arrived = np.searchsorted(a_ms, t_ms, side="right")
    started = np.searchsorted(start_ms, t_ms, side="right")
    finished = np.searchsorted(np.sort(done_ms), t_ms, side="right")
    end_ms = params.duration_s * 1000.0
    cpu_begin = np.array(start_ms) + workload.io_ms
    return ServedTrace(
        start_ms=start_ms,
        done_ms=done_ms,
        wait_ms=wait_ms,
        sample_t_ms=t_ms,
        queue_depth=arrived - started,
        run_queue_depth=np.zeros(t_ms.size, dtype=np.int64),
        workers=np.full(t_ms.size, params.workers, dtype=np.int64),
        busy_workers=started - finished,
        in_system=arrived - finished,
        worker_change_ms=np.array([0.0]),
        worker_count=np.array([params.workers], dtype=np.int64),
        cpu_ms_in_window=float(overlap_ms(cpu_begin, done_ms, end_ms).sum()),
    )
