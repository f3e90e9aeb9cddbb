"""How long labkit.models.pool takes: the pool-tuner widget re-runs a simulation on every slider move, so
the default scenario (300/s for 60 s, about 18,000 requests) must simulate well within 100 ms.

    .venv/bin/python -m pytest benchmarks/bench_pool.py --benchmark-enable -p no:nbval
"""

from __future__ import annotations

import pytest

from labkit.models.pool import compare_policies, min_workers_for_p99, simulate_pool


@pytest.mark.parametrize("policy", ["static", "per_request", "adaptive"])
def test_default_scenario(benchmark, policy):
    """The widget's default: 300/s, exp 10 ms, 4 workers, GOMAXPROCS=4, 60 s (the static pool
    takes the FIFO recursion, the other two the event loop)."""
    result = benchmark(simulate_pool, policy=policy)
    assert result.arrivals > 17_000


def test_static_pool_beyond_gomaxprocs(benchmark):
    """8 CPU-bound workers on 4 Ps: the event loop with a run queue and 10 ms slices."""
    result = benchmark(simulate_pool, workers=8)
    assert result.run_queue_depth.any()


def test_bursty_adaptive(benchmark):
    """The lab's bursty scenario: bursts of 600/s for 2 s every 10 s."""
    result = benchmark(simulate_pool, policy="adaptive", burst=(600.0, 2.0, 8.0))
    assert result.peak_workers > 4


def test_per_request_overload(benchmark):
    """The worst case a slider can reach: 125 % load, thousands of live goroutines."""
    result = benchmark(simulate_pool, policy="per_request", arrival_rate=500.0)
    assert result.overloaded


def test_compare_three_policies(benchmark):
    rows = benchmark(compare_policies, burst=(600.0, 2.0, 8.0))
    assert len(rows) == 3


def test_min_workers_for_p99(benchmark):
    """The tuner button: network-heavy requests, so the scan runs past GOMAXPROCS."""
    workers = benchmark.pedantic(
        min_workers_for_p99,
        args=(250.0,),
        kwargs={"service_ms": 40.0, "cpu_bound": 0.25},
        rounds=3,
    )
    assert workers > 12
