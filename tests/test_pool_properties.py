"""Invariants over random scenarios (hypothesis): every policy, idle to overloaded."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies_pool import replayed_arrivals, scenarios

from labkit.models.pool.result import build_result
from labkit.models.pool.simulate import fifo_is_exact, prepare, serve

SETTINGS = settings(max_examples=60, deadline=None)


def served(kwargs):
    params, workload = prepare(**kwargs)
    trace = serve(params, workload)
    return params, workload, trace, build_result(params, workload, trace)


@SETTINGS
@given(scenarios())
def test_conservation_and_sampled_state_match_per_request_times(kwargs):
    """Requests are neither lost nor invented: done by the end + still in the system = arrivals,
    and at every sample instant the loop's own count of requests in the system equals the count
    rebuilt from the per-request arrival and finish times."""
    params, workload, trace, result = served(kwargs)
    assert result.completed + result.in_system_at_end == result.arrivals == len(workload)
    arrival_ms = workload.arrival_s * 1000.0
    t = trace.sample_t_ms
    rebuilt = np.searchsorted(arrival_ms, t, side="right") - np.searchsorted(
        np.sort(trace.done_ms), t, side="right"
    )
    np.testing.assert_array_equal(trace.in_system, rebuilt)


@SETTINGS
@given(scenarios())
def test_waits_are_never_negative_and_latency_is_wait_plus_work(kwargs):
    """A request is always waiting (channel or run queue), in a network wait, or on a P: so its
    latency is its wait plus its service demand (plus the goroutine's spawn for per_request)."""
    params, workload, trace, result = served(kwargs)
    assert (result.wait_ms >= 0.0).all()
    spawn_ms = params.spawn_us / 1000.0 if params.policy == "per_request" else 0.0
    np.testing.assert_allclose(
        result.latency_ms, result.wait_ms + workload.service_ms + spawn_ms, rtol=0, atol=1e-6
    )
    assert (trace.start_ms >= workload.arrival_s * 1000.0).all()


@SETTINGS
@given(scenarios())
def test_sampled_state_is_consistent(kwargs):
    """Queues are never negative; with a pool every request in the system is either in the
    channel or held by a busy worker, and only busy workers can wait for a P; with a goroutine
    per request there is no channel and every live goroutine holds a request. The Ps are never
    more than fully used."""
    params, workload, trace, result = served(kwargs)
    assert (result.queue_depth >= 0).all() and (result.run_queue_depth >= 0).all()
    assert (result.busy_workers <= result.workers).all()
    if params.policy == "per_request":
        assert not result.queue_depth.any()
        np.testing.assert_array_equal(result.workers, result.in_system)
    else:
        np.testing.assert_array_equal(result.in_system, result.queue_depth + result.busy_workers)
        assert (result.run_queue_depth <= result.busy_workers).all()
    assert 0.0 <= result.cpu_utilisation <= 1.0 + 1e-9
    assert 0.0 <= result.utilisation <= 1.0 + 1e-9


@SETTINGS
@given(scenarios(policies=("adaptive",)))
def test_adaptive_pool_stays_within_its_floor_and_ceiling(kwargs):
    """The watchdog never shrinks below min_workers (baseSize) nor grows past max_workers."""
    params, workload, trace, result = served(kwargs)
    assert (trace.worker_count >= params.min_workers).all()
    if params.max_workers is not None:
        assert (trace.worker_count <= params.max_workers).all()
    assert params.min_workers <= result.mean_workers + 1e-9  # a time average: rounding
    assert result.peak_workers >= result.workers.max()


@SETTINGS
@given(scenarios())
def test_same_seed_same_result_bit_for_bit(kwargs):
    a = served(kwargs)[3]
    b = served(kwargs)[3]
    assert a.latency_ms.tobytes() == b.latency_ms.tobytes()
    assert a.wait_ms.tobytes() == b.wait_ms.tobytes()
    assert a.workers.tobytes() == b.workers.tobytes()
    assert a.summary() == b.summary()


@SETTINGS
@given(scenarios(policies=("static",)))
def test_fifo_recursion_matches_event_loop_whenever_it_is_used(kwargs):
    """The fast path is only an optimisation: wherever it applies, the event loop agrees."""
    params, workload = prepare(**kwargs)
    if not fifo_is_exact(params):
        params, workload = prepare(**{**kwargs, "gomaxprocs": kwargs["workers"]})
    fast, slow = serve(params, workload, "fifo"), serve(params, workload, "events")
    np.testing.assert_allclose(fast.done_ms, slow.done_ms, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast.wait_ms, slow.wait_ms, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(fast.queue_depth, slow.queue_depth)


@SETTINGS
@given(replayed_arrivals(), st.integers(1, 4), st.integers(1, 4))
def test_more_static_workers_never_delay_a_request(arrivals, workers, gomaxprocs):
    """FIFO with the same arrivals and service times: an extra worker (with a P for it) can
    only bring each request's start forward."""
    base = dict(arrivals=arrivals, duration_s=2.0, service="exp", seed=3)
    small = served({**base, "workers": workers, "gomaxprocs": workers + 1})[3]
    large = served({**base, "workers": workers + 1, "gomaxprocs": workers + 1})[3]
    assert (large.latency_ms <= small.latency_ms + 1e-9).all()
