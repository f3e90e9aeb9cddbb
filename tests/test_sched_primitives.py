"""The scheduler model's primitives behave as the code they mirror, one behaviour per test.

mark(label, value), sync.WaitGroup, sync.Mutex, time.Ticker, select and an atomic spin flag
(spawn inside repeat is in test_sched_programs.py). Each test is a tiny program whose outcome
follows from the Go source it names (go1.27.3's src/), with expected times built from the
model's named constants, so that a model that gets the mechanism wrong fails it; each docstring
says which wrong mechanism would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.models.scheduler import (
    Chan,
    Flag,
    Go,
    Mutex,
    ProgramError,
    Result,
    SchedParams,
    Ticker,
    WaitGroup,
    cpu,
    gosched,
    mark,
    recv,
    repeat,
    select,
    send,
    simulate,
    sleep,
    spawn,
    ticker,
)
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.engine import Scheduler

DATA = Path(__file__).parent / "data" / "sched"
SWITCH = rt.SCHEDULE_MS
SPIN = rt.MUTEX_SPIN_MS


def test_a_mark_keeps_its_value_beside_its_time_in_order():
    """mark(label, value) adds the value to Result.mark_values[label], in the order of
    Result.marks[label] (which stays a list of times for every reader); a mark without a value
    has None there. Two goroutines writing the same label interleave as they ran."""
    a = Go("a", [repeat(3, [mark("step", 1), cpu(1)])])
    b = Go("b", [cpu(0.5), mark("step"), cpu(1), mark("step", "b done")])
    res = simulate(Go("main", [spawn(a), spawn(b)]), gomaxprocs=2)
    assert res.marks["step"] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0], abs=0.01)
    assert res.mark_values["step"] == [1, None, 1, "b done", 1]
    plain = simulate(Go("main", [mark("x"), cpu(1), mark("x")]))
    assert plain.mark_values == {"x": [None, None]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1], True, object()])
def test_a_mark_value_must_be_a_finite_number_or_a_str(value):
    with pytest.raises(ProgramError, match="mark\\('x', value\\)"):
        mark("x", value)


# ---- helpers ------------------------------------------------------------------------------------


def order_of_marks(res) -> list[str]:
    return [label for _, label in sorted((t, k) for k, ts in res.marks.items() for t in ts)]


def parks(res, g: str) -> list[float]:
    ev = res.event_log
    return ev["t_ms"][(ev["kind"] == "park") & (ev["g"] == g)].tolist()


def real_dump_blocks() -> dict[str, list[str]]:
    """tests/data/sched/sync-waits-debug2.txt (go1.27.3, made by syncdump.go in the same folder):
    each goroutine's header reason -> its frame lines, function names without arguments."""
    text = (DATA / "sync-waits-debug2.txt").read_text()
    blocks = {}
    for block in text.strip().split("\n\n"):
        head, *lines = block.splitlines()
        reason = head[head.index("[") + 1 : head.index("]")]
        blocks[reason] = [ln.split("(")[0] if not ln.startswith("\t") else ln for ln in lines]
    return blocks


def model_frames(dump: str, reason: str) -> list[str]:
    """The runtime frames above the goroutine's own in the model's dump of a goroutine waiting
    with ``reason`` (function names without arguments, then their file:line +offset)."""
    block = next(b for b in dump.split("\n\n") if f"[{reason}]" in b.splitlines()[0])
    lines = [ln.split("(")[0] if not ln.startswith("\t") else ln for ln in block.splitlines()[1:]]
    end = next(i for i, ln in enumerate(lines) if ln.startswith("main."))
    return lines[:end]


# ---- sync.WaitGroup -----------------------------------------------------------------------------


def test_done_releases_every_waiter_into_runnext_so_the_last_runs_first():
    """Add reaching zero releases the semaphore once per waiter (src/sync/waitgroup.go:141-143);
    each semrelease readies the head of the queue with goready (src/runtime/sema.go:263), into
    the releasing P's runnext, kicking the one readied before to the tail of the local queue
    (runqput, src/runtime/proc.go:7529). Three waiters that parked W1, W2, W3 therefore run
    W3, W1, W2, and only when the releaser stops running (semrelease without handoff does not
    yield). A model that queued released waiters FIFO, or on the global queue, runs W1 first."""
    wg = WaitGroup("wg")
    ws = [Go(f"W{i}", [wg.wait(), mark(f"W{i}")]) for i in (1, 2, 3)]
    steps = [wg.add(1)]
    for w in ws:
        steps += [spawn(w), gosched()]  # each waiter runs and parks before the next is spawned
    main = Go("main", [*steps, wg.done(), mark("done"), cpu(1), sleep(1)])
    res = simulate(main, gomaxprocs=1)
    assert order_of_marks(res) == ["done", "W3", "W1", "W2"]
    assert res.marks["W3"][0] == pytest.approx(res.marks["done"][0] + 1 + rt.TIMER_ARM_MS + SWITCH)
    assert all(len(parks(res, w.name)) == 1 for w in ws)
    assert res.primitives["wg"] == {
        "kind": "waitgroup", "counter": 0, "waits_parked": 3, "waiters_released": 3,
    }  # fmt: skip


