"""Threads (Ms), idle Ps, and handing a P from one M to another.

Mirrors, in src/runtime/proc.go: ``newm`` (proc.go:2875), ``stopm`` (proc.go:3007), ``startm``
(proc.go:3050), ``handoffp`` (proc.go:3146), ``wakep`` (proc.go:3227), ``resetspinning``
(proc.go:4036), ``stoplockedm`` (proc.go:3265) and ``startlockedm`` (proc.go:3293) for a G locked
to its thread (LockOSThread), ``mexit`` (proc.go:1999) for a locked G that exits, ``pidleget``
(proc.go:7453) and ``pidleput`` (proc.go:7424), and ``checkdead`` (proc.go:6418).

A woken M arrives THREAD_WAKE_MS after it was woken (a futex wake): with ``EV_STARTM`` it enters
schedule() with its P, with ``EV_STARTLOCKEDM`` it runs the G locked to it (events.py). With the
OS layer (``simulate(cores=n)``) a thread woken by one that goes on running (wakep's startm, a
netpoller broken by wakeNetPoller) arrives after a latency drawn from the recorded distribution
instead, a shorter one if it parked less than HALT_POLL_MS before (``thread_wake_ms``), and the
goroutine whose ready called wakep pays for the futex wake (``wakep``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.cpus import quantile_ms
from labkit.models.scheduler.events import EV_STARTLOCKEDM, EV_STARTM
from labkit.models.scheduler.state import (
    M_DEAD,
    M_IDLE,
    M_LOCKED_WAIT,
    M_WAKING,
    RUNNABLE,
    RUNNING,
    SYSCALL,
    WAITING,
    G,
    M,
    P,
)

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Threads:
    """The thread part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def newm(self: Scheduler) -> M:
        """newm (src/runtime/proc.go:2875): a new OS thread. Ms are never freed, except by a
        locked G's exit (mexit)."""
        m = M(len(self.ms))
        self.ms.append(m)
        self.add_threads(1)
        return m

    def startm(self: Scheduler, p: P, spinning: bool, t: float, waker_runs: bool = True) -> None:
        """startm (src/runtime/proc.go:3050): an idle M (or a new one) wakes and runs p; it
        arrives ``thread_wake_ms(waker_runs)`` later (EV_STARTM)."""
        if self.midle:
            m = self.midle.pop()
            parked_ms = t - m.seg_start  # (stopm opened its M_IDLE stretch)
        else:
            m = self.newm()
            parked_ms = None
        m.spinning = spinning
        m.p = p
        p.m = m
        p.idle = False
        self.m_state(m, t, M_WAKING)
        self.push(t + self.thread_wake_ms(waker_runs, parked_ms), EV_STARTM, m)

    def thread_wake_ms(
        self: Scheduler, waker_runs: bool = True, parked_ms: float | None = None
    ) -> float:
        """How long a parked thread takes from its futex wake (notewakeup -> futexwakeup,
        src/runtime/lock_futex.go:26, os_linux.go:85) to running Go code. Without an OS layer,
        THREAD_WAKE_MS. With ``cores=n`` and a waker that goes on running (``waker_runs``), a
        latency drawn from THREAD_WAKE_QUANTILES_MS (cpus.quantile_ms) with the OS layer's stream
        of the run's seed, recorded as a goroutine readied on a busy P waited for the idle P's
        thread: the kernel mostly runs the woken thread at once on the idle CPU (p50 31 us, p99
        76 us) but now and then queues it behind the waker until its slice ends (2.2 ms). A
        waker that blocks at once (handoffp: a syscall or a locked G giving its P away; startlockedm)
        frees its CPU and keeps THREAD_WAKE_MS, measured by such hand-offs (locked_pingpong).

        A thread parked (``parked_ms``) less than HALT_POLL_MS ago is woken from
        THREAD_REWAKE_QUANTILES_MS instead: its CPU has not gone to sleep yet, and about half
        such wake-ups take 1-6 us (a new thread, ``parked_ms`` None, is no such wake-up)."""
        if self.cores is None or not waker_runs:
            return rt.THREAD_WAKE_MS
        if parked_ms is not None and parked_ms < rt.HALT_POLL_MS:
            return quantile_ms(rt.THREAD_REWAKE_QUANTILES_MS, self.os_rng.random())
        return quantile_ms(rt.THREAD_WAKE_QUANTILES_MS, self.os_rng.random())

    def stopm(self: Scheduler, m: M, t: float) -> None:
        """stopm (src/runtime/proc.go:3007): the M parks on the idle list."""
        m.p = None
        m.curg = None
        m.spinning = False
        self.m_state(m, t, M_IDLE)
        self.midle.append(m)

    def wakep(self: Scheduler, t: float, waker: G | None = None) -> None:
        """wakep (src/runtime/proc.go:3227): start one spinning M if none spins and a P is idle.
        (ready, runq.py, makes this first test itself before calling, on the hot path: a change
        here is a change there.)

        With the OS layer, the futex wake (startm -> notewakeup -> futexwakeup, a futex(2)
        system call, src/runtime/os_linux.go:85) costs the thread that makes it
        FUTEX_WAKE_QUANTILES_MS, drawn: a ``waker`` G that goes on running (a channel operation
        or newproc that readied a G) owes it, and its next CPU step lasts that much longer
        (``G.debt_ms``, goroutine.burst; one that parks at once pays when it next computes, so
        the CPU is counted even where its moment is not). A ready made inside schedule() (a
        timer fired in findRunnable) has no such G and costs nothing here."""
        if self.nmspinning != 0 or not self.pidle:
            return
        self.nmspinning += 1
        p = self.pidleget()
        self.stats["wakeps"] += 1
        self.startm(p, True, t)
        if waker is not None and self.cores is not None:
            waker.debt_ms += quantile_ms(rt.FUTEX_WAKE_QUANTILES_MS, self.os_rng.random())

    def resetspinning(self: Scheduler, m: M, t: float) -> None:
        """resetspinning (src/runtime/proc.go:4036): a spinning M found work; the last one to
        stop spinning wakes another (wakep), so that idle Ps keep looking."""
        m.spinning = False
        self.nmspinning -= 1
        if self.nmspinning == 0:
            self.wakep(t)

    def pidleget(self: Scheduler) -> P:
        """pidleget (src/runtime/proc.go:7453): take the P at the head of the idle list (LIFO)."""
        p = self.pidle.pop()
        p.idle = False
        return p

    def pidleput(self: Scheduler, p: P, t: float) -> None:
        """pidleput (src/runtime/proc.go:7424): p goes on the idle list; with every P idle,
        checkdead."""
        p.idle = True
        p.m = None
        p.curg = None
        self.pidle.append(p)
        if len(self.pidle) == self.gomaxprocs:
            self.checkdead(t)

    def handoffp(self: Scheduler, p: P, t: float) -> None:
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
            self.startm(p, False, t, waker_runs=False)
            return
        if self.nmspinning + len(self.pidle) == 0:
            self.nmspinning += 1
            self.startm(p, True, t, waker_runs=False)
            return
        if len(self.pidle) == self.gomaxprocs - 1 and self.lastpoll is not None:
            self.startm(p, False, t, waker_runs=False)
            return
        when = p.timers[0][0] if p.timers else None
        self.pidleput(p, t)
        if when is not None:
            self.wake_netpoller(when, t)

    def stoplockedm(self: Scheduler, p: P, m: M, lg: G, t: float) -> None:
        """stoplockedm (src/runtime/proc.go:3265): m's locked G ``lg`` blocked, so m may run
        nothing else: its P is handed off (handoffp) and m waits for lg to be runnable."""
        m.p = None
        m.curg = None
        p.m = None
        self.m_state(m, t, M_LOCKED_WAIT, lg)
        self.stats["locked_handoffs"] += 1
        self.log(t, "handoff", p, lg)
        self.handoffp(p, t)

    def startlockedm(self: Scheduler, g: G, p: P, m: M, t: float) -> None:
        """startlockedm (src/runtime/proc.go:3293): schedule() on m found g, which is locked to
        another thread: hand p to g's thread (a futex wake; it runs g on arrival,
        EV_STARTLOCKEDM) and stop m."""
        lm = g.lockedm
        self.stopm(m, t)
        lm.p = p
        p.m = lm
        p.curg = g
        g.p = p
        self.stats["locked_handoffs"] += 1
        self.log(t, "handoff", p, g)
        self.m_state(lm, t, M_WAKING, g)
        self.push(t + rt.THREAD_WAKE_MS, EV_STARTLOCKEDM, lm)

    def mexit(self: Scheduler, g: G, p: P, m: M, t: float) -> None:
        """mexit (src/runtime/proc.go:1999) from goexit0: a G that exits still locked takes its
        thread with it; the thread count drops, and the caller hands p off."""
        m.lockedg = None
        g.lockedm = None
        m.p = None
        p.m = None
        self.m_state(m, t, M_DEAD)
        self.add_threads(-1)

    def checkdead(self: Scheduler, t: float) -> None:
        """checkdead (src/runtime/proc.go:6418): every P idle, nothing runnable, in a syscall, on
        a timer or on the network, yet goroutines remain: "all goroutines are asleep -
        deadlock!"."""
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
        self.finish(t)
