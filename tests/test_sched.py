"""The scheduler model behaves like Go's runtime (src/runtime/proc.go), one behaviour per test.

Each test is a tiny program with the trace Go gives it; the docstring says what the runtime does
and where. Expected times are built from the model's named constants, so a test reads as the
arithmetic of the runtime, not as a number copied from a run.
"""

from __future__ import annotations

import math

import pytest

from labkit.models.scheduler import (
    Chan,
    Go,
    cpu,
    gosched,
    io_wait,
    lock_os_thread,
    mark,
    recv,
    repeat,
    send,
    simulate,
    sleep,
    spawn,
    syscall,
    wait,
)
from labkit.models.scheduler import runtime as rt

SWITCH = rt.SCHEDULE_MS


def order_of_marks(res) -> list[str]:
    return [label for _, label in sorted((t, k) for k, ts in res.marks.items() for t in ts)]


def sysmon_ticks(until_ms: float) -> list[float]:
    """sysmon's wake-up times from program start, as proc.go's loop computes them: usleep(20)
    for the first 51 rounds (idle 0..50), then the delay doubles up to 10 ms; every usleep lasts
    the delay plus the kernel's timer slack. (No retake resets the cadence in these programs.)"""
    ticks, t, idle, delay = [], 0.0, 0, 0.0
    while t <= until_ms:
        if idle == 0:
            delay = rt.SYSMON_MIN_DELAY_MS
        elif idle > rt.SYSMON_IDLE_ROUNDS:
            delay = min(delay * 2, rt.SYSMON_MAX_DELAY_MS)
        t += delay + rt.TIMER_SLACK_MS
        ticks.append(t)
        idle += 1
    return ticks


# ---- run queues and spawn order ------------------------------------------------------------


def test_spawn_order_is_last_first_then_fifo():
    """newproc puts each new G in runnext and kicks the previous runnext to the tail of the
    local queue: with GOMAXPROCS=1, G1..G5 spawned by a main that then blocks run 5, 1, 2, 3, 4."""
    workers = [Go(f"G{i}", [mark(f"G{i}")]) for i in range(1, 6)]
    res = simulate(Go("main", [*[spawn(w) for w in workers], sleep(1)]), gomaxprocs=1)
    assert order_of_marks(res) == ["G5", "G1", "G2", "G3", "G4"]
    # main arms its timer and parks; G5 runs one schedule() later
    assert res.marks["G5"] == [pytest.approx(rt.TIMER_ARM_MS + SWITCH)]


def test_full_local_queue_moves_half_plus_one_to_global_and_61st_tick_takes_it():
    """runqputslow: when 256 slots are full, 128 of them plus the kicked-out G go to the global
    queue in one batch. Later, the 61st schedtick checks the global queue first (findRunnable),
    so G0 from the global batch runs in the middle of the local queue."""
    n = 258
    workers = [Go(f"G{i}", [mark(f"G{i}")]) for i in range(n)]
    res = simulate(Go("main", [*[spawn(w) for w in workers], sleep(5)]), gomaxprocs=1)
    assert res.stats["global_runq_puts"] == 129
    puts = res.event_log[res.event_log["kind"] == "global_put"]
    assert len(puts) == 1 and puts["g"][0] == "G256"  # the kicked-out runnext ends the batch
    # after main's spawns: 128 left locally plus runnext, 129 in the global queue
    assert res.runq["global"][0] == 129
    assert res.runq["local"][0, 0] == 129
    order = order_of_marks(res)
    # runnext (inherits main's schedtick 1), then local G128.. while schedtick runs 1..60; at
    # schedtick 61 one G from the global queue: G0.
    assert order[:3] == ["G257", "G128", "G129"]
    assert order[60:63] == ["G187", "G0", "G188"]
    assert sorted(order) == sorted(f"G{i}" for i in range(n))


