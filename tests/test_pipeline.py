"""The channel pipeline of chapter 4.1 (labkit.models.pipeline): back-pressure, bottlenecks, Little's law.

The pipeline is a labkit.models.scheduler program, so what these tests pin down is Go's channel code
(runtime.chansend / chanrecv in src/runtime/chan.go) and the Ps the work competes for, seen from
the items' side.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from labkit.models.pipeline import (
    DEFAULT_STAGES,
    PipelineParameterError,
    Stage,
    simulate_pipeline,
    sweep_buffers,
    sweep_workers,
)

# Scheduler costs in the model (a schedule() pass, waking a thread for an idle P) shift times by
# tens of microseconds; traces are compared to this tolerance.
SLACK_MS = 0.1

ONE_WORKER = (Stage("work", workers=1, cpu_ms=2.0),)


@pytest.mark.parametrize("buffer", [0, 1, 2])
def test_a_full_buffer_blocks_the_producer(buffer):
    """chansend with no waiting receiver and a full buffer parks the sender (chan.go). One worker
    taking 2 ms per item: the first ``buffer + 1`` items go in at once (one to the worker, the rest
    into the buffer); every later send waits for the worker to take one: 2 ms each."""
    r = simulate_pipeline(stages=ONE_WORKER, buffer=buffer, items=4, service="const", gomaxprocs=2)
    blocked = r.producer_blocked_ms
    assert np.all(blocked[: buffer + 1] < SLACK_MS), blocked
    assert blocked[buffer + 1 :] == pytest.approx([2.0] * (3 - buffer), abs=SLACK_MS)
    assert r.done_ms == pytest.approx([2.0, 4.0, 6.0, 8.0], abs=SLACK_MS)


def test_unbuffered_channel_is_a_handoff():
    """An unbuffered channel never holds an item: the producer's send completes only when the
    worker receives (send to a waiting receiver, or a receiver taking from a parked sender), so
    at most the one item held by the parked producer sits between them."""
    r = simulate_pipeline(stages=ONE_WORKER, buffer=0, items=6, service="const", gomaxprocs=2)
    assert r.queued[0].max() == 1
    assert r.producer_blocked_share > 0.6


def test_throughput_is_set_by_the_slowest_stage():
    """Stage capacities 1000/s, 500/s (2 workers x 4 ms) and 667/s: the pipeline delivers the
    slowest one's 500/s. A third draw worker moves the bottleneck to upload (667/s)."""
    stages = (
        Stage("decode", 1, cpu_ms=1.0),
        Stage("draw", 2, cpu_ms=4.0),
        Stage("upload", 1, cpu_ms=1.5),
    )
    r = simulate_pipeline(stages=stages, buffer=4, service="const", gomaxprocs=8)
    assert r.bottleneck == "draw"
    assert r.throughput_per_s == pytest.approx(500.0, rel=0.01)
    assert max(r.stage_busy) == r.stage_busy[1] > 0.95
    more = (stages[0], Stage("draw", 3, cpu_ms=4.0), stages[2])
    r3 = simulate_pipeline(stages=more, buffer=4, service="const", gomaxprocs=8)
    assert r3.bottleneck == "upload"
    assert r3.throughput_per_s == pytest.approx(1000.0 / 1.5, rel=0.02)


def test_workers_beyond_gomaxprocs_add_no_throughput():
    """Only a G holding a P runs Go code (runtime.execute): 8 CPU-bound workers on 2 Ps finish
    2 / 4 ms = 500 items/s, the same as 2 workers."""
    two = simulate_pipeline(stages=(Stage("draw", 2, cpu_ms=4.0),), service="const", gomaxprocs=2)
    eight = simulate_pipeline(stages=(Stage("draw", 8, cpu_ms=4.0),), service="const", gomaxprocs=2)
    assert eight.bottleneck == "Ps"
    assert two.throughput_per_s == pytest.approx(500.0, rel=0.02)
    assert eight.throughput_per_s == pytest.approx(500.0, rel=0.02)
    assert eight.mean_latency_ms > two.mean_latency_ms  # more workers, more items waiting


def test_a_network_stage_needs_no_p():
    """A G parked on the network holds no P (gopark in netpollblock): 8 workers each waiting
    4 ms deliver 2000 items/s even with GOMAXPROCS=1."""
    r = simulate_pipeline(
        stages=(Stage("fetch", 8, cpu_ms=0.0, io_ms=4.0),), service="const", gomaxprocs=1
    )
    assert r.bottleneck == "fetch"
    assert r.throughput_per_s == pytest.approx(2000.0, rel=0.03)


