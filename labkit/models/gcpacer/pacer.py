"""The GC pacer's state across cycles: goal, trigger, runway and the assist ratio.

Mirrors ``gcControllerState`` in src/runtime/mgcpacer.go (Go 1.27) method by method:
``commit`` (goal and runway after each cycle), ``trigger``, ``start_cycle`` (mark worker
counts), ``revise`` (assist ratio during mark), ``end_cycle`` (the cons/mark estimate) and
``reset_live``. It keeps no clock of its own; ``labkit.models.gcpacer.cycle.GCEngine`` drives it through time,
the way gcStart / gcMarkDone / gcMarkTermination drive the runtime's controller.

Scan work is measured in bytes of scannable memory, as in the runtime (heapScanWork etc.).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labkit.models.gcpacer.goal import (
    MIN_RUNWAY_BYTES,
    NO_MEMORY_LIMIT_BYTES,
    SWEEP_MIN_HEAP_DISTANCE_BYTES,
    gc_percent_heap_goal_bytes,
    heap_minimum_bytes,
    memory_limit_heap_goal_bytes,
    trigger_bytes,
)

__all__ = [
    "GC_BACKGROUND_UTILIZATION",
    "MAX_UTIL_ERROR",
    "Pacer",
    "WorkerPlan",
    "mark_worker_plan",
]

# gcBackgroundUtilization (mgcpacer.go): background mark workers aim at 25 % of GOMAXPROCS; the
# pacer picks the trigger so that, if its cons/mark estimate holds, no assists are needed. It is
# also gcGoalUtilization, the utilisation the runway is computed for.
GC_BACKGROUND_UTILIZATION = 0.25

# startCycle's maxUtilError: if rounding the dedicated worker count misses 25 % of GOMAXPROCS by
# more than 30 % (GOMAXPROCS <= 3 or == 6), a fractional worker makes up the difference.
MAX_UTIL_ERROR = 0.3

# revise: the assist ratio never divides by less than this much remaining scan work, because
# marking is racy and may legitimately overshoot the estimate.
MIN_SCAN_WORK_REMAINING = 1000

# revise: once past even the extrapolated goal, aim 10 % beyond it (maxOvershoot).
MAX_OVERSHOOT = 1.1

# revise: with GOGC=off and a forced/limit-driven cycle, act as if GOGC were huge.
GC_OFF_REVISE_PERCENT = 100000


@dataclass(frozen=True)
class WorkerPlan:
    """How many Ps the background mark workers take, from gcControllerState.startCycle."""

    gomaxprocs: int
    dedicated_workers: int
    fractional_utilization_goal: float  # fraction of each P's time for the fractional worker

    @property
    def worker_cpus(self) -> float:
        """Ps' worth of CPU the background workers use: dedicated + fractional share of all Ps."""
        return self.dedicated_workers + self.fractional_utilization_goal * self.gomaxprocs


def mark_worker_plan(gomaxprocs: int) -> WorkerPlan:
    """Dedicated and fractional mark workers for GOMAXPROCS, mirroring startCycle (mgcpacer.go).

    dedicated = int(GOMAXPROCS * 0.25 + 0.5); if that misses the 25 % goal by more than 30 %,
    round down instead and run a fractional worker for the rest. GOMAXPROCS=4 gives one dedicated
    worker; GOMAXPROCS=1, 2 or 3 give none and a fractional goal of 0.25 per P; 6 gives one plus
    1/12 per P.
    """
    total_goal = gomaxprocs * GC_BACKGROUND_UTILIZATION
    dedicated = int(total_goal + 0.5)
    util_error = dedicated / total_goal - 1
    fractional = 0.0
    if util_error < -MAX_UTIL_ERROR or util_error > MAX_UTIL_ERROR:
        if dedicated > total_goal:
            dedicated -= 1
        fractional = (total_goal - dedicated) / gomaxprocs
    return WorkerPlan(gomaxprocs, dedicated, fractional)


