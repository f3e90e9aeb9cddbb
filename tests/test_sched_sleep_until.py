"""``sleep_until(deadline_ms)``: time.Sleep(time.Until(deadline)), and sysmon in its back-off.

A program that starts work at fixed times (``arrive := start.Add(k * every)``, then
``time.Sleep(time.Until(arrive))``) sleeps only for what is left; a goroutine that gets to run
after its deadline does not park at all (timeSleep, src/runtime/time.go:336-338: ``ns <= 0``
returns). ``simulate(sysmon_backoff=True)`` starts a process that has run a while: sysmon already
sleeps 10 ms between rounds (proc.go:6551-6555), at a phase drawn from the seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.models.scheduler import (
    Go,
    ProgramError,
    cpu,
    cpu_demand_ms,
    mark,
    simulate,
    sleep,
    sleep_until,
    spawn,
)
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.engine import Scheduler
from labkit.models.scheduler.programs import SLEEP_NOOP_MS, compile_steps
from labkit.models.scheduler.state import DEAD


def late_waiter(deadline_ms: float) -> Go:
    """main spawns the waiter, then a 5 ms hog that runs first (runnext): the waiter gets the
    P at 5 ms, after or before its deadline."""
    waiter = Go("waiter", [sleep_until(deadline_ms), mark("woke"), cpu(1.0)])
    return Go("main", [spawn(waiter), spawn(Go("hog", [cpu(5.0)]))])


def test_a_deadline_ahead_sleeps_until_it_and_no_longer():
    res = simulate(late_waiter(8.0), gomaxprocs=1)
    assert res.marks["woke"][0] == pytest.approx(8.0, abs=0.01)
    assert res.cpu_ms()["waiter"] == pytest.approx(1.0)


def test_a_deadline_already_past_does_not_park_and_costs_one_call():
    """The waiter reaches its 2 ms deadline at 5 ms: it goes on at once, with the call's CPU."""
    res = simulate(late_waiter(2.0), gomaxprocs=1)
    woke = res.marks["woke"][0]
    assert 5.0 < woke < 5.01
    assert res.cpu_ms()["waiter"] == pytest.approx(1.0 + SLEEP_NOOP_MS)
    assert res.stats["timers_fired"] == 0


def test_a_passed_deadline_does_not_yield_to_the_goroutine_in_runnext():
    """time.Sleep(d <= 0) returns without a schedule: the goroutine main spawned just before
    (in runnext) runs only when main is done; a deadline 0.1 ms ahead parks main, and the other
    runs meanwhile."""
    for first, expect_main_first in ((sleep_until(-1.0), True), (sleep_until(0.1), False)):
        other = Go("other", [mark("other")])
        main = Go("main", [spawn(other), first, mark("main"), cpu(0.5)])
        res = simulate(main, gomaxprocs=1)
        assert (res.marks["main"][0] < res.marks["other"][0]) is expect_main_first


def test_the_deadline_is_absolute_where_a_sleep_is_relative():
    """Both goroutines first wait 3 ms for the P behind a hog; then one sleeps until 6 ms, the
    other sleeps 6 ms from where it is."""
    until = Go("until", [sleep_until(6.0), mark("until")])
    rel = Go("rel", [sleep(6.0), mark("rel")])
    main = Go("main", [spawn(until), spawn(rel), spawn(Go("hog", [cpu(3.0)]))])
    res = simulate(main, gomaxprocs=1)
    assert res.marks["until"][0] == pytest.approx(6.0, abs=0.01)
    assert res.marks["rel"][0] == pytest.approx(9.0, abs=0.01)


def test_compiled_it_is_its_step_and_the_calls_cost_which_a_park_jumps_over():
    code = compile_steps([sleep_until(4.0)])
    assert [repr(s) for s in code] == ["sleep_until(4)", f"cpu({SLEEP_NOOP_MS:g})", "<return>"]


def test_cpu_demand_cannot_count_it_and_says_why():
    with pytest.raises(ProgramError, match="sleep_until.*deadline has passed"):
        cpu_demand_ms(Go("main", [sleep_until(1.0), cpu(1.0)]))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "5", True, None])
def test_a_bad_deadline_is_refused_where_the_program_is_written(bad):
    with pytest.raises(ProgramError, match=r"sleep_until\(deadline_ms\)"):
        sleep_until(bad)


# ---- sysmon_backoff ---------------------------------------------------------------------------


