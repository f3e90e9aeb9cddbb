"""Trace: a loaded execution trace, in the arrays ``labkit.models.scheduler.Result`` uses for a model run.

Where a name is the same as Result's, so is its meaning and layout (``gomaxprocs``, ``segments``,
``thread_segments``, ``states``, ``cpu_ms()``, ``summary()``), so a widget that draws a Result
draws a Trace. Times are ms from the trace's first event (its first Sync) unless a name says
otherwise. Goroutines are named by ID (``g``, an int: the trace knows no names) and by their
entry function (``name``: the root frame of their first stack, as ``go tool trace`` names them,
src/internal/trace/summary.go). The arrays are read-only and the Trace is frozen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from labkit.traces.build import Columns
from labkit.traces.errors import TraceError
from labkit.traces.pprof import KINDS, PERIOD_TYPE, SAMPLE_TYPES, wait_stacks

#: Goroutine state names in ``transitions`` (GO_STATE_NAMES, lower case as Result.states keys).
STATE_NAMES = ("undetermined", "notexist", "runnable", "running", "waiting", "syscall")
_STATE_CODES = {name: code for code, name in enumerate(STATE_NAMES)}
_COUNTED = ("runnable", "running", "waiting", "syscall")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _table(rows: list[tuple], dtype: list[tuple[str, str]]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=dtype)
    if rows:
        cols = list(zip(*rows, strict=True))
        for (name, _), col in zip(dtype, cols, strict=True):
            out[name] = col
    return out


@dataclass(frozen=True, eq=False)
class Trace:
    """A Go execution trace (runtime/trace, ``go test -trace``, ``/debug/pprof/trace``).

    - ``gomaxprocs``: GOMAXPROCS when the trace started; ``duration_ms``: first to last event.
    - ``segments``: one row per stretch a goroutine ran on a P: ``p, g, start_ms, end_ms, m,
      stack, name`` (``stack``: where it was when it left the P, root first, ``;``-joined,
      "" when the trace has none; ``name``: its entry function). Sorted by start, then P.
    - ``thread_segments``: per-M stretches ``m, g, start_ms, end_ms, kind, p``: ``run`` (the M
      ran g on P p) and ``syscall`` (g sat in a system call on the M; p is the P it held, -1
      once sysmon's retake or a hand-off took it: src/runtime/proc.go retake, handoffp).
    - ``states``: ``t_ms`` and goroutine counts ``running``, ``runnable``, ``waiting``,
      ``syscall``, each row holding from its t_ms to the next (as Result.states).
    - ``transitions``: every goroutine state change: ``t_ms, g, from, to, reason, stack,
      event_stack, m, p``; states are STATE_NAMES; ``reason`` is the runtime's
      (``preempted``, ``chan receive``, ``sleep``, ``select``, ``sync.Mutex.Lock``, ``system
      goroutine wait``, ...: traceBlockReason strings, src/runtime/traceruntime.go);
      ``stack`` is the goroutine's own, ``event_stack`` whoever made the change (for a
      waiting -> runnable change, the goroutine that woke it).
    - ``gc``: GC mark phases ``start_ms, end_ms``; ``stw``: stop-the-world pauses ``start_ms,
      end_ms, kind``; ``gc_assists``: mark assists ``g, start_ms, end_ms``.
    - ``regions``: user regions (runtime/trace.WithRegion, StartRegion) ``g, task, name,
      start_ms, end_ms``, by start: a program's own frames or requests, when it marks them.
    - ``goroutines``: ``g, name, created_ms, start_ms, end_ms`` (NaN: before the trace began /
      never ran / did not end in it).
    - ``metrics``: Go metric name -> ``t_ms, value`` (``/sched/gomaxprocs:threads``,
      ``/memory/classes/heap/objects:bytes``, ``/gc/heap/goal:bytes``).
    - ``stacks``: each distinct stack, root first, as ``(function, file, line)`` frames.
    """

    source: str
    format_version: str
    gomaxprocs: int
    duration_ms: float
    start_ns: int
    event_count: int
    segments: np.ndarray
    thread_segments: np.ndarray
    states: Mapping[str, np.ndarray]
    gc: np.ndarray
    stw: np.ndarray
    gc_assists: np.ndarray
    regions: np.ndarray
    goroutines: np.ndarray
    metrics: Mapping[str, np.ndarray]
    stacks: tuple[tuple[tuple[str, str, int], ...], ...]
    sched_waits: np.ndarray
    _all: dict[str, Any] = field(repr=False)

    def __repr__(self) -> str:
        return f"<Trace {self.summary()}>"

    @property
    def transitions(self) -> np.ndarray:
        """Every goroutine state change (see the class docstring); built on first use, as a
        big trace has millions and a timeline needs none of their strings."""
        a = self._all
        if "transitions" not in a:
            a["transitions"] = _frozen(
                _transition_table(a["changes"], a["t0"], a["reasons"], a["stack_str"])
            )
        return a["transitions"]

    # ---- what a labkit.models.scheduler Result also has, so the same widgets draw a trace -----------------

    @property
    def end_ms(self) -> float:
        """The end of the recording, ms after its first event (Result.end_ms: end of the run)."""
        return self.duration_ms

    @property
    def params(self) -> Mapping[str, Any]:
        """What the trace says of the run's settings: GOMAXPROCS (Result.params holds the
        simulate() arguments; a trace records no others)."""
        return MappingProxyType({"gomaxprocs": self.gomaxprocs})

    @property
    def threads(self) -> Mapping[str, np.ndarray]:
        """``t_ms`` and ``count``: the OS threads (Ms) the trace has shown so far. Go keeps a
        thread once it made it (an M is parked in stopm, not ended, src/runtime/proc.go), so a
        thread counts from its first event on; threads that did nothing while tracing are not
        seen (Result.threads counts every M the model made)."""
        a = self._all
        if "threads" not in a:
            ts = self.thread_segments
            if len(ts):
                ms, first = np.unique(ts["m"], return_index=True)
                t = np.sort(ts["start_ms"][first])
                count = np.arange(1, ms.size + 1)
            else:
                t, count = np.zeros(0), np.zeros(0, dtype=np.int64)
            a["threads"] = MappingProxyType(
                {"t_ms": _frozen(np.asarray(t, float)), "count": _frozen(count)}
            )
        return a["threads"]

    @property
    def event_log(self) -> np.ndarray:
        """``t_ms, kind, p, g`` of the scheduler events a timeline marks, as Result.event_log:
        ``preempt`` (a running goroutine made runnable with reason "preempted": sysmon's
        preemption or the GC's suspendG, src/runtime/preempt.go) and ``handoff`` (a goroutine
        in a system call lost its P: retake or handoffp, src/runtime/proc.go; ``p`` is the P it
        lost). Work stealing is not traced, so a trace has no ``steal`` events."""
        a = self._all
        if "event_log" not in a:
            tr = self.transitions
            pre = tr[(tr["from"] == "running") & (tr["reason"] == "preempted")]
            rows = [
                (float(t), "preempt", int(p), int(g))
                for t, p, g in zip(pre["t_ms"], pre["p"], pre["g"], strict=True)
            ]
            ts = self.thread_segments
            sys = ts[ts["kind"] == "syscall"]
            # The stretch the P was taken from ends where the P-less one starts (same M and G).
            held = {
                (m, g, end): p
                for m, g, end, p in zip(
                    sys["m"].tolist(),
                    sys["g"].tolist(),
                    sys["end_ms"].tolist(),
                    sys["p"].tolist(),
                    strict=True,
                )
                if p >= 0
            }
            lost = sys[sys["p"] < 0]
            rows += [
                (t, "handoff", held.get((m, g, t), -1), g)
                for m, g, t in zip(
                    lost["m"].tolist(), lost["g"].tolist(), lost["start_ms"].tolist(), strict=True
                )
            ]
            rows.sort()
            a["event_log"] = _frozen(
                _table(rows, [("t_ms", "f8"), ("kind", "U13"), ("p", "i4"), ("g", "i8")])
            )
        return a["event_log"]

    def goroutine_label(self, g: int) -> str:
        """How a timeline names goroutine ``g``: its ID and entry function, as go tool trace."""
        names = self._all.get("labels")
        if names is None:
            gs = self.goroutines
            names = self._all["labels"] = dict(
                zip(gs["g"].tolist(), gs["name"].tolist(), strict=True)
            )
        name = names.get(int(g), "")
        return f"G{int(g)} {name}" if name else f"G{int(g)}"

    # ---- views --------------------------------------------------------------------------------

    def summary(self) -> str:
        """One line naming the trace and what it shows (readable without JavaScript)."""
        waits = self.sched_waits["wait_ms"]
        lat = (
            f"sched latency p50 {np.percentile(waits, 50):.3f} ms, p99 "
            f"{np.percentile(waits, 99):.3f} ms, max {waits.max():.3f} ms"
            if len(waits)
            else "no scheduling waits"
        )
        stw_ms = float(np.sum(self.stw["end_ms"] - self.stw["start_ms"]))
        return (
            f"{self.source} (Go {self.format_version} trace format): GOMAXPROCS="
            f"{self.gomaxprocs}, {self.duration_ms:.3f} ms, {self.event_count} events | "
            f"{len(self.goroutines)} goroutines, {len(self.segments)} run segments, "
            f"{len(self._all['changes'])} state changes | {lat} | {len(self.gc)} GC, "
            f"{len(self.stw)} stop-the-world ({stw_ms:.3f} ms)"
        )

    def cpu_ms(self) -> dict[int, float]:
        """CPU time each goroutine got on a P (the sum of its segments), by goroutine ID."""
        out: dict[int, float] = {}
        for g, a, b in zip(
            self.segments["g"].tolist(),
            self.segments["start_ms"].tolist(),
            self.segments["end_ms"].tolist(),
            strict=True,
        ):
            out[g] = out.get(g, 0.0) + (b - a)
        return out

    def sched_latency_ms(self) -> dict[int, np.ndarray]:
        """Every runnable -> running wait, per goroutine ID, in ms, in time order.

        A wait is from the moment the goroutine became runnable (created, woken, preempted, out
        of a syscall without a P) to the moment it ran: the scheduling latency ``go tool
        trace``'s goroutine analysis calls "Sched wait". Waits that began before the trace did
        (the goroutine was already runnable when tracing started) are left out: their start is
        unknown. ``sched_waits`` has the same waits in one table (``g, runnable_ms, wait_ms``).
        """
        w = self.sched_waits
        return {
            int(g): _frozen(w["wait_ms"][w["g"] == g].copy()) for g in np.unique(w["g"]).tolist()
        }

    def to_profile(self, kind: str = "sched"):
        """Where goroutines waited, as a ``labkit.profiles.Profile``: what ``go tool trace
        -pprof=KIND trace.out`` writes, so ``top()`` equals ``go tool pprof -top`` on it.

        ``kind``: ``sched`` (waiting for a P), ``sync`` (channels, select, sync.*), ``syscall``
        or ``net`` (the netpoller). Sample types ``contentions``/count and ``delay``/nanoseconds
        (the default); stacks are those of the event that began each wait (labkit.traces.pprof).
        """
        from labkit.profiles import Profile

        if kind not in KINDS:
            raise TraceError(
                self.source,
                f"to_profile(kind={kind!r}) is not a profile go tool trace makes",
                f"Use one of: {', '.join(KINDS)}",
            )
        a = self._all
        recs = wait_stacks(
            a["t_ns"],
            a["g"],
            a["to"],
            a["reason"],
            a["reasons"],
            a["ev_stack"],
            a["lifetimes"],
            kind,
        )
        stacks: dict[tuple[str, ...], tuple[int, int]] = {}
        for idx, (count, delay) in recs.items():
            # A frame the trace could not symbolize has no function name: go tool trace writes
            # it as a location with an address and no line, which go tool pprof lists under no
            # function, so it adds no frame here (its time still counts in the total).
            key = tuple(f for f, _, _ in self.stacks[idx] if f) if idx >= 0 else ()
            old = stacks.get(key, (0, 0))
            stacks[key] = (old[0] + count, old[1] + delay)
        return Profile.from_stacks(
            stacks,
            SAMPLE_TYPES,
            period=1,
            period_type=PERIOD_TYPE,
            source=f"{self.source} (go tool trace -pprof={kind})",
        )


def _transition_table(
    ch: np.ndarray, t0: int, reasons: list[str], stack_str: np.ndarray
) -> np.ndarray:
    """The ``transitions`` table from build()'s rows of state changes."""
    tr = np.zeros(
        len(ch),
        dtype=[
            ("t_ms", "f8"),
            ("g", "i8"),
            ("from", "O"),
            ("to", "O"),
            ("reason", "O"),
            ("stack", "O"),
            ("event_stack", "O"),
            ("m", "i8"),
            ("p", "i4"),
        ],
    )
    state_names = np.array(STATE_NAMES, dtype=object)
    tr["t_ms"] = (ch[:, 0] - t0) / 1e6
    tr["g"] = ch[:, 1]
    tr["from"] = state_names[ch[:, 2]]
    tr["to"] = state_names[ch[:, 3]]
    tr["reason"] = np.array(reasons, dtype=object)[ch[:, 4]]
    tr["stack"] = stack_str[ch[:, 5]]
    tr["event_stack"] = stack_str[ch[:, 6]]
    tr["m"] = ch[:, 7]
    tr["p"] = ch[:, 8]
    return tr