def test_wait_on_a_zero_counter_returns_without_parking():
    """Wait reads the counter first and returns when it is 0 (src/sync/waitgroup.go:168-182)."""
    wg = WaitGroup()
    worker = Go("worker", [cpu(1), wg.done()])
    main = Go("main", [wg.add(1), spawn(worker), cpu(2), wg.wait(), mark("through")])
    res = simulate(main, gomaxprocs=2)
    assert res.marks["through"] == [pytest.approx(2.0)]
    assert parks(res, "main") == []
    assert res.primitives["wg1"]["waits_parked"] == 0


def test_waitgroup_misuse_raises_what_go_panics_with():
    """A counter below zero panics "sync: negative WaitGroup counter" (waitgroup.go:118); an Add
    before a released waiter has returned from Wait panics "sync: WaitGroup is reused before
    previous Wait has returned" (waitgroup.go:213). The error names the goroutine and step."""
    wg = WaitGroup("wg")
    with pytest.raises(ProgramError, match=r"'main'.*wg\.done\(\).*negative WaitGroup counter"):
        simulate(Go("main", [wg.add(1), wg.done(), wg.done()]))
    w = Go("W", [wg.wait()])
    reuse = Go("main", [wg.add(1), spawn(w), gosched(), wg.done(), wg.add(1), cpu(1)])
    with pytest.raises(ProgramError, match=r"'W'.*wg\.wait\(\).*reused before previous Wait"):
        simulate(reuse, gomaxprocs=1)
    with pytest.raises(ProgramError, match="int"):
        wg.add(1.5)


def test_a_parked_waiter_dumps_as_gos_own_dump_does():
    """A goroutine in Wait shows "[sync.WaitGroup.Wait]" and the two frames a real go1.27.3 dump
    prints above its own (runtime_SemacquireWaitGroup, sema.go:114; (*WaitGroup).Wait,
    waitgroup.go:206), from tests/data/sched/sync-waits-debug2.txt; the timeline's wait reason
    is the same string (waitReasonStrings, src/runtime/runtime2.go:1299)."""
    wg = WaitGroup("wg")
    res = simulate(Go("main", [wg.add(1), spawn(Go("W", [wg.wait()])), cpu(1), wg.done()]))
    frames = model_frames(res.goroutine_dump(0.5), "sync.WaitGroup.Wait")
    assert frames == real_dump_blocks()["sync.WaitGroup.Wait"][: len(frames)] and len(frames) == 4
    w = next(g for g in res._goroutines if g["name"] == "W")
    assert [h[2] for h in w["history"]].count("sync.WaitGroup.Wait") == 1


# ---- sync.Mutex ---------------------------------------------------------------------------------


def test_a_woken_waiter_competes_with_new_arrivals_and_requeues_at_the_head():
    """Normal mode (internal/sync/mutex.go:33-46). main holds mu while W1 then W2 queue on its
    semaphore (FIFO, sema.go:304). main's Unlock wakes W1 (mutex.go:215-222) and main, still
    running, locks again at once: the woken W1 does not own the mutex, so main wins
    (mutex.go:141-142). When W1 runs it finds mu locked, counts itself a waiter again and,
    having waited before, queues at the *head* (queueLifo, mutex.go:145-149, sema.go:319), so
    main's next Unlock wakes W1 again, not W2. A fair hand-off mutex would give W1 the lock
    before main's second Lock; a FIFO re-queue would let W2 in before W1. GOMAXPROCS=1: nobody
    spins (runtime_canSpin needs another running P, proc.go:7995)."""
    mu = Mutex("mu")
    w1 = Go("W1", [mu.lock(), mark("W1 got"), mu.unlock()])
    w2 = Go("W2", [mu.lock(), mark("W2 got"), mu.unlock()])
    main = Go("main", [
        mu.lock(), spawn(w1), gosched(), spawn(w2), gosched(),  # W1 then W2 park on mu
        mu.unlock(), mu.lock(), mark("main again"), gosched(), cpu(0.1), mu.unlock(),
    ])  # fmt: skip
    res = simulate(main, gomaxprocs=1)
    assert order_of_marks(res) == ["main again", "W1 got", "W2 got"]
    assert len(parks(res, "W1")) == 2 and len(parks(res, "W2")) == 1
    stats = res.primitives["mu"]
    assert stats["spins"] == 0 and stats["starvation_switches"] == 0 and stats["handoffs"] == 0


