"""One pass over the ordered events, keeping what a Trace shows, in flat columns.

For every goroutine state transition: its time, goroutine, from and to states, reason, the
transitioning goroutine's stack and the event's own stack (for an unblock, the unblocker's), and
the M and P it happened on. From those, in the same pass: the stretches a goroutine ran on a P
(from ->Running to Running->), the stretches a thread sat in a system call (split where its P
was taken: ``ProcSteal``, or released), each runnable -> running wait, the GC mark phases,
stop-the-world pauses and mark assists, the metrics (GOMAXPROCS, heap), and each goroutine's
lifetime and name as src/internal/trace/summary.go (Summarizer.Event) computes them, which
the sched/sync/syscall/net profiles clip their waits to (src/cmd/trace/pprof.go).

Stacks are stored once each, root first, as ``(function, file, line)`` frames; the columns hold
their index (-1: no stack). Rows are appended to flat lists and moved into numpy arrays every
million values, which keeps a 10 MB trace's columns compact while the pass runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit.traces import spec as s
from labkit.traces.events import GO_TRANSITIONS, KIND, TRANSITION, go_status
from labkit.traces.order import read_events
from labkit.traces.wire import Generation

NONE = s.NONE
G_RUNNING, G_RUNNABLE, G_SYSCALL = s.G_RUNNING, s.G_RUNNABLE, s.G_SYSCALL
G_NOT_EXIST, G_UNDETERMINED, G_WAITING = s.G_NOT_EXIST, s.G_UNDETERMINED, s.G_WAITING

#: Columns of one goroutine transition row in Columns.transitions.
TRANSITION_FIELDS = ("t", "g", "from", "to", "reason", "stack", "event_stack", "m", "p")


class _Rows:
    """A growing int64 table of ``width`` columns: rows are extended into a list and flushed
    into numpy blocks."""

    def __init__(self, width: int, flush_at: int = 1 << 20) -> None:
        self.width = width
        self.flat: list[int] = []
        self.blocks: list[np.ndarray] = []
        self.flush_at = flush_at - flush_at % width

    def flush(self) -> None:
        if self.flat:
            self.blocks.append(np.array(self.flat, dtype=np.int64).reshape(-1, self.width))
            self.flat = []

    def table(self) -> np.ndarray:
        self.flush()
        if not self.blocks:
            return np.zeros((0, self.width), dtype=np.int64)
        return np.concatenate(self.blocks) if len(self.blocks) > 1 else self.blocks[0]


@dataclass
class Columns:
    """What build() collects (trace clock, ns; stacks and reasons as indexes)."""

    version: int = 0
    start_ns: int = 0
    end_ns: int = 0
    events: int = 0
    stacks: list[tuple[tuple[str, str, int], ...]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=lambda: [""])
    #: Every goroutine transition (same-state ones too: the profiles see those), rows of
    #: TRANSITION_FIELDS.
    transitions: np.ndarray = field(default_factory=lambda: np.zeros((0, 9), np.int64))
    #: Running stretches: p, g, m, start, end, stack at the end.
    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), np.int64))
    #: Syscall stretches: m, g, p (-1 once the P is gone), start, end.
    syscalls: np.ndarray = field(default_factory=lambda: np.zeros((0, 5), np.int64))
    #: Scheduling waits: g, runnable since, running at.
    waits: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    gc: list[tuple[int, int]] = field(default_factory=list)
    stw: list[tuple[int, int, str]] = field(default_factory=list)
    assists: list[tuple[int, int, int]] = field(default_factory=list)
    #: User regions (runtime/trace.WithRegion / StartRegion): g, task, name, start, end.
    regions: list[tuple[int, int, str, int, int]] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # summary.go's per-goroutine facts: name, creation, first run, end.
    g_name: dict[int, str] = field(default_factory=dict)
    g_created: dict[int, int] = field(default_factory=dict)
    g_start: dict[int, int] = field(default_factory=dict)
    g_end: dict[int, int] = field(default_factory=dict)


_METRIC_NAMES = {
    s.EV_PROCS_CHANGE: "/sched/gomaxprocs:threads",
    s.EV_HEAP_ALLOC: "/memory/classes/heap/objects:bytes",
    s.EV_HEAP_GOAL: "/gc/heap/goal:bytes",
}


class _Stacks:
    """Global stack table: a generation's stack IDs to indexes of distinct root-first frames."""

    def __init__(self, out: list) -> None:
        self.out = out
        self.index: dict[tuple, int] = {}
        self.gen: Generation | None = None
        self.local: dict[int, int] = {0: -1}

    def __call__(self, gen: Generation, sid: int | None) -> int:
        if gen is not self.gen:
            self.gen = gen
            self.local = {0: -1}
        found = self.local.get(sid or 0)
        if found is None:
            frames = tuple((f, file, line) for _, f, file, line in reversed(gen.frames(sid)))
            found = self.index.get(frames)
            if found is None:
                found = self.index[frames] = len(self.out)
                self.out.append(frames)
            self.local[sid] = found
        return found


