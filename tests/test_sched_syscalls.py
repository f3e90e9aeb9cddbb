"""Syscalls, hand-offs and the netpoller in the scheduler model, one rule of go1.27.3 per test.

Each test pins one rule of src/runtime/proc.go (or netpoll_epoll.go) with the exact trace a tiny
program gives; the docstring cites the lines. A few rules can only be told apart in states that a
run passes through for a moment (an idle P's M is woken by the same event that queued the work);
those tests build the state and call the model's function directly, and say so.
"""

from __future__ import annotations

import pytest
from test_sched import SWITCH, sysmon_ticks

from labkit.models.scheduler import Go, cpu, gosched, io_wait, mark, simulate, sleep, spawn, syscall
from labkit.models.scheduler import runtime as rt


def events(res, *kinds: str) -> list[tuple[float, str, int, str]]:
    """The run's events of the given kinds: (time, kind, P, G)."""
    ev = res.event_log
    return [
        (float(t), str(k), int(p), str(g))
        for t, k, p, g in zip(ev["t_ms"], ev["kind"], ev["p"], ev["g"], strict=True)
        if k in kinds
    ]


def handoffs(res) -> list[float]:
    return [t for t, *_ in events(res, "handoff")]


def ran_on(res, name: str) -> list[tuple[int, float]]:
    """(P, start) of each stretch G ``name`` ran."""
    seg = res.segments[res.segments["g"] == name]
    return [(int(p), float(s)) for p, s in zip(seg["p"], seg["start_ms"], strict=True)]


# ---- retake: when sysmon takes the P of an M in a syscall -----------------------------------


def test_retake_keeps_a_syscalls_p_10ms_when_other_ps_are_idle():
    """retake leaves the P of a syscall alone while its run queue is empty, some P is idle (or
    an M spins) and sysmon first saw the syscall less than 10 ms ago (src/runtime/proc.go:6754):
    taking it would only make another thread find nothing to do. main's syscall starts at 0 with
    P1 idle: sysmon notes it at its first round (0.07 ms, proc.go:6744) and takes P0 at its first
    round 10 ms after that, ~14.2 ms (its rounds are ~5 ms apart by then). A syscall noted at
    9.0 ms, after 8 ms of CPU, is kept until the round after 19.0 ms: 24.2 ms."""
    ticks = sysmon_ticks(40.0)
    res = simulate(Go("main", [syscall(30), mark("back")]), gomaxprocs=2)
    assert handoffs(res) == [pytest.approx(next(t for t in ticks if t >= ticks[0] + 10))]
    late = simulate(Go("main", [cpu(8), syscall(30), mark("back")]), gomaxprocs=2)
    noted = next(t for t in ticks if t >= 8)
    assert noted == pytest.approx(9.0)
    assert handoffs(late) == [pytest.approx(next(t for t in ticks if t >= noted + 10))]


def test_retake_takes_a_syscalls_p_after_one_round_when_no_p_is_idle_and_no_m_spins():
    """Without an idle P or a spinning M (sched.nmspinning+sched.npidle == 0, proc.go:6754) the
    keep rule does not hold: sysmon takes the P one round after it noted the syscall ("at least
    20us", proc.go:6743). busy computes on P1; main's syscall starts at 0.5 ms, is noted at the
    round of 0.56 ms and taken at the next, 0.63 ms."""
    main = Go("main", [spawn(Go("busy", [cpu(40)])), cpu(0.5), syscall(30), mark("back")])
    res = simulate(main, gomaxprocs=2)
    ticks = sysmon_ticks(1.0)
    noted = next(t for t in ticks if t >= 0.5)
    assert handoffs(res) == [pytest.approx(ticks[ticks.index(noted) + 1])]


