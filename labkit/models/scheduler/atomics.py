"""An atomic flag and a goroutine that spins on it: CPU time with no scheduling point.

``for !f.Load() {}`` compiles to a loop of plain loads: sync/atomic's loads are aliases of
internal/runtime/atomic.Load (src/cmd/compile/internal/ssagen/intrinsics.go:1299-1305), an
intrinsic (intrinsics.go:251), a MOV on amd64; ``f.Store(true)`` is an intrinsic store as well.
Neither calls into the runtime, so neither parks, readies or yields anyone. The spinner holds
its P until the flag is set, or until it is preempted: a loop that calls nothing is stopped
only by asynchronous preemption (sysmon's preemptone -> preemptM, src/runtime/proc.go:6917
and signal_unix.go:369); with it off (GODEBUG=asyncpreemptoff=1, or Go <= 1.13) and one P,
the goroutine that would set the flag never runs. A loop that calls a function also stops at
that call's stack check (newstack, src/runtime/stack.go:1122). Preempted, the spinner goes to
the global queue like any other (gopreempt_m) and, back on a P, loads the flag again.

In the model a spinning G is in a CPU burst without an end (``g.rem`` is infinite); a ``set()``
ends the bursts of the spinners that are running, at once (a load sees the store), and a
spinner that was not running sees the flag when it next runs its step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler.events import EV_CPU_DONE
from labkit.models.scheduler.state import RUNNING, G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class FlagState:
    """One Flag's value in one run, and the goroutines spinning on it (each with the burst
    token it spins under)."""

    __slots__ = ("name", "value", "spinners", "stores", "spin_starts")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value = False
        self.spinners: list[tuple[G, int]] = []
        self.stores = 0
        self.spin_starts = 0  # times a goroutine started (or, after preemption, resumed) spinning

    def stats(self) -> dict[str, int]:
        return {"value": int(self.value), "stores": self.stores, "spin_starts": self.spin_starts}


class Atomics:
    """The atomic-flag part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def flag_store(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """``f.Store(v)``: no scheduling; the running spinners see true at once (their bursts
        end now: EV_CPU_DONE takes them past their spin step)."""
        fl = self.prim_state(s.obj, FlagState, "flag")
        fl.stores += 1
        fl.value = bool(s.n)
        if fl.value and fl.spinners:
            for w, token in fl.spinners:
                if w.token == token and w.status == RUNNING:
                    w.cpu_end = t
                    self.push(t, EV_CPU_DONE, w, token)
            fl.spinners = []
        return True

    def flag_spin(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """``for !f.Load() {}``: on when the flag is set; else a burst without end, which a set()
        or a preemption ends (a preempted spinner comes back to this step)."""
        fl = self.prim_state(s.obj, FlagState, "flag")
        g.rem = None  # a preempted spin's infinite remainder: the loop simply loads again
        if fl.value:
            return True
        g.pc -= 1
        self.begin_stretch(g, p, s, t)
        g.rem = math.inf
        if self.cores is not None and not self.cpu_take(p.m, g, t):
            return False  # its M waits for a CPU (cpus.py); the spin starts when it has one
        g.cpu_end = math.inf
        g.token += 1
        fl.spinners.append((g, g.token))
        fl.spin_starts += 1
        return False