def test_a_waiter_starved_for_1ms_switches_the_mutex_to_hand_off():
    """Starvation mode (internal/sync/mutex.go:39-50). A keeps re-locking mu with no gap; B,
    woken by each Unlock into A's P's runnext, is stolen by the idle P only after A has locked
    again, and queues once more. Once B has waited more than starvationThresholdNs = 1 ms
    (mutex.go:55 and 150) it sets mutexStarving on its next try (mutex.go:129-131), and A's next
    Unlock hands mu straight to B and yields its P to it (mutex.go:232, semrelease with handoff
    and goyield, src/runtime/sema.go:260-286): B gets mu within one of A's 0.05 ms holds of its
    1 ms. Without starvation mode B would wait for A's whole 10 ms loop."""
    mu = Mutex("mu")
    a = Go("A", [repeat(200, [mu.lock(), cpu(0.05), mu.unlock()])])
    b = Go("B", [sleep(0.2), mark("B wants"), mu.lock(), mark("B got"), mu.unlock()])
    res = simulate(Go("main", [spawn(a), spawn(b)]), gomaxprocs=2)
    waited = res.marks["B got"][0] - res.marks["B wants"][0]
    assert 1.0 < waited < 1.0 + 2 * 0.05
    stats = res.primitives["mu"]
    assert stats["starvation_switches"] == 1 and stats["handoffs"] == 1
    yields = res.event_log[res.event_log["kind"] == "yield"]
    assert yields["g"].tolist() == ["A"]  # goyield: A to its local queue, B runs on A's P
    assert res.marks["B got"][0] == pytest.approx(yields["t_ms"][0] + SWITCH)
    assert res.finished_ms["A"] == pytest.approx(10, abs=0.1)  # A's loop itself barely waited


@pytest.mark.parametrize("held_spins", [2.5, 5.5])
def test_a_contended_lock_spins_four_times_before_it_parks(held_spins):
    """lockSlow spins while the holder runs elsewhere (runtime_canSpin: fewer than active_spin =
    4 spins, another P running, an empty local queue; src/runtime/proc.go:7989-8003), each spin
    a procyield(30) of MUTEX_SPIN_MS (proc.go:8006). W, on the other P, tries the lock the moment
    main, holding it, sets a flag: a hold of 2.5 spins ends during W's third spin, and W takes
    the lock as that spin ends, without parking; a hold of 5.5 spins outlasts all four, so W
    parks and is woken by the Unlock into main's runnext, where the idle P must steal it (far
    later). A model without spinning parks W in both cases."""
    mu, go_ = Mutex("mu"), Flag("go")
    w = Go("W", [go_.spin(), mu.lock(), mark("W got")])
    main = Go("main", [
        spawn(w), cpu(1.0), mu.lock(), go_.set(), cpu(held_spins * SPIN), mu.unlock(), cpu(1),
    ])  # fmt: skip
    res = simulate(main, gomaxprocs=2)
    got = res.marks["W got"][0]
    if held_spins < 4:
        assert got == pytest.approx(1.0 + 3 * SPIN)
        assert parks(res, "W") == [] and res.primitives["mu"]["spins"] == 3
    else:
        assert got > 1.0 + held_spins * SPIN + rt.THREAD_WAKE_MS
        assert parks(res, "W") == [pytest.approx(1.0 + 4 * SPIN)]
        assert res.primitives["mu"]["spins"] == 4


def test_no_spinning_on_one_p_or_behind_queued_work():
    """runtime_canSpin is false with GOMAXPROCS=1 (gomaxprocs <= npidle + nmspinning + 1) and
    when the spinner's P has work queued (proc.go:7995-8000): the waiter parks at once."""
    mu, go_ = Mutex("mu"), Flag("go")
    w = Go("W", [go_.spin(), mu.lock(), mark("W got")])
    main = Go("main", [spawn(w), cpu(1.0), mu.lock(), go_.set(), cpu(0.01), mu.unlock()])
    one = simulate(main, gomaxprocs=1)
    assert one.primitives["mu"]["spins"] == 0
    queued = Go("W", [go_.spin(), spawn(Go("other", [cpu(1)])), mu.lock(), mark("W got")])
    busy = Go("main", [spawn(queued), cpu(1.0), mu.lock(), go_.set(), cpu(0.01), mu.unlock()])
    assert simulate(busy, gomaxprocs=2).primitives["mu"]["spins"] == 0