def from_columns(c: Columns, source: str) -> Trace:
    """Turn build()'s columns into a frozen Trace."""
    t0 = c.start_ns
    stack_str = np.array(
        [";".join(f for f, _, _ in frames) for frames in c.stacks] + [""], dtype=object
    )
    # Transitions: every one for the profiles, the changes for the table.
    allt = c.transitions
    ch = allt[allt[:, 2] != allt[:, 3]]
    seg = _segment_table(c.segments, t0, stack_str, c.g_name)
    threads = _thread_table(c.segments, c.syscalls, t0)
    waits = _wait_table(c.waits, t0)
    gc, stw, assists, regions = _span_tables(c, t0)
    everyone = np.unique(ch[:, 1]).tolist()
    goroutines = _goroutine_table(c, everyone)
    procs = c.metrics.get("/sched/gomaxprocs:threads")
    gomaxprocs = procs[0][1] if procs else len(np.unique(c.segments[:, 0]))
    # The summary's lifetime of each goroutine it knows (StartTime, else 0; EndTime, else the
    # last event), which the profiles clip waits to (pprofMatchingGoroutines).
    lifetimes = {gid: (c.g_start.get(gid, 0), c.g_end.get(gid, c.end_ns)) for gid in everyone}
    for arr in (seg, threads, waits, gc, stw, assists, regions, goroutines):
        _frozen(arr)
    return Trace(
        source=source,
        format_version=f"1.{c.version}",
        gomaxprocs=int(gomaxprocs),
        duration_ms=(c.end_ns - t0) / 1e6,
        start_ns=t0,
        event_count=c.events,
        segments=seg,
        thread_segments=threads,
        states=MappingProxyType({k: _frozen(v) for k, v in _state_counts(ch, t0).items()}),
        gc=gc,
        stw=stw,
        gc_assists=assists,
        regions=regions,
        goroutines=goroutines,
        metrics=MappingProxyType(_metric_tables(c)),
        stacks=tuple(c.stacks),
        sched_waits=waits,
        _all={
            "t_ns": allt[:, 0],
            "g": allt[:, 1],
            "to": allt[:, 3],
            "reason": allt[:, 4],
            "reasons": c.reasons,
            "ev_stack": allt[:, 6],
            "lifetimes": lifetimes,
            "changes": ch,
            "stack_str": stack_str,
            "t0": t0,
        },
    )


