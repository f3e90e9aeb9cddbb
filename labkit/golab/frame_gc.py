"""How many GC cycles a frame renderer causes: the pacer's heap goal, stepped frame by frame.

This is the model side of the ``gc_frames`` experiment. Each frame allocates one RGBA buffer of
``4 * width * height`` bytes (or, pooled, takes the previous one back from a sync.Pool and
allocates nothing). After a cycle the marked heap is what is live then: the runtime's own small
heap plus the frame being drawn. The next cycle's goal mirrors
``gcControllerState.commit`` / ``heapGoalInternal`` in src/runtime/mgcpacer.go::

    goal = marked + (marked + stacks + globals) * GOGC / 100,   at least heapMinimum * GOGC / 100

with heapMinimum = 4 MiB (``defaultHeapMinimum``). A cycle starts at the first frame allocation
that takes the heap past the goal. The runtime's trigger sits 70-95 % of the way to the goal
(``trigger()``: minTriggerRatioNum 45/64, maxTriggerRatioNum 61/64), but with allocations as big
as a frame the goal itself is pushed to at least the heap at the trigger plus 64 KiB
(``minRunway``) and the sweep distance (``sweepDistMinTrigger``), so "past the goal" is what a
3 MiB-per-frame renderer shows: with GOGC=100 a cycle every second frame.

Pure arithmetic: no randomness, no time; the frame rate only converts cycles to cycles per second.
"""

from __future__ import annotations

from dataclasses import dataclass

#: defaultHeapMinimum in mgcpacer.go for GOGC=100; scaled by GOGC/100 (heapMinimum).
HEAP_MINIMUM_BYTES = 4 << 20

#: The runtime's own heap at start (type data, os.Args, the flag package, fmt, ...): about
#: 0.08 MiB for the course's gc_frames program (runtime/metrics /gc/heap/live:bytes with
#: -frames=1, go1.27.3). Its size hardly matters next to a 3 MiB frame.
BASE_HEAP_BYTES = 80 << 10

#: Goroutine stacks and globals scanned each cycle: well under 1 MiB here ("0 MB stacks, 0 MB
#: globals" in the program's gctrace lines), so they do not move the goal.
STACKS_AND_GLOBALS_BYTES = 64 << 10


@dataclass(frozen=True)
class FrameGC:
    """Cycles and heap figures for one run of the renderer."""

    gc_cycles: int
    gc_per_s: float
    seconds: float
    heap_live_mb: float
    frame_bytes: int
    heap_goal_mb: float


def frame_gc(
    *, width: int, height: int, frames: int, fps: float, pooled: bool, gogc: int
) -> FrameGC:
    """GC cycles of ``frames`` frames of ``width x height`` RGBA at ``fps`` (0: as fast as
    possible, taken as 1 ms a frame, the order of one real frame's drawing time).
    """
    frame_bytes = 4 * width * height  # image.NewRGBA: 4 bytes a pixel
    marked = BASE_HEAP_BYTES + frame_bytes  # live after a cycle: the frame being drawn

    def goal_after(marked_bytes: int) -> float:
        goal = marked_bytes + (marked_bytes + STACKS_AND_GLOBALS_BYTES) * gogc / 100
        return max(goal, HEAP_MINIMUM_BYTES * gogc / 100)

    heap = BASE_HEAP_BYTES
    goal = goal_after(BASE_HEAP_BYTES)
    cycles = 0
    allocations = 1 if pooled else frames  # a pool hands the first buffer back every frame
    for _ in range(allocations):
        heap += frame_bytes
        if heap > goal:
            cycles += 1
            heap = marked
            goal = goal_after(marked)
    seconds = frames / fps if fps > 0 else frames * 1e-3
    return FrameGC(
        gc_cycles=cycles,
        gc_per_s=cycles / seconds,
        seconds=seconds,
        heap_live_mb=marked / (1 << 20),
        frame_bytes=frame_bytes,
        heap_goal_mb=goal / (1 << 20),
    )