class _Open:
    """What is open at a point of the pass: the stretches and spans that a later event ends."""

    def __init__(self) -> None:
        self.running: dict[int, tuple[int, int, int]] = {}  # g -> (start, p, m)
        self.runnable: dict[int, int] = {}  # g -> since (absent when it began before the trace)
        self.in_sys: dict[int, list[int]] = {}  # g -> [start, m, p]
        self.sys_by_p: dict[int, int] = {}  # p -> g in a syscall holding it
        self.stw: dict[int, tuple[int, str]] = {}
        self.assists: dict[int, int] = {}
        self.regions: dict[int, list[tuple[int, str, int]]] = {}  # g -> [(task, name, start)]
        self.gc: int | None = None
        self.segs, self.sysrows, self.waits = _Rows(6), _Rows(5), _Rows(3)


def build(data: bytes, version: int) -> Columns:
    """Read every event of the trace (order.read_events) and collect the Columns.

    The loop runs for each of the ~2 million events of a 10 MB trace, so what it reads on every
    event is a local variable. A goroutine's change of state is handed to :func:`_change` and
    the rare events (a P's, GC, metrics, regions: about one in 2,000) to
    :func:`_other_event`. The call to _change costs 6-11 % of this loop's own time on
    bench_trace.py's 11.2 MB ping-pong trace (1.98 M events read beforehand; CPU time, medians
    of 7-9 alternated with the loop written inline, load average 2.7-4), which is 1-4 % of
    reading and building together (0.8 % and 4.2 % in two runs, 7.5 s), within the 5 % a split
    may cost (#14)."""
    c = Columns(version=version)
    stack_of = _Stacks(c.stacks)
    reason_ids = {"": 0}
    rows = _Rows(len(TRANSITION_FIELDS))
    opened = _Open()
    stack_arg = s.STACK_ARG
    fixed_of = GO_TRANSITIONS.get
    status_types = (s.EV_GO_STATUS, s.EV_GO_STATUS_STACK)
    t = 0
    n = 0
    for ev in read_events(data, version):
        n += 1
        typ = ev[0]
        t = ev[1]
        fixed = fixed_of(typ)
        if fixed is not None:
            old, new, gi, si, has_reason = fixed
            gid = ev[gi]
            gen = ev[9]
            t_stack = stack_of(gen, ev[si]) if si >= 0 else -1
            reason = gen.string(ev[5]) if has_reason else ""
        elif typ in status_types:
            gen = ev[9]
            gid, old, new, sid = go_status(ev)
            t_stack = stack_of(gen, sid)
            reason = ""
        else:
            _other_event(c, ev, n, opened)
            continue
        i = stack_arg[typ]
        rid = reason_ids.get(reason)
        if rid is None:
            rid = reason_ids[reason] = len(c.reasons)
            c.reasons.append(reason)
        m = ev[2]
        p = ev[3]
        rows.flat.extend(
            (t, gid, old, new, rid, t_stack, stack_of(gen, ev[5 + i]) if i >= 0 else -1, m, p)
        )
        if len(rows.flat) >= rows.flush_at:
            rows.flush()
        if old == new:
            continue
        _change(c, opened, gid, old, new, t, t_stack, m, p, reason)
    c.end_ns = t
    c.events = n
    _close(c, opened, rows, t)
    return c


def _change(
    c: Columns,
    opened: _Open,
    gid: int,
    old: int,
    new: int,
    t: int,
    t_stack: int,
    m: int,
    p: int,
    reason: str,
) -> None:
    """Goroutine ``gid`` changed state from ``old`` to ``new`` at ``t``: close the stretch
    of the old state (a run segment, a scheduling wait, a syscall stretch) and open the new."""
    names = c.g_name
    # Out of the old state.
    if old == G_RUNNING:
        began = opened.running.pop(gid, None)
        if began is not None:
            opened.segs.flat.extend((began[1], gid, began[2], began[0], t, t_stack))
    elif old == G_RUNNABLE:
        since = opened.runnable.pop(gid, None)
        if since is not None and new == G_RUNNING:
            opened.waits.flat.extend((gid, since, t))
    elif old == G_SYSCALL:
        st = opened.in_sys.pop(gid, None)
        if st is not None:
            opened.sysrows.flat.extend((st[1], gid, st[2], st[0], t))
            sys_by_p = opened.sys_by_p
            if st[2] != NONE and sys_by_p.get(st[2]) == gid:
                del sys_by_p[st[2]]
    elif old == G_NOT_EXIST:
        c.g_created[gid] = t
    # summary.go names a goroutine by the root frame of its first transition stack.
    if t_stack >= 0 and gid not in names and c.stacks[t_stack]:
        names[gid] = c.stacks[t_stack][0][0]
    # Into the new one.
    if new == G_RUNNING:
        opened.running[gid] = (t, p, m)
        if gid not in c.g_start:
            c.g_start[gid] = t
    elif new == G_RUNNABLE:
        if old != G_UNDETERMINED:
            opened.runnable[gid] = t
    elif new == G_SYSCALL:
        opened.in_sys[gid] = [t, m, p]
        if p != NONE:
            opened.sys_by_p[p] = gid
    elif new == G_NOT_EXIST or (new == G_WAITING and reason == "forever"):
        c.g_end[gid] = t


