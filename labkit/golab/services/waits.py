"""Who waited, in a block profile or a trace's ``sync`` profile, and which waits are the
collector's own.

A block profile's flat view names only the primitive a goroutine blocked in: every sample's
innermost frame is ``runtime.selectgo``, ``runtime.chanrecv1`` or ``sync.(*Mutex).Lock``, so
"by own delay" can never say who waited. ``waits_by_caller`` credits each sample to the
innermost frame outside the runtime and the standard library's locks (the code that called the
primitive), as ``go tool pprof -peek 'runtime.selectgo$'`` shows callers.

And a profile taken over the network includes the profiler waiting: a delta block or mutex
profile waits in a ``select`` on its own timer between its two snapshots
(``serveDeltaProfile``, src/net/http/pprof/pprof.go:300-314), the CPU profile and trace
handlers sleep for their ``seconds`` (``sleep``, pprof.go:116-121), and the execution tracer's
own goroutines wait on timers while a trace runs (``traceAdvancerState.start``,
``traceStartReadCPU``, src/runtime/traceruntime.go and tracecpu.go). ``OBSERVER`` matches
their frames, and a wait under any of them is counted apart: the collector sees itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.profiles import Profile
from labkit.profiles.errors import ProfileError

__all__ = ["OBSERVER", "WaitSplit", "is_observer", "waits_by_caller"]

#: Frames of the collector itself: net/http/pprof's handlers, runtime/pprof, the tracer's
#: reader in runtime/trace and its goroutines inside the runtime. Not runtime/trace's regions
#: and tasks (WithRegion, StartRegion, Log): a service's own instrumentation around its work.
OBSERVER = re.compile(
    r"^(net/http/pprof\.|runtime/pprof\.|runtime/trace\.\(\*traceMultiplexer\)|"
    r"runtime\.traceStartReadCPU|runtime\.\(\*traceAdvancerState\)|runtime\.traceAdvance\b)"
)
#: Frames skipped when looking for who waited: the runtime, the standard library's locks and
#: its internal packages (a select, a channel operation, a Mutex, a WaitGroup, a Cond).
INSIDE = ("runtime.", "sync.", "internal/")
#: The caller of a sample with no frames (a trace's wait that recorded no stack).
NO_FRAMES = "(no frames)"


def is_observer(stack: tuple[str, ...]) -> bool:
    """A stack (function names, root first) of the collector itself: a frame matches
    ``OBSERVER``."""
    return any(OBSERVER.match(frame) for frame in stack)


@dataclass(frozen=True)
class WaitSplit:
    """A wait profile split: the total, the part under the collector's own frames, and the
    service's waits by who waited, largest first (caller, value)."""

    sample_type: str
    total: int
    observer: int
    callers: tuple[tuple[str, int], ...]

    @property
    def service(self) -> int:
        """What the service itself waited (the total less the collector's waits)."""
        return self.total - self.observer

    @property
    def observer_share(self) -> float:
        """The collector's share of the total (0 for an empty profile)."""
        return self.observer / self.total if self.total else 0.0


def waits_by_caller(profile: Profile, sample_type: str = "delay") -> WaitSplit:
    """Split ``profile``'s ``sample_type`` (a block or mutex profile's ``delay``, a trace
    profile's ``delay``) into the collector's own waits and the service's, the latter credited
    to the innermost frame outside ``INSIDE``. ProfileError, naming the types it has, if the
    profile has no such sample type."""
    types = [t for t, _ in profile.sample_types]
    if sample_type not in types:
        raise ProfileError(
            profile.source,
            f"no {sample_type!r} values (it has {', '.join(types)})",
            "Pass a block or mutex profile, or a trace's to_profile('sync')",
        )
    total = observer = 0
    by: dict[str, int] = {}
    for stack, value in profile.stacks(sample_type).items():
        total += value
        if is_observer(stack):
            observer += value
            continue
        caller = next(
            (f for f in reversed(stack) if not f.startswith(INSIDE)),
            stack[-1] if stack else NO_FRAMES,
        )
        by[caller] = by.get(caller, 0) + value
    ranked = tuple(sorted(by.items(), key=lambda kv: (-kv[1], kv[0])))
    return WaitSplit(sample_type, total, observer, ranked)
