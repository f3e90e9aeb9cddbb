"""Lab 4's answer keys against closed forms (Erlang B and C, M/M/c's waiting-time law, a
pipeline's bottleneck) and the course's recorded real Go runs, for seeds 0-19."""

from __future__ import annotations

import math

import pytest

from labkit.exercises import lab04
from labkit.exercises.seeded import Exercise
from labkit.golab import run_experiment
from labkit.models.pool import erlang_b, erlang_c_probability, erlang_c_wait_ms, simulate_pool
from labkit.models.pool.queueing import mmc_latency_p99_ms as mmc_p99_ms

SEEDS = range(20)


def erlang_b_factorial(a: float, c: int) -> float:
    """(a^c / c!) / sum_{k=0..c} a^k / k!: Erlang B in closed form."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def test_erlang_b_against_a_table_worked_by_hand():
    # a = 2: B(1) = 2/3, B(2) = 2/(1+2+2) = 0.4, B(3) = (8/6)/(1+2+2+8/6) = 4/19.
    assert erlang_b(2.0, 0) == 1.0
    assert erlang_b(2.0, 1) == pytest.approx(2 / 3)
    assert erlang_b(2.0, 2) == pytest.approx(0.4)
    assert erlang_b(2.0, 3) == pytest.approx(4 / 19)
    # and C(3, 2) = 3 B / (3 - 2 (1 - B)) = 4/9, the textbook M/M/3 value at a = 2.
    assert erlang_c_probability(2.0, 3) == pytest.approx(4 / 9)


@pytest.mark.parametrize("c", [1, 2, 3, 4, 8, 20])
@pytest.mark.parametrize("a", [0.5, 1.7, 3.6, 7.2])
def test_erlang_b_recursion_is_the_factorial_formula(a, c):
    assert erlang_b(a, c) == pytest.approx(erlang_b_factorial(a, c), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_erlang_c_key_is_the_closed_form(seed):
    v = Exercise(lab04.erlang_c_by_hand, seed=seed).variant
    p = v.params
    a, c, s = p["rate"] * p["service_ms"] / 1000, p["c"], p["service_ms"]
    b = erlang_b_factorial(a, c)
    chance = c * b / (c - a * (1 - b))
    assert v.answer == pytest.approx(chance * s / (c - a), rel=1e-9)
    for k in range(1, c + 1):  # the worked answer's B steps are the closed form's
        assert f"B({k}) = {erlang_b_factorial(a, k):.4f}" in v.solution


@pytest.mark.parametrize("seed", SEEDS)
def test_pipeline_key_is_the_slowest_stage_or_the_ps(seed):
    """decode 1 ms, draw workers x 1/draw_ms, upload 1 worker x 1/(0.5 + 1 ms) per item; the
    CPU of all three (1 + draw + 0.5 ms) shares GOMAXPROCS; the device wait needs no P."""
    v = Exercise(lab04.pipeline_throughput, seed=seed).variant
    p = v.params
    stages = [1000.0, p["draw_workers"] * 1000 / p["draw_ms"], 1000 / 1.5]
    cpu = p["procs"] * 1000 / (1.0 + p["draw_ms"] + 0.5)
    assert v.answer == pytest.approx(min(*stages, cpu))


@pytest.mark.parametrize("seed", SEEDS)
def test_fewest_workers_key_agrees_with_mmc(seed):
    """The simulated static pool is an M/M/c queue here (exponential service, CPU far below
    GOMAXPROCS), so the fewest workers by the M/M/c p99 is the key, exactly: no target lies
    within 5 % of the closed form's p99 at the key or one below it, and where a 20 s run's
    sample still disagreed the generator took the next target, so a learner who reasons with
    Erlang C and one who reads the run get the same answer. It is never the offered load
    itself: at c = a the queue has no steady state."""
    v = Exercise(lab04.fewest_workers, seed=seed).variant
    p = v.params
    rate, service, target = p["arrival_rate"], p["service_ms"], p["target_ms"]
    a = rate * service / 1000
    assert v.answer > a
    closed = min(c for c in range(1, 64) if mmc_p99_ms(rate, service, c) <= target)
    assert v.answer == closed
    assert mmc_p99_ms(rate, service, closed) <= 0.95 * target
    assert closed - 1 <= a or mmc_p99_ms(rate, service, closed - 1) >= 1.05 * target


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fewest_workers_solution_names_the_service_times_own_p99_as_the_floor(seed):
    """With many more workers than requests in flight nobody waits, so p99 latency is the
    exponential service time's own p99, ln(100) x its mean: the floor the solution quotes."""
    v = Exercise(lab04.fewest_workers, seed=seed).variant
    p = v.params
    floor_ms = math.log(100) * p["service_ms"]
    assert f"= {floor_ms:.0f} ms" in v.solution
    run = simulate_pool(
        arrival_rate=p["arrival_rate"], service_ms=p["service_ms"], cpu_bound=p["cpu_bound"],
        gomaxprocs=lab04.GOMAXPROCS, duration_s=20.0, seed=p["seed"], workers=64,
        policy="static",
    )  # fmt: skip
    assert run.p99_ms == pytest.approx(floor_ms, rel=0.1)
    assert run.p99_ms < p["target_ms"]


