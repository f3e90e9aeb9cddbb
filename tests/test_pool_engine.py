"""Tiny programs with exact traces: how goroutines of a pool share GOMAXPROCS Ps.

Each test replays a handful of requests with constant service times, so every finish time can be
worked out by hand from the runtime's rules, and compares the whole trace.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit.models.pool import simulate_pool
from labkit.models.pool.simulate import prepare, serve


def done_ms(result) -> list[float]:
    return [round(float(x) * 1000.0, 9) for x in result.done_s]


def run(arrivals, **kwargs):
    kwargs.setdefault("service", "const")
    kwargs.setdefault("spawn_us", 0.0)
    kwargs.setdefault("sample_ms", 10.0)
    return simulate_pool(arrivals=arrivals, **kwargs)


def test_round_robin_in_10ms_slices_when_workers_outnumber_ps():
    """Two workers on one P, two 30 ms CPU requests at t=0.

    sysmon's retake preempts a G after forcePreemptNS = 10 ms (src/runtime/proc.go) and
    gopreempt_m puts it at the tail of the global run queue, so the two alternate in 10 ms slices:
    A 0-10, B 10-20, A 20-30, B 30-40, A 40-50 (done), B 50-60 (done).
    """
    r = run([0.0, 0.0], service_ms=30.0, workers=2, gomaxprocs=1, duration_s=0.1)
    assert done_ms(r) == [50.0, 60.0]
    assert list(r.wait_ms) == [20.0, 30.0]  # time runnable without the P


def test_one_worker_on_one_p_runs_requests_to_completion():
    """One worker on one P takes the requests in channel (FIFO) order and each runs through:
    preemption at 10 ms changes nothing when no other G wants the P."""
    r = run([0.0, 0.0], service_ms=30.0, workers=1, gomaxprocs=1, duration_s=0.1)
    assert done_ms(r) == [30.0, 60.0]
    assert list(r.wait_ms) == [0.0, 30.0]  # the second waited in the channel


def test_forty_goroutines_on_two_ps_finish_in_pairs():
    """40 goroutines x 10 ms CPU on GOMAXPROCS=2 (the course's measured program: 230-256 ms in
    all on real Go). Each G runs its 10 ms in one slice, two at a time: done at 10, 10, 20, 20,
    ..., 200 ms; processor sharing would have finished all 40 together at 200 ms."""
    r = run([0.0] * 40, service_ms=10.0, policy="per_request", gomaxprocs=2, duration_s=0.3)
    assert done_ms(r) == [10.0 * (i // 2 + 1) for i in range(40)]
    assert r.p50_ms == 105.0  # median of 40: between the 20th (100 ms) and 21st (110 ms)
    assert r.max_latency_ms == 200.0


def test_worker_keeps_its_p_and_time_slice_for_the_next_queued_request():
    """GOMAXPROCS=1, two workers, four 4 ms requests at t=0.

    Worker 1 runs r0 (0-4); worker 2 took r1 and waits for the P. At 4 ms worker 1's next
    receive finds r2 already in the channel, so it does not block and keeps running in the same
    time slice (retake: "a sequence of goroutines ... which share a single schedtick time
    slice"): r2 4-8, then r3 from 8 until the slice ends at 10 ms, when it is preempted behind
    worker 2. r1 runs 10-14, r3 finishes 14-16.
    """
    r = run([0.0] * 4, service_ms=4.0, workers=2, gomaxprocs=1, duration_s=0.05)
    assert done_ms(r) == [4.0, 14.0, 8.0, 16.0]


def test_network_wait_needs_no_p_so_extra_workers_help():
    """Four 100 ms requests that are 90 % network wait, GOMAXPROCS=1.

    A goroutine parked in a network wait holds no P (gopark; the netpoller readies it), so four
    workers wait together (0-90 ms) and only the 10 ms of CPU each queue for the P: done at 100,
    110, 120, 130 ms. One worker serves them one after another: 100, 200, 300, 400 ms.
    """
    four = run([0.0] * 4, service_ms=100.0, cpu_bound=0.1, workers=4, gomaxprocs=1, duration_s=0.5)
    one = run([0.0] * 4, service_ms=100.0, cpu_bound=0.1, workers=1, gomaxprocs=1, duration_s=0.5)
    assert done_ms(four) == [100.0, 110.0, 120.0, 130.0]
    assert done_ms(one) == [100.0, 200.0, 300.0, 400.0]


def test_cpu_bound_workers_beyond_gomaxprocs_add_no_throughput():
    """Eight CPU-bound workers on 2 Ps finish 16 x 10 ms of work no sooner than 2 workers: only a
    G holding a P runs, so the last request is done at 80 ms either way."""
    two = run([0.0] * 16, service_ms=10.0, workers=2, gomaxprocs=2, duration_s=0.2)
    eight = run([0.0] * 16, service_ms=10.0, workers=8, gomaxprocs=2, duration_s=0.2)
    assert two.max_latency_ms == eight.max_latency_ms == 80.0
    # the queue moved from the channel into the run queue
    assert two.queue_depth[0] == 14 and two.run_queue_depth[0] == 0
    assert eight.queue_depth[0] == 8 and eight.run_queue_depth[0] == 6


def test_per_request_has_no_queue_only_a_run_queue():
    """A goroutine per request (runtime.newproc) never waits in a channel: len(taskCh) is 0 for
    the whole run, while runnable goroutines pile up waiting for the Ps."""
    r = run([0.0] * 10, service_ms=10.0, policy="per_request", gomaxprocs=2, duration_s=0.1)
    assert not r.queue_depth.any()
    assert list(r.run_queue_depth[:6]) == [8, 6, 4, 2, 0, 0]
    assert list(r.workers[:6]) == [10, 8, 6, 4, 2, 0]  # live goroutines


def test_spawn_cost_is_cpu_work_on_a_p():
    """runtime.newproc runs on a P: with spawn_us=1000 (1 ms, exaggerated) each goroutine's
    CPU demand grows by 1 ms, so on one P five 4 ms requests finish at 5, 10, ..., 25 ms."""
    r = run([0.0] * 5, service_ms=4.0, policy="per_request", gomaxprocs=1, spawn_us=1000.0,
            duration_s=0.05)  # fmt: skip
    assert done_ms(r) == [5.0, 10.0, 15.0, 20.0, 25.0]


def test_time_series_sample_the_state_after_events_at_that_instant():
    """At t = 0 the four requests that arrived at 0 are already taken by the two workers or
    queued; at 10 ms the first two are done and the other two running."""
    r = run([0.0] * 4, service_ms=10.0, workers=2, gomaxprocs=2, duration_s=0.03)
    assert list(r.t_s) == [0.0, 0.01, 0.02, 0.03]
    assert list(r.queue_depth) == [2, 0, 0, 0]
    assert list(r.busy_workers) == [2, 2, 0, 0]
    assert list(r.in_system) == [4, 2, 0, 0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"cpu_bound": 0.3, "workers": 3},
        {"service": "lognormal", "workers": 2, "arrival_rate": 150.0},
        {"workers": 6, "gomaxprocs": 2, "cpu_bound": 0.0},
        {"burst": (900.0, 1.0, 2.0), "workers": 4},
    ],
)
def test_fifo_recursion_and_event_loop_agree(kwargs):
    """When no worker ever waits for a P, the static pool is a FIFO c-server queue and the
    Kiefer-Wolfowitz recursion (labkit.models.pool.fifo) must give the event loop's trace."""
    params, workload = prepare(duration_s=20.0, **kwargs)
    fast, slow = serve(params, workload, "fifo"), serve(params, workload, "events")
    for name in ("start_ms", "done_ms", "wait_ms"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=0, atol=1e-9)
    for name in ("queue_depth", "run_queue_depth", "workers", "busy_workers", "in_system"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    assert fast.cpu_ms_in_window == pytest.approx(slow.cpu_ms_in_window, rel=1e-12)


def test_fifo_path_refuses_when_workers_wait_for_ps():
    """With more CPU-bound workers than Ps the recursion would ignore the run queue."""
    params, workload = prepare(workers=8, gomaxprocs=4, duration_s=1.0)
    with pytest.raises(ValueError, match="only exact"):
        serve(params, workload, "fifo")
