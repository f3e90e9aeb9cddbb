"""Chapters 2 and 3's predictions (issue #17: predict, then see): each key is read from the run,
profile or trace the exercise then draws, the figure waits for Check, the mistakes each question
is about are refused, and a wrong answer's hint names the runtime function behind the answer."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.exercises import ch02, ch03
from labkit.exercises.seeded import Exercise
from labkit.models.scheduler import simulate
from labkit.profiles import load_profile
from labkit.scenarios.blindspots import PRESETS, run_lab

SEEDS = range(8)


def _wrong(ex: Exercise) -> dict[str, float]:
    """The named mistakes of the exercise's variant, each computed from its parameters."""
    v, p = ex.variant, ex.variant.params
    make = ex._make
    if make is ch02.run_position:
        return {"first in, first out": p["k"], "last in, first out": p["n"] - p["k"] + 1}
    if make is ch02.locked_makespan:
        return {"a P taken away": p["one_p_ms"], "twice the unlocked run": 2 * p["unlocked_ms"]}
    if make is ch02.syscall_threads:
        arrivals = p["share"] * p["block_ms"] / 0.2  # Little's law on the arrival rate
        return {"GOMAXPROCS": 2, "the network version": p["net_threads"], "arrivals": arrivals}
    if make is ch02.loop_p99:
        if p["async_preempt"]:
            return {"the whole loop": p["hog_ms"], "one request": 1.0}
        return {"preempted by signal": run_lab(PRESETS["2.3"].fix).metrics["p99_ms"]}
    if make is ch02.global_after_burst:
        return {"all of them": p["n"], "none": 0, "all beyond 257": p["n"] - 257}
    if make is ch02.late_frames:
        if p["hogs"] >= p["gomaxprocs"]:
            return {"none": 0, "all": p["frames"]}
        return {"as with every P busy": 10, "all": p["frames"]}
    if make is ch02.lab_makespan:
        return {"no stealing": p["one_p_ms"], "twice the Ps": p["one_p_ms"] / 2 / p["gomaxprocs"]}
    if make is ch03.alloc_gc_share:
        if p["scenario"] == "alloc":
            return {"a few %": 5, "nearly all": 90}
        return {"as without the pool": 40, "halved": 20}
    if make is ch03.runnable_in_dump:
        return {"every ingest": p["ingest"], "network waits too": p["ingest"] + 5, "running": 2}
    if make is ch03.longest_sleep:
        if p["hogs"] == 2:
            return {"as asked": 4, "until the hogs end": 200, "forcePreemptNS alone": 10}
        return {"as with two hogs": 20, "a time slice": 14}
    raise AssertionError(v.question)


EXERCISES = [
    ch02.run_position,
    ch02.locked_makespan,
    ch02.syscall_threads,
    ch02.loop_p99,
    ch02.global_after_burst,
    ch02.late_frames,
    ch02.lab_makespan,
    ch03.alloc_gc_share,
    ch03.runnable_in_dump,
    ch03.longest_sleep,
]
#: The runtime function each question's wrong-answer hint must name.
MECHANISM = {
    ch02.run_position: "runqput",
    ch02.locked_makespan: "stoplockedm",
    ch02.syscall_threads: "entersyscall",
    ch02.loop_p99: "preemptone",
    ch02.global_after_burst: "runqputslow",
    ch02.late_frames: "(*timers).check",
    ch02.lab_makespan: "runqsteal",
    ch03.alloc_gc_share: "mallocgc",
    ch03.runnable_in_dump: "runqput",
    ch03.longest_sleep: "(*timers).check",
}


