"""The stall doctor: which mechanism stalled the work that mattered, in a real execution trace.

``diagnose(source)`` reads a Go execution trace (a ``labkit.traces.Trace``, a path, bytes or a
binary file) or a model run (``labkit.models.scheduler.Result``: the same questions asked of the model, by
the same code), finds its stall windows (:mod:`labkit.stalls.windows`: the program's own regions
that ran long, long scheduling waits, late wakes) and splits each window's time among the causes
the course teaches (:mod:`labkit.stalls.causes`), with evidence a reader can check in
``go tool trace``: goroutine IDs, Ps, times. ``python -m labkit.stalls trace.out`` prints the
report.

Why it looks where it looks: a goroutine that is late was, at each moment, running, runnable,
waiting or in a system call, and the trace says which, when, and what ran on every P meanwhile;
the runtime functions behind each answer are named in the causes' docstrings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import EvidenceError
from labkit.stalls.causes import CAUSES, HOG_MS, Piece, explain
from labkit.stalls.facts import Facts, from_result, from_trace
from labkit.stalls.windows import (
    Stall,
    blocked_stalls,
    handoff_stalls,
    late_network,
    late_wakes,
    merge,
    regions,
    wait_stalls,
)
from labkit.validation import check_real

__all__ = ["CAUSES", "Diagnosis", "Finding", "Stall", "StallError", "diagnose"]

#: How many pieces of evidence a finding lists (the largest first).
EVIDENCE_SHOWN = 5


class StallError(EvidenceError):
    """What was given cannot be diagnosed; the message says what it is and what to pass."""


@dataclass(frozen=True)
class Finding:
    """One cause: ``share`` of all the stall time it explains (0-1), ``ms`` of it, the
    goroutines to blame (by time blamed), the first and last moment it acted, and evidence."""

    cause: str
    share: float
    ms: float
    start_ms: float
    end_ms: float
    goroutines: tuple[int, ...]
    evidence: tuple[str, ...]
    #: The stall window of the largest piece of evidence: where a view zooms to show it.
    focus_ms: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Diagnosis:
    """``stalls`` (windows, by time) and ``findings`` (by share, largest first); ``healthy``
    when no window was found. ``facts`` is the trace as the doctor read it."""

    source: str
    stalls: tuple[Stall, ...]
    findings: tuple[Finding, ...]
    stall_ms: float
    facts: Facts = field(repr=False)
    #: What was diagnosed (the Trace or the model's Result), for a view to draw.
    run: Any = field(default=None, repr=False)

    @property
    def healthy(self) -> bool:
        return not self.stalls

    def cause(self, name: str) -> Finding | None:
        return next((f for f in self.findings if f.cause == name), None)

    def summary(self) -> str:
        if self.healthy:
            return f"{self.source}: no stall found"
        top = ", ".join(f"{f.cause} {f.share:.0%}" for f in self.findings[:3])
        return (
            f"{self.source}: {len(self.stalls)} stall(s), {self.stall_ms:.1f} ms in all; "
            f"explained by {top}"
        )

    def report(self) -> str:
        """The text a terminal shows: the stalls, then each finding with its evidence."""
        from labkit.stalls.report import report

        return report(self)


def _facts(source: Any) -> tuple[Facts, Any]:
    """The facts of ``source`` and the run they came from (a Trace or a model Result)."""
    from labkit.traces import Trace, load_trace

    if isinstance(source, Trace):
        return from_trace(source), source
    if hasattr(source, "_goroutines") and hasattr(source, "event_log"):
        return from_result(source), source  # a labkit.models.scheduler Result: the same questions
    if hasattr(source, "result") and hasattr(source.result, "_goroutines"):
        return from_result(source.result), source.result  # a scheduler-lab run (LabRun)
    readable = isinstance(source, str | bytes | bytearray | memoryview | os.PathLike)
    if not readable and not hasattr(source, "read"):
        raise StallError(
            type(source).__name__,
            "the doctor reads a Go execution trace or a labkit.models.scheduler model run, not this",
            "pass a trace file (runtime/trace, go test -trace, /debug/pprof/trace), a "
            "labkit.traces.Trace, or a labkit.models.scheduler Result",
        )
    trace = load_trace(source)
    return from_trace(trace), trace


def diagnose(
    source: Any,
    *,
    budget_ms: float | None = None,
    wait_ms: float = 2.0,
    late_ms: float = 2.0,
    hog_ms: float = HOG_MS,
) -> Diagnosis:
    """Diagnose the stalls in ``source``, a Go execution trace (Trace, path, bytes, file).

    ``budget_ms``: how long one of the program's regions may take (None: no budget; a region
    is a stall when a stall explains ``wait_ms`` of it); ``wait_ms``: the shortest scheduling
    wait, lock wait or stall inside a region that counts; ``late_ms``: the
    shortest late wake; ``hog_ms``: how long a run without a scheduling point makes a hog
    (forcePreemptNS, 10 ms). A trace that is not one raises labkit.traces.TraceError.
    """
    if budget_ms is not None:
        budget_ms = check_real("budget_ms", budget_ms, 0.0, low_open=True, unit="ms")
    wait_ms = check_real("wait_ms", wait_ms, 0.0, low_open=True, unit="ms")
    late_ms = check_real("late_ms", late_ms, 0.0, low_open=True, unit="ms")
    hog_ms = check_real("hog_ms", hog_ms, 0.0, low_open=True, unit="ms")
    facts, run = _facts(source)
    wakes = [s for s, _ in late_wakes(facts, late_ms)] + late_network(facts, late_ms)
    late = {(s.g, s.end_ms): s.start_ms for s in wakes}
    pieces: list[Piece] = []
    stalls: list[Stall] = []
    if len(facts.regions):
        for region in regions(facts):
            mine = list(explain(facts, region, hog_ms, late))
            over = budget_ms is not None and region.ms > budget_ms
            if over or sum(p.ms for p in mine) >= wait_ms:
                stalls.append(region)
                pieces.extend(mine)
    else:
        stalls = merge(
            wait_stalls(facts, wait_ms)
            + blocked_stalls(facts, wait_ms)
            + wakes
            + handoff_stalls(facts, wait_ms)
        )
        for stall in stalls:
            pieces.extend(explain(facts, stall, hog_ms, late))
    total = sum(s.ms for s in stalls)
    return Diagnosis(facts.source, tuple(stalls), _findings(pieces, total), total, facts, run)


def _findings(pieces: Sequence[Piece], total_ms: float) -> tuple[Finding, ...]:
    by_cause: dict[str, list[Piece]] = {}
    for p in pieces:
        by_cause.setdefault(p.cause, []).append(p)
    out = []
    for cause, mine in by_cause.items():
        ms = sum(p.ms for p in mine)
        blame: dict[int, float] = {}
        for p in mine:
            for g in p.culprits:
                blame[g] = blame.get(g, 0.0) + p.ms
        top = sorted(mine, key=lambda p: -p.ms)[:EVIDENCE_SHOWN]
        out.append(
            Finding(
                cause=cause,
                share=ms / total_ms if total_ms > 0 else 0.0,
                ms=ms,
                start_ms=min(p.stall.start_ms for p in mine),
                end_ms=max(p.stall.end_ms for p in mine),
                goroutines=tuple(sorted(blame, key=lambda g: -blame[g])),
                evidence=tuple(p.evidence for p in top),
                focus_ms=(top[0].stall.start_ms, top[0].stall.end_ms),
            )
        )
    out.sort(key=lambda f: (-f.share, CAUSES.index(f.cause)))
    return tuple(out)
