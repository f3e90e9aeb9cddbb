"""sync.Mutex: normal mode (a woken waiter competes with new arrivals), spinning, and
starvation mode (the mutex is handed from Unlock straight to the first waiter).

In go1.27 sync.Mutex is a wrapper (src/sync/mutex.go:30-34, Lock at :45, Unlock at :64) around
internal/sync's Mutex, whose code this mirrors (src/internal/sync/mutex.go):

- ``Lock`` (mutex.go:61): the fast path takes an unlocked mutex with no waiters and no flags
  in one CAS (mutex.go:63);
- ``lockSlow`` (mutex.go:95): spin while the mutex is locked and not starving and
  runtime_canSpin(iter) allows (mutex.go:104; a spinner sets mutexWoken so that Unlock wakes
  nobody, mutex.go:108-110), then in one CAS take it, or count itself a waiter and, if it is
  starving and the mutex is locked, switch it to starvation mode (mutex.go:117-140); a waiter
  parks on the semaphore, at the head of the queue if it has waited before (mutex.go:145-149);
  woken, it is starving once it has waited more than starvationThresholdNs = 1 ms
  (mutex.go:55 and 150); in starvation mode the mutex was handed to it: it takes it, and leaves
  starvation mode if it is not starving or was the last waiter (mutex.go:152-170); otherwise
  it competes again (mutex.go:172-173);
- ``Unlock`` (mutex.go:187) and ``unlockSlow`` (mutex.go:202): unlocking an unlocked mutex is
  a fatal error (mutex.go:203-205); in normal mode wake one waiter unless there are none or one
  is already woken, spinning or has the lock (mutex.go:215-222); in starvation mode hand off
  with runtime_Semrelease(handoff=true) (mutex.go:232), which yields the P to the waiter
  (``sema.py``).

runtime_canSpin is ``internal_sync_runtime_canSpin`` (src/runtime/proc.go:7989): fewer than
active_spin = 4 spins (src/runtime/lock_spinbit.go:54), a multicore machine, another P running
(gomaxprocs > npidle + nmspinning + 1) and an empty local run queue (proc.go:7995-8000). A spin
is runtime_doSpin, procyield(active_spin_cnt = 30) (proc.go:8006-8007; lock_spinbit.go:55),
which takes MUTEX_SPIN_MS in the model (``runtime.py``). The model assumes more than one CPU
(it gives every M with a P a CPU).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_SPIN
from labkit.models.scheduler.sema import SemaState
from labkit.models.scheduler.state import G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler

#: starvationThresholdNs (internal/sync/mutex.go:55): 1e6 ns.
STARVATION_THRESHOLD_MS = 1.0
#: active_spin (src/runtime/lock_spinbit.go:54): runtime_canSpin allows at most 4 spins.
ACTIVE_SPIN = 4


class MutexState:
    """One Mutex's state word in one run (internal/sync/mutex.go:20-29: mutexLocked,
    mutexWoken, mutexStarving and the waiter count above mutexWaiterShift), its semaphore, and
    what the run counted."""

    __slots__ = (
        "name", "locked", "woken", "starving", "waiters", "sema", "acquired", "contended",
        "spins", "starvation_switches", "handoffs", "max_wait_ms",
    )  # fmt: skip

    def __init__(self, name: str) -> None:
        self.name = name
        self.locked = False
        self.woken = False
        self.starving = False
        self.waiters = 0
        self.sema = SemaState()
        self.acquired = 0
        self.contended = 0  # Lock calls that took lockSlow
        self.spins = 0
        self.starvation_switches = 0  # times a starving waiter set mutexStarving
        self.handoffs = 0  # Unlocks in starvation mode (runtime_Semrelease with handoff)
        self.max_wait_ms = 0.0  # the longest a lockSlow call took, from entry to the lock

    def stats(self) -> dict[str, float]:
        return {
            "acquired": self.acquired,
            "contended": self.contended,
            "spins": self.spins,
            "starvation_switches": self.starvation_switches,
            "handoffs": self.handoffs,
            "max_wait_ms": self.max_wait_ms,
        }


class LockSlow:
    """A lockSlow call in progress (its locals, internal/sync/mutex.go:96-100), kept on the G
    (``G.waiting``) while it spins or sleeps on the semaphore."""

    __slots__ = ("mu", "entered", "wait_start", "starving", "awoke", "iter", "lifo", "phase")

    def __init__(self, mu: MutexState, t: float) -> None:
        self.mu = mu
        self.entered = t
        self.wait_start: float | None = None  # waitStartTime (0 in Go: not queued yet)
        self.starving = False
        self.awoke = False
        self.iter = 0
        self.lifo = False
        self.phase = ""  # "spin" while a doSpin runs, "sema" while parked on the semaphore


class Mutexes:
    """The sync.Mutex part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def can_spin(self: Scheduler, p: P, i: int) -> bool:
        """internal_sync_runtime_canSpin (src/runtime/proc.go:7989): fewer than 4 spins, another
        P running, and nothing in this P's local run queue (runqempty: runnext included)."""
        if i >= ACTIVE_SPIN or self.gomaxprocs <= len(self.pidle) + self.nmspinning + 1:
            return False
        return p.runnext is None and not p.runq

    def mutex_lock(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """Mutex.Lock (internal/sync/mutex.go:61), then lockSlow (mutex.go:95). True when g holds
        the mutex; False when it spins (it comes back after MUTEX_SPIN_MS, event EV_SPIN) or
        parks on the semaphore (it comes back when woken), in both cases to this step."""
        ls = g.waiting
        if ls is None:
            mu = self.prim_state(s.obj, MutexState, "mutex")
            if not (mu.locked or mu.woken or mu.starving or mu.waiters):  # the fast path's CAS
                mu.locked = True
                mu.acquired += 1
                return True
            mu.contended += 1
            ls = g.waiting = LockSlow(mu, t)
        elif ls.phase == "spin":  # runtime_doSpin returned: iter++ and look again
            ls.phase = ""
            ls.iter += 1
        elif not self.sema_woken(g, ls.mu.sema):  # woken without the semaphore: queue again
            return self.mutex_park(g, p, ls, t)
        elif self.mutex_woken(g, ls, t):
            return True
        return self.lock_slow(g, p, ls, t)

    def lock_slow(self: Scheduler, g: G, p: P, ls: LockSlow, t: float) -> bool:
        """lockSlow's loop (internal/sync/mutex.go:101-177) from its top, at time t."""
        mu = ls.mu
        while True:
            # mutex.go:104: spin while it is locked (not starving) and canSpin allows
            if mu.locked and not mu.starving and self.can_spin(p, ls.iter):
                if not ls.awoke and not mu.woken and mu.waiters:  # mutex.go:108-110
                    mu.woken = True
                    ls.awoke = True
                ls.phase = "spin"
                mu.spins += 1
                g.token += 1
                self.push(t + rt.MUTEX_SPIN_MS, EV_SPIN, g, g.token)
                g.pc -= 1
                return False
            # mutex.go:117-140, one CAS (nothing else runs at this instant, so it succeeds)
            old_locked, old_starving = mu.locked, mu.starving
            if not old_starving:
                mu.locked = True
            if old_locked or old_starving:
                mu.waiters += 1
            if ls.starving and old_locked and not mu.starving:
                mu.starving = True
                mu.starvation_switches += 1
            if ls.awoke:
                if not mu.woken:  # mutex.go:135-137
                    raise AssertionError(f"t={t}: sync: inconsistent mutex state ({mu.name})")
                mu.woken = False
            if not (old_locked or old_starving):  # locked the mutex with CAS
                return self.mutex_acquired(g, ls, t)
            ls.lifo = ls.wait_start is not None  # mutex.go:145: waited before -> the head
            if ls.wait_start is None:
                ls.wait_start = t
            if not self.semacquire(
                g, p, mu.sema, ls.lifo, "sync.Mutex.Lock", f"{mu.name}.lock()", t
            ):
                ls.phase = "sema"
                g.pc -= 1
                return False
            if self.mutex_woken(g, ls, t):  # the count was there: semacquire returned at once
                return True

    def mutex_park(self: Scheduler, g: G, p: P, ls: LockSlow, t: float) -> bool:
        """semacquire1's loop (src/runtime/sema.go:179-196): woken without the semaphore, g
        queues again (with the same lifo) and parks."""
        mu = ls.mu
        if self.semacquire(g, p, mu.sema, ls.lifo, "sync.Mutex.Lock", f"{mu.name}.lock()", t):
            return self.mutex_woken(g, ls, t) or self.lock_slow(g, p, ls, t)
        ls.phase = "sema"
        g.pc -= 1
        return False

    def mutex_woken(self: Scheduler, g: G, ls: LockSlow, t: float) -> bool:
        """lockSlow after runtime_SemacquireMutex returned (internal/sync/mutex.go:150-173).
        True if the mutex was handed to g (starvation mode); else g competes again."""
        mu = ls.mu
        ls.phase = ""
        ls.starving = ls.starving or t - ls.wait_start > STARVATION_THRESHOLD_MS
        if mu.starving:  # ownership was handed off to g (mutex.go:152-170)
            if mu.locked or mu.woken or not mu.waiters:
                raise AssertionError(f"t={t}: sync: inconsistent mutex state ({mu.name})")
            last = mu.waiters == 1
            mu.locked = True
            mu.waiters -= 1
            if not ls.starving or last:  # exit starvation mode
                mu.starving = False
            return self.mutex_acquired(g, ls, t)
        ls.awoke = True
        ls.iter = 0
        return False

    def mutex_acquired(self: Scheduler, g: G, ls: LockSlow, t: float) -> bool:
        """lockSlow returns: g holds the mutex."""
        mu = ls.mu
        g.waiting = None
        mu.acquired += 1
        if t - ls.entered > mu.max_wait_ms:
            mu.max_wait_ms = t - ls.entered
        return True

    def mutex_unlock(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """Mutex.Unlock (internal/sync/mutex.go:187) and unlockSlow (mutex.go:202). False when
        g handed the mutex off and yielded its P (starvation mode)."""
        mu = self.prim_state(s.obj, MutexState, "mutex")
        if not mu.locked:
            self.misuse(
                g,
                s,
                t,
                'Go stops the program with "fatal error: sync: unlock of unlocked '
                'mutex" (src/internal/sync/mutex.go:204; fatal, recover cannot catch it)',
            )
        mu.locked = False
        if not mu.starving:
            # mutex.go:215: no waiters, or one already woken (or spinning) or holding it
            if not mu.waiters or mu.woken:
                return True
            mu.waiters -= 1
            mu.woken = True
            self.semrelease(g, p, mu.sema, False, t)
            return True
        mu.handoffs += 1
        return not self.semrelease(g, p, mu.sema, True, t)
