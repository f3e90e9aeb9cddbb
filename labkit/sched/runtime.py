"""The scheduler itself: G, M and P state, run queues, findRunnable, sysmon, timers, netpoll.

This is a discrete-event model of src/runtime/proc.go (Go 1.26/1.27). Virtual time is in
milliseconds; the kernel is a heap of ``(time_ms, seq, kind, obj, token)`` with a counter ``seq`` so
that ties are processed in the order they were scheduled (as in SimPy), which makes every run with
the same arguments identical, bit for bit. The only randomness (work stealing's victim order, and
where in a switch a preemption request of sysmon falls) is drawn from one seeded
``numpy.random.Generator``. (The newest event waits in a one-event slot, ``held``, before it
enters the heap: most events are followed at once by the one they scheduled, a G's next
schedule() SCHEDULE_MS later, and that one then never needs the heap at all.)

Life cycle of a P in the model: an M holding the P reaches ``schedule()`` (event ``SCHED``), asks
``find_runnable`` for a G, and runs it; the G walks its compiled steps (``G.pc``) instantly until
one takes time (a CPU burst: event ``CPU_DONE``) or blocks (park, syscall), and then the M is back
in ``schedule()`` after ``SCHEDULE_MS``. Ms without a P are idle, blocked in netpoll, in a syscall,
or waiting for their locked G. sysmon is its own event stream with the real cadence.

Each function names the runtime function it mirrors. Where the model is simpler than the runtime,
the docstring says so.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque

import numpy as np

from labkit.sched import programs as pg

# ---- Constants of the runtime (with where each value comes from) --------------------------------

#: Capacity of a P's local run queue: ``runq [256]guintptr`` (src/runtime/runtime2.go:807, p).
LOCAL_RUNQ_SIZE = 256
#: findRunnable takes one G from the global queue first whenever ``pp.schedtick%61 == 0``
#: (src/runtime/proc.go:3458), whatever the local queue holds; apart from that it looks at the
#: global queue only when runnext and the local queue are empty (proc.go:3489). 61 is a prime,
#: "not too small, not too large": two goroutines that respawn each other through the local queue
#: would otherwise starve the global queue forever.
GLOBAL_CHECK_TICKS = 61
#: forcePreemptNS (src/runtime/proc.go:6679): retake asks a G to stop once its P has run on the
#: same schedtick for 10 ms (proc.go:6715).
FORCE_PREEMPT_MS = 10.0
#: sysmon's first sleep, usleep(20) (src/runtime/proc.go:6549-6550, "start with 20us sleep...").
SYSMON_MIN_DELAY_MS = 0.020
#: sysmon's longest sleep (src/runtime/proc.go:6554-6555, "up to 10ms").
SYSMON_MAX_DELAY_MS = 10.0
#: sysmon doubles its sleep once more than 50 rounds in a row retook no P (src/runtime/proc.go:6551,
#: "idle > 50"; idle is reset when retake returns non-zero, proc.go:6648-6649).
SYSMON_IDLE_ROUNDS = 50
#: Linux timer slack: a non-real-time thread's nanosleep may end up to 50 us late. This is the
#: kernel's default timer_slack_ns (prctl(2), PR_SET_TIMERSLACK): an assumption about the OS, not
#: a Go constant and not a measurement. With it sysmon's usleep(20) lasts 70 us, and after 51 such
#: rounds and the doublings its first round 10 ms after it noticed a tight loop's schedtick falls
#: at ~14.2 ms (without slack at ~11.2 ms). Real short sleeps overshoot more:
#: labkit/golab/recorded/sleep_resolution.json has nanosleep(20us) take 0.1095 ms (median,
#: ``nanosleep20_ms``), ~90 us late. The model keeps 50 us because with 90 us its other recorded
#: comparisons get worse (labkit.golab.fidelity: main resumed after 11.7 ms against
#: preempt.json's 14.6-17.4, a syscall's P retaken after 0.22 ms against retake_keep.json's 0.11).
TIMER_SLACK_MS = 0.050
#: sysmon polls the network if nobody has for 10 ms (src/runtime/proc.go:6620,
#: "lastpoll+10*1000*1000 < now").
NETPOLL_STALE_MS = 10.0
#: retake leaves a P in a syscall alone while its run queue is empty, another P is idle or an M
#: spins, and sysmon first saw the syscall less than 10 ms ago (src/runtime/proc.go:6754).
SYSCALL_KEEP_MS = 10.0
#: With every P idle, sysmon sleeps until the next timer, at most forcegcperiod/2 = 60 s
#: (src/runtime/proc.go:6527 and 6585).
SYSMON_DEEP_SLEEP_MS = 60_000.0
#: Passes over all Ps in stealWork (src/runtime/proc.go:3848, "const stealTries = 4"); timers and
#: runnext are taken only on the last (proc.go:3850).
STEAL_TRIES = 4
#: A thief backs off usleep(3) before taking a running P's runnext (runqgrab,
#: src/runtime/proc.go:7746), which the timer slack stretches like any nanosleep.
RUNNEXT_BACKOFF_MS = 0.003 + TIMER_SLACK_MS
#: netpoll's epoll_wait timeout is in whole milliseconds (netpoll, src/runtime/netpoll_epoll.go:
#: 118-126): a delay under 1 ms waits 1 ms, a longer one is truncated to whole ms. So a goroutine
#: that sleeps 100 us in an otherwise idle program wakes after ~1 ms, and one that sleeps 2.5 ms is
#: polled for 2 ms, then for 1 ms more. (labkit/golab/recorded/sleep_resolution.json: Sleep(100us)
#: took 1.095 ms, Sleep(1.5ms) 2.17 ms; the model leaves out the kernel's ~0.1 ms overshoot of each
#: wait, see TIMER_SLACK_MS.)
NETPOLL_RESOLUTION_MS = 1.0


def netpoll_wait_ms(delay_ms: float) -> float:
    """How long one netpoll wait blocks for a timer ``delay_ms`` away (netpoll's epoll_wait
    timeout, src/runtime/netpoll_epoll.go:118-126): 0 for a due timer, 1 ms for a delay under
    1 ms, the whole milliseconds of a longer one."""
    if delay_ms <= 0:
        return 0.0
    if delay_ms < NETPOLL_RESOLUTION_MS:
        return NETPOLL_RESOLUTION_MS
    return math.floor(delay_ms / NETPOLL_RESOLUTION_MS) * NETPOLL_RESOLUTION_MS


# ---- Costs (small fixed times where the real runtime spends them) -------------------------------
#
# Derived from labkit/golab/recorded/yield.json (go1.27.3, linux/amd64, GOMAXPROCS=1; a loop of
# 100,000 iterations beside a goroutine that counts its turns with Gosched; medians of 7 runs in
# each mode's ``ns_per_iter``, the runs in ``ns_per_iter_runs``): no yield 1.00158 ns/iter,
# Sleep(0) 1.82567, Gosched 258.85334, Sleep(1ns) 594.03854. tests/test_sched_costs.py simulates
# the same loops and fails when the model's cost per iteration leaves the recorded runs' range.

#: One trip through schedule() -> findRunnable -> execute -> gogo, with the mcall that got there
#: (gosched_m / park_m, src/runtime/proc.go). A Gosched iteration switches twice (main -> the
#: other goroutine -> main): (258.85334 - 1.00158) / 2 = 128.9 ns per switch (the other
#: goroutine's atomic add, a few ns, is counted in the switch).
SCHEDULE_MS = 0.0001289
#: time.Sleep(d > 0) arming its timer as the G parks (timeSleep -> gopark -> park_m ->
#: resetForSleep -> timer.modify -> maybeAdd, src/runtime/time.go:335 and 684), and the timer
#: firing in findRunnable's (*timers).check (time.go:982, unlockAndRun -> goroutineReady ->
#: goready). A Sleep(1ns) iteration is one loop body, one switch and both:
#: 594.03854 - 1.00158 - 128.9 = 464.1 ns. The recording gives only their sum; it is split
#: evenly, 232.1 ns each.
TIMER_ARM_MS = 0.0002321
TIMER_FIRE_MS = 0.0002321
#: The part of a switch that runs on the G's own stack after execute (src/runtime/proc.go:3362)
#: cleared its preemption request: gogo's return into gopark, time.Sleep's tail, and the G's way
#: back into the runtime up to gopark's stack check. A request sysmon makes then (preemptone sets
#: gp.preempt and gp.stackguard0, proc.go:6917) survives and is honoured at the G's next stack
#: check (newstack, src/runtime/stack.go:1122 -> gopreempt_m); one made while the P is elsewhere
#: in the switch is lost: curg is nil (dropg) and preemptone gives up, or it is the parking G,
#: whose request the next execute clears. (Where in a switch a round of sysmon falls is drawn:
#: see preemptone.) Derived from the recorded Sleep(1ns) loops
#: (yield.json, mode sleep1ns, body_us 0: ``other_turns_runs`` over runs of ``iters`` x
#: ``ns_per_iter_runs``): 25 turns of the other goroutine in 2,550 ms, one per 102.0 ms. After a
#: turn, sysmon (by then sleeping R = 10.05 ms between rounds) notes main's new time slice R/2
#: later on average and asks it to stop every R from R after that: 102.0 = R/2 + R/q gives a
#: success rate q = 0.104 per request. q is the share of an iteration main spends on its own
#: stack, (W + 1.0 ns loop body) / 594.0 ns: W = 0.104 x 594.0 - 1.0 = 60.6 ns.
SWITCH_G_SIDE_MS = 0.0000606
#: Waking a parked thread and handing it a P (notewakeup -> futex wake -> the thread runs): startm,
#: startlockedm, netpollBreak. labkit/golab/recorded/locked_pingpong.json (go1.27.3,
#: GOMAXPROCS=1, a channel ping-pong with the echoing goroutine locked to its thread: two thread
#: hand-offs per round trip, labkit/golab/go/locked_pingpong): median ``round_trip_us``
#: 10.38656 us, so 10.39 / 2 = 5.2 us per hand-off. The runs spread widely (8.9-97 us per trip):
#: a thread whose CPU must first be woken from idle pays much more.
THREAD_WAKE_MS = 0.0052
SLEEP_NOOP_MS = pg.SLEEP_NOOP_MS

# Step kinds as module globals: the hot loop in Scheduler.run reads them on every step.
S_CPU = pg.CPU
S_SLEEP = pg.SLEEP
S_MARK = pg.MARK
S_WAIT = pg.WAIT
S_SPAWN = pg.SPAWN
S_GOSCHED = pg.GOSCHED
S_SEND = pg.SEND
S_RECV = pg.RECV
S_SYSCALL = pg.SYSCALL
S_IO_WAIT = pg.IO_WAIT
S_LOCK = pg.LOCK
S_UNLOCK = pg.UNLOCK
S_REPEAT = pg.REPEAT
S_LOOP_END = pg.LOOP_END
S_EXIT = pg.EXIT

# ---- Enumerations --------------------------------------------------------------------------

# G status (mirrors _Grunnable, _Grunning, _Gwaiting, _Gsyscall, _Gdead in runtime2.go)
RUNNABLE, RUNNING, WAITING, SYSCALL, DEAD = 0, 1, 2, 3, 4
STATUS_NAMES = ("runnable", "running", "waiting", "syscall", "dead")

# Event kinds
EV_SCHED, EV_CPU_DONE, EV_SYSCALL_DONE, EV_NET_READY, EV_SYSMON, EV_M_START, EV_POLL_WAKE = range(7)
EV_STEAL_RETRY = 7

# The state row that note() records after each event, kept up to date in place by every change
# (so that note() copies one list instead of measuring every queue): the counts of Gs per status
# (indices RUNNABLE..SYSCALL), the global queue's length, the OS thread count, then one column
# per P with its local queue's length (P.runq_col) and one with 1 if its runnext is taken
# (P.runnext_col).
ROW_GLOBAL = 4
ROW_THREADS = 5
ROW_RUNQ = 6

#: Fields of one entry of G.history (flat: an entry is HISTORY_FIELDS items of the list).
HISTORY_FIELDS = 5

# M states for the per-thread view
M_RUN, M_SYSCALL, M_LOCKED_WAIT, M_NETPOLL, M_IDLE, M_WAKING, M_DEAD = range(7)
M_KIND_NAMES = {
    M_RUN: "run",
    M_SYSCALL: "syscall",
    M_LOCKED_WAIT: "locked_wait",
    M_NETPOLL: "netpoll",
}
# The same, indexed by M state (None: not shown in the per-thread view), for m_state's hot path.
_M_KIND_BY_STATE = tuple(M_KIND_NAMES.get(state) for state in range(M_DEAD + 1))


class G:
    """A goroutine: its program counter, status and what it waits on (g in runtime2.go)."""

    __slots__ = (
        "name", "goid", "prog", "code", "pc", "loops", "status", "reason", "rem", "cpu_end",
        "token", "calls", "preempt", "locked", "lockedm", "p", "m", "oldp", "seg_start",
        "seg_stack", "stack", "default_stack", "creator", "created_ms", "waits_on", "history",
        "is_main",
    )  # fmt: skip

    def __init__(self, prog: pg.Go, goid: int, creator: G | None, t: float) -> None:
        self.name = prog.name
        self.goid = goid
        self.prog = prog
        self.code = prog.code  # the program compiled to flat steps (programs.compile_steps)
        self.pc = 0  # the index of the step the G is at
        self.loops = []  # iterations left in each loop the G is in, innermost last
        self.status = RUNNABLE
        self.reason = ""
        self.rem = None  # remaining ms of the current CPU burst, None if none started
        self.cpu_end = 0.0
        self.token = 0  # invalidates a pending CPU_DONE when the burst is interrupted
        self.calls = True
        self.preempt = False  # gp.preempt: a preemption request waiting for a call
        self.locked = 0  # LockOSThread nesting (m.lockedExt)
        self.lockedm = None
        self.p = None
        self.m = None
        self.oldp = None
        self.seg_start = 0.0
        self.seg_stack = ""
        self.is_main = creator is None
        self.default_stack = prog.default_stack(self.is_main)
        self.stack = self.default_stack
        self.creator = creator
        self.created_ms = t
        self.waits_on = ""
        # for goroutine_dump: t_ms, status, reason, stack, locked; flat, HISTORY_FIELDS a row
        self.history = []


class P:
    """A processor: the right to run Go code, with its run queue and timers (p in runtime2.go)."""

    __slots__ = (
        "id", "runq", "runnext", "schedtick", "syscalltick", "curg", "m", "idle", "timers",
        "sm_schedtick", "sm_schedwhen", "sm_syscalltick", "sm_syscallwhen", "syscall_g",
        "backoff_done", "runq_col", "runnext_col", "sched_from", "sched_at", "preempt_at",
    )  # fmt: skip

    def __init__(self, pid: int, gomaxprocs: int) -> None:
        self.id = pid
        # This P's columns in the scheduler's state row (see ROW_RUNQ).
        self.runq_col = ROW_RUNQ + pid
        self.runnext_col = ROW_RUNQ + gomaxprocs + pid
        self.runq = deque()
        self.runnext = None
        self.schedtick = 0
        self.syscalltick = 0
        self.curg = None
        self.m = None
        self.idle = False
        self.timers = []  # heap of (when_ms, seq, g)
        # sysmontick: what sysmon saw last time (retake); -1 = not looked at yet
        self.sm_schedtick = -1
        self.sm_schedwhen = 0.0
        # -1: sysmon has not looked at this P's syscalls yet, so its first look at a syscall
        # records it (in a real process, runtime init has made syscalls long before main.main,
        # so Go's zero-initialised sysmontick never meets a fresh syscalltick of 0).
        self.sm_syscalltick = -1
        self.sm_syscallwhen = 0.0
        self.syscall_g = None  # the G in a syscall on this P's M, while the P is not retaken
        self.backoff_done = False
        # The switch this P's M is in: from when, and when it decides in schedule() (its
        # pending EV_SCHED); and the decision whose execute receives a preemption request
        # sysmon made during the switch (preemptone).
        self.sched_from = -1.0
        self.sched_at = -1.0
        self.preempt_at = -1.0


class M:
    """An OS thread (m in runtime2.go). Ms are never freed, except by a locked G's exit (mexit)."""

    __slots__ = ("id", "p", "curg", "lockedg", "spinning", "state", "seg_start", "seg_g", "token")

    def __init__(self, mid: int) -> None:
        self.id = mid
        self.p = None
        self.curg = None
        self.lockedg = None
        self.spinning = False
        self.state = M_IDLE
        self.seg_start = 0.0
        self.seg_g = ""
        self.token = 0


