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

from dataclasses import dataclass
from typing import Any

import numpy as np

#: The runtime's wait reasons (traceBlockReason strings, src/runtime/traceruntime.go) that
#: end in a timer firing or the network poller reporting a descriptor ready.
TIMER_REASONS = ("sleep",)
NETWORK_REASONS = ("network",)

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
]
RUN = [
    ("p", "i4"),
    ("g", "i8"),
    ("start_ms", "f8"),
    ("end_ms", "f8"),
    ("ended", "O"),
    ("stack", "O"),
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

    def name(self, g: int) -> str:
        """``G41 main.render``: the goroutine's ID and entry function, as go tool trace."""
        entry = self.names.get(int(g), "")
        return f"G{int(g)} {entry}" if entry else f"G{int(g)}"

    def of(self, g: int) -> np.ndarray:
        """Goroutine ``g``'s stretches, in time order."""
        return self.stretches[self.stretches["g"] == g]

    def runs_between(self, start_ms: float, end_ms: float) -> np.ndarray:
        """The runs on any P that overlap ``[start_ms, end_ms]``."""
        r = self.runs
        return r[(r["start_ms"] < end_ms) & (r["end_ms"] > start_ms)]


def from_trace(trace: Any) -> Facts:
    """The Facts of a ``labkit.trace.Trace`` (vectorised: a 10 MB trace has 2 million
    transitions)."""
    tr = trace.transitions
    tr = tr[tr["from"] != tr["to"]]  # a same-state transition is no stretch's end
    tr = tr[np.lexsort((tr["t_ms"], tr["g"]))]  # by goroutine, then time (stable)
    end = float(trace.duration_ms)
    n = len(tr)
    g, t, to, frm = tr["g"], tr["t_ms"], tr["to"], tr["from"]
    # the next change of the same goroutine ends each stretch; the last one ends with the trace
    last = np.ones(n, dtype=bool)
    if n > 1:
        last[:-1] = g[1:] != g[:-1]
    nxt = np.minimum(np.arange(n) + 1, max(n - 1, 0))
    until = np.where(last, end, t[nxt])
    keep = ~np.isin(to, ("notexist", "undetermined"))
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
    stretches = np.zeros(int(keep.sum()), dtype=STRETCH)
    for name, col in (
        ("g", g),
        ("state", to),
        ("reason", why),
        ("start_ms", t),
        ("end_ms", until),
        ("p", tr["p"]),
        ("stack", tr["stack"]),
        ("woken_by", woken_by),
        ("woken_on", woken_on),
    ):
        stretches[name] = col[keep]
    # how each run ended: the next change's kind
    nto, nreason = to[nxt], reason[nxt]
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
        ("g", g),
        ("start_ms", t),
        ("end_ms", until),
        ("ended", ended),
        ("stack", np.where(last, "", tr["stack"][nxt]).astype(object)),
    ):
        runs[name] = col[is_run]
    runs = runs[np.lexsort((runs["p"], runs["start_ms"]))]
    ts = trace.thread_segments
    gs = trace.goroutines
    return Facts(
        source=trace.source,
        gomaxprocs=int(trace.gomaxprocs),
        end_ms=end,
        stretches=stretches,
        runs=runs,
        names=dict(zip(gs["g"].tolist(), gs["name"].tolist(), strict=True)),
        gc=trace.gc,
        stw=trace.stw,
        assists=trace.gc_assists,
        regions=trace.regions,
        syscalls=ts[ts["kind"] == "syscall"],
    )


def _table(rows: list[tuple], dtype: list[tuple[str, str]]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=dtype)
    if rows:
        for (name, _), col in zip(dtype, zip(*rows, strict=True), strict=True):
            out[name] = col
    return out
