"""The measures a model run and a real trace both have, computed the same way from either.

``timeline_measures`` reads only what ``labkit.models.scheduler.Result`` and ``labkit.traces.Trace`` share
(``gomaxprocs`` / ``params``, ``segments``, ``event_log``, ``threads``), so a model run and Go's
own trace of the same program can be put side by side (``labkit.widgets.TimelinePair``) with
numbers that mean the same on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MEASURES", "timeline_measures"]

#: Each measure's name and what it counts, in the order a table shows them.
MEASURES: tuple[tuple[str, str], ...] = (
    ("gomaxprocs", "GOMAXPROCS"),
    ("run_segments", "stretches a goroutine ran on a P"),
    ("cpu_ms", "CPU time on Ps, ms"),
    ("last_run_end_ms", "last stretch on a P ends, ms"),
    ("preemptions", "preemptions (running -> runnable, preempted)"),
    ("handoffs", "Ps taken from a goroutine in a syscall"),
    ("threads", "OS threads (Ms) seen"),
)


def _syscall_handoffs(run: Any, kinds: np.ndarray) -> float:
    """Ps taken from a goroutine in a system call. A trace logs exactly those (ProcSteal, when
    sysmon's retake takes the P). A model run's log also marks the P hand-overs of a thread
    locked to its goroutine (stoplockedm, startlockedm), for which Go's trace has no event, so
    the model's own count of syscall hand-offs is used instead (``Result.stats``)."""
    stats = getattr(run, "stats", None)
    if isinstance(stats, dict) and "handoffs" in stats:
        return float(stats["handoffs"])
    return float(np.sum(kinds == "handoff"))


def timeline_measures(run: Any) -> dict[str, float]:
    """The MEASURES of ``run``, a labkit.models.scheduler Result or a labkit.traces Trace."""
    seg = run.segments
    start = np.asarray(seg["start_ms"], dtype=float)
    end = np.asarray(seg["end_ms"], dtype=float)
    log = run.event_log
    kinds = np.asarray(log["kind"]) if len(log) else np.zeros(0, dtype=str)
    count = np.asarray(run.threads["count"])
    return {
        "gomaxprocs": float(run.gomaxprocs),
        "run_segments": float(len(seg)),
        "cpu_ms": float(np.sum(end - start)),
        "last_run_end_ms": float(end.max()) if end.size else 0.0,
        "preemptions": float(np.sum(kinds == "preempt")),
        "handoffs": _syscall_handoffs(run, kinds),
        "threads": float(count.max()) if count.size else 0.0,
    }
