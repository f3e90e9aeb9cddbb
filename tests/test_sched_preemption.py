"""Preemption requests that are lost: why a loop that sleeps 1 ns starves the others.

sysmon asks a G to stop when its P has run one schedtick for 10 ms (retake -> preemptone,
src/runtime/proc.go:6715 and 6917). A loop that calls time.Sleep(1ns) every iteration spends
most of each iteration in the scheduler: it parks, its timer fires at once, goready puts it in
runnext and it runs again on the same time slice (inheritTime: schedtick does not move). When
sysmon's request comes, curg is nil (the M is in schedule()) and preemptone gives up, or it is
the parking G, whose request execute clears when it runs it again (``gp.preempt = false``,
proc.go:3362); only a request made while the G is on its own stack, past that clearing, is
honoured at its next stack check (newstack, src/runtime/stack.go:1122). So the loop keeps the P
far longer than a loop with no yield at all. Real Go, GOMAXPROCS=1, ~250 ms: 2-3 turns for the
other goroutine against 12-13 with no yield; with 0.5 ms of work between the sleeps the loop is
preempted after 10-20 ms like any other.
"""

from __future__ import annotations

import pytest
from test_sched import SWITCH, sysmon_ticks

from labkit.models.scheduler import Go, cpu, gosched, mark, repeat, simulate, sleep, spawn
from labkit.models.scheduler import runtime as rt

#: One iteration of a Sleep(1ns) loop, as the model runs it: the loop body, the timer armed as
#: the G parks, the switch, the timer fired by findRunnable.
SLEEP_1NS_SWITCH = rt.TIMER_ARM_MS + SWITCH + rt.TIMER_FIRE_MS


def first_request_tick() -> float:
    """sysmon's first round at least 10 ms after it noted main's schedtick (its first round):
    the first preemption request to a G that has run since 0 on one time slice."""
    ticks = sysmon_ticks(30.0)
    return next(t for t in ticks if t >= ticks[0] + rt.FORCE_PREEMPT_MS)


def preempts(res) -> list[float]:
    ev = res.event_log
    return [float(t) for t in ev["t_ms"][ev["kind"] == "preempt"]]


def preempted_at_the_first_request(x: float, seeds: range) -> list[bool]:
    """main computes ``x`` ms, sleeps 1 ns, then computes 20 ms, GOMAXPROCS=1; for each seed,
    whether sysmon's first request (first_request_tick) stopped main, rather than its next round,
    which finds main computing."""
    tick = first_request_tick()
    next_tick = next(t for t in sysmon_ticks(40.0) if t > tick)
    out = []
    for seed in seeds:
        res = simulate(Go("main", [cpu(x), sleep(1e-6), cpu(20)]), gomaxprocs=1, seed=seed)
        (t,) = preempts(res)
        assert t == pytest.approx(x + SLEEP_1NS_SWITCH) or t == pytest.approx(next_tick), seed
        out.append(t < tick + 1)
    return out


def test_a_request_made_while_the_g_parks_is_cleared_when_it_runs_again():
    """sysmon's first request comes just after main parks (in the time.Sleep(1ns) switch, before
    its timer fires): the M is in the scheduler, and execute clears the request when goready
    brings main back through runnext on the same time slice. Whatever the seed, main then
    computes 20 ms unstopped until sysmon's next round, which finds it in its loop."""
    x = first_request_tick() - rt.TIMER_ARM_MS / 2  # main parks just before the request
    assert not any(preempted_at_the_first_request(x, range(40)))


def test_a_request_made_after_execute_cleared_it_stands():
    """The request comes in the last part of the switch, while the timer fires and execute runs
    main again. Part of that (SWITCH_G_SIDE_MS of the TIMER_FIRE_MS the model gives it) is after
    execute cleared gp.preempt, with main back on its own stack: a request there stands and main
    stops the moment it is back. The model cannot place sysmon's round that finely (its timer
    slack is tens of us), so the request stands with that probability, drawn from the seed:
    about a quarter of the seeds see main preempted at the first request, the others at the
    next round; the same seed, the same outcome."""
    x = first_request_tick() - rt.TIMER_ARM_MS - SWITCH - rt.TIMER_FIRE_MS / 2
    seeds = range(200)
    kept = preempted_at_the_first_request(x, seeds)
    share = rt.SWITCH_G_SIDE_MS / rt.TIMER_FIRE_MS
    assert share == pytest.approx(0.26, abs=0.01)
    assert abs(sum(kept) - share * len(seeds)) < 4 * (len(seeds) * share * (1 - share)) ** 0.5
    assert preempted_at_the_first_request(x, range(10)) == kept[:10]


