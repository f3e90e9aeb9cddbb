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
    assert slower.wait_ms.max() > right.wait_ms.max() + 5


def test_on_one_p_the_fractional_worker_makes_the_late_frames_wait_longer(monkeypatch):
    """Chapter 1's stall (one P, four producers at a tenth of a CPU): without the fractional
    worker's turn (a goal of 0) the frames wait only for the preemption, as the model did before
    it, and no frame waits past two rounds; with it, more than twice as many frames miss and
    the longest waits pass two rounds, as in the recorded trace (chapter 1: 15-30 ms)."""
    settings = dict(gomaxprocs=1, producers=4, producer_cpu_fraction=0.1, seconds=10, seed=0)
    right = simulate_frames(**settings)
    real_point = wakeup.first_scheduling_point
    monkeypatch.setattr(
        "labkit.models.renderloop.first_scheduling_point",
        lambda due, **kw: real_point(due, **{**kw, "fractional_goal": 0.0}),
    )
    without = simulate_frames(**settings)
    assert without.wait_ms.max() <= 2 * ROUND_S * 1000 + 1
    assert right.wait_ms.max() > 2 * ROUND_S * 1000 + 5
    assert right.jank_fraction > 2 * without.jank_fraction
