"""Put the events of all threads in one order, as Go's own trace reader does.

Each M writes its events to its own batches, each stamped with that M's clock; the clocks of
different CPUs disagree, so timestamps alone cannot order events across Ms. The runtime adds
sequence numbers to the events that hand a resource from one M to another (a goroutine started,
unblocked or switched to, a P started or stolen, a GC cycle begun or ended), and the reader
emulates the scheduler's state: it takes the M whose next event has the smallest timestamp and
applies that event if the state allows (the goroutine it starts is runnable and the sequence
number is the next one); if not, it tries the other Ms in timestamp order.

This module is a transcription of src/internal/trace/order.go (ordering.Advance and its handlers,
validateCtx, the range and sequence bookkeeping), reader.go (Reader.ReadEvent: the frontier, CPU
samples interleaved by time, a Sync event at each generation's start and the end, and the
last-timestamp fix-up that keeps times strictly increasing) and batchcursor.go (the per-M
cursor and its min-heap, sift by sift, so that events with equal timestamps come out in Go's
order). Go's handlers are named in each method's docstring.

An event is a tuple ``(typ, time_ns, m, p, g, a0, a1, a2, a3, gen)``: the wire type (or
``EV_SYNC_EVENT``), its time in ns, the M/P/G it happened on (-1 for none; for a transition,
the context *before* it), its arguments after ``dt`` (with the values ordering smuggles into
the spare ones, as Go does) and the Generation whose tables resolve its string and stack IDs.
"""

from __future__ import annotations

from collections.abc import Iterator

from labkit.traces import spec as s
from labkit.traces.wire import Generation, Malformed, generations, signed

NONE = s.NONE
_N_ARGS = s.N_ARGS

# schedReqs constraints (order.go).
MUST_NOT, MAY, MUST = 0, 1, 2
USER_GO = (MUST, MUST, MUST)


def _decode(data: bytes, base: int, freq: float, m: int, at: int) -> list[tuple]:
    """Every event of one batch as ``(typ, time_ns, args)``: readTimedBaseEvent for each, the
    times completed from the batch's base timestamp as batchCursor.nextEvent does
    (``freq.mul(dt) + lastTs``, float64 multiply truncated to int)."""
    out = []
    last = int(base * freq)
    pos = 0
    end = len(data)
    try:
        while pos < end:
            typ = data[pos]
            n = _N_ARGS[typ]
            if n < 0:
                raise Malformed(
                    "corrupt",
                    f"found event without a timestamp: type={typ} in the batch of M {m}",
                    at,
                )
            # The timestamp delta, then the arguments: unsigned varints (encoding/binary).
            pos += 1
            vals = [0, 0, 0, 0, 0]
            for i in range(n + 1):
                b = data[pos]
                pos += 1
                if b < 0x80:
                    vals[i] = b
                    continue
                v = b & 0x7F
                shift = 7
                while True:
                    b = data[pos]
                    pos += 1
                    v |= (b & 0x7F) << shift
                    if b < 0x80:
                        break
                    shift += 7
                vals[i] = v
            dt = vals[0]
            args = vals[1:]
            last = int(dt * freq) + last
            out.append((typ, last, args))
    except IndexError:
        raise Malformed("corrupt", f"an event runs past the end of its batch (M {m})", at) from None
    return out


class _Cursor:
    """batchCursor: one M's batches, decoded one batch at a time, and its next event."""

    __slots__ = ("m", "batches", "idx", "evs", "i", "typ", "time", "args")

    def __init__(self, m: int, batches: list[tuple[int, bytes, int]]) -> None:
        self.m = m
        self.batches = batches
        self.idx = -1
        self.evs: list[tuple] = []
        self.i = 0
        self.typ = 0
        self.time = 0
        self.args = [0, 0, 0, 0]

    def next_event(self, g: Generation) -> bool:
        """batchCursor.nextEvent; False at the end of the M's batches."""
        i = self.i
        while i >= len(self.evs):
            self.idx += 1
            if self.idx >= len(self.batches):
                return False
            base, data, at = self.batches[self.idx]
            self.evs = _decode(data, base, g.freq, self.m, at)
            i = 0
        self.typ, self.time, self.args = self.evs[i]
        self.i = i + 1
        return True


# The frontier: a min-heap of cursors by next-event time, operated exactly as batchcursor.go's
# heapInsert / heapUpdate / heapRemove, so that ties resolve as in Go.


