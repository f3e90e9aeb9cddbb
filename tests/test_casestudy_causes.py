"""The capstone's hidden causes and exercises: each cause breaks a target and shows its own
signature in the layer the lab says; its fix restores the targets; answers come from the model."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.exercises import lab05
from labkit.exercises.seeded import Exercise
from labkit.scenarios.casestudy import run_incident
from labkit.scenarios.casestudy.causes import (
    CAUSES,
    HEALTHY,
    TARGET_P99_MS,
    Cause,
    meets_targets,
    run_cause,
)


@pytest.fixture(scope="module")
def healthy():
    return run_incident(HEALTHY)


@pytest.fixture(scope="module", params=list(CAUSES))
def cause_runs(request):
    key = request.param
    return key, run_cause(key, seed=0), run_cause(key, seed=0, fixed=True)


def test_healthy_service_meets_the_targets(healthy):
    """The service the causes start from is fine: p99 and fps within the capstone's targets."""
    assert meets_targets(healthy)


def test_each_cause_breaks_a_target_and_its_fix_restores_them(cause_runs):
    """Every hidden cause misses the p99 or fps target; applying its fix meets both."""
    key, broken, fixed = cause_runs
    assert not meets_targets(broken), key
    assert meets_targets(fixed), key


CAUSAL_SEEDS = (0, 1, 2, 3, 4)


def causal(cause: Cause, seed: int) -> dict[str, bool]:
    """The three facts that make a cause a cause, for one seed: alone it breaks the p99 target;
    its culprit turned back alone, and its fix alone, each meet both targets."""
    return {
        "breaks p99": run_incident(cause.params(seed)).metrics["p99_ms"] > TARGET_P99_MS,
        "culprit off restores": meets_targets(run_incident(cause.without_culprit(seed))),
        "fix restores": meets_targets(run_incident(cause.fixed_params(seed))),
    }


@pytest.mark.parametrize("seed", CAUSAL_SEEDS)
@pytest.mark.parametrize("key", list(CAUSES))
def test_every_cause_is_causal(key, seed):
    """The capstone's promise: the named cause alone breaks p99 (200 ms), and turning it off
    alone, or applying its fix alone, meets p99 and the frame-rate target again."""
    assert causal(CAUSES[key], seed) == dict.fromkeys(
        ("breaks p99", "culprit off restores", "fix restores"), True
    )


@pytest.mark.parametrize("key", list(CAUSES))
def test_a_cause_is_one_cause(key):
    """Each change a cause makes besides its culprit either is not the service's to change
    (the load, the database, the network: lab 5 refuses those) or cannot restore the targets
    alone; otherwise the mystery has two causes and the wrong choice is right too. (GOMAXPROCS=1
    with a 256 KiB payload was such a pair: the payload back at 128 KiB met the targets.)"""
    cause = CAUSES[key]
    broken = cause.params(0)
    for name, _ in cause.changes:
        if name in cause.culprit or name in lab05.NOT_THE_SERVICE:
            continue
        undone = run_incident(broken.replace(**{name: getattr(HEALTHY, name)}))
        assert not meets_targets(undone), (key, name)


def test_one_cause_check_finds_the_old_two_cause_mystery():
    """The check above, fed the cause as it was: one P and a 256 KiB payload."""
    two = CAUSES["few_procs"].params(0).replace(clients=HEALTHY.clients, payload_kb=256.0)
    assert not meets_targets(run_incident(two))  # the mystery stalls
    assert meets_targets(run_incident(two.replace(payload_kb=HEALTHY.payload_kb)))  # 2nd cause


def test_causal_check_rejects_a_cgo_cause_that_is_only_a_slow_database():
    """The cgo cause as it once was (a cgo driver over a slow database, no query timeout):
    switching to the pure-Go driver alone leaves p99 where it was, because the slow queries,
    not the threads they hold, make requests slow; the check says so."""
    symptom_only = Cause(
        "cgo_driver",
        "a cgo database driver: every query blocks a thread",
        (("db_driver", "cgo"), ("db_pool", 64), ("db_median_ms", 40.0)),
        (("db_driver", "network"),),
        "use the pure-Go driver",
        "threads climb",
        ("db_driver",),
    )
    facts = causal(symptom_only, 0)
    assert facts["breaks p99"] and not facts["culprit off restores"]
    slow_p99 = run_incident(symptom_only.without_culprit(0)).metrics["p99_ms"]
    assert slow_p99 > TARGET_P99_MS


