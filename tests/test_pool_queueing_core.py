"""labkit.models.pool.queueing: the hockey stick against Erlang C, Kingman's variability factor,
processor sharing against FCFS, and coordinated omission, each on the pool model."""

from __future__ import annotations

import math

import pytest

import labkit.models.pool as pool
from labkit.models.pool import erlang_c_wait_ms, kingman_wait_ms, simulate_pool
from labkit.models.pool.params import PoolParameterError
from labkit.models.pool.queueing import service_scv

hockey_stick, fcfs_vs_sharing = pool.hockey_stick, pool.fcfs_vs_sharing
allen_cunneen_wait_ms, mmc_latency_p99_ms = pool.allen_cunneen_wait_ms, pool.mmc_latency_p99_ms
coordinated_omission = pool.coordinated_omission

RHOS = (0.5, 0.7, 0.8, 0.9)


@pytest.fixture(scope="module")
def stick():
    return hockey_stick(RHOS, duration_s=1000.0, seed=0)


def test_hockey_stick_mean_wait_follows_erlang_c(stick):
    """At every utilisation the simulated M/M/4 pool's mean wait is within 8 % of Erlang C (a
    1000 s run; tests/test_pool_queueing.py shows the seed-to-seed spread is about 3 %)."""
    for row in stick:
        assert row["mean_wait_ms"] == pytest.approx(row["erlang_c_wait_ms"], rel=0.08), row


def test_a_wrong_formula_fails_the_same_comparison(stick):
    """The M/M/1 formula rho / (1 - rho) s, used for 4 workers, is off by far more than the
    tolerance at every utilisation: the comparison above can fail."""
    for row in stick:
        rho = row["utilisation"]
        wrong = rho / (1 - rho) * 10.0
        assert row["mean_wait_ms"] != pytest.approx(wrong, rel=0.08)


def test_hockey_stick_p99_follows_mmc_and_bends_up(stick):
    """p99 matches the M/M/c waiting-time law within 8 %, and each 0.1 of utilisation costs
    more than the one before: the hockey stick."""
    for row in stick:
        assert row["p99_ms"] == pytest.approx(row["mmc_p99_ms"], rel=0.08), row
    waits = [r["mean_wait_ms"] for r in stick]
    steps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
    assert all(s > 0 for s in steps) and steps == sorted(steps)


def test_hockey_stick_refuses_full_load():
    with pytest.raises(PoolParameterError, match="no steady state"):
        hockey_stick([0.5, 1.0])


def test_mmc_p99_of_a_single_server_is_exponential():
    """M/M/1: time in system is Exp(mu - lambda): p99 = ln(100) / (mu - lambda)."""
    assert mmc_latency_p99_ms(50.0, 10.0, 1) == pytest.approx(
        math.log(100) / (0.1 - 0.05), rel=1e-6
    )
    assert mmc_latency_p99_ms(100.0, 10.0, 1) == math.inf


def test_kingman_closed_forms():
    """M/M/1: rho / (1 - rho) s; M/D/1: half of it; a clock and constant work: no wait."""
    assert kingman_wait_ms(0.8, 10.0, 1.0, 1.0) == pytest.approx(40.0)
    assert kingman_wait_ms(0.8, 10.0, 1.0, 0.0) == pytest.approx(20.0)
    assert kingman_wait_ms(0.8, 10.0, 0.0, 0.0) == 0.0
    assert kingman_wait_ms(1.0, 10.0, 1.0, 1.0) == math.inf
    assert allen_cunneen_wait_ms(300.0, 10.0, 4, 1.0, 1.0) == erlang_c_wait_ms(300.0, 10.0, 4)


