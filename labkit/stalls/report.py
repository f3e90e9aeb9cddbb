"""The doctor's report as text: what stalled, then why, largest cause first."""

from __future__ import annotations

from typing import Any

#: Stall windows listed one by one before the rest are counted.
WINDOWS_SHOWN = 8

#: One sentence per cause: what it means, and where in the runtime.
MEANING = {
    "cpu_hog": "a goroutine kept a P for a whole time slice or more while others waited "
    "(sysmon preempts after forcePreemptNS = 10 ms: retake, proc.go)",
    "runqueue_delay": "waiting in a run queue behind other goroutines' turns, or for an idle "
    "P to be woken (runqput / findRunnable, proc.go)",
    "late_timer": "a timer on a P that ran one goroutine without passing through the "
    "scheduler, so nothing ran its timers ((*timers).check, proc.go)",
    "late_network": "network readiness seen late: nothing polled the network",
    "syscall": "a system call kept the goroutine, or kept a P (and its timers) from it until "
    "the call returned or sysmon took the P back (entersyscall / retake, proc.go)",
    "cgo": "a call into C did the same: cgo enters the runtime as a system call does "
    "(cgocall -> entersyscall, proc.go)",
    "locked_thread": "a P on its way to or from the thread of a goroutine locked to it "
    "(LockOSThread: startlockedm / stoplockedm, proc.go): a thread wake on every switch",
    "gc_pause": "a stop-the-world pause (stopTheWorldWithSema, proc.go)",
    "gc_assist": "the GC made the goroutine mark while it allocated (gcAssistAlloc, mgcmark.go)",
    "gc_workers": "the GC's background mark workers held the Ps (gcBgMarkWorker, mgc.go)",
    "channel": "blocked on a channel (chansend / chanrecv, chan.go)",
    "mutex": "blocked on a sync.Mutex or RWMutex (semacquire, sema.go)",
    "select": "blocked in a select (selectgo, select.go)",
    "cond": "blocked in sync.Cond.Wait",
}


def report(d: Any) -> str:
    facts = d.facts
    lines = [f"stall doctor: {d.source} (GOMAXPROCS={facts.gomaxprocs}, {facts.end_ms:.1f} ms)"]
    if d.healthy:
        lines.append(
            "no stall found: no region ran long, no goroutine waited long for a P, no "
            "timer fired late"
        )
        return "\n".join(lines)
    lines.append(f"{len(d.stalls)} stall(s), {d.stall_ms:.1f} ms in all:")
    for s in d.stalls[:WINDOWS_SHOWN]:
        what = {
            "region": f"region {s.label!r}",
            "sched_wait": "runnable, no P",
            "late_wake": "woken late",
            "blocked": f"blocked: {s.label}",
            "handoffs": "held up by its thread's hand-offs",
        }[s.kind]
        lines.append(
            f"  {facts.name(s.g)}: {s.start_ms:.3f}-{s.end_ms:.3f} ms ({s.ms:.1f} ms, {what})"
        )
    if len(d.stalls) > WINDOWS_SHOWN:
        lines.append(f"  ... and {len(d.stalls) - WINDOWS_SHOWN} more")
    explained = sum(f.ms for f in d.findings)
    lines.append(
        f"causes ({explained / d.stall_ms:.0%} of the stall time explained; the rest "
        "is the goroutines' own work and waiting):"
    )
    for f in d.findings:
        who = ", ".join(facts.name(g) for g in f.goroutines[:3])
        lines.append(f"  {f.cause:<15} {f.share:5.0%}  {f.ms:8.1f} ms  {MEANING[f.cause]}")
        if who:
            lines.append(f"      blame: {who}")
        for e in f.evidence[:3]:
            lines.append(f"      - {e}")
    return "\n".join(lines)