def _other_event(c: Columns, ev: tuple, n: int, opened: _Open) -> None:
    """An event that is no goroutine's transition: a P's, a metric, a GC range, a user
    region, the first Sync (the trace's start)."""
    typ, t = ev[0], ev[1]
    kind = KIND[typ]
    if kind is TRANSITION:  # a P's
        if typ != s.EV_PROC_START and typ != s.EV_PROC_STATUS:
            # ProcStop or ProcSteal: a P a syscalling goroutine held is gone from it.
            pid = ev[3] if typ == s.EV_PROC_STOP else ev[5]
            holder = opened.sys_by_p.pop(pid, None)
            if holder is not None:
                st = opened.in_sys[holder]
                opened.sysrows.flat.extend((st[1], holder, st[2], st[0], t))
                st[0], st[2] = t, NONE
    elif kind == "Metric":
        c.metrics.setdefault(_METRIC_NAMES[typ], []).append((t, ev[5]))
    elif kind.startswith("Range"):
        opened.gc = _range(c, ev, opened.gc, opened.stw, opened.assists)
    elif kind == "RegionBegin" or kind == "RegionEnd":
        _region(c, ev, opened.regions)
    elif typ == s.EV_SYNC_EVENT and n == 1:
        c.start_ns = t


def _close(c: Columns, opened: _Open, rows: _Rows, t: int) -> None:
    """What is still open when the trace ends (at ``t``), ends with it; the rows become the
    Columns' tables."""
    for gid, (began, p, m) in opened.running.items():
        opened.segs.flat.extend((p, gid, m, began, t, -1))
    for gid, st in opened.in_sys.items():
        opened.sysrows.flat.extend((st[1], gid, st[2], st[0], t))
    if opened.gc is not None:
        c.gc.append((opened.gc, t))
    for began, what in opened.stw.values():
        c.stw.append((began, t, what))
    for gid, began in opened.assists.items():
        c.assists.append((gid, began, t))
    for gid, open_regions in opened.regions.items():
        c.regions.extend((gid, task, name, began, t) for task, name, began in open_regions)
    c.regions.sort(key=lambda r: (r[3], r[0]))
    c.transitions = rows.table()
    c.segments = opened.segs.table()
    c.syscalls = opened.sysrows.table()
    c.waits = opened.waits.table()


def _region(c: Columns, ev: tuple, regions_open: dict) -> None:
    """A user region's begin or end on its goroutine. Regions nest on a goroutine and end in
    the reverse order (runtime/trace: "regions must be ended in the reverse order they were
    begun", src/runtime/trace/annotation.go); an end whose begin came before the trace started
    the region at the trace's first event, as go tool trace does."""
    typ, t, gid, task, name = ev[0], ev[1], ev[4], ev[5], ev[9].string(ev[6])
    stack = regions_open.setdefault(gid, [])
    if typ == s.EV_USER_REGION_BEGIN:
        stack.append((task, name, t))
        return
    for k in range(len(stack) - 1, -1, -1):
        if stack[k][1] == name:
            task, _, began = stack.pop(k)
            break
    else:
        began = c.start_ns
    c.regions.append((gid, task, name, began, t))


def _range(c: Columns, ev: tuple, gc_open: int | None, stw_open: dict, assist_open: dict):
    """Collect GC mark phases, stop-the-world pauses and mark assists; returns the open GC's
    start (a GCActive at the trace's start opens one already running; one at a later
    generation's start continues the open one, as go tool trace keeps its begin)."""
    typ, t = ev[0], ev[1]
    if typ == s.EV_GC_BEGIN:
        return t
    if typ == s.EV_GC_ACTIVE:
        return t if gc_open is None else gc_open
    if typ == s.EV_GC_END:
        c.gc.append((t if gc_open is None else gc_open, t))
        return None
    if typ == s.EV_STW_BEGIN:
        stw_open[ev[4]] = (t, ev[9].string(ev[5]))
    elif typ == s.EV_STW_END:
        began, what = stw_open.pop(ev[4], (t, ev[9].string(ev[5])))
        c.stw.append((began, t, what))
    elif typ == s.EV_GC_MARK_ASSIST_BEGIN:
        assist_open[ev[4]] = t
    elif typ == s.EV_GC_MARK_ASSIST_ACTIVE:
        assist_open.setdefault(ev[5], t)
    elif typ == s.EV_GC_MARK_ASSIST_END:
        c.assists.append((ev[4], assist_open.pop(ev[4], t), t))
    return gc_open
