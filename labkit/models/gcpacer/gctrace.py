"""Format model GC cycles as ``GODEBUG=gctrace=1`` lines.

Mirrors the printout at the end of gcMarkTermination in src/runtime/mgc.go (Go 1.27), including
its number formatting (fmtNSAsMS, itoaDiv) and its integer MB (really MiB, ``>> 20``) sizes::

    gc 7 @1.145s 3%: 0.23+24+0.059 ms clock, 0.46+0/12/29+0.11 ms cpu, 135->138->78 MB,
    156 MB goal, 0 MB stacks, 0 MB globals, 2 P

(one line in the real output). Fields: cycle number; start time since program start; GC's
share of CPU since program start (idle marking excluded); wall clock of sweep-termination STW +
concurrent mark + mark-termination STW; CPU of STW (x Ps) + assists / background workers / idle
workers + STW (x Ps); heap at trigger -> at mark termination -> marked live; this cycle's goal;
stacks; globals; GOMAXPROCS.
"""

from __future__ import annotations

from collections.abc import Iterable

from labkit.models.gcpacer.cycle import GCCycle

__all__ = ["fmt_ns_as_ms", "format_gctrace", "gctrace_line"]


def _itoa_div(val: int, dec: int) -> str:
    """runtime.itoaDiv: val / 10**dec with exactly ``dec`` decimals."""
    if dec == 0:
        return str(val)
    digits = str(val).rjust(dec + 1, "0")
    return f"{digits[:-dec]}.{digits[-dec:]}"


def fmt_ns_as_ms(ns: int) -> str:
    """runtime.fmtNSAsMS: whole ms from 10 ms up, else two significant digits (<= 3 decimals)."""
    if ns >= 10_000_000:
        return _itoa_div(ns // 1_000_000, 0)
    x = ns // 1000
    if x == 0:
        return "0"
    dec = 3
    while x >= 100:
        x //= 10
        dec -= 1
    return _itoa_div(x, dec)


def _ns(seconds: float) -> int:
    return max(int(round(seconds * 1e9)), 0)


def gctrace_line(c: GCCycle) -> str:
    """One cycle as the runtime prints it for GODEBUG=gctrace=1."""
    start_ms = _ns(c.start_s) // 1_000_000
    clock = "+".join(
        fmt_ns_as_ms(_ns(s)) for s in (c.sweep_term_stw_s, c.mark_s, c.mark_term_stw_s)
    )
    # work.stwprocs = GOMAXPROCS (the runtime caps it at the CPU count; the model has enough CPUs).
    cpu = (
        f"{fmt_ns_as_ms(_ns(c.sweep_term_stw_s * c.gomaxprocs))}"
        f"+{fmt_ns_as_ms(_ns(c.assist_cpu_s))}"
        f"/{fmt_ns_as_ms(_ns(c.background_cpu_s))}"
        f"/{fmt_ns_as_ms(_ns(c.idle_cpu_s))}"
        f"+{fmt_ns_as_ms(_ns(c.mark_term_stw_s * c.gomaxprocs))}"
    )
    mib = 20
    return (
        f"gc {c.number} @{_itoa_div(start_ms, 3)}s {int(c.gc_cpu_fraction * 100)}%: "
        f"{clock} ms clock, {cpu} ms cpu, "
        f"{int(c.heap_start_bytes) >> mib}->{int(c.heap_end_bytes) >> mib}->"
        f"{int(c.heap_marked_bytes) >> mib} MB, "
        f"{int(c.heap_goal_bytes) >> mib} MB goal, "
        f"{c.stacks_bytes >> mib} MB stacks, {c.globals_bytes >> mib} MB globals, "
        f"{c.gomaxprocs} P"
    )


def format_gctrace(cycles: Iterable[GCCycle]) -> str:
    """All cycles as gctrace lines, newline-separated (no trailing newline)."""
    return "\n".join(gctrace_line(c) for c in cycles)
