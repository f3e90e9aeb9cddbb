"""The operating system's share of the CPUs: ``cores`` CPUs time-shared between the Ms.

Go's scheduler hands Ps to Ms; whether an M's thread is on a CPU is the kernel's business. With
``simulate(..., cores=None)`` (the default) the model gives every M a CPU of its own, as on a
machine with at least as many CPUs as busy threads. With ``cores=n`` at most n Ms run Go code at
once, and when more want to, the OS layer shares the CPUs round robin:

- an M asks for a CPU when one of its goroutines starts (or resumes) a CPU burst
  (``goroutine.burst``, a Flag spin): with a CPU free it takes one, else its goroutine's burst
  waits, stalled where it is, in a FIFO queue of Ms (the kernel's run queue);
- an M keeps its CPU across goroutine switches on its P (the thread goes on running) and gives
  it up when it stops running Go code: it parks (stopm), blocks in a syscall, in netpoll, or
  waits for its locked goroutine (``records.m_state`` leaving M_RUN);
- while Ms wait, an M that has had its CPU for a slice, OS_SLICE_MS, is put at the queue's tail
  and the head gets the CPU (event ``EV_SLICE``): round robin, a stand-in for Linux's fair
  scheduler, which picks the runnable task with the earliest virtual deadline and ends a
  running task's slice at the scheduler tick (EEVDF, kernel/sched/fair.c: update_curr ->
  update_deadline -> resched_curr); with a few equal CPU-bound threads per CPU that is a turn
  each, a tick long. A waiting M that is handed a CPU resumes its goroutine's burst (event
  ``EV_CPU_GRANT``).

A goroutine whose M waits for a CPU is still running as Go sees it (_Grunning: sysmon's retake
counts its time slice in wall time and asks it to stop; the request is honoured as soon as the
thread runs again, as a signal or a prologue would be), but it makes no progress and its
stretch in ``Result.segments`` is cut: segments are CPU time, so ``Result.cpu_ms()`` equals
what the program asked for (``programs.cpu_demand_ms``) and no more than ``cores`` segments
overlap. Left out: the CPU the runtime itself spends (schedule(), a spinning M looking for
work, sysmon) is not gated, and there are no other processes on the machine; the thread view
(``Result.thread_segments``) shows a waiting M as running.

Deterministic: the queue is FIFO and ties are broken by the event kernel's order.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_CPU_DONE, EV_CPU_GRANT, EV_SLICE
from labkit.models.scheduler.state import RUNNING, G, M

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


def quantile_ms(table: tuple[tuple[float, float], ...], u: float) -> float:
    """The value at quantile ``u`` (0 <= u < 1) of a table of (level, ms) pairs with levels rising
    from 0 to 1, linear between them: a draw from the recorded distribution for a uniform u
    (inverse transform sampling; thread wake-ups, THREAD_WAKE_QUANTILES_MS)."""
    i = bisect.bisect_right(table, u, key=lambda row: row[0])
    if i >= len(table):
        return table[-1][1]
    (lo, a), (hi, b) = table[i - 1], table[i]
    return a + (u - lo) / (hi - lo) * (b - a)


class Cpus:
    """The OS layer of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def cpu_take(self: Scheduler, m: M, g: G, t: float) -> bool:
        """g, on m, starts a burst at t: True if m has a CPU (or gets a free one), False if g's
        burst waits for m's turn (m joins the queue; g is stalled until ``on_cpu_grant``)."""
        if m.on_cpu:
            return True
        if not m.cpu_waiting and self.cpu_free:
            self.cpu_free -= 1
            self.cpu_hold(m, t)
            return True
        if not m.cpu_waiting:
            m.cpu_waiting = True
            self.cpu_wait.append(m)
            for h in self.cpu_holders:
                self.arm_slice(h, t)
        self.stall(m, g, t)
        return False

    def stall(self: Scheduler, m: M, g: G, t: float) -> None:
        """g's burst stops progressing at t (its M has no CPU): its remaining CPU (g.rem, set by
        the caller) is kept, its pending events cancelled, and its stretch in the timeline cut."""
        g.token += 1
        self.end_segment(g, g.p, t)
        g.seg_start = math.inf
        m.stalled = g

    def cpu_hold(self: Scheduler, m: M, t: float) -> None:
        """m is on a CPU from t, for a slice."""
        m.on_cpu = True
        m.slice_end = t + rt.OS_SLICE_MS
        m.cpu_token += 1
        self.cpu_holders.append(m)
        if self.cpu_wait:
            self.arm_slice(m, t)

    def arm_slice(self: Scheduler, m: M, t: float) -> None:
        """Ms wait: m's slice ends at slice_end (or now, if it has run past it alone)."""
        if not m.slice_armed:
            m.slice_armed = True
            self.push(max(m.slice_end, t), EV_SLICE, m, m.cpu_token)

    def on_slice(self: Scheduler, m: M, t: float) -> None:
        """EV_SLICE: m's slice is over. With Ms waiting it goes to the queue's tail (its
        goroutine's burst stalls) and the head gets the CPU; else it runs on, a new slice."""
        m.slice_armed = False
        if not self.cpu_wait:
            m.slice_end = t + rt.OS_SLICE_MS
            return
        p = m.p
        g = None if p is None else p.curg
        if g is not None and g.status == RUNNING and g.rem is not None and m.stalled is None:
            if g.rem != math.inf:  # (a Flag spin has no end: it looks again when it resumes)
                g.rem = max(g.cpu_end - t, 0.0)
            self.stall(m, g, t)
        self.cpu_drop(m)
        m.cpu_waiting = True
        self.cpu_wait.append(m)
        self.cpu_pass(t)

    def cpu_drop(self: Scheduler, m: M) -> None:
        m.on_cpu = False
        m.slice_armed = False
        m.cpu_token += 1  # its slice event, if any, is void
        self.cpu_holders.remove(m)

    def cpu_pass(self: Scheduler, t: float) -> None:
        """A CPU is free at t: the M at the head of the queue gets it; its stalled goroutine
        resumes at once (EV_CPU_GRANT, so that nothing runs inside the caller's step)."""
        if not self.cpu_wait:
            self.cpu_free += 1
            return
        m = self.cpu_wait.popleft()
        m.cpu_waiting = False
        self.cpu_hold(m, t)
        if m.stalled is not None:
            self.push(t, EV_CPU_GRANT, m, m.cpu_token)

    def cpu_release(self: Scheduler, m: M, t: float) -> None:
        """m stops running Go code (it parks, blocks in a syscall or netpoll, waits for its
        locked G): its CPU goes to the next M in the queue, or it leaves the queue."""
        if m.on_cpu:
            self.cpu_drop(m)
            self.cpu_pass(t)
        elif m.cpu_waiting:
            self.cpu_wait.remove(m)
            m.cpu_waiting = False

    def on_cpu_grant(self: Scheduler, m: M, t: float) -> None:
        """EV_CPU_GRANT: m is on a CPU again; its stalled goroutine goes on. A preemption request
        that came meanwhile is honoured now if a signal or a prologue can take it (preemptone,
        ``sysmon.py``); a Flag spin looks at its flag again."""
        g = m.stalled
        if g is None or not m.on_cpu:
            return
        m.stalled = None
        p = g.p
        g.seg_start = t
        gap = g.call_gap
        if g.preempt and (not gap or self.async_preempt) and not self.in_op(g):
            self.preempt_now(g, p, t, cooperative=not gap)
        elif g.rem == math.inf:
            g.rem = None
            self.run(g, p, t)
        else:
            end = g.cpu_end = t + g.rem
            g.token += 1
            self.push(end, EV_CPU_DONE, g, g.token)
            if g.preempt and gap != math.inf and not self.in_op(g):
                self.prologue_stop(g, t)