@pytest.mark.parametrize(
    ("service", "extra"),
    [("const", {}), ("exp", {}), ("lognormal", {"service_sigma": 1.0})],
)
def test_kingman_is_the_simulated_single_worker_wait(service, extra):
    """Poisson arrivals (ca^2 = 1) at rho 0.8 on one worker: Kingman's formula is exact here
    (Pollaczek-Khinchine), and the simulated wait is within 10 % for constant, exponential and
    lognormal (cs^2 = e - 1 = 1.72) work."""
    one = {"workers": 1, "gomaxprocs": 1, "duration_s": 3000.0, "seed": 5}
    r = simulate_pool(arrival_rate=80.0, service_ms=10.0, service=service, **one, **extra)
    expected = kingman_wait_ms(0.8, 10.0, 1.0, service_scv(r.params))
    assert r.mean_wait_ms == pytest.approx(expected, rel=0.10)


def test_more_variability_needs_more_workers():
    """Kingman's ordering on the model: at the same mean load, the wait grows with the service
    times' variability (const < exp < lognormal); and by Allen-Cunneen the fewest workers that
    keep the mean wait under 1 ms grows with it (5, 6, 6: pools come in whole workers)."""
    waits = {}
    for service in ("const", "exp", "lognormal"):
        kw = {"service": service, "service_sigma": 1.0, "duration_s": 600.0, "seed": 7}
        waits[service] = simulate_pool(arrival_rate=300.0, workers=4, **kw).mean_wait_ms
    assert waits["const"] < waits["exp"] < waits["lognormal"]

    def fewest(cs2):
        return min(c for c in range(4, 20) if allen_cunneen_wait_ms(300, 10, c, 1, cs2) < 1.0)

    assert fewest(0.0) < fewest(1.0) <= fewest(math.expm1(1.0))


def test_fcfs_and_sharing_do_the_same_work_but_sharing_finishes_later():
    """8 requests of 10 ms on 2 Ps: FCFS mean 25 ms, sharing 40 ms, makespan 40 ms for both;
    with 10 ms jobs Go's 10 ms slices are FCFS; with 30 ms jobs they interleave (mean 105)."""
    rows = {r["label"]: r for r in fcfs_vs_sharing(8, 10.0, 2)}
    assert rows["FCFS"]["mean_ms"] == pytest.approx(25.0)
    assert rows["Go, 10 ms slices"]["mean_ms"] == pytest.approx(25.0)
    assert rows["processor sharing"]["mean_ms"] == pytest.approx(40.0, abs=0.01)
    for row in rows.values():
        assert row["max_ms"] == pytest.approx(40.0, abs=0.01)
        assert row["cpu_ms"] == pytest.approx(80.0, abs=0.01)  # more workers, no more CPU
        assert row["fcfs_mean_ms"] == 25.0 and row["sharing_mean_ms"] == 40.0
    long = {r["label"]: r["mean_ms"] for r in fcfs_vs_sharing(8, 30.0, 2)}
    assert long == pytest.approx({"FCFS": 75.0, "Go, 10 ms slices": 105.0,
                                  "processor sharing": 120.0}, abs=0.01)  # fmt: skip


def test_coordinated_omission_hides_the_stall_from_a_closed_loop():
    """A 1 s stall in 20 s of 10 ms-spaced requests: the closed loop records it once (p99 is the
    1 ms service time); the open loop sees the 100 requests due during the stall, and its p99
    is near the hand estimate D - (N / 100) T = 1000 - 20 x 10 = 800 ms (within 5 %)."""
    co = coordinated_omission()
    assert co["closed_p99_ms"] == pytest.approx(1.0)
    assert co["closed_max_ms"] == pytest.approx(1001.0)
    assert co["open_max_ms"] == pytest.approx(1001.0)
    assert co["hand_p99_ms"] == 800.0
    assert co["open_p99_ms"] == pytest.approx(co["hand_p99_ms"], rel=0.05)
    assert co["open_p99_ms"] > 500 * co["closed_p99_ms"]
    assert co["requests"] == co["open_ms"].size == 2000


def test_no_stall_no_difference():
    co = coordinated_omission(stall_ms=0.0)
    assert co["closed_p99_ms"] == co["open_p99_ms"] == pytest.approx(1.0)


def test_coordinated_omission_refuses_a_saturated_server():
    with pytest.raises(PoolParameterError, match="below interval_ms"):
        coordinated_omission(interval_ms=1.0, service_ms=2.0)
