"""Spinning Ms and work stealing in the scheduler model, one rule of src/runtime/proc.go per test.

Each test is a tiny program whose trace only the rule explains; the docstring cites the lines of
go1.27.3's proc.go. tests/test_sched_golden.py guards the model against any change; these tests
say which change would be wrong, so that a regenerated golden file cannot bless it.
"""

from __future__ import annotations

import pytest

from labkit.models.scheduler import Go, cpu, mark, simulate, sleep, spawn, syscall
from labkit.models.scheduler import runtime as rt


def steals(res) -> list[tuple[float, int, str]]:
    """The steal events of a run: (time, thief P, G it runs)."""
    ev = res.event_log[res.event_log["kind"] == "steal"]
    return [
        (float(t), int(p), str(g)) for t, p, g in zip(ev["t_ms"], ev["p"], ev["g"], strict=True)
    ]


def readied(res, name: str) -> tuple[float, int]:
    """When and on which P G ``name`` was made runnable (its first "ready" event)."""
    ev = res.event_log
    first = ev[(ev["kind"] == "ready") & (ev["g"] == name)][0]
    return float(first["t_ms"]), int(first["p"])


def expired_timer_on_an_idle_p() -> Go:
    """GOMAXPROCS=3. S is stolen by P2's M and sleeps 0.2 ms there; P2 goes idle with that timer,
    and the M blocked in netpoll for it rounds its wait up to 1 ms (netpoll_epoll.go:122), so from
    0.26 to 1.06 ms S's timer has expired on an idle P and nobody has run it. At 0.5 ms main
    spawns X (wakep: a spinning M for idle P1, running THREAD_WAKE_MS later), then main and X
    sleep, and P0's M looks for work with nothing local."""
    s = Go("S", [sleep(0.2), mark("S woke")])
    x = Go("X", [sleep(5)])
    return Go("main", [spawn(s), cpu(0.5), spawn(x), sleep(5)])


def test_a_non_spinning_m_does_not_spin_when_half_the_busy_ps_have_spinning_ms():
    """findRunnable lets an M that is not spinning start to steal only if
    ``2*sched.nmspinning < gomaxprocs-sched.npidle`` (src/runtime/proc.go:3532): at most half the
    busy Ps have a spinning M. When main and X have parked (0.5 ms + two switches), P0's M finds
    nothing local, with one spinning M (P1's, still waking up) and two busy Ps (P0, P1): 2*1 is
    not < 2, so it gives up its P without stealing. S's expired timer on idle P2 is then run by
    P1's spinning M when it arrives, THREAD_WAKE_MS after the wakep, not by P0's M at once."""
    res = simulate(expired_timer_on_an_idle_p(), gomaxprocs=3, seed=0)
    assert readied(res, "S") == (pytest.approx(0.5 + rt.THREAD_WAKE_MS), 1)
    assert res.marks["S woke"] == [pytest.approx(0.5 + rt.THREAD_WAKE_MS + rt.TIMER_FIRE_MS)]


def test_a_thief_runs_another_ps_expired_timers():
    """stealWork checks each victim's timers on its last pass, before its run queue, and runs the
    expired ones (p2.timers.check, src/runtime/proc.go:3875-3894): goroutineReady puts their Gs
    in the *thief's* runnext. P1's spinning M (see expired_timer_on_an_idle_p) finds nothing to
    steal but S's timer, expired on idle P2, and runs it: S is readied on P1 THREAD_WAKE_MS after
    0.5 ms, not when the netpoller would have woken for it (1.06 ms)."""
    res = simulate(expired_timer_on_an_idle_p(), gomaxprocs=3, seed=0)
    t, p = readied(res, "S")
    assert p == 1 and t == pytest.approx(0.5 + rt.THREAD_WAKE_MS)
    poller_wake = [
        float(e)
        for k, e in zip(res.thread_segments["kind"], res.thread_segments["end_ms"], strict=True)
        if k == "netpoll"
    ][0]
    assert poller_wake > 1.0  # the poller's 1 ms epoll timeout, had nobody stolen the timer


def test_a_thief_backs_off_3us_before_taking_a_running_ps_runnext():
    """runqgrab takes another P's runnext only after usleep(3) if that P's M runs a G that is not
    in a syscall (src/runtime/proc.go:7723-7747): the G that readied it is probably about to block
    and run it. main spawns W (into P0's runnext; wakep starts P1's M) and keeps computing: P1's M
    finds nothing but W, sleeps 3 us (plus the timer slack, RUNNEXT_BACKOFF_MS) and then steals
    it. When main is in a syscall instead, the thief takes W at once."""
    w = Go("W", [mark("W"), cpu(0.1)])
    computing = simulate(Go("main", [spawn(w), cpu(1)]), gomaxprocs=2)
    assert computing.marks["W"] == [pytest.approx(rt.THREAD_WAKE_MS + rt.RUNNEXT_BACKOFF_MS)]
    assert steals(computing) == [(pytest.approx(rt.THREAD_WAKE_MS + rt.RUNNEXT_BACKOFF_MS), 1, "W")]
    w = Go("W", [mark("W"), cpu(0.1)])
    in_syscall = simulate(Go("main", [spawn(w), syscall(5)]), gomaxprocs=2)
    assert in_syscall.marks["W"] == [pytest.approx(rt.THREAD_WAKE_MS)]