def test_bigger_buffers_add_latency_not_throughput_when_saturated():
    """A producer that never waits fills every buffer to the brim: with constant work a buffer
    changes nothing about the rate (the bottleneck does), but every buffered item is one more
    item ahead of a new one: latency grows with the buffers (Little's law)."""
    small = simulate_pipeline(buffer=0, service="const")
    big = simulate_pipeline(buffer=16, service="const")
    assert big.throughput_per_s == pytest.approx(small.throughput_per_s, rel=0.01)
    assert big.mean_latency_ms > small.mean_latency_ms + 50.0
    assert big.queued.max() > 16


def test_a_small_buffer_absorbs_jitter():
    """With variable work an unbuffered hand-off makes each stage wait for its neighbour's slow
    items; a few slots let stages run ahead: more throughput, less producer blocking."""
    none = simulate_pipeline(buffer=0, service="exp", seed=3)
    four = simulate_pipeline(buffer=4, service="exp", seed=3)
    assert four.throughput_per_s > 1.1 * none.throughput_per_s
    assert sum(four.stage_blocked) < sum(none.stage_blocked)


def test_a_paced_producer_is_not_held_back_by_a_pipeline_that_keeps_up():
    """Offering below capacity, the producer barely blocks once there is a little buffer, and
    the throughput is the producer's own rate."""
    r = simulate_pipeline(buffer=4, interval_ms=3.0, service="const")
    assert r.bottleneck == "producer"
    assert r.producer_blocked_share < 0.01
    assert r.throughput_per_s == pytest.approx(r.offered_per_s, rel=0.02)
    # time.Sleep(3 ms) sleeps at least 3 ms, then the wake-up: fewer than 333 offers per second
    assert r.offered_per_s <= 1000.0 / 3.0


def test_same_seed_same_result_bit_for_bit():
    """One numpy Generator per run, seeded: identical inputs give identical outputs."""
    a = simulate_pipeline(seed=7, items=120)
    b = simulate_pipeline(seed=7, items=120)
    for name in ("offer_ms", "done_ms", "latency_ms", "queued", "in_system", "t_ms"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.summary() == b.summary()
    c = simulate_pipeline(seed=8, items=120)
    assert not np.array_equal(a.done_ms, c.done_ms)


def test_summary_names_inputs_and_outcome():
    r = simulate_pipeline(items=100, seed=2)
    text = r.summary()
    for part in ("decode x1", "draw x2", "buffer 4", "100 items", "seed 2", "GOMAXPROCS=4"):
        assert part in text
    assert f"{r.throughput_per_s:.0f}/s" in text
    assert [row["stage"] for row in r.stage_table()] == ["decode", "draw", "upload"]


def test_sweeps_reuse_the_draws_and_list_each_value():
    rows = sweep_buffers([0, 2, 8], items=100)
    assert [row["buffer"] for row in rows] == [0, 2, 8]
    assert rows[0]["throughput_per_s"] == simulate_pipeline(buffer=0, items=100).throughput_per_s
    rows = sweep_workers("draw", [1, 3], items=100, service="const")
    assert [row["workers"] for row in rows] == [1, 3]
    assert rows[0]["bottleneck"] == "draw"
    assert rows[0]["throughput_per_s"] < rows[1]["throughput_per_s"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"stages": []}, "non-empty list"),
        ({"stages": [("draw", 2, 4.0)]}, "Stage(name"),
        ({"buffer": -1}, "buffer must be between 0 and 100000"),
        ({"buffer": [1, -1, 1, 1]}, "buffer[1] must be between 0"),
        ({"buffer": [1, 2]}, "one capacity per channel"),
        ({"buffer": 2.5}, "channel capacity"),
        ({"items": 0}, "items"),
        ({"items": 100_000}, "worker iterations"),
        ({"interval_ms": -1.0}, "interval_ms"),
        ({"service": "lognormal"}, "service must be one of"),
        ({"gomaxprocs": 0}, "gomaxprocs"),
        ({"seed": -1}, "seed"),
        ({"sample_ms": 0.0}, "sample_ms"),
        ({"stages": [Stage("a"), Stage("a")]}, "unique"),
    ],
)
def test_bad_arguments_are_named(kwargs, needle):
    """Bad input fails at once with a message naming the argument."""
    stages = kwargs.pop("stages", DEFAULT_STAGES)
    with pytest.raises(PipelineParameterError) as info:
        simulate_pipeline(stages=stages, **kwargs)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("", 1, 1.0), "identifier"),
        (("x", 0, 1.0), "workers"),
        (("x", 1, -1.0), "cpu_ms"),
        (("x", 1, 0.0, 0.0), "does no work"),
        (("x", 1, float("nan")), "finite"),
    ],
)
def test_bad_stages_are_named(args, needle):
    with pytest.raises(PipelineParameterError, match=needle):
        Stage(*args)