def test_unlock_of_an_unlocked_mutex_is_gos_fatal_error():
    """internal/sync/mutex.go:203-205: fatal("sync: unlock of unlocked mutex")."""
    mu = Mutex("mu")
    with pytest.raises(ProgramError, match=r"'main'.*mu\.unlock\(\).*unlock of unlocked mutex"):
        simulate(Go("main", [mu.lock(), mu.unlock(), mu.unlock()]))
    with pytest.raises(ProgramError, match="fatal error"):
        simulate(Go("main", [Mutex().unlock()]))


def test_a_mutex_waiter_dumps_as_gos_own_dump_does():
    """A goroutine parked in Lock shows "[sync.Mutex.Lock]" and the four frames a go1.27.3 dump
    prints above its own (sema.go:95, internal/sync/mutex.go:149 and :70, sync/mutex.go:46),
    from tests/data/sched/sync-waits-debug2.txt. A wait(ms, "sync.Mutex.Lock") step, a wait the
    model does not simulate, shows none (as before the Mutex existed)."""
    mu = Mutex("mu")
    main = Go("main", [mu.lock(), spawn(Go("W", [mu.lock()])), gosched(), cpu(1), mu.unlock()])
    res = simulate(main, gomaxprocs=1)
    frames = model_frames(res.goroutine_dump(0.5), "sync.Mutex.Lock")
    assert frames == real_dump_blocks()["sync.Mutex.Lock"][: len(frames)] and len(frames) == 8
    from labkit.models.scheduler import wait

    other = simulate(Go("main", [spawn(Go("W", [wait(2, "sync.Mutex.Lock")])), gosched(), cpu(1)]))
    assert model_frames(other.goroutine_dump(0.5), "sync.Mutex.Lock") == []


# ---- time.Ticker --------------------------------------------------------------------------------


def test_a_loop_slower_than_its_ticker_gets_one_tick_at_once_and_loses_the_rest():
    """A 1 ms ticker read by a loop whose body takes 2.5 ms, then by a loop with no work. Each
    slow iteration comes back to a late timer: it fires at once (on the receiver's park:
    blockTimerChan revives it, src/runtime/time.go:1436; (*timers).check runs it) and its next
    fire is the next whole period after now (unlockAndRun, time.go:1117-1120), so the periods
    in between are lost. When the loop speeds up there is no backlog: one tick (the late one)
    at once, then one per period on the grid (ticks at 12 and 13 ms). A ticker that queued
    every tick would hand the fast loop its backlog at once; one that kept firing with nobody
    waiting would count fires while nobody listens."""
    tk = ticker(1.0, "tk")
    slow = repeat(4, [recv(tk), mark("slow"), cpu(2.5)])
    fast = repeat(3, [recv(tk), mark("fast")])
    res = simulate(Go("main", [spawn(Go("loop", [tk.start(), slow, fast]))]), gomaxprocs=1)
    # (each tick is late by the switches and timer fires before it, a few us)
    assert res.marks["slow"] == pytest.approx([1 + 2.5 * k for k in range(4)], abs=0.01)
    assert res.marks["fast"] == pytest.approx([11, 12, 13], abs=0.01)
    # periods 5, 6; 7; 9, 10 and 11 were never sent: 1 + 2 + 1 + 2 skipped, nothing queued
    assert res.primitives["tk"] == {
        "kind": "ticker", "starts": 1, "period_ms": 1.0, "fired": 7, "sent": 7, "skipped": 6,
        "dropped": 0,
    }  # fmt: skip


def test_a_ticker_nobody_waits_on_never_fires():
    """Since Go 1.23 a timer with a channel is in a P's heap only while a goroutine is blocked
    on the channel (needsAdd, src/runtime/time.go:655-657): a ticker nobody reads costs the
    scheduler nothing (pre-1.23 runtimes fired it every period, dropping the ticks)."""
    tk = ticker(1.0)
    res = simulate(Go("main", [tk.start(), sleep(10), recv(tk), mark("got")]), gomaxprocs=1)
    assert res.stats["timers_fired"] == 1  # main's sleep; the tick came from maybeRunChan
    assert res.marks["got"] == [pytest.approx(res.marks["got"][0])]
    assert res.primitives["ticker1"]["fired"] == 1
    assert res.primitives["ticker1"]["skipped"] >= 9  # due at 1 ms, read after 10