class Pacer:
    """The pacer's state, one instance per simulated program (gcControllerState).

    Life cycle, as in the runtime: ``commit`` after each mark termination fixes the next goal and
    runway; the engine compares the heap with ``trigger()``; ``start_cycle`` at the start of
    mark; ``revise`` whenever the heap or the scan work moves; ``end_cycle`` + ``reset_live`` +
    ``commit(sweep_done=False)`` at mark termination.
    """

    def __init__(
        self,
        gc_percent: int,
        memory_limit_bytes: int = NO_MEMORY_LIMIT_BYTES,
        *,
        heap_marked_bytes: int = 0,
        heap_scan_bytes: int = 0,
        stacks_bytes: int = 0,
        globals_bytes: int = 0,
        other_non_heap_bytes: int = 0,
    ) -> None:
        # Mirrors gcControllerState.init: heapMinimum, setGCPercent, setMemoryLimit, commit(true).
        # The state is that of a program whose previous cycle marked heap_marked_bytes.
        self.gc_percent = gc_percent
        self.memory_limit_bytes = memory_limit_bytes
        self.heap_minimum_bytes = heap_minimum_bytes(gc_percent)
        self.heap_marked_bytes = int(heap_marked_bytes)
        self.heap_live_bytes = float(heap_marked_bytes)
        self.heap_scan_bytes = float(heap_scan_bytes)
        self.last_heap_scan_bytes = int(heap_scan_bytes)
        self.last_stack_scan_bytes = int(stacks_bytes)
        self.max_stack_scan_bytes = int(stacks_bytes)
        self.globals_scan_bytes = int(globals_bytes)
        self.other_non_heap_bytes = int(other_non_heap_bytes)
        self.cons_mark = 0.0
        self.last_cons_mark = [0.0, 0.0, 0.0, 0.0]
        self.runway_bytes = 0
        self.triggered_bytes: float | None = None  # ^uint64(0) in the runtime: not triggered
        self.sweep_dist_min_trigger_bytes = 0
        self.gc_percent_goal_bytes: float | int = 0
        self.last_heap_goal_bytes: float | int = 0
        self.scan_work_bytes = 0.0  # heapScanWork + stackScanWork + globalsScanWork
        self.assist_work_per_byte = 0.0
        self._goal_cache: tuple[float | int, int] | None = None
        self.commit(sweep_done=True)

    # --- goal and trigger -------------------------------------------------------------------

    def commit(self, sweep_done: bool) -> None:
        """Recompute the GOGC goal and the runway (gcControllerState.commit).

        runway = consMark * (1 - 0.25) / 0.25 * (lastHeapScan + lastStackScan + globals): the
        bytes the program will allocate while the GC does last cycle's scan work with 25 % of the
        CPU, if the measured cons/mark ratio holds.
        """
        self._goal_cache = None
        live = int(self.heap_live_bytes)
        self.sweep_dist_min_trigger_bytes = (
            0 if sweep_done else live + SWEEP_MIN_HEAP_DISTANCE_BYTES
        )
        self.gc_percent_goal_bytes = gc_percent_heap_goal_bytes(
            self.heap_marked_bytes,
            self.gc_percent,
            self.last_stack_scan_bytes,
            self.globals_scan_bytes,
        )
        expected = self.last_heap_scan_bytes + self.last_stack_scan_bytes + self.globals_scan_bytes
        u = GC_BACKGROUND_UTILIZATION
        self.runway_bytes = int(self.cons_mark * (1 - u) / u * expected)

    def memory_limit_goal_bytes(self) -> float | int:
        """memoryLimitHeapGoal with stacks + other runtime memory as the non-heap part."""
        if self.memory_limit_bytes >= NO_MEMORY_LIMIT_BYTES:
            return math.inf
        return memory_limit_heap_goal_bytes(
            self.memory_limit_bytes,
            self.heap_marked_bytes,
            self.max_stack_scan_bytes + self.other_non_heap_bytes,
        )

    def heap_goal_internal(self) -> tuple[float | int, int]:
        """(goal, minTrigger) as in heapGoalInternal: GOGC goal, memory-limit goal, sweep room.

        Its inputs change only in commit, start_cycle and reset_live, so the result is cached
        between those calls (the runtime recomputes it on every call).
        """
        if self._goal_cache is None:
            self._goal_cache = self._heap_goal_internal()
        return self._goal_cache

    def _heap_goal_internal(self) -> tuple[float | int, int]:
        goal = self.gc_percent_goal_bytes
        limit_goal = self.memory_limit_goal_bytes()
        min_trigger = 0
        if limit_goal < goal:
            goal = limit_goal
        else:
            sweep_trigger = self.sweep_dist_min_trigger_bytes
            goal = max(goal, sweep_trigger)
            min_trigger = sweep_trigger
            if self.triggered_bytes is not None and goal < self.triggered_bytes + MIN_RUNWAY_BYTES:
                goal = int(self.triggered_bytes) + MIN_RUNWAY_BYTES
        return goal, min_trigger

    def heap_goal(self) -> float | int:
        """The current heap goal (gcControllerState.heapGoal)."""
        return self.heap_goal_internal()[0]

    def trigger(self) -> float | int:
        """Heap size that starts the next cycle (gcControllerState.trigger)."""
        goal, min_trigger = self.heap_goal_internal()
        return trigger_bytes(self.heap_marked_bytes, goal, self.runway_bytes, min_trigger)

    # --- one cycle --------------------------------------------------------------------------

    def start_cycle(self) -> None:
        """Reset per-cycle counters and compute the first assist ratio (startCycle)."""
        self.scan_work_bytes = 0.0
        self.triggered_bytes = self.heap_live_bytes
        self._goal_cache = None
        self.revise()

    def revise(self) -> float:
        """Update and return the assist ratio, scan work per allocated byte (revise).

        ratio = remaining expected scan work / remaining heap runway, where the expected work is
        last cycle's. If the GC has already done more work than expected, the heap is growing:
        the goal is extrapolated (at most (1 + GOGC/100) x the goal) and the expected work becomes
        the worst case; past even that goal, it aims 10 % further.
        """
        gc_percent = self.gc_percent if self.gc_percent >= 0 else GC_OFF_REVISE_PERCENT
        live = self.heap_live_bytes
        work = self.scan_work_bytes
        heap_goal = float(self.heap_goal())
        expected = self.last_heap_scan_bytes + self.last_stack_scan_bytes + self.globals_scan_bytes
        max_scan_work = self.heap_scan_bytes + self.max_stack_scan_bytes + self.globals_scan_bytes
        if work > expected and expected > 0 and math.isfinite(heap_goal):
            triggered = self.triggered_bytes if self.triggered_bytes is not None else live
            ext_goal = (heap_goal - triggered) / expected * max_scan_work + triggered
            expected = max_scan_work
            hard_goal = (1.0 + gc_percent / 100.0) * heap_goal
            heap_goal = min(ext_goal, hard_goal)
        if live > heap_goal:
            heap_goal *= MAX_OVERSHOOT
            expected = max_scan_work
        remaining_work = max(expected - work, MIN_SCAN_WORK_REMAINING)
        remaining_heap = heap_goal - live
        if remaining_heap <= 0:
            remaining_heap = 1.0
        self.assist_work_per_byte = remaining_work / remaining_heap
        return self.assist_work_per_byte

    def end_cycle(self, assist_cpu_s: float, idle_cpu_s: float, mark_s: float, procs: int) -> None:
        """Measure this cycle's cons/mark ratio and keep the max of the last five (endCycle).

        cons/mark = (heapLive - trigger) * (u + u_idle) / (scanWork * (1 - u)), u = 0.25 +
        assist utilisation: bytes allocated per mutator CPU-second over bytes scanned per GC
        CPU-second. Taking the maximum biases a noisy estimate towards starting earlier rather
        than towards assists.
        """
        self.last_heap_goal_bytes = self.heap_goal()
        utilization = GC_BACKGROUND_UTILIZATION
        idle_utilization = 0.0
        if mark_s > 0:
            utilization += assist_cpu_s / (mark_s * procs)
            idle_utilization = idle_cpu_s / (mark_s * procs)
        triggered = self.triggered_bytes if self.triggered_bytes is not None else 0.0
        if self.heap_live_bytes <= triggered or self.scan_work_bytes <= 0 or utilization >= 1:
            return  # the runtime ignores degenerate (extremely short) cycles
        current = ((self.heap_live_bytes - triggered) * (utilization + idle_utilization)) / (
            self.scan_work_bytes * (1 - utilization)
        )
        self.cons_mark = max([current, *self.last_cons_mark])
        self.last_cons_mark = [*self.last_cons_mark[1:], current]

    def reset_live(
        self, bytes_marked: float, heap_scan_work: float, stack_scan_work: float
    ) -> None:
        """Start the next cycle's accounting from the marked heap (resetLive)."""
        self.heap_marked_bytes = int(bytes_marked)
        self.heap_live_bytes = float(int(bytes_marked))
        self.heap_scan_bytes = float(heap_scan_work)
        self.last_heap_scan_bytes = int(heap_scan_work)
        self.last_stack_scan_bytes = int(stack_scan_work)
        self.triggered_bytes = None