def test_retake_takes_a_syscalls_p_after_one_round_when_work_is_queued_behind_it():
    """A P in a syscall with Gs in its run queue is taken one round after sysmon noted the
    syscall even when another P is idle (runqempty(pp) fails, proc.go:6754). In a run the idle
    P's M would have stolen the queued G already (wakep when it was queued), so the state is
    built here: main in a syscall on P0, P1 idle, a G put in P0's queue without a wakep."""
    for queued, taken in [(False, 0), (True, 1)]:
        s = rt.Scheduler(Go("main", [syscall(30)]), 2, True, 100.0, 0)
        s._start()  # main enters its syscall at 0 on P0; P1 is idle
        p0 = s.ps[0]
        if queued:
            s.runqput(p0, s.new_g(Go("w", [cpu(1)]), None, 0.0), False)
        assert s.retake(0.07) == 0  # the first look notes the syscall
        assert s.retake(0.14) == taken


def test_retake_takes_a_syscall_whose_time_slice_is_over_at_its_first_look():
    """If the G's P has run the same schedtick for 10 ms, retake calls preemptone and sets
    sysretake (proc.go:6715-6721: "If pp is in a syscall, preemptone doesn't work ... so we need
    to take the P ourselves"): the syscall is not noted as new, so the 10 ms keep, measured from
    an old note, does not hold. main computes 14 ms on one time slice (sysmon noted it at 0.07)
    and enters a syscall at 14.0 with P1 idle: it is taken at sysmon's first look, 14.17 ms,
    not 10 ms later."""
    ticks = sysmon_ticks(40.0)
    res = simulate(Go("main", [cpu(14), syscall(30), mark("back")]), gomaxprocs=2)
    first_look = next(t for t in ticks if t >= 14.0)
    assert first_look == pytest.approx(ticks[0] + 10 + 4.1, abs=0.01)
    assert handoffs(res) == [pytest.approx(first_look)]


# ---- handoffp: what becomes of a P taken from a blocked M -------------------------------------


def handoff(gomaxprocs: int, idle: tuple[int, ...] = (), *, local: bool = False,
            global_queue: bool = False, spinning: int = 0, timer: float | None = None):  # fmt: skip
    """Build a state and hand P1 off: the Ps in ``idle`` are idle, the others busy, ``spinning``
    Ms spin; P1 (just taken from its M) holds a queued G if ``local``, the global queue one if
    ``global_queue``, P1 a timer at ``timer``. Returns P1 and the model."""
    s = rt.Scheduler(Go("main", [cpu(1)]), gomaxprocs, True, 100.0, 0)
    for i in idle:
        s.ps[i].idle = True
        s.pidle.append(s.ps[i])
    s.nmspinning = spinning
    p1 = s.ps[1]
    g = s.new_g(Go("w", [cpu(1)]), None, 0.0)
    if local:
        s.runqput(p1, g, False)
    if global_queue:
        s.globrunqput(g, None)
    if timer is not None:
        p1.timers.append((timer, 0, g))
    s.handoffp(p1, 1.0)
    return p1, s


def test_handoffp_checks_local_work_and_the_global_queue_first():
    """handoffp starts a (non-spinning) M for the P at once if it has local work or the global
    queue is not empty (src/runtime/proc.go:3151), before any other check: here P2 is idle, so
    the later checks would let P1 go idle."""
    for kw in ({"local": True}, {"global_queue": True}):
        p1, s = handoff(3, idle=(2,), **kw)
        assert not p1.idle and p1.m is not None and not p1.m.spinning, kw
        assert s.nmspinning == 0
    p1, _ = handoff(3, idle=(2,))
    assert p1.idle


def test_handoffp_starts_a_spinning_m_when_nobody_spins_and_no_p_is_idle():
    """No local work, but no M spinning and no P idle (proc.go:3167): handoffp starts a spinning
    M for the P, which will look for work elsewhere. With a spinning M already, or an idle P,
    that help exists and the P goes idle (GOMAXPROCS=3: P1 is not the last busy P)."""
    p1, s = handoff(2)
    assert p1.m is not None and p1.m.spinning and s.nmspinning == 1
    p1, s = handoff(3, spinning=1)
    assert p1.idle and s.nmspinning == 1
    p1, _ = handoff(3, idle=(2,))
    assert p1.idle