def test_gosched_goes_to_the_global_queue():
    """goschedImpl puts the yielding G on the *global* queue (globrunqput), not the local one:
    a G that yields runs after everything queued locally, found by findRunnable's global step."""
    y = Go("Y", [mark("Y1"), gosched(), mark("Y2")])
    others = [Go(f"X{i}", [mark(f"X{i}")]) for i in range(3)]
    res = simulate(Go("main", [spawn(y), *[spawn(x) for x in others], sleep(1)]), gomaxprocs=1)
    assert order_of_marks(res) == ["X2", "Y1", "X0", "X1", "Y2"]
    puts = res.event_log[res.event_log["kind"] == "global_put"]
    assert puts["g"].tolist() == ["Y"]


def test_woken_sleeper_goes_to_runnext():
    """A fired timer readies its G with goready -> runqput(next=true): the sleeper runs next,
    ahead of the Gs queued earlier (W3 here). Timers are checked when the P schedules, so the
    sleeper waits for the running W2 to finish (1.8 ms, not 1.6)."""
    s = Go("S", [sleep(1), mark("S")])
    ws = [Go(f"W{i}", [mark(f"W{i}"), cpu(0.6)]) for i in range(1, 5)]
    res = simulate(Go("main", [spawn(s), *[spawn(w) for w in ws]]), gomaxprocs=1)
    assert order_of_marks(res) == ["W4", "W1", "W2", "S", "W3"]
    w2_end = res.finished_ms["W2"]
    assert res.marks["S"] == [pytest.approx(w2_end + SWITCH + rt.TIMER_FIRE_MS)]


def test_channel_partner_is_readied_into_runnext():
    """chansend to a parked receiver calls goready(gp): the receiver goes to the sender's runnext,
    so it runs before Gs that were queued earlier."""
    ch = Chan(0, "c")
    r = Go("R", [recv(ch), mark("R got")])
    s = Go("S", [mark("S sends"), send(ch), sleep(1)])
    q = [Go(f"Q{i}", [mark(f"Q{i}")]) for i in range(2)]
    res = simulate(Go("main", [spawn(r), *[spawn(x) for x in q], spawn(s)]), gomaxprocs=1)
    assert order_of_marks(res) == ["S sends", "R got", "Q0", "Q1"]


def test_buffered_channel_blocks_only_when_full():
    """chansend on a buffered channel parks only when the buffer is full; a receive frees a slot
    and moves the blocked sender's value in, readying the sender. Every send and receive that
    neither parks nor hands over takes CHAN_OP_MS of its goroutine's CPU."""
    ch = Chan(2, "buf")
    prod = Go("P", [repeat(3, [send(ch)]), mark("P done")])
    cons = Go("C", [sleep(1), mark("C starts"), repeat(3, [recv(ch)]), mark("C done")])
    res = simulate(Go("main", [spawn(cons), spawn(prod)]), gomaxprocs=1)
    ev = res.event_log
    parks = ev[ev["kind"] == "park"]
    assert parks["g"].tolist() == ["P", "C"]  # P's third send finds the buffer full
    # C drains all three in a row (the readied P waits in runnext), then P finishes: C's first
    # receive readies P (a hand-over, paid in P's park), the other two are the fast path's, as
    # were P's first two sends
    assert res.marks["C done"][0] - res.marks["C starts"][0] == pytest.approx(2 * rt.CHAN_OP_MS)
    assert res.chan_op_ms == pytest.approx({"P": 2 * rt.CHAN_OP_MS, "C": 2 * rt.CHAN_OP_MS})
    assert res.marks["P done"][0] > res.marks["C done"][0]
    assert res.deadlock is None


def test_a_goroutine_that_only_sends_shows_its_cpu_under_its_own_function():
    """A buffered send's CPU is the caller's (a profile shows main.producer above
    runtime.chansend1): a goroutine with no cpu() step of its own still has its stretches, each
    under its default stack, never an empty one."""
    ch = Chan(8, "buf")
    producer = Go("producer", [repeat(4, [send(ch)])])
    res = simulate(Go("main", [spawn(producer), sleep(1), repeat(4, [recv(ch)])]), gomaxprocs=1)
    seg = res.segments
    assert set(seg["stack"][seg["g"] == "producer"]) == {"main.producer"}
    assert set(seg["stack"][seg["g"] == "main"]) == {"main.main"}
    assert res.cpu_ms() == pytest.approx({"main": 4 * rt.CHAN_OP_MS, "producer": 4 * rt.CHAN_OP_MS})


