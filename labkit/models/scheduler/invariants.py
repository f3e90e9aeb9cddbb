"""The model's own bookkeeping, checked: what must hold after every event of a run.

Every live G is in exactly one place that matches its status (a P's runnext, local queue, timers
or current G, the global queue, a channel's queue, a semaphore's queue, a select's sudogs (all
in the queues of its channels), the netpoller's ready list, or nowhere while in a syscall, on
the network or in ``select {}``), the state row kept in place equals the row counted from scratch
(``records.recount``), idle Ps hold nothing, and no more Ms spin than findRunnable and wakep allow
(src/runtime/proc.go:3532 and 3227), and each G's history, expanded (``records.history_entries``),
ends with the G as it is. The property tests (tests/test_sched_properties.py) call
``check_invariants`` after every event; O(goroutines), so never in normal runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.records import history_entries, recount, written_history
from labkit.models.scheduler.selectgo import SelState, Sudog
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
            # The short entries take their stack and locked flag from the entry before them
            # (records.py, "A G's history"): a writer that changed either without a full entry
            # shows here; so does a pending entry (records.py) left on a G that went on (its
            # status comes after the G's).
            last = history_entries(written_history(g))[-1][1:]
            if last != [g.status, g.reason, g.stack, g.locked > 0]:
                fail(f"{g.name}'s history ends with {last}, not its state")
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
            if (
                g.status == WAITING
                and place is None
                and g.reason not in ("IO wait", "select (no cases)")
            ):
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
        if self.cores is not None:
            self.check_cpus(fail)

    def check_cpus(self: Scheduler, fail: Callable[[str], NoReturn]) -> None:
        """The OS layer (cpus.py): never more than ``cores`` Ms on a CPU; a CPU is free only
        while no M waits; an M is on a CPU or queued for one, not both; a goroutine whose M has
        no CPU makes no progress (it is stalled, its pending burst events void)."""
        holders, waiting = self.cpu_holders, list(self.cpu_wait)
        if len(holders) + self.cpu_free != self.cores or len(holders) > self.cores:
            fail(f"{len(holders)} Ms on a CPU and {self.cpu_free} free of {self.cores} cores")
        if self.cpu_free and waiting:
            fail(f"a CPU is free while {len(waiting)} Ms wait for one")
        for m in self.ms:
            if m.on_cpu != (m in holders) or m.cpu_waiting != (m in waiting):
                fail(f"M{m.id}'s on_cpu / cpu_waiting disagree with the OS layer's lists")
            if m.on_cpu and m.cpu_waiting:
                fail(f"M{m.id} is on a CPU and queued for one")
        for p in self.ps:
            g, m = p.curg, p.m
            if g is None or m is None or g.status != RUNNING or g.rem is None:
                continue
            if not m.on_cpu and m.stalled is not g:
                fail(f"{g.name} is in a burst on M{m.id}, which has no CPU, yet not stalled")

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
            zombies = 0
            for _, _, g in p.timers:
                if g.__class__ is G:
                    put(g, f"P{p.id}.timers")
                elif g.heap_p is not p:  # a timer channel's timer (timerchan.py)
                    fail(f"timer {g.name} in P{p.id}'s heap says it is in another")
                else:
                    zombies += g.zombie
            if zombies != p.zombies:
                fail(f"P{p.id} counts {p.zombies} zombie timers, its heap has {zombies}")
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
        chans = {id(st): st for st in self.chans.values()}
        for tcs in self.prims.values():
            if isinstance(tcs, list):  # a ticker's timer channels
                chans.update((id(tc.chan), tc.chan) for tc in tcs)
        selects = {}
        for g in self.gs:
            sel = g.waiting
            if sel.__class__ is SelState and not sel.done:
                selects[id(sel)] = sel
                chans.update((id(sg.st), sg.st) for sg in sel.sudogs)  # time.After's too
        for st in chans.values():
            sel_sudogs = 0
            for place, q in (("chan sendq", st.sendq), ("chan recvq", st.recvq)):
                for w in q:
                    if w.__class__ is Sudog:
                        sel_sudogs += 1
                        if not w.queued:
                            fail(f"{w.g.name}'s sudog on {st.name} is queued but says not")
                        continue
                    put(w, place)
            if sel_sudogs != st.sel:
                fail(f"{st.name} counts {st.sel} select sudogs, its queues hold {sel_sudogs}")
        for sel in selects.values():
            if not all(sg.queued for sg in sel.sudogs):
                fail(f"{sel.g.name}'s select is not done but a sudog of it was dequeued")
            put(sel.g, "select")
        for st in self.syncs.values():
            sema = getattr(st, "sema", None)
            for g in sema.waitq if sema is not None else ():
                put(g, f"sema of {st.name}")
        for g in self.net_ready:
            put(g, "netpoll ready")
        return where