def test_mmc_p99_against_the_single_server_law():
    # M/M/1: the time in system is Exp(mu - lambda), so p99 = ln(100) / (mu - lambda).
    assert mmc_p99_ms(50.0, 10.0, 1) == pytest.approx(math.log(100) / (0.1 - 0.05), rel=1e-6)
    assert mmc_p99_ms(100.0, 10.0, 1) == math.inf
    assert erlang_c_wait_ms(50.0, 10.0, 1) == pytest.approx(10.0)  # rho/(1-rho) x s


@pytest.mark.parametrize("seed", SEEDS)
def test_worst_watchdog_key_by_what_adding_workers_does(seed):
    """CPU-bound requests: more goroutines only share the same Ps, so the eager watchdog,
    which adds the most, is worst. Mostly-waiting requests: more workers serve more at once,
    so the sluggish one, which adds the fewest and the latest, is worst."""
    v = Exercise(lab04.worst_watchdog, seed=seed).variant
    assert v.answer == (1 if v.params["cpu_bound"] == 1.0 else 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_beyond_gomaxprocs_key_by_where_a_worker_waits(seed):
    v = Exercise(lab04.beyond_gomaxprocs, seed=seed).variant
    assert v.answer == (2 if v.params["cpu_bound"] == 1.0 else 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_yield_turns_key_is_what_real_go_does(seed):
    """The recorded real Go run (labkit/golab/recorded/yield.json): Gosched gives the other
    goroutine a turn on every iteration; Sleep(0) never does and is the cheapest call;
    Sleep(1ns) (almost) never does either and costs a park and a timer."""
    real = {m: run_experiment("yield", source="recorded", mode=m) for m in lab04.YIELD_CALLS}
    turns = {m: r["other_turns"] / r["iters"] for m, r in real.items()}
    cost = {m: r["ns_per_iter"] for m, r in real.items()}
    yielding = [m for m in lab04.YIELD_CALLS if m != "none"]
    never = [m for m in yielding if turns[m] <= lab04.ALMOST_NEVER]
    expected = {
        0: max(yielding, key=turns.get),
        1: min(never, key=cost.get),
        2: max(never, key=cost.get),
    }
    v = Exercise(lab04.yield_turns, seed=seed).variant
    assert v.choices[v.answer] == lab04.YIELD_CALLS[expected[v.params["kind"]]]


@pytest.mark.parametrize("seed", SEEDS)
def test_hockey_stick_key_is_mm1(seed):
    """M/M/1: W = rho / (1 - rho) s; at 50 % that is s, as the question says."""
    v = Exercise(lab04.hockey_stick_wait, seed=seed).variant
    rho, s = v.params["rho"], v.params["service_ms"]
    assert v.answer == pytest.approx(rho / (1 - rho) * s, rel=1e-12)
    assert f"waits {s:g} ms" in v.question


@pytest.mark.parametrize("seed", SEEDS)
def test_kingman_key_and_the_model(seed):
    """The key is Kingman's formula; with Poisson arrivals it is exact, and the pool model's
    mean wait quoted in the worked answer is within 10 % of it."""
    v = Exercise(lab04.kingman_variability, seed=seed).variant
    p = v.params
    assert v.answer == pytest.approx(
        p["rho"] / (1 - p["rho"]) * (p["ca2"] + p["cs2"]) / 2 * p["service_ms"], rel=1e-12
    )
    if p["ca2"] == 1.0:
        model = float(v.solution.split("1000 s: ")[1].split(" ms")[0])
        assert model == pytest.approx(v.answer, rel=0.10)


@pytest.mark.parametrize("seed", SEEDS)
def test_sharing_key_is_the_closed_form(seed):
    """k = jobs / P rounds: FCFS mean s (k + 1) / 2, sharing k s; the difference s (k - 1) / 2."""
    v = Exercise(lab04.sharing_vs_fcfs, seed=seed).variant
    p = v.params
    k = p["jobs"] / p["procs"]
    assert v.answer == p["job_ms"] * (k - 1) / 2


@pytest.mark.parametrize("seed", SEEDS)
def test_omission_key_is_near_the_hand_estimate(seed):
    """The open loop's p99 is within 5 % of D - (N / 100) T, and far above the closed loop's."""
    ex = Exercise(lab04.omission_p99, seed=seed)
    p = ex.variant.params
    hand = p["stall_ms"] - p["requests"] / 100 * p["interval_ms"]
    assert ex.variant.answer == pytest.approx(hand, rel=0.05)
    assert ex.check(hand) and ex.check(ex.variant.answer)
    assert "p99 = 0.2 ms" in ex.variant.question