def first_preemption_ms(seed: int, **options) -> float:
    """When a loop without calls, running from t=0 on the only P, is stopped (the goroutine
    waiting behind it runs)."""
    other = Go("other", [mark("ran")])
    main = Go("main", [spawn(other), cpu(100.0, calls=False)])
    return simulate(main, gomaxprocs=1, seed=seed, **options).marks["ran"][0]


def test_a_backed_off_sysmon_stops_a_loop_10_to_20_ms_in_depending_on_its_phase():
    """Real Go's spinner, started after its program's calibration, stopped 14.6, 15.8 and
    17.4 ms in (labkit/golab/recorded/preempt.json); a fresh sysmon, still in its short
    rounds, stops it at the first round after 10 ms, the same for every seed."""
    backed_off = [first_preemption_ms(seed, sysmon_backoff=True) for seed in range(40)]
    assert 10.0 <= min(backed_off) < 11.5 and 18.5 < max(backed_off) <= 20.2
    assert len({round(t, 1) for t in backed_off}) >= 20
    fresh = {round(first_preemption_ms(seed), 3) for seed in range(10)}
    assert len(fresh) == 1


def test_the_back_off_is_the_state_a_long_run_leaves_sysmon_in():
    """A fresh process whose only goroutine computed for 100 ms, preempted but never in a
    syscall, leaves sysmon where sysmon_backoff starts it: past 50 idle rounds, 10 ms apart."""
    s = Scheduler(Go("main", [cpu(100.0, calls=False)]), 1, True, 1_000.0, 0)
    s.simulate()
    assert s.sm_idle > rt.SYSMON_IDLE_ROUNDS and s.sm_delay == rt.SYSMON_MAX_DELAY_MS
    started = Scheduler(Go("main", [cpu(1.0)]), 1, True, 1_000.0, 0, sysmon_backoff=True)
    started.first_sysmon_round_ms()
    assert (started.sm_idle, started.sm_delay) == (rt.SYSMON_IDLE_ROUNDS + 1, s.sm_delay)


def test_the_backoffs_phase_leaves_the_runtimes_draws_as_they_were():
    """The phase has a stream of its own, so work stealing's victims and every cheaprand choice
    are drawn as without it: a program sysmon never acts on runs the same, bit for bit. (With
    the OS layer, ``cores=n``, each of sysmon's rounds draws its overshoot from the OS stream,
    so fewer rounds move the draws that follow; the runtime's stay.)"""
    w = Go("w", [cpu(0.5), sleep(1.0), cpu(0.5)])
    main = Go("main", [spawn(w), spawn(Go("v", [cpu(0.3)])), cpu(2.0)])
    a = simulate(main, gomaxprocs=3, seed=3)
    b = simulate(main, gomaxprocs=3, seed=3, sysmon_backoff=True)
    assert a.stats["sysmon_ticks"] > b.stats["sysmon_ticks"]
    assert a.finished_ms == b.finished_ms
    assert np.array_equal(a.segments, b.segments)


# ---- over random programs -----------------------------------------------------------------------

work_ms = st.floats(0.0, 5.0, allow_nan=False)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    workers=st.lists(st.tuples(work_ms, st.floats(-1.0, 20.0), work_ms), min_size=1, max_size=8),
    gomaxprocs=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    backoff=st.booleans(),
)
def test_no_goroutine_wakes_before_its_deadline_and_every_one_finishes(
    workers, gomaxprocs, seed, backoff
):
    """Whatever runs around it, a goroutine goes past sleep_until(d) at d or later, and at once
    (within the call's CPU) when it gets there after d; the run's bookkeeping holds at every
    event (check_invariants) and every goroutine finishes."""
    gos = [
        Go(f"w{i}", [cpu(a), mark(f"at{i}"), sleep_until(d), mark(f"past{i}"), cpu(b)])
        for i, (a, d, b) in enumerate(workers)
    ]
    s = CheckedScheduler(
        Go("main", [spawn(g) for g in gos]), gomaxprocs, True, 10_000.0, seed,
        sysmon_backoff=backoff,
    )  # fmt: skip
    s.simulate()
    for i, (_a, d, _b) in enumerate(workers):
        reached, past = s.marks[f"at{i}"][0], s.marks[f"past{i}"][0]
        assert past >= d
        if reached >= d:
            assert past - reached <= SLEEP_NOOP_MS + 1e-9
    assert all(g.status == DEAD for g in s.gs)


class CheckedScheduler(Scheduler):
    """The model, checking its own bookkeeping after every event (as test_sched_properties)."""

    def after_event(self, t: float) -> None:
        self.check_invariants()
