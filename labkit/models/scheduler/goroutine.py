"""The goroutine's side: a G walks its program's steps, and spawns, parks, yields or exits.

Mirrors, in src/runtime/proc.go: ``newproc`` (proc.go:5334) and ``newproc1`` (proc.go:5352), ``gopark``
(proc.go:457) with ``park_m`` (proc.go:4268), ``goschedImpl`` (proc.go:4322) for Gosched and
preemption (``gopreempt_m``, proc.go:4376), and ``goexit0`` (proc.go:4506); the steps that block
elsewhere are in their own parts (channels ``chan.py``, syscalls ``syscalls.py``, sleeps
``timers.py``, the network ``netpoll.py``).

``run`` is the G's side of execute: it walks g's compiled steps (``programs.compile_steps``) at
one instant until a step takes time (a CPU burst, event ``EV_CPU_DONE``) or blocks.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_CPU_DONE, EV_SCHED
from labkit.models.scheduler.records import flush_pending
from labkit.models.scheduler.state import (
    DEAD,
    HISTORY_FULL,
    HISTORY_HOP,
    RUNNABLE,
    RUNNING,
    WAITING,
    G,
    P,
)

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler

# Step kinds as module globals: run() reads them on every step.
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
S_PRIMITIVE = pg.MARK_VALUE  # the first of the primitives' kinds


class Goroutines:
    """The goroutine part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def new_g(self: Scheduler, prog: pg.Go, creator: G | None, t: float) -> G:
        """newproc1 (src/runtime/proc.go:5352): a new runnable G, counted. A Go spawned more
        than once gets the next numbered name ("worker#3", programs.copy_name)."""
        g = G(prog, len(self.gs) + 1, creator, t)
        if self.copies:
            k = self.copies.get(id(prog))
            if k is not None:
                self.copies[id(prog)] = k + 1
                g.name = pg.copy_name(prog.name, k + 1)
        self.gs.append(g)
        self.live += 1
        self.count_new_g(g, t)
        return g

    def newproc(self: Scheduler, parent: G, p: P, prog: pg.Go, t: float) -> None:
        """newproc (src/runtime/proc.go:5334): the new G goes into the creator's P's runnext,
        then wakep."""
        g = self.new_g(prog, parent, t)
        self.log(t, "spawn", p, g)
        self.runqput(p, g, True)
        self.wakep(t, parent)

    def run(self: Scheduler, g: G, p: P, t: float) -> None:
        """Walk g's steps at time t on p until one takes time or blocks (the G's side of
        execute, src/runtime/proc.go:3346).

        ``g.pc`` is the step g is at in its compiled code (``programs.compile_steps``); a step
        that is done moves it on by one. A step that parks g is completed by its waker.
        """
        code = g.code
        while True:
            if g.preempt:  # a call boundary honours a pending request (newstack -> gopreempt_m)
                self.preempt_now(g, p, t, cooperative=True)
                return
            s = code[g.pc]
            k = s.kind
            if k == S_CPU:  # (sleep(d <= 0) is compiled to the CPU time of the call)
                if self.burst(g, p, s, t):
                    return
                continue
            g.pc += 1
            if k == S_SEND:
                if not self.chansend(g, p, s.chan, t):
                    return
            elif k == S_RECV:
                if not self.chanrecv(g, p, s.chan, t):
                    return
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
            elif k == S_MARK:
                self.marks.setdefault(s.label, []).append(t)
            elif k == S_SPAWN:
                self.newproc(g, p, s.go, t)
            elif k == S_GOSCHED:
                self.gosched(g, p, t)
                return
            elif k == S_SLEEP:
                self.time_sleep(g, p, t, "sleep", f"time.Sleep({s.ms:g} ms)", s.ms)
                return
            elif k == S_IO_WAIT:
                self.netpollblock(g, p, t, s.ms)
                return
            elif k == S_SYSCALL:
                self.entersyscall(g, p, s.ms, t)
                return
            elif k == S_EXIT:
                self.goexit(g, p, t)
                return
            elif k == S_WAIT:
                if s.ms > 0:  # parked for an outside resource; readied like a timer's G
                    self.time_sleep(g, p, t, s.label, f"{s.label} ({s.ms:g} ms)", s.ms)
                    return
            elif k == S_LOCK:
                self.lock_os_thread(g, p, t)
            elif k == S_UNLOCK:
                self.unlock_os_thread(g, t)
            elif k >= S_PRIMITIVE:  # mutex, waitgroup, ticker, select ... (engine.primitive_steps)
                if not self.primitive_steps[k](self, g, p, s, t):
                    return
            else:  # pragma: no cover - Step kinds are closed
                raise pg.ProgramError(f"unknown step {s!r}")

    def burst(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """A CPU step: start its burst (or go on with what a preemption left, ``g.rem``). True if
        it takes time (its end is an EV_CPU_DONE event), False if it is empty and done now.

        A burst with a stack of its own starts a new stretch in the timeline (Result.segments)
        and, if the stack changed, an entry in g's history (the goroutine dump shows it).
        """
        rem = g.rem
        if rem is None:
            rem = g.rem = s.ms
            if g.debt_ms:  # a futex wake it made (threads.wakep), with the OS layer
                rem = g.rem = rem + g.debt_ms
                self.futex_paid[g.name] = self.futex_paid.get(g.name, 0.0) + g.debt_ms
                g.debt_ms = 0.0
            self.begin_stretch(g, p, s, t)
        if rem <= 0:
            g.rem = None
            g.pc += 1
            return False
        if self.cores is not None and not self.cpu_take(p.m, g, t):
            return True  # its M waits for a CPU (cpus.py): the burst goes on when it has one
        end = g.cpu_end = t + rem
        g.token += 1  # a preemption mid-burst bumps it again, cancelling this event
        self.push(end, EV_CPU_DONE, g, g.token)
        return True

    def begin_stretch(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> None:
        """A step that runs on the CPU begins (a burst, a spin on a Flag): where its calls'
        prologues are (Step.call_gap), and its stack: a stack of its own starts a new stretch in the timeline and,
        if it changed, an entry in g's history."""
        g.call_gap = s.call_gap
        stack = s.stack or g.default_stack
        if stack != g.seg_stack:
            self.end_segment(g, p, t)
            g.seg_start = t
            g.seg_stack = stack
        if stack != g.stack:
            g.stack = stack
            flush_pending(g)  # (records.py, "Pending entries")
            g.history.extend((t, HISTORY_FULL, g.status, g.reason, stack, g.locked > 0))

    def lock_os_thread(self: Scheduler, g: G, p: P, t: float) -> None:
        """LockOSThread -> dolockOSThread (src/runtime/proc.go:5649): g and its M are wired together;
        nested calls count (m.lockedExt)."""
        g.locked += 1
        g.lockedm = p.m
        p.m.lockedg = g
        flush_pending(g)  # (records.py, "Pending entries")
        g.history.extend((t, HISTORY_FULL, g.status, g.reason, g.stack, True))

    def unlock_os_thread(self: Scheduler, g: G, t: float) -> None:
        """UnlockOSThread -> dounlockOSThread (src/runtime/proc.go:5701): the last unlock unwires g from its M."""
        if g.locked:
            g.locked -= 1
        if not g.locked and g.lockedm is not None:
            g.lockedm.lockedg = None
            g.lockedm = None
            flush_pending(g)  # (records.py, "Pending entries")
            g.history.extend((t, HISTORY_FULL, g.status, g.reason, g.stack, False))

    def park(
        self: Scheduler, g: G, p: P, t: float, reason: str, waits_on: str, hop: bool = False
    ) -> None:
        """gopark (src/runtime/proc.go:457) -> park_m (proc.go:4268): g stops running and waits;
        its M goes back to schedule(): the caller's schedule_after, or with ``hop`` (a channel
        operation, chan.py) here, at the cost of a hop, SCHEDULE_MS + CHAN_HANDOFF_MS.

        On the hot path (every blocking channel operation parks here): end_segment, set_status,
        log and a hop's schedule_after are in line, each the same as the function it stands for
        (see ``ready`` in runq.py for why, the checks that hold them equal and the time saved;
        schedule_after in line is one call fewer a hop, -2 % of a ping-pong's instructions).
        set_status's history entry goes in with g's pending ones, in one extend (records.py,
        "Pending entries"): a hop entry when g was readied and ran from t."""
        if t > g.seg_start:  # end_segment(g, p, t), in line
            self.segments.extend((p.id, g.name, g.seg_start, t, p.m.id, g.seg_stack))
        g.waits_on = waits_on
        g.p = None
        p.curg = None
        row = self.row
        old = g.status  # set_status(g, WAITING, t, reason), in line
        if old != DEAD:
            row[old] -= 1
        row[WAITING] += 1
        g.status = WAITING
        g.reason = reason
        run_t = g.run_t  # with its pending entries, if any (records.py, "Pending entries")
        if run_t is None:  # (written by a full entry since g ran: begin_stretch, lock_os_thread)
            g.history.extend((t, reason))  # a short entry (records.py)
        else:
            g.run_t = None
            ready_t = g.ready_t
            if ready_t is None:
                g.history.extend((run_t, RUNNING, t, reason))
            else:
                g.ready_t = None
                if run_t == t:  # readied, ran and parked: a hop entry (records.py)
                    g.history.extend((ready_t, HISTORY_HOP, t, reason))
                else:
                    g.history.extend((ready_t, RUNNABLE, run_t, RUNNING, t, reason))
        self.dirty = True
        self.events.extend((t, "park", p.id, g.name))  # log(t, "park", p, g), in line
        if not hop:
            return
        m = p.m  # schedule_after(p, t, SCHEDULE_MS + CHAN_HANDOFF_MS, CHAN_HANDOFF_MS), in line
        lg = m.lockedg
        if lg is not None and lg.status != DEAD and lg.status != RUNNING:
            self.stoplockedm(p, m, lg, t)
            return
        p.sched_from = t
        p.sched_g_extra = rt.CHAN_HANDOFF_MS
        at = p.sched_at = t + (rt.SCHEDULE_MS + rt.CHAN_HANDOFF_MS)
        held = self.held
        if held is not None:
            heappush(self.heap, held)
        self.held = (at, next(self.seq), EV_SCHED, p, 0)

    def gosched(self: Scheduler, g: G, p: P, t: float) -> None:
        """goschedImpl (src/runtime/proc.go:4322; Gosched and preemption): g to the *global*
        queue, wakep."""
        self.end_segment(g, p, t)
        g.p = None
        p.curg = None
        self.set_status(g, RUNNABLE, t)
        self.globrunqput(g, p)
        self.wakep(t)
        self.schedule_after(p, t, rt.SCHEDULE_MS)

    def preempt_now(self: Scheduler, g: G, p: P, t: float, cooperative: bool) -> None:
        """gopreempt_m / asyncPreempt (src/runtime/proc.go:4376 -> goschedImpl, 4322): g goes to
        the global queue. A burst it was in keeps its remaining CPU (``g.rem``, set by the
        caller)."""
        g.preempt = False
        self.stats["preemptions"] += 1
        if not cooperative:
            self.stats["async_preemptions"] += 1
        self.log(t, "preempt", p, g)
        self.gosched(g, p, t)

    def goexit(self: Scheduler, g: G, p: P, t: float) -> None:
        """goexit0 (src/runtime/proc.go:4506): the G is dead; a G that exits still locked takes
        its M with it (mexit) and its P is handed off."""
        self.end_segment(g, p, t)
        g.p = None
        p.curg = None
        self.set_status(g, DEAD, t)
        self.live -= 1
        self.finished[g.name] = t
        self.log(t, "exit", p, g)
        locked = g.lockedm is not None
        if locked:
            self.mexit(g, p, p.m, t)
        if self.live == 0:
            self.finish(t)
        elif locked:
            self.handoffp(p, t)
        else:
            self.schedule_after(p, t, rt.SCHEDULE_MS)

    def finish(self: Scheduler, t: float) -> None:
        """Every goroutine is done (or checkdead found them stuck): the model's main exits and
        the run ends at t."""
        self.done = True
        self.end_ms = t
        self.heap.clear()
        self.held = None