def test_a_fast_loop_gets_every_tick_on_the_grid():
    """A receiver that is always waiting gets each tick at its time: the timer is in the heap
    while the receiver waits, and sendTime hands the tick to it (src/time/sleep.go:153, a send
    to a waiting receiver readies it with goready). (Its P idle, the thread waits in netpoll in
    whole milliseconds, src/runtime/netpoll_epoll.go:118-126: with a loop body of 0.1 ms the
    ticks would come later and later, at 2, 4.1, 6.2, 8.3 ms ...)"""
    tk = ticker(2.0, "tk")
    res = simulate(Go("main", [tk.start(), repeat(5, [recv(tk), mark("t")])]))
    assert res.marks["t"] == pytest.approx([2, 4, 6, 8, 10], abs=0.01)
    assert res.primitives["tk"]["skipped"] == 0 and res.primitives["tk"]["sent"] == 5


def test_stop_drains_the_tick_and_a_receive_then_waits_forever():
    """Ticker.Stop: no further fires, and a tick waiting in the channel is drained
    (timerchandrain, src/runtime/chan.go:358): a later receive blocks; alone, that is Go's
    deadlock."""
    tk = ticker(1.0, "tk")
    res = simulate(Go("main", [tk.start(), cpu(1.5), tk.stop(), recv(tk)]))
    assert res.deadlock is not None and "[chan receive]" in res.deadlock
    assert res.primitives["tk"]["sent"] == 0


def test_ticker_misuse_raises_what_go_does():
    """A period <= 0 panics in time.NewTicker (src/time/tick.go:37-38); a ticker that was never
    started has a nil variable in Go."""
    for bad in (0, -1.0):
        with pytest.raises(ProgramError, match="non-positive interval for NewTicker"):
            ticker(bad)
    with pytest.raises(ProgramError, match="number of ms"):
        Ticker("1ms")
    with pytest.raises(ProgramError, match=r"'main'.*recv\(tk\).*not started"):
        simulate(Go("main", [recv(ticker(1.0, "tk"))]))


# ---- select -------------------------------------------------------------------------------------


def test_ready_cases_are_chosen_in_the_random_poll_order_of_the_runs_generator():
    """selectgo permutes the cases with cheaprandn (src/runtime/select.go:191-194, rand.go:319:
    (cheaprand() * n) >> 32) and takes the first ready one in that order. With both channels
    full, each select of two cases draws two numbers; the second decides: below 2**31 case b
    is polled first. The model draws cheaprand from the run's seeded generator, so the choices
    are exactly those of the draws, and differ by seed. A select that always tried its first
    case first would never pick b."""
    a, b = Chan(100, "a"), Chan(100, "b")
    pick = select((recv(a), [mark("pick", "a")]), (recv(b), [mark("pick", "b")]))
    main = Go("main", [repeat(50, [send(a), send(b)]), repeat(50, [pick])])
    runs = {}
    for seed in (0, 1):
        res = simulate(main, gomaxprocs=1, seed=seed)
        draws = np.random.default_rng(seed).integers(0, 2**32, size=100, dtype=np.uint64)
        expected = ["b" if (int(r) * 2) >> 32 == 0 else "a" for r in draws[1::2]]
        assert res.mark_values["pick"] == expected
        assert parks(res, "main") == []
        runs[seed] = expected
    assert runs[0] != runs[1] and 15 < runs[0].count("a") < 35


def test_a_blocked_select_is_woken_by_its_first_ready_case_and_leaves_the_others():
    """With nothing ready and no default, selectgo enqueues a sudog on every channel and parks
    ("select", select.go:309-351). main's send on a wins the select (the sudog's selectDone,
    src/runtime/chan.go:896-900) and readies S; main's send on b, before S has run, finds S's
    sudog on b already won and skips it, so main blocks on b like any sender. S, running again,
    takes its sudog off b (pass 3, select.go:360-401), runs case a, then receives main's value
    on b. A select that stayed queued on b would take main's send there as a second wake-up."""
    a, b = Chan(0, "a"), Chan(0, "b")
    s = Go("S", [select((recv(a), [mark("S chose", "a")]), (recv(b), [mark("S chose", "b")])),
                 recv(b), mark("S got b")])  # fmt: skip
    main = Go("main", [spawn(s), gosched(), send(a), send(b), mark("main sent b")])
    res = simulate(main, gomaxprocs=1)
    assert res.mark_values["S chose"] == ["a"]
    assert order_of_marks(res) == ["S chose", "S got b", "main sent b"]
    # main parks on b, a channel's switch (SCHEDULE_MS + CHAN_HANDOFF_MS), before S runs
    assert parks(res, "main") == [
        pytest.approx(res.marks["S chose"][0] - SWITCH - rt.CHAN_HANDOFF_MS)
    ]
    s_parks = res.event_log[(res.event_log["kind"] == "park") & (res.event_log["g"] == "S")]
    assert len(s_parks) == 1  # S's recv(b) found main waiting: no second park
    sel = next(g for g in res._goroutines if g["name"] == "S")["history"]
    assert [h[2] for h in sel if h[2]] == ["select"]


