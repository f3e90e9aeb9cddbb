"""Timers: each P's heap of sleeping Gs, and who fires them.

Mirrors ``timeSleep`` (src/runtime/time.go:335) and ``timer.maybeAdd`` (time.go:684), where a
sleeping G parks and arms its timer; ``(*timers).check`` (time.go:982) with ``(*timers).run``
(time.go:1047) and ``unlockAndRun`` (time.go:1092) -> ``goroutineReady`` (time.go:446), which fire it;
and ``timeSleepUntil`` (time.go:1284) / ``checkTimersNoP`` (src/runtime/proc.go:3939).
A timer fires only when its own P schedules (findRunnable, proc.go:3430), when a thief runs it in
stealWork (proc.go:3850), or when the netpoller wakes for it; each fired timer costs
TIMER_FIRE_MS, after which the P comes back to findRunnable.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_SCHED
from labkit.models.scheduler.state import G, P
from labkit.models.scheduler.timerchan import TimerChan

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Timers:
    """The timer part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def any_timers(self: Scheduler) -> bool:
        """Some P has a timer pending (checkdead and findRunnable's netpoll decision ask)."""
        return any(p.timers for p in self.ps)

    def earliest_timer(self: Scheduler) -> float | None:
        """timeSleepUntil (src/runtime/time.go:1284) / checkTimersNoP (src/runtime/proc.go:
        3939): the soonest timer over all Ps."""
        whens = [p.timers[0][0] for p in self.ps if p.timers]
        return min(whens) if whens else None

    def sleep_until(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """time.Sleep(time.Until(deadline)) (``programs.sleep_until``): the G parks for the time
        left to its deadline (timeSleep, src/runtime/time.go:335), jumping over the call's CPU
        step that follows in its code; a deadline already past returns at once (time.go:336-338:
        ns <= 0), and the G walks on into that step. A primitive step (``primitive_steps``):
        True to walk on, False when g parked."""
        left_ms = s.ms - t
        if left_ms <= 0:
            return True
        g.pc += 1  # the call's SLEEP_NOOP_MS step is only for a deadline already past
        self.time_sleep(g, p, t, "sleep", f"time.Sleep({left_ms:g} ms, until {s.ms:g} ms)", left_ms)
        return False

    def add_timer(self: Scheduler, p: P, g: G, when: float, t: float) -> None:
        """timer.maybeAdd (src/runtime/time.go:684): a sleeping G's timer goes on its own P's
        heap; one earlier than the heap's first wakes the poller (wakeNetPoller)."""
        if p.zombies:  # maybeAdd's cleanHead (time.go:706)
            self.clean_head(p)
        earliest = p.timers[0][0] if p.timers else None
        heapq.heappush(p.timers, (when, next(self.seq), g))
        if earliest is None or when < earliest:
            self.wake_netpoller(when, t)

    def run_timers(self: Scheduler, src: P, dst: P, t: float) -> int:
        """(*timers).check (src/runtime/time.go:982) -> unlockAndRun: fire src's expired timers.
        A timer fires only when its own P schedules (findRunnable, src == dst) or when a thief
        runs it in stealWork; goroutineReady puts each G into dst's runnext (dst is the P
        running the timers). A timer channel's timer runs too (timerchan.py; a zombie is only
        deleted, and does not count). Returns how many fired."""
        n = 0
        while src.timers and src.timers[0][0] <= t:
            _, _, g = heapq.heappop(src.timers)
            if g.__class__ is TimerChan:
                fired = self.timer_chan_fire(g, src, dst, t)
                if fired:
                    n += 1
                    self.stats["timers_fired"] += 1
                continue
            n += 1
            self.stats["timers_fired"] += 1
            self.ready(g, dst, t)
        return n

    def fire_then_retry(self: Scheduler, src: P, p: P, t: float) -> int:
        """Run src's expired timers onto p, then come back to findRunnable after their cost.
        Returns how many fired; with none (only zombies deleted) nothing is scheduled and the
        caller goes on ((*timers).check reports ran=false)."""
        n = self.run_timers(src, p, t)
        if n:
            p.sched_from = t
            p.sched_g_extra = 0.0  # (*timers).check runs on the M's g0 stack
            at = p.sched_at = t + n * rt.TIMER_FIRE_MS
            self.push(at, EV_SCHED, p)
        return n

    def time_sleep(
        self: Scheduler, g: G, p: P, t: float, reason: str, waits_on: str, ms: float
    ) -> None:
        """timeSleep (src/runtime/time.go:335): g parks and its timer is armed on its P's heap
        (resetForSleep -> maybeAdd, time.go:684); the switch costs TIMER_ARM_MS more."""
        self.park(g, p, t, reason, waits_on)
        self.add_timer(p, g, t + ms, t)
        self.schedule_after(p, t, rt.TIMER_ARM_MS + rt.SCHEDULE_MS)
