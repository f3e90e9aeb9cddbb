"""Lab 1's answer keys, checked against the frame lab a learner reads and against the pacer's
rules worked by hand (src/runtime/mgcpacer.go, go1.27.3), for seeds 0-19."""

from __future__ import annotations

import math
import re
from functools import cache

import pytest

from labkit.exercises import lab01
from labkit.exercises.seeded import Exercise
from labkit.widgets import FrameLab
from labkit.widgets.framelab import gc_spans

MIB = 1 << 20
SEEDS = range(20)


@cache
def ex(make, seed: int) -> Exercise:
    return Exercise(make, seed=seed)


@cache
def frame_lab_summary(**settings) -> str:
    """What the frame lab's summary line reads after a learner sets ``settings`` with its
    controls (every other control at its default)."""
    lab = FrameLab()
    c = lab.controls
    for name, value in settings.items():
        if name == "resolution":
            c["resolution"].value = value
        else:
            c[name].value = value
    return lab.summary()


def reading(summary: str, what: str) -> float:
    pattern = {"gc": r"GC ([\d.]+)/s", "jank": r"jank ([\d.]+)%"}[what]
    return float(re.search(pattern, summary).group(1))


def estimate_by_hand(p) -> float:
    """cycles/s = allocation rate / (goal - live), goal = live x (1 + GOGC/100)
    (gcControllerState.commit, mgcpacer.go:1295, with no stacks or globals)."""
    frame_mib = p["width"] * p["height"] * 4 / MIB
    return p["fps"] * frame_mib / (p["live_mib"] * p["gogc"] / 100)


@pytest.mark.parametrize("seed", SEEDS)
def test_gc_rate_key_is_what_the_frame_lab_shows(seed):
    v = ex(lab01.gc_rate, seed).variant
    p = v.params
    summary = frame_lab_summary(
        resolution=(p["width"], p["height"]),
        fps=p["fps"],
        live_heap_mb=float(p["live_mib"]),
        gogc=p["gogc"],
        producers=0,
    )
    shown = reading(summary, "gc")
    assert v.answer == pytest.approx(shown, abs=0.005)
    assert ex(lab01.gc_rate, seed).check(f"{shown:.2f}")


@pytest.mark.parametrize("seed", SEEDS)
def test_gc_rate_also_accepts_the_hand_estimate_and_not_a_decimal_mb_frame(seed):
    e = ex(lab01.gc_rate, seed)
    p = e.variant.params
    estimate = estimate_by_hand(p)
    assert e.check(estimate) and e.check(round(estimate, 2))
    assert not e.check(estimate * MIB / 1e6)  # the frame in MB, typed as MiB: 4.86 % high


def test_gc_rate_solution_uses_the_marked_heap_and_the_trigger():
    solution = ex(lab01.gc_rate, 0).variant.solution
    assert "marked" in solution and "trigger" in solution
    assert "7 % low" not in solution and "2.6-2.7" not in solution


@pytest.mark.parametrize("seed", [0, 1, 4, 6])
def test_gc_rate_solution_pairs_a_marked_heap_with_the_goal_it_set(seed):
    """commit runs at the end of a mark and sets the *next* cycle's goal, so the solution
    quotes one cycle's marked heap beside the following cycle's goal: at least marked x
    (1 + GOGC/100) (the goal adds stacks and globals). A cycle's own marked heap beside its
    own goal (143.8 MiB against 203.9 at seed 0) breaks that."""
    v = ex(lab01.gc_rate, seed).variant
    m = re.search(r"a cycle marked ([\d.]+) MiB .* next cycle was ([\d.]+) MiB", v.solution)
    assert m, v.solution
    marked, goal = float(m[1]), float(m[2])
    assert goal >= marked * (1 + v.params["gogc"] / 100) - 0.1


def heap_goal_by_hand(live: float, gogc, limit: float, non_heap: float) -> float:
    """min(GOGC goal, limit goal): the GOGC goal is live x (1 + GOGC/100); the limit's is the
    limit less the non-heap memory, less 3 % of that as headroom (at least 1 MiB), never below
    the live heap (memoryLimitHeapGoal, mgcpacer.go:1120-1156); heapGoalInternal takes the
    lower."""
    gogc_goal = math.inf if gogc == "off" else live * (1 + gogc / 100)
    room = limit - non_heap
    limit_goal = max(live, room - max(room * 0.03, 1.0))
    return min(gogc_goal, limit_goal)


