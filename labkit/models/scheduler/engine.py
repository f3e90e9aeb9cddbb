"""One run of the scheduler model: its state, the event kernel, and the parts composed.

This is a discrete-event model of src/runtime/proc.go (Go 1.26/1.27). Virtual time is in
milliseconds; the kernel is a heap of ``(time_ms, seq, kind, obj, token)`` (``events.py``) with a
counter ``seq`` so that ties are processed in the order they were scheduled (as in SimPy), which
makes every run with the same arguments identical, bit for bit. The only randomness (work
stealing's victim order, and where in a switch a preemption request of sysmon falls) is drawn
from one seeded ``numpy.random.Generator``; with ``cores=n`` the OS layer draws its thread
wake-up latencies from a second stream of the same seed (``os_rng``). (The newest event waits
in a one-event slot, ``held``, before it enters the heap: most events are followed at once by the
one they scheduled, a G's next schedule() SCHEDULE_MS later, and that one then never needs the
heap at all.)

Life cycle of a P in the model: an M holding the P reaches ``schedule()`` (event ``EV_SCHED``),
asks ``find_runnable`` for a G, and runs it; the G walks its compiled steps (``G.pc``) instantly
until one takes time (a CPU burst: event ``EV_CPU_DONE``) or blocks (park, syscall), and then the
M is back in ``schedule()`` after ``SCHEDULE_MS``. Ms without a P are idle, blocked in netpoll, in
a syscall, or waiting for their locked G. sysmon is its own event stream with the real cadence.

The ``Scheduler`` is composed of one part per part of proc.go, each a mixin in its own module
whose docstring names the runtime functions it mirrors: ``runq`` (run queues), ``timers``,
``netpoll``, ``sysmon`` (sysmon, retake, preemptone), ``threads`` (Ms, idle Ps, handoffp,
startlockedm), ``chan`` (channels), ``syscalls`` (entersyscall, exitsyscall), ``goroutine`` (a
G's steps, newproc, gopark, goschedImpl, goexit0) and ``schedule`` (schedule, findRunnable,
stealWork, execute), then the primitives a program synchronises with: ``sema`` (semacquire1,
semrelease1), ``mutex``, ``waitgroup``, ``timerchan`` (time.Ticker, time.After), ``selectgo``
and ``atomics``, whose steps ``run`` hands to ``primitive_steps``; ``cpus``, the OS sharing
``cores`` CPUs between the Ms (``simulate(cores=n)``); ``records`` writes down the run,
``invariants`` checks it. The state is all here, in one set of ``__slots__``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from typing import NoReturn

import numpy as np

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.atomics import Atomics
from labkit.models.scheduler.chan import Channels
from labkit.models.scheduler.cpus import Cpus
from labkit.models.scheduler.events import (
    EV_CPU_DONE,
    EV_CPU_GRANT,
    EV_NET_READY,
    EV_POLL_WAKE,
    EV_PROLOGUE,
    EV_SCHED,
    EV_SLICE,
    EV_SPIN,
    EV_STARTLOCKEDM,
    EV_STARTM,
    EV_STEAL_RETRY,
    EV_SYSCALL_DONE,
    EV_SYSMON,
)
from labkit.models.scheduler.goroutine import Goroutines
from labkit.models.scheduler.invariants import Invariants
from labkit.models.scheduler.mutex import Mutexes
from labkit.models.scheduler.netpoll import Netpoll
from labkit.models.scheduler.records import Records, flush_pending, p_columns, row_width
from labkit.models.scheduler.runq import RunQueues
from labkit.models.scheduler.schedule import Schedule
from labkit.models.scheduler.selectgo import Selects, SelState
from labkit.models.scheduler.sema import Semaphores
from labkit.models.scheduler.state import M_IDLE, RUNNING, G, P
from labkit.models.scheduler.syscalls import Syscalls
from labkit.models.scheduler.sysmon import Sysmon
from labkit.models.scheduler.threads import Threads
from labkit.models.scheduler.timerchan import TimerChans
from labkit.models.scheduler.timers import Timers
from labkit.models.scheduler.waitgroup import WaitGroups


class Scheduler(
    Schedule,
    Goroutines,
    RunQueues,
    Timers,
    Netpoll,
    Sysmon,
    Threads,
    Channels,
    Syscalls,
    Semaphores,
    Mutexes,
    WaitGroups,
    TimerChans,
    Selects,
    Atomics,
    Cpus,
    Records,
    Invariants,
):
    """One run of the model: ``Scheduler(main, ...).simulate()`` fills the raw records Result reads.

    ``__slots__``: the run reads and writes these fields on every event. A plain instance with
    this many attributes outgrows CPython's shared-key instance dicts (30 keys), which turns off
    the interpreter's fast paths for ``self.x`` and ``self.method()``; slots keep them fast.
    Subclasses (the tests' recorders) may still add attributes of their own.
    """

    __slots__ = (
        "gos", "gomaxprocs", "async_preempt", "until_ms", "rng", "_rand", "now", "heap", "held",
        "seq", "ps", "row", "coprimes", "ms", "midle", "pidle", "grunq",
        "nmspinning", "gs", "live", "chans", "net_waiters", "net_ready",
        "lastpoll", "poller", "poll_token", "sm_idle", "sm_delay", "sm_wait", "sm_token",
        "sm_backoff_rng", "inline_ticks", "nschedules", "segments", "thread_segments", "events", "marks", "finished", "series_t",
        "series_rows", "last_row", "dirty", "stats", "deadlock", "done", "end_ms",
        "netpoll_inited", "copies", "mark_vals", "nchans", "syncs", "prims", "timerchans",
        "sema_parks", "cores", "cpu_free", "cpu_wait", "cpu_holders", "os_rng", "futex_paid",
    )  # fmt: skip

    def __init__(
        self,
        main: pg.Go,
        gomaxprocs: int,
        async_preempt: bool,
        until_ms: float,
        seed: int,
        cores: int | None = None,
        sysmon_backoff: bool = False,
    ) -> None:
        # Every goroutine the run can create, by name (validates unique names up front); a Go
        # spawned more than once runs as numbered copies, counted in ``copies`` (new_g).
        named = pg.goroutine_names(main)
        self.gos = [main]
        self.copies = {id(go): 0 for name, go in named if name != go.name}
        self.gomaxprocs = gomaxprocs
        self.async_preempt = async_preempt
        self.until_ms = until_ms
        self.rng = np.random.default_rng(seed)
        self._rand = []
        self.now = 0.0
        self.heap = []
        self.held = None  # the newest event, not yet in the heap (see push)
        # Tie-breaking sequence numbers, shared by the event heap and the timer heaps, drawn with
        # next(self.seq): a bound __next__ kept in a slot and called, self.next_seq(), was a
        # method load CPython 3.11 does not specialise, at every switch (#25 item 7).
        self.seq = itertools.count(1)
        self.ps = [P(i, *p_columns(i, gomaxprocs)) for i in range(gomaxprocs)]
        self.row = [0] * row_width(gomaxprocs)  # the state row (records.py), kept in place
        self.coprimes = [i for i in range(1, gomaxprocs + 1) if math.gcd(i, gomaxprocs) == 1]
        self.ms = []
        self.midle = []
        self.pidle = []
        self.grunq = deque()
        self.nmspinning = 0
        self.gs = []
        self.live = 0
        self.chans = {}  # Chan -> its state in this run (a Chan is its identity and hash)
        self.nchans = 0  # channels made so far, timer channels included (their lock order)
        # The primitives (primitives.py): id(Mutex / WaitGroup / Flag) -> its state in this run,
        # id(Ticker) -> its current timer channel, and every one by name for Result.primitives
        # (a ticker's name lists each timer channel its start() steps made).
        self.syncs = {}
        self.timerchans = {}
        self.prims = {}
        self.sema_parks = set()  # (goid, t) of each park on a Mutex's or WaitGroup's semaphore
        # netpoll
        self.net_waiters = 0
        self.net_ready = []
        self.lastpoll = 0.0  # sched.lastpoll; None while an M is blocked in netpoll
        self.poller = None  # (m, until_ms or None)
        self.poll_token = 0
        # sysmon
        self.sm_idle = 0
        self.sm_delay = rt.SYSMON_MIN_DELAY_MS
        self.sm_wait = False
        self.sm_token = 0
        self.sm_backoff_rng = np.random.default_rng((seed, 2)) if sysmon_backoff else None
        self.inline_ticks = 0  # sysmon rounds done without a heap event (on_sysmon)
        self.nschedules = 0  # schedule() calls (on_sched): stats["schedules"] at the end
        self._init_records(named)
        self.netpoll_inited = False
        self._init_os(cores, seed)

    def _init_records(self, named: list) -> None:
        """What a run records (result.py reads them): segments, thread segments, events, marks,
        the state rows, the counters; every goroutine the run can create starts unfinished."""
        # Flat lists, one row after another (a row is not a tuple of its own: the millions of
        # tuples a run would keep cost Python's garbage collector a fifth of the run to look at).
        self.segments = []  # p, g, start, end, m, stack
        self.thread_segments = []  # m, g, start, end, kind
        self.events = []  # t, kind, p, g
        self.marks = {}
        self.mark_vals = {}  # label -> (index in marks[label], value) of each mark with a value
        self.finished = dict.fromkeys(name for name, _ in named)
        # One state row (records.py) per time it changed: series_t[i] is its time and
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

    def _init_os(self, cores: int | None, seed: int) -> None:
        # The OS layer (cpus.py): None gives every M a CPU of its own; else ``cores`` CPUs,
        # those free, the Ms waiting for one (FIFO) and the Ms on one, and the OS's own stream
        # of the run's seed (thread wake-up latencies, threads.thread_wake_ms), apart from the
        # runtime's so that drawing them leaves every cheaprand choice as it was.
        self.cores = cores
        self.cpu_free = cores or 0
        self.cpu_wait = deque()
        self.cpu_holders = []
        self.os_rng = None if cores is None else np.random.default_rng((seed, 1))
        self.futex_paid = {}  # goroutine -> CPU its futex wakes cost it (threads.wakep)

    # ---- event kernel -------------------------------------------------------------------------

    def push(self, t: float, kind: int, obj: object = None, token: int = 0) -> None:
        """Schedule an event. It waits in ``held`` (the previous one moves to the heap): the loop
        takes it from there with one ``heappushpop``, which returns it without touching the heap
        when it is the soonest, as the scheduling events a G causes usually are. (Copied in line
        in schedule_after, the hot path.)"""
        held = self.held
        if held is not None:
            heapq.heappush(self.heap, held)
        self.held = (t, next(self.seq), kind, obj, token)

    def cheaprand(self) -> int:
        """One uint32 from the run's generator (cheaprand in proc.go), drawn in batches."""
        if not self._rand:
            self._rand = self.rng.integers(0, 2**32, size=1024, dtype=np.uint64).tolist()[::-1]
        return self._rand.pop()

    # ---- the primitives' common parts -----------------------------------------------------------

    def prim_state(self, obj: object, cls: type, prefix: str) -> object:
        """obj's state in this run (a Mutex's MutexState, a WaitGroup's, a Flag's), made on its
        first use and named by obj.name or ``prefix`` and a number (mutex1, wg1, flag1 ...)."""
        st = self.syncs.get(id(obj))
        if st is None:
            name = obj.name or f"{prefix}{sum(type(x) is cls for x in self.syncs.values()) + 1}"
            k, key = 1, name
            while key in self.prims:  # two objects given one name: the second is name#2
                k += 1
                key = f"{name}#{k}"
            st = self.syncs[id(obj)] = cls(key)
            self.prims[key] = st
        return st

    def misuse(self, g: G, s: pg.Step, t: float, what_go_does: str) -> NoReturn:
        """A step Go itself refuses at run time (an unlock of an unlocked mutex, a negative
        WaitGroup counter ...): a ProgramError naming the goroutine, the time and the step."""
        raise pg.ProgramError(f"goroutine {g.name!r} at {t:.6g} ms, step {s!r}: {what_go_does}")

    def mark_value(self, g: G, p: P, s: pg.Step, t: float) -> bool:
        """mark(label, value): the time in marks[label], the value beside it (Result)."""
        times = self.marks.setdefault(s.label, [])
        self.mark_vals.setdefault(s.label, []).append((len(times), s.value))
        times.append(t)
        return True

    def jump(self, g: G, p: P, s: pg.Step, t: float) -> bool:
        """The end of a select case's body: on after the select."""
        g.pc = s.n
        return True

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
        self.add_threads(1)  # sysmon's thread (newm(sysmon, ...) in runtime.main), never on a P
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
        self.push(self.first_sysmon_round_ms(), EV_SYSMON, False, self.sm_token)
        self.note(0.0)

    def _loop(self) -> None:
        """The event loop: take the soonest event (``held`` or the heap's first), dispatch it,
        then record the state row if the event changed it.

        Why one long function: it is the model's hot path. Its locals (the heap, heappop, the
        recorders) are bound once per run, and every event passes through it: 200,062 events
        for a 100,000-round channel ping-pong, 0.39 s of CPU in all (0.66 s before #25 item 7,
        0.53 s before its second pass, the short history entries of records.py and note in line
        here, 0.45 s before its third, a hop's schedule in park, 0.44 s before its fourth, the
        pending history entries and runtime.py's attributes specialised; benchmarks/README.md),
        where one more call per event would add about 2-3 %."""
        heap = self.heap
        pop = heapq.heappop
        pushpop = heapq.heappushpop
        store_row = self.store_row
        after_event = self.after_event
        run = self.run
        on_sched = self.on_sched
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
            if kind == EV_SCHED:  # first: the commonest kind in every benchmark (bench_sched.py)
                on_sched(obj, t)
            elif kind == EV_CPU_DONE:
                if token != obj.token:
                    nevents -= 1
                    continue
                obj.rem = None
                obj.pc += 1  # the burst is done
                run(obj, obj.p, t)
            elif kind == EV_SYSMON:
                if token != self.sm_token:
                    nevents -= 1
                    continue
                self.on_sysmon(t, obj is True)
            elif kind == EV_SYSCALL_DONE:
                self.exitsyscall(obj, t)
            elif kind == EV_STARTM:  # the woken M enters schedule() with its P
                self.m_state(obj, t, M_IDLE)
                self.on_sched(obj.p, t)
            elif kind == EV_STARTLOCKEDM:  # the woken locked M runs its G on the P it was given
                p = obj.p
                self.execute(p.curg, p, obj, t)
            elif kind == EV_POLL_WAKE:
                if token != self.poll_token or self.poller is None:
                    nevents -= 1
                    continue
                self.on_poll_wake(obj, t)
            elif kind == EV_NET_READY:
                self.on_net_ready(obj, t)
            elif kind == EV_STEAL_RETRY:
                obj.backed_off = True  # runqgrab's usleep(3) is over: take the runnext
                self.on_sched(obj, t)
            elif kind == EV_SPIN:  # a mutex spinner's procyield is over: it looks again
                if token != obj.token:
                    nevents -= 1
                    continue
                run(obj, obj.p, t)
            elif kind == EV_PROLOGUE:  # a call's prologue sees the pending request (sysmon.py)
                if token != obj.token:
                    nevents -= 1
                    continue
                self.prologue_reached(obj, t)
            elif kind == EV_SLICE:  # an M's OS slice is over (cpus.py, with cores)
                if token != obj.cpu_token:
                    nevents -= 1
                    continue
                self.on_slice(obj, t)
            elif kind == EV_CPU_GRANT:  # a waiting M got a CPU (cpus.py)
                if token != obj.cpu_token:
                    nevents -= 1
                    continue
                self.on_cpu_grant(obj, t)
            if self.dirty:
                # note(t), in line: most events leave the row as it was (a ping-pong's always
                # do), and skipping the call is 3.6 % of one (#25 item 7)
                self.dirty = False
                if self.row != self.last_row:
                    store_row(t)
            if after_event is not None:
                after_event(t)
        self.stats["events"] = nevents + self.inline_ticks
        self.stats["schedules"] = self.nschedules

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
        chans = list(self.chans.values())  # and the primitives' cycles: a blocked select's
        for tcs in self.prims.values():  # sudogs and their channels
            if isinstance(tcs, list):
                chans += [tc.chan for tc in tcs]
        for g in self.gs:
            g.p = g.m = g.oldp = g.lockedm = g.creator = None
            if g.waiting.__class__ is SelState:
                chans += [sg.st for sg in g.waiting.sudogs]
                g.waiting.sudogs = []
            g.waiting = None
        for st in chans:
            st.sendq.clear()
            st.recvq.clear()
        self.heap.clear()
        self.held = None
        self.grunq.clear()
        self.chans.clear()
        self.syncs.clear()
        self.timerchans.clear()
        self.prims.clear()
        self.net_ready = []
        self.poller = None

    def close(self, t: float) -> None:
        """Close the stretches still open at the end of the run, and write the Gs' pending
        history entries (records.py, "Pending entries")."""
        for p in self.ps:
            g = p.curg
            if g is not None and g.status == RUNNING and p.m is not None:
                self.end_segment(g, p, t)
        for m in self.ms:
            self.m_state(m, t, M_IDLE)
        self.note(t)
        for g in self.gs:  # the histories' pending entries (records.py), before Result reads them
            flush_pending(g)


#: The step kinds of the primitives (kind >= programs.MARK_VALUE) and what runs each: called by
#: Scheduler.run after it moved g.pc past the step, as ``f(scheduler, g, p, step, t)``; True
#: to walk on, False when g stopped running (a step that must run again sets g.pc back).
Scheduler.primitive_steps = {
    pg.MARK_VALUE: Scheduler.mark_value,
    pg.MU_LOCK: Scheduler.mutex_lock,
    pg.MU_UNLOCK: Scheduler.mutex_unlock,
    pg.WG_ADD: Scheduler.wg_add,
    pg.WG_WAIT: Scheduler.wg_wait,
    pg.TICKER_START: Scheduler.ticker_start,
    pg.TICKER_STOP: Scheduler.ticker_stop,
    pg.TICK_RECV: Scheduler.tick_recv,
    pg.SELECT: Scheduler.selectgo,
    pg.FLAG_STORE: Scheduler.flag_store,
    pg.FLAG_SPIN: Scheduler.flag_spin,
    pg.JUMP: Scheduler.jump,
    pg.SLEEP_UNTIL: Scheduler.sleep_until,
}

rt.Scheduler = Scheduler  # the name older code imports from runtime.py (see there)
