"""Runtime semaphores: how sync.Mutex and sync.WaitGroup park goroutines and wake them.

Mirrors src/runtime/sema.go: ``semacquire1`` (sema.go:146: take the count if it is positive,
else queue and park, and on waking take a handed-off ticket or the count, else queue again),
``semrelease1`` (sema.go:207: add to the count; if someone waits, dequeue the first waiter,
hand it the count directly when ``handoff`` (sema.go:260-262), ready it with goready, and when
it was handed off yield the P to it at once: goyield, sema.go:286), ``cansemacquire``
(sema.go:291), and the wait queue of one address (``semaRoot.queue`` sema.go:304, FIFO or, for
a Mutex waiter that has waited before, LIFO at the head, sema.go:319; ``dequeue`` sema.go:405
takes the head). ``goyield`` is proc.go:4466 (goyield_m, proc.go:4471: the yielding G goes to
the *local* run queue's tail, not the global one as Gosched).

A readied waiter goes where ``goready`` puts every woken G (ready(next=true), proc.go:1133):
the releasing P's runnext, so it inherits the time slice.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.state import RUNNABLE, G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class SemaState:
    """One semaphore address: its count (the uint32 the runtime's *addr is) and its waiters."""

    __slots__ = ("count", "waitq")

    def __init__(self) -> None:
        self.count = 0
        self.waitq: deque[G] = deque()  # the sudogs waiting on this address, head first


class Semaphores:
    """The semaphore part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def semacquire(
        self: Scheduler,
        g: G,
        p: P,
        sema: SemaState,
        lifo: bool,
        reason: str,
        waits_on: str,
        t: float,
    ) -> bool:
        """semacquire1 (src/runtime/sema.go:146) up to its gopark: True if g took the count
        (cansemacquire, the easy case), else g is queued (at the head if ``lifo``), parked
        with ``reason`` and its P schedules; it resumes in ``sema_woken``."""
        if sema.count > 0:
            sema.count -= 1
            return True
        g.ticket = False
        if lifo:
            sema.waitq.appendleft(g)
        else:
            sema.waitq.append(g)
        self.park(g, p, t, reason, waits_on)
        self.sema_parks.add((g.goid, t))  # a dump shows the semaphore's frames (Result)
        self.schedule_after(p, t, rt.SCHEDULE_MS)
        return False

    def sema_woken(self: Scheduler, g: G, sema: SemaState) -> bool:
        """The rest of semacquire1's loop once g runs again (sema.go:193): it has the
        semaphore if it was handed the ticket or can take the count; else it must queue again
        (the caller does, with the same lifo)."""
        if g.ticket:
            g.ticket = False
            return True
        if sema.count > 0:
            sema.count -= 1
            return True
        return False

    def semrelease(self: Scheduler, g: G, p: P, sema: SemaState, handoff: bool, t: float) -> bool:
        """semrelease1 (src/runtime/sema.go:207): count + 1; wake the first waiter, if any,
        into p's runnext (readyWithTime -> goready). With ``handoff`` the waiter is given the
        count (its ticket) and g yields its P to it at once (goyield): returns True then, and
        g is no longer running."""
        sema.count += 1
        if not sema.waitq:
            return False
        w = sema.waitq.popleft()
        ticket = handoff and sema.count > 0
        if ticket:
            sema.count -= 1
            w.ticket = True
        self.ready(w, p, t)
        if ticket:
            self.goyield(g, p, t)
        return ticket

    def goyield(self: Scheduler, g: G, p: P, t: float) -> None:
        """goyield -> goyield_m (src/runtime/proc.go:4466 and 4471): g to the tail of p's local
        run queue (runqput(pp, gp, false), no wakep), then schedule: the waiter just readied
        into runnext runs next, on g's time slice."""
        self.end_segment(g, p, t)
        g.p = None
        p.curg = None
        self.set_status(g, RUNNABLE, t)
        self.log(t, "yield", p, g)
        self.runqput(p, g, False)
        self.schedule_after(p, t, rt.SCHEDULE_MS)