def test_cgo_threads_are_a_symptom_of_queries_in_flight():
    """Each cgo query in flight holds a thread (cgocall -> entersyscall), so the cgo cause runs
    several times the healthy thread count; the same queries through the pure-Go driver hold
    none. The threads do not make the requests slow: with the deadline cancelling the queries
    they are gone and p99 is back within the target."""
    cause = CAUSES["cgo_driver"]
    cgo = run_incident(cause.params(0)).metrics
    pure = run_incident(cause.without_culprit(0)).metrics
    assert cgo["threads_peak"] > 3 * pure["threads_peak"]
    assert cgo["db_timeouts"] > 0 and cgo["p99_ms"] > 4 * HEALTHY.timeout_ms
    assert pure["p99_ms"] < 2 * HEALTHY.timeout_ms


def test_a_cause_must_blame_one_of_its_changes():
    with pytest.raises(ValueError, match="culprit"):
        Cause("x", "x", (("db_pool", 2),), (("db_pool", 8),), "x", "x", ("gomaxprocs",))


def test_each_cause_shows_its_signature(cause_runs, healthy):
    """The evidence the lab teaches: the layer that gives each cause away."""
    key, run, _ = cause_runs
    m, h = run.metrics, healthy.metrics
    if key == "slow_db":  # parked goroutines pile up; CPU stays low
        assert m["goroutines_peak"] > 3 * h["goroutines_peak"] and m["cpu_share"] < 0.3
    elif key == "huge_payload":  # the GC runs far more often, assists take a big share
        assert m["gc_cycles_per_s"] > 10 * h["gc_cycles_per_s"] and m["assist_share"] > 0.2
    elif key == "cgo_driver":  # timeouts fire, yet queries run on, each holding a thread
        assert m["threads_peak"] > 3 * h["threads_peak"] and m["syscall_ms_per_s"] > 0
        assert m["db_timeouts"] > 0 and m["p99_ms"] > 4 * run.params.timeout_ms
    elif key == "few_procs":  # one P, saturated
        assert run.params.gomaxprocs == 1 and m["cpu_share"] > 0.9
    elif key == "hot_loop":  # the loop dominates the CPU profile
        top = run.cpu_profile().top(1)
        assert "main.downsample" in str(top)
        assert run.result.stats["preemptions"] > 0
    else:
        pytest.fail(f"no signature test for cause {key}")


def test_unknown_cause_is_named():
    with pytest.raises(ValueError, match="nosuch"):
        run_cause("nosuch")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_which_cause_answer_is_the_mystery_runs_cause(seed):
    """The right choice passes, every other fails; the answer is the cause _mystery_run drew."""
    ex = Exercise(lab05.which_cause, seed=seed)
    number = lab05.mystery_number(seed)
    key, _ = lab05._mystery_run(number)
    right = list(CAUSES).index(key)
    assert ex.variant.answer == right
    assert ex.check(right)
    assert not any(ex.check(i) for i in range(len(CAUSES)) if i != right)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_which_fix_offers_exactly_one_change_that_meets_the_targets(seed):
    """Options the model shows would also meet the targets are left out (and named in the worked
    answer): every offered wrong option misses the targets on this run, the right one meets them."""
    ex = Exercise(lab05.which_fix, seed=seed)
    number = lab05.mystery_number(seed)
    works = lab05._fixes_that_meet_targets(number)
    by_text = {c.fix_text: k for k, c in CAUSES.items()}
    offered = [by_text[c] for c in ex.variant.choices]
    assert [works[k] for k in offered].count(True) == 1
    assert works[offered[ex.variant.answer]]
    for k, ok in works.items():
        assert (k in offered) or ok
        if ok and k not in offered:
            assert CAUSES[k].fix_text in ex.reveal()


@pytest.mark.parametrize("seed", [5, 6])
def test_which_fix_worked_answer_quotes_the_model(seed):
    ex = Exercise(lab05.which_fix, seed=seed)
    _, fixed = lab05._mystery_run(lab05.mystery_number(seed), fixed=True)
    assert f"{fixed.metrics['p99_ms']:.0f} ms" in ex.reveal()


def test_smallest_pool_is_the_first_pool_that_meets_p99():
    """The numeric answer is checked by running the model: that pool meets p99, one fewer not."""
    v = lab05.smallest_pool(np.random.default_rng(11))
    ex = Exercise(lab05.smallest_pool, seed=0)
    assert ex.check(ex.variant.answer) and not ex.check(ex.variant.answer + 1)
    assert v.answer >= 1


def test_mystery_run_rejects_bad_numbers():
    with pytest.raises(ValueError, match="number"):
        lab05._mystery_run(-1)
