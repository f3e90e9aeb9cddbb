"""Heap goal, trigger and the GOGC / GOMEMLIMIT settings, as Go's GC pacer computes them.

Mirrors the pure arithmetic of ``gcControllerState`` in src/runtime/mgcpacer.go (Go 1.27):
``commit`` (the GOGC heap goal and the runway), ``heapGoalInternal`` (the goal actually used),
``memoryLimitHeapGoal`` (the GOMEMLIMIT goal), ``trigger`` (where the next cycle starts), and
``readGOGC`` / ``parseByteCount`` (how the environment variables are read). Byte counts are
Python ints and use the runtime's integer division, so results match the runtime bit for bit.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from labkit.errors import ParameterError

__all__ = [
    "DEFAULT_HEAP_MINIMUM_BYTES",
    "GC_OFF",
    "GCConfigError",
    "MAX_TRIGGER_RATIO_NUM",
    "MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT",
    "MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM_BYTES",
    "MIN_RUNWAY_BYTES",
    "MIN_TRIGGER_RATIO_NUM",
    "NO_MEMORY_LIMIT_BYTES",
    "SWEEP_MIN_HEAP_DISTANCE_BYTES",
    "TRIGGER_RATIO_DEN",
    "gc_percent_heap_goal_bytes",
    "heap_goal_bytes",
    "heap_minimum_bytes",
    "memory_limit_heap_goal_bytes",
    "parse_byte_count",
    "parse_gogc",
    "parse_memory_limit_bytes",
    "trigger_bytes",
]

# defaultHeapMinimum (mgcpacer.go): the heap goal never drops below 4 MiB * GOGC/100, so a tiny
# live heap with a high allocation rate does not pay a whole GC cycle every few kilobytes. (The
# HeapMinimum512KiB GOEXPERIMENT lowers it to 512 KiB; it is off by default.)
DEFAULT_HEAP_MINIMUM_BYTES = 4 << 20

# readGOGC returns -1 for GOGC=off; setGCPercent maps every negative value to -1.
GC_OFF = -1

# readGOMEMLIMIT: an unset GOMEMLIMIT (or "off") is math.MaxInt64, i.e. no limit.
NO_MEMORY_LIMIT_BYTES = 2**63 - 1

# sweepMinHeapDistance (mgc.go): commit at mark termination runs before sweeping has finished,
# so it keeps the goal at least 1 MiB above the live heap to give the concurrent sweeper room.
SWEEP_MIN_HEAP_DISTANCE_BYTES = 1 << 20

# heapGoalInternal's minRunway: the goal is kept 64 KiB above the heap size at which this cycle
# was triggered, because the assist ratio divides by (goal - heapLive).
MIN_RUNWAY_BYTES = 64 << 10

# Trigger bounds (mgcpacer.go triggerRatioDen, minTriggerRatioNum, maxTriggerRatioNum): the
# trigger lies between 45/64 (~0.7) and 61/64 (~0.95) of the way from the marked heap to the
# goal. The lower bound stops a fast allocator from keeping the GC on almost all the time (which
# grows RSS); the upper bound keeps *some* runway for the mark phase on small heaps.
TRIGGER_RATIO_DEN = 64
MIN_TRIGGER_RATIO_NUM = 45
MAX_TRIGGER_RATIO_NUM = 61

# memoryLimitHeapGoal headroom (mgcpacer.go memoryLimitHeapGoalHeadroomPercent and
# memoryLimitMinHeapGoalHeadroom): the memory-limit goal is lowered by 3 %, at least 1 MiB, to
# absorb pacing errors, which hurt small heaps most (issue 57069).
MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT = 3
MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM_BYTES = 1 << 20


class GCConfigError(ParameterError):
    """A GOGC / GOMEMLIMIT / heap size argument the runtime would not accept."""


def _bytes_arg(name: str, value: object) -> int:
    """Validate a non-negative byte count and return it as an int (fractions are dropped)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise GCConfigError(f"{name} must be a number of bytes (int), got {value!r}")
    if not math.isfinite(float(value)) or value < 0:
        raise GCConfigError(f"{name} must be a finite number of bytes >= 0, got {value!r}")
    return int(value)