def turns_of_the_other_goroutine(loop_body: list, ms: float = 250.0) -> list[float]:
    """GOMAXPROCS=1: ``other`` counts its turns (mark, then Gosched), main runs ``loop_body``
    over and over for ``ms``; the times of other's turns after main's loop started."""
    other = Go("other", [repeat(10**6, [cpu(2e-6), mark("turn"), gosched()])])
    main = Go("main", [spawn(other), gosched(), mark("start"), repeat(10**7, loop_body)])
    res = simulate(main, gomaxprocs=1, until_ms=ms)
    (start,) = res.marks["start"]
    return [t - start for t in res.marks["turn"] if t > start]


def test_a_loop_that_sleeps_1ns_starves_the_other_goroutine_more_than_no_yield():
    """A loop with no yield is preempted about every 20 ms (10 ms after sysmon notes each new
    time slice, at its 10 ms rounds): 12 turns for the other goroutine in 250 ms. A loop that
    calls Sleep(1ns) after 1 ns of work is caught on its own stack by few of sysmon's requests
    (SWITCH_G_SIDE_MS of each ~214 ns iteration): far fewer turns, as on real Go (labkit/golab/
    recorded/yield.json, 1,000,000 iterations in ~213 ms: ``other_turns_runs`` 1-4, against
    12-13 in ~250 ms without a yield). (Seeds 0-7 give the model 0-5 turns, 1.75 on average.)"""
    no_yield = turns_of_the_other_goroutine([cpu(300, calls=False)])
    sleep_1ns = turns_of_the_other_goroutine([cpu(1e-6), sleep(1e-6)])
    assert len(no_yield) == 12
    assert 10 < no_yield[0] < 20
    assert len(sleep_1ns) <= len(no_yield) / 3


def test_a_loop_with_half_a_millisecond_between_sleeps_is_preempted_after_10_to_20_ms():
    """With 0.5 ms of work between the sleeps the G is on its own stack nearly all the time, so
    sysmon's first request stops it: preempted 10-20 ms into its time slice, like a loop with no
    yield, and so about every 20 ms (real Go: ~10-16 ms for the first, 12 turns in 250 ms)."""
    turns = turns_of_the_other_goroutine([cpu(0.5), sleep(1e-6)])
    assert 10 < turns[0] < 20
    assert len(turns) == 12


def pair_and_hog_stretches(until_ms: float = 3000.0) -> list[tuple[str, float, float]]:
    """A pair ping-ponging on unbuffered channels (50 us of CPU a hop) beside a hog without
    calls, one P: the stretches (side, start, end) the P runs one side, start-up left out."""
    from labkit.models.scheduler import Chan, recv, send

    a, b = Chan(0, name="a"), Chan(0, name="b")
    ping = Go("ping", [repeat(10**6, [cpu(0.05), send(a), recv(b)])])
    pong = Go("pong", [repeat(10**6, [recv(a), cpu(0.05), send(b)])])
    hog = Go("hog", [cpu(10**5, calls=False)])
    run = simulate(
        Go("main", [spawn(pong), spawn(ping), spawn(hog)]), gomaxprocs=1, until_ms=until_ms
    )
    seg = run.segments  # sorted by start
    stretches: list[list] = []
    for g, start, end in zip(seg["g"], seg["start_ms"], seg["end_ms"], strict=True):
        side = "hog" if g == "hog" else "pair"
        if stretches and stretches[-1][0] == side:
            stretches[-1][2] = float(end)
        else:
            stretches.append([side, float(start), float(end)])
    return [tuple(s) for s in stretches[2:]]


def test_a_stretch_begun_on_a_61st_schedtick_hands_the_p_back_to_the_hog_after_one_hop():
    """findRunnable takes a G from the global queue before runnext on every schedtick divisible
    by 61 (``pp.schedtick%61 == 0``, src/runtime/proc.go:3458), and a hand-off inherits the time
    slice without advancing schedtick. So when the pair's stretch begins on such a tick, its
    first hop's schedule() takes the preempted hog from the global queue: a stretch of one hop.
    Real Go's pingpong_hog recording has one (1.8 us of 105 pair stretches); the model, over 3 s,
    two, 61 schedticks (about 1.2 s of slices) apart. Without the check there is none."""
    stretches = pair_and_hog_stretches()
    one_hop = [(s, e) for side, s, e in stretches if side == "pair" and e - s < 1.0]
    assert len(one_hop) == 2, one_hop
    assert all(e - s <= 2 * 0.05 for s, e in one_hop)  # one hop: ping's 50 us and its send
    slices = [e - s for side, s, e in stretches[:-1] if side == "hog"]  # the last: cut at 3 s
    assert 1150 < one_hop[1][0] - one_hop[0][0] < 1300  # 61 ticks of ~20 ms slices
    assert all(19 < x < 21 for x in slices)  # the hog's slices: sysmon's 10 ms, twice


def test_without_the_61st_tick_check_the_pair_keeps_every_slice(monkeypatch):
    monkeypatch.setattr(rt, "GLOBAL_CHECK_TICKS", 10**9)
    stretches = pair_and_hog_stretches()
    assert not [1 for side, s, e in stretches if side == "pair" and e - s < 1.0]