class Scheduler:
    """One run of the model: ``Scheduler(main, ...).simulate()`` fills the raw records Result reads.

    ``__slots__``: the run reads and writes these fields on every event. A plain instance with
    this many attributes outgrows CPython's shared-key instance dicts (30 keys), which turns off
    the interpreter's fast paths for ``self.x`` and ``self.method()``; slots keep them fast.
    Subclasses (the tests' recorders) may still add attributes of their own.
    """

    __slots__ = (
        "gos", "gomaxprocs", "async_preempt", "until_ms", "rng", "_rand", "now", "heap", "held",
        "next_seq", "ps", "row", "coprimes", "ms", "midle", "pidle", "grunq",
        "nmspinning", "gs", "live", "chans", "net_waiters", "net_ready",
        "lastpoll", "poller", "poll_token", "sm_idle", "sm_delay", "sm_wait", "sm_token",
        "inline_ticks", "segments", "thread_segments", "events", "marks", "finished", "series_t",
        "series_rows", "last_row", "dirty", "stats", "deadlock", "done", "end_ms",
        "netpoll_inited", "threads",
    )  # fmt: skip

    def __init__(
        self, main: pg.Go, gomaxprocs: int, async_preempt: bool, until_ms: float, seed: int
    ) -> None:
        self.gos = pg.iter_goroutines(main)  # validates unique names up front
        self.gomaxprocs = gomaxprocs
        self.async_preempt = async_preempt
        self.until_ms = until_ms
        self.rng = np.random.default_rng(seed)
        self._rand = []
        self.now = 0.0
        self.heap = []
        self.held = None  # the newest event, not yet in the heap (see push)
        # Tie-breaking sequence numbers, shared by the event heap and the timer heaps.
        self.next_seq = itertools.count(1).__next__
        self.ps = [P(i, gomaxprocs) for i in range(gomaxprocs)]
        self.row = [0] * (ROW_RUNQ + 2 * gomaxprocs)  # the state row: G counts, queue lengths
        self.coprimes = [i for i in range(1, gomaxprocs + 1) if math.gcd(i, gomaxprocs) == 1]
        self.ms = []
        self.midle = []
        self.pidle = []
        self.grunq = deque()
        self.nmspinning = 0
        self.gs = []
        self.live = 0
        self.chans = {}  # id(Chan) -> its state in this run (a Chan is its identity)
        # netpoll
        self.net_waiters = 0
        self.net_ready = []
        self.lastpoll = 0.0  # sched.lastpoll; None while an M is blocked in netpoll
        self.poller = None  # (m, until_ms or None)
        self.poll_token = 0
        # sysmon
        self.sm_idle = 0
        self.sm_delay = SYSMON_MIN_DELAY_MS
        self.sm_wait = False
        self.sm_token = 0
        self.inline_ticks = 0  # sysmon rounds done without a heap event (on_sysmon)
        # records
        # Flat lists, one row after another (a row is not a tuple of its own: the millions of
        # tuples a run would keep cost Python's garbage collector a fifth of the run to look at).
        self.segments = []  # p, g, start, end, m, stack
        self.thread_segments = []  # m, g, start, end, kind
        self.events = []  # t, kind, p, g
        self.marks = {}
        self.finished = {go.name: None for go in self.gos}
        # One state row (see ROW_RUNQ) per time it changed: series_t[i] is its time and
        # series_rows the rows one after another (flat, as the records above).
        self.series_t = []
        self.series_rows = []
        self.last_row = None  # the last row in series_rows
        self.dirty = True  # counts or queues changed since the last series row
        self.stats = dict.fromkeys(
            ("preemptions", "async_preemptions", "steals", "stolen_gs", "handoffs", "locked_handoffs",
             "global_runq_puts", "threads_peak", "events", "schedules", "timers_fired",
             "netpolls", "sysmon_ticks", "wakeps"), 0,
        )  # fmt: skip
        self.deadlock = None
        self.done = False
        self.end_ms = 0.0
        self.netpoll_inited = False
        self.threads = 0

    # ---- event kernel -------------------------------------------------------------------------

    def push(self, t: float, kind: int, obj: object = None, token: int = 0) -> None:
        """Schedule an event. It waits in ``held`` (the previous one moves to the heap): the loop
        takes it from there with one ``heappushpop``, which returns it without touching the heap
        when it is the soonest, as the scheduling events a G causes usually are."""
        held = self.held
        if held is not None:
            heapq.heappush(self.heap, held)
        self.held = (t, self.next_seq(), kind, obj, token)

    def cheaprand(self) -> int:
        """One uint32 from the run's generator (cheaprand in proc.go), drawn in batches."""
        if not self._rand:
            self._rand = self.rng.integers(0, 2**32, size=1024, dtype=np.uint64).tolist()[::-1]
        return self._rand.pop()

    def log(self, t: float, kind: str, p: P | None, g: G | None) -> None:
        """One row of the event log. (The hottest callers, which always have a P and a G,
        append their row ``(t, kind, p.id, g.name)`` themselves.)"""
        self.events.extend((t, kind, -1 if p is None else p.id, "" if g is None else g.name))

    def set_status(self, g: G, status: int, t: float, reason: str = "") -> None:
        """casgstatus in proc.go: g's new status, kept in the state counts and g's history."""
        c = self.row
        old = g.status
        if old != DEAD:
            c[old] -= 1
        if status != DEAD:
            c[status] += 1
        g.status = status
        g.reason = reason
        g.history.extend((t, status, reason, g.stack, g.locked > 0))
        self.dirty = True

    def note(self, t: float) -> None:
        """Append the state row (G counts and queue lengths) at time t, unless it is the same as
        the last one (one row per time: a later row at the same time replaces it).

        The event loop calls it after every event that marked the row ``dirty``; the row is kept
        up to date in place by every change, so recording it is one copy, compared with the last
        row before it is stored.
        """
        self.dirty = False
        row = tuple(self.row)
        if row == self.last_row:
            return
        if self.series_t and self.series_t[-1] == t:
            self.series_rows[-len(row) :] = row
        else:
            self.series_rows.extend(row)
            self.series_t.append(t)
        self.last_row = row

    # ---- threads ------------------------------------------------------------------------------

    def m_state(self, m: M, t: float, state: int, g: G | None = None) -> None:
        """Close m's current thread-view stretch and open the next one."""
        kind = _M_KIND_BY_STATE[m.state]
        if kind is not None and t > m.seg_start:
            self.thread_segments.extend((m.id, m.seg_g, m.seg_start, t, kind))
        m.state = state
        m.seg_start = t
        m.seg_g = "" if g is None else g.name

    def newm(self) -> M:
        """newm in proc.go: a new OS thread. The thread count never shrinks (except mexit)."""
        m = M(len(self.ms))
        self.ms.append(m)
        self.threads += 1
        self.row[ROW_THREADS] = self.threads
        self.dirty = True
        if self.threads > self.stats["threads_peak"]:
            self.stats["threads_peak"] = self.threads
        return m

    def startm(self, p: P, spinning: bool, t: float) -> None:
        """startm in proc.go: an idle M (or a new one) wakes and runs p; it arrives THREAD_WAKE_MS later."""
        m = self.midle.pop() if self.midle else self.newm()
        m.spinning = spinning
        m.p = p
        p.m = m
        p.idle = False
        self.m_state(m, t, M_WAKING)
        self.push(t + THREAD_WAKE_MS, EV_M_START, m)

    def stopm(self, m: M, t: float) -> None:
        """stopm in proc.go: the M parks on the idle list; then checkdead runs."""
        m.p = None
        m.curg = None
        m.spinning = False
        self.m_state(m, t, M_IDLE)
        self.midle.append(m)

    def wakep(self, t: float) -> None:
        """wakep in proc.go: start one spinning M if none spins and a P is idle."""
        if self.nmspinning != 0 or not self.pidle:
            return
        self.nmspinning += 1
        p = self.pidleget()
        self.stats["wakeps"] += 1
        self.startm(p, True, t)

    def pidleget(self) -> P:
        """pidleget (src/runtime/proc.go:7453): take the P at the head of the idle list (LIFO)."""
        p = self.pidle.pop()
        p.idle = False
        return p

    def pidleput(self, p: P, t: float) -> None:
        """pidleput in proc.go: p goes on the idle list; with every P idle, checkdead."""
        p.idle = True
        p.m = None
        p.curg = None
        self.pidle.append(p)
        if len(self.pidle) == self.gomaxprocs:
            self.checkdead(t)

    def handoffp(self, p: P, t: float) -> None:
        """handoffp (src/runtime/proc.go:3146): give a P whose M blocks (a syscall retaken, a
        locked G that waits or exits) to another M, or make it idle. Its checks, in order:

        1. p has local work (runnext or its queue) or the global queue is not empty: start a
           non-spinning M for p at once (proc.go:3151);
        2. no M spins and no P is idle: start a spinning M for p (proc.go:3167);
        3. the global queue again, under sched.lock (proc.go:3190; in the model nothing can have
           changed since check 1);
        4. p is the last P that is not idle and nobody is blocked in netpoll (lastpoll != 0):
           start an M for p "to poll network" (proc.go:3197), even when there is nothing to poll:
           that M finds no work and stops again;
        5. otherwise p goes idle, and if it has timers the netpoller is told when to wake
           (proc.go:3205-3211, wakeNetPoller).

        (Trace-reader, GC-worker and safe-point checks are left out: the model has no GC.)
        """
        if p.runq or p.runnext is not None or self.grunq:
            self.startm(p, False, t)
            return
        if self.nmspinning + len(self.pidle) == 0:
            self.nmspinning += 1
            self.startm(p, True, t)
            return
        if len(self.pidle) == self.gomaxprocs - 1 and self.lastpoll is not None:
            self.startm(p, False, t)
            return
        when = p.timers[0][0] if p.timers else None
        self.pidleput(p, t)
        if when is not None:
            self.wake_netpoller(when, t)

    # ---- run queues ---------------------------------------------------------------------------

    def runqput(self, p: P, g: G, nxt: bool) -> None:
        """runqput in proc.go: into runnext (the old runnext is kicked to the tail) or the tail."""
        if nxt:
            old = p.runnext
            p.runnext = g
            if old is None:
                self.row[p.runnext_col] = 1
                return
            g = old
        if len(p.runq) < LOCAL_RUNQ_SIZE:
            p.runq.append(g)
            self.row[p.runq_col] += 1
        else:
            self.runqputslow(p, g)

    def runqputslow(self, p: P, g: G) -> None:
        """runqputslow: a full local queue moves half of itself (128) plus g to the global queue."""
        batch = [p.runq.popleft() for _ in range(LOCAL_RUNQ_SIZE // 2)]
        batch.append(g)
        self.grunq.extend(batch)
        self.row[p.runq_col] -= LOCAL_RUNQ_SIZE // 2
        self.row[ROW_GLOBAL] += len(batch)
        self.stats["global_runq_puts"] += len(batch)
        self.log(self.now, "global_put", p, g)

    def globrunqput(self, g: G, p: P | None) -> None:
        """globrunqput: to the tail of the global queue (Gosched, preemption, exitsyscall0)."""
        self.grunq.append(g)
        self.row[ROW_GLOBAL] += 1
        self.stats["global_runq_puts"] += 1
        self.log(self.now, "global_put", p, g)

    def globrunqgetbatch(self, p: P) -> G:
        """globrunqgetbatch: n = min(128, len, len/GOMAXPROCS+1); first to run, rest to p's queue."""
        q = self.grunq
        n = min(LOCAL_RUNQ_SIZE // 2, len(q), len(q) // self.gomaxprocs + 1)
        g = q.popleft()
        for _ in range(n - 1):
            p.runq.append(q.popleft())
        self.row[ROW_GLOBAL] -= n
        self.row[p.runq_col] += n - 1
        self.dirty = True
        return g

    def injectglist(self, gs: list[G], p: P | None, t: float) -> None:
        """injectglist (src/runtime/proc.go:4060): Gs readied by netpoll become runnable.

        Without a P (sysmon, or a poller M that found no idle P) all of them go to the global
        queue and up to that many idle Ps get a (non-spinning) M: startIdle (proc.go:4102-4108).
        With a P, one G per idle P goes to the global queue, with an M started for each of those
        Ps (proc.go:4113-4124); the rest go to the tail of this P's local queue, and what does not
        fit there to the global queue (runqputbatch, proc.go:4126); then wakep (proc.go:4145).
        """
        for g in gs:
            self.set_status(g, RUNNABLE, t)
            self.log(t, "wake", p, g)
        if p is None:
            for g in gs:
                self.globrunqput(g, None)
            self.start_idle(len(gs), t)
            return
        k = min(len(self.pidle), len(gs))
        for g in gs[:k]:
            self.globrunqput(g, None)
        self.start_idle(k, t)
        for g in gs[k:]:
            if len(p.runq) < LOCAL_RUNQ_SIZE:
                p.runq.append(g)
                self.row[p.runq_col] += 1
            else:
                self.globrunqput(g, p)
        self.wakep(t)

    def start_idle(self, n: int, t: float) -> None:
        """injectglist's startIdle (src/runtime/proc.go:4084): start an M on each of up to n idle
        Ps (startm with spinning=false)."""
        while n and self.pidle:
            self.startm(self.pidleget(), False, t)
            n -= 1

    def ready(self, g: G, p: P, t: float) -> None:
        """ready in proc.go: a woken G goes to p's runnext (and inherits the time slice), wakep."""
        self.set_status(g, RUNNABLE, t)
        self.events.extend((t, "ready", p.id, g.name))  # self.log
        self.runqput(p, g, True)
        self.wakep(t)

    # ---- timers -------------------------------------------------------------------------------

    def any_timers(self) -> bool:
        return any(p.timers for p in self.ps)

    def earliest_timer(self) -> float | None:
        """timeSleepUntil (src/runtime/time.go:1284) / checkTimersNoP (src/runtime/proc.go:
        3939): the soonest timer over all Ps."""
        whens = [p.timers[0][0] for p in self.ps if p.timers]
        return min(whens) if whens else None

    def add_timer(self, p: P, g: G, when: float, t: float) -> None:
        """timer.maybeAdd (src/runtime/time.go:684): a sleeping G's timer goes on its own P's
        heap; one earlier than the heap's first wakes the poller (wakeNetPoller)."""
        earliest = p.timers[0][0] if p.timers else None
        heapq.heappush(p.timers, (when, self.next_seq(), g))
        if earliest is None or when < earliest:
            self.wake_netpoller(when, t)

    def run_timers(self, src: P, dst: P, t: float) -> int:
        """(*timers).check (src/runtime/time.go:982) -> unlockAndRun: fire src's expired timers.
        A timer fires only when its own P schedules (findRunnable, src == dst) or when a thief
        runs it in stealWork; goroutineReady puts each G into dst's runnext (dst is the P
        running the timers)."""
        n = 0
        while src.timers and src.timers[0][0] <= t:
            _, _, g = heapq.heappop(src.timers)
            n += 1
            self.stats["timers_fired"] += 1
            self.ready(g, dst, t)
        return n

    def wake_netpoller(self, when: float, t: float) -> None:
        """wakeNetPoller in proc.go: break a blocked poller that would sleep past ``when``, or wakep."""
        if self.lastpoll is None:
            until = self.poller[1]
            if until is None or until > when:
                self.poll_token += 1
                self.push(t + THREAD_WAKE_MS, EV_POLL_WAKE, self.poller[0], self.poll_token)
        else:
            self.wakep(t)

    # ---- the goroutine side -------------------------------------------------------------------

    def new_g(self, prog: pg.Go, creator: G | None, t: float) -> G:
        g = G(prog, len(self.gs) + 1, creator, t)
        self.gs.append(g)
        self.live += 1
        self.row[RUNNABLE] += 1
        self.dirty = True
        g.history.extend((t, RUNNABLE, "", g.stack, False))
        return g

    def end_segment(self, g: G, p: P, t: float) -> None:
        if t > g.seg_start:
            self.segments.extend((p.id, g.name, g.seg_start, t, p.m.id, g.seg_stack))

    def run(self, g: G, p: P, t: float) -> None:
        """Walk g's steps at time t on p until one takes time or blocks (the G's side of execute).

        ``g.pc`` is the step g is at in its compiled code (``programs.compile_steps``); a step
        that is done moves it on by one.
        """
        code = g.code
        while True:
            if g.preempt:  # a call boundary honours a pending request (newstack -> gopreempt_m)
                self.preempt_now(g, p, t, cooperative=True)
                return
            s = code[g.pc]
            k = s.kind
            if k == S_CPU:  # (sleep(d <= 0) is compiled to the CPU time of the call)
                rem = g.rem
                if rem is None:
                    rem = g.rem = s.ms
                    g.calls = s.calls
                    stack = s.stack or g.default_stack
                    if stack != g.seg_stack:
                        self.end_segment(g, p, t)
                        g.seg_start = t
                        g.seg_stack = stack
                    if stack != g.stack:
                        g.stack = stack
                        g.history.extend((t, g.status, g.reason, stack, g.locked > 0))
                if rem <= 0:
                    g.rem = None
                    g.pc += 1
                    continue
                end = g.cpu_end = t + rem
                token = g.token = g.token + 1
                held = self.held  # self.push(end, EV_CPU_DONE, g, token), written out
                if held is not None:
                    heapq.heappush(self.heap, held)
                self.held = (end, self.next_seq(), EV_CPU_DONE, g, token)
                return
            g.pc += 1  # every other step is done (or, if it parks, completed by its waker)
            if k in (S_SEND, S_RECV):
                if not self.chanop(g, p, s, t):
                    return
            elif k == S_MARK:
                self.marks.setdefault(s.label, []).append(t)
            elif k == S_SPAWN:
                self.newproc(g, p, s.go, t)
            elif k == S_LOOP_END:  # the end of a loop body: again, or out of the loop
                loops = g.loops
                left = loops[-1] - 1
                if left:
                    loops[-1] = left
                    g.pc = s.n
                else:
                    loops.pop()
            elif k == S_REPEAT:  # a loop's header (n > 1): its counter starts
                g.loops.append(s.n)
            elif k == S_GOSCHED:
                self.gosched(g, p, t)
                return
            elif k == S_SLEEP:
                self.park(g, p, t, "sleep", f"time.Sleep({s.ms:g} ms)")
                self.add_timer(p, g, t + s.ms, t)
                self.schedule_after(p, t, TIMER_ARM_MS + SCHEDULE_MS)
                return
            elif k == S_IO_WAIT:
                self.park(g, p, t, "IO wait", "network")
                self.net_waiters += 1
                self.netpoll_inited = True
                self.push(t + s.ms, EV_NET_READY, g)
                self.schedule_after(p, t, SCHEDULE_MS)
                return
            elif k == S_SYSCALL:
                self.entersyscall(g, p, s.ms, t)
                return
            elif k == S_EXIT:
                self.goexit(g, p, t)
                return
            elif k == S_WAIT:
                if s.ms > 0:  # parked for an outside resource; readied like a timer's G
                    self.park(g, p, t, s.label, f"{s.label} ({s.ms:g} ms)")
                    self.add_timer(p, g, t + s.ms, t)
                    self.schedule_after(p, t, TIMER_ARM_MS + SCHEDULE_MS)
                    return
            elif k == S_LOCK:
                g.locked += 1
                g.lockedm = p.m
                p.m.lockedg = g
                g.history.extend((t, g.status, g.reason, g.stack, True))
            elif k == S_UNLOCK:
                if g.locked:
                    g.locked -= 1
                if not g.locked and g.lockedm is not None:
                    g.lockedm.lockedg = None
                    g.lockedm = None
                    g.history.extend((t, g.status, g.reason, g.stack, False))
            else:  # pragma: no cover - Step kinds are closed
                raise pg.ProgramError(f"unknown step {s!r}")

    def newproc(self, parent: G, p: P, prog: pg.Go, t: float) -> None:
        """newproc in proc.go: the new G goes into the creator's P's runnext, then wakep."""
        g = self.new_g(prog, parent, t)
        self.events.extend((t, "spawn", p.id, g.name))  # self.log
        self.runqput(p, g, True)
        self.wakep(t)

    def park(self, g: G, p: P, t: float, reason: str, waits_on: str) -> None:
        """gopark in proc.go: g stops running and waits; its M goes back to schedule().

        (``end_segment`` and ``set_status(g, WAITING, t, reason)`` are written out.)"""
        if t > g.seg_start:
            self.segments.extend((p.id, g.name, g.seg_start, t, p.m.id, g.seg_stack))
        g.waits_on = waits_on
        g.p = None
        p.curg = None
        c = self.row
        c[g.status] -= 1  # a G that parks is running
        c[WAITING] += 1
        g.status = WAITING
        g.reason = reason
        g.history.extend((t, WAITING, reason, g.stack, g.locked > 0))
        self.dirty = True
        self.events.extend((t, "park", p.id, g.name))  # self.log

    def gosched(self, g: G, p: P, t: float) -> None:
        """goschedImpl in proc.go (Gosched and preemption): g to the *global* queue, wakep."""
        self.end_segment(g, p, t)
        g.p = None
        p.curg = None
        self.set_status(g, RUNNABLE, t)
        self.globrunqput(g, p)
        self.wakep(t)
        self.schedule_after(p, t, SCHEDULE_MS)

    def preempt_now(self, g: G, p: P, t: float, cooperative: bool) -> None:
        """gopreempt_m / asyncPreempt (src/runtime/proc.go:4376 -> goschedImpl, 4322): g goes to the
        global queue. A burst it was in keeps its remaining CPU (``g.rem``, set by the caller)."""
        g.preempt = False
        self.stats["preemptions"] += 1
        if not cooperative:
            self.stats["async_preemptions"] += 1
        self.log(t, "preempt", p, g)
        self.gosched(g, p, t)

    def goexit(self, g: G, p: P, t: float) -> None:
        """goexit0 in proc.go: the G is dead; a G that exits still locked takes its M with it."""
        self.end_segment(g, p, t)
        g.p = None
        p.curg = None
        self.set_status(g, DEAD, t)
        self.live -= 1
        self.finished[g.name] = t
        self.events.extend((t, "exit", p.id, g.name))  # self.log
        m = p.m
        if g.lockedm is not None:
            # mexit: the locked thread exits; its P is handed off (handoffp(releasep())).
            m.lockedg = None
            g.lockedm = None
            m.p = None
            p.m = None
            self.m_state(m, t, M_DEAD)
            self.threads -= 1
            self.row[ROW_THREADS] = self.threads
            self.dirty = True
            if self.live == 0:
                self.finish(t)
                return
            self.handoffp(p, t)
            return
        if self.live == 0:
            self.finish(t)
            return
        self.schedule_after(p, t, SCHEDULE_MS)

    def finish(self, t: float) -> None:
        """Every goroutine is done: the model's main has waited for all of them and exits."""
        self.done = True
        self.end_ms = t
        self.heap.clear()
        self.held = None

    # ---- channels (chansend / chanrecv in src/runtime/chan.go) ----------------------------------

    def chanop(self, g: G, p: P, s: pg.Step, t: float) -> bool:
        """One send or receive. True: it completed and g runs on. False: g parked.

        A blocked partner is readied into this P's runnext (goready(gp) -> ready(next=true)).
        """
        ch = s.chan
        st = self.chans.get(id(ch))  # id(): Chan.__hash__ is Python code, too slow here
        if st is None:
            name = ch.name or f"ch{len(self.chans) + 1}"
            st = self.chans[id(ch)] = [0, deque(), deque(), name]  # buffered, sendq, recvq, name
        if s.kind == pg.SEND:
            if st[2]:  # a receiver waits: hand over directly (send -> goready)
                self.ready(st[2].popleft(), p, t)
                return True
            if st[0] < ch.capacity:
                st[0] += 1
                return True
            st[1].append(g)
            self.park(g, p, t, "chan send", f"send({st[3]})")
            self.schedule_after(p, t, SCHEDULE_MS)
            return False
        if st[0] > 0:
            st[0] -= 1
            if st[1]:  # a blocked sender's value moves into the freed slot
                st[0] += 1
                self.ready(st[1].popleft(), p, t)
            return True
        if st[1]:  # unbuffered: take from the waiting sender
            self.ready(st[1].popleft(), p, t)
            return True
        st[2].append(g)
        self.park(g, p, t, "chan receive", f"recv({st[3]})")
        self.schedule_after(p, t, SCHEDULE_MS)
        return False

    # ---- syscalls -----------------------------------------------------------------------------

    def entersyscall(self, g: G, p: P, ms: float, t: float) -> None:
        """entersyscall in proc.go: g keeps its M and, until sysmon retakes it, its P."""
        self.end_segment(g, p, t)
        m = p.m
        p.syscall_g = g
        p.curg = None
        g.p = p
        g.m = m
        self.set_status(g, SYSCALL, t, "syscall")
        g.waits_on = "syscall"
        self.events.extend((t, "syscall_enter", p.id, g.name))  # self.log
        self.m_state(m, t, M_SYSCALL, g)
        self.push(t + ms, EV_SYSCALL_DONE, g)

    def exitsyscall(self, g: G, t: float) -> None:
        """exitsyscall (src/runtime/proc.go:4922): the G keeps its P if sysmon left it there (the
        fast path, proc.go:4969); else exitsyscallTryGetP (proc.go:5072) takes the old P back
        *only if another M holds it in a syscall of its own* (setBlockOnExitSyscall(oldp) and
        takeP, proc.go:5075), else the first idle P (pidleget, proc.go:5086: the idle list is LIFO,
        so an idle old P is taken only if it is at its head); with no P, exitsyscallNoP
        (proc.go:5106) puts the G on the global queue, without a wakep, and the M stops
        (stoplockedm if the G is locked to it)."""
        m = g.m
        p = g.p
        self.log(t, "syscall_exit", p, g)
        if p is not None and p.syscall_g is g:
            p.syscall_g = None
            p.syscalltick += 1
        else:
            p = None
            oldp = g.oldp
            if oldp is not None and oldp.syscall_g is not None:
                p = oldp
                self.take_p_from_syscall(p, t)
            elif self.pidle:
                p = self.pidleget()
                if self.sm_wait:  # exitsyscallTryGetP wakes a deep-sleeping sysmon
                    self.wake_sysmon(t)
            if p is None:
                g.p = None
                self.set_status(g, RUNNABLE, t)
                self.globrunqput(g, None)
                if m.lockedg is g:
                    self.m_state(m, t, M_LOCKED_WAIT, g)  # stoplockedm
                    m.curg = None
                else:
                    self.stopm(m, t)
                return
            p.m = m
            m.p = p
            p.syscalltick += 1
        g.p = p
        p.curg = g
        m.curg = g
        self.set_status(g, RUNNING, t)
        self.m_state(m, t, M_RUN, g)
        g.seg_start = t
        self.run(g, p, t)

    # ---- the scheduler side -------------------------------------------------------------------

    def schedule_after(self, p: P, t: float, cost: float) -> None:
        """The M of p enters schedule(); it decides ``cost`` ms later.

        A locked G that blocked makes its M stop instead (schedule -> stoplockedm): the P is
        handed off and the M waits for its G.
        """
        m = p.m
        lg = m.lockedg
        if lg is not None and lg.status != DEAD and lg.status != RUNNING:
            m.p = None
            m.curg = None
            p.m = None
            self.m_state(m, t, M_LOCKED_WAIT, lg)
            self.stats["locked_handoffs"] += 1
            self.log(t, "handoff", p, lg)
            self.handoffp(p, t)
            return
        p.sched_from = t
        at = p.sched_at = t + cost
        held = self.held  # self.push(at, EV_SCHED, p), written out
        if held is not None:
            heapq.heappush(self.heap, held)
        self.held = (at, self.next_seq(), EV_SCHED, p, 0)

    def on_sched(self, p: P, t: float) -> None:
        """schedule() in proc.go: find a G and execute it, or give up the P."""
        m = p.m
        self.stats["schedules"] += 1
        g, inherit = self.find_runnable(p, m, t)
        if g is None:
            return
        if m.spinning:  # resetspinning: the last spinning M to find work wakes another
            m.spinning = False
            self.nmspinning -= 1
            if self.nmspinning == 0:
                self.wakep(t)
        if not inherit:
            p.schedtick += 1
        if g.lockedm is not None and g.lockedm is not m:
            # startlockedm: hand our P to g's thread (a futex wake) and stop this M.
            lm = g.lockedm
            self.stopm(m, t)
            lm.p = p
            p.m = lm
            p.curg = g
            g.p = p
            self.stats["locked_handoffs"] += 1
            self.log(t, "handoff", p, g)
            self.m_state(lm, t, M_WAKING, g)
            self.push(t + THREAD_WAKE_MS, EV_M_START, lm, 1)
            return
        self.execute(g, p, m, t)

    def execute(self, g: G, p: P, m: M, t: float) -> None:
        """execute (src/runtime/proc.go:3346): g runs on p's M. It clears gp.preempt
        (proc.go:3362): a request sysmon made while g was parking is lost. One made in the last
        SWITCH_G_SIDE_MS of the switch, after this clearing, stands (see preemptone)."""
        g.p = p
        g.m = m
        g.preempt = p.preempt_at == t
        p.curg = g
        m.curg = g
        p.backoff_done = False
        # self.set_status(g, RUNNING, t), written out: this is the hottest status change.
        c = self.row
        c[g.status] -= 1  # a G to execute is runnable (or just out of a syscall), never dead
        c[RUNNING] += 1
        g.status = RUNNING
        g.reason = ""
        g.history.extend((t, RUNNING, "", g.stack, g.locked > 0))
        self.dirty = True
        # self.m_state(m, t, M_RUN, g), written out
        kind = _M_KIND_BY_STATE[m.state]
        if kind is not None and t > m.seg_start:
            self.thread_segments.extend((m.id, m.seg_g, m.seg_start, t, kind))
        m.state = M_RUN
        m.seg_start = t
        m.seg_g = g.name
        g.seg_start = t
        self.run(g, p, t)

    def fire_then_retry(self, src: P, p: P, t: float) -> None:
        """Run src's expired timers onto p, then come back to findRunnable after their cost."""
        n = self.run_timers(src, p, t)
        p.sched_from = t
        at = p.sched_at = t + n * TIMER_FIRE_MS
        self.push(at, EV_SCHED, p)

    def find_runnable(self, p: P, m: M, t: float) -> tuple[G | None, bool]:
        """findRunnable (src/runtime/proc.go:3404), in its order. Returns (g, inheritTime) or
        (None, False) when it has arranged what happens next itself (a retry event, or the P
        dropped).

        1. this P's own expired timers ((*timers).check, proc.go:3430; their Gs go to runnext,
        and the model resumes here after TIMER_FIRE_MS per timer); 2. one G from the global queue
        on every 61st schedtick, whatever the local queue holds (proc.go:3458); 3. runnext, then
        the local queue (proc.go:3484); 4. a batch from the global queue (proc.go:3489); 5. a
        non-blocking netpoll, reached only with both queues empty, and only if some G waits on
        the network and no other thread is polling (proc.go:3510); 6. stealing, if this M spins
        or fewer than half the busy Ps have spinning Ms (proc.go:3532): 4 passes over the Ps in
        random order, half of a victim's queue, timers and runnext on the last pass (stealWork);
        7. the P goes idle and the M parks, or blocks in netpoll until the next timer
        (proc.go:3747).
        """
        if p.timers and p.timers[0][0] <= t:
            self.fire_then_retry(p, p, t)
            return None, False
        if p.schedtick % GLOBAL_CHECK_TICKS == 0 and self.grunq:
            self.row[ROW_GLOBAL] -= 1
            return self.grunq.popleft(), False
        if p.runnext is not None:
            g = p.runnext
            p.runnext = None
            self.row[p.runnext_col] = 0
            return g, True
        if p.runq:
            self.row[p.runq_col] -= 1
            return p.runq.popleft(), False
        if self.grunq:
            return self.globrunqgetbatch(p), False
        if self.net_ready and self.lastpoll is not None:
            g = self.netpoll_now(p, t)
            if g is not None:
                return g, False
        busy = self.gomaxprocs - len(self.pidle)
        if m.spinning or 2 * self.nmspinning < busy:
            if not m.spinning:
                m.spinning = True
                self.nmspinning += 1
            g = self.steal_work(p, t)
            if g is not None:
                return g, False
            if p.backoff_done is None:
                p.backoff_done = False
                return None, False
        self.drop_p(p, m, t)
        return None, False

    def steal_work(self, p: P, t: float) -> G | None:
        """stealWork + runqsteal/runqgrab in proc.go.

        Returns a stolen G, or None. When it fired another P's timers or wants to back off before
        taking a runnext, it schedules the retry itself and marks ``p.backoff_done = None``.
        """
        n = self.gomaxprocs
        if n == 1:
            return None
        ps = self.ps
        coprimes = self.coprimes
        for i in range(STEAL_TRIES):
            last = i == STEAL_TRIES - 1
            r = self.cheaprand()
            pos, inc = r % n, coprimes[(r // n) % len(coprimes)]
            for _ in range(n):
                p2 = ps[pos]
                pos = (pos + inc) % n
                if p2 is p:
                    continue
                if last and p2.timers and p2.timers[0][0] <= t:
                    self.fire_then_retry(p2, p, t)
                    p.backoff_done = None
                    return None
                if p2.idle:
                    continue
                q = p2.runq
                k = len(q) - len(q) // 2
                if k:
                    stolen = [q.popleft() for _ in range(k)]
                    g = stolen.pop()
                    p.runq.extend(stolen)
                    self.row[p2.runq_col] -= k
                    self.row[p.runq_col] += k - 1
                    self.dirty = True
                    self.stats["steals"] += 1
                    self.stats["stolen_gs"] += k
                    self.log(t, "steal", p, g)
                    return g
                if last and p2.runnext is not None:
                    if p2.syscall_g is None and not p.backoff_done:
                        # runqgrab: usleep(3) first, p2 is probably about to run it.
                        self.push(t + RUNNEXT_BACKOFF_MS, EV_STEAL_RETRY, p)
                        p.backoff_done = None
                        return None
                    g = p2.runnext
                    p2.runnext = None
                    self.row[p2.runnext_col] = 0
                    p.backoff_done = False
                    self.stats["steals"] += 1
                    self.stats["stolen_gs"] += 1
                    self.log(t, "steal", p, g)
                    return g
        p.backoff_done = False
        return None

    def drop_p(self, p: P, m: M, t: float) -> None:
        """The end of findRunnable: release the P; the M blocks in netpoll if there is something
        to wait for and nobody else does, else it parks (stopm)."""
        if m.spinning:
            m.spinning = False
            self.nmspinning -= 1
        m.p = None
        self.pidleput(p, t)
        if self.done:
            return
        if (self.net_waiters or self.any_timers()) and self.lastpoll is not None:
            self.block_in_netpoll(m, t)
        else:
            self.stopm(m, t)

    # ---- netpoll ------------------------------------------------------------------------------

    def block_in_netpoll(self, m: M, t: float) -> None:
        """findRunnable's blocking netpoll(delay): wait for an fd or the next timer, with epoll's
        millisecond timeout (netpoll in netpoll_epoll.go)."""
        self.lastpoll = None
        until = self.earliest_timer()
        self.m_state(m, t, M_NETPOLL)
        self.poll_token += 1
        if self.net_ready:
            wake = t
        elif until is None:
            wake = None
        else:
            wake = t + netpoll_wait_ms(until - t)
        self.poller = (m, wake)
        if wake is not None:
            self.push(wake, EV_POLL_WAKE, m, self.poll_token)

    def on_poll_wake(self, m: M, t: float) -> None:
        """The poller M returns from epoll_wait: take an idle P and run what is ready, or go on."""
        self.poller = None
        self.lastpoll = t
        gs = self.take_net_ready()
        if not self.pidle:
            if gs:
                self.injectglist(gs, None, t)
            self.stopm(m, t)
            return
        p = self.pidleget()
        p.m = m
        m.p = p
        if gs:
            g = gs.pop(0)
            self.set_status(g, RUNNABLE, t)
            self.log(t, "wake", p, g)
            if gs:
                self.injectglist(gs, p, t)
            p.schedtick += 1
            self.execute(g, p, m, t)
        else:
            # Woken for a timer: the M takes it wherever it is (checkTimersNoP, then stealWork's
            # timer pass, which a spinning M would do; the model lets the poller do it directly).
            self.m_state(m, t, M_IDLE)
            fired = 0
            for p2 in self.ps:
                if p2.timers and p2.timers[0][0] <= t:
                    fired += self.run_timers(p2, p, t)
            if fired:
                self.push(t + fired * TIMER_FIRE_MS, EV_SCHED, p)
            else:
                self.on_sched(p, t)

    def take_net_ready(self) -> list[G]:
        gs = self.net_ready
        self.net_ready = []
        self.net_waiters -= len(gs)
        if gs:
            self.stats["netpolls"] += 1
        return gs

    def netpoll_now(self, p: P, t: float) -> G | None:
        """findRunnable's non-blocking netpoll(0): the first ready G runs, the rest are injected."""
        gs = self.take_net_ready()
        if not gs:
            return None
        g = gs.pop(0)
        self.set_status(g, RUNNABLE, t)
        self.log(t, "wake", p, g)
        if gs:
            self.injectglist(gs, p, t)
        return g

    def on_net_ready(self, g: G, t: float) -> None:
        """An fd became ready: epoll would report it; a blocked poller wakes up."""
        self.net_ready.append(g)
        if self.lastpoll is None and self.poller is not None:
            self.poll_token += 1
            self.push(t + THREAD_WAKE_MS, EV_POLL_WAKE, self.poller[0], self.poll_token)

    # ---- sysmon -------------------------------------------------------------------------------

    def wake_sysmon(self, t: float) -> None:
        """notewakeup(&sched.sysmonnote) from exitsyscall: sysmon resets to 20 us rounds."""
        self.sm_wait = False
        self.sm_idle = 0
        self.sm_delay = SYSMON_MIN_DELAY_MS
        self.sm_token += 1
        self.push(t, EV_SYSMON, None, self.sm_token)

    def on_sysmon(self, t: float, deep_wake: bool) -> None:
        """Rounds of sysmon in proc.go (each after its usleep): deep sleep when every P is idle,
        netpoll if nobody polled for 10 ms, retake, then the next sleep: 20 us, doubled after 50
        idle rounds, at most 10 ms, each stretched by the timer slack.

        Rounds that fall before the next event of the run are done here in a loop rather than
        through the event heap: nothing else can happen in between, so it is the same cadence,
        only cheaper.
        """
        stats = self.stats
        until = self.until_ms
        heap = self.heap
        while True:
            stats["sysmon_ticks"] += 1
            if not deep_wake and len(self.pidle) == self.gomaxprocs:
                nxt = self.earliest_timer()
                sleep = SYSMON_DEEP_SLEEP_MS if nxt is None else min(nxt - t, SYSMON_DEEP_SLEEP_MS)
                if sleep > 0:
                    self.sm_wait = True
                    self.sm_token += 1
                    self.push(t + sleep, EV_SYSMON, True, self.sm_token)
                    return
            deep_wake = False
            self.sm_wait = False
            lastpoll = self.lastpoll
            if self.netpoll_inited and lastpoll is not None and lastpoll + NETPOLL_STALE_MS < t:
                self.lastpoll = t
                gs = self.take_net_ready()
                if gs:
                    self.injectglist(gs, None, t)
            if self.retake(t):
                self.sm_idle = 0
                self.sm_delay = SYSMON_MIN_DELAY_MS
            else:
                self.sm_idle += 1
                if self.sm_idle > SYSMON_IDLE_ROUNDS:
                    self.sm_delay = min(self.sm_delay * 2, SYSMON_MAX_DELAY_MS)
            nxt = t + self.sm_delay + TIMER_SLACK_MS
            held = self.held  # is the next round sooner than every scheduled event?
            if (
                nxt > until
                or self.done
                or (held is not None and nxt >= held[0])
                or (heap and nxt >= heap[0][0])
                or (held is None and not heap)
            ):
                if self.dirty:  # a change in this round is noted now, at its own time
                    self.note(t)
                self.sm_token += 1
                self.push(nxt, EV_SYSMON, False, self.sm_token)
                return
            if self.dirty:
                self.note(t)
            self.inline_ticks += 1
            t = nxt
            self.now = t

    def retake(self, t: float) -> int:
        """retake in proc.go: preempt a G that has run 10 ms on one schedtick; take the P of an M
        that has been in a syscall for a whole sysmon tick (unless its queue is empty, others
        are idle or spinning, and it has been less than 10 ms). Returns the Ps taken."""
        n = 0
        for p in self.ps:
            if p.idle or p.m is None:
                continue
            schedtick = p.schedtick
            if p.sm_schedtick != schedtick:
                p.sm_schedtick = schedtick
                p.sm_schedwhen = t
                sysretake = False
            elif p.sm_schedwhen + FORCE_PREEMPT_MS <= t:
                self.preemptone(p, t)
                sysretake = True
            else:
                sysretake = False
            g = p.syscall_g
            if g is None:
                continue
            if not sysretake and p.sm_syscalltick != p.syscalltick:
                p.sm_syscalltick = p.syscalltick
                p.sm_syscallwhen = t
                continue
            if (
                not p.runq
                and p.runnext is None
                and self.nmspinning + len(self.pidle) > 0
                and p.sm_syscallwhen + SYSCALL_KEEP_MS > t
            ):
                continue
            self.take_p_from_syscall(p, t)
            n += 1
            self.handoffp(p, t)
        return n

    def take_p_from_syscall(self, p: P, t: float) -> None:
        """syscallingThread.takeP (src/runtime/proc.go:6861): unwire p from the M whose G is in a
        syscall on it; that G will look for a P when its syscall returns (exitsyscall)."""
        g = p.syscall_g
        m = p.m
        m.p = None
        p.m = None
        p.syscall_g = None
        p.syscalltick += 1
        g.p = None
        g.oldp = p
        self.stats["handoffs"] += 1
        self.log(t, "handoff", p, g)

    def preemptone(self, p: P, t: float) -> None:
        """preemptone (src/runtime/proc.go:6917): ask the G on p's M to stop (gp.preempt and
        gp.stackguard0), and signal the M (preemptM, src/runtime/signal_unix.go:369).

        A G in a calls=True burst stops at its next call (newstack, src/runtime/stack.go:1122;
        treated as now); a calls=False loop only at the signal, which injects asyncPreempt where
        wantAsyncPreempt and isAsyncSafePoint agree (src/runtime/preempt.go:369 and 390), when
        async preemption is on, else at the loop's end. A G in a syscall is not asked
        (proc.go:6926). If p's M is in schedule() (p.curg is None in the model) curg is nil, or
        the parking G, whose request execute clears (proc.go:3362): the request is lost, unless
        it comes in the switch's last SWITCH_G_SIDE_MS, when the next G already runs on its own
        stack past execute: then that G stops at its next stack check (recorded in
        p.preempt_at, read by execute). Where in the switch sysmon's round falls is not
        something the model can place (the rounds end by the timer slack, tens of us, later than
        asked, and a switch lasts a fraction of a us): the request stands with probability
        SWITCH_G_SIDE_MS / (the switch's length), drawn from the run's generator, and only if
        the switch ends in execute. This is why a loop that sleeps 1 ns per iteration, and so
        spends most of its time in the scheduler, is rarely preempted.
        """
        g = p.curg
        if g is None:
            at = p.sched_at
            if at > t and self.cheaprand() < SWITCH_G_SIDE_MS / (at - p.sched_from) * 2**32:
                p.preempt_at = at
            return
        if g.status != RUNNING or g.rem is None:
            return
        if g.calls or self.async_preempt:
            g.rem = max(g.cpu_end - t, 0.0)  # stopped mid-burst: the rest runs when g is back
            g.token += 1
            self.preempt_now(g, p, t, cooperative=g.calls)
        else:
            g.preempt = True

    # ---- checkdead -----------------------------------------------------------------------------

    def checkdead(self, t: float) -> None:
        """checkdead in proc.go: every P idle, nothing runnable, in a syscall, on a timer or on the
        network, yet goroutines remain: "all goroutines are asleep - deadlock!"."""
        if self.live == 0 or self.deadlock is not None:
            return
        c = self.row
        if c[RUNNABLE] or c[RUNNING] or c[SYSCALL] or self.net_waiters or self.any_timers():
            return
        stuck = [g for g in self.gs if g.status == WAITING]
        lines = ["fatal error: all goroutines are asleep - deadlock!", ""]
        for g in stuck:
            lines.append(f"goroutine {g.goid} [{g.reason}]: {g.name} blocked in {g.waits_on}")
        self.deadlock = "\n".join(lines)
        self.done = True
        self.end_ms = t
        self.heap.clear()
        self.held = None

    # ---- invariants (the property tests call this after every event) ---------------------------

    def check_invariants(self) -> None:
        """Raise AssertionError if the model's bookkeeping is inconsistent: every live G is in
        exactly one place that matches its status, counts agree, idle Ps are empty, and no more
        Ms spin than findRunnable/wakep allow. O(goroutines); for tests, not for normal runs."""

        def fail(msg: str) -> None:
            raise AssertionError(f"t={self.now}: {msg}")

        where: dict[str, str] = {}

        def put(g: G, place: str) -> None:
            if g.name in where:
                fail(f"{g.name} is both in {where[g.name]} and {place}")
            where[g.name] = place

        for p in self.ps:
            if p.runnext is not None:
                put(p.runnext, f"P{p.id}.runnext")
            for g in p.runq:
                put(g, f"P{p.id}.runq")
            for _, _, g in p.timers:
                put(g, f"P{p.id}.timers")
            if p.curg is not None:
                put(p.curg, f"P{p.id}.curg")
            if p.syscall_g is not None and p.syscall_g.p is not p:
                fail(f"P{p.id} syscall_g {p.syscall_g.name} does not point back")
            if p.idle and (
                p.runq or p.runnext is not None or p.curg is not None or p.m is not None
            ):
                fail(f"idle P{p.id} holds work or an M")
            row = self.row
            if row[p.runnext_col] != (p.runnext is not None) or row[p.runq_col] != len(p.runq):
                fail(f"P{p.id} state row columns are off: {row}")
            if len(p.runq) > LOCAL_RUNQ_SIZE:
                fail(f"P{p.id} local queue over {LOCAL_RUNQ_SIZE}")
        for g in self.grunq:
            put(g, "global runq")
        for st in self.chans.values():
            for g in st[1]:
                put(g, "chan sendq")
            for g in st[2]:
                put(g, "chan recvq")
        for g in self.net_ready:
            put(g, "netpoll ready")
        tally = [0, 0, 0, 0]
        live = 0
        for g in self.gs:
            if g.status == DEAD:
                if g.name in where:
                    fail(f"dead {g.name} is in {where[g.name]}")
                continue
            live += 1
            tally[g.status] += 1
            place = where.get(g.name)
            if g.status == RUNNING and (place is None or not place.endswith("curg")):
                fail(f"running {g.name} is not a P's current G (in {place})")
            if g.status == RUNNABLE and place is None:
                fail(f"runnable {g.name} is in no queue: lost")
            if g.status == RUNNABLE and place.endswith("curg") and g.lockedm is None:
                fail(f"runnable {g.name} sits on a P without a locked-thread hand-off")
            if g.status == SYSCALL and place is not None:
                fail(f"{g.name} in a syscall is also in {place}")
            if g.status == WAITING and place is None and g.reason != "IO wait":
                fail(f"waiting {g.name} ({g.reason}) is in no wait queue: lost")
        if tally != self.row[:ROW_GLOBAL]:
            fail(f"state counts {self.row[:ROW_GLOBAL]} != tally {tally}")
        if self.row[ROW_GLOBAL] != len(self.grunq) or self.row[ROW_THREADS] != self.threads:
            fail(f"state row {self.row} disagrees with the global queue or the thread count")
        if live != self.live:
            fail(f"live {self.live} != {live}")
        spinning = sum(1 for m in self.ms if m.spinning)
        if spinning != self.nmspinning:
            fail(f"nmspinning {self.nmspinning} != spinning Ms {spinning}")
        busy = self.gomaxprocs - len(self.pidle)
        if self.nmspinning > busy:  # each spinning M holds a P (wakep, findRunnable)
            fail(f"{self.nmspinning} spinning Ms for {busy} busy Ps")

    # ---- main loop ----------------------------------------------------------------------------

    #: Hook for tests: a method ``after_event(t)`` that a subclass defines is called after every
    #: event (the property tests check the model's bookkeeping there).
    after_event = None

    def simulate(self) -> None:
        """Run until every G is done, until_ms, or a deadlock."""
        self._start()
        self._loop()
        if not self.done:
            self.end_ms = self.until_ms if self.live else self.now
        self.close(self.end_ms)

    def _start(self) -> None:
        """runtime.main: M0 runs main on P0; sysmon starts on a thread of its own."""
        m0 = self.newm()
        self.threads += 1  # sysmon's thread (newm(sysmon, ...) in runtime.main), never on a P
        self.row[ROW_THREADS] = self.threads
        self.stats["threads_peak"] = self.threads
        p0 = self.ps[0]
        for p in reversed(self.ps[1:]):  # procresize leaves P(n-1) at the head of pidle
            p.idle = True
            self.pidle.insert(0, p)
        main = self.new_g(self.gos[0], None, 0.0)
        p0.m = m0
        m0.p = p0
        p0.schedtick += 1
        self.execute(main, p0, m0, 0.0)
        self.sm_token += 1
        self.push(SYSMON_MIN_DELAY_MS + TIMER_SLACK_MS, EV_SYSMON, False, self.sm_token)
        self.note(0.0)

    def _loop(self) -> None:
        """The event loop: take the soonest event (``held`` or the heap's first), dispatch it,
        then record the state row if the event changed it."""
        heap = self.heap
        pop = heapq.heappop
        pushpop = heapq.heappushpop
        note = self.note
        after_event = self.after_event
        run = self.run
        until = self.until_ms
        nevents = 0
        while True:
            held = self.held
            if held is not None:
                self.held = None
                event = pushpop(heap, held) if heap else held
            elif heap:
                event = pop(heap)
            else:
                break
            t, _, kind, obj, token = event
            if t > until:
                heapq.heappush(heap, event)  # not processed: leave it where it was
                break
            self.now = t
            nevents += 1
            if kind == EV_CPU_DONE:
                if token != obj.token:
                    nevents -= 1
                    continue
                obj.rem = None
                obj.pc += 1  # the burst is done
                run(obj, obj.p, t)
            elif kind == EV_SCHED:
                self.on_sched(obj, t)
            elif kind == EV_SYSMON:
                if token != self.sm_token:
                    nevents -= 1
                    continue
                self.on_sysmon(t, obj is True)
            elif kind == EV_SYSCALL_DONE:
                self.exitsyscall(obj, t)
            elif kind == EV_M_START:
                m = obj
                p = m.p
                if token == 1:  # startlockedm: the locked thread runs its G
                    self.execute(p.curg, p, m, t)
                else:
                    self.m_state(m, t, M_IDLE)
                    self.on_sched(p, t)
            elif kind == EV_POLL_WAKE:
                if token != self.poll_token or self.poller is None:
                    nevents -= 1
                    continue
                self.on_poll_wake(obj, t)
            elif kind == EV_NET_READY:
                self.on_net_ready(obj, t)
            elif kind == EV_STEAL_RETRY:
                obj.backoff_done = True
                self.on_sched(obj, t)
            if self.dirty:
                note(t)
            if after_event is not None:
                after_event(t)
        self.stats["events"] = nevents + self.inline_ticks

    def release(self) -> None:
        """Break the run's reference cycles (a P and its M point at each other, a G at its P, ...)
        once its Result is built, so that the whole graph is freed the moment it is dropped.

        Left alone, each run would leave thousands of objects for Python's cyclic garbage
        collector, whose full collections then walk every object in the kernel; on a notebook
        whose slider re-runs the model that cost more than a tenth of each re-run.
        """
        for p in self.ps:
            p.m = p.curg = p.runnext = p.syscall_g = None
            p.runq.clear()
            p.timers.clear()
        for m in self.ms:
            m.p = m.curg = m.lockedg = None
        for g in self.gs:
            g.p = g.m = g.oldp = g.lockedm = g.creator = None
        self.heap.clear()
        self.held = None
        self.grunq.clear()
        self.chans.clear()
        self.net_ready = []
        self.poller = None

    def close(self, t: float) -> None:
        """Close the stretches still open at the end of the run."""
        for p in self.ps:
            g = p.curg
            if g is not None and g.status == RUNNING and p.m is not None and t > g.seg_start:
                self.segments.extend((p.id, g.name, g.seg_start, t, p.m.id, g.seg_stack))
        for m in self.ms:
            self.m_state(m, t, M_IDLE)
        self.note(t)