@pytest.mark.parametrize("make", EXERCISES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", SEEDS)
def test_the_key_is_right_the_mistakes_are_refused_and_the_figure_waits(make, seed):
    ex = Exercise(make, seed=seed)
    v = ex.variant
    assert v.predict and not v.is_choice
    assert ex.check(v.answer) and ex.check(f"{v.answer:.2f}")
    for name, value in _wrong(ex).items():
        if abs(value - v.answer) > 1e-9:
            assert not ex.check(value), f"{name} ({value}) accepted for {v.params}"
    view = ex.widget()
    assert view.figure is None, "the answer's figure is drawn only after Check"
    wrong = next(x for x in _wrong(ex).values() if not ex.check(x))
    said = view.answer(wrong)
    assert said.startswith("Not quite") and MECHANISM[make] in said
    assert view.figure is not None
    assert "You predicted" in view._truth.value


def test_the_variants_cover_both_sides_of_each_question():
    """Across seeds, each question asks both the stall and the case without it."""

    def seen(make, key):
        return {repr(Exercise(make, seed=s).variant.params[key]) for s in range(16)}

    assert seen(ch02.loop_p99, "async_preempt") == {"True", "False"}
    assert len(seen(ch02.late_frames, "hogs")) >= 3
    assert seen(ch03.alloc_gc_share, "scenario") == {"'alloc'", "'pooled'"}
    assert seen(ch03.longest_sleep, "hogs") == {"1", "2"}
    assert len(seen(ch02.lab_makespan, "gomaxprocs")) == 4


@pytest.mark.parametrize("seed", SEEDS)
def test_the_spawn_order_is_runnext_then_the_queue_and_the_figure_is_that_run(seed):
    ex = Exercise(ch02.run_position, seed=seed)
    n, k = ex.variant.params["n"], ex.variant.params["k"]
    assert ex.variant.params["order"] == [n, *range(1, n)]  # by hand: runnext, then FIFO
    assert ex.variant.answer == k + 1
    view = ex.widget()
    view.answer(ex.variant.answer)
    assert ch02.run_order(view.figure._result, n) == [n, *range(1, n)]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_global_queue_holds_whole_overflows_of_129(seed):
    ex = Exercise(ch02.global_after_burst, seed=seed)
    n, got = ex.variant.params["n"], int(ex.variant.answer)
    overflows = 0 if n < 258 else 1 + (n - 258) // 129  # runqputslow: 128 + the new one
    assert got == 129 * overflows


def test_the_lock_costs_no_p_and_system_calls_cost_threads():
    """By hand: locked, the requests still finish near the unlocked makespan, far from one P's;
    the syscall peak is near Little's law on the Ps' pace (2 per ms x share x block)."""
    for seed in SEEDS:
        v = Exercise(ch02.locked_makespan, seed=seed).variant
        assert v.answer < 1.05 * v.params["unlocked_ms"] < 0.7 * v.params["one_p_ms"]
        s = Exercise(ch02.syscall_threads, seed=seed)
        estimate = 2 * s.variant.params["share"] * s.variant.params["block_ms"]
        assert s.check(estimate + 3)  # the calls in flight, the Ps' threads and sysmon's


def test_late_frames_only_when_every_p_runs_a_hog():
    for seed in range(16):
        v = Exercise(ch02.late_frames, seed=seed).variant
        busy = v.params["hogs"] >= v.params["gomaxprocs"]
        assert (v.answer >= 8) if busy else (v.answer <= 1)


@pytest.mark.parametrize("seed", range(20))
def test_the_dumps_runnable_count_is_read_from_its_text(seed):
    """... and is what the hint's rule gives, ingest goroutines less GOMAXPROCS, at every seed:
    the dump is taken before any ingest goroutine is done (with 4 or 6 of them the first ends at
    380 ms, so a dump at 400 ms is moved earlier)."""
    ex = Exercise(ch03.runnable_in_dump, seed=seed)
    p = ex.variant.params
    res = simulate(ch03.dashboard_program(p["ingest"]), gomaxprocs=2, until_ms=3_000, seed=1)
    text = res.goroutine_dump(p["at_ms"])
    assert text.count("[runnable]") == ex.variant.answer
    assert text.count("[running]") == 2 and ex.variant.answer == p["ingest"] - 2


def test_the_dashboard_is_the_chapters():
    """Section 3's program: 8 ingest goroutines, and the dump at 350 ms the chapter prints."""
    res = simulate(ch03.dashboard_program(), gomaxprocs=2, until_ms=3_000, seed=1)
    dump = load_profile(res.goroutine_dump(350.0).encode(), name="dump")
    assert dump.goroutine_states() == {"runnable": 6, "IO wait": 5, "running": 2, "sleep": 2}


def test_the_profile_share_is_the_flame_graphs_search():
    from labkit.widgets import FlameGraph

    for seed in range(4):
        ex = Exercise(ch03.alloc_gc_share, seed=seed)
        view = ex.widget()
        view.answer(ex.variant.answer)
        graph = view.figure
        assert graph.search(ch03.ALLOC_GC) * 100 == pytest.approx(ex.variant.answer)
        assert isinstance(graph, FlameGraph)


def test_the_longest_sleep_is_the_traces():
    from labkit.golab import run_twin

    for hogs, seed in ((2, 1), (1, 0)):
        ex = Exercise(ch03.longest_sleep, seed=seed)
        assert ex.variant.params["hogs"] == hogs
        slept = ch03.render_sleeps(run_twin("timer_stall", source="recorded", hogs=hogs).trace)
        assert slept.size == 30 and ex.variant.answer == pytest.approx(float(np.max(slept)))
        assert (ex.variant.answer > 14) == (hogs == 2)
