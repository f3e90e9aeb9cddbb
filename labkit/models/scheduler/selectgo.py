"""select: poll the cases in a random order, else wait on all of them at once.

Mirrors ``selectgo`` (src/runtime/select.go:122):

1. the poll order is a random permutation of the cases, drawn with cheaprandn from the run's
   generator (select.go:167-195; a timer channel's timer is run first if due, maybeRunChan,
   select.go:187-189), and the lock order sorts them by channel address (select.go:206-240;
   in the model the order the run made the channels);
2. pass 1 takes the first case in poll order that can go on now: a waiting sender or a buffered
   value for a receive, a waiting receiver or buffer room for a send (select.go:264-301);
3. with none, ``default`` runs (select.go:303-307); without one, pass 2 enqueues a sudog on
   every channel, in lock order (select.go:309-342), and the goroutine parks with
   waitReasonSelect (select.go:351);
4. the first channel operation that dequeues one of its sudogs wins (selectDone, in
   ``waitq.dequeue``, src/runtime/chan.go:872-905: a sudog whose select is already done is
   skipped) and readies it into its own P's runnext (goready); woken, the goroutine removes its
   other sudogs, pass 3 (select.go:360-401), and runs the chosen case's body.

``select {}`` is ``block`` (select.go:103-105): parked forever, "select (no cases)".
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.chan import ChanState
from labkit.models.scheduler.state import G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler
    from labkit.models.scheduler.primitives import CompiledSelect
    from labkit.models.scheduler.timerchan import TimerChan


class SelState:
    """A blocked select (its goroutine's gp.waiting list and gp.selectDone): its sudogs, in
    lock order, and the case that won."""

    __slots__ = ("g", "sudogs", "done", "chosen", "step")

    def __init__(self, g: G, step: pg.Step) -> None:
        self.g = g
        self.sudogs: list[Sudog] = []
        self.done = False  # gp.selectDone: a channel operation has chosen a case
        self.chosen = -1
        self.step = step


class Sudog:
    """A select's entry in one channel's sendq or recvq (sudog with isSelect)."""

    __slots__ = ("g", "case", "sel", "st", "q", "timer", "queued")

    def __init__(
        self, sel: SelState, case: int, st: ChanState, q: deque, timer: TimerChan | None
    ) -> None:
        self.g = sel.g
        self.case = case
        self.sel = sel
        self.st = st
        self.q = q
        self.timer = timer
        self.queued = True


#: g.waiting of a goroutine in ``select {}``: it is never woken.
BLOCKED_FOREVER = object()


class Selects:
    """The select part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def waitq_dequeue(self: Scheduler, st: ChanState, q: deque) -> G | None:
        """waitq.dequeue (src/runtime/chan.go:872): the first waiter of q; a select's sudog
        wins its select (selectDone) or, if another case already won, is skipped."""
        while q:
            w = q.popleft()
            if w.__class__ is not Sudog:
                return w
            st.sel -= 1
            w.queued = False
            sel = w.sel
            if sel.done:  # we lost the race to wake this goroutine (chan.go:896-900)
                continue
            sel.done = True
            sel.chosen = w.case
            return w.g
        return None

    def selectgo(self: Scheduler, g: G, p: P, s: pg.Step, t: float) -> bool:
        """selectgo (src/runtime/select.go:122) for the select step s: True when a case (or
        default) was chosen and g.pc is at its body; False when g parked."""
        compiled = s.obj
        cases = compiled.cases
        if g.waiting is not None:  # woken by the case that won
            return self.select_woken(g, compiled)
        ops = self.select_ops(g, compiled, t)
        if not ops and cases.default is None:  # select {}: block (select.go:103-105)
            g.waiting = BLOCKED_FOREVER
            g.pc -= 1
            self.park(g, p, t, "select (no cases)", "select {}")
            self.schedule_after(p, t, rt.SCHEDULE_MS)
            return False
        for n in self.select_pollorder(ops, p, t):  # pass 1 (select.go:264-301)
            casi, is_send, st, _ = ops[n]
            if self.select_try(st, is_send, p, t):
                g.pc = compiled.targets[casi]
                return True
        if cases.default is not None:  # select.go:303-307
            g.pc = compiled.default_target
            return True
        self.select_park(g, p, s, ops, t)
        return False

    def select_pollorder(self: Scheduler, ops: list[tuple], p: P, t: float) -> list[int]:
        """select.go:167-195: the poll order, a random permutation of the cases drawn from the
        run's generator (cheaprandn), running each timer channel's timer on the way
        (maybeRunChan)."""
        pollorder: list[int] = []
        for n, op in enumerate(ops):
            if op[3] is not None:
                self.maybe_run_chan(op[3], p, t)
            j = (self.cheaprand() * (n + 1)) >> 32  # cheaprandn(n + 1), src/runtime/rand.go:319
            pollorder.append(pollorder[j] if j < n else n)
            pollorder[j] = n
        return pollorder

    def select_park(self: Scheduler, g: G, p: P, s: pg.Step, ops: list[tuple], t: float) -> None:
        """Pass 2 (select.go:309-342): a sudog on every channel, in lock order, then g parks
        (its timer channels now have a waiter, so their timers go into a heap)."""
        sel = SelState(g, s)
        for casi, is_send, st, tc in sorted(ops, key=lambda op: op[2].order):
            q = st.sendq if is_send else st.recvq
            sg = Sudog(sel, casi, st, q, tc)
            q.append(sg)
            st.sel += 1
            sel.sudogs.append(sg)
            if tc is not None:
                self.block_timer_chan(tc, p, t)
        g.waiting = sel
        g.pc -= 1
        self.park(g, p, t, "select", s.obj.cases.describe())
        # A hop through a channel, as chan.py charges it; selectgo's own extra work (sellock
        # over every case's channel, a sudog on each) is not recorded, so not charged.
        self.schedule_after(p, t, rt.SCHEDULE_MS + rt.CHAN_HANDOFF_MS, rt.CHAN_HANDOFF_MS)

    def select_ops(self: Scheduler, g: G, compiled: CompiledSelect, t: float) -> list[tuple]:
        """The cases' channels, as (case index, is a send, its state, its timer or None). The
        timeout is a receive from time.After's channel, made now (before selectgo runs)."""
        cases = compiled.cases
        ops = []
        for i, op in enumerate(cases.ops):
            if op.kind == pg.TICK_RECV:
                tc = self.current_ticker(g, op, t)
                ops.append((i, False, tc.chan, tc))
            else:
                ops.append((i, op.kind == pg.SEND, self.chan_state(op.chan), None))
        if cases.timeout_ms is not None:
            tc = self.new_timer_chan("time.After", 0.0, t + max(cases.timeout_ms, 0.0))
            ops.append((compiled.timeout_target_case, False, tc.chan, tc))
        return ops

    def select_try(self: Scheduler, st: ChanState, is_send: bool, p: P, t: float) -> bool:
        """One case of pass 1 (select.go:270-300): a send goes to a sleeping receiver or into
        the buffer, a receive takes from a sleeping sender or the buffer; False if it cannot."""
        if is_send:
            w = self.waitq_dequeue(st, st.recvq) if st.recvq else None
            if w is not None:  # send to a sleeping receiver
                self.ready(w, p, t)
            elif st.buffered < st.capacity:
                st.buffered += 1
            else:
                return False
            return True
        w = self.waitq_dequeue(st, st.sendq) if st.sendq else None
        if w is not None:  # receive from a sleeping sender
            self.ready(w, p, t)
        elif st.buffered:
            st.buffered -= 1
        else:
            return False
        return True

    def select_woken(self: Scheduler, g: G, compiled: CompiledSelect) -> bool:
        """Pass 3 (select.go:360-401): the woken g takes its other sudogs off their channels
        (and unblocks the timer channels) and goes on at the chosen case's body."""
        sel = g.waiting
        g.waiting = None
        for sg in sel.sudogs:
            if sg.timer is not None:
                self.unblock_timer_chan(sg.timer)
            if sg.queued:
                sg.queued = False
                sg.q.remove(sg)
                sg.st.sel -= 1
        sel.sudogs = []  # (no sudog is queued any more: no reference cycle is left)
        g.pc = compiled.targets[sel.chosen]
        return True
