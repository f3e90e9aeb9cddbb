"""GC cycles through time (labkit.models.gcpacer.cycle), in the spirit of TestGcPacer (mgcpacer_test.go).

A table of allocation streams - constant, ramp, oscillating, random with a seed, a step - runs
through the model pacer; the checks are the runtime test's: the heap peaks near the goal once the
cons/mark estimate has converged, GC rate follows allocation rate / runway, and assists vanish
when background marking has spare CPU.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given

from labkit.models.gcpacer import (
    MARK_BYTES_PER_CPU_S,
    GCConfigError,
    GCCycle,
    GCEngine,
    format_gctrace,
    heap_goal_bytes,
    simulate_gc,
)
from labkit.models.gcpacer.gctrace import fmt_ns_as_ms
from tests.strategies_gc import gc_scenarios

MIB = 1 << 20
STEPS = 2000  # 20 s in 10 ms steps
K = np.arange(STEPS, dtype=float)

STREAMS = {
    "constant": np.full(STEPS, 100.0 * MIB),
    "ramp": MIB * (20.0 + 100.0 * K / STEPS),
    "oscillating": 100.0 * MIB * (1.0 + 0.5 * np.sin(2 * np.pi * K / 300.0)),
    "random": 100.0 * MIB * np.random.default_rng(1).uniform(0.5, 1.5, STEPS),
}


def _share_of_mark_cpu_in_assists(run) -> np.ndarray:
    assist = run.column("assist_cpu_s")
    return assist / (assist + run.column("background_cpu_s") + run.column("idle_cpu_s"))


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize(("procs", "mutator_cpus"), [(8, 2.0), (2, 1.8)])
def test_heap_peaks_near_the_goal(name, procs, mutator_cpus):
    """TestGcPacer's goal ratio: after a few cycles the heap at mark termination is close to the
    goal (the trigger was placed so marking ends there), never far beyond it."""
    run = simulate_gc(
        STREAMS[name], live_bytes=64 * MIB, gomaxprocs=procs, mutator_cpus=mutator_cpus
    )
    ratio = run.column("heap_end_bytes") / run.column("heap_goal_bytes")
    assert len(run.cycles) > 15
    assert np.all(ratio[5:] >= 0.85), ratio
    assert np.all(ratio[5:] <= 1.05), ratio


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_gc_rate_is_allocation_rate_over_the_runway(name):
    """Each cycle frees about goal - live bytes, so cycles/s ~ mean allocation rate / (goal -
    live); the early trigger costs a little runway, hence the 15 % tolerance."""
    run = simulate_gc(STREAMS[name], live_bytes=64 * MIB, gomaxprocs=8, mutator_cpus=2.0)
    runway = heap_goal_bytes(64 * MIB) - 64 * MIB
    expected = STREAMS[name].mean() / runway
    assert run.gc_cycles_per_s == pytest.approx(expected, rel=0.15)


def test_assists_vanish_once_cons_mark_is_learned():
    """The pacer's purpose: with idle CPU for the workers, the trigger comes early enough that
    the background workers finish alone - no assists in steady state (gctrace's 0/x/y)."""
    run = simulate_gc(STREAMS["constant"], live_bytes=64 * MIB, gomaxprocs=8, mutator_cpus=2.0)
    assert np.all(run.column("assist_cpu_s")[3:] == 0.0)


def test_first_cycle_assists_when_the_program_has_no_cons_mark_yet():
    """Without an estimate (consMark = 0) the first trigger is at 95 % of the runway; with only
    the fractional worker (GOMAXPROCS=2, no idle P) marking is late and allocators assist, then
    the measured cons/mark moves the trigger earlier and assists fade."""
    run = simulate_gc(STREAMS["constant"], live_bytes=64 * MIB, gomaxprocs=2, mutator_cpus=1.8)
    share = _share_of_mark_cpu_in_assists(run)
    assert share[0] > 0.3
    assert np.all(share[-5:] < 0.05)
    first, last = run.cycles[0], run.cycles[-1]
    assert last.heap_goal_bytes - last.trigger_bytes > 2 * (
        first.heap_goal_bytes - first.trigger_bytes
    )


def test_allocation_too_fast_for_background_marking_keeps_assists_on():
    """trigger() never starts below 45/64 of the runway (to bound RSS), so when 25 % of the CPU
    cannot mark the heap within that runway, assists stay on in every cycle."""
    run = simulate_gc(
        np.full(STEPS, 400.0 * MIB), live_bytes=64 * MIB, gomaxprocs=2, mutator_cpus=1.8
    )
    share = _share_of_mark_cpu_in_assists(run)
    assert np.all(share[5:] > 0.1)
    triggers = run.column("trigger_bytes")[5:]
    marked = np.array([c.heap_marked_bytes for c in run.cycles[4:-1]])
    goals = run.column("heap_goal_bytes")[5:]
    assert np.allclose(triggers, marked + (goals - marked) // 64 * 45, rtol=0, atol=64)


def test_matches_a_real_go_run():
    """The recording labkit/golab/recorded/gc_live.json (go1.27.3, GOMAXPROCS=2, 72 MiB live,
    180 MiB/s of 3 MiB frames, GODEBUG=gctrace=1): 2.8 GC/s, '135->138->78 MB, 156 MB goal',
    0 ms assist, ~25 ms mark; the model's cycle is taken against its figures."""
    from statistics import median

    from labkit.golab.gctrace import parse_line
    from labkit.golab.recorded import load_recorded

    real = load_recorded("gc_live")["runs"][0]["result"]
    lines = [parse_line(ln) for ln in real["gctrace_lines"]]
    run = simulate_gc(
        np.full(1000, 180.0 * MIB), live_bytes=72 * MIB, gomaxprocs=2, mutator_cpus=0.1
    )
    assert run.gc_cycles_per_s == pytest.approx(real["gc_per_s"], rel=0.1)
    last = run.cycles[-1]
    assert last.heap_start_bytes / MIB == pytest.approx(
        median(t.heap_start_mib for t in lines), rel=0.05
    )
    assert last.heap_goal_bytes / MIB == pytest.approx(median(t.goal_mib for t in lines), rel=0.05)
    assert last.assist_cpu_s == 0.0 == median(t.assist_ms for t in lines)
    assert last.mark_s * 1000 == pytest.approx(median(t.mark_clock_ms for t in lines), rel=0.3)


def test_every_marking_cpu_marks_at_the_same_speed():
    """A cycle with nothing else running (every P marks) takes half as long at two Ps as at one,
    with the same mark CPU: MARK_BYTES_PER_CPU_S is per marking CPU, as gc_parallel.json's
    pairs of forced cycles show for real Go (two workers at one worker's speed)."""
    marks = {}
    for procs in (1, 2):
        engine = GCEngine(gomaxprocs=procs, live_bytes=72 * MIB, mutator_cpus=0.0)
        engine.allocate(engine.trigger_bytes - engine.heap_live_bytes + 1)
        engine.advance(1.0)
        c = engine.cycles[0]
        cpu_s = c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s
        marks[procs] = (c.mark_s, cpu_s)
        assert c.heap_marked_bytes / cpu_s == pytest.approx(MARK_BYTES_PER_CPU_S)
    assert marks[2][0] == pytest.approx(marks[1][0] / 2)
    assert marks[2][1] == pytest.approx(marks[1][1])


def test_a_big_allocation_right_after_mark_starts_pays_a_big_assist():
    """gcAssistAlloc: debt = bytes * assistWorkPerByte; with no background credit banked yet the
    allocator scans it all. 64 MiB to scan, 3 MiB of runway left: 1 MiB costs 64/3 MiB of scan."""
    engine = GCEngine(live_bytes=64 * MIB, gomaxprocs=4, mutator_cpus=3.0, sweep_term_stw_s=1e-4)
    assert engine.trigger_bytes == 125 * MIB  # no cons/mark yet: 61/64 of the way to 128 MiB
    assert engine.allocate(61 * MIB) == 0.0  # crosses the trigger: gcStart stops the world
    assert engine.stopped and engine.gc_starts == 1
    engine.advance(1e-4)
    assert engine.marking
    assist_s = engine.allocate(1 * MIB)
    assert assist_s == pytest.approx((64 / 3) * MIB / MARK_BYTES_PER_CPU_S)


def test_a_pause_costs_only_the_time_that_has_passed():
    """Pause time is GC CPU on every P, accumulated as the pause goes by (gcStart adds
    now - finishedStopping times maxprocs, src/runtime/mgc.go:926), not all at once when the
    world stops: halfway through the sweep-termination pause that starts the program, every P
    has been stopped the whole time, so GC has had exactly 100 % of the CPU."""
    engine = GCEngine(live_bytes=64 * MIB, gomaxprocs=4, mutator_cpus=1.0, sweep_term_stw_s=1e-3)
    engine.allocate(61 * MIB)  # crosses the 125 MiB trigger at t=0: the world stops
    assert engine.stopped
    engine.advance(0.5e-3)
    assert engine.stopped and engine.gc_cpu_fraction() == pytest.approx(1.0)
    engine.advance(1e-3)
    assert engine.marking and engine.gc_cpu_fraction() == pytest.approx(1.0)


def test_an_allocation_assist_takes_time_and_the_mark_waits_for_it():
    """gcAssistAlloc1 drains on the allocating goroutine's P and the clock measures it
    (mgcmark.go:734-775); the mark cannot end while an assist drains (gcIsMarkDone needs
    work.nwait == work.nproc, mgc.go:1944). With GOMAXPROCS=1 the assist holds the only P, so
    the fractional worker cannot run beside it: an allocation that owes more than the whole
    mark scans all of it, the mark ends when it is done, and GC CPU stays at 100 %."""
    engine = GCEngine(live_bytes=64 * MIB, gomaxprocs=1, mutator_cpus=0.5, sweep_term_stw_s=1e-4)
    engine.allocate(61 * MIB)
    engine.advance(1e-4)
    assert engine.marking
    t0 = engine.now_s
    assist_s = engine.allocate(3 * MIB)  # 64 MiB to scan, 3 MiB of runway left: owes it all
    assert assist_s == pytest.approx(64 * MIB / MARK_BYTES_PER_CPU_S)
    engine.advance(t0 + assist_s / 2)
    assert engine.marking  # the assist still drains: the mark is not over
    engine.advance(t0 + 2 * assist_s)
    (cycle,) = engine.cycles
    assert cycle.mark_end_s == pytest.approx(t0 + assist_s)
    assert cycle.background_cpu_s == pytest.approx(0.0) and cycle.idle_cpu_s == 0.0
    assert cycle.gc_cpu_fraction <= 1.0 + 1e-12


def test_an_assist_that_owes_more_than_the_rest_does_its_share():
    """gcDrainN stops when its debt is paid or no grey object is left (mgcmark.go:1418): the
    dedicated worker drains the same queues, so an allocation owing more than the rest of the
    mark scans half of it beside one dedicated worker (GOMAXPROCS=4, no idle P), and both
    finish together."""
    engine = GCEngine(live_bytes=64 * MIB, gomaxprocs=4, mutator_cpus=3.0, sweep_term_stw_s=1e-4)
    engine.allocate(61 * MIB)
    engine.advance(1e-4)
    t0 = engine.now_s
    assist_s = engine.allocate(3 * MIB)
    assert assist_s == pytest.approx(32 * MIB / MARK_BYTES_PER_CPU_S)
    engine.advance(t0 + 2 * assist_s)
    (cycle,) = engine.cycles
    assert cycle.mark_end_s == pytest.approx(t0 + assist_s)
    assert cycle.background_cpu_s == pytest.approx(assist_s)


def test_assisting_mutators_take_the_idle_workers_ps():
    """An idle worker runs only on a P with nothing else to do and leaves it when a goroutine
    wants it (findRunnable, proc.go:3555; pollWork in gcDrain, mgcmark.go:1275). GOMAXPROCS=2,
    mutators on 0.1 CPU, an allocation rate the background cannot keep up with: the mutators
    assist on the idle Ps, so no cycle counts the same P-second as assist and idle marking."""
    run = simulate_gc(
        np.full(200, 4000.0 * MIB), live_bytes=64 * MIB, gomaxprocs=2, mutator_cpus=0.1
    )
    assert np.all(run.column("assist_cpu_s") > 0)
    _assert_cycles_fit_their_ps(run.cycles)


def _assert_cycles_fit_their_ps(cycles) -> None:
    """No cycle spends more CPU while marking than GOMAXPROCS Ps have in that time."""
    for c in cycles:
        used = c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s
        assert used <= c.gomaxprocs * c.mark_s * (1 + 1e-9) + 1e-12, c


def test_gc_off_never_runs_and_memory_limit_bounds_the_heap():
    """GOGC=off: no cycles. GOGC=off + GOMEMLIMIT: cycles only to keep the heap under the limit."""
    stream = np.full(500, 200.0 * MIB)
    assert simulate_gc(stream, gogc="off").cycles == ()
    run = simulate_gc(stream, gogc="off", memory_limit=256 * MIB, live_bytes=64 * MIB)
    assert len(run.cycles) > 3
    assert run.column("heap_end_bytes").max() <= 256 * MIB


def test_same_inputs_same_trace():
    """Deterministic: the model holds no randomness and no wall clock."""
    a = simulate_gc(STREAMS["random"], live_bytes=32 * MIB, gomaxprocs=3)
    b = simulate_gc(STREAMS["random"], live_bytes=32 * MIB, gomaxprocs=3)
    assert a.gctrace() == b.gctrace()
    assert np.array_equal(a.heap_bytes, b.heap_bytes)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alloc_bytes_per_s": []}, "alloc_bytes_per_s"),
        ({"alloc_bytes_per_s": [-1.0]}, "alloc_bytes_per_s"),
        ({"alloc_bytes_per_s": [1.0], "gomaxprocs": 0}, "gomaxprocs"),
        ({"alloc_bytes_per_s": [1.0], "step_s": 0}, "step_s"),
        ({"alloc_bytes_per_s": [1.0], "live_bytes": -1}, "live_bytes"),
        ({"alloc_bytes_per_s": [1.0], "mutator_cpus": -1}, "mutator_cpus"),
    ],
)
def test_bad_simulation_input_names_the_parameter(kwargs, name):
    """Bad input fails up front with a ValueError that names the parameter."""
    with pytest.raises(GCConfigError, match=name):
        simulate_gc(**kwargs)


