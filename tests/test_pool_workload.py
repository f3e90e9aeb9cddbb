"""Arrivals and service times: the right processes, from one seeded generator."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.models.pool import simulate_pool
from labkit.models.pool.simulate import prepare


def test_poisson_arrivals_have_the_asked_rate_and_exponential_gaps():
    """300/s for 200 s: about 60,000 arrivals (sd 245), gaps with mean 1/300 s and coefficient
    of variation 1, as exponential gaps have."""
    _, w = prepare(arrival_rate=300.0, duration_s=200.0, seed=4)
    assert len(w) == pytest.approx(60_000, abs=1_000)
    gaps = np.diff(w.arrival_s)
    assert gaps.mean() == pytest.approx(1 / 300.0, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.03)
    assert w.arrival_s.min() >= 0.0 and w.arrival_s.max() < 200.0


def test_bursts_start_quiet_then_arrive_at_the_burst_rate():
    """burst=(1000, 1, 3): each 4 s cycle is 3 s at the base 100/s, then 1 s at 1000/s."""
    _, w = prepare(arrival_rate=100.0, burst=(1000.0, 1.0, 3.0), duration_s=400.0, seed=5)
    phase = np.mod(w.arrival_s, 4.0)
    quiet = np.count_nonzero(phase < 3.0) / (100 * 3.0)  # per second of quiet time
    loud = np.count_nonzero(phase >= 3.0) / (100 * 1.0)
    assert quiet == pytest.approx(100.0, rel=0.03)
    assert loud == pytest.approx(1000.0, rel=0.03)


def test_replayed_arrivals_are_used_verbatim():
    arrivals = [0.0, 0.5, 0.5, 1.25]
    r = simulate_pool(arrivals=arrivals, service="const", duration_s=2.0)
    assert list(r.arrival_s) == arrivals
    assert r.params.replayed_arrivals == 4
    assert simulate_pool(arrivals=arrivals).params.duration_s == 1.25  # defaults to the last


@pytest.mark.parametrize("service", ["exp", "const", "lognormal"])
def test_every_service_distribution_has_mean_service_ms(service):
    """The lognormal's mu is ln(mean) - sigma^2 / 2, so its mean is still service_ms."""
    _, w = prepare(service=service, service_ms=12.0, duration_s=100.0, service_sigma=0.8)
    assert w.service_ms.mean() == pytest.approx(12.0, rel=0.03)
    assert (w.service_ms > 0).all()


def test_lognormal_sigma_sets_the_spread():
    """log(service) has standard deviation sigma."""
    _, w = prepare(service="lognormal", service_sigma=0.7, duration_s=100.0)
    assert np.log(w.service_ms).std() == pytest.approx(0.7, rel=0.03)


def test_service_splits_into_network_wait_then_cpu():
    _, w = prepare(cpu_bound=0.25, duration_s=5.0)
    np.testing.assert_allclose(w.cpu_ms, 0.25 * w.service_ms)
    np.testing.assert_allclose(w.io_ms + w.cpu_ms, w.service_ms)


def test_same_seed_same_run_bit_for_bit_other_seed_differs():
    a = simulate_pool(policy="per_request", seed=7, duration_s=10.0)
    b = simulate_pool(policy="per_request", seed=7, duration_s=10.0)
    c = simulate_pool(policy="per_request", seed=8, duration_s=10.0)
    assert a.latency_ms.tobytes() == b.latency_ms.tobytes()
    assert a.workers.tobytes() == b.workers.tobytes()
    assert a.summary() == b.summary()
    assert a.arrivals != c.arrivals or not np.array_equal(a.latency_ms, c.latency_ms)


def test_result_arrays_are_read_only():
    """A widget or notebook cannot change a result behind the summary's back."""
    r = simulate_pool(duration_s=1.0)
    with pytest.raises(ValueError):
        r.latency_ms[0] = 0.0
