"""Where goroutines waited, as the profiles ``go tool trace -pprof=KIND`` writes.

A transcription of src/cmd/trace/pprof.go for the whole trace (``pprofByGoroutine`` with no
name): for each goroutine, a wait starts at a transition *into* the kind's state for a tracked
reason and ends at the next transition out of it; its length, clipped to the goroutine's
lifetime as src/internal/trace/summary.go records it (from its first run, ``StartTime``, 0 if it
never ran, to its end, ``EndTime``, or the trace's last event), is added to the stack of the
event that began the wait (``startEv.Stack()``: for an unblock that is the unblocker's stack; for
a preemption, the preempted goroutine's). A wait that overlaps nothing is dropped. The profile's
sample types are traceviewer.BuildProfile's: ``contentions``/count and ``delay``/nanoseconds.

Kinds (computePprofSched, computePprofBlock, computePprofSyscall, computePprofIO):

* ``sched``: Runnable, any reason: waiting for a P;
* ``sync``: Waiting for a reason containing "chan", "sync" or "select";
* ``syscall``: in a system call;
* ``net``: Waiting for reason "network" (the netpoller).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.traces import spec as s

KINDS: dict[str, tuple[int, Callable[[str], bool]]] = {
    "sched": (s.G_RUNNABLE, lambda reason: True),
    "sync": (
        s.G_WAITING,
        lambda reason: "chan" in reason or "sync" in reason or "select" in reason,
    ),
    "syscall": (s.G_SYSCALL, lambda reason: True),
    "net": (s.G_WAITING, lambda reason: reason == "network"),
}

#: traceviewer.BuildProfile's sample and period types.
SAMPLE_TYPES = [("contentions", "count"), ("delay", "nanoseconds")]
PERIOD_TYPE = ("trace", "count")


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    """interval.overlap in pprof.go (0 when apart; touching intervals overlap by 0)."""
    if a1 < b0 or b1 < a0:
        return 0
    return min(a1, b1) - max(a0, b0)


def wait_stacks(
    t: np.ndarray,
    g: np.ndarray,
    to: np.ndarray,
    reason: np.ndarray,
    reasons: list[str],
    ev_stack: np.ndarray,
    lifetimes: dict[int, tuple[int, int]],
    kind: str,
) -> dict[int, list[int]]:
    """``{event stack index: [count, delay ns]}`` for one kind (makeComputePprofFunc).

    The arrays are every goroutine transition in trace order (same-state ones included, as the
    tool sees them), ``reason`` as indexes into ``reasons``; ``lifetimes`` the summary's
    ``(StartTime, end)`` per goroutine.
    """
    state, track = KINDS[kind]
    tracked = [track(r) for r in reasons]
    tracking: dict[int, tuple[int, int]] = {}
    out: dict[int, list[int]] = {}
    for when, gid, new, why, stack in zip(
        t.tolist(), g.tolist(), to.tolist(), reason.tolist(), ev_stack.tolist(), strict=True
    ):
        began = tracking.get(gid)
        if began is None:
            if new == state and tracked[why]:
                tracking[gid] = (when, stack)
            continue
        if new == state:
            continue
        del tracking[gid]
        life = lifetimes.get(gid)
        if life is None:
            continue
        length = _overlap(life[0], life[1], began[0], when)
        if length > 0:
            rec = out.setdefault(began[1], [0, 0])
            rec[0] += 1
            rec[1] += length
    return out