@given(scenario=gc_scenarios())
@example(  # found by a random seed: the run ended inside a pause whose CPU was counted in full
    scenario={
        "alloc_bytes_per_s": np.full(43, 1.0 * MIB),
        "live_bytes": 0,
        "gogc": "off",
        "memory_limit": 8 * MIB,
        "gomaxprocs": 1,
        "stacks_bytes": 8 * MIB,
        "globals_bytes": 712495,
        "mutator_cpus": 0.0,
    }
)
@example(  # assists and idle marking were counted on the same P
    scenario={
        "alloc_bytes_per_s": np.full(20, 1.0 * MIB),
        "live_bytes": 98304001,
        "gogc": 0,
        "memory_limit": None,
        "gomaxprocs": 1,
        "stacks_bytes": 0,
        "globals_bytes": 0,
        "mutator_cpus": 0.0,
    }
)
def test_cycle_invariants_hold_for_any_stream(scenario):
    """Across random streams and settings: cycles are ordered and do not overlap, each phase
    follows the last (STW, mark, STW), the marked heap never exceeds the heap at mark
    termination, GC CPU share is in [0, 1], no cycle uses more CPU than its Ps have, and no
    cycle starts below its trigger."""
    run = simulate_gc(**scenario)
    previous_end = 0.0
    for c in run.cycles:
        assert previous_end <= c.start_s <= c.mark_start_s <= c.mark_end_s <= c.end_s
        assert c.heap_marked_bytes <= c.heap_end_bytes + 1
        assert c.heap_start_bytes >= c.trigger_bytes - 1
        assert 0.0 <= c.gc_cpu_fraction <= 1.0 + 1e-9
        assert c.assist_cpu_s >= 0 and c.background_cpu_s >= 0 and c.idle_cpu_s >= 0
        previous_end = c.end_s
    _assert_cycles_fit_their_ps(run.cycles)
    assert np.all(np.diff(run.t_s) >= 0)
    assert 0.0 <= run.gc_cpu_fraction <= 1.0 + 1e-9


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0"),
        (999, "0"),
        (5_000, "0.005"),
        (180_000, "0.18"),
        (1_234_567, "1.2"),
        (9_999_999, "9.9"),
        (12_345_678, "12"),
        (25_000_000, "25"),
    ],
)
def test_gctrace_milliseconds_format_like_the_runtime(ns, text):
    """fmtNSAsMS (mgc.go): whole ms from 10 ms, else two significant digits, <= 3 decimals."""
    assert fmt_ns_as_ms(ns) == text


