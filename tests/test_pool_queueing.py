"""Queueing laws the pool model must obey: Erlang C, Little's law, conservation, overload."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.models.pool import erlang_c_probability, erlang_c_wait_ms, simulate_pool


def test_erlang_c_matches_closed_forms():
    """M/M/1: Wq = rho / (mu - lambda). M/M/2: P(wait) = 2 rho^2 / (1 + rho)."""
    # M/M/1 at 80/s, 10 ms: rho = 0.8, Wq = 0.8 / (100 - 80) s = 40 ms
    assert erlang_c_wait_ms(80.0, 10.0, 1) == pytest.approx(40.0, rel=1e-12)
    rho = 0.6
    assert erlang_c_probability(2 * rho, 2) == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-12)


def test_erlang_c_textbook_value():
    """A classic call-centre table entry: a = 10 Erlangs on 12 servers waits with P = 0.4493."""
    assert erlang_c_probability(10.0, 12) == pytest.approx(0.4493, abs=1e-4)


def test_erlang_c_is_infinite_at_or_above_full_load():
    """rho >= 1: no steady state, the queue grows without bound."""
    assert erlang_c_wait_ms(400.0, 10.0, 4) == math.inf
    assert erlang_c_wait_ms(500.0, 10.0, 4) == math.inf
    assert erlang_c_wait_ms(0.0, 10.0, 4) == 0.0


@pytest.mark.parametrize(
    ("arrival_rate", "service_ms", "workers", "duration_s"),
    [
        (100.0, 20.0, 4, 2000.0),  # rho 0.5
        (80.0, 10.0, 1, 6000.0),  # rho 0.8, M/M/1
        (300.0, 10.0, 4, 1000.0),  # rho 0.75, the course default
        (700.0, 10.0, 8, 1000.0),  # rho 0.875
        (450.0, 10.0, 5, 2000.0),  # rho 0.9
    ],
)
def test_static_pool_agrees_with_erlang_c(arrival_rate, service_ms, workers, duration_s):
    """A static pool of c workers on c Ps with Poisson arrivals and exponential service is an
    M/M/c queue (the channel is FIFO, runtime.chanrecv), so over a long run its mean wait is
    within 10 % of Erlang C. (Run lengths keep the seed-to-seed spread near 3 %.)"""
    r = simulate_pool(
        arrival_rate=arrival_rate,
        service_ms=service_ms,
        workers=workers,
        gomaxprocs=workers,
        duration_s=duration_s,
        seed=1,
    )
    expected = erlang_c_wait_ms(arrival_rate, service_ms, workers)
    assert r.mean_wait_ms == pytest.approx(expected, rel=0.10)
    assert r.utilisation == pytest.approx(arrival_rate * service_ms / 1000.0 / workers, rel=0.02)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"policy": "static"},
        {"policy": "static", "workers": 8, "service": "lognormal"},
        {"policy": "per_request"},
        {"policy": "adaptive", "burst": (500.0, 1.0, 4.0)},
        {"policy": "static", "workers": 16, "cpu_bound": 0.25, "service_ms": 40.0},
    ],
)
def test_littles_law(kwargs):
    """L = lambda W: the time-averaged number of requests in the system equals the arrival
    rate times the mean latency, within 5 %, for every policy."""
    r = simulate_pool(duration_s=300.0, seed=2, **kwargs)
    arrival_rate = r.arrivals / r.params.duration_s
    assert r.mean_in_system == pytest.approx(arrival_rate * r.mean_latency_ms / 1000.0, rel=0.05)


@pytest.mark.parametrize("policy", ["static", "per_request", "adaptive"])
def test_conservation_at_the_end(policy):
    """Every request that arrived is either done by the end or still in the system, and the
    sampled state at t = duration agrees with the per-request count."""
    r = simulate_pool(policy=policy, arrival_rate=390.0, duration_s=20.0, seed=3)
    assert r.completed + r.in_system_at_end == r.arrivals
    assert r.t_s[-1] == 20.0
    assert r.in_system[-1] == r.in_system_at_end


def test_static_overload_is_reported_and_the_queue_grows():
    """Offered load 1.25 on a static pool: the result says it is overloaded, the channel's
    length climbs for the whole run at about arrival rate - capacity (500 - 400 = 100/s)."""
    r = simulate_pool(arrival_rate=500.0, duration_s=30.0)
    assert r.overloaded and r.offered_load == pytest.approx(1.25)
    assert "grows without bound" in r.summary()
    assert r.queue_growth_per_s == pytest.approx(100.0)
    slope_per_s = np.polyfit(r.t_s, r.queue_depth, 1)[0]
    assert slope_per_s == pytest.approx(100.0, rel=0.15)
    assert r.completed < r.arrivals - 2000


def test_p99_at_overload_for_each_policy():
    """At 125 % load every policy's p99 runs to seconds. The static pool queues in the channel
    (FIFO: the oldest goes first); a goroutine per request queues in the scheduler, where round
    robin shares the Ps among thousands of live goroutines, so its p99 is worse still and its
    goroutine count (memory) explodes."""
    static = simulate_pool(arrival_rate=500.0, duration_s=30.0, policy="static")
    per_request = simulate_pool(arrival_rate=500.0, duration_s=30.0, policy="per_request")
    assert static.p99_ms > 5000.0
    assert per_request.p99_ms > 1.5 * static.p99_ms
    assert per_request.peak_workers > 1000
    assert not per_request.queue_depth.any()


def test_stable_pool_is_not_reported_overloaded():
    r = simulate_pool(arrival_rate=300.0, duration_s=5.0)
    assert not r.overloaded and r.offered_load == pytest.approx(0.75)
    assert "OVERLOADED" not in r.summary()


def test_bursts_beyond_capacity_are_named():
    """Mean load 0.9 but bursts at 1.5: not overloaded in the long run, but the summary says the
    bursts are."""
    r = simulate_pool(arrival_rate=300.0, burst=(600.0, 2.0, 8.0), duration_s=20.0)
    assert not r.overloaded
    assert r.peak_load == pytest.approx(1.5)
    assert "bursts overload it" in r.summary()
