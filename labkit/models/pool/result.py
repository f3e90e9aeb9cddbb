"""One pool run as the course reads it: per-request arrays, time series and the headline numbers.

The widget draws the arrays directly (``t_s`` against ``workers`` / ``queue_depth``, a histogram
of ``latency_ms``); the notebooks print :meth:`PoolResult.summary`; the tests check the queueing
laws on the same fields.

How requests still in the system at the end are counted
-------------------------------------------------------
Arrivals stop at ``duration_s``; the model then lets the pool drain (same policy, no new
arrivals), so every request has a latency. ``completed`` counts those finished by
``duration_s``; ``in_system_at_end`` those still in the channel, the run queue or service then
(``completed + in_system_at_end == arrivals``). Latency statistics cover *all* requests: leaving
the unfinished ones out would hide exactly the slow tail an overload produces. Time averages
(``mean_workers``, ``utilisation``, ``mean_in_system``) cover the window [0, duration_s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from labkit.models.pool.fifo import overlap_ms
from labkit.models.pool.params import PoolParams
from labkit.models.pool.trace import ServedTrace
from labkit.models.pool.workload import Workload

# runtime/stack.go: stackMin = 2048, the smallest goroutine stack (fixedStack on Linux). Since
# Go 1.19 new goroutines may start larger (adaptivestackstart, the average scanned stack size), so
# this is a lower bound on the stack memory live goroutines hold.
STACK_MIN_BYTES = 2048


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class PoolResult:
    """The outcome of :func:`labkit.models.pool.simulate_pool`. Arrays are read-only numpy arrays.

    Per request, in arrival order: ``arrival_s``, ``service_ms`` (the drawn demand: network wait
    plus CPU), ``latency_ms`` (arrival to done), ``wait_ms`` (time neither on a P nor in a
    network wait: in the channel plus in the run queue), ``done_s``.
    Time series at ``t_s`` (every ``params.sample_ms``): ``workers`` (live worker goroutines; for
    ``per_request`` the live request goroutines), ``queue_depth`` (requests in the channel,
    ``len(taskCh)``; always 0 for ``per_request``, which has no queue), ``run_queue_depth``
    (goroutines runnable but without a P), ``busy_workers``, ``in_system``.
    """

    params: PoolParams
    arrival_s: np.ndarray = field(repr=False)
    service_ms: np.ndarray = field(repr=False)
    latency_ms: np.ndarray = field(repr=False)
    wait_ms: np.ndarray = field(repr=False)
    done_s: np.ndarray = field(repr=False)
    t_s: np.ndarray = field(repr=False)
    workers: np.ndarray = field(repr=False)
    queue_depth: np.ndarray = field(repr=False)
    run_queue_depth: np.ndarray = field(repr=False)
    busy_workers: np.ndarray = field(repr=False)
    in_system: np.ndarray = field(repr=False)
    arrivals: int
    completed: int
    in_system_at_end: int
    mean_wait_ms: float
    mean_latency_ms: float
    p50_ms: float
    p99_ms: float
    max_latency_ms: float
    mean_workers: float
    peak_workers: int
    utilisation: float
    cpu_utilisation: float
    mean_in_system: float
    capacity_per_s: float
    offered_load: float
    peak_load: float

    @property
    def overloaded(self) -> bool:
        """Mean arrival rate at or above what the policy can ever finish: no steady state."""
        return self.offered_load >= 1.0

    @property
    def queue_growth_per_s(self) -> float:
        """How fast the backlog grows in the long run (requests per second); 0 if stable."""
        return max(0.0, self.params.mean_arrival_rate_per_s - self.capacity_per_s)

    @property
    def peak_stack_bytes(self) -> int:
        """Lower bound on stack memory at the worker peak (STACK_MIN_BYTES per goroutine)."""
        return self.peak_workers * STACK_MIN_BYTES

    def overload_note(self) -> str:
        """A sentence on overload, or an empty string when the load is sustainable."""
        if self.overloaded:
            return (
                f"OVERLOADED: offered load {self.offered_load:.2f} >= 1, the queue grows without "
                f"bound (about {self.queue_growth_per_s:.0f} requests/s); latencies keep rising "
                "with the run length"
            )
        if self.peak_load >= 1.0:
            return (
                f"bursts overload it (peak load {self.peak_load:.2f} >= 1): a backlog builds in "
                "each burst and drains after"
            )
        return ""

    def summary(self) -> str:
        """One line: what ran (policy, sizes, load, seed) and what came out."""
        p = self.params
        if p.policy == "static":
            shape = f"static pool of {p.workers}"
        elif p.policy == "adaptive":
            top = "inf" if p.max_workers is None else str(p.max_workers)
            shape = f"adaptive pool {p.min_workers}..{top} (start {p.workers})"
        else:
            shape = "goroutine per request"
        load = (
            f"{p.replayed_arrivals} replayed arrivals"
            if p.replayed_arrivals is not None
            else f"{p.arrival_rate:g}/s"
            + (f" bursting to {p.burst.rate:g}/s" if p.burst is not None else "")
        )
        work = f"{p.service} {p.service_ms:g} ms"
        if p.cpu_bound < 1.0:
            work += f" ({p.cpu_bound:.0%} CPU)"
        if self.arrivals == 0:
            outcome = "no requests arrived"
        else:
            if p.policy == "per_request":  # every live goroutine is busy: cost is their count
                cost = (
                    f"mean goroutines {self.mean_workers:.1f} (peak {self.peak_workers}, "
                    f">= {self.peak_stack_bytes / 1024:.0f} KiB of stacks), utilisation "
                    f"{self.cpu_utilisation:.0%} of Ps"
                )
            else:
                cost = (
                    f"mean workers {self.mean_workers:.1f} (peak {self.peak_workers}), "
                    f"utilisation {self.utilisation:.0%} of workers / "
                    f"{self.cpu_utilisation:.0%} of Ps"
                )
            outcome = (
                f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, {cost}, "
                f"{self.completed}/{self.arrivals} done by {p.duration_s:g} s"
            )
        line = (
            f"{shape}, GOMAXPROCS={p.gomaxprocs}, {load}, {work}, {p.duration_s:g} s, "
            f"seed {p.seed}: {outcome}"
        )
        note = self.overload_note()
        return f"{line}. {note}" if note else line

    def __repr__(self) -> str:
        return f"PoolResult({self.summary()})"


def _time_average(change_ms: np.ndarray, count: np.ndarray, window_ms: float) -> float:
    """Mean over [0, window) of a step function that is count[j] from change_ms[j] on."""
    ends = np.append(change_ms[1:], max(window_ms, float(change_ms[-1])))
    return float((count * overlap_ms(change_ms, ends, window_ms)).sum() / window_ms)


def build_result(params: PoolParams, workload: Workload, trace: ServedTrace) -> PoolResult:
    """Statistics of a served workload (one code path for every policy)."""
    window_ms = params.duration_s * 1000.0
    arrival_ms = workload.arrival_s * 1000.0
    latency_ms = trace.done_ms - arrival_ms
    n = int(latency_ms.size)
    completed = int(np.count_nonzero(trace.done_ms <= window_ms))

    in_window = trace.worker_change_ms <= window_ms
    mean_workers = _time_average(trace.worker_change_ms, trace.worker_count, window_ms)
    peak_workers = int(trace.worker_count[in_window].max())
    busy_ms = float(overlap_ms(trace.start_ms, trace.done_ms, window_ms).sum())
    system_ms = float(overlap_ms(arrival_ms, trace.done_ms, window_ms).sum())
    worker_ms = mean_workers * window_ms
    utilisation = busy_ms / worker_ms if worker_ms > 0 else 0.0

    if n:
        p50_ms, p99_ms = (float(v) for v in np.percentile(latency_ms, [50.0, 99.0]))
        mean_latency_ms = float(latency_ms.mean())
        mean_wait_ms = float(trace.wait_ms.mean())
        max_latency_ms = float(latency_ms.max())
    else:
        p50_ms = p99_ms = mean_latency_ms = mean_wait_ms = max_latency_ms = math.nan

    capacity = params.capacity_per_s()
    return PoolResult(
        params=params,
        arrival_s=workload.arrival_s,
        service_ms=workload.service_ms,
        latency_ms=_readonly(latency_ms),
        wait_ms=_readonly(trace.wait_ms),
        done_s=_readonly(trace.done_ms / 1000.0),
        t_s=_readonly(trace.sample_t_ms / 1000.0),
        workers=_readonly(trace.workers),
        queue_depth=_readonly(trace.queue_depth),
        run_queue_depth=_readonly(trace.run_queue_depth),
        busy_workers=_readonly(trace.busy_workers),
        in_system=_readonly(trace.in_system),
        arrivals=n,
        completed=completed,
        in_system_at_end=int(
            np.count_nonzero((arrival_ms <= window_ms) & (trace.done_ms > window_ms))
        ),
        mean_wait_ms=mean_wait_ms,
        mean_latency_ms=mean_latency_ms,
        p50_ms=p50_ms,
        p99_ms=p99_ms,
        max_latency_ms=max_latency_ms,
        mean_workers=mean_workers,
        peak_workers=peak_workers,
        utilisation=utilisation,
        cpu_utilisation=trace.cpu_ms_in_window / (params.gomaxprocs * window_ms),
        mean_in_system=system_ms / window_ms,
        capacity_per_s=capacity,
        offered_load=params.mean_arrival_rate_per_s / capacity,
        peak_load=params.peak_arrival_rate_per_s / capacity,
    )