def test_handoffp_keeps_an_m_for_the_network_on_the_last_busy_p():
    """ "If this is the last running P and nobody is polling network, need to wakeup another M to
    poll network" (proc.go:3195-3200): with every other P idle and no M in netpoll
    (lastpoll != 0) handoffp starts an M for the P even when there is nothing to poll; that M
    finds no work and stops. In a run: main's syscall (P1 idle) is taken at ~14.2 ms and a new
    thread wakes for P0 THREAD_WAKE_MS later: main's M, sysmon's and that one."""
    p1, _ = handoff(3, idle=(0, 2))
    assert not p1.idle and p1.m is not None and not p1.m.spinning
    res = simulate(Go("main", [syscall(30), mark("back")]), gomaxprocs=2)
    (t,) = handoffs(res)
    assert res.threads["count"].tolist()[-1] == 3
    assert res.threads["t_ms"][res.threads["count"] == 3][0] == pytest.approx(t)


def test_handoffp_otherwise_idles_the_p_and_tells_the_netpoller_about_its_timers():
    """Otherwise the P goes idle (pidleput) and, if it has timers, wakeNetPoller(when)
    (proc.go:3205-3211). With nobody in netpoll that is wakep (proc.go:4027-4032), which takes
    the head of the idle list, a LIFO: the P just put there gets a spinning M after all."""
    p1, s = handoff(3, idle=(2,))
    assert p1.idle and s.nmspinning == 0
    p1, s = handoff(3, idle=(2,), timer=5.0)
    assert s.nmspinning == 1 and p1.m is not None and p1.m.spinning
    assert s.ps[2].idle


# ---- exitsyscall: where a G whose P was taken runs again ---------------------------------------


def test_exitsyscall_takes_its_old_p_back_from_another_syscall():
    """exitsyscallTryGetP (src/runtime/proc.go:5072-5097) first tries the old P, but only by
    taking it from an M that is itself in a syscall on it (setBlockOnExitSyscall(oldp) and takeP,
    proc.go:5075-5079). main's syscall loses P0 at ~14.2 ms; at 15.0 G2 wakes on P0 and enters a
    syscall of its own, which sysmon keeps (P1 is idle). When main's syscall ends at 20, main takes
    P0 from G2's M, although P1 is idle, and runs on it."""
    g2 = Go("G2", [sleep(15), gosched(), syscall(30), mark("G2 back")])
    res = simulate(Go("main", [spawn(g2), syscall(20), mark("back"), cpu(1)]), gomaxprocs=2)
    assert events(res, "handoff")[-1] == (pytest.approx(20.0), "handoff", 0, "G2")
    assert ran_on(res, "main") == [(0, pytest.approx(20.0))]


def test_exitsyscall_takes_the_first_idle_p_not_its_old_one():
    """Failing that, exitsyscallTryGetP takes the first P of the idle list (pidleget,
    proc.go:5086), which is a LIFO: the old P only if it went idle last. main's syscall loses P0
    after one round (W computes on P1, nobody is idle or spins), P0 goes idle; W ends at 16 ms and
    P1 goes idle after it. At 20 main gets P1."""
    res = simulate(Go("main", [spawn(Go("W", [cpu(16)])), syscall(20), cpu(1)]), gomaxprocs=2)
    assert handoffs(res) == [pytest.approx(sysmon_ticks(1.0)[1])]
    assert ran_on(res, "main") == [(1, pytest.approx(20.0))]


def test_exitsyscall_without_a_p_queues_the_g_globally_and_parks_the_m():
    """With no P to get, exitsyscallNoP (proc.go:5106-5160) puts the G on the global queue, with
    no wakep, and stops the M. GOMAXPROCS=1: W runs on P0 since main's syscall lost it; main's
    syscall ends at 5 ms, and main waits in the global queue until sysmon preempts W (its 10 ms
    time slice) and the P takes main from the global queue."""
    res = simulate(Go("main", [spawn(Go("W", [cpu(30)])), syscall(5), mark("back")]), gomaxprocs=1)
    assert events(res, "global_put")[0] == (pytest.approx(5.0), "global_put", -1, "main")
    (preempted, *_), *_ = events(res, "preempt")
    assert preempted > 14
    assert res.marks["back"] == [pytest.approx(preempted + SWITCH)]
    assert res.thread_segments["kind"][res.thread_segments["g"] == "main"].tolist() == [
        "syscall",
        "run",
    ]


