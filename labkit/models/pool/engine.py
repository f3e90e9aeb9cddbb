"""The event loop: request goroutines competing for GOMAXPROCS Ps in 10 ms time slices.

Why round robin with the scheduler's time slice, not processor sharing
-------------------------------------------------------------------
Go does not share a CPU finely among runnable goroutines. A G holding a P runs until it blocks,
exits, or has run ``forcePreemptNS`` (10 ms) on the same schedtick, when sysmon's retake calls
preemptone; the preempted G goes through gopreempt_m -> goschedImpl to the tail of the *global*
run queue (globrunqput), and the P picks the next runnable G (all in src/runtime/proc.go).
Processor sharing would let forty 10 ms goroutines on 2 Ps all finish together at 200 ms; Go
finishes them two at a time, 10 ms apart, each running its 10 ms as one slice. Round robin with a 10 ms slice gives that spread, so percentiles
(p50, p99) come out the way a real server shows them.

What the loop models
--------------------
* Ps: ``gomaxprocs`` of them. A G needs one to run its CPU phase; when none is idle it waits in
  one FIFO run queue. Work stealing (runtime.findRunnable: local queue, global queue, then
  stealing from other Ps) keeps every P busy while any G is runnable, which one shared queue
  expresses; runnext's one-slot shortcut and the 1-in-61 global-queue check are left out, as they
  reorder who goes first among equals but not how much work gets done.
* A worker that finishes a request and finds the next one already in the channel keeps its P and
  carries on within its current slice (chanrecv on a non-empty buffer does not block), exactly
  the "sequence of goroutines sharing a single schedtick" that retake preempts after 10 ms.
* The network-wait phase parks the G (gopark; the netpoller readies it later): it holds no P.
* ``per_request``: ``go handle(req)`` per arrival (runtime.newproc): no channel, no queue of
  requests, every live goroutine is a candidate for a P. The spawn cost (``spawn_us``) is CPU
  work added to the request's CPU phase.
* ``adaptive``: the article's watchdog (seed section 4.4, its code is ``(*Pool).watchdog``):
  every ``interval_ms`` it reads ``len(taskCh)``; ``high_samples`` consecutive samples above
  ``high_factor * workers`` grow the pool by ``grow_step`` (up to ``max_workers``) and reset the
  count; otherwise the count resets and, if the channel is empty and ``workers > min_workers``, the
  pool shrinks by ``shrink_step``. A worker told to stop exits when idle, or after its current
  request.

Ties at one instant are processed in a fixed order (finished slices, then network wakeups, then
arrivals, then watchdog, then sampling), and within a heap by request index (a request has at most
one entry in each heap, so the order is total), so a run is deterministic.
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from labkit.models.pool.fifo import sample_times_ms
from labkit.models.pool.params import PoolParams
from labkit.models.pool.trace import ServedTrace
from labkit.models.pool.watchdog import Watchdog
from labkit.models.pool.workload import Workload

_INF = float("inf")


def _watchdog(params: PoolParams) -> Watchdog | None:
    """The article's watchdog for an adaptive pool; None for the other policies."""
    if params.policy != "adaptive":
        return None
    return Watchdog(
        workers=params.workers,
        min_workers=params.min_workers,
        max_workers=params.max_workers,
        high_factor=params.high_factor,
        high_samples=params.high_samples,
        grow_step=params.grow_step,
        shrink_step=params.shrink_step,
    )


