"""Chapter 4's twins: the pipeline (4.1) and the pool (4.4) as Go programs, traced, beside the
models. The recordings pin what real Go did; the models must do the same, and a model without
what the runtime does (Ps that bound the CPU work, sysmon's time slices) must not."""

from __future__ import annotations

import re

import numpy as np
import pytest

from labkit.golab import run_twin, twin_source
from labkit.golab.twin_fidelity import _runnable_mean as runnable_mean
from labkit.golab.twins import pipeline_twin_model, pool_twin_arrivals_s, pool_twin_model


def latencies(run) -> np.ndarray:
    return np.asarray(run.output["latency_ms"], dtype=float)


def test_the_pool_twin_serves_exactly_the_models_requests():
    """The Go program's workload is the model's own draws, to the microsecond."""
    source = twin_source("pool", policy=1)
    arrivals = [int(v) for v in re.search(r"arrivalUs = \[\]int64\{(.*)\}", source)[1].split(",")]
    service = [int(v) for v in re.search(r"serviceUs = \[\]int64\{(.*)\}", source)[1].split(",")]
    model = pool_twin_model("per_request", 2)
    assert len(arrivals) == len(service) == model.arrivals == 592
    assert np.allclose(np.array(arrivals) / 1e6, model.arrival_s, atol=1e-6)
    assert np.allclose(np.array(service) / 1e3, model.service_ms, atol=1e-3)
    assert "var policy = 1" in source


def test_the_recorded_pool_served_every_request():
    for settings in ({"policy": 0, "workers": 2}, {"policy": 0, "workers": 8}, {"policy": 1}):
        run = run_twin("pool", source="recorded", **settings)
        lat = latencies(run)
        assert lat.size == pool_twin_arrivals_s().size and np.all(lat > 0)
        assert run.trace.gomaxprocs == 2


def test_in_real_go_workers_past_gomaxprocs_trade_the_median_for_the_tail():
    """Chapter 4.4's claim, on real Go: 8 workers on 2 Ps lower the median and raise p99 (they
    share the Ps in 10 ms slices); the model says the same of the same requests."""
    two = latencies(run_twin("pool", source="recorded", policy=0, workers=2))
    eight = latencies(run_twin("pool", source="recorded", policy=0, workers=8))
    assert np.median(eight) < np.median(two)
    assert np.percentile(eight, 99) > 1.2 * np.percentile(two, 99)
    m2, m8 = pool_twin_model("static", 2), pool_twin_model("static", 8)
    assert m8.p50_ms < m2.p50_ms and m8.p99_ms > 1.2 * m2.p99_ms


def test_the_trace_shows_the_extra_workers_waiting_runnable():
    """Go's own states: with 2 workers on 2 Ps almost nobody waits for a P; with 8, on average
    two goroutines do (the time average over the 4 s of arrivals)."""
    two = run_twin("pool", source="recorded", policy=0, workers=2)
    eight = run_twin("pool", source="recorded", policy=0, workers=8)
    assert runnable_mean(two) < 0.1
    assert runnable_mean(eight) > 1.5
    assert eight.trace.states["runnable"].max() >= 6


def test_in_real_go_a_big_buffer_only_adds_latency():
    """Chapter 4.1's claim: past the bottleneck a buffer is a waiting room: throughput stays,
    latency grows about as the buffer does (Little's law)."""
    small = run_twin("pipeline", source="recorded", buffer=4, draw=2).output
    big = run_twin("pipeline", source="recorded", buffer=64, draw=2).output
    assert big["throughput_per_s"] < 1.05 * small["throughput_per_s"]
    assert np.mean(big["latency_ms"]) > 5 * np.mean(small["latency_ms"])


def test_the_pipeline_runs_at_the_ps_pace_with_two_drawers_and_draws_pace_with_one():
    """Two drawers: the bound is the 2 Ps (2 / 5.5 ms = 364/s); one drawer: draw's 250/s."""
    two = run_twin("pipeline", source="recorded", buffer=4, draw=2).output["throughput_per_s"]
    one = run_twin("pipeline", source="recorded", buffer=4, draw=1).output["throughput_per_s"]
    assert 0.85 * 364 < two < 364 * 1.02
    assert 0.9 * 250 < one < 250 * 1.02
    assert pipeline_twin_model(4, 2).bottleneck == "Ps"
    assert pipeline_twin_model(4, 1).bottleneck == "draw"


@pytest.mark.parametrize(("name", "settings"), [("pipeline", {"draw": 2}), ("pool", {"policy": 1})])
def test_the_chapter_4_twins_run_live(name, settings):
    from labkit.golab import go_toolchain

    if go_toolchain() is None:
        pytest.skip("no Go toolchain")
    run = run_twin(name, source="live", **settings)
    assert run.source == "live" and run.trace.gomaxprocs == 2
    assert latencies(run).size in (200, 592)
