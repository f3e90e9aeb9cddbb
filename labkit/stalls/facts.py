"""What the doctor reads of a trace: each goroutine's stretches in each state, and each P's.

An execution trace logs state changes (``Trace.transitions``); a diagnosis asks about stretches:
"from when to when was G41 runnable, and who held the Ps meanwhile?". This module turns one into
the other once, in arrays the causes (:mod:`labkit.stalls.causes`) can slice by time:

* ``stretches``: per goroutine, consecutive ``(state, reason, start_ms, end_ms, p)``; a state
  is one of the runtime's (``running``, ``runnable``, ``waiting``, ``syscall``), ``reason``
  the wait reason the runtime gave when the goroutine parked (``sleep``, ``chan receive``,
  ``sync``, ... : traceBlockReason strings, src/runtime/traceruntime.go) and, for a runnable
  stretch, why it became runnable (``preempted``, ``woken``, ``created``); a waiting stretch's
  ``woken_by`` is the stack of whoever readied it, empty when no goroutine did (a timer fired,
  the network poller reported ready: the scheduler's own work), ``woken_on`` the P it happened
  on;
* ``runs``: every stretch a goroutine ran on a P, with how it ended (``preempted``, a wait
  reason, ``syscall``, ``exit``, ``trace end``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labkit.stalls.threads import HANDOFF, handoffs, locked_threads, table_index

#: The runtime's wait reasons (traceBlockReason strings, src/runtime/traceruntime.go) that
#: end in a timer firing or the network poller reporting a descriptor ready.
TIMER_REASONS = ("sleep",)
NETWORK_REASONS = ("network",)

#: Entry-function prefixes of the runtime's and the tracer's own goroutines: their waits are
#: not the program's stalls (a GC worker waits runnable by design).
SYSTEM_PREFIXES = ("runtime.", "runtime/trace.")

STRETCH = [
    ("g", "i8"),
    ("state", "U9"),
    ("reason", "O"),
    ("start_ms", "f8"),
    ("end_ms", "f8"),
    ("p", "i4"),
    ("stack", "O"),
    ("woken_by", "O"),
    ("woken_on", "i4"),
    ("woken_m", "i8"),
]
RUN = [
    ("p", "i4"),
    ("g", "i8"),
    ("start_ms", "f8"),
    ("end_ms", "f8"),
    ("ended", "O"),
    ("stack", "O"),
    ("m", "i8"),
]


@dataclass(frozen=True)
class Facts:
    """A trace read as stretches (see the module docstring); ``names`` maps a goroutine to its
    entry function; ``gc``, ``stw``, ``assists``, ``regions`` and ``syscalls`` are the trace's
    own tables (``syscalls``: the thread stretches of kind ``syscall``, with the P held or -1)."""

    source: str
    gomaxprocs: int
    end_ms: float
    stretches: np.ndarray
    runs: np.ndarray
    names: dict[int, str]
    gc: np.ndarray
    stw: np.ndarray
    assists: np.ndarray
    regions: np.ndarray
    syscalls: np.ndarray
    #: The threads (Ms) that ran goroutines: the one that never did is sysmon's.
    working_ms: frozenset = frozenset()
    #: The goroutines that behave as locked to a thread (LockOSThread) -> that thread, and the
    #: hand-offs of a P to and from those threads (labkit.stalls.threads).
    locked: dict[int, int] = field(default_factory=dict)
    handoffs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=HANDOFF))

    def name(self, g: int) -> str:
        """``G41 main.render``: the goroutine's ID and entry function, as go tool trace."""
        entry = self.names.get(int(g), "")
        return f"G{int(g)} {entry}" if entry else f"G{int(g)}"

    def of(self, g: int) -> np.ndarray:
        """Goroutine ``g``'s stretches, in time order."""
        gs = table_index(self.stretches, "goroutines", _sorted_goroutines)
        if gs is None:
            return self.stretches[self.stretches["g"] == g]
        lo, hi = np.searchsorted(gs, [g, g + 1])
        return self.stretches[lo:hi]

    def runs_between(self, start_ms: float, end_ms: float) -> np.ndarray:
        """The runs on any P that overlap ``[start_ms, end_ms]``."""
        r = self.runs
        return r[(r["start_ms"] < end_ms) & (r["end_ms"] > start_ms)]


