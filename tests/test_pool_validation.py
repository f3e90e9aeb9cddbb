"""Bad arguments give a ValueError that names the parameter, never a deep traceback."""

from __future__ import annotations

import math

import pytest

from labkit.models.pool import (
    PoolParameterError,
    compare_policies,
    erlang_c_wait_ms,
    min_workers_for_p99,
    simulate_pool,
)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"arrival_rate": -1.0}, "arrival_rate"),
        ({"arrival_rate": math.nan}, "arrival_rate"),
        ({"arrival_rate": "300"}, "arrival_rate"),
        ({"service_ms": 0.0}, "service_ms"),
        ({"service": "gamma"}, "service"),
        ({"policy": "elastic"}, "policy"),
        ({"workers": 0}, "workers"),
        ({"workers": 2.5}, "workers"),
        ({"workers": True}, "workers"),
        ({"gomaxprocs": 0}, "gomaxprocs"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"duration_s": math.inf}, "duration_s"),
        ({"seed": -1}, "seed"),
        ({"burst": (600.0, 2.0)}, "burst"),
        ({"burst": (600.0, 0.0, 1.0)}, "burst on_s"),
        ({"burst": (-5.0, 1.0, 1.0)}, "burst rate"),
        ({"service_sigma": 0.0}, "service_sigma"),
        ({"cpu_bound": 1.5}, "cpu_bound"),
        ({"time_slice_ms": 0.0}, "time_slice_ms"),
        ({"spawn_us": -1.0}, "spawn_us"),
        ({"interval_ms": 0.0}, "interval_ms"),
        ({"high_samples": 0}, "high_samples"),
        ({"grow_step": 0}, "grow_step"),
        ({"min_workers": 5, "workers": 4}, "min_workers"),
        ({"max_workers": 3, "workers": 4}, "max_workers"),
        ({"sample_ms": 0.0}, "sample_ms"),
        ({"arrivals": [0.0, 2.0, 1.0]}, "sorted"),
        ({"arrivals": [0.0, -1.0]}, "arrivals"),
        ({"arrivals": [0.0, 5.0], "duration_s": 2.0}, "duration_s"),
        ({"arrivals": [0.0], "burst": (1.0, 1.0, 1.0)}, "burst and arrivals"),
        ({"arrival_rate": 1e6, "duration_s": 3600.0}, "shorten duration_s"),
    ],
)
def test_bad_argument_is_named(kwargs, named):
    with pytest.raises(PoolParameterError, match=named) as info:
        simulate_pool(**kwargs)
    assert isinstance(info.value, ValueError)


def test_erlang_c_rejects_bad_input_by_name():
    with pytest.raises(ValueError, match="workers"):
        erlang_c_wait_ms(100.0, 10.0, 0)
    with pytest.raises(ValueError, match="service_ms"):
        erlang_c_wait_ms(100.0, -1.0, 2)


def test_a_misspelt_argument_names_what_is_accepted():
    """compare_policies and min_workers_for_p99 pass their keywords through to simulate_pool's
    validation: a typo is a PoolParameterError listing the real names, not a TypeError."""
    with pytest.raises(PoolParameterError, match="arival_rate") as info:
        compare_policies(arival_rate=300.0)
    assert "arrival_rate" in str(info.value) and "service_ms" in str(info.value)
    with pytest.raises(PoolParameterError, match="worker"):
        min_workers_for_p99(50.0, worker=4)