@pytest.mark.parametrize("async_preempt", [True, False])
def test_a_channel_operation_is_preempted_after_it_returns_never_midway(monkeypatch, async_preempt):
    """A send into a buffer with room is runtime code: no signal stops it (isAsyncSafePoint,
    preempt.go:463) and a stack check inside it, the lock held, lets it run on (newstack,
    stack.go:1124) until unlock puts the request back (lock_spinbit.go:331). With each such
    operation made 8 ms long, sysmon's request at ~14 ms waits for the second send's end (16 ms
    of the sender's CPU), and no send runs twice: 4 sends, 32 ms."""
    monkeypatch.setattr(rt, "CHAN_OP_MS", 8.0)
    ch = Chan(10, "buf")
    sender = Go("sender", [mark("s0"), repeat(4, [send(ch)]), mark("s1")])
    other = Go("other", [cpu(1.0, calls=False)])
    res = simulate(
        Go("main", [spawn(other), spawn(sender)]), gomaxprocs=1, async_preempt=async_preempt
    )
    ev = res.event_log
    preempts = ev[ev["kind"] == "preempt"]
    assert preempts["g"].tolist() == ["sender"]
    assert preempts["t_ms"][0] == pytest.approx(res.marks["s0"][0] + 2 * 8.0)
    assert res.chan_op_ms == {"sender": 32.0}
    assert res.cpu_ms()["sender"] == pytest.approx(32.0)


# ---- preemption and sysmon -------------------------------------------------------------------


def test_sysmon_cadence_20us_then_doubling_to_10ms():
    """sysmon sleeps 20 us for 51 rounds, then doubles up to 10 ms (proc.go sysmon), each sleep
    stretched by the timer slack; the model's ticks are exactly that sequence."""
    ticks = []

    class Recorder(rt.Scheduler):
        def retake(self, t):  # called once per sysmon round
            ticks.append(t)
            return super().retake(t)

    s = Recorder(Go("main", [cpu(60)]), 1, True, 60.0, 0)
    s.simulate()
    expected = [t for t in sysmon_ticks(60.0) if t <= 60.0]
    assert ticks == pytest.approx(expected, rel=1e-12, abs=1e-12)
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert gaps[0] == pytest.approx(0.070)
    assert gaps[-1] == pytest.approx(10.050)


def test_tight_loop_preempted_after_14_ms_not_10():
    """Go >= 1.14 preempts a loop without calls by signal once sysmon sees the same schedtick for
    10 ms (retake/preemptone, src/runtime/proc.go:6715 and 6917). sysmon notes the new schedtick
    at its first tick (0.07 ms), but by 10 ms it sleeps for ~5 ms at a time, so its first tick at
    or after 10.07 ms is at ~14.17 ms (labkit/golab/recorded/preempt.json, async_preempt=True:
    main resumed after 14.6-17.4 ms). The preempted loop goes to the global queue and main,
    yielded there first, runs."""
    main = Go("main", [spawn(Go("spin", [cpu(600, calls=False)])), gosched(), mark("back")])
    res = simulate(main, gomaxprocs=1, async_preempt=True, until_ms=5_000, seed=0)
    ticks = sysmon_ticks(20.0)
    schedwhen = ticks[0]  # the first tick sees spin's new schedtick
    preempt_at = next(t for t in ticks if t >= schedwhen + rt.FORCE_PREEMPT_MS)
    assert 14 < preempt_at < 19
    assert res.marks["back"] == [pytest.approx(preempt_at + SWITCH)]
    kinds = res.event_log["kind"].tolist()
    i = kinds.index("preempt")
    assert kinds[i + 1] == "global_put" and res.event_log["g"][i + 1] == "spin"