def _sorted_goroutines(stretches: np.ndarray) -> np.ndarray | None:
    """The stretches' goroutines, when in order (as both readers build them), so that
    ``Facts.of`` is a binary search, not a scan of every stretch; None otherwise."""
    gs = np.ascontiguousarray(stretches["g"])
    return gs if bool(np.all(gs[1:] >= gs[:-1])) else None


def from_trace(trace: Any) -> Facts:
    """The Facts of a ``labkit.traces.Trace`` (vectorised: a 10 MB trace has 2 million
    transitions)."""
    tr = trace.transitions
    tr = tr[tr["from"] != tr["to"]]  # a same-state transition is no stretch's end
    tr = tr[np.lexsort((tr["t_ms"], tr["g"]))]  # by goroutine, then time (stable)
    end = float(trace.duration_ms)
    n = len(tr)
    # the next change of the same goroutine ends each stretch; the last one ends with the trace
    last = np.ones(n, dtype=bool)
    if n > 1:
        last[:-1] = tr["g"][1:] != tr["g"][:-1]
    nxt = np.minimum(np.arange(n) + 1, max(n - 1, 0))
    until = np.where(last, end, tr["t_ms"][nxt])
    keep = ~np.isin(tr["to"], ("notexist", "undetermined"))
    ts = trace.thread_segments
    gs = trace.goroutines
    stretches = _trace_stretches(tr, last, nxt, until, keep)
    runs = _trace_runs(tr, last, nxt, until, keep)
    names = dict(zip(gs["g"].tolist(), gs["name"].tolist(), strict=True))
    locked = locked_threads(stretches, runs, names, SYSTEM_PREFIXES)
    return Facts(
        source=trace.source,
        gomaxprocs=int(trace.gomaxprocs),
        end_ms=end,
        stretches=stretches,
        runs=runs,
        names=names,
        gc=trace.gc,
        stw=trace.stw,
        assists=trace.gc_assists,
        regions=trace.regions,
        syscalls=ts[ts["kind"] == "syscall"],
        working_ms=frozenset(np.unique(ts["m"]).tolist()),
        locked=locked,
        handoffs=handoffs(stretches, runs, locked),
    )


