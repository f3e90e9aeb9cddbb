"""Lab 1's answer keys, checked against the frame lab a learner reads and against the pacer's
rules worked by hand (src/runtime/mgcpacer.go, go1.27.3), for seeds 0-19."""

from __future__ import annotations

import math
import re
from functools import cache

import pytest

from labkit.exercise import Exercise
from labkit.exercises import lab01
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
    from labkit.render import NON_HEAP_MB

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
    from labkit.render import simulate_frames

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
    from labkit.exercise import Exercise
    from labkit.exercises import lab01

    ex = Exercise(lab01.gc_rate, seed=2)
    view = ex.widget()
    assert ex.variant.predict and view.figure is None
    view.answer(1)
    assert round(view.figure.result.gc_cycles_per_s, 2) == ex.variant.answer