def test_tight_loop_without_async_preemption_holds_the_p_until_it_ends():
    """GODEBUG=asyncpreemptoff=1 (or Go <= 1.13): a loop without calls never reaches a
    preemption check, so main gets the P back only after the 600 ms loop
    (labkit/golab/recorded/preempt.json, async_preempt=False: after 608-614 ms)."""
    main = Go("main", [spawn(Go("spin", [cpu(600, calls=False)])), gosched(), mark("back")])
    res = simulate(main, gomaxprocs=1, async_preempt=False, until_ms=5_000)
    assert res.marks["back"][0] >= 600
    # the request was still honoured at the loop's end (the next call's stack check)
    assert res.stats["preemptions"] == 1


def test_code_with_calls_is_preempted_cooperatively_even_without_async():
    """A calls=True burst is preempted at its next function call (stack-check prologue), so
    asyncpreemptoff does not matter for it."""
    main = Go("main", [spawn(Go("work", [cpu(600, calls=True)])), gosched(), mark("back")])
    on = simulate(main, gomaxprocs=1, async_preempt=True)
    off = simulate(main, gomaxprocs=1, async_preempt=False)
    assert on.marks["back"] == off.marks["back"]
    assert on.marks["back"][0] < 19


# ---- syscalls, netpoll, threads --------------------------------------------------------------


def test_blocking_syscall_hands_off_the_p():
    """A G in a 100 ms syscall keeps its M; sysmon's retake notes the syscall at one tick and
    takes the P at the next (work is queued, proc.go:6744-6754), and handoffp starts another M
    for it (labkit/golab/recorded/syscall_handoff.json: the 20 ms CPU goroutine finishes after
    ~22 ms, ``cpu_done_ms_runs``). (It is preempted once on the way, as any G running 10 ms is,
    which costs one switch.)"""
    main = Go("main", [spawn(Go("cpu", [cpu(20)])), spawn(Go("sys", [syscall(100)]))])
    res = simulate(main, gomaxprocs=1)
    second_tick = sysmon_ticks(1.0)[1]
    handoff = res.event_log[res.event_log["kind"] == "handoff"]
    assert handoff["t_ms"].tolist() == [pytest.approx(second_tick)]
    assert res.finished_ms["cpu"] == pytest.approx(second_tick + rt.THREAD_WAKE_MS + 20 + SWITCH)
    assert res.stats["handoffs"] == 1
    assert res.finished_ms["sys"] == pytest.approx(100 + SWITCH)
    ts = res.thread_segments
    sys_rows = ts[ts["g"] == "sys"]
    assert sys_rows["kind"].tolist() == ["syscall"]
    assert sys_rows["end_ms"][0] - sys_rows["start_ms"][0] == pytest.approx(100)
    assert ts[ts["g"] == "cpu"]["m"][0] != ts[ts["kind"] == "syscall"]["m"][0]


def test_short_syscall_keeps_its_p_when_nothing_waits():
    """retake leaves a P in a syscall alone if its queue is empty, other Ps are idle and the call
    is under 10 ms: exitsyscall's fast path then keeps the same P and M."""
    main = Go("main", [sleep(20), syscall(3), mark("after")])
    res = simulate(main, gomaxprocs=2)
    assert res.stats["handoffs"] == 0
    ev = res.event_log
    enter = ev[ev["kind"] == "syscall_enter"]["t_ms"][0]
    assert res.marks["after"] == [pytest.approx(enter + 3)]
    # main's M, the M that time.Sleep's wakeNetPoller -> wakep started, sysmon; none for the
    # syscall, which kept its P
    assert res.threads["count"].max() == 3


def test_blocking_syscalls_grow_threads_network_waits_do_not():
    """Each G blocked in a syscall holds an M, so 8 concurrent syscalls need 8 threads plus the
    Ms running Ps plus sysmon; 8 goroutines waiting on the network hold no M."""
    sys_main = Go("main", [spawn(Go(f"g{i}", [syscall(50)])) for i in range(8)])
    io_main = Go("main", [spawn(Go(f"g{i}", [io_wait(50)])) for i in range(8)])
    sys_res = simulate(sys_main, gomaxprocs=2)
    io_res = simulate(io_main, gomaxprocs=2)
    assert sys_res.stats["threads_peak"] >= 8 + 1
    assert io_res.stats["threads_peak"] <= 3
    assert max(io_res.finished_ms.values()) < 51


