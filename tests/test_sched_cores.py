"""The OS layer of the scheduler model: ``simulate(..., cores=n)`` shares n CPUs between the Ms.

With more Ms running Go code than cores, the kernel time-shares the CPUs (labkit/models/
scheduler/cpus.py: round robin in OS_SLICE_MS slices). Whatever the program: never more than
``cores`` Ms on a CPU at once, never more than ``cores`` goroutines' CPU stretches overlapping,
and the CPU handed out is exactly the CPU the program asked for (cpu_demand_ms); ``cores=None``
is the model without an OS, bit for bit (tests/test_sched_golden.py pins that).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies_sched import programs

from labkit.models.scheduler import (
    Chan,
    Flag,
    Go,
    Result,
    SchedParamError,
    SchedParams,
    cpu,
    cpu_demand_ms,
    mark,
    recv,
    repeat,
    send,
    simulate,
    spawn,
)
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.engine import Scheduler

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
UNTIL_MS = 100_000.0

os_kwargs = st.fixed_dictionaries(
    {
        "gomaxprocs": st.integers(1, 6),
        "async_preempt": st.booleans(),
        "seed": st.integers(0, 2**16),
        "cores": st.one_of(st.none(), st.integers(1, 3)),
    }
)


@st.composite
def with_call_kinds(draw) -> Go:
    """A drawn program (strategies_sched.programs) beside loops of every call kind: none,
    leaf calls, a call rate (prologues every 1/r ms), ordinary calls, and a Flag spin, so that
    preemption at prologues and spins meet the OS layer's stalls."""
    base = draw(programs(channels=True))
    kinds = [
        {"calls": "none"},
        {"calls": "leaf"},
        {"calls": "functions"},
        {"calls_per_ms": draw(st.floats(0.05, 2.0))},
    ]
    loops = [
        Go(f"loop{i}", [cpu(draw(st.floats(0.0, 40.0)), **kw)])
        for i, kw in enumerate(draw(st.lists(st.sampled_from(kinds), max_size=3)))
    ]
    extra = []
    if draw(st.booleans()):
        flag = Flag("f")
        extra = [spawn(Go("spinner", [flag.spin()])), spawn(Go("setter", [cpu(3), flag.set()]))]
    return Go("main", [*base.steps, *[spawn(g) for g in loops], *extra])


class CheckedScheduler(Scheduler):
    """The model checking its bookkeeping, the OS layer's included, after every event."""

    def after_event(self, t: float) -> None:
        self.check_invariants()


def run_checked(main: Go, **kw) -> Result:
    s = CheckedScheduler(
        main, kw["gomaxprocs"], kw["async_preempt"], UNTIL_MS, kw["seed"], kw["cores"]
    )
    s.simulate()
    return Result.from_scheduler(s, SchedParams(until_ms=UNTIL_MS, **kw), main.name)


def most_at_once(seg: np.ndarray) -> int:
    """The largest number of segments that overlap at any instant."""
    edges = sorted(
        [(float(s), 1) for s in seg["start_ms"]] + [(float(e), -1) for e in seg["end_ms"]],
        key=lambda x: (x[0], x[1]),
    )
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


@SETTINGS
@given(main=with_call_kinds(), kw=os_kwargs)
def test_cpu_handed_out_equals_cpu_asked_for_and_never_more_than_cores(main, kw):
    """check_invariants after every event (at most ``cores`` Ms on a CPU, a free CPU only while
    none waits, a goroutine without a CPU stalled); each finished goroutine got exactly the CPU
    its steps asked for, its channel operations' fast paths took and the futex wakes its
    readies made (a Flag spin aside: its length is
    the run's); no more than ``cores`` CPU stretches at once."""
    res = run_checked(main, **kw)
    demand, got = cpu_demand_ms(main), res.cpu_ms()
    for g, done in res.finished_ms.items():
        if g == "spinner":  # a Flag spin's CPU is the run's, not the program's (cpu_demand_ms)
            continue
        asked = demand[g] + res.futex_wake_ms.get(g, 0.0) + res.chan_op_ms.get(g, 0.0)
        if done is not None:
            assert math.isclose(got[g], asked, rel_tol=1e-9, abs_tol=1e-9), (g, got, asked)
        else:
            assert got[g] <= asked + 1e-9
    assert most_at_once(res.segments) <= (kw["cores"] or kw["gomaxprocs"])