def test_steal_work_makes_four_passes_each_from_a_random_p():
    """stealWork makes ``stealTries = 4`` passes over the Ps (src/runtime/proc.go:3848), each in an
    order that starts at a random P (stealOrder.start(cheaprand()), proc.go:3852). main sleeps on
    P0 (add_timer -> wakeNetPoller -> wakep) and P1's spinning M, finding nothing anywhere, walks
    all four passes: four random numbers drawn. (In the model no other P can change while a thief
    walks, so the passes differ only in the numbers they draw.)"""
    draws: list[int] = []

    class Counting(rt.Scheduler):
        def steal_work(self, p, t):
            self.n_draws = 0
            g = super().steal_work(p, t)
            draws.append(self.n_draws)
            return g

        def cheaprand(self):
            self.n_draws += 1
            return super().cheaprand()

    Counting(Go("main", [sleep(1)]), 2, True, 10.0, 0).simulate()
    assert draws and set(draws) == {rt.STEAL_TRIES} and rt.STEAL_TRIES == 4


def three_ps_with_queues() -> Go:
    """GOMAXPROCS=3: main spawns g0..g7 and computes. P2's M (woken by the first wakep) steals
    half of P0's queue (g0..g3, runs g3); on finding work it wakes P1's M (resetspinning ->
    wakep), which finds two victims with queued Gs: P0 (g4..g6) and P2 (g0..g2)."""
    return Go("main", [*[spawn(Go(f"g{i}", [cpu(5)])) for i in range(8)], cpu(5)])


def test_the_victim_order_is_random_and_comes_from_the_seed():
    """Each pass of stealWork visits the Ps in a random order (stealOrder, src/runtime/proc.go:
    3852 and 8072-8078: start at cheaprand() % n, step by a random coprime of n); the model draws
    from the run's one seeded generator. P1's M steals 2 of the victim's 3 queued Gs and runs the
    second: g5 if it visits P0 first, g1 if P2. Which one depends on the seed; the same seed
    always gives the same victim."""
    first = {}
    for seed in range(20):
        res = simulate(three_ps_with_queues(), gomaxprocs=3, seed=seed)
        assert steals(res)[0] == (pytest.approx(rt.THREAD_WAKE_MS), 2, "g3")
        t, p, g = steals(res)[1]
        assert (t, p) == (pytest.approx(2 * rt.THREAD_WAKE_MS), 1)
        first[seed] = g
    assert set(first.values()) == {"g1", "g5"}
    assert first[0] == "g1" and first[2] == "g5"
    again = simulate(three_ps_with_queues(), gomaxprocs=3, seed=2)
    assert steals(again)[1][2] == "g5"


def test_runnext_is_stolen_only_on_the_last_pass():
    """stealWork looks at a victim's runnext only on its last pass (``stealTimersOrRunNextG :=
    i == stealTries-1``, src/runtime/proc.go:3850): taking a G its own P is about to run is the
    last resort. A spawns a0..a2 on P2 (a2 in runnext, a0 and a1 queued) and wakes P1's M; main
    has meanwhile put R in P0's runnext. Whatever the victim order, P1's M takes a0 from P2's
    queue on its first pass, at once (no runqgrab back-off), and leaves R alone."""
    for seed in range(20):
        a = Go("A", [*[spawn(Go(f"a{i}", [cpu(2)])) for i in range(3)], cpu(5)])
        main = Go("main", [spawn(a), cpu(0.05), spawn(Go("R", [cpu(1)])), cpu(5)])
        res = simulate(main, gomaxprocs=3, seed=seed)
        took_a = rt.THREAD_WAKE_MS + rt.RUNNEXT_BACKOFF_MS  # A was taken from P0's runnext
        assert steals(res)[:2] == [
            (pytest.approx(took_a), 2, "A"),
            (pytest.approx(took_a + rt.THREAD_WAKE_MS), 1, "a0"),
        ], seed


def test_timers_are_stolen_only_on_the_last_pass():
    """A victim's timers, too, are looked at only on the last pass (proc.go:3850 and 3875). As
    in expired_timer_on_an_idle_p, S's timer has expired on idle P2; at 0.5 ms main spawns x0..x2
    (x0 and x1 queued on P0) and computes on. Whatever the victim order, P1's M steals x0 from
    P0's queue on its first pass and leaves the timer; P2's M, woken when P1's found work
    (resetspinning -> wakep), runs its own expired timer first thing in findRunnable."""
    for seed in range(20):
        s = Go("S", [sleep(0.2), mark("S woke")])
        xs = [Go(f"x{i}", [cpu(1)]) for i in range(3)]
        main = Go("main", [spawn(s), cpu(0.5), *[spawn(x) for x in xs], cpu(5)])
        res = simulate(main, gomaxprocs=3, seed=seed)
        assert steals(res)[1] == (pytest.approx(0.5 + rt.THREAD_WAKE_MS), 1, "x0"), seed
        assert readied(res, "S") == (pytest.approx(0.5 + 2 * rt.THREAD_WAKE_MS), 2), seed


def _run_digest(res) -> tuple:
    return (
        res.segments.tobytes() if hasattr(res.segments, "tobytes") else repr(res.segments),
        repr(res.event_log),
        repr(res.thread_segments),
        repr(res.stats),
    )


def test_the_nothing_to_steal_shortcut_gives_the_run_the_passes_give(monkeypatch):
    """steal_work skips its four passes when no P has anything to take, drawing the same random
    orders (cheaprand) the passes would: the case study's run, where idle Ps' spinning Ms meet
    this ~1,900 times, is the same with the passes walked every time. A shortcut that found
    nothing without those draws (or missed a due timer or a busy queue) changes the run."""
    from labkit.models.scheduler.schedule import Schedule
    from labkit.scenarios.casestudy import run_incident

    short = run_incident(seed=3).result
    monkeypatch.setattr(Schedule, "nothing_to_steal", lambda self, p, t: False)
    walked = run_incident(seed=3).result
    assert _run_digest(short) == _run_digest(walked)