def test_netpoll_by_sysmon_when_nobody_polled_for_10ms():
    """With every P busy, nobody reaches findRunnable's netpoll; sysmon polls when the last poll
    is over 10 ms old (its tick at ~14.17 ms) and injects the G into the global queue, ahead of
    the loop it preempts at the same tick. With a spare P, the M blocked in netpoll wakes as
    soon as the fd is ready (plus a thread wake-up)."""
    main = Go("main", [spawn(Go("spin", [cpu(50)])), spawn(Go("io", [io_wait(1), mark("io")]))])
    busy = simulate(main, gomaxprocs=1)
    ticks = sysmon_ticks(20.0)
    poll_tick = next(t for t in ticks if t > rt.NETPOLL_STALE_MS)
    assert busy.marks["io"] == [pytest.approx(poll_tick + SWITCH)]
    spare = simulate(main, gomaxprocs=2)
    assert spare.marks["io"] == [pytest.approx(SWITCH + 1 + rt.THREAD_WAKE_MS)]
    assert spare.thread_segments["kind"].tolist().count("netpoll") >= 1


# ---- stealing and spinning ---------------------------------------------------------------------


def test_work_stealing_spreads_the_queue():
    """main spawns 40 x 10 ms onto P0's queue; wakep starts a spinning M on an idle P, which
    steals half of P0's queue (runqsteal), and so on: 4 Ps finish in ~100 ms, 2 in ~200 ms
    (labkit/golab/recorded/lockosthread.json, ``makespan_ms_unlocked_runs``: the same work on a
    real 2-CPU machine, with whatever else it was running)."""
    main = Go("main", [spawn(Go(f"g{i}", [cpu(10)])) for i in range(40)])
    for procs, ideal in [(2, 200.0), (4, 100.0)]:
        res = simulate(main, gomaxprocs=procs)
        end = max(res.finished_ms.values())
        assert ideal <= end < ideal * 1.01
        assert res.stats["steals"] >= 1
        assert sorted(set(res.segments["p"].tolist())) == list(range(procs))


def test_at_most_half_the_busy_ps_have_spinning_ms():
    """wakep starts a spinning M only if none spins; a non-spinning M starts to spin only if
    2*nmspinning < busy Ps (findRunnable). Checked after every event of a burst of spawns."""
    seen = []

    class Watch(rt.Scheduler):
        def after_event(self, t):
            busy = self.gomaxprocs - len(self.pidle)
            seen.append((self.nmspinning, busy))

    main = Go("main", [spawn(Go(f"g{i}", [cpu(1), sleep(1), cpu(1)])) for i in range(64)])
    Watch(main, 8, True, 1_000.0, 0).simulate()
    assert max(n for n, _ in seen) >= 1
    for n, busy in seen:
        assert n <= max(1, math.ceil(busy / 2)), (n, busy)


def test_steal_victim_order_comes_from_the_seed():
    """stealOrder.start(cheaprand()): the victim order is random, from the run's one generator;
    the same seed gives the same steals, and the total work is unaffected."""
    main = Go("main", [spawn(Go(f"g{i}", [cpu(1 + i % 3), sleep(0.5), cpu(1)])) for i in range(30)])
    a = simulate(main, gomaxprocs=4, seed=1)
    b = simulate(main, gomaxprocs=4, seed=1)
    assert (a.event_log == b.event_log).all()
    assert math.isclose(
        sum(a.cpu_ms().values()), sum(simulate(main, gomaxprocs=4, seed=2).cpu_ms().values())
    )


# ---- LockOSThread ----------------------------------------------------------------------------


