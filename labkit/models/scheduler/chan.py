"""Channels: send and receive, a buffer, and the queues of Gs blocked on either side.

Mirrors ``chansend`` (src/runtime/chan.go:176) with ``send`` (chan.go:318), and ``chanrecv``
(chan.go:524) with ``recv`` (chan.go:702), over the part of ``hchan`` (chan.go:34) the model
needs: how many values are buffered, ``sendq`` and ``recvq``. Values themselves are not modelled:
only who waits and who is readied. A blocked partner is readied into the running P's runnext
(goready -> ready(next=true)), so it inherits the time slice. A park on a channel costs
CHAN_HANDOFF_MS on top of the switch (runtime.py): the whole hop, the waker's half included.
That work runs on the Gs' own stacks, so a preemption request sysmon makes during it stands
(sysmon.preemptone): why a ping-pong pair is preempted as a Gosched loop is not. An operation
that neither parks nor hands over (a send into a buffer with room, a receive of a buffered value
with no sender waiting) costs CHAN_OP_MS of the G's own CPU: ``op_burst``; shared between Ps,
such operations take turns on the channel's lock and pay CHAN_LINE_MS for its cache lines when
the last operation ran on the other P. (A select's ready case is still free: selectgo locks
every channel it names, a cost no recording isolates yet.)
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.events import EV_CPU_DONE
from labkit.models.scheduler.state import DEAD, RUNNABLE, G, P

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler

#: The steps whose fast path is an op_burst: send, recv and a ticker's recv (timerchan.py).
OP_KINDS = frozenset((pg.SEND, pg.RECV, pg.TICK_RECV))


class ChanState:
    """One channel's state in one run (hchan, src/runtime/chan.go:34): a ``Chan`` is only its
    identity and capacity, shared by every run that uses it."""

    __slots__ = (
        "buffered", "sendq", "recvq", "name", "sel", "capacity", "order", "send_wait", "recv_wait",
        "last_p", "lock_free_t",
    )  # fmt: skip

    def __init__(self, name: str, capacity: int = 0, order: int = 0) -> None:
        self.buffered = 0  # hchan.qcount: values in the buffer
        self.sendq: deque[G] = deque()  # senders blocked on a full buffer (or no receiver)
        self.recvq: deque[G] = deque()  # receivers blocked on an empty buffer
        self.name = name  # as the goroutine dump shows it: send(name) / recv(name)
        # Select sudogs in sendq / recvq (selectgo.py): while there are any, the channel's
        # operations take the queue's head with waitq_dequeue, which knows them.
        self.sel = 0
        self.capacity = capacity  # hchan.dataqsiz
        self.order = order  # its place in selectgo's lock order (the hchan's address there)
        # What a G parked on either queue waits on, as the goroutine dump shows it (G.waits_on),
        # made once here rather than formatted at every park.
        self.send_wait = f"send({name})"
        self.recv_wait = f"recv({name})"
        # The P whose send or receive step last used the channel: its CPU holds the hchan's
        # cache lines (op_burst), and when its lock is next free (hchan.lock, op_burst).
        self.last_p: P | None = None
        self.lock_free_t = 0.0


class Channels:
    """The channel part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def chan_state(self: Scheduler, ch: pg.Chan) -> ChanState:
        """ch's state in this run, made on its first use (named ch1, ch2 ... if unnamed)."""
        st = self.chans.get(ch)
        if st is None:
            st = self.new_chan_state(ch.name or f"ch{len(self.chans) + 1}", ch.capacity)
            self.chans[ch] = st
        return st

    def new_chan_state(self: Scheduler, name: str, capacity: int) -> ChanState:
        """makechan (src/runtime/chan.go:75): a channel's state, numbered in the order the run
        made them (selectgo's lock order)."""
        self.nchans += 1
        return ChanState(name, capacity, self.nchans)

    def chansend(self: Scheduler, g: G, p: P, ch: pg.Chan, t: float) -> bool:
        """chansend (src/runtime/chan.go:176): hand the value to a waiting receiver (send ->
        goready), or buffer it, or park g on sendq. (The hand-off readies the receiver with
        ``ready``'s body in line, runq.py: a change there is a change here.)"""
        st = self.chans.get(ch) or self.chan_state(ch)  # (the lookup in line: hot path)
        prev, st.last_p = st.last_p, p
        if st.sel:  # a select waits on this channel: its queues hold sudogs
            w = self.waitq_dequeue(st, st.recvq)
            if w is not None:
                self.ready(w, p, t)
                return True
        elif st.recvq:
            w = st.recvq.popleft()  # ready(w, p, t), in line (runq.py): a hand-off's hot path
            row = self.row
            old = w.status  # set_status(w, RUNNABLE, t), in line
            if old != DEAD:
                row[old] -= 1
            row[RUNNABLE] += 1
            w.status = RUNNABLE
            w.reason = ""
            w.ready_t = t  # its short entry (t, RUNNABLE), pending (records.py, "Pending entries")
            self.dirty = True
            self.events.extend((t, "ready", p.id, w.name))  # log(t, "ready", p, w), in line
            if p.runnext is None:  # runqput(p, w, True) into an empty runnext, in line
                p.runnext = w
                row[p.runnext_col] = 1
            else:
                self.runqput(p, w, True)
            if not self.nmspinning and self.pidle:  # wakep's own test first: mostly nothing to do
                self.wakep(t, g)
            return True
        if st.buffered < ch.capacity:
            st.buffered += 1
            return self.op_burst(g, p, t, st, prev)
        st.sendq.append(g)
        self.park(g, p, t, "chan send", st.send_wait, True)
        return False

    def chanrecv(self: Scheduler, g: G, p: P, ch: pg.Chan, t: float) -> bool:
        """chanrecv (src/runtime/chan.go:524): take a buffered value (a blocked sender's value
        moves into the freed slot, recv), or take from a waiting sender (unbuffered), or park g
        on recvq. (The unbuffered hand-off readies the sender with ``ready``'s body in line,
        runq.py: a change there is a change here.)"""
        st = self.chans.get(ch) or self.chan_state(ch)  # (the lookup in line: hot path)
        prev, st.last_p = st.last_p, p
        if st.sel:  # a select waits on this channel: its queues hold sudogs
            return self.chanrecv_sel(g, p, st, t, prev)
        if st.buffered > 0:
            st.buffered -= 1
            if st.sendq:  # a hand-over: the sender's park paid for it (CHAN_HANDOFF_MS)
                st.buffered += 1
                self.ready(st.sendq.popleft(), p, t)
                return True
            return self.op_burst(g, p, t, st, prev)
        if st.sendq:
            w = st.sendq.popleft()  # ready(w, p, t), in line (runq.py): a hand-off's hot path
            row = self.row
            old = w.status  # set_status(w, RUNNABLE, t), in line
            if old != DEAD:
                row[old] -= 1
            row[RUNNABLE] += 1
            w.status = RUNNABLE
            w.reason = ""
            w.ready_t = t  # its short entry (t, RUNNABLE), pending (records.py, "Pending entries")
            self.dirty = True
            self.events.extend((t, "ready", p.id, w.name))  # log(t, "ready", p, w), in line
            if p.runnext is None:  # runqput(p, w, True) into an empty runnext, in line
                p.runnext = w
                row[p.runnext_col] = 1
            else:
                self.runqput(p, w, True)
            if not self.nmspinning and self.pidle:  # wakep's own test first: mostly nothing to do
                self.wakep(t, g)
            return True
        st.recvq.append(g)
        self.park(g, p, t, "chan receive", st.recv_wait, True)
        return False

    def chanrecv_sel(self: Scheduler, g: G, p: P, st: ChanState, t: float, prev: P | None) -> bool:
        """chanrecv (src/runtime/chan.go:524) on a channel with select sudogs in its queues: a
        waiting sender first (chan.go:602), then the buffer (chan.go:612), else park; each
        dequeue through waitq_dequeue. ``prev``: the P of the channel's last operation before
        this one (op_burst)."""
        w = self.waitq_dequeue(st, st.sendq) if st.sendq else None
        if w is not None:
            self.ready(w, p, t)
            return True
        if st.buffered > 0:
            st.buffered -= 1
            return self.op_burst(g, p, t, st, prev)
        st.recvq.append(g)
        self.park(g, p, t, "chan receive", st.recv_wait, True)
        return False

    def op_burst(self: Scheduler, g: G, p: P, t: float, st: ChanState, prev: P | None) -> bool:
        """The CPU of a channel operation that neither parks nor hands over (chansend into a
        buffer with room, chan.go:236; chanrecv of a buffered value, chan.go:612): CHAN_OP_MS
        on g, a burst of its own whose end (EV_CPU_DONE) takes g past the operation's step. The
        value moved at its start. True if it costs nothing (CHAN_OP_MS set to 0), and g goes on.

        Shared between CPUs, the operation costs more, as ``st`` says (``prev``: the P of the
        channel's operation before this one):
        - the whole operation holds the channel's lock (lock(&c.lock), chan.go:222 and 586):
          one that finds it held (``st.lock_free_t`` ahead) waits, spinning on g's CPU, as
          lock2 spins (procyield, src/runtime/lock_spinbit.go:225) rather than sleeps while
          the holder is this quick;
        - an operation on another P than the last one (``prev``) pays CHAN_LINE_MS more: the
          hchan's cache lines (the lock word, qcount, sendx/recvx, the buffer slot) are on
          the other CPU. (A P stands for its CPU, with the OS layer too; the lock's hold by
          hand-offs, parks, select cases and timer sends is not modelled: only send and
          receive steps set ``st.last_p``, and only their fast paths hold ``lock_free_t``.)
        Both go into the burst, counted apart in g.shared_ms (Result.chan_shared_ms); on one P
        neither arises. A burst whose thread then waits for a CPU (the OS layer) keeps the lock
        it was given, as a lock holder descheduled by the OS does.

        No preemption stops it midway: the runtime is never preempted asynchronously
        (isAsyncSafePoint, src/runtime/preempt.go:463), and a stack check inside it, with the
        channel's lock held, lets the G run on (newstack, src/runtime/stack.go:1124) until unlock
        puts the request back (lock_spinbit.go:331): sysmon.preemptone leaves the request
        pending (``in_op``), honoured when the burst is over. Its CPU shows under g's current
        stack (the function that called chansend or chanrecv, as a profile shows the caller of
        runtime.chansend1), and each one counts in g.ops (Result.chan_op_ms: the CPU programs
        ask for through their channels, beside their cpu() steps)."""
        ms = rt.CHAN_OP_MS
        if ms <= 0:
            return True
        shared = st.lock_free_t - t if st.lock_free_t > t else 0.0  # spinning for the lock
        if prev is not p and prev is not None:
            shared += rt.CHAN_LINE_MS  # the hchan's lines come from the other CPU
        if shared:
            ms += shared
            g.shared_ms += shared
        st.lock_free_t = t + ms
        stack = g.stack  # the function that called chansend / chanrecv: g's current stack
        if stack != g.seg_stack:  # (a G that has not computed yet: its default stack)
            self.end_segment(g, p, t)
            g.seg_start = t
            g.seg_stack = stack
        g.pc -= 1  # at the operation's step until its CPU is spent (EV_CPU_DONE moves on)
        g.ops += 1
        g.rem = ms
        if self.cores is not None and not self.cpu_take(p.m, g, t):
            return False  # its M waits for a CPU (cpus.py): the burst goes on when it has one
        end = g.cpu_end = t + ms
        g.token += 1
        self.push(end, EV_CPU_DONE, g, g.token)
        return False

    def in_op(self: Scheduler, g: G) -> bool:
        """g's burst is a channel operation's own CPU (op_burst): runtime code, which neither a
        signal nor a prologue stops before it returns."""
        return g.code[g.pc].kind in OP_KINDS