def _trace_stretches(
    tr: np.ndarray, last: np.ndarray, nxt: np.ndarray, until: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """The STRETCH rows of a trace's state changes ``tr`` (by goroutine, then time): each
    change starts a stretch that the next change of the goroutine (``nxt``, unless ``last``)
    ends at ``until``; ``keep`` drops the stretches of goroutines not (yet) alive."""
    to, frm = tr["to"], tr["from"]
    reason = tr["reason"].astype(object)
    why = reason.copy()
    runnable = to == "runnable"
    from_running = frm == "running"
    why[runnable & from_running & (reason == "preempted")] = "preempted"
    why[runnable & from_running & (reason != "preempted")] = "yielded"
    why[runnable & ~from_running] = "woken"
    why[runnable & (frm == "notexist")] = "created"
    woken_by = np.where(last, "", tr["event_stack"][nxt]).astype(object)
    woken_on = np.where(last, -1, tr["p"][nxt])
    woken_m = np.where(last, -1, tr["m"][nxt])
    stretches = np.zeros(int(keep.sum()), dtype=STRETCH)
    for name, col in (
        ("g", tr["g"]),
        ("state", to),
        ("reason", why),
        ("start_ms", tr["t_ms"]),
        ("end_ms", until),
        ("p", tr["p"]),
        ("stack", tr["stack"]),
        ("woken_by", woken_by),
        ("woken_on", woken_on),
        ("woken_m", woken_m),
    ):
        stretches[name] = col[keep]
    return stretches


def _trace_runs(
    tr: np.ndarray, last: np.ndarray, nxt: np.ndarray, until: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """The RUN rows of a trace's running stretches (arguments as ``_trace_stretches``), with
    how each ended (the next change's kind), by start, then P."""
    to = tr["to"]
    nto, nreason = to[nxt], tr["reason"][nxt].astype(object)
    ended = np.where(
        nto == "runnable",
        np.where(nreason == "preempted", "preempted", "yielded"),
        np.where(
            nto == "waiting",
            np.where(nreason == "", "waiting", nreason),
            np.where(nto == "notexist", "exit", nto),
        ),
    ).astype(object)
    ended[last] = "trace end"
    is_run = keep & (to == "running")
    runs = np.zeros(int(is_run.sum()), dtype=RUN)
    for name, col in (
        ("p", tr["p"]),
        ("g", tr["g"]),
        ("start_ms", tr["t_ms"]),
        ("end_ms", until),
        ("ended", ended),
        ("stack", np.where(last, "", tr["stack"][nxt]).astype(object)),
        ("m", tr["m"]),
    ):
        runs[name] = col[is_run]
    return runs[np.lexsort((runs["p"], runs["start_ms"]))]


#: The model's wait reasons (the goroutine dump's waitReasonStrings, src/runtime/runtime2.go)
#: as a trace gives them (traceBlockReason strings, src/runtime/traceruntime.go): the dump
#: names the primitive, the trace says "sync" and leaves it to the stack.
_TRACE_REASON = {
    "IO wait": "network",
    "sync.Mutex.Lock": "sync",
    "sync.RWMutex.Lock": "sync",
    "sync.RWMutex.RLock": "sync",
    "sync.WaitGroup.Wait": "sync",
    "sync.Cond.Wait": "sync.(*Cond).Wait",
}
_TRACE_STACK = {
    "sync.Mutex.Lock": "sync.(*Mutex).Lock",
    "sync.RWMutex.Lock": "sync.(*RWMutex).Lock",
    "sync.RWMutex.RLock": "sync.(*RWMutex).RLock",
}
_STATES = ("runnable", "running", "waiting", "syscall", "notexist")


def from_result(result: Any) -> Facts:
    """The Facts of a model run (``labkit.models.scheduler.Result``), read the same way as a trace's: each
    G's history of status changes (casgstatus, with the wait reason gopark gave), the P each
    ran on (``segments``) and the P each was readied on (``event_log``'s ready and wake), so the
    doctor diagnoses the model and real Go with the same code. The model has no GC, no regions
    and no runtime goroutines."""
    gs = result._goroutines
    goid = {g["name"]: int(g["goid"]) for g in gs}
    end = float(result.end_ms)
    log = result.event_log
    readied = log[np.isin(log["kind"], ("ready", "wake"))]
    seg = result.segments
    woke_on = {
        (goid[g], round(float(t), 9)): int(p)
        for t, g, p in zip(readied["t_ms"], readied["g"], readied["p"], strict=True)
    }
    ran_on = {
        (goid[g], round(float(t), 9)): (int(p), int(m))
        for t, g, p, m in zip(seg["start_ms"], seg["g"], seg["p"], seg["m"], strict=True)
    }
    rows, runs = [], []
    for g in gs:
        _history_rows(g, end, ran_on, woke_on, rows, runs)
    stretches = _table(rows, STRETCH)
    stretches = stretches[np.lexsort((stretches["start_ms"], stretches["g"]))]
    run_table = _table([r for r in runs if r[0] >= 0], RUN)
    run_table = run_table[np.lexsort((run_table["p"], run_table["start_ms"]))]
    names = {int(g["goid"]): g["name"] for g in gs}
    locked = _model_locked(gs, run_table)
    return Facts(
        source=f"model run ({result.program})",
        gomaxprocs=int(result.gomaxprocs),
        end_ms=end,
        stretches=stretches,
        runs=run_table,
        names=names,
        gc=np.zeros(0, dtype=[("start_ms", "f8"), ("end_ms", "f8")]),
        stw=np.zeros(0, dtype=[("start_ms", "f8"), ("end_ms", "f8"), ("kind", "U40")]),
        assists=np.zeros(0, dtype=[("g", "i8"), ("start_ms", "f8"), ("end_ms", "f8")]),
        regions=np.zeros(
            0,
            dtype=[
                ("g", "i8"),
                ("task", "u8"),
                ("name", "O"),
                ("start_ms", "f8"),
                ("end_ms", "f8"),
            ],
        ),
        syscalls=_model_syscalls(stretches, runs, log, goid),
        locked=locked,
        handoffs=handoffs(stretches, run_table, locked),
    )


def _model_locked(gs: list[dict], runs: np.ndarray) -> dict[int, int]:
    """The model's Gs that locked their thread (its history records dolockOSThread) -> the M
    of their last run: the model says what a trace leaves to be inferred (labkit.stalls.threads)."""
    out = {}
    for g in gs:
        if any(h[4] for h in g["history"]):
            ms = runs["m"][runs["g"] == int(g["goid"])]
            if len(ms):
                out[int(g["goid"])] = int(ms[-1])
    return out


def _history_rows(g: dict, end: float, ran_on: dict, woke_on: dict, rows: list, runs: list) -> None:
    """Append model goroutine ``g``'s stretches (STRETCH rows) to ``rows`` and its runs (RUN
    rows, P -1 when no segment starts there) to ``runs``: one per change of status in its
    history, each lasting until the next (the last until ``end``)."""
    gid = g["goid"]
    hist = [h for k, h in enumerate(g["history"]) if k == 0 or h[1] != g["history"][k - 1][1]]
    for k, (t, status, reason, stack, _locked) in enumerate(hist):
        state = _STATES[status]
        last = k + 1 == len(hist)
        until = end if last else float(hist[k + 1][0])
        if state == "notexist":
            continue
        why = _TRACE_REASON.get(reason, reason)
        frames = stack + (";" + _TRACE_STACK[reason] if reason in _TRACE_STACK else "")
        if state == "runnable":
            prev = _STATES[hist[k - 1][1]] if k else "notexist"
            why = {"running": "preempted", "notexist": "created"}.get(prev, "woken")
        p, m = ran_on.get((gid, round(float(t), 9)), (-1, -1)) if state == "running" else (-1, -1)
        # -2: readied by a P whose netpoll the event log does not name (injectglist); the
        # model's sysmon polls no network, so nothing in it is woken with no P (-1)
        on = -1 if last else woke_on.get((gid, round(until, 9)), -2)
        rows.append((gid, state, why, float(t), until, p, frames, "", on, -2))
        if state == "running":
            runs.append((p, gid, float(t), until, _run_ended(hist, k), stack, m))


def _run_ended(hist: list, k: int) -> str:
    """How the run that starts at history entry ``k`` ended, in a trace's words: the next
    entry's state, or its wait reason (as the trace gives it) when it parked."""
    if k + 1 == len(hist):
        return "trace end"
    nstate = _STATES[hist[k + 1][1]]
    nreason = hist[k + 1][2]
    if nstate == "runnable":
        return "preempted"
    if nstate == "waiting":
        return _TRACE_REASON.get(nreason, nreason) or nstate
    if nstate == "notexist":
        return "exit"
    return nstate


SYSCALL_ROW = [
    ("m", "i8"),
    ("g", "i8"),
    ("start_ms", "f8"),
    ("end_ms", "f8"),
    ("kind", "U7"),
    ("p", "i4"),
]


def _model_syscalls(stretches: np.ndarray, runs: list, log: np.ndarray, goid: dict) -> np.ndarray:
    """A model G's system calls as a trace's thread stretches: the P it ran on stays with it
    (entersyscall keeps the P in _Psyscall, src/runtime/proc.go) until sysmon's retake or a
    hand-off takes it (the event log's ``handoff``), then the call goes on without a P."""
    handoffs = log[log["kind"] == "handoff"]
    taken: dict[int, list[float]] = {}
    for t, g in zip(handoffs["t_ms"].tolist(), handoffs["g"].tolist(), strict=True):
        taken.setdefault(goid[g], []).append(t)
    ran: dict[int, list[tuple[float, int]]] = {}
    for p, g, start, *_ in sorted(runs, key=lambda r: r[2]):
        if p >= 0:
            ran.setdefault(g, []).append((start, p))
    rows = []
    for s in stretches[stretches["state"] == "syscall"]:
        g, a, b = int(s["g"]), float(s["start_ms"]), float(s["end_ms"])
        before = [p for start, p in ran.get(g, []) if start <= a]
        p = before[-1] if before else -1
        cut = next((t for t in taken.get(g, []) if a <= t <= b), b)
        rows.append((-1, g, a, cut, "syscall", p))
        if cut < b:
            rows.append((-1, g, cut, b, "syscall", -1))
    return _table(rows, SYSCALL_ROW)


def _table(rows: list[tuple], dtype: list[tuple[str, str]]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=dtype)
    if rows:
        for (name, _), col in zip(dtype, zip(*rows, strict=True), strict=True):
            out[name] = col
    return out