def test_locked_goroutine_wakes_through_a_thread_handoff():
    """A G locked to its thread can only run on that M: when it blocks its P is handed off
    (stoplockedm), and readying it hands a P to its M (startlockedm): two futex wakes per round
    trip (labkit/golab/recorded/locked_pingpong.json: ~10 us per round trip locked, 0.3 us
    unlocked; see tests/test_sched_costs.py)."""
    n = 100
    per_trip = {}
    for locked in (False, True):
        a, b = Chan(0, "a"), Chan(0, "b")
        echo = Go("echo", ([lock_os_thread()] if locked else []) + [repeat(n, [recv(a), send(b)])])
        main = Go("main", [spawn(echo), repeat(n, [send(a), recv(b)]), mark("done")])
        res = simulate(main, gomaxprocs=1)
        per_trip[locked] = res.marks["done"][0] / n
        if locked:
            assert res.stats["locked_handoffs"] == 2 * n
            assert res.stats["threads_peak"] == 3  # main's M, the locked M, sysmon
    assert per_trip[False] == pytest.approx(2 * (SWITCH + rt.CHAN_HANDOFF_MS))  # two channel hops
    assert per_trip[True] == pytest.approx(2 * rt.THREAD_WAKE_MS, rel=0.01)


def test_lockosthread_reserves_no_p_and_throughput_is_unaffected():
    """LockOSThread does not take a P out of service: 40 x 10 ms on 2 Ps take the same time
    with or without a locked goroutine that sleeps and wakes (stoplockedm hands its P off while
    it waits, src/runtime/proc.go:3265; labkit/golab/recorded/lockosthread.json compares the
    makespans on real Go)."""
    work = [Go(f"g{i}", [cpu(10)]) for i in range(40)]
    plain = simulate(Go("main", [spawn(w) for w in work]), gomaxprocs=2)
    locked = Go("locked", [lock_os_thread(), repeat(40, [sleep(5), cpu(0.05)])])
    work2 = [Go(f"g{i}", [cpu(10)]) for i in range(40)]
    with_locked = simulate(Go("main", [spawn(locked), *[spawn(w) for w in work2]]), gomaxprocs=2)
    end_plain = max(plain.finished_ms.values())
    end_locked = max(v for k, v in with_locked.finished_ms.items() if k.startswith("g"))
    assert end_locked == pytest.approx(end_plain, rel=0.03)
    assert with_locked.stats["threads_peak"] > plain.stats["threads_peak"]
    ts = with_locked.thread_segments
    assert "locked_wait" in ts["kind"].tolist()


# ---- end of a run ------------------------------------------------------------------------------


def test_deadlock_is_reported_not_raised():
    """checkdead: with no G runnable, none in a syscall, no timer and no network wait, Go dies
    with "all goroutines are asleep - deadlock!"; the model reports it in the Result."""
    ch = Chan(0, "jobs")
    main = Go("main", [spawn(Go("w", [send(Chan(0, "other"))])), recv(ch)])
    res = simulate(main, gomaxprocs=2)
    assert res.deadlock.splitlines()[0] == "fatal error: all goroutines are asleep - deadlock!"
    assert "goroutine 1 [chan receive]: main blocked in recv(jobs)" in res.deadlock
    assert "goroutine 2 [chan send]: w blocked in send(other)" in res.deadlock
    assert res.finished_ms == {"main": None, "w": None}
    assert "DEADLOCK" in res.summary()


def test_sleeping_goroutines_are_not_a_deadlock_and_until_ms_stops_the_run():
    """A pending timer keeps checkdead quiet; until_ms ends the run with the G unfinished."""
    res = simulate(Go("main", [sleep(50), mark("woke")]), gomaxprocs=1, until_ms=20)
    assert res.deadlock is None
    assert res.finished_ms["main"] is None
    assert res.end_ms == 20.0
    assert "woke" not in res.marks


def test_sleep_zero_never_parks():
    """time.Sleep(d <= 0) returns at once: no park, no timer, no yield."""
    res = simulate(Go("main", [sleep(0), sleep(-5), mark("m")]), gomaxprocs=1)
    assert res.marks["m"] == [pytest.approx(2 * rt.SLEEP_NOOP_MS)]
    assert "park" not in res.event_log["kind"].tolist()
    assert res.stats["timers_fired"] == 0