def test_default_runs_when_nothing_is_ready_and_the_goroutine_never_parks():
    """select.go:303-307: pass 1 found nothing, block is false: the default case, at once."""
    a = Chan(0, "a")
    main = Go("main", [repeat(3, [select((recv(a), [mark("got")]), default=[mark("default")])])])
    res = simulate(main, gomaxprocs=1)
    assert res.marks["default"] == [0.0, 0.0, 0.0] and "got" not in res.marks
    assert parks(res, "main") == []


def test_a_timeout_is_a_timer_channel_made_when_the_select_starts():
    """case <-time.After(d): a timer channel made before selectgo runs (src/time/sleep.go:169),
    put in the P's heap when the select blocks on it (blockTimerChan, time.go:1436) and firing
    d later; its sendTime wakes the select (the timeout case). A message that comes first wins
    instead, and the timer is left a zombie, deleted without firing. time.After(0) is due at
    once: maybeRunChan puts its tick in the channel before pass 1 (select.go:187-189)."""
    a = Chan(0, "a")
    waiter = Go("W", [
        select((recv(a), [mark("got")]), timeout=(2.0, [mark("timed out")])),
        select((recv(a), [mark("got")]), timeout=(2.0, [mark("timed out")])),
        select((recv(a), [mark("got")]), timeout=(0, [mark("at once")])),
    ])  # fmt: skip
    sender = Go("S", [cpu(3.5), send(a)])
    res = simulate(Go("main", [spawn(waiter), spawn(sender)]), gomaxprocs=2)
    (timed_out,) = res.marks["timed out"]
    assert 2.0 <= timed_out < 2.0 + 0.01
    assert res.marks["got"] == [pytest.approx(3.5, abs=0.1)]
    assert res.marks["at once"] == res.marks["got"] and len(parks(res, "W")) == 2
    assert res.stats["timers_fired"] == 1  # the first timeout; the second was a zombie
    assert res.deadlock is None


def test_select_with_no_cases_blocks_forever_as_go_reports_it():
    """select {} is block() (src/runtime/select.go:103-105): parked for good with
    waitReasonSelectNoCases, "select (no cases)" (src/runtime/runtime2.go:1284); alone it is
    Go's deadlock, and a dump shows the reason as Go's does (tests/data/sched)."""
    a, tk = Chan(0, "a"), ticker(100.0, "tk")
    waiting = [
        Go("idle", [select()]),
        Go("selector", [select(recv(a), send(a), timeout=100)]),
        Go("ticks", [tk.start(), recv(tk)]),
    ]
    main = Go("main", [*[spawn(g) for g in waiting], gosched(), cpu(1)])
    dump = simulate(main, gomaxprocs=1).goroutine_dump(0.5)
    assert "goroutine 2 [select (no cases)]:" in dump
    assert "goroutine 3 [select]:" in dump and "goroutine 4 [chan receive]:" in dump
    # Go shows no runtime frames above the goroutine's own for these waits, nor does the model
    for reason in ("select (no cases)", "select", "chan receive"):
        assert model_frames(dump, reason) == []
        assert real_dump_blocks()[reason][0].startswith("main.")
    alone = simulate(Go("main", [select()]))
    assert alone.deadlock.startswith("fatal error: all goroutines are asleep - deadlock!")
    assert "goroutine 1 [select (no cases)]" in alone.deadlock


def test_select_cases_are_channel_operations():
    with pytest.raises(ProgramError, match="channel operations"):
        select((cpu(1), [mark("x")]))
    with pytest.raises(ProgramError, match="select case 0"):
        select("recv")
    with pytest.raises(ProgramError, match="cpu_demand_ms"):
        from labkit.models.scheduler import cpu_demand_ms

        cpu_demand_ms(Go("main", [select(default=[])]))