@pytest.mark.parametrize("seed", SEEDS)
def test_heap_goal_key_is_the_lower_goal(seed):
    v = ex(lab01.heap_goal_with_limit, seed).variant
    p = v.params
    assert v.answer == pytest.approx(
        heap_goal_by_hand(p["live_mib"], p["gogc"], p["limit_mib"], p["non_heap_mib"]), abs=0.01
    )


def test_heap_goal_by_hand_worked_example():
    # 512 MiB live, GOGC=200, GOMEMLIMIT=1280 MiB, 8.8 MiB outside the heap: the GOGC goal is
    # 1536 MiB; the limit's is 1271.2 - 38.136 = 1233.064 MiB, and the lower wins.
    assert heap_goal_by_hand(512, 200, 1280, 8.8) == pytest.approx(1233.064)
    assert heap_goal_by_hand(512, "off", 640, 0) == pytest.approx(620.8)


def test_the_heap_goal_question_takes_the_frame_labs_non_heap_memory():
    """The question's non-heap memory is the one the frame lab's goal line subtracts."""
    from labkit.models.renderloop import NON_HEAP_MB

    assert FrameLab().params.non_heap_mb == NON_HEAP_MB
    assert all(
        ex(lab01.heap_goal_with_limit, seed).variant.params["non_heap_mib"] == NON_HEAP_MB
        for seed in SEEDS
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_or_gogc_key_by_the_goals(seed):
    """Raising GOGC from 100 to 400 changes nothing when the limit's goal (0.97 x (limit -
    non-heap memory)) is already below the GOGC=100 goal (2 x live); otherwise it helps, and
    pooling the frames, which removes their 180 MiB/s, helps more (the producers' 8 MiB/s is all
    that is left)."""
    v = ex(lab01.pool_or_gogc_under_limit, seed).variant
    p = v.params
    expected = 0 if 0.97 * (p["limit_mib"] - p["non_heap_mib"]) <= 2 * p["live_mib"] else 1
    assert v.answer == expected


def _janky_frames_outside_gc(result) -> int:
    starts, ends = gc_spans(result)
    budget = result.budget_ms
    outside = 0
    for t, ms in zip(result.frame_t_s, result.frame_ms, strict=True):
        if ms > budget and not any(
            s <= t + ms / 1000 and t <= e for s, e in zip(starts, ends, strict=True)
        ):
            outside += 1
    return outside


@pytest.mark.parametrize("seed", SEEDS)
def test_stall_jank_key_is_the_frame_labs_reading_and_most_of_its_frames_sit_in_gc_cycles(seed):
    from labkit.models.renderloop import simulate_frames

    v = ex(lab01.stall_jank, seed).variant
    p = v.params
    summary = frame_lab_summary(
        gomaxprocs=p["gomaxprocs"],
        live_heap_mb=float(p["live_mib"]),
        producers=p["producers"],
        seed=p["seed"],
    )
    assert v.answer == pytest.approx(reading(summary, "jank"), abs=0.05)
    # From the run's raw frames: the share over budget, and each of those frames overlaps a
    # GC cycle (the solution's "the janky frames sit in the shaded GC cycles").
    run = simulate_frames(
        gomaxprocs=p["gomaxprocs"],
        live_heap_mb=p["live_mib"],
        producers=p["producers"],
        producer_cpu_fraction=p["producer_cpu_fraction"],
        seed=p["seed"],
    )
    over = sum(ms > 1000 / 60 for ms in run.frame_ms)
    assert v.answer == pytest.approx(100 * over / len(run.frame_ms))
    # The solution counts the janky frames that overlap a cycle; with one P most of them do.
    outside = _janky_frames_outside_gc(run)
    assert p["janky_in_gc"] == over - outside
    assert over == 0 or outside <= 0.25 * over


@pytest.mark.parametrize("seed", SEEDS)
def test_gogc_for_jank_budget_key_is_what_the_frame_lab_shows(seed):
    """The learner's path: set the frame lab, move GOGC, read the jank % off the summary."""
    v = ex(lab01.gogc_for_jank_budget, seed).variant
    p = v.params
    shown = {
        g: reading(
            frame_lab_summary(
                gomaxprocs=p["gomaxprocs"],
                live_heap_mb=float(p["live_mib"]),
                producers=p["producers"],
                seed=p["seed"],
                gogc=g,
            ),
            "jank",
        )
        for g in p["gogcs"]
    }
    meets = [g for g in p["gogcs"] if shown[g] <= p["budget_pct"]]
    expected = f"GOGC={meets[0]}" if meets else "none of these"
    assert v.choices[v.answer] == expected


def test_the_labs_producers_are_the_frame_labs_and_the_real_programs():
    """A tenth of a CPU per producer, gc_render's -producer_cpu: the questions, the frame lab a
    learner checks them with and the Go program chapter 1 shows run the same producers (at half
    a CPU, simulate_frames' default, four of them would overload the one P of the stall)."""
    from labkit.golab.experiments import get_experiment
    from labkit.widgets.framelab import PRODUCER_CPU_FRACTION

    real = get_experiment("gc_render").normalize({})["producer_cpu"]
    assert lab01.STALL["producer_cpu_fraction"] == PRODUCER_CPU_FRACTION == real
    assert FrameLab().params.producer_cpu_fraction == real


def test_the_gc_rate_is_a_prediction_the_frame_lab_then_confirms():
    """Predict first (issue #17): after Check, the frame lab runs the question's own numbers
    and its GC rate is the answer key."""
    from labkit.exercises import lab01
    from labkit.exercises.seeded import Exercise

    ex = Exercise(lab01.gc_rate, seed=2)
    view = ex.widget()
    assert ex.variant.predict and view.figure is None
    view.answer(1)
    assert round(view.figure.result.gc_cycles_per_s, 2) == ex.variant.answer


# ---- predictions the frame lab then draws (#17 item 1) ------------------------------------------

PREDICTIONS = ("gc_rate", "second_p", "torn_share", "pool_or_gogc_under_limit")


def test_at_least_half_of_lab_1s_eight_exercises_are_predictions():
    import inspect

    from labkit.exercises.seeded import Variant

    made = [
        name
        for name, fn in inspect.getmembers(lab01, inspect.isfunction)
        if fn.__module__ == lab01.__name__
        and inspect.get_annotations(fn, eval_str=True).get("return") is Variant
    ]
    assert len(made) >= 8
    predicting = [n for n in made if ex(getattr(lab01, n), 0).variant.predict]
    assert sorted(predicting) == sorted(PREDICTIONS) and 2 * len(predicting) >= len(made)


@pytest.mark.parametrize("name", PREDICTIONS)
def test_a_prediction_hides_the_frame_lab_until_check_then_draws_it(name):
    e = Exercise(getattr(lab01, name), seed=3)
    view = e.widget()
    assert e.variant.predict and view.figure is None
    view.answer(e.variant.choices[0] if e.variant.is_choice else 1)
    assert isinstance(view.figure, FrameLab) and "labkit-truth" in view._truth.value


@pytest.mark.parametrize("seed", SEEDS)
def test_second_p_key_is_the_band_of_the_frame_labs_run_at_two_ps(seed):
    e = ex(lab01.second_p, seed)
    v, p = e.variant, e.variant.params
    lab = v.figure()
    assert lab.params.gomaxprocs == 2 and lab.params.seed == p["seed"]
    one = simulate_one_p(p)
    assert 100 * one.jank_fraction == pytest.approx(p["jank_one_p"]) and one.jank_fraction > 0
    expected = lab01.second_p_band(p["jank_one_p"], reading(lab.summary(), "jank"))
    assert v.answer == expected and e.check(v.choices[expected])
    for i in range(len(v.choices)):
        if i != expected:
            assert not e.check(i) and "mark worker" in e.feedback(i)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_second_p_solution_describes_the_two_p_mark_as_startcycle_plans_it(seed):
    """Two Ps get no dedicated mark worker (startCycle rounds half a worker to one, 100 % off,
    and drops it; mgcpacer.go:403-418), and the late frames it counts are the run's."""
    from labkit.models.gcpacer import mark_worker_plan
    from labkit.models.renderloop import simulate_frames

    plan = mark_worker_plan(2)
    assert plan.dedicated_workers == 0 and plan.fractional_utilization_goal == 0.25
    v = ex(lab01.second_p, seed).variant
    assert "do not get a dedicated worker" in v.solution
    assert "one dedicated worker on one P" not in v.solution
    p = v.params
    two = simulate_frames(
        **{**lab01.STALL, "gomaxprocs": 2}, live_heap_mb=p["live_mib"], producers=p["producers"],
        seed=p["seed"],
    )  # fmt: skip
    late = int((two.frame_ms > two.budget_ms).sum())
    if late:
        assert f"Of the {late} frames still late at two Ps" in v.solution
    else:
        assert "At two Ps no frame misses its budget." in v.solution


def simulate_one_p(p):
    from labkit.models.renderloop import simulate_frames

    return simulate_frames(
        **lab01.STALL, live_heap_mb=p["live_mib"], producers=p["producers"], seed=p["seed"]
    )


def test_second_p_band_can_say_each_thing():
    assert lab01.second_p_band(2.0, 0.0) == 0 and lab01.second_p_band(2.0, 0.3) == 0
    assert lab01.second_p_band(3.3, 0.2) == 0  # real Go's two-P run against its one-P run
    assert lab01.second_p_band(100 * 25 / 600, 100 * 5 / 600) == 0  # exactly a fifth
    assert lab01.second_p_band(2.0, 0.5) == 1 and lab01.second_p_band(2.0, 1.0) == 1
    assert lab01.second_p_band(2.0, 1.9) == 2 and lab01.second_p_band(2.0, 3.0) == 2


def test_a_second_p_removes_the_stall_in_some_seeds_and_not_all():
    answers = {ex(lab01.second_p, s).variant.answer for s in SEEDS}
    assert answers == {0, 1}


@pytest.mark.parametrize("seed", SEEDS)
def test_torn_share_key_is_the_frame_labs_torn_count(seed):
    e = ex(lab01.torn_share, seed)
    v, p = e.variant, e.variant.params
    lab = v.figure()
    torn = int(re.search(r"torn (\d+)", lab.summary()).group(1))
    assert v.answer == pytest.approx(100 * torn / lab.result.frame_ms.size)
    assert e.check(v.answer) and e.check(f"{v.answer:.0f}")
    estimate = lab01.torn_by_hand(p["producers"], p["frame_ms"], p["draws_per_s"], p["draw_us"])
    assert e.check(estimate) and e.check(round(estimate))
    beyond = max(v.answer, estimate) + lab01.TORN_ABS_TOL + 0.5
    assert not e.check(beyond) and not e.check(min(v.answer, estimate) - lab01.TORN_ABS_TOL - 0.5)


def test_torn_by_hand_worked_example():
    # 4 producers x 100 draws/s over a 1.5 ms frame + 0.2 ms draw: 1 - e^-0.68 = 49.3 %
    assert lab01.torn_by_hand(4, 1.5, 100.0, 200.0) == pytest.approx(
        100 * (1 - math.exp(-0.68)), rel=1e-12
    )


def test_torn_share_rejects_the_share_a_lock_gives():
    """The locked mode tears nothing: 0 % is wrong for the racy mode in every seed."""
    assert not any(ex(lab01.torn_share, s).check(0) for s in SEEDS)


@pytest.mark.parametrize("seed", SEEDS)
def test_victim_cache_key_follows_the_models_allocation_counts(seed):
    from labkit.models.renderloop import simulate_frames

    e = ex(lab01.victim_cache, seed)
    v, p = e.variant, e.variant.params
    common = {
        "producer_cpu_fraction": lab01.STALL["producer_cpu_fraction"],
        "pooled": True,
        "live_heap_mb": p["live_mib"],
        "producers": p["producers"],
        "seed": p["seed"],
    }
    old = simulate_frames(**common, pool_victim_cache=False)
    new = simulate_frames(**common, pool_victim_cache=True)
    assert (old.pool_allocations, new.pool_allocations) == (
        p["allocations_old"],
        p["allocations_new"],
    )
    assert new.pool_allocations == 1 < old.pool_allocations  # the victim cache keeps the buffer
    assert old.gc_starts / 3 <= old.pool_allocations <= old.gc_starts + 1  # up to one a cycle
    right = lab01.victim_band(old.pool_allocations, new.pool_allocations, new.gc_starts, 600)
    assert v.choices[v.answer] == lab01.VICTIM_CHOICES[right]  # (shuffled by seed)
    assert e.check(lab01.VICTIM_CHOICES[right])
    assert all(not e.check(i) for i in range(len(v.choices)) if i != v.answer)


def test_victim_band_can_say_each_thing():
    assert lab01.victim_band(1, 1, 5, 600) == 0
    assert lab01.victim_band(5, 1, 5, 600) == 1
    assert lab01.victim_band(5, 5, 5, 600) == 2
    assert lab01.victim_band(600, 1, 5, 600) == 3


@pytest.mark.parametrize("seed", SEEDS)
def test_pool_or_gogc_draws_the_run_at_gogc_400_under_the_limit(seed):
    v = ex(lab01.pool_or_gogc_under_limit, seed).variant
    lab = v.figure()
    assert lab.params.gogc == 400 and lab.params.memory_limit_mb == v.params["limit_mib"]
    assert str(round(lab.result.gc_cycles_per_s, 1)) in v.solution


def test_every_prediction_hint_names_a_runtime_mechanism():
    for name in PREDICTIONS:
        v = ex(getattr(lab01, name), 0).variant
        hints = [v.hint] if not v.is_choice else list(v.hints.values())
        assert hints and all(
            any(m in h for m in ("GOGC", "heapGoal", "mark worker", "sync.Pool", "mutex"))
            for h in hints
        ), name
