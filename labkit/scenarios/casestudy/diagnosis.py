"""The article's five-layer diagnosis matrix, computed from two runs (before and after).

The article (chapter 5) reads five layers, each with its own tool: the application
(http_request_duration_seconds), goroutines (go_goroutines), the GC (go_gc_duration_seconds,
GODEBUG=gctrace=1), system calls and the network (bpftrace on read/write sizes), kernel threads
(/proc/PID/status: Threads, voluntary_ctxt_switches). Here every cell is the model's own number
from :class:`~labkit.scenarios.casestudy.run.IncidentRun` metrics; the article's numbers are quoted only
in the chapter, as the article's.

The kernel-threads row cannot show ``voluntary_ctxt_switches``: those are the kernel's switches
of the process's threads (a thread that parks in a futex, blocks in a system call or in
epoll_wait, sysmon's usleep), and the model has no kernel. What it shows besides the thread
count and the CPU share is named for what it is: the model's calls of ``schedule()`` per second
(proc.go: each goroutine switch, and each time a P looks for work and finds none).
"""

from __future__ import annotations

import html

from labkit.scenarios.casestudy.run import IncidentRun

_TD = "text-align:left;vertical-align:top;padding:2px 8px;border-top:1px solid #ccc"

LAYERS = ("application", "goroutines", "GC", "syscalls / network", "kernel threads")

_ROWS = (
    (
        "application",
        "http_request_duration_seconds; dashboard fps",
        lambda m: (
            f"p50 {m['p50_ms']:.0f} ms, p99 {m['p99_ms']:.0f} ms; {m['dashboard_fps']:.1f} fps; "
            f"data age p99 {m['data_age_p99_ms']:.0f} ms"
        ),
    ),
    (
        "goroutines",
        "go_goroutines; /debug/pprof/goroutine",
        lambda m: f"peak {m['goroutines_peak']:.0f} goroutines",
    ),
    (
        "GC",
        "GODEBUG=gctrace=1",
        lambda m: (
            f"{m['gc_cycles_per_s']:.1f} cycles/s, GC {100 * m['gc_cpu_share']:.1f} % CPU "
            f"(assists {100 * m['assist_share']:.0f} %), STW max {1000 * m['stw_max_ms']:.0f} us, "
            f"alloc {m['alloc_mb_per_s']:.0f} MiB/s"
        ),
    ),
    (
        "syscalls / network",
        "bpftrace write sizes; sql.DBStats (waits), a client-side histogram (p99)",
        lambda m: (
            f"{m['db_calls']:.0f} DB calls, connection wait + query p99 {m['db_wait_p99_ms']:.0f} "
            f"ms ({m['db_timeouts']:.0f} timeouts), "
            f"{m['syscall_ms_per_s']:.0f} ms/s in blocking calls, writes of "
            f"{m['write_bytes'] / 1024:.0f} KiB"
        ),
    ),
    (
        "kernel threads",
        "/proc/PID/status Threads (/sched/threads/total:threads); CPU",
        lambda m: (
            f"peak {m['threads_peak']:.0f} threads, CPU {100 * m['cpu_share']:.0f} %; "
            f"{m['schedules_per_s']:.0f} schedule() calls/s (the model's goroutine switches)"
        ),
    ),
)


def diagnosis_table(before: IncidentRun, after: IncidentRun) -> list[dict[str, str]]:
    """One row per layer: ``layer``, ``tool``, ``before``, ``after`` (text cells)."""
    return [
        {"layer": layer, "tool": tool, "before": cell(before.metrics), "after": cell(after.metrics)}
        for layer, tool, cell in _ROWS
    ]


def diagnosis_html(
    rows: list[dict[str, str]], before_label: str = "before (no fix)", after_label: str = "after"
) -> str:
    """The table as HTML (escaped), for a notebook or the widget."""
    head = ["layer", "what to look at", before_label, after_label]
    out = ["<table class='labkit-diagnosis' style='border-collapse:collapse'>", "<tr>"]
    out += [f"<th style='text-align:left;padding:2px 8px'>{html.escape(h)}</th>" for h in head]
    out.append("</tr>")
    for r in rows:
        cells = [r["layer"], r["tool"], r["before"], r["after"]]
        out.append(
            "<tr>" + "".join(f"<td style='{_TD}'>{html.escape(c)}</td>" for c in cells) + "</tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def diagnosis_text(
    rows: list[dict[str, str]], before_label: str = "before (no fix)", after_label: str = "after"
) -> str:
    """The table as plain text, one block per layer: readable without HTML or JavaScript."""
    out = []
    for r in rows:
        out.append(f"{r['layer']} ({r['tool']})")
        out.append(f"  {before_label}: {r['before']}")
        out.append(f"  {after_label}: {r['after']}")
    return "\n".join(out)


class DiagnosisTable:
    """The five-layer table for a notebook: HTML where HTML renders, plain text elsewhere (the
    ``text/plain`` of the cell's output, read by nbval and by a reader without a browser)."""

    def __init__(
        self,
        before: IncidentRun,
        after: IncidentRun,
        before_label: str = "before (no fix)",
        after_label: str = "after",
    ) -> None:
        self.rows = diagnosis_table(before, after)
        self.before_label, self.after_label = before_label, after_label

    def _repr_html_(self) -> str:
        return diagnosis_html(self.rows, self.before_label, self.after_label)

    def __repr__(self) -> str:
        return diagnosis_text(self.rows, self.before_label, self.after_label)