def test_gctrace_line_has_the_runtime_fields():
    """gcMarkTermination's printout: number, @start, util%, clock STW+mark+STW, cpu
    STW+assist/background/idle+STW, heap0->heap1->heap2 MB, goal, stacks, globals, P."""
    cycle = GCCycle(
        number=7,
        start_s=1.1454,
        mark_start_s=1.14563,
        mark_end_s=1.16963,
        end_s=1.169689,
        trigger_bytes=135 * MIB,
        heap_goal_bytes=156 * MIB,
        heap_start_bytes=135 * MIB,
        heap_end_bytes=138 * MIB,
        heap_marked_bytes=78 * MIB,
        sweep_term_stw_s=0.23e-3,
        mark_term_stw_s=0.059e-3,
        assist_cpu_s=0.0,
        background_cpu_s=0.012,
        idle_cpu_s=0.029,
        stacks_bytes=0,
        globals_bytes=0,
        gomaxprocs=2,
        gc_cpu_fraction=0.031,
        assist_work_per_byte=1.0,
    )
    assert format_gctrace([cycle]) == (
        "gc 7 @1.145s 3%: 0.23+24+0.059 ms clock, 0.46+0/12/29+0.11 ms cpu, "
        "135->138->78 MB, 156 MB goal, 0 MB stacks, 0 MB globals, 2 P"
    )
    assert math.isclose(cycle.stw_s, 0.289e-3)
