"""Invariants of the scheduler model over random programs (hypothesis).

Whatever the program, the runtime never loses or duplicates a G, gives each G exactly the CPU its
code asked for, runs at most one G per P and each G on at most one P at a time, and lets every
goroutine finish unless the program deadlocks (which it reports, as checkdead does).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies_sched import programs, sim_kwargs

from labkit.models.scheduler import Result, SchedParams, cpu_demand_ms, simulate
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.engine import Scheduler

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
UNTIL_MS = 100_000.0  # far beyond what any drawn program needs (a few hundred ms at most)


class CheckedScheduler(Scheduler):
    """The model, checking its own bookkeeping (check_invariants) after every event."""

    def after_event(self, t: float) -> None:
        self.check_invariants()


def run_checked(main, **kw) -> Result:
    s = CheckedScheduler(main, kw["gomaxprocs"], kw["async_preempt"], UNTIL_MS, kw["seed"])
    s.simulate()
    return Result.from_scheduler(s, SchedParams(until_ms=UNTIL_MS, **kw), main.name)


@SETTINGS
@given(main=programs(), kw=sim_kwargs)
def test_no_g_lost_and_every_g_finishes(main, kw):
    """Without channels nothing can block forever: every G is in exactly one place at every
    event (check_invariants), and every G finishes (the model's main waits for all of them)."""
    res = run_checked(main, **kw)
    assert res.deadlock is None
    assert all(v is not None for v in res.finished_ms.values()), res.finished_ms


@SETTINGS
@given(main=programs(channels=True), kw=sim_kwargs)
def test_channels_finish_or_report_deadlock(main, kw):
    """With channels, a run either finishes every G or reports Go's deadlock naming the stuck
    goroutines (checkdead); it never stops silently with Gs left."""
    res = run_checked(main, **kw)
    unfinished = [
        g for g, v in res.finished_ms.items() if v is None and res.created_ms[g] is not None
    ]
    if res.deadlock is None:
        assert not unfinished
    else:
        assert res.deadlock.startswith("fatal error: all goroutines are asleep - deadlock!")
        for g in unfinished:
            assert f": {g} blocked in" in res.deadlock


@SETTINGS
@given(main=programs(channels=True), kw=sim_kwargs)
def test_cpu_time_equals_demand_and_no_overlaps(main, kw):
    """Each G's segments add up to what its steps asked for (cpu_demand_ms) and its channel
    operations' fast paths took (Result.chan_op_ms) when it finished; no P runs two Gs at once
    and no G runs on two Ps at once."""
    res = simulate(main, until_ms=UNTIL_MS, **kw)
    demand = cpu_demand_ms(main)
    got = res.cpu_ms()
    for g, done in res.finished_ms.items():
        asked = demand[g] + res.chan_op_ms.get(g, 0.0)
        if done is not None:
            assert math.isclose(got[g], asked, rel_tol=1e-9, abs_tol=1e-9), (g, got[g], asked)
        else:
            assert got[g] <= asked + 1e-9
    seg = res.segments
    assert np.all(seg["end_ms"] > seg["start_ms"])
    for key in ("p", "g"):
        for v in np.unique(seg[key]):
            mine = seg[seg[key] == v]
            mine = mine[np.argsort(mine["start_ms"], kind="stable")]
            assert np.all(mine["end_ms"][:-1] <= mine["start_ms"][1:] + 1e-12), (key, v)


@SETTINGS
@given(main=programs(channels=True), kw=sim_kwargs)
def test_sharing_a_channel_costs_only_across_ps_and_never_a_negative_wait(main, kw):
    """What a channel shared between Ps costs a goroutine (spinning for its lock, its lines from
    the other CPU: Result.chan_shared_ms) is never negative and is part of its channel
    operations' CPU; on one P it never arises."""
    res = simulate(main, until_ms=UNTIL_MS, **kw)
    for g, shared in res.chan_shared_ms.items():
        assert 0 < shared <= res.chan_op_ms[g] - rt.CHAN_OP_MS + 1e-12, (g, shared)
    if kw["gomaxprocs"] == 1:
        assert res.chan_shared_ms == {}


@SETTINGS
@given(main=programs(channels=True), kw=sim_kwargs)
def test_state_counts_sum_to_live_goroutines_and_times_move_forward(main, kw):
    """At every row of ``states`` the four counts add up to the goroutines created and not yet
    finished; every G's history only moves forward in time (no negative waits)."""
    res = simulate(main, until_ms=UNTIL_MS, **kw)
    st = res.states
    total = st["running"] + st["runnable"] + st["waiting"] + st["syscall"]
    created = {g: c for g, c in res.created_ms.items() if c is not None}
    for t, n in zip(st["t_ms"].tolist(), total.tolist(), strict=True):
        live = sum(
            1
            for g, c in created.items()
            if c <= t and (res.finished_ms[g] is None or res.finished_ms[g] > t)
        )
        dead_now = sum(1 for g in created if res.finished_ms[g] == t)
        assert live <= n <= live + dead_now, (t, n, live)
    assert np.all(np.diff(st["t_ms"]) > 0)
    for g in res._goroutines:
        times = [h[0] for h in g["history"]]
        assert times == sorted(times), g["name"]
    for g, start in zip(res.segments["g"].tolist(), res.segments["start_ms"].tolist(), strict=True):
        assert start >= created[g]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(main=programs(channels=True), kw=sim_kwargs)
def test_same_arguments_same_result_bit_for_bit(main, kw):
    """One seeded generator per run and a sequence number for ties: identical inputs give
    identical results, arrays compared exactly."""
    a = simulate(main, until_ms=UNTIL_MS, **kw)
    b = simulate(main, until_ms=UNTIL_MS, **kw)
    assert a.finished_ms == b.finished_ms and a.marks == b.marks and a.stats == b.stats
    for name in ("segments", "event_log", "thread_segments"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    for d in ("states", "runq", "threads"):
        for k in getattr(a, d):
            assert np.array_equal(getattr(a, d)[k], getattr(b, d)[k])
    assert a.goroutine_dump(a.end_ms / 2) == b.goroutine_dump(b.end_ms / 2)