def parse_gogc(gogc: int | str | None) -> int:
    """Return the runtime's gcPercent for a GOGC setting; -1 (``GC_OFF``) means off.

    Mirrors readGOGC and setGCPercent (mgcpacer.go): ``None``, ``"off"`` and every negative value
    turn the GC off (setGCPercent maps ``in < 0`` to -1, as ``debug.SetGCPercent(-1)`` does);
    a decimal string is parsed like the environment variable. Unlike readGOGC, which silently
    falls back to 100 for a malformed string, this raises, so a typo does not go unnoticed.
    """
    if gogc is None:
        return GC_OFF
    if isinstance(gogc, str):
        text = gogc.strip()
        if text == "off":
            return GC_OFF
        try:
            gogc = int(text, 10)
        except ValueError:
            raise GCConfigError(
                f"gogc must be an integer percentage, 'off' or None, got {gogc!r} "
                "(Go would silently use 100 for this GOGC value)"
            ) from None
    if isinstance(gogc, bool) or not isinstance(gogc, Integral):
        raise GCConfigError(f"gogc must be an integer percentage, 'off' or None, got {gogc!r}")
    gogc = int(gogc)
    if gogc < 0:
        return GC_OFF
    if gogc > 2**31 - 1:
        raise GCConfigError(f"gogc must fit in an int32 as in the runtime, got {gogc}")
    return gogc


def parse_byte_count(text: str) -> int:
    """Parse a GOMEMLIMIT-style byte count such as ``"512MiB"``, ``"1GiB"``, ``"1000B"``, ``"42"``.

    Mirrors runtime.parseByteCount (src/runtime/string.go): a plain number, or a number followed by
    ``B``, ``KiB``, ``MiB``, ``GiB`` or ``TiB`` (powers of 1024; no SI ``MB`` suffix), <= MaxInt64.
    """
    s = text.strip()
    units = {"TiB": 1 << 40, "GiB": 1 << 30, "MiB": 1 << 20, "KiB": 1 << 10, "B": 1}
    multiplier = 1
    for suffix, mult in units.items():
        if s.endswith(suffix):
            s, multiplier = s[: -len(suffix)], mult
            break
    if not s.isdigit():
        raise GCConfigError(
            f"memory limit {text!r} is not a byte count; use e.g. 536870912, '512MiB' or '1GiB'"
        )
    value = int(s) * multiplier
    if value > NO_MEMORY_LIMIT_BYTES:
        raise GCConfigError(f"memory limit {text!r} overflows int64")
    return value


def parse_memory_limit_bytes(memory_limit: int | str | None) -> int:
    """Return the runtime's memoryLimit for a GOMEMLIMIT setting (MaxInt64 when unset).

    Mirrors readGOMEMLIMIT (mgcpacer.go): ``None``, ``""`` and ``"off"`` mean no limit; a string
    is parsed by ``parse_byte_count``; an int is a byte count and must be >= 0.
    """
    if memory_limit is None:
        return NO_MEMORY_LIMIT_BYTES
    if isinstance(memory_limit, str):
        if memory_limit.strip() in ("", "off"):
            return NO_MEMORY_LIMIT_BYTES
        return parse_byte_count(memory_limit)
    return min(_bytes_arg("memory_limit", memory_limit), NO_MEMORY_LIMIT_BYTES)


def heap_minimum_bytes(gc_percent: int) -> int:
    """heapMinimum = defaultHeapMinimum * GOGC / 100 (setGCPercent in mgcpacer.go); 0 when off."""
    if gc_percent < 0:
        return 0
    return DEFAULT_HEAP_MINIMUM_BYTES * gc_percent // 100


def gc_percent_heap_goal_bytes(
    heap_marked_bytes: int, gc_percent: int, stacks_bytes: int = 0, globals_bytes: int = 0
) -> float | int:
    """The GOGC goal: marked + (marked + stacks + globals) * GOGC / 100, at least heapMinimum.

    Mirrors the gcPercentHeapGoal computation in gcControllerState.commit (mgcpacer.go). Stacks
    and globals count because the GC must scan them too (since Go 1.18, the pacer redesign).
    Returns ``math.inf`` when the GC is off (the runtime stores ^uint64(0)).
    """
    if gc_percent < 0:
        return math.inf
    goal = (
        heap_marked_bytes + (heap_marked_bytes + stacks_bytes + globals_bytes) * gc_percent // 100
    )
    return max(goal, heap_minimum_bytes(gc_percent))


def memory_limit_heap_goal_bytes(
    memory_limit_bytes: int,
    heap_marked_bytes: int,
    non_heap_bytes: int = 0,
    mapped_ready_bytes: int | None = None,
) -> int:
    """The heap goal implied by GOMEMLIMIT, mirroring memoryLimitHeapGoal (mgcpacer.go).

    goal = limit - (non-heap memory + overage), minus 3 % headroom (at least 1 MiB), and never
    below the marked heap. ``non_heap_bytes`` is mapped runtime memory that holds no heap objects
    (goroutine stacks, runtime metadata, fragmentation); ``mapped_ready_bytes`` is all mapped,
    unreleased memory and defaults to marked heap + non-heap (no overage: the scavenger keeps the
    process under the limit). Globals live in the binary's data segments, not in memory the
    runtime maps, so they do not count here.
    """
    limit = memory_limit_bytes
    if mapped_ready_bytes is None:
        mapped_ready_bytes = heap_marked_bytes + non_heap_bytes
    overage = max(mapped_ready_bytes - limit, 0)
    if non_heap_bytes + overage >= limit:
        # Non-heap memory alone exceeds the limit: GC continuously (the CPU limiter reins it in).
        return heap_marked_bytes
    goal = limit - (non_heap_bytes + overage)
    headroom = max(
        goal // 100 * MEMORY_LIMIT_HEAP_GOAL_HEADROOM_PERCENT,
        MEMORY_LIMIT_MIN_HEAP_GOAL_HEADROOM_BYTES,
    )
    goal = headroom if goal < headroom or goal - headroom < headroom else goal - headroom
    return max(goal, heap_marked_bytes)