# ---- netpoll: the poller's timeout, and the Gs it readies ---------------------------------------


def netpoll_waits(res) -> list[float]:
    ts = res.thread_segments
    sel = ts["kind"] == "netpoll"
    return [float(e - s) for s, e in zip(ts["start_ms"][sel], ts["end_ms"][sel], strict=True)]


def test_netpoll_timeout_is_whole_milliseconds_rounded_down_and_at_least_one():
    """netpoll(delay) turns the delay into epoll_wait's millisecond timeout: under 1 ms it waits
    1 ms, otherwise delay/1e6 truncated (src/runtime/netpoll_epoll.go:118-126). In an idle
    program the M blocked in netpoll waits for the next timer that way: a 0.3 ms sleep ends after
    one 1 ms wait; a 2.5 ms sleep after a 2 ms wait and another of 1 ms (0.5 ms left, rounded
    up to 1)."""
    for d, waits in [(0.3, [1.0]), (2.5, [2.0, 1.0])]:
        main = Go("main", [spawn(Go("s", [sleep(d), mark("woke")])), sleep(10)])
        res = simulate(main, gomaxprocs=1)
        parked = res.marks["woke"][0] - rt.TIMER_FIRE_MS - sum(waits)
        assert netpoll_waits(res)[: len(waits)] == pytest.approx(waits), d
        assert parked == pytest.approx(2 * (rt.TIMER_ARM_MS + SWITCH)), d


def network_waiters(n: int) -> Go:
    """main spawns n0..n{n-1}, each waiting 1 ms on the network, and yields (to the global queue):
    P0 runs them in turn (runnext first: the last spawned), each parks at once, and main then
    computes 10 ms on P0. They become ready within a few tenths of a us of each other, and the M
    blocked in netpoll (the spinning M the first spawn woke, which found nothing) sees them all in
    one epoll_wait, THREAD_WAKE_MS after the last (netpollBreak)."""
    ios = [Go(f"n{i}", [io_wait(1), cpu(0.5)]) for i in range(n)]
    return Go("main", [*[spawn(g) for g in ios], gosched(), cpu(10)])


def test_injectglist_spreads_readied_gs_over_idle_ps_then_queues_the_rest_locally():
    """Gs that netpoll readies go through injectglist (src/runtime/proc.go:4060): with a P, one G
    per idle P to the global queue with an M started for each of those Ps (proc.go:4113-4124), the
    rest to this P's local queue (proc.go:4126), then wakep (proc.go:4145). GOMAXPROCS=3, three
    network waiters: the poller's M takes an idle P and runs n2, the first ready; of n0 and n1,
    n0 goes to the global queue and an M starts on the other idle P, which runs it THREAD_WAKE_MS
    later; n1 waits in the poller P's local queue and runs there after n2."""
    res = simulate(network_waiters(3), gomaxprocs=3)
    (wake, *_), *_ = events(res, "wake")
    (p, start), *_ = ran_on(res, "n2")
    assert start == pytest.approx(wake) and p in (1, 2)
    assert ran_on(res, "n0") == [(3 - p, pytest.approx(wake + rt.THREAD_WAKE_MS))]
    assert ran_on(res, "n1") == [(p, pytest.approx(wake + 0.5 + SWITCH))]
    row = list(res.runq["t_ms"]).index(wake)
    assert res.runq["local"][row].tolist()[p] == 1 and res.runq["global"][row] == 1


def test_injectglist_ends_with_wakep():
    """injectglist ends with wakep (proc.go:4145): with more idle Ps than readied Gs, one more M
    spins. GOMAXPROCS=4, two network waiters: the poller's M runs n1 on its P; n0 goes to the
    global queue with an M started for an idle P; and wakep starts a spinning M on the last idle
    P: two new threads at the wake-up, next to main's, the poller's and sysmon's."""
    res = simulate(network_waiters(2), gomaxprocs=4)
    (wake, *_), *_ = events(res, "wake")
    th = res.threads
    assert int(th["count"][th["t_ms"] < wake][-1]) == 3
    assert int(th["count"][th["t_ms"] == wake][0]) == 5