def test_sweep_rejects_unknown_stage():
    with pytest.raises(PipelineParameterError, match="no stage named 'paint'"):
        sweep_workers("paint", [1, 2])


# ---- properties over random pipelines ---------------------------------------------------------


@st.composite
def pipelines(draw) -> dict:
    """Small random pipelines: 1-3 stages, CPU and network work, any buffers, either service."""
    n = draw(st.integers(1, 3))
    stages = []
    for i in range(n):
        cpu_ms = draw(st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0]))
        io_ms = draw(st.sampled_from([0.0, 0.0, 1.0, 3.0]))
        if cpu_ms + io_ms == 0:
            cpu_ms = 1.0
        stages.append(Stage(f"s{i}", draw(st.integers(1, 4)), cpu_ms, io_ms))
    return {
        "stages": tuple(stages),
        "buffer": draw(st.lists(st.integers(0, 6), min_size=n + 1, max_size=n + 1)),
        "items": draw(st.integers(2, 60)),
        "interval_ms": draw(st.sampled_from([0.0, 0.0, 0.5, 2.0])),
        "service": draw(st.sampled_from(["const", "exp"])),
        "gomaxprocs": draw(st.integers(1, 4)),
        "seed": draw(st.integers(0, 2**16)),
    }


PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(pipelines())
def test_every_item_passes_every_stage_once(kw):
    """Nothing is lost or duplicated: each stage handles every item, the sink gets all of them
    in time order, each after it was offered."""
    r = simulate_pipeline(**kw)
    assert r.stage_items == (kw["items"],) * len(kw["stages"])
    assert r.done_ms.size == kw["items"]
    assert np.all(np.diff(r.done_ms) >= 0)
    assert np.all(r.latency_ms > 0)
    assert np.all(r.producer_blocked_ms >= 0)


@PROPERTY_SETTINGS
@given(pipelines())
def test_channels_hold_at_most_their_buffer_plus_the_goroutines_at_their_ends(kw):
    """Between two stages there can only be the channel's buffered items, items held by senders
    parked on it (sendq) and items just handed to receivers that have not run yet."""
    r = simulate_pipeline(**kw)
    p = r.params
    senders = [1, *(s.workers for s in p.stages)]
    receivers = [*(s.workers for s in p.stages), 1]
    assert r.queued.min() >= 0
    for i, cap in enumerate(p.buffers):
        assert r.queued[i].max() <= cap + senders[i] + receivers[i]
    assert np.all(r.in_system >= 0) and r.in_system.max() <= kw["items"]


@PROPERTY_SETTINGS
@given(pipelines())
@example(  # found by `course.py explore` (seed 1079174493): a send's wait counted past the run
    {
        "stages": (Stage("s0", workers=1, cpu_ms=1.0), Stage("s1", workers=1, cpu_ms=1.0)),
        "buffer": [1, 1, 0],
        "items": 2,
        "interval_ms": 0.0,
        "service": "const",
        "gomaxprocs": 1,
        "seed": 0,
    }
)
def test_no_stage_works_faster_than_its_workers_or_the_ps_allow(kw):
    """Busy + blocked shares fit in the workers' time; with constant work each worker serves its
    items one after another, and all CPU work shares GOMAXPROCS Ps: lower bounds on the run."""
    r = simulate_pipeline(**kw)
    for busy, blocked in zip(r.stage_busy, r.stage_blocked, strict=True):
        assert 0 <= busy <= 1 + 1e-9
        assert busy + blocked <= 1 + 1e-6
    if kw["service"] == "const":
        span = float(r.done_ms[-1] - r.offer_ms[0])
        n = kw["items"]
        for s in r.params.stages:
            assert span >= math.ceil(n / s.workers) * s.service_ms - 1e-6
        cpu = sum(s.cpu_ms for s in r.params.stages)
        assert span >= n * cpu / r.params.gomaxprocs - 1e-6


@PROPERTY_SETTINGS
@given(pipelines())
def test_littles_law(kw):
    """L = lambda W: the time-averaged number of items in the pipeline (from the sampled series)
    equals the arrival rate (items over the run) times the mean in-order latency."""
    span_guess = simulate_pipeline(**kw)
    span = span_guess.makespan_ms
    r = simulate_pipeline(**kw, sample_ms=span / 4000.0)
    t, n = r.t_ms, r.in_system
    inside = (t >= r.offer_ms[0]) & (t < r.done_ms[-1])
    mean_l = float(n[inside].mean())
    lam_w = kw["items"] / r.makespan_ms * r.mean_latency_ms
    assert mean_l == pytest.approx(lam_w, rel=0.05, abs=0.05)
    assert r.mean_in_system == pytest.approx(lam_w, rel=1e-9)
