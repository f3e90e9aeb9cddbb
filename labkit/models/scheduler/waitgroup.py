"""sync.WaitGroup: a counter, and the goroutines parked on its semaphore until it is zero.

Mirrors src/sync/waitgroup.go: ``Add`` (waitgroup.go:77: the counter moves by delta; below
zero it panics, waitgroup.go:117-119; when it reaches zero with waiters, the state is reset and
the semaphore released once per waiter, waitgroup.go:135-143, each semrelease readying one
waiter into the releasing P's runnext), ``Done`` (waitgroup.go:155, Add(-1)) and ``Wait``
(waitgroup.go:160: return if the counter is zero, else count a waiter and
runtime_SemacquireWaitGroup, waitgroup.go:206, which parks with waitReasonSyncWaitGroupWait,
src/runtime/sema.go:108-115; on return the state must still be zero, waitgroup.go:207-214).

Because each release puts its waiter in runnext and kicks the previous one to the tail of the
local queue (runqput), three waiters W1, W2, W3 released by one Done run W3, W1, W2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler.sema import SemaState
from labkit.models.scheduler.state import G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class WaitGroupState:
    """One WaitGroup's state in one run: the counter (v) and waiter count (w) of wg.state, and
    its semaphore."""

    __slots__ = ("name", "v", "w", "sema", "waits", "releases")

    def __init__(self, name: str) -> None:
        self.name = name
        self.v = 0
        self.w = 0
        self.sema = SemaState()
        self.waits = 0  # Wait calls that parked
        self.releases = 0  # waiters released by Add reaching zero

    def stats(self) -> dict[str, int]:
        return {"counter": self.v, "waits_parked": self.waits, "waiters_released": self.releases}


class WaitGroups:
    """The WaitGroup part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def wg_add(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """WaitGroup.Add (src/sync/waitgroup.go:77); Done is Add(-1). (Its "Add called
        concurrently with Wait" panics, waitgroup.go:120-133, cannot happen here: one step
        runs at a time, and a counter that reaches zero releases its waiters in that step.)"""
        wg = self.prim_state(s.obj, WaitGroupState, "wg")
        delta = s.n
        wg.v += delta
        if wg.v < 0:
            self.misuse(
                g,
                s,
                t,
                'Go panics with "sync: negative WaitGroup counter" '
                "(src/sync/waitgroup.go:118): more Done calls than Add",
            )
        if wg.v > 0 or wg.w == 0:
            return True
        waiters, wg.w = wg.w, 0
        wg.releases += waiters
        for _ in range(waiters):
            self.semrelease(g, p, wg.sema, False, t)
        return True

    def wg_wait(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """WaitGroup.Wait (src/sync/waitgroup.go:160): at once if the counter is zero, else
        count a waiter and park on the semaphore ("sync.WaitGroup.Wait")."""
        wg = self.prim_state(s.obj, WaitGroupState, "wg")
        if g.waiting is wg:  # woken by a release: the rest of semacquire1's loop
            if not self.sema_woken(g, wg.sema):
                return self.wg_park(g, p, s, wg, t)
            g.waiting = None
            return self.wg_returned(g, s, wg, t)
        if wg.v == 0:
            return True
        wg.w += 1
        wg.waits += 1
        return self.wg_park(g, p, s, wg, t)

    def wg_park(self: Scheduler, g: G, p: P, s: pg.Step, wg: WaitGroupState, t: float) -> bool:
        """runtime_SemacquireWaitGroup (src/runtime/sema.go:108): semacquire1 with
        waitReasonSyncWaitGroupWait; a parked g stays at its Wait step until it is woken."""
        if self.semacquire(g, p, wg.sema, False, "sync.WaitGroup.Wait", repr(s), t):
            return self.wg_returned(g, s, wg, t)
        g.waiting = wg
        g.pc -= 1
        return False

    def wg_returned(self: Scheduler, g: G, s: pg.Step, wg: WaitGroupState, t: float) -> bool:
        """Wait after its semacquire (src/sync/waitgroup.go:207-214): the state must still be
        zero, or the WaitGroup was reused before this Wait returned."""
        if wg.v or wg.w:
            self.misuse(
                g,
                s,
                t,
                'Go panics with "sync: WaitGroup is reused before previous Wait has '
                'returned" (src/sync/waitgroup.go:213): Add was called again before this '
                "waiter ran",
            )
        return True