def test_a_channel_operation_whose_thread_loses_its_cpu_goes_on_where_it_stopped(monkeypatch):
    """Two Ms on one CPU: the sender's 6 ms channel operations (CHAN_OP_MS made long) outlast
    the OS slice (OS_SLICE_MS, 4 ms), so its thread loses the CPU inside them; each resumes with
    what it had left, sysmon's requests wait for an operation's end, and no send runs twice."""
    monkeypatch.setattr(rt, "CHAN_OP_MS", 6.0)
    ch = Chan(10, "buf")
    sender = Go("sender", [repeat(4, [send(ch)])])
    other = Go("other", [cpu(30.0, calls=False)])
    main = Go("main", [spawn(other), spawn(sender)])
    res = simulate(main, gomaxprocs=2, cores=1, async_preempt=True, until_ms=1_000)
    seg = res.segments[res.segments["g"] == "sender"]
    assert len(seg) > 4  # cut by the OS, not only at the operations' ends
    assert res.chan_op_ms == {"sender": 24.0}
    assert res.cpu_ms()["sender"] == pytest.approx(24.0)
    ev = res.event_log
    at = ev["t_ms"][(ev["kind"] == "preempt") & (ev["g"] == "sender")]
    assert len(at)
    for t in at:  # each preemption comes when a whole number of operations is done
        done = float(np.sum(np.clip(np.minimum(seg["end_ms"], t) - seg["start_ms"], 0, None)))
        assert done / 6.0 == pytest.approx(round(done / 6.0), abs=1e-6)


def equal_workers(n: int, gomaxprocs: int, cores: int | None, work_ms: float = 100.0) -> Result:
    """n goroutines of work_ms of CPU each (loops without calls), started together."""
    done = Chan(n, name="done")
    workers = [spawn(Go(f"w{i}", [cpu(work_ms, calls=False), send(done)])) for i in range(n)]
    main = Go("main", [mark("t0"), *workers, repeat(n, [recv(done)]), mark("t1")])
    return simulate(main, gomaxprocs=gomaxprocs, cores=cores, until_ms=10_000)


def makespan(res: Result) -> float:
    return res.marks["t1"][0] - res.marks["t0"][0]


@pytest.mark.parametrize(("n", "cores", "ratio"), [(4, 2, 2.0), (3, 2, 1.5), (2, 2, 1.0)])
def test_more_busy_threads_than_cores_share_them(n, cores, ratio):
    """GOMAXPROCS = n goroutines of equal work on ``cores`` CPUs: the makespan is n / cores
    times one goroutine's alone (fair round robin); with a CPU per thread (cores=None) it stays
    1x, the model as it was. (Within half a slice of 100 ms: the turns do not divide the
    work evenly at the end.)"""
    solo = makespan(equal_workers(1, n, cores))
    assert makespan(equal_workers(n, n, cores)) / solo == pytest.approx(ratio, abs=0.025)
    assert makespan(equal_workers(n, n, None)) / solo == pytest.approx(1.0, rel=0.01)


def test_threads_take_turns_of_one_slice():
    """Two busy threads on one core alternate every OS_SLICE_MS: each goroutine's stretches are
    a slice long (but the first and last)."""
    res = equal_workers(2, 2, 1, work_ms=40.0)
    for name in ("w0", "w1"):
        seg = res.segments[res.segments["g"] == name]
        lengths = np.round(seg["end_ms"] - seg["start_ms"], 9)
        assert len(seg) >= 40 / rt.OS_SLICE_MS - 1
        assert np.all(lengths[1:-1] <= rt.OS_SLICE_MS + 1e-9)


def test_no_cores_is_the_model_without_an_os(monkeypatch):
    """cores=None: every M has a CPU; enough cores for every thread gives the same timeline but
    for what the OS layer draws (thread wake-ups, threads.thread_wake_ms, never faster than
    THREAD_WAKE_MS; sysmon's rounds, sysmon.sysmon_late_ms): with those fixed at
    THREAD_WAKE_MS and TIMER_SLACK_MS, the very same timeline."""
    a, b = equal_workers(4, 4, None), equal_workers(4, 4, 8)
    assert b.marks["t1"][0] > a.marks["t1"][0]
    fixed = ((0.0, rt.THREAD_WAKE_MS), (1.0, rt.THREAD_WAKE_MS))
    monkeypatch.setattr(rt, "THREAD_WAKE_QUANTILES_MS", fixed)
    slack = ((0.0, rt.TIMER_SLACK_MS), (1.0, rt.TIMER_SLACK_MS))
    monkeypatch.setattr(rt, "SYSMON_OVERSHOOT_QUANTILES_MS", slack)
    b = equal_workers(4, 4, 8)
    assert a.marks == b.marks and np.array_equal(a.segments, b.segments)


def test_a_spinner_waits_for_a_cpu_like_any_burst():
    """A Flag spin is CPU time too: on one core the goroutine that sets the flag runs only in
    the spinner's gaps, and the run still ends (async preemption, slices)."""
    flag = Flag("ready")
    setter = Go("setter", [cpu(5, calls=False), flag.set()])
    main = Go("main", [spawn(setter), flag.spin(), mark("seen")])
    res = simulate(main, gomaxprocs=2, cores=1, until_ms=1_000)
    assert res.deadlock is None and res.marks["seen"][0] >= 5
    assert most_at_once(res.segments) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_cores_are_refused_by_name(bad):
    with pytest.raises(SchedParamError, match="cores must be None .* got"):
        simulate(Go("main", [cpu(1)]), cores=bad)