def serve_events(params: PoolParams, workload: Workload) -> ServedTrace:
    """Serve ``workload`` under ``params.policy`` with Ps, time slices and (maybe) the watchdog.

    Why one long function: its state (run queue, idle Ps and workers, the heaps, per-request
    lists) lives in local variables that every event reads and writes. Split into methods over a
    state object, each of those becomes an attribute lookup, on the path that runs a few times
    per request and that the pool tuner re-runs on every slider move (bench_pool.py: 35 ms for
    the per-request policy, 49 ms adaptive, 60 s at 300/s). The events are marked by comments:
    tick (watchdog or sample), slice end, network wake-up, arrival.
    """
    arrival = (workload.arrival_s * 1000.0).tolist()
    io = workload.io_ms.tolist()
    n = len(arrival)
    per_request = params.policy == "per_request"
    spawn_ms = params.spawn_us / 1000.0 if per_request else 0.0
    remaining = (workload.cpu_ms + spawn_ms).tolist()  # CPU still to run, per request
    quantum = params.time_slice_ms
    gomaxprocs = params.gomaxprocs
    end_ms = params.duration_s * 1000.0

    start = [0.0] * n
    done = [0.0] * n
    wait = [0.0] * n  # time in the run queue, summed over the request's turns there
    ready_at = [0.0] * n  # when the request's G last entered the run queue
    deadline = [0.0] * n  # end of the time slice the request's G is running in

    chan: deque[int] = deque()  # requests waiting for a worker: the task channel
    runq: deque[int] = deque()  # Gs waiting for a P
    io_heap: list[tuple[float, int]] = []  # (wake time, request)
    run_heap: list[tuple[float, int, bool]] = []  # (slice end, request, finishes)
    push = heapq.heappush
    pop = heapq.heappop

    def run_on_p(i: int, t: float, slice_end: float) -> None:
        """Request i's G runs on a P from t until it finishes or its slice ends (preemption)."""
        r = remaining[i]
        deadline[i] = slice_end
        if r <= slice_end - t:
            push(run_heap, (t + r, i, True))
        else:
            remaining[i] = r - (slice_end - t)
            push(run_heap, (slice_end, i, False))

    idle_ps = gomaxprocs
    busy_p_ms = 0.0  # integral of busy Ps over [0, end_ms): the CPU the requests used
    t_prev = 0.0

    watchdog = _watchdog(params)
    live = 0 if per_request else params.workers  # live worker goroutines
    idle_workers = live
    retiring = 0  # workers told to stop while busy: they exit after their current request
    in_system = 0
    change_t = [0.0]
    change_n = [live]

    sample_t = sample_times_ms(params).tolist()
    n_samples = len(sample_t)
    s_queue = [0] * n_samples
    s_runq = [0] * n_samples
    s_workers = [0] * n_samples
    s_busy = [0] * n_samples
    s_in_system = [0] * n_samples
    sample_i = 0
    next_sample = sample_t[0]
    next_watch = params.interval_ms if watchdog is not None else _INF
    next_tick = min(next_sample, next_watch)

    k = 0
    while True:
        # The next event; on a tie slice ends go first, then network wakeups, then arrivals.
        t = _INF
        kind = 0
        if run_heap:
            t = run_heap[0][0]
            kind = 1
        if io_heap and io_heap[0][0] < t:
            t = io_heap[0][0]
            kind = 2
        if k < n and arrival[k] < t:
            t = arrival[k]
            kind = 3

        if next_tick < t:
            # Ticks come after every event at their instant; the watchdog acts before a sample
            # due at the same time, so the sample shows its decision.
            if t == _INF and next_sample == _INF:
                break  # drained and past the last sample: only idle watchdog ticks remain
            t = next_tick
            if t_prev < end_ms:
                busy_p_ms += (gomaxprocs - idle_ps) * ((t if t < end_ms else end_ms) - t_prev)
            t_prev = t
            if next_watch <= next_sample:
                change = watchdog.tick(len(chan))
                if change > 0 and retiring:
                    # scaleUp first takes back stops no busy worker has acted on yet (quit
                    # signals still pending), so live workers never exceed max_workers
                    taken_back = min(change, retiring)
                    retiring -= taken_back
                    change -= taken_back
                for _ in range(change):  # scaleUp: new workers start on the backlog at once
                    live += 1
                    if chan:
                        j = chan.popleft()
                        start[j] = t
                        if io[j] > 0.0:
                            push(io_heap, (t + io[j], j))
                        elif idle_ps:
                            idle_ps -= 1
                            run_on_p(j, t, t + quantum)
                        else:
                            ready_at[j] = t
                            runq.append(j)
                    else:
                        idle_workers += 1
                for _ in range(-change):  # scaleDown: an idle worker exits, a busy one later
                    if idle_workers:
                        idle_workers -= 1
                        live -= 1
                    else:
                        retiring += 1
                if change:  # (a pure take-back changes no live count)
                    change_t.append(t)
                    change_n.append(live)
                next_watch = t + params.interval_ms
            else:
                s_queue[sample_i] = len(chan)
                s_runq[sample_i] = len(runq)
                s_workers[sample_i] = in_system if per_request else live
                s_busy[sample_i] = in_system if per_request else live - idle_workers
                s_in_system[sample_i] = in_system
                sample_i += 1
                next_sample = sample_t[sample_i] if sample_i < n_samples else _INF
            next_tick = next_watch if next_watch < next_sample else next_sample
            continue
        if kind == 0:
            break  # no events, no samples left

        if t_prev < end_ms:
            busy_p_ms += (gomaxprocs - idle_ps) * ((t if t < end_ms else end_ms) - t_prev)
        t_prev = t

        if kind == 1:
            _, i, finishes = pop(run_heap)
            if finishes:
                done[i] = t
                in_system -= 1
                keep_p = False
                if per_request:
                    pass  # goexit: the goroutine and its stack are freed
                elif retiring:
                    retiring -= 1
                    live -= 1
                    change_t.append(t)
                    change_n.append(live)
                elif chan:
                    # the worker's next receive finds a request: no block, no reschedule
                    j = chan.popleft()
                    start[j] = t
                    if io[j] > 0.0:
                        push(io_heap, (t + io[j], j))
                    else:
                        run_on_p(j, t, deadline[i])  # same G, same P, same time slice
                        keep_p = True
                else:
                    idle_workers += 1  # blocks in chanrecv, parks
                if keep_p:
                    continue
            else:
                # sysmon retake -> preemptone -> gopreempt_m: tail of the global run queue
                ready_at[i] = t
                runq.append(i)
            # schedule(): the P takes the next runnable G, or goes idle
            if runq:
                j = runq.popleft()
                wait[j] += t - ready_at[j]
                run_on_p(j, t, t + quantum)
            else:
                idle_ps += 1
            continue

        if kind == 2:
            _, i = pop(io_heap)  # netpoll readied the G
        else:
            i = k
            k += 1
            in_system += 1
            if not per_request:
                if not idle_workers:
                    chan.append(i)  # taskCh <- req: buffered, waits for a worker
                    continue
                idle_workers -= 1
            start[i] = t
            if io[i] > 0.0:
                push(io_heap, (t + io[i], i))  # the network wait needs no P
                continue
        # ready(): the G wants a P; an idle one takes it (wakep), else it queues
        if idle_ps:
            idle_ps -= 1
            run_on_p(i, t, t + quantum)
        else:
            ready_at[i] = t
            runq.append(i)

    return _served_trace(
        per_request, arrival, start, done, wait, (sample_t, s_queue, s_runq, s_workers, s_busy),
        s_in_system, (change_t, change_n), busy_p_ms,
    )  # fmt: skip


