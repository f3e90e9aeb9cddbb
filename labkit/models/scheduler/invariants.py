"""The model's own bookkeeping, checked: what must hold after every event of a run.

Every live G is in exactly one place that matches its status (a P's runnext, local queue, timers
or current G, the global queue, a channel's queue, the netpoller's ready list, or nowhere while
in a syscall or on the network), the state row kept in place equals the row counted from scratch
(``records.recount``), idle Ps hold nothing, and no more Ms spin than findRunnable and wakep allow
(src/runtime/proc.go:3532 and 3227). The property tests (tests/test_sched_properties.py) call
``check_invariants`` after every event; O(goroutines), so never in normal runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.records import recount
from labkit.models.scheduler.state import DEAD, RUNNABLE, RUNNING, SYSCALL, WAITING, G

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler


class Invariants:
    """The self-check of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def check_invariants(self: Scheduler) -> None:
        """Raise AssertionError, naming the time and what is wrong, if the model's bookkeeping is
        inconsistent (see the module's docstring)."""

        def fail(msg: str) -> NoReturn:
            raise AssertionError(f"t={self.now}: {msg}")

        where = self.g_places(fail)
        live = 0
        for g in self.gs:
            if g.status == DEAD:
                if g.name in where:
                    fail(f"dead {g.name} is in {where[g.name]}")
                continue
            live += 1
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
        expected = recount(self)
        if self.row != expected:
            fail(f"the state row {self.row} != {expected}, counted from scratch")
        if live != self.live:
            fail(f"live {self.live} != {live}")
        spinning = sum(1 for m in self.ms if m.spinning)
        if spinning != self.nmspinning:
            fail(f"nmspinning {self.nmspinning} != spinning Ms {spinning}")
        busy = self.gomaxprocs - len(self.pidle)
        if self.nmspinning > busy:  # each spinning M holds a P (wakep, findRunnable)
            fail(f"{self.nmspinning} spinning Ms for {busy} busy Ps")

    def g_places(self: Scheduler, fail: Callable[[str], NoReturn]) -> dict[str, str]:
        """Where each G that is somewhere is (by name), failing if one is in two places or a P is
        inconsistent."""
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
            if len(p.runq) > rt.LOCAL_RUNQ_SIZE:
                fail(f"P{p.id} local queue over {rt.LOCAL_RUNQ_SIZE}")
        for g in self.grunq:
            put(g, "global runq")
        for st in self.chans.values():
            for g in st.sendq:
                put(g, "chan sendq")
            for g in st.recvq:
                put(g, "chan recvq")
        for g in self.net_ready:
            put(g, "netpoll ready")
        return where
