"""What a run of the scheduler model produced, in arrays the widgets and tests read.

``Result`` is built once from the raw records of ``engine.Scheduler`` and never changes. Views
over it (a goroutine dump in Go's ``?debug=2`` text format, CPU profile samples at 100 Hz, a
one-line summary) are computed on demand, so a run costs nothing for what a notebook never asks.
"""

from __future__ import annotations

import zlib
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.models.scheduler import runtime as rt
from labkit.models.scheduler.params import SchedParams
from labkit.models.scheduler.records import (
    ROW_GLOBAL,
    ROW_RUNQ,
    ROW_STATUSES,
    ROW_THREADS,
    history_entries,
    row_width,
)
from labkit.models.scheduler.state import DEAD, RUNNABLE, RUNNING, SYSCALL, WAITING

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler

# Library frames shown above the user's frames in a goroutine dump, per wait reason. A dump made
# by runtime.Stack(buf, true) (what /debug/pprof/goroutine?debug=2 serves) hides unexported
# runtime.* frames such as runtime.gopark or runtime.chanrecv whatever GOTRACEBACK says: Stack
# forces traceback level 1 (src/runtime/mprof.go:1703-1706; showframe in traceback.go), so a
# goroutine blocked on a channel shows its own function first; these are the frames that do show
# (checked against a real go1.27.3 ?debug=2 dump in tests/data/profiles/goroutine-debug2.txt).
# Each frame is (function, file under GOROOT/src, line, offset): the line and the PC offset as a
# real go1.27.3 linux/amd64 dump prints them (labkit/scenarios/casestudy/recorded/dump_*.txt for the network
# frames, tests/data/artefacts/sigquit-crash.txt and tests/data/profiles/goroutine-debug2.txt for
# the syscall and sleep frames). An inlined frame has no offset and "(...)" for arguments.
_RUNTIME_FRAMES = {
    "sleep": (("time.Sleep", "runtime/time.go", 368, 0x165),),
    "IO wait": (
        ("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351, 0x85),
        ("internal/poll.(*pollDesc).wait", "internal/poll/fd_poll_runtime.go", 84, 0x27),
        ("internal/poll.(*pollDesc).waitRead", "internal/poll/fd_poll_runtime.go", 89, None),
        ("internal/poll.(*FD).Read", "internal/poll/fd_unix.go", 170, 0x2A8),
        ("net.(*netFD).Read", "net/fd_posix.go", 68, 0x25),
        ("net.(*conn).Read", "net/net.go", 196, 0x45),
    ),
    # A blocking read(2) of a file: syscall.Read is inlined into its caller.
    "syscall": (
        ("syscall.Syscall", "syscall/syscall_linux.go", 74, 0x25),
        ("syscall.read", "syscall/zsyscall_linux_amd64.go", 736, 0x38),
        ("syscall.Read", "syscall/syscall_unix.go", 183, None),
    ),
}
# sync.Mutex and sync.WaitGroup park in runtime semaphores (src/runtime/sema.go:93-115): the
# frames a go1.27.3 linux/amd64 dump prints above the goroutine's own
# (tests/data/sched/sync-waits-debug2.txt, made by tests/data/sched/syncdump.go). Only for the
# waits of a Mutex or WaitGroup step (a wait(ms, reason) with the same reason shows none, as
# before). A select, a ticker's channel and select {} show the goroutine's own frames only,
# like a channel receive.
_SEMA_FRAMES = {
    "sync.Mutex.Lock": (
        ("internal/sync.runtime_SemacquireMutex", "runtime/sema.go", 95, 0x25),
        ("internal/sync.(*Mutex).lockSlow", "internal/sync/mutex.go", 149, 0x15A),
        ("internal/sync.(*Mutex).Lock", "internal/sync/mutex.go", 70, None),
        ("sync.(*Mutex).Lock", "sync/mutex.go", 46, None),
    ),
    "sync.WaitGroup.Wait": (
        ("sync.runtime_SemacquireWaitGroup", "runtime/sema.go", 114, 0x2E),
        ("sync.(*WaitGroup).Wait", "sync/waitgroup.go", 206, 0x85),
    ),
}
# A network wait whose innermost user frame writes (a Write or Flush) waits for the socket to
# take bytes: the same netpoller park, reached through waitWrite and (*FD).Write.
_WRITE_WAIT_FRAMES = (
    ("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351, 0x85),
    ("internal/poll.(*pollDesc).wait", "internal/poll/fd_poll_runtime.go", 84, 0x27),
    ("internal/poll.(*pollDesc).waitWrite", "internal/poll/fd_poll_runtime.go", 93, None),
    ("internal/poll.(*FD).Write", "internal/poll/fd_unix.go", 395, 0x32A),
    ("net.(*netFD).Write", "net/fd_posix.go", 109, 0x25),
    ("net.(*conn).Write", "net/net.go", 208, 0x45),
)
_GOROOT = "/usr/local/go/src/"
_APP = "/app/main.go"


def _line_of(func: str) -> int:
    """A stable made-up line number for a user function (the model has no source files)."""
    return 10 + zlib.crc32(func.encode()) % 190


def _file_of(func: str) -> str:
    """Where a function's source would be: the program for package main, GOROOT for the
    standard library, the module cache for a third-party import path (one with a dot)."""
    head, _, tail = func.rpartition("/")
    pkg = tail.split(".", 1)[0]
    path = f"{head}/{pkg}" if head else pkg
    if path == "main":
        return _APP
    if "." in path.split("/", 1)[0]:
        return f"/go/pkg/mod/{path}/{pkg}.go"
    return f"{_GOROOT}{path}/{pkg}.go"


def _offset_of(func: str) -> str:
    return f"+0x{(zlib.crc32(func.encode()) >> 8) % 0x1F0 + 0x10:x}"


def _table(flat: list, fields: list[tuple[str, str | None]]) -> np.ndarray:
    """A structured array from rows stored one after another in a flat list (as the scheduler
    records them); string fields (dtype None) get their widest width.

    One column at a time, each slice freed before the next: a 100,000-round ping-pong logs
    millions of rows, and all columns at once (plus numpy's copy of each) added ~300 MB to the
    kernel's peak (the appendix's ping-pong beside a hog)."""
    n = len(fields)
    dtype = []
    for i, (name, kind) in enumerate(fields):
        if kind is None:
            kind = f"U{max(map(len, flat[i::n]), default=1) or 1}"
        dtype.append((name, kind))
    table = np.zeros(len(flat) // n, dtype=dtype)
    for i, (name, _) in enumerate(fields):
        column = flat[i::n]
        table[name] = column
        del column
    return table


def _primitive_stats(st: Any) -> dict[str, Any]:
    """One primitive's counters for Result.primitives; a ticker started several times sums the
    counters of its timer channels."""
    if isinstance(st, list):
        total: dict[str, Any] = {"kind": "ticker", "starts": len(st)}
        for tc in st:
            for k, v in tc.stats().items():
                total[k] = v if k == "period_ms" else total.get(k, 0) + v
        return total
    kind = type(st).__name__.removesuffix("State").lower()
    return {"kind": kind, **st.stats()}


class Result:
    """The outcome of ``simulate()``; every array is a plain numpy array (structured for rows).

    - ``finished_ms``: goroutine name -> virtual ms it returned at, or None if it did not.
    - ``created_ms``: goroutine name -> virtual ms its ``go`` statement ran, None if never.
    - ``marks``: label -> virtual ms at which a G reached each ``mark(label)``, in order.
    - ``mark_values``: label -> the value of each of those marks (``mark(label, value)``), in
      the same order, None for a mark without one.
    - ``segments``: one row per stretch a G ran on a P: ``p, g, start_ms, end_ms, m, stack``.
    - ``states``: ``t_ms`` and one count array per state: ``running``, ``runnable``,
      ``waiting``, ``syscall``; each row holds from its ``t_ms`` to the next.
    - ``runq``: ``t_ms``, ``local`` (one column per P, runnext included) and ``global``.
    - ``threads``: ``t_ms`` and ``count`` of OS threads (sysmon's included).
    - ``event_log``: notable events ``t_ms, kind, p, g`` (kind: preempt, handoff, steal,
      global_put, spawn, ready, wake, park, syscall_enter, syscall_exit, exit, and yield: a
      starving Mutex's Unlock handing its P to the waiter, goyield).
    - ``thread_segments``: per-M stretches ``m, g, start_ms, end_ms, kind`` (run, syscall,
      locked_wait, netpoll).
    - ``stats``: counters (preemptions, steals, handoffs, global_runq_puts, threads_peak,
      events, ...); ``deadlock``: None or Go's fatal message; ``params``: the inputs.
    - ``futex_wake_ms``: with the OS layer, the CPU each goroutine spent waking idle Ps'
      threads (its readies' wakep -> futexwakeup), counted in its ``cpu_ms``.
    - ``chan_op_ms``: the CPU each goroutine spent in channel operations that neither parked
      nor handed over (CHAN_OP_MS each, more when the channel is shared between Ps), counted
      in its ``cpu_ms``; ``chan_shared_ms``: the part the sharing cost (spinning for the
      channel's lock, its cache lines moving between CPUs).
    - ``primitives``: name -> what the run counted for each Mutex (acquired, contended, spins,
      starvation_switches, handoffs, max_wait_ms), WaitGroup, Ticker (fired, sent, skipped
      and dropped ticks) and Flag it used, with its ``kind``.

    The arrays are built from the run's raw records the first time they are read, so a notebook
    pays only for the views it draws.
    """

    def __init__(self, s: Scheduler, params: SchedParams, program: str) -> None:
        self.params = params
        self.program = program  # main's name
        self.finished_ms: dict[str, float | None] = dict(s.finished)
        self.created_ms: dict[str, float | None] = {
            **dict.fromkeys(s.finished),
            **{g.name: g.created_ms for g in s.gs},
        }
        self.marks: dict[str, list[float]] = {k: list(v) for k, v in s.marks.items()}
        self._mark_vals = s.mark_vals
        self.stats: dict[str, int] = dict(s.stats)
        #: CPU each goroutine spent on the futex wakes its readies made (threads.wakep; only
        #: with the OS layer, simulate(cores=n)): part of its ``cpu_ms``, beyond its steps'.
        self.futex_wake_ms: dict[str, float] = dict(s.futex_paid)
        #: CPU each goroutine spent in channel operations that neither parked nor handed over
        #: (chan.op_burst, CHAN_OP_MS each, and chan_shared_ms): part of its ``cpu_ms``, beyond
        #: its steps'.
        self.chan_op_ms: dict[str, float] = {
            g.name: g.ops * rt.CHAN_OP_MS + g.shared_ms for g in s.gs if g.ops
        }
        #: The part of chan_op_ms that sharing a channel between Ps cost: spinning for its lock
        #: and its cache lines coming from the other CPU (chan.op_burst, CHAN_LINE_MS).
        self.chan_shared_ms: dict[str, float] = {g.name: g.shared_ms for g in s.gs if g.shared_ms}
        self._sema_parks = s.sema_parks
        self.primitives: dict[str, dict[str, Any]] = {
            name: _primitive_stats(st) for name, st in s.prims.items()
        }
        self.deadlock: str | None = s.deadlock
        self.end_ms: float = s.end_ms
        self._gomaxprocs = s.gomaxprocs
        self._segments = s.segments
        self._series_t = s.series_t
        self._series_rows = s.series_rows
        self._events = s.events
        self._thread_segments = s.thread_segments
        # What a goroutine dump needs of each G, as plain tuples: the Result keeps no G objects,
        # so the run's whole object graph is freed as soon as the Scheduler goes.
        self._gs = [
            (
                g.goid,
                g.name,
                None if g.creator is None else g.creator.goid,
                None if g.creator is None else g.creator.default_stack.split(";")[-1],
                g.created_ms,
                g.history,
                g.waits_on,
            )
            for g in s.gs
        ]

    @classmethod
    def from_scheduler(cls, s: Scheduler, params: SchedParams, program: str) -> Result:
        """The Result of a finished ``Scheduler.simulate()`` of ``program`` (main's name)."""
        return cls(s, params, program)

    @property
    def gomaxprocs(self) -> int:
        """GOMAXPROCS of the run (as ``labkit.traces.Trace.gomaxprocs``)."""
        return self.params.gomaxprocs

    def __repr__(self) -> str:
        return f"<Result {self.summary()}>"

    @cached_property
    def mark_values(self) -> dict[str, list[Any]]:
        values: dict[str, list[Any]] = {k: [None] * len(v) for k, v in self.marks.items()}
        for label, pairs in self._mark_vals.items():
            for i, value in pairs:
                values[label][i] = value
        return values

    # The tables below are built once, when first read (cached), from the flat lists the
    # scheduler recorded; the list is dropped then, so a long run does not hold both.

    @cached_property
    def segments(self) -> np.ndarray:
        fields = [("p", "i4"), ("g", None), ("start_ms", "f8"), ("end_ms", "f8"), ("m", "i4")]
        seg = _table(self._segments, [*fields, ("stack", None)])
        self._segments = None
        return seg[np.lexsort((seg["p"], seg["start_ms"]))]

    @cached_property
    def _series_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        n = self._gomaxprocs
        t = np.array(self._series_t, dtype="f8")
        ints = np.array(self._series_rows, dtype=np.int64).reshape(len(t), row_width(n))
        return t, ints

    @cached_property
    def states(self) -> dict[str, np.ndarray]:
        t, ints = self._series_arrays
        return {"t_ms": t.copy(), **{k: ints[:, i].copy() for i, k in enumerate(ROW_STATUSES)}}

    @cached_property
    def runq(self) -> dict[str, np.ndarray]:
        t, ints = self._series_arrays
        n = self._gomaxprocs
        queue, runnext = ints[:, ROW_RUNQ : ROW_RUNQ + n], ints[:, ROW_RUNQ + n :]
        local = queue + runnext  # as runqempty counts
        return {"t_ms": t.copy(), "local": local, "global": ints[:, ROW_GLOBAL].copy()}

    @cached_property
    def threads(self) -> dict[str, np.ndarray]:
        t, ints = self._series_arrays
        return {"t_ms": t.copy(), "count": ints[:, ROW_THREADS].copy()}

    @cached_property
    def event_log(self) -> np.ndarray:
        log = _table(self._events, [("t_ms", "f8"), ("kind", "U13"), ("p", "i4"), ("g", None)])
        self._events = None
        return log

    @cached_property
    def thread_segments(self) -> np.ndarray:
        fields = [("m", "i4"), ("g", None), ("start_ms", "f8"), ("end_ms", "f8"), ("kind", "U11")]
        ts = _table(self._thread_segments, fields)
        self._thread_segments = None
        return ts[np.lexsort((ts["m"], ts["start_ms"]))]

    @cached_property
    def _goroutines(self) -> list[dict[str, Any]]:
        """Each G's facts, its history as (t_ms, status, reason, stack, locked) entries."""
        keys = ("goid", "name", "creator_goid", "creator_func", "created_ms", "history", "waits_on")
        return [
            dict(zip(keys, (*g[:5], history_entries(g[5]), g[6]), strict=True)) for g in self._gs
        ]

    # ---- views --------------------------------------------------------------------------------

    def summary(self) -> str:
        """One line: the inputs, then what happened (readable without JavaScript)."""
        p = self.params
        done = sum(v is not None for v in self.finished_ms.values())
        s = self.stats
        text = (
            f"sched: GOMAXPROCS={p.gomaxprocs} async_preempt={p.async_preempt} "
            f"until_ms={p.until_ms:g} seed={p.seed}"
            f"{'' if p.cores is None else f' cores={p.cores}'} | {done}/{len(self.finished_ms)} "
            f"goroutines finished, end {self.end_ms:.3f} ms | preemptions {s['preemptions']}, "
            f"steals {s['steals']}, handoffs {s['handoffs']}, global puts "
            f"{s['global_runq_puts']}, threads peak {s['threads_peak']}, events {s['events']}"
        )
        if self.deadlock:
            text += " | DEADLOCK"
        return text

    def cpu_ms(self) -> dict[str, float]:
        """CPU time each goroutine got on a P (the sum of its segments)."""
        out = dict.fromkeys(self.finished_ms, 0.0)
        for g, a, b in zip(
            self.segments["g"].tolist(),
            self.segments["start_ms"].tolist(),
            self.segments["end_ms"].tolist(),
            strict=True,
        ):
            out[g] += b - a
        return out

    def cpu_samples(self, hz: float = 100) -> dict[tuple[str, ...], int]:
        """What each P was running at each sample instant, like a CPU profile (100 Hz: SIGPROF
        every 10 ms of CPU, runtime/pprof). Keys are root-first stack tuples; values counts."""
        if not hz > 0:
            raise ValueError(f"cpu_samples(hz=...) must be > 0, got {hz!r}")
        period = 1000.0 / hz
        ts = np.arange(1, int(self.end_ms // period) + 1) * period
        out: dict[tuple[str, ...], int] = {}
        if not len(ts) or not len(self.segments):
            return out
        seg = self.segments
        for pid in np.unique(seg["p"]):
            mine = seg[seg["p"] == pid]
            mine = mine[np.argsort(mine["start_ms"], kind="stable")]
            idx = np.searchsorted(mine["start_ms"], ts, side="right") - 1
            ok = idx >= 0
            hit = idx[ok]
            inside = ts[ok] < mine["end_ms"][hit]
            stacks, counts = np.unique(mine["stack"][hit[inside]], return_counts=True)
            for st, c in zip(stacks.tolist(), counts.tolist(), strict=True):
                key = tuple(st.split(";"))
                out[key] = out.get(key, 0) + c
        return dict(sorted(out.items()))

    def to_profile(self, hz: float = 100):
        """The run as a CPU profile: ``cpu_samples(hz)`` wrapped as a ``labkit.profiles.Profile``
        with Go's CPU sample types (samples/count, cpu/nanoseconds; period 1e9/hz ns), so it opens
        in the flame-graph widget and exports to pprof, folded or speedscope like a real one."""
        from labkit.profiles import Profile

        period_ns = int(round(1e9 / hz))
        samples = self.cpu_samples(hz)
        stacks = {stack: (count, count * period_ns) for stack, count in samples.items()}
        return Profile.from_stacks(
            stacks,
            [("samples", "count"), ("cpu", "nanoseconds")],
            period=period_ns,
            period_type=("cpu", "nanoseconds"),
            source=(
                f"labkit.models.scheduler model, GOMAXPROCS={self.params.gomaxprocs}, seed={self.params.seed}"
            ),
        )

    def goroutine_dump(self, at_ms: float) -> str:
        """Every live goroutine at ``at_ms``, in the text format of ``/debug/pprof/goroutine?debug=2``
        (runtime.Stack(buf, true), traceback.go): a header ``goroutine N [status]:``, two-line
        frames leaf first, and ``created by``.

        The standard library's frames carry their real go1.27.3 file:line; the model has no
        source files for the program's own functions, so their lines and offsets are made up
        (stable per function name) and the arguments are ``...``. Label a dump shown to a reader
        as the model's."""
        if not isinstance(at_ms, (int, float)) or at_ms < 0:
            raise ValueError(f"goroutine_dump(at_ms=...) must be a time >= 0 ms, got {at_ms!r}")
        blocks = []
        for g in self._goroutines:
            if g["created_ms"] > at_ms:
                continue
            state = None
            for entry in g["history"]:
                if entry[0] > at_ms:
                    break
                state = entry
            if state is None or state[1] == DEAD:
                continue
            _, status, reason, stack, locked = state
            label = {RUNNING: "running", RUNNABLE: "runnable", SYSCALL: "syscall"}.get(
                status, reason
            )
            waited_min = int((at_ms - state[0]) // 60_000)
            if status == WAITING and waited_min >= 1:
                label += f", {waited_min} minutes"
            if locked:
                label += ", locked to thread"
            lines = [f"goroutine {g['goid']} [{label}]:"]
            if status in (WAITING, SYSCALL):
                frames = _RUNTIME_FRAMES.get(reason, ())
                if (g["goid"], state[0]) in self._sema_parks:
                    frames = _SEMA_FRAMES[reason]
                if reason == "IO wait" and stack.rsplit(";", 1)[-1].endswith(("Write", "Flush")):
                    frames = _WRITE_WAIT_FRAMES
                for func, path, line, offset in frames:
                    lines.append(f"{func}(...)")
                    pc = "" if offset is None else f" +0x{offset:x}"
                    lines.append(f"\t{_GOROOT}{path}:{line}{pc}")
            for func in reversed(stack.split(";")):
                lines.append(f"{func}(...)")
                lines.append(f"\t{_file_of(func)}:{_line_of(func)} {_offset_of(func)}")
            if g["creator_goid"] is not None:
                func = g["creator_func"]
                lines.append(f"created by {func} in goroutine {g['creator_goid']}")
                lines.append(f"\t{_file_of(func)}:{_line_of(func) + 1} {_offset_of(func + '.go')}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + ("\n" if blocks else "")