# ---- an atomic flag spun on ---------------------------------------------------------------------


def preempted_at() -> float:
    """When sysmon first asks a G that has held one P since t=0 to stop (as test_sched.py's
    tight-loop test derives it from sysmon's cadence): its first round at or after the 10 ms
    forcePreemptNS from the round that noted the schedtick."""
    from test_sched import sysmon_ticks

    ticks = sysmon_ticks(20.0)
    return next(t for t in ticks if t >= ticks[0] + rt.FORCE_PREEMPT_MS)


@pytest.mark.parametrize(
    ("calls", "async_preempt", "stopped"),
    [(False, True, True), (False, False, False), (True, False, True)],
)
def test_a_spinning_goroutine_holds_its_p_until_preempted(calls, async_preempt, stopped):
    """On one P, main starts a goroutine that spins until main sets a flag, and yields to it.
    The loads are no scheduling points and wake nobody: the spinner keeps the P until sysmon
    preempts it after forcePreemptNS (retake -> preemptone, src/runtime/proc.go:6715 and
    6917), by signal (asyncPreempt) if it calls nothing, or at its next call's stack check;
    then main runs from the global queue, sets the flag, and the spinner, back on the P, sees
    it. With async preemption off, a loop without calls is never stopped: main never runs
    again (Go <= 1.13's hang). A spin that yielded, or a flag store that woke the spinner,
    would let main through at once."""
    flag = Flag("ready")
    spinner = Go("spinner", [flag.spin(calls=calls), mark("saw")])
    main = Go("main", [spawn(spinner), gosched(), flag.set(), mark("set")])
    res = simulate(main, gomaxprocs=1, async_preempt=async_preempt, until_ms=100.0)
    if stopped:
        assert res.marks["set"] == [pytest.approx(preempted_at() + SWITCH)]
        assert res.marks["saw"] == [pytest.approx(preempted_at() + 2 * SWITCH)]
        assert res.stats["preemptions"] == 1
        assert res.cpu_ms()["spinner"] == pytest.approx(preempted_at() - SWITCH)
    else:
        assert "set" not in res.marks and res.finished_ms["main"] is None
        assert res.cpu_ms()["spinner"] == pytest.approx(100.0 - SWITCH)


def test_a_spinner_on_another_p_sees_the_store_at_once():
    """With a second P the spinner runs beside the setter and leaves its loop the moment the
    flag is stored (a load sees the store); clear() stores false again."""
    flag = Flag("ready")
    spinner = Go("spinner", [flag.spin(), mark("saw"), flag.clear(), flag.spin(), mark("again")])
    main = Go("main", [spawn(spinner), cpu(2), flag.set(), cpu(0.5), flag.set()])
    res = simulate(main, gomaxprocs=2)
    assert res.marks["saw"] == [pytest.approx(2.0)]
    assert res.marks["again"] == [pytest.approx(2.5)]
    assert res.primitives["ready"] == {"kind": "flag", "value": 1, "stores": 3, "spin_starts": 2}


# ---- every primitive together: the model's bookkeeping holds ----------------------------------


class CheckedScheduler(Scheduler):
    """The model checking its own bookkeeping after every event (invariants.py): every G in
    exactly one place, select sudogs and zombie timers counted where they are."""

    def after_event(self, t: float) -> None:
        self.check_invariants()