def _served_trace(
    per_request: bool,
    arrival: list[float],
    start: list[float],
    done: list[float],
    wait: list[float],
    samples: tuple[list, ...],
    in_system: list[int],
    changes: tuple[list[float], list[int]],
    busy_p_ms: float,
) -> ServedTrace:
    """The loop's lists as the arrays of a :class:`ServedTrace`."""
    n = len(arrival)
    a_ms = np.array(arrival)
    start_ms = np.array(start)
    done_ms = np.array(done)
    if per_request:
        # live goroutines = requests in the system: +1 at each arrival, -1 at each exit
        times = np.concatenate([a_ms, done_ms])
        steps = np.concatenate([np.ones(n, np.int64), -np.ones(n, np.int64)])
        order = np.lexsort((steps, times))  # at one instant exits first, as in the loop
        change_ms = np.concatenate([[0.0], times[order]])
        change_count = np.concatenate([[0], np.cumsum(steps[order])])
    else:
        change_ms = np.array(changes[0])
        change_count = np.array(changes[1], dtype=np.int64)
    sample_t, s_queue, s_runq, s_workers, s_busy = samples
    return ServedTrace(
        start_ms=start_ms,
        done_ms=done_ms,
        wait_ms=(start_ms - a_ms) + np.array(wait),
        sample_t_ms=np.array(sample_t),
        queue_depth=np.array(s_queue, dtype=np.int64),
        run_queue_depth=np.array(s_runq, dtype=np.int64),
        workers=np.array(s_workers, dtype=np.int64),
        busy_workers=np.array(s_busy, dtype=np.int64),
        in_system=np.array(in_system, dtype=np.int64),
        worker_change_ms=change_ms,
        worker_count=change_count,
        cpu_ms_in_window=float(busy_p_ms),
    )
