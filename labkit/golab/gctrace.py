"""Read real ``GODEBUG=gctrace=1`` lines (the printout at the end of gcMarkTermination in
src/runtime/mgc.go), the inverse of labkit.models.gcpacer.gctrace's formatter::

    gc 16 @2.900s 2%: 0.15+20+0.006 ms clock, 0.30+0/1.5/35+0.012 ms cpu, 135->138->78 MB,
    156 MB goal, 0 MB stacks, 0 MB globals, 2 P

(one line). "MB" is MiB (the runtime prints ``bytes >> 20``, truncated). The "ms cpu" fields are
the sweep-termination STW x Ps, then assist / background (dedicated + fractional) / idle mark
time, then the mark-termination STW x Ps; gcController accumulates the mark times as the workers'
wall time on their Ps, so other processes competing for the CPUs inflate them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from statistics import median

_LINE = re.compile(
    r"^gc (\d+) @([\d.]+)s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, "
    r"([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu, "
    r"(\d+)->(\d+)->(\d+) MB, (\d+) MB goal"
)


@dataclass(frozen=True)
class TraceLine:
    """The fields of one gctrace line this package uses."""

    number: int
    at_s: float
    mark_clock_ms: float
    assist_ms: float
    background_ms: float
    idle_ms: float
    heap_start_mib: int
    heap_end_mib: int
    heap_marked_mib: int
    goal_mib: int
    forced: bool

    @property
    def mark_cpu_ms(self) -> float:
        """CPU of the mark phase: assists + background workers + idle workers."""
        return self.assist_ms + self.background_ms + self.idle_ms


def parse_line(line: str) -> TraceLine | None:
    """The line's fields, or None if it is not a gctrace cycle line."""
    m = _LINE.match(line.strip())
    if m is None:
        return None
    return TraceLine(
        number=int(m[1]),
        at_s=float(m[2]),
        mark_clock_ms=float(m[4]),
        assist_ms=float(m[7]),
        background_ms=float(m[8]),
        idle_ms=float(m[9]),
        heap_start_mib=int(m[11]),
        heap_end_mib=int(m[12]),
        heap_marked_mib=int(m[13]),
        goal_mib=int(m[14]),
        forced=line.rstrip().endswith("(forced)"),
    )


def cycle_lines(stderr: str) -> list[str]:
    """The gctrace cycle lines of a program's stderr, in order."""
    return [ln for ln in stderr.splitlines() if parse_line(ln) is not None]


def marking_summary(lines: list[str], first: int, last: int) -> dict[str, float]:
    """Marking speed over cycles ``first`` .. ``last`` (unforced ones): the median over cycles of
    heap marked / mark CPU (MiB per CPU-ms, the unit of labkit.models.gcpacer.cycle.MARK_BYTES_PER_CPU_S's
    comment), with the medians of the marked heap, the goal and the mark CPU."""
    rows = [t for t in map(parse_line, lines) if t and first <= t.number <= last and not t.forced]
    rows = [t for t in rows if t.mark_cpu_ms > 0]
    if not rows:
        return {}
    return {
        "gctrace_cycles": len(rows),
        "gctrace_mib_per_cpu_ms": median(t.heap_marked_mib / t.mark_cpu_ms for t in rows),
        "gctrace_marked_mib": median(t.heap_marked_mib for t in rows),
        "gctrace_goal_mib": median(t.goal_mib for t in rows),
        "gctrace_mark_cpu_ms": median(t.mark_cpu_ms for t in rows),
    }


#: How far a program's own clock (from the start of main) may be off gctrace's "@" clock (from
#: runtime.main's start, runtimeInitTime), plus the "@" field's rounding to whole ms.
CLOCK_SLACK_S = 0.002


def cycle_spans(lines: list[str]) -> list[tuple[float, float]]:
    """(start_s, end_s) of every unforced cycle in ``lines``: from "@" over the "ms clock"
    fields (sweep-termination STW + concurrent mark + mark-termination STW)."""
    spans = []
    for line in lines:
        t = parse_line(line)
        if t is None or t.forced:
            continue
        m = _LINE.match(line.strip())
        assert m is not None
        clock_s = (float(m[3]) + float(m[4]) + float(m[5])) / 1000
        spans.append((t.at_s, t.at_s + clock_s))
    return spans


def frames_in_cycles(
    frames: list[tuple[float, float]], lines: list[str], slack_s: float = CLOCK_SLACK_S
) -> list[bool]:
    """For each frame ``(start_s, ms)`` (seconds since the program started): does it overlap a
    GC cycle of the gctrace ``lines``, within ``slack_s`` of the two clocks' offset?"""
    spans = sorted(cycle_spans(lines))
    starts = [s for s, _ in spans]
    out = []
    for start, ms in frames:
        end = start + ms / 1000
        # The last cycle that started before the frame ended; every earlier one ended before it.
        i = bisect_right(starts, end + slack_s)
        out.append(i > 0 and spans[i - 1][1] >= start - slack_s)
    return out