def _sift_up(h: list[_Cursor], i: int) -> int:
    while i > 0 and h[(i - 1) // 2].time > h[i].time:
        h[(i - 1) // 2], h[i] = h[i], h[(i - 1) // 2]
        i = (i - 1) // 2
    return i


def _min3(h: list[_Cursor], i0: int, i1: int, i2: int) -> int:
    best = i0
    best_t = h[i0].time if i0 < len(h) else 1 << 63
    if i1 < len(h) and h[i1].time < best_t:
        best_t = h[i1].time
        best = i1
    if i2 < len(h) and h[i2].time < best_t:
        best = i2
    return best


def _sift_down(h: list[_Cursor], i: int) -> int:
    while True:
        m = _min3(h, i, 2 * i + 1, 2 * i + 2)
        if m == i:
            return i
        h[i], h[m] = h[m], h[i]
        i = m


def _heap_remove(h: list[_Cursor], i: int) -> None:
    while i > 0:
        h[(i - 1) // 2], h[i] = h[i], h[(i - 1) // 2]
        i = (i - 1) // 2
    h[0], h[-1] = h[-1], h[0]
    h.pop()
    _sift_down(h, 0)


class _GState:
    __slots__ = ("id", "status", "seq_gen", "seq", "ranges", "regions")

    def __init__(self, gid: int, status: int, gen: int) -> None:
        self.id = gid
        self.status = status
        self.seq_gen = gen
        self.seq = 0
        self.ranges: list[tuple[int, int]] = []
        self.regions: list[tuple[int, str]] = []


class _PState:
    __slots__ = ("id", "status", "seq_gen", "seq", "ranges")

    def __init__(self, pid: int, status: int, gen: int) -> None:
        self.id = pid
        self.status = status
        self.seq_gen = gen
        self.seq = 0
        self.ranges: list[tuple[int, int]] = []


def _start_of(typ: int) -> int:
    """makeRangeType's type: an "End" or "Active" event's "Begin" type, else the type itself."""
    start = s.SPECS[typ].start_ev
    return start if start != s.EV_NONE else typ


def _check(ctx_m: int, ctx_p: int, ctx_g: int, reqs: tuple[int, int, int]) -> None:
    """validateCtx: the M, P and G an event needs (MUST), forbids (MUST_NOT) or allows."""
    for have, req, what in (
        (ctx_m, reqs[0], "thread"),
        (ctx_p, reqs[1], "proc"),
        (ctx_g, reqs[2], "goroutine"),
    ):
        if req == MUST and have == NONE:
            raise Malformed("order", f"expected a {what} but didn't have one")
        if req == MUST_NOT and have != NONE:
            raise Malformed("order", f"expected no {what} but had one")


class Ordering:
    """order.go's ``ordering``: the emulated states of every G, P and M, and the queue of events
    that are ready to be read."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.g_states: dict[int, _GState] = {}
        self.p_states: dict[int, _PState] = {}
        self.m_states: dict[int, list[int]] = {}  # m -> [g, p]
        self.active_tasks: dict[int, tuple[str, int]] = {}
        self.gc_seq = 0
        self.gc_state = 0  # gcUndetermined, gcNotRunning, gcRunning = 0, 1, 2
        self.initial_gen = 0
        self.queue: list[tuple] = []
        self._dispatch = {
            s.EV_PROCS_CHANGE: self._annotation,
            s.EV_PROC_START: self._proc_start,
            s.EV_PROC_STOP: self._proc_stop,
            s.EV_PROC_STEAL: self._proc_steal,
            s.EV_PROC_STATUS: self._proc_status,
            s.EV_GO_CREATE: self._go_create,
            s.EV_GO_CREATE_SYSCALL: self._go_create_syscall,
            s.EV_GO_START: self._go_start,
            s.EV_GO_DESTROY: self._go_stop_exec,
            s.EV_GO_DESTROY_SYSCALL: self._go_destroy_syscall,
            s.EV_GO_STOP: self._go_stop_exec,
            s.EV_GO_BLOCK: self._go_stop_exec,
            s.EV_GO_UNBLOCK: self._go_unblock,
            s.EV_GO_SYSCALL_BEGIN: self._go_syscall_begin,
            s.EV_GO_SYSCALL_END: self._go_syscall_end,
            s.EV_GO_SYSCALL_END_BLOCKED: self._go_syscall_end_blocked,
            s.EV_GO_STATUS: self._go_status,
            s.EV_STW_BEGIN: self._go_range_begin,
            s.EV_STW_END: self._go_range_end,
            s.EV_GC_ACTIVE: self._gc_active,
            s.EV_GC_BEGIN: self._gc_begin,
            s.EV_GC_END: self._gc_end,
            s.EV_GC_SWEEP_ACTIVE: self._gc_sweep_active,
            s.EV_GC_SWEEP_BEGIN: self._gc_sweep_begin,
            s.EV_GC_SWEEP_END: self._gc_sweep_end,
            s.EV_GC_MARK_ASSIST_ACTIVE: self._go_range_active,
            s.EV_GC_MARK_ASSIST_BEGIN: self._go_range_begin,
            s.EV_GC_MARK_ASSIST_END: self._go_range_end,
            s.EV_HEAP_ALLOC: self._heap_metric,
            s.EV_HEAP_GOAL: self._heap_metric,
            s.EV_GO_LABEL: self._annotation,
            s.EV_USER_TASK_BEGIN: self._user_task_begin,
            s.EV_USER_TASK_END: self._user_task_end,
            s.EV_USER_REGION_BEGIN: self._user_region_begin,
            s.EV_USER_REGION_END: self._user_region_end,
            s.EV_USER_LOG: self._annotation,
            s.EV_GO_SWITCH: self._go_switch,
            s.EV_GO_SWITCH_DESTROY: self._go_switch,
            s.EV_GO_CREATE_BLOCKED: self._go_create,
            s.EV_GO_STATUS_STACK: self._go_status,
        }
        for typ in range(s.MAX_EVENT + 1, 137):
            self._dispatch[typ] = self._alloc_free

    def advance(self, typ: int, time: int, args: list[int], m: int, g: Generation) -> bool:
        """ordering.Advance: apply the event if the state allows; False if it must wait."""
        gen = g.gen
        if self.initial_gen == 0:
            self.initial_gen = gen
        if m == NONE:
            ms = None
            ctx = [m, NONE, NONE]
        else:
            ms = self.m_states.get(m)
            if ms is None:
                ms = self.m_states[m] = [NONE, NONE]
            ctx = [m, ms[1], ms[0]]
        f = self._dispatch.get(typ)
        if f is None:
            raise Malformed("corrupt", f"bad event type found while ordering: {typ}")
        new = f(typ, time, args, ctx, g, gen)
        if new is None:
            return False
        if ms is not None:
            ms[1] = new[1]
            ms[0] = new[2]
        return True

    def _push(self, typ: int, time: int, ctx: list[int], args: list[int], g: Generation) -> None:
        self.queue.append(
            (typ, time, ctx[0], ctx[1], ctx[2], args[0], args[1], args[2], args[3], g)
        )

    def _seq_ok(self, st, gen: int, seq: int) -> bool:
        """seqCounter.succeeds: seq is the next number after st's, in the same generation."""
        return st.seq_gen == gen and seq == st.seq + 1

    # ---- procs --------------------------------------------------------------------------------

    def _proc_status(self, typ, time, args, ctx, g, gen):
        """advanceProcStatus."""
        pid, status = args[0], args[1]
        if status >= len(s.PROC_STATUS_TO_STATE) or status == s.PROC_BAD:
            raise Malformed("corrupt", f"invalid status for proc {pid}: {status}")
        old = s.PROC_STATUS_TO_STATE[status]
        st = self.p_states.get(pid)
        if st is not None:
            if status == s.PROC_SYSCALL_ABANDONED and st.status == s.PROC_SYSCALL:
                old = s.P_RUNNING
                args[1] = s.PROC_SYSCALL
            elif status == s.PROC_SYSCALL_ABANDONED and st.status == s.PROC_SYSCALL_ABANDONED:
                old = s.P_IDLE
                args[1] = s.PROC_SYSCALL_ABANDONED
            elif st.status != status:
                raise Malformed(
                    "order", f"inconsistent status for proc {pid}: old {st.status} vs. new {status}"
                )
            st.seq_gen, st.seq = gen, 0
        else:
            self.p_states[pid] = _PState(pid, status, gen)
            old = s.P_UNDETERMINED if gen == self.initial_gen else s.P_NOT_EXIST
        args[2] = old  # extra[0]: the old state, for the StateTransition
        new = list(ctx)
        if status in (s.PROC_RUNNING, s.PROC_SYSCALL):
            new[1] = pid
        if status == s.PROC_SYSCALL_ABANDONED and old == s.P_RUNNING:
            found = False
            for mid, ms in self.m_states.items():
                if ms[1] == pid:
                    ctx = [mid, pid, ms[0]]
                    found = True
            if not found:
                raise Malformed(
                    "order",
                    f"failed to find sched context for proc {pid} that's about to be stolen",
                )
        self._push(typ, time, ctx, args, g)
        return new

    def _proc_start(self, typ, time, args, ctx, g, gen):
        """advanceProcStart."""
        pid = args[0]
        st = self.p_states.get(pid)
        if (
            st is None
            or st.status != s.PROC_IDLE
            or not self._seq_ok(st, gen, args[1])
            or ctx[1] != NONE
        ):
            return None
        _check(*ctx, (MUST, MUST_NOT, MAY))
        st.status = s.PROC_RUNNING
        st.seq_gen, st.seq = gen, args[1]
        self._push(typ, time, ctx, args, g)
        return [ctx[0], pid, ctx[2]]

    def _proc_stop(self, typ, time, args, ctx, g, gen):
        """advanceProcStop."""
        st = self.p_states.get(ctx[1])
        if st is None:
            raise Malformed("order", f"event ProcStop for proc ({ctx[1]}) that doesn't exist")
        if st.status not in (s.PROC_RUNNING, s.PROC_SYSCALL):
            raise Malformed("order", "ProcStop event for proc that's not Running or Syscall")
        _check(*ctx, (MUST, MUST, MAY))
        st.status = s.PROC_IDLE
        self._push(typ, time, ctx, args, g)
        return [ctx[0], NONE, ctx[2]]

    def _proc_steal(self, typ, time, args, ctx, g, gen):
        """advanceProcSteal."""
        pid = args[0]
        st = self.p_states.get(pid)
        if (
            st is None
            or st.status not in (s.PROC_SYSCALL, s.PROC_SYSCALL_ABANDONED)
            or not self._seq_ok(st, gen, args[1])
        ):
            return None
        _check(*ctx, (MUST, MAY, MAY))
        old = st.status
        args[3] = old  # extra[0]
        st.status = s.PROC_IDLE
        st.seq_gen, st.seq = gen, args[1]
        if old == s.PROC_SYSCALL_ABANDONED:
            self._push(typ, time, ctx, args, g)
            return ctx
        mid = signed(args[2])
        if mid == ctx[0]:
            if ctx[1] != pid:
                raise Malformed(
                    "order",
                    f"tried to self-steal proc {pid} (thread {mid}), but got proc {ctx[1]} instead",
                )
            self._push(typ, time, ctx, args, g)
            return [ctx[0], NONE, ctx[2]]
        ms = self.m_states.get(mid)
        if ms is None:
            raise Malformed("order", f"stole proc from non-existent thread {mid}")
        if ms[1] != pid:
            raise Malformed(
                "order",
                f"tried to steal proc {pid} from thread {mid}, but got proc {ms[1]} instead",
            )
        ms[1] = NONE
        self._push(typ, time, ctx, args, g)
        return ctx

    # ---- goroutines ---------------------------------------------------------------------------

    def _go_status(self, typ, time, args, ctx, g, gen):
        """advanceGoStatus (GoStatus and GoStatusStack)."""
        gid, mid, status = args[0], signed(args[1]), args[2]
        if status >= len(s.GO_STATUS_TO_STATE) or status == s.GO_BAD:
            raise Malformed("corrupt", f"invalid status for goroutine {gid}: {status}")
        old = s.GO_STATUS_TO_STATE[status]
        st = self.g_states.get(gid)
        if st is not None:
            if st.status != status:
                raise Malformed(
                    "order",
                    f"inconsistent status for goroutine {gid}: old {st.status} vs. new {status}",
                )
            st.seq_gen, st.seq = gen, 0
        elif gen == self.initial_gen:
            self.g_states[gid] = _GState(gid, status, gen)
            old = s.G_UNDETERMINED
        else:
            raise Malformed(
                "order",
                "found goroutine status for new goroutine after the "
                f"first generation: id={gid} status={status}",
            )
        args[2] = old << 32 | status
        new = list(ctx)
        if status == s.GO_RUNNING:
            new[2] = gid
        elif status == s.GO_SYSCALL:
            if mid == NONE:
                raise Malformed("order", f"found goroutine {gid} in syscall without a thread")
            if mid == ctx[0]:
                if gen != self.initial_gen and ctx[2] != gid:
                    raise Malformed(
                        "order",
                        f"inconsistent thread for syscalling goroutine "
                        f"{gid}: thread has goroutine {ctx[2]}",
                    )
                new[2] = gid
            else:
                ms = self.m_states.get(mid)
                ctx = list(ctx)
                if ms is not None:
                    if ms[0] != gid:
                        raise Malformed(
                            "order",
                            f"inconsistent thread for syscalling "
                            f"goroutine {gid}: thread has goroutine {ms[0]}",
                        )
                    ctx[2] = ms[0]
                else:
                    self.m_states[mid] = [gid, NONE]
                ctx[0] = mid
        self._push(typ, time, ctx, args, g)
        return new

    def _go_create(self, typ, time, args, ctx, g, gen):
        """advanceGoCreate (GoCreate and GoCreateBlocked)."""
        _check(*ctx, (MUST, MUST, MAY))
        cur = self.g_states.get(ctx[2])
        if cur is not None and cur.status != s.GO_RUNNING:
            raise Malformed("order", f"{s.event_name(typ)} event for goroutine that's not Running")
        new_gid = args[0]
        if new_gid in self.g_states:
            raise Malformed("order", f"tried to create goroutine ({new_gid}) that already exists")
        status = s.GO_WAITING if typ == s.EV_GO_CREATE_BLOCKED else s.GO_RUNNABLE
        self.g_states[new_gid] = _GState(new_gid, status, gen)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _running_g(self, typ, ctx, want=s.GO_RUNNING) -> _GState:
        _check(*ctx, USER_GO)
        st = self.g_states.get(ctx[2])
        if st is None:
            raise Malformed(
                "order", f"event {s.event_name(typ)} for goroutine ({ctx[2]}) that doesn't exist"
            )
        if st.status != want:
            raise Malformed(
                "order",
                f"{s.event_name(typ)} event for goroutine that's not "
                f"{s.GO_STATE_NAMES[s.GO_STATUS_TO_STATE[want]]}",
            )
        return st

    def _go_stop_exec(self, typ, time, args, ctx, g, gen):
        """advanceGoStopExec (GoDestroy, GoStop, GoBlock)."""
        st = self._running_g(typ, ctx)
        if typ == s.EV_GO_DESTROY:
            del self.g_states[ctx[2]]
        elif typ == s.EV_GO_STOP:
            st.status = s.GO_RUNNABLE
        else:
            st.status = s.GO_WAITING
        self._push(typ, time, ctx, args, g)
        return [ctx[0], ctx[1], NONE]

    def _go_start(self, typ, time, args, ctx, g, gen):
        """advanceGoStart."""
        gid = args[0]
        st = self.g_states.get(gid)
        if st is None or st.status != s.GO_RUNNABLE or not self._seq_ok(st, gen, args[1]):
            return None
        _check(*ctx, (MUST, MUST, MUST_NOT))
        st.status = s.GO_RUNNING
        st.seq_gen, st.seq = gen, args[1]
        self._push(typ, time, ctx, args, g)
        return [ctx[0], ctx[1], gid]

    def _go_unblock(self, typ, time, args, ctx, g, gen):
        """advanceGoUnblock."""
        st = self.g_states.get(args[0])
        if st is None or st.status != s.GO_WAITING or not self._seq_ok(st, gen, args[1]):
            return None
        st.status = s.GO_RUNNABLE
        st.seq_gen, st.seq = gen, args[1]
        self._push(typ, time, ctx, args, g)
        return ctx

    def _go_switch(self, typ, time, args, ctx, g, gen):
        """advanceGoSwitch (GoSwitch, GoSwitchDestroy): an unblock, a block or destroy of the
        current goroutine, and a start of the next, as three events."""
        cur = self._running_g(typ, ctx)
        nxt = self.g_states.get(args[0])
        if nxt is None or nxt.status != s.GO_WAITING or not self._seq_ok(nxt, gen, args[1]):
            return None
        self._push(typ, time, ctx, args, g)
        if typ == s.EV_GO_SWITCH:
            cur.status = s.GO_WAITING
            self._push(s.EV_GO_BLOCK, time, ctx, [0, 0, 0, 0], g)
        else:
            del self.g_states[ctx[2]]
            self._push(s.EV_GO_DESTROY, time, ctx, [0, 0, 0, 0], g)
        nxt.status = s.GO_RUNNING
        nxt.seq_gen, nxt.seq = gen, args[1]
        self._push(s.EV_GO_START, time, [ctx[0], ctx[1], NONE], [args[0], args[1], 0, 0], g)
        return [ctx[0], ctx[1], args[0]]

    def _go_syscall_begin(self, typ, time, args, ctx, g, gen):
        """advanceGoSyscallBegin."""
        st = self._running_g(typ, ctx)
        st.status = s.GO_SYSCALL
        ps = self.p_states.get(ctx[1])
        if ps is None:
            raise Malformed("order", f"uninitialized proc {ctx[1]} found during GoSyscallBegin")
        ps.status = s.PROC_SYSCALL
        if not self._seq_ok(ps, gen, args[0]):
            raise Malformed(
                "order",
                f"failed to advance GoSyscallBegin: can't make sequence: {ps.seq} -> {args[0]}",
            )
        ps.seq_gen, ps.seq = gen, args[0]
        self._push(typ, time, ctx, args, g)
        return ctx

    def _go_syscall_end(self, typ, time, args, ctx, g, gen):
        """advanceGoSyscallEnd."""
        st = self._running_g(typ, ctx, s.GO_SYSCALL)
        st.status = s.GO_RUNNING
        ps = self.p_states.get(ctx[1])
        if ps is None:
            raise Malformed("order", f"uninitialized proc {ctx[1]} found during GoSyscallEnd")
        if ps.status != s.PROC_SYSCALL:
            raise Malformed("order", f"expected proc {ctx[1]} in state Syscall")
        ps.status = s.PROC_RUNNING
        self._push(typ, time, ctx, args, g)
        return ctx

    def _go_syscall_end_blocked(self, typ, time, args, ctx, g, gen):
        """advanceGoSyscallEndBlocked: waits until the M has lost its P."""
        if ctx[1] != NONE:
            ps = self.p_states.get(ctx[1])
            if ps is None:
                raise Malformed(
                    "order", f"uninitialized proc {ctx[1]} found during GoSyscallEndBlocked"
                )
            if ps.status == s.PROC_SYSCALL:
                return None
        _check(*ctx, (MUST, MAY, MUST))
        st = self.g_states.get(ctx[2])
        if st is None:
            raise Malformed(
                "order", f"event GoSyscallEndBlocked for goroutine ({ctx[2]}) that doesn't exist"
            )
        if st.status != s.GO_SYSCALL:
            raise Malformed("order", "GoSyscallEndBlocked event for goroutine that's not Syscall")
        st.status = s.GO_RUNNABLE
        self._push(typ, time, ctx, args, g)
        return [ctx[0], ctx[1], NONE]

    def _go_create_syscall(self, typ, time, args, ctx, g, gen):
        """advanceGoCreateSyscall: a goroutine for a cgo callback, born in a syscall."""
        _check(*ctx, (MUST, MAY, MUST_NOT))
        gid = args[0]
        if gid in self.g_states:
            raise Malformed(
                "order", f"tried to create goroutine ({gid}) in syscall that already exists"
            )
        self.g_states[gid] = _GState(gid, s.GO_SYSCALL, gen)
        self._push(typ, time, ctx, args, g)
        return [ctx[0], ctx[1], gid]

    def _go_destroy_syscall(self, typ, time, args, ctx, g, gen):
        """advanceGoDestroySyscall: the callback's goroutine goes; its P is abandoned."""
        _check(*ctx, (MUST, MAY, MUST))
        st = self.g_states.get(ctx[2])
        if st is None:
            raise Malformed(
                "order", f"event GoDestroySyscall for goroutine ({ctx[2]}) that doesn't exist"
            )
        if st.status != s.GO_SYSCALL:
            raise Malformed("order", "GoDestroySyscall event for goroutine that's not Syscall")
        del self.g_states[ctx[2]]
        new = [ctx[0], ctx[1], NONE]
        if ctx[1] != NONE:
            ps = self.p_states.get(ctx[1])
            if ps is None:
                raise Malformed("order", f"found invalid proc {ctx[1]} during GoDestroySyscall")
            if ps.status != s.PROC_SYSCALL:
                raise Malformed(
                    "order", f"proc {ctx[1]} in unexpected state during GoDestroySyscall"
                )
            ps.status = s.PROC_SYSCALL_ABANDONED
            new[1] = NONE
            self._push(s.EV_PROC_STEAL, time, ctx, [ctx[1], 0, 0, s.PROC_SYSCALL], g)
        self._push(typ, time, ctx, args, g)
        return new

    # ---- annotations, tasks and regions -------------------------------------------------------

    def _annotation(self, typ, time, args, ctx, g, gen):
        """advanceAnnotation (ProcsChange, GoLabel, UserLog)."""
        _check(*ctx, USER_GO)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _heap_metric(self, typ, time, args, ctx, g, gen):
        """advanceHeapMetric."""
        _check(*ctx, (MUST, MUST, MAY))
        self._push(typ, time, ctx, args, g)
        return ctx

    def _alloc_free(self, typ, time, args, ctx, g, gen):
        """advanceAllocFree (experimental events)."""
        _check(*ctx, (MUST, MAY, MAY))
        self._push(typ, time, ctx, args, g)
        return ctx

    def _user_task_begin(self, typ, time, args, ctx, g, gen):
        """advanceUserTaskBegin."""
        tid = args[0]
        if tid in self.active_tasks:
            raise Malformed("order", f"task ID conflict: {tid}")
        if args[1] == 0:  # BackgroundTask as a parent means no parent
            args[1] = (1 << 64) - 1  # NoTask, ^uint64(0)
        self.active_tasks[tid] = (g.string(args[2]), args[1])
        _check(*ctx, USER_GO)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _user_task_end(self, typ, time, args, ctx, g, gen):
        """advanceUserTaskEnd: the task's parent and name ride along in the spare arguments."""
        task = self.active_tasks.pop(args[0], None)
        if task is not None:
            name, parent = task
            args[2] = parent
        else:
            name = ""
            args[2] = (1 << 64) - 1
        args[3] = self._extra_string(g, name)
        _check(*ctx, USER_GO)
        self._push(typ, time, ctx, args, g)
        return ctx

    @staticmethod
    def _extra_string(g: Generation, text: str) -> int:
        """evTable.addExtraString: IDs from 1, "" is 0."""
        if not text:
            return 0
        if text in g.extra_strings:
            return g.extra_strings.index(text) + 1
        g.extra_strings.append(text)
        return len(g.extra_strings)

    def _region(self, typ, args, ctx, g) -> tuple[_GState, tuple[int, str]]:
        _check(*ctx, USER_GO)
        region = (args[0], g.string(args[1]))
        st = self.g_states.get(ctx[2])
        if st is None:
            raise Malformed(
                "order",
                f"encountered {s.event_name(typ)} without known state for "
                f"current goroutine {ctx[2]}",
            )
        return st, region

    def _user_region_begin(self, typ, time, args, ctx, g, gen):
        """advanceUserRegionBegin."""
        st, region = self._region(typ, args, ctx, g)
        st.regions.append(region)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _user_region_end(self, typ, time, args, ctx, g, gen):
        """advanceUserRegionEnd: regions begun before the trace started end silently."""
        st, region = self._region(typ, args, ctx, g)
        if st.regions:
            if st.regions[-1] != region:
                raise Malformed(
                    "order",
                    f"misuse of region in goroutine {st.id}: region end "
                    f"{region} when the inner-most active region start event is "
                    f"{st.regions[-1]}",
                )
            st.regions.pop()
        self._push(typ, time, ctx, args, g)
        return ctx

    # ---- GC and ranges ------------------------------------------------------------------------

    def _gc_active(self, typ, time, args, ctx, g, gen):
        """advanceGCActive."""
        seq = args[0]
        if gen == self.initial_gen:
            if self.gc_state != 0:
                raise Malformed("order", "GCActive in the first generation isn't first GC event")
            self.gc_seq, self.gc_state = seq, 2
            self._push(typ, time, ctx, args, g)
            return ctx
        if seq != self.gc_seq + 1:
            return None
        if self.gc_state != 2:
            raise Malformed("order", "encountered GCActive while GC was not in progress")
        self.gc_seq = seq
        _check(*ctx, USER_GO)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _gc_begin(self, typ, time, args, ctx, g, gen):
        """advanceGCBegin."""
        seq = args[0]
        if self.gc_state == 0:
            self.gc_seq, self.gc_state = seq, 2
            self._push(typ, time, ctx, args, g)
            return ctx
        if seq != self.gc_seq + 1:
            return None
        if self.gc_state == 2:
            raise Malformed("order", "encountered GCBegin while GC was already in progress")
        self.gc_seq, self.gc_state = seq, 2
        _check(*ctx, USER_GO)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _gc_end(self, typ, time, args, ctx, g, gen):
        """advanceGCEnd."""
        seq = args[0]
        if seq != self.gc_seq + 1:
            return None
        if self.gc_state != 2:
            raise Malformed("order", "encountered GCEnd when GC was not in progress")
        self.gc_seq, self.gc_state = seq, 1
        _check(*ctx, USER_GO)
        self._push(typ, time, ctx, args, g)
        return ctx

    @staticmethod
    def _begin_range(st, rng: tuple[int, int], name: str) -> None:
        if rng in st.ranges:
            raise Malformed(
                "order", f"discovered event already in-flight for when starting event {name}"
            )
        st.ranges.append(rng)

    def _active_range(self, st, rng: tuple[int, int], gen: int) -> None:
        if gen == self.initial_gen:
            if rng in st.ranges:
                raise Malformed("order", f"found named active range already in first gen: {rng}")
            st.ranges.append(rng)
        elif rng not in st.ranges:
            raise Malformed("order", f"resource is missing active range: {s.event_name(rng[0])}")

    @staticmethod
    def _end_range(st, typ: int) -> int:
        """rangeState.endRange: swap-remove the range; returns its description string ID."""
        start = s.SPECS[typ].start_ev
        for i, (rtyp, desc) in enumerate(st.ranges):
            if rtyp == start:
                st.ranges[i] = st.ranges[-1]
                st.ranges.pop()
                return desc
        raise Malformed("order", f"tried to end event {s.event_name(start)}, but not in-flight")

    def _gc_sweep_begin(self, typ, time, args, ctx, g, gen):
        """advanceGCSweepBegin."""
        _check(*ctx, (MUST, MUST, MAY))
        self._begin_range(self.p_states[ctx[1]], (_start_of(typ), 0), "GCSweepBegin")
        self._push(typ, time, ctx, args, g)
        return ctx

    def _gc_sweep_active(self, typ, time, args, ctx, g, gen):
        """advanceGCSweepActive."""
        ps = self.p_states.get(args[0])
        if ps is None:
            raise Malformed("order", f"encountered GCSweepActive for unknown proc {args[0]}")
        self._active_range(ps, (_start_of(typ), 0), gen)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _gc_sweep_end(self, typ, time, args, ctx, g, gen):
        """advanceGCSweepEnd."""
        _check(*ctx, (MUST, MUST, MAY))
        self._end_range(self.p_states[ctx[1]], typ)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _go_range_begin(self, typ, time, args, ctx, g, gen):
        """advanceGoRangeBegin (STWBegin, GCMarkAssistBegin)."""
        _check(*ctx, USER_GO)
        desc = args[0] if typ == s.EV_STW_BEGIN else 0
        st = self.g_states.get(ctx[2])
        if st is None:
            raise Malformed(
                "order",
                f"encountered event of type {typ} without known state for "
                f"current goroutine {ctx[2]}",
            )
        self._begin_range(st, (_start_of(typ), desc), s.event_name(typ))
        self._push(typ, time, ctx, args, g)
        return ctx

    def _go_range_active(self, typ, time, args, ctx, g, gen):
        """advanceGoRangeActive (GCMarkAssistActive)."""
        st = self.g_states.get(args[0])
        if st is None:
            raise Malformed(
                "order", f"uninitialized goroutine {args[0]} found during {s.event_name(typ)}"
            )
        self._active_range(st, (_start_of(typ), 0), gen)
        self._push(typ, time, ctx, args, g)
        return ctx

    def _go_range_end(self, typ, time, args, ctx, g, gen):
        """advanceGoRangeEnd (STWEnd, GCMarkAssistEnd); STWEnd gets its kind string back."""
        _check(*ctx, USER_GO)
        st = self.g_states.get(ctx[2])
        if st is None:
            raise Malformed(
                "order",
                f"encountered event of type {typ} without known state for "
                f"current goroutine {ctx[2]}",
            )
        desc = self._end_range(st, typ)
        if typ == s.EV_STW_END:
            args[0] = desc
        self._push(typ, time, ctx, args, g)
        return ctx


def read_events(data: bytes, version: int) -> Iterator[tuple]:
    """Every event of the trace, in Go's order (Reader.ReadEvent), Sync events included.

    Raises Malformed when the bytes are damaged or the events cannot be put in order.
    """
    order = Ordering(version)
    queue = order.queue
    last = 0
    syncs = 0
    gen: Generation | None = None
    for gen in generations(data, version):
        syncs += 1
        t = gen.mul(gen.min_ts)
        if t <= last:
            t = last + 1
        last = t
        yield (s.EV_SYNC_EVENT, t, NONE, NONE, NONE, syncs, 0, 0, 0, gen)
        frontier: list[_Cursor] = []
        for m in gen.batch_ms:
            bc = _Cursor(m, gen.batches[m])
            if bc.next_event(gen):
                frontier.append(bc)
                _sift_up(frontier, len(frontier) - 1)
        samples = sorted(
            ((gen.mul(ts), m, p, g, stk) for ts, m, p, g, stk in gen.cpu_samples),
            key=lambda x: x[0],
        )
        si = 0
        advance = order.advance
        while True:
            if queue:
                for ev in queue:
                    t = ev[1]
                    if t <= last:
                        t = last + 1
                        ev = (ev[0], t, *ev[2:])
                    last = t
                    yield ev
                queue.clear()
            if not frontier and si == len(samples):
                break
            if si < len(samples) and (not frontier or samples[si][0] < frontier[0].time):
                t, m, p, g, stk = samples[si]
                si += 1
                if t <= last:
                    t = last + 1
                last = t
                yield (s.EV_CPU_SAMPLE, t, m, p, g, stk, 0, 0, 0, gen)
                continue
            bc = frontier[0]
            if advance(bc.typ, bc.time, bc.args, bc.m, gen):
                if bc.next_event(gen):
                    # heapUpdate(0): sift down unless neither child is earlier.
                    t = bc.time
                    n = len(frontier)
                    if (n > 1 and frontier[1].time < t) or (n > 2 and frontier[2].time < t):
                        _sift_down(frontier, 0)
                else:
                    _heap_remove(frontier, 0)
                continue
            # Rare: sort the frontier (a sorted heap is still a heap; Go's pdqsort is an
            # insertion sort, so stable, up to 12 cursors) and try the other Ms in time order.
            frontier.sort(key=lambda c: c.time)
            for i in range(1, len(frontier)):
                bc = frontier[i]
                if advance(bc.typ, bc.time, bc.args, bc.m, gen):
                    if bc.next_event(gen):
                        if _sift_up(frontier, i) == i:
                            _sift_down(frontier, i)
                    else:
                        _heap_remove(frontier, i)
                    break
            else:
                raise Malformed(
                    "order",
                    f"broken trace: no thread's next event can be placed in order "
                    f"(generation {gen.gen}, {len(frontier)} threads pending)",
                )
    syncs += 1
    yield (s.EV_SYNC_EVENT, last + 1, NONE, NONE, NONE, syncs, 0, 0, 0, None)
