"""Comparing policies on common random numbers, and sizing a static pool for a p99 target."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.models.pool import (
    PoolParameterError,
    TargetUnreachableError,
    compare_policies,
    min_workers_for_p99,
    run_policies,
    simulate_pool,
    sweep_workers,
)


def test_every_policy_serves_the_same_requests():
    """Common random numbers: each variant gets identical arrival times and service demands,
    and each row matches a standalone simulate_pool run with the same seed."""
    results = run_policies(["static", "per_request", "adaptive"], duration_s=10.0, seed=11)
    for r in results[1:]:
        np.testing.assert_array_equal(r.arrival_s, results[0].arrival_s)
        np.testing.assert_array_equal(r.service_ms, results[0].service_ms)
    alone = simulate_pool(policy="adaptive", duration_s=10.0, seed=11)
    assert alone.latency_ms.tobytes() == results[2].latency_ms.tobytes()


def test_compare_policies_table():
    rows = compare_policies(
        ["static", {"policy": "static", "workers": 8, "label": "static x8"}, "per_request"],
        duration_s=5.0,
    )
    assert [row["label"] for row in rows] == ["static", "static x8", "per_request"]
    assert rows[1]["workers"] == 8 and rows[1]["mean_workers"] == 8.0
    assert {"p50_ms", "p99_ms", "mean_workers", "utilisation", "overloaded"} <= set(rows[0])
    assert len({row["arrivals"] for row in rows}) == 1


def test_variant_may_not_change_the_requests():
    with pytest.raises(PoolParameterError, match="arrival_rate"):
        compare_policies([{"policy": "static", "arrival_rate": 10.0}], duration_s=1.0)
    with pytest.raises(PoolParameterError, match="policies="):
        compare_policies(policy="static")


def test_min_workers_for_p99_is_the_smallest_size_that_meets_the_target():
    """Requests that are 75 % network wait (so workers beyond GOMAXPROCS help): the answer meets
    the target and one worker fewer does not, on the same requests."""
    kwargs = dict(arrival_rate=300.0, service_ms=40.0, cpu_bound=0.25, duration_s=20.0, seed=5)
    workers = min_workers_for_p99(250.0, **kwargs)
    rows = sweep_workers([workers - 1, workers], **kwargs)
    assert rows[0]["p99_ms"] > 250.0 >= rows[1]["p99_ms"]
    assert workers > 12  # more than the offered load of 12 busy workers on average


def test_target_below_the_work_itself_is_unreachable():
    """No pool makes a request faster than its own service time."""
    with pytest.raises(TargetUnreachableError, match="service times themselves"):
        min_workers_for_p99(5.0, duration_s=5.0)


def test_cpu_load_beyond_gomaxprocs_is_unreachable():
    """500/s x 10 ms of CPU needs 5 Ps; with GOMAXPROCS=4 no pool size helps."""
    with pytest.raises(TargetUnreachableError, match="GOMAXPROCS=4"):
        min_workers_for_p99(100.0, arrival_rate=500.0, duration_s=5.0)


def test_cpu_bound_pool_stops_improving_past_gomaxprocs():
    """CPU-bound at 75 % of 4 Ps: the p99 of 4 workers is the best there is; extra workers only
    wait for the same Ps, so a tighter target is reported unreachable, naming the best size."""
    best = simulate_pool(workers=4, duration_s=10.0).p99_ms
    with pytest.raises(TargetUnreachableError, match="stopped improving"):
        min_workers_for_p99(0.9 * best, duration_s=10.0)
    assert min_workers_for_p99(best, duration_s=10.0) == 4


def test_tuner_arguments_are_checked():
    with pytest.raises(PoolParameterError, match="target_p99_ms"):
        min_workers_for_p99(0.0)
    with pytest.raises(PoolParameterError, match="workers"):
        min_workers_for_p99(100.0, workers=3)
    with pytest.raises(PoolParameterError, match="worker_counts"):
        sweep_workers([0])