def test_runnext_pair_shares_one_time_slice_until_sysmon_preempts():
    """A G readied into runnext inherits the time slice (runqget returns inheritTime=true, so
    execute does not advance schedtick): a ping-pong pair can keep a P to itself, starving C in
    the local queue, until sysmon sees the same schedtick for 10 ms and preempts (retake's
    "a sequence of goroutines run via runnext, which share a single schedtick time slice")."""
    a, b = Chan(0, "a"), Chan(0, "b")
    ping = Go("ping", [repeat(400, [cpu(0.05), send(a), recv(b)])])
    pong = Go("pong", [repeat(400, [recv(a), cpu(0.05), send(b)])])
    c = Go("C", [mark("C runs")])
    # runnext ping, then [pong, C]: once pong has met ping, they only hand over via runnext
    res = simulate(Go("main", [spawn(pong), spawn(c), spawn(ping)]), gomaxprocs=1)
    ticks = sysmon_ticks(30.0)
    preempt_at = next(t for t in ticks if t >= ticks[0] + rt.FORCE_PREEMPT_MS)
    # ping is preempted mid-burst; pong, already readied into runnext, takes one more turn
    # (it then parks on recv, a channel's switch), and C finally runs: two switches after the
    # preemption.
    assert res.marks["C runs"] == [pytest.approx(preempt_at + 2 * SWITCH + rt.CHAN_HANDOFF_MS)]
    assert res.event_log[res.event_log["kind"] == "preempt"]["t_ms"][0] == pytest.approx(preempt_at)


def test_a_thief_takes_half_of_the_victims_queue():
    """runqgrab takes n - n/2 of the victim's queue (runqsteal keeps one to run): main spawns 9
    Gs (runnext g8, g0..g7 queued) and keeps computing; the M that wakep started on P1 steals
    4 of the 8 and runs one of them, leaving 3 queued on P1 and 4 on P0."""
    gs = [Go(f"g{i}", [cpu(10)]) for i in range(9)]
    res = simulate(Go("main", [*[spawn(g) for g in gs], cpu(5)]), gomaxprocs=2)
    steals = res.event_log[res.event_log["kind"] == "steal"]
    first = steals["t_ms"][0]
    assert first == pytest.approx(rt.THREAD_WAKE_MS)  # the woken spinning M steals at once
    assert steals["p"][0] == 1 and steals["g"][0] == "g3"  # the last of the 4 stolen runs
    row = res.runq["t_ms"].tolist().index(first)
    assert res.runq["local"][row].tolist() == [4 + 1, 3]  # g4..g7 + runnext g8 | g0..g2


def test_wait_parks_without_a_thread_and_shows_its_reason_in_dumps():
    """wait(ms, reason): a G blocked on something outside the model (a database/sql pool's
    select, a mutex) parks like gopark with that wait reason, holds no M, and is readied into
    runnext after ms, so it runs before the queue, like a woken sleeper."""
    main = Go(
        "main",
        [
            spawn(Go("h", [wait(5, reason="select"), mark("h")])),
            spawn(Go("busy", [cpu(20)])),
            sleep(1),
        ],
    )
    res = simulate(main, gomaxprocs=2, seed=0)
    assert 5 <= res.marks["h"][0] < 5.2
    assert res.stats["threads_peak"] <= 4
    assert "goroutine 2 [select]:" in res.goroutine_dump(2.0)


def test_dumps_hide_unexported_runtime_frames_like_go():
    """runtime.Stack at the default GOTRACEBACK hides runtime.gopark / runtime.chanrecv
    (showframe in traceback.go): a channel waiter's first frame is its own function."""
    ch = Chan(0, name="c")
    main = Go(
        "main", [spawn(Go("w", [recv(ch)])), spawn(Go("n", [io_wait(9)])), sleep(1), send(ch)]
    )
    dump = simulate(main, gomaxprocs=1, seed=0).goroutine_dump(0.5)
    assert "runtime.gopark" not in dump and "runtime.chanrecv" not in dump
    assert "goroutine 2 [chan receive]:\nmain.w(...)" in dump
    assert "internal/poll.runtime_pollWait" in dump
