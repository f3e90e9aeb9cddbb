"""When a sleeping render goroutine's timer fires: at once on a P that schedules, at a sysmon
round while every P runs a mark worker, up to 1 ms late through netpoll when every P is idle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labkit.models.gcpacer import wakeup
from labkit.models.renderloop import simulate_frames
from labkit.models.scheduler import runtime as rt

MS = 1e-3
ROUND_S = (rt.SYSMON_MAX_DELAY_MS + rt.TIMER_SLACK_MS) * MS  # 10.05 ms


def test_a_sysmon_round_is_its_longest_sleep_plus_the_timer_slack():
    assert wakeup.sysmon_round_s() == pytest.approx(ROUND_S)


def test_the_round_follows_the_scheduler_models_constants(monkeypatch):
    monkeypatch.setattr(rt, "SYSMON_MAX_DELAY_MS", 20.0)
    assert wakeup.sysmon_round_s() == pytest.approx((20.0 + rt.TIMER_SLACK_MS) * MS)


def test_a_worker_slice_ends_one_round_after_the_round_that_saw_it_start():
    # Rounds at 0, 10.05, 20.1, ... The worker starts at 1 ms; the round at 10.05 ms notes its
    # schedtick, the round at 20.1 ms finds it 10.05 ms >= forcePreemptNS later and preempts it.
    point = wakeup.first_scheduling_point(
        5 * MS, mark_start_s=1 * MS, asleep_since_s=0.5 * MS, sysmon_phase_s=0.0, worker_ps=1
    )
    assert point == pytest.approx(2 * ROUND_S)


def test_a_timer_due_after_the_first_preemption_waits_for_the_next_slice_to_end():
    # The next worker starts at 20.1 ms (a round), is noted at 30.15 and preempted at 40.2 ms.
    point = wakeup.first_scheduling_point(
        21 * MS, mark_start_s=1 * MS, asleep_since_s=0.5 * MS, sysmon_phase_s=0.0, worker_ps=1
    )
    assert point == pytest.approx(4 * ROUND_S)


def test_with_a_second_worker_p_the_earlier_of_the_two_slices_wakes_the_timer():
    # The sleeper's P took its worker at 12 ms (preempted at 30.15 ms); the other P at the
    # mark's start, 1 ms (preempted at 20.1 ms): the timer due at 15 ms fires at 20.1 ms.
    args = dict(mark_start_s=1 * MS, asleep_since_s=12 * MS, sysmon_phase_s=0.0)
    alone = wakeup.first_scheduling_point(15 * MS, **args, worker_ps=1)
    two = wakeup.first_scheduling_point(15 * MS, **args, worker_ps=2)
    assert alone == pytest.approx(3 * ROUND_S)
    assert two == pytest.approx(2 * ROUND_S)


def test_a_longer_force_preempt_makes_the_timer_later(monkeypatch):
    args = dict(mark_start_s=1 * MS, asleep_since_s=0.5 * MS, sysmon_phase_s=0.0, worker_ps=1)
    right = wakeup.first_scheduling_point(5 * MS, **args)
    monkeypatch.setattr(rt, "FORCE_PREEMPT_MS", 20.0)
    assert wakeup.first_scheduling_point(5 * MS, **args) > right


@given(
    due_ms=st.floats(0, 200),
    mark_share=st.floats(0, 1),
    asleep_share=st.floats(0, 1),
    phase_ms=st.floats(0, 10.05),
    worker_ps=st.integers(1, 8),
    goal=st.sampled_from([0.0, 0.25]),
)
def test_a_timer_never_fires_before_it_is_due_nor_later_than_two_rounds_and_a_turn(
    due_ms, mark_share, asleep_share, phase_ms, worker_ps, goal
):
    """The goroutine fell asleep and the mark began before the timer was due (labkit.models.renderloop
    asks only then); a worker's slice lasts two rounds at most, so the first preemption at or
    after the due time is at most two rounds after it. With a fractional goal the fractional
    worker's turn follows, at most 0.3 / 0.7 of the mark's time by then."""
    mark_start_s = due_ms * mark_share * MS
    point = wakeup.first_scheduling_point(
        due_ms * MS,
        mark_start_s=mark_start_s,
        asleep_since_s=due_ms * asleep_share * MS,
        sysmon_phase_s=phase_ms * MS,
        worker_ps=worker_ps,
        fractional_goal=goal,
    )
    preempted = due_ms * MS + 2 * ROUND_S
    turn = 0.3 * (preempted - mark_start_s) / 0.7 if goal else 0.0
    assert due_ms * MS <= point <= preempted + turn + 1e-12


@pytest.mark.parametrize(
    ("point_ms", "worked_ms", "turn_ms"),
    [
        (20.0, 0.0, 0.3 * 19 / 0.7),  # 19 ms into the mark, nothing yet: 8.14 ms
        (20.0, 4.0, (0.3 * 19 - 4) / 0.7),  # 4 of 19 ms (21 %, behind 25 %): 2.43 ms
        (20.0, 5.0, 0.0),  # 5 of 19 ms (26 %): ahead of its goal, no turn
    ],
)
def test_the_fractional_worker_runs_until_its_share_is_a_fifth_over_its_goal(
    point_ms, worked_ms, turn_ms
):
    """pollFractionalWorkerExit (src/runtime/mgc.go:310-322): the worker leaves when its share
    of the mark's time passes 1.2 x the goal, 0.3 of it at GOMAXPROCS 1-3; findRunnableGCWorker
    (mgcpacer.go:834-841) runs it only while its share is at most the goal."""
    turn = wakeup.fractional_rerun_s(
        point_ms * MS, mark_start_s=1 * MS, goal=0.25, worked_s=worked_ms * MS
    )
    assert turn == pytest.approx(turn_ms * MS, abs=1e-12)
    if turn:
        share = (worked_ms * MS + turn) / ((point_ms - 1) * MS + turn)
        assert share == pytest.approx(wakeup.FRACTIONAL_EXIT_SLACK * 0.25)


def test_without_a_fractional_goal_there_is_no_fractional_turn():
    """GOMAXPROCS=4: one dedicated worker makes the 25 %, no fractional one (startCycle,
    mgcpacer.go:403-418; labkit.models.gcpacer.mark_worker_plan)."""
    assert wakeup.fractional_rerun_s(0.05, mark_start_s=0.0, goal=0.0) == 0.0


def test_the_fractional_worker_goes_before_the_woken_goroutine():
    """One P, a worker since 1 ms, the timer due at 5 ms: the P schedules at the preemption
    (20.1 ms), its timer check readies the frame, and the fractional worker, behind its 25 %,
    takes the P first (proc.go:3447-3452): the frame runs 0.3 x 19.1 / 0.7 ms later."""
    args = dict(mark_start_s=1 * MS, asleep_since_s=0.5 * MS, sysmon_phase_s=0.0, worker_ps=1)
    first = 2 * ROUND_S
    point = wakeup.first_scheduling_point(5 * MS, **args, fractional_goal=0.25)
    assert point == pytest.approx(first + 0.3 * (first - 1 * MS) / 0.7)


def test_a_timer_due_while_the_fractional_worker_runs_fires_when_it_leaves():
    args = dict(mark_start_s=1 * MS, asleep_since_s=0.5 * MS, sysmon_phase_s=0.0, worker_ps=1)
    leaves = wakeup.first_scheduling_point(5 * MS, **args, fractional_goal=0.25)
    assert wakeup.first_scheduling_point(leaves - 1 * MS, **args, fractional_goal=0.25) == leaves


def test_no_p_to_run_workers_is_refused():
    with pytest.raises(ValueError, match="worker_ps must be >= 1"):
        wakeup.first_scheduling_point(
            0.01, mark_start_s=0, asleep_since_s=0, sysmon_phase_s=0, worker_ps=0
        )


@pytest.mark.parametrize(
    ("asleep_ms", "due_ms", "wakes_ms"),
    [
        (0.0, 0.1, 1.0),  # under 1 ms: one 1 ms wait (Sleep(100us) took 1.095 ms, recorded)
        (0.0, 1.5, 2.0),  # 1 ms, then 1 ms more for the rest (Sleep(1.5ms): 2.17 ms)
        (0.0, 3.0, 3.0),  # whole milliseconds: on time
        (5.0, 16.7, 17.0),  # a 60 fps frame's timer after a 5 ms frame: 11 ms + 1 ms
        (5.0, 4.0, 5.0),  # already due when the goroutine parked: at once
    ],
)
def test_an_idle_program_wakes_its_timer_through_netpoll_in_whole_milliseconds(
    asleep_ms, due_ms, wakes_ms
):
    assert wakeup.netpoll_wake_s(asleep_ms * MS, due_ms * MS) == pytest.approx(wakes_ms * MS)


def test_netpoll_waits_as_the_scheduler_model_does():
    assert [rt.netpoll_wait_ms(d) for d in (-1, 0, 0.2, 1.0, 2.7)] == [0, 0, 1, 1, 2]


def _in_gc_cycle(r) -> np.ndarray:
    """Each frame: does it overlap a GC cycle (sweep termination to mark termination's end)?"""
    start_s = r.frame_t_s
    end_s = r.frame_t_s + r.frame_ms / 1000
    return np.array(
        [
            any(c.start_s <= e and s <= c.end_s for c in r.gc_cycles)
            for s, e in zip(start_s, end_s, strict=True)
        ]
    )


def test_on_one_p_the_janky_frames_wait_for_their_timer_inside_gc_cycles():
    """GOMAXPROCS=1, nothing else running: the render goroutine's timer is late only while a
    mark worker holds the P; outside a cycle the wait is netpoll's rounding, under 1 ms."""
    r = simulate_frames(gomaxprocs=1, producers=0, seconds=10, seed=0)
    in_gc = _in_gc_cycle(r)
    late = r.wait_ms > 1.0 + 1e-9
    assert late.any()
    assert in_gc[late].all()


def test_without_the_workers_preemption_rule_the_mark_would_not_delay_frames(monkeypatch):
    """The delay is sysmon's: make forcePreemptNS longer and the frames in a cycle wait longer."""
    right = simulate_frames(gomaxprocs=1, producers=0, seconds=10, seed=0)
    monkeypatch.setattr(rt, "FORCE_PREEMPT_MS", 30.0)
    slower = simulate_frames(gomaxprocs=1, producers=0, seconds=10, seed=0)

    def median_wait_ms(r):
        return np.median(r.wait_ms[r.wait_ms > 1.0])

    # (the longest waits end with the mark either way)
    assert median_wait_ms(slower) > median_wait_ms(right) + 5
    assert slower.jank_fraction > 5 * right.jank_fraction


def test_on_one_p_the_fractional_worker_makes_the_late_frames_wait_longer(monkeypatch):
    """Chapter 1's stall (one P, four producers at a tenth of a CPU): without the fractional
    worker (a goal of 0) the frames wait only for the idle worker's preemption and the producers
    readied with them, and no frame waits past two rounds and their bursts; with it, more frames
    miss and the longest waits pass that, as in the recorded trace (chapter 1: 15-30 ms)."""
    settings = dict(gomaxprocs=1, producers=4, producer_cpu_fraction=0.1, seconds=10, seed=0)
    right = simulate_frames(**settings)
    real_mark = wakeup.one_p_mark
    monkeypatch.setattr(
        "labkit.models.renderloop.one_p_mark",
        lambda cpu_ms, **kw: real_mark(cpu_ms, **{**kw, "fractional_goal": 0.0}),
    )
    without = simulate_frames(**settings)
    bursts_ms = 4 * 1.0
    assert without.wait_ms.max() <= 2 * ROUND_S * 1000 + bursts_ms + 1
    assert right.wait_ms.max() > 2 * ROUND_S * 1000 + bursts_ms + 1
    assert right.jank_fraction > 1.5 * without.jank_fraction


# --- one P through a mark: the program runs only when a worker gives the P back -------------

DASHBOARD_MARK = dict(
    sleepers=4, burst_ms=1.0, slice_ms=10.0, frame_ms=2.8, period_ms=1000 / 60,
    fractional_goal=0.25,
)  # fmt: skip


def test_on_one_p_the_marks_time_is_the_programs_the_fractional_workers_and_the_idle_workers():
    m = wakeup.one_p_mark(34.0, sysmon_phase_ms=0.0, **DASHBOARD_MARK)
    assert m.mark_ms == pytest.approx(m.mutator_ms + m.fractional_ms + m.idle_ms)
    assert m.fractional_ms + m.idle_ms == pytest.approx(34.0)


def _sleepers_alone(mark_cpu_ms, *, sleepers, burst_ms, fractional_goal):
    """A one-P mark of producers with 10 ms slices and no frames due."""
    return wakeup.one_p_mark(
        mark_cpu_ms, sleepers=sleepers, burst_ms=burst_ms, slice_ms=10.0, frame_ms=0.0,
        period_ms=1e9, fractional_goal=fractional_goal, sysmon_phase_ms=0.0,
    )  # fmt: skip


def test_an_idle_worker_keeps_the_p_past_the_producers_timers_until_sysmon_preempts_it():
    # One producer of 1 ms every 10 ms and no frames due: alone it would take 0.1 of the P. Its
    # timer expires 10 ms after its burst, but the idle worker that took the P then holds it
    # until sysmon's second round (20.1 ms), so it bursts once per two rounds: ~0.05.
    m = _sleepers_alone(200.0, sleepers=1, burst_ms=1.0, fractional_goal=0.0)
    assert m.fractional_ms == 0.0
    assert m.mutator_share == pytest.approx(1.0 / (2 * ROUND_S / MS), rel=0.1)


def test_the_fractional_worker_takes_between_its_goal_and_a_fifth_over_it():
    m = wakeup.one_p_mark(200.0, sysmon_phase_ms=0.0, **DASHBOARD_MARK)
    share = m.fractional_ms / m.mark_ms
    assert 0.25 <= share <= wakeup.FRACTIONAL_EXIT_SLACK * 0.25 + 0.01


def test_a_program_that_never_sleeps_is_not_held_back():
    # Producers busy their whole slice are never asleep: there is always a goroutine to run,
    # so no idle worker starts and only the fractional worker's share is taken.
    m = _sleepers_alone(100.0, sleepers=2, burst_ms=10.0, fractional_goal=0.25)
    assert m.idle_ms == 0.0
    assert m.mutator_share == pytest.approx(1 - m.fractional_ms / m.mark_ms)


@given(
    mark_cpu_ms=st.floats(0.1, 300.0),
    sleepers=st.integers(0, 12),
    cpu=st.floats(0.0, 1.0),
    frame_ms=st.floats(0.0, 30.0),
    phase_ms=st.floats(0.0, 10.0),
)
def test_a_one_p_mark_accounts_for_every_ms_and_never_gives_the_program_more_than_it_asks(
    mark_cpu_ms, sleepers, cpu, frame_ms, phase_ms
):
    m = wakeup.one_p_mark(
        mark_cpu_ms, sleepers=sleepers, burst_ms=cpu * 10.0, slice_ms=10.0,
        frame_ms=frame_ms, period_ms=1000 / 60, fractional_goal=0.25, sysmon_phase_ms=phase_ms,
    )  # fmt: skip
    assert min(m.mutator_ms, m.fractional_ms, m.idle_ms) >= 0
    assert m.mark_ms == pytest.approx(m.mutator_ms + m.fractional_ms + m.idle_ms)
    assert m.fractional_ms + m.idle_ms == pytest.approx(mark_cpu_ms)
    # Beyond the frame that started the cycle, no more than its demand: the sleepers' share of
    # their slices and a frame per period (plus one frame and one burst each begun at the end).
    demand = sleepers * cpu + frame_ms / (1000 / 60)
    extra = frame_ms * 2 + sleepers * cpu * 10.0
    assert m.mutator_ms <= demand * m.mark_ms + extra + 1e-6


def test_the_frame_models_one_p_marks_are_real_gos_length_not_twice_it():
    # gc_render.json, GOMAXPROCS=1, fresh frames: real marks of 42-57 ms (gctrace). Counting the
    # producers' 0.4 CPU through the mark, the model's lasted 92 ms.
    r = simulate_frames(
        gomaxprocs=1, producers=4, producer_cpu_fraction=0.1, live_heap_mb=67, seconds=6.0
    )
    marks_ms = [1000 * (c.mark_end_s - c.mark_start_s) for c in r.gc_cycles]
    assert marks_ms and max(marks_ms) < 70


def test_without_the_one_p_schedule_the_marks_would_last_as_long_as_before(monkeypatch):
    import labkit.models.renderloop as renderloop

    monkeypatch.setattr(renderloop._OnePMarks, "mutator_cpus", lambda self: float("inf"))
    r = simulate_frames(
        gomaxprocs=1, producers=4, producer_cpu_fraction=0.1, live_heap_mb=67, seconds=6.0
    )
    marks_ms = [1000 * (c.mark_end_s - c.mark_start_s) for c in r.gc_cycles]
    assert np.median(marks_ms) > 85


def test_with_two_ps_the_program_keeps_its_cpu_through_a_mark():
    two = simulate_frames(gomaxprocs=2, producers=4, producer_cpu_fraction=0.1, seconds=4.0)
    marks_ms = [1000 * (c.mark_end_s - c.mark_start_s) for c in two.gc_cycles]
    # gc_render.json at two Ps: 24-28 ms marks with the program's full 0.55 CPU
    assert marks_ms and all(20 < m < 35 for m in marks_ms)


def test_a_mark_of_any_length_ends():
    # Found by lab 1's seeded exercises (96 MiB live): the work left came to a few ulps above
    # zero, which adding it to the marked time could not remove, and the loop never ended.
    settings = {**DASHBOARD_MARK, "frame_ms": 2.5355999097773747}
    m = wakeup.one_p_mark(62.02998991935484, sysmon_phase_ms=1.25625, **settings)
    assert m.fractional_ms + m.idle_ms == pytest.approx(62.02998991935484)


def test_past_the_simulated_part_of_a_very_long_mark_the_loop_falls_back_to_the_preemptions():
    # 4 GiB live on one P: ~2.6 s of marking, of which _OnePMarks runs the first second. A frame
    # due past that is left to first_scheduling_point (None), not sent to the mark's end.
    from labkit.models.renderloop import MAX_MARK_SIMULATED_MS, FrameParams, _FrameDraws, _OnePMarks

    p = FrameParams.make(None, gomaxprocs=1, live_heap_mb=4096)
    marks = _OnePMarks(p, _FrameDraws.draw(p))
    assert marks.mark_cpu_ms == MAX_MARK_SIMULATED_MS
    schedule_ms = marks.at(0.0).mark_ms
    assert marks.wake_s(0.5 * schedule_ms / 1000, 0.0, 0.0) is not None
    assert marks.wake_s(1.01 * schedule_ms / 1000, 0.0, 0.0) is None


def test_a_readied_goroutine_takes_runnext_and_the_one_it_displaces_goes_to_the_tail():
    # Expired in the order p0, p1, p2 at the first scheduling point: ready(next=true) puts each
    # in runnext and moves the one there to the queue's tail, so p2 runs first, then p0, p1.
    state = wakeup._OneP(3, 10.0, 1e9, 0.0)
    state.t, state.frame_due = 5.0, 1e9
    state.wake = [1.0, 2.0, 3.0]
    state.fire_timers()
    assert state.queue == [2, 0, 1]