def _state_counts(ch: np.ndarray, t0: int) -> dict[str, np.ndarray]:
    """Result.states from the state changes: +1 into a state, -1 out of it, summed; one row
    per distinct time."""
    tc = (ch[:, 0] - t0) / 1e6
    keep = np.r_[tc[1:] != tc[:-1], True] if len(tc) else np.zeros(0, bool)
    states = {"t_ms": np.r_[0.0, tc[keep]]}
    for name in _COUNTED:
        code = _STATE_CODES[name]
        delta = (ch[:, 3] == code).astype(np.int64) - (ch[:, 2] == code)
        states[name] = np.r_[0, np.cumsum(delta)[keep]].astype(np.int64)
    return states


def _entry_names(gs: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """Each goroutine's entry function ("" when the trace has none), looked up once per ID."""
    if not len(gs):
        return np.zeros(0, dtype=object)
    distinct, where = np.unique(gs, return_inverse=True)
    return np.array([names.get(x, "") for x in distinct.tolist()] + [""], dtype=object)[
        where.reshape(-1)
    ]


def _segment_table(
    sg: np.ndarray, t0: int, stack_str: np.ndarray, names: dict[int, str]
) -> np.ndarray:
    """``segments`` from build()'s running stretches, by start, then P."""
    seg = np.zeros(
        len(sg),
        dtype=[
            ("p", "i4"),
            ("g", "i8"),
            ("start_ms", "f8"),
            ("end_ms", "f8"),
            ("m", "i8"),
            ("stack", "O"),
            ("name", "O"),
        ],
    )
    seg["p"], seg["g"], seg["m"] = sg[:, 0], sg[:, 1], sg[:, 2]
    seg["start_ms"], seg["end_ms"] = (sg[:, 3] - t0) / 1e6, (sg[:, 4] - t0) / 1e6
    seg["stack"] = stack_str[sg[:, 5]]
    seg["name"] = _entry_names(sg[:, 1], names)
    return seg[np.lexsort((seg["p"], seg["start_ms"]))]


def _thread_table(sg: np.ndarray, sy: np.ndarray, t0: int) -> np.ndarray:
    """``thread_segments``: the running stretches (``run``) and the syscall ones, by start,
    then M."""
    threads = np.zeros(
        len(sg) + len(sy),
        dtype=[
            ("m", "i8"),
            ("g", "i8"),
            ("start_ms", "f8"),
            ("end_ms", "f8"),
            ("kind", "U7"),
            ("p", "i4"),
        ],
    )
    threads["m"] = np.r_[sg[:, 2], sy[:, 0]]
    threads["g"] = np.r_[sg[:, 1], sy[:, 1]]
    threads["p"] = np.r_[sg[:, 0], sy[:, 2]]
    threads["start_ms"] = (np.r_[sg[:, 3], sy[:, 3]] - t0) / 1e6
    threads["end_ms"] = (np.r_[sg[:, 4], sy[:, 4]] - t0) / 1e6
    threads["kind"] = np.r_[np.full(len(sg), "run"), np.full(len(sy), "syscall")]
    return threads[np.lexsort((threads["m"], threads["start_ms"]))]


def _wait_table(w: np.ndarray, t0: int) -> np.ndarray:
    """``sched_waits``: ``g, runnable_ms, wait_ms`` of each runnable -> running wait."""
    waits = np.zeros(len(w), dtype=[("g", "i8"), ("runnable_ms", "f8"), ("wait_ms", "f8")])
    waits["g"], waits["runnable_ms"], waits["wait_ms"] = (
        w[:, 0],
        (w[:, 1] - t0) / 1e6,
        (w[:, 2] - w[:, 1]) / 1e6,
    )
    return waits


def _span_tables(c: Columns, t0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``gc``, ``stw``, ``gc_assists`` and ``regions``, in ms from the trace's start."""
    gc = _table(
        [((a - t0) / 1e6, (b - t0) / 1e6) for a, b in c.gc], [("start_ms", "f8"), ("end_ms", "f8")]
    )
    stw = _table(
        [((a - t0) / 1e6, (b - t0) / 1e6, k) for a, b, k in c.stw],
        [("start_ms", "f8"), ("end_ms", "f8"), ("kind", "U40")],
    )
    assists = _table(
        [(gid, (a - t0) / 1e6, (b - t0) / 1e6) for gid, a, b in c.assists],
        [("g", "i8"), ("start_ms", "f8"), ("end_ms", "f8")],
    )
    regions = _table(
        [(gid, task, name, (a - t0) / 1e6, (b - t0) / 1e6) for gid, task, name, a, b in c.regions],
        [("g", "i8"), ("task", "u8"), ("name", "O"), ("start_ms", "f8"), ("end_ms", "f8")],
    )
    return gc, stw, assists, regions


def _goroutine_table(c: Columns, everyone: list[int]) -> np.ndarray:
    """``goroutines``: each one's name and when it was created, first ran and ended (NaN when
    the trace does not show it)."""
    t0 = c.start_ns
    nan = float("nan")
    return _table(
        [
            (
                gid,
                c.g_name.get(gid, ""),
                (c.g_created[gid] - t0) / 1e6 if gid in c.g_created else nan,
                (c.g_start[gid] - t0) / 1e6 if gid in c.g_start else nan,
                (c.g_end[gid] - t0) / 1e6 if gid in c.g_end else nan,
            )
            for gid in everyone
        ],
        [("g", "i8"), ("name", "O"), ("created_ms", "f8"), ("start_ms", "f8"), ("end_ms", "f8")],
    )


def _metric_tables(c: Columns) -> dict[str, np.ndarray]:
    """``metrics``: each Go metric's ``t_ms, value`` rows."""
    t0 = c.start_ns
    return {
        name: _frozen(
            _table([((t - t0) / 1e6, v) for t, v in rows], [("t_ms", "f8"), ("value", "i8")])
        )
        for name, rows in c.metrics.items()
    }