def heap_goal_bytes(
    live_bytes: int,
    gogc: int | str | None = 100,
    stacks_bytes: int = 0,
    globals_bytes: int = 0,
    memory_limit: int | str | None = None,
    *,
    other_non_heap_bytes: int = 0,
    sweep_done: bool = True,
) -> float | int:
    """Heap size at which the GC aims to finish its next cycle, given the live heap.

    Mirrors gcControllerState.commit + heapGoalInternal (src/runtime/mgcpacer.go):

    * GOGC goal = live + (live + stacks + globals) * GOGC/100, at least 4 MiB * GOGC/100
      (heapMinimum); 64 MiB live at GOGC=100 gives 128 MiB.
    * ``gogc`` may be an int, a decimal string, ``"off"`` or ``None``; any negative value also
      means off, as in ``debug.SetGCPercent``. With the GC off and no memory limit the result is
      ``math.inf`` (the runtime's ^uint64(0): never).
    * GOMEMLIMIT (``memory_limit``: bytes, ``"512MiB"``-style string, ``None``/``"off"``) is a
      soft limit: if the memory-limit goal (limit - stacks - other non-heap memory, minus 3 %
      headroom, at least the live heap) is lower, it wins; it works with GOGC=off too.
    * ``sweep_done=False`` is the state right after mark termination (gcMarkTermination calls
      commit before sweeping ends): the goal is then also at least live + 1 MiB
      (sweepMinHeapDistance) unless the memory limit is the binding goal.
    """
    live = _bytes_arg("live_bytes", live_bytes)
    stacks = _bytes_arg("stacks_bytes", stacks_bytes)
    globals_ = _bytes_arg("globals_bytes", globals_bytes)
    other = _bytes_arg("other_non_heap_bytes", other_non_heap_bytes)
    gc_percent = parse_gogc(gogc)
    limit = parse_memory_limit_bytes(memory_limit)

    goal = gc_percent_heap_goal_bytes(live, gc_percent, stacks, globals_)
    if limit < NO_MEMORY_LIMIT_BYTES:
        limit_goal = memory_limit_heap_goal_bytes(limit, live, stacks + other)
        if limit_goal < goal:
            return limit_goal
    if not sweep_done:
        goal = max(goal, live + SWEEP_MIN_HEAP_DISTANCE_BYTES)
    return goal


def trigger_bytes(
    heap_marked_bytes: int,
    goal_bytes: int,
    runway_bytes: int,
    min_trigger_bytes: int = 0,
) -> int:
    """Heap size at which the next GC cycle starts, mirroring gcControllerState.trigger.

    trigger = goal - runway (the runway comes from the cons/mark estimate, see ``commit``), kept
    between 45/64 (~0.7) and 61/64 (~0.95) of the way from the marked heap to the goal; on heaps
    whose goal exceeds 4 MiB the upper bound is relaxed to goal - 4 MiB (a GC with nothing to
    scan needs about that much runway). ``min_trigger_bytes`` is heapGoalInternal's sweep-distance
    minimum. Returns ``goal`` when the goal is not above the marked heap (continuous GC) and
    ``math.inf`` when the goal is infinite (GC off).
    """
    goal, marked = goal_bytes, heap_marked_bytes
    if math.isinf(goal):
        return goal  # GC off: never trigger
    if marked >= goal:
        return goal
    min_trigger = max(min_trigger_bytes, marked)
    lower = (goal - marked) // TRIGGER_RATIO_DEN * MIN_TRIGGER_RATIO_NUM + marked
    min_trigger = max(min_trigger, lower)
    max_trigger = (goal - marked) // TRIGGER_RATIO_DEN * MAX_TRIGGER_RATIO_NUM + marked
    if goal > DEFAULT_HEAP_MINIMUM_BYTES and goal - DEFAULT_HEAP_MINIMUM_BYTES > max_trigger:
        max_trigger = goal - DEFAULT_HEAP_MINIMUM_BYTES
    max_trigger = max(max_trigger, min_trigger)
    trigger = min_trigger if runway_bytes > goal else goal - runway_bytes
    trigger = min(max(trigger, min_trigger), max_trigger)
    return trigger