@st.composite
def primitive_programs(draw):
    """main starts a ticker, then n workers that each lock a shared mutex around some work,
    select over two channels (with a default, a timeout or neither), read the ticker, spin on a
    flag main sets, and say Done to a WaitGroup main waits on."""
    mu, wg, flag, tk = (
        Mutex("mu"),
        WaitGroup("wg"),
        Flag("f"),
        ticker(draw(st.sampled_from([0.3, 1.0])), "tk"),
    )
    chans = [Chan(draw(st.integers(0, 1)), f"c{i}") for i in range(2)]
    ms = st.floats(0.0, 2.0, allow_nan=False)

    def step():
        kind = draw(
            st.sampled_from(
                ["cpu", "lock", "lock", "lock", "select", "tick", "spin", "sleep", "yield"]
            )
        )
        if kind == "cpu":
            return [cpu(draw(ms))]
        if kind == "lock":
            return [mu.lock(), cpu(draw(ms)), mu.unlock()]
        if kind == "select":
            cases = [draw(st.sampled_from([send, recv]))(c) for c in chans]
            how = draw(st.sampled_from(["default", "timeout", "block"]))
            extra = {"default": {"default": [cpu(0.01)]}, "timeout": {"timeout": draw(ms)}}
            return [select(*cases, **extra.get(how, {}))]
        if kind == "tick":
            return [recv(tk)]
        if kind == "spin":
            return [flag.spin(calls=True)]
        if kind == "sleep":
            return [sleep(draw(ms))]
        return [gosched()]

    workers = []
    for i in range(draw(st.integers(1, 5))):
        body = [s for _ in range(draw(st.integers(1, 4))) for s in step()]
        workers.append(Go(f"w{i}", [repeat(draw(st.integers(1, 6)), body), wg.done()]))
    main = [tk.start(), wg.add(len(workers)), *[spawn(w) for w in workers]]
    main += [cpu(draw(ms)), flag.set(), wg.wait(), tk.stop()]
    return Go("main", main)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(main=primitive_programs(), gomaxprocs=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_programs_with_every_primitive_keep_the_models_bookkeeping(main, gomaxprocs, seed):
    """Whatever the interleaving, no G is lost or in two places (check_invariants after every
    event), the run ends with every goroutine done or with Go's deadlock report, and the same
    seed gives the same run."""
    kw = dict(gomaxprocs=gomaxprocs, async_preempt=True, until_ms=1_000.0, seed=seed)
    s = CheckedScheduler(main, gomaxprocs, True, 1_000.0, seed)
    s.simulate()
    res = Result.from_scheduler(s, SchedParams(**kw), main.name)
    done = all(v is not None for v in res.finished_ms.values())
    assert done or res.deadlock is not None, res.summary()
    again = simulate(main, **kw)
    assert again.marks == res.marks and again.stats == res.stats
    assert np.array_equal(again.segments, res.segments)


def test_a_spin_lasts_what_the_recording_measured():
    """MUTEX_SPIN_MS is the median ``spin_ns`` of labkit/golab/recorded/mutex_spin.json (one
    sync.runtime_doSpin, procyield(30), timed by labkit/golab/go/mutex_spin; re-record with
    scripts/record_go_results.py mutex_spin)."""
    from labkit.golab.recorded import load_recorded

    (run,) = load_recorded("mutex_spin")["runs"]
    recorded_ms = run["result"]["spin_ns"] / 1e6
    assert abs(rt.MUTEX_SPIN_MS - recorded_ms) <= 1e-3 * recorded_ms
    assert min(run["result"]["spin_ns_runs"]) <= run["result"]["spin_ns"]


def test_runs_with_the_primitives_leave_no_garbage_cycles():
    """A select's sudogs and its state point at each other, as a lockSlow's state and its G do:
    a select that returns drops its sudogs, and Scheduler.release breaks what a run ends with
    (a select still blocked, a mutex waiter, a ticker's timer), so reference counting frees
    every object of the run, as test_sched_result.py requires of every run."""
    import gc

    mu, wg, tk, a = Mutex("mu"), WaitGroup("wg"), ticker(0.5, "tk"), Chan(0, "a")
    stuck = Go("stuck", [mu.lock(), select(recv(a), recv(tk))])  # blocked at the end
    ticking = Go("ticking", [repeat(5, [select((recv(a), []), recv(tk), timeout=0.2)])])
    worker = Go("worker", [mu.lock(), cpu(0.3), mu.unlock(), wg.done()])
    main = Go("main", [tk.start(), wg.add(3), repeat(3, [spawn(worker)]), wg.wait(),
                       spawn(ticking), spawn(stuck), sleep(5), mu.lock()])  # fmt: skip
    gc.collect()
    gc.disable()
    try:
        res = simulate(main, gomaxprocs=2)
        assert res.deadlock is not None  # main and stuck wait on mu, for ever
        del res
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_tick_waiting_in_the_channel_is_taken_at_a_channel_operations_cost():
    """``<-t.C`` with a tick already due (maybeRunChan puts it in the channel's slot) is
    chanrecv's fast path, CHAN_OP_MS of the receiver's CPU (chan.op_burst); the next receive
    finds the slot empty and parks until the following tick, which costs no such burst."""
    tk = ticker(1.0, "tk")
    main = Go("main", [tk.start(), cpu(2.5), mark("a"), recv(tk), mark("b"), recv(tk), mark("c")])
    res = simulate(main, gomaxprocs=1)
    assert res.marks["b"][0] - res.marks["a"][0] == pytest.approx(rt.CHAN_OP_MS)
    assert res.chan_op_ms == pytest.approx({"main": rt.CHAN_OP_MS})
    assert res.marks["c"][0] > res.marks["b"][0] + 0.9  # parked for the next period
