"""labkit.models.gcpacer: Go's garbage-collector pacer, as a model a learner can read and run.

Go's GC is concurrent: the program keeps running while the collector marks. The *pacer* (the
``gcControllerState`` in src/runtime/mgcpacer.go) decides two things.

*When to finish.* The heap goal is live + (live + stacks + globals) * GOGC/100, at least
4 MiB * GOGC/100; GOMEMLIMIT can lower it (a soft limit: the goal never drops below the live
heap). With GOGC=100 a program with 64 MiB live aims to finish at 128 MiB. How often the GC runs
follows directly: each cycle frees about (goal - live) bytes, so cycles per second ~ allocation
rate / (goal - live). A render loop allocating a 1024x768 RGBA frame (3 MiB) 60 times a second
allocates 180 MiB/s; with 64 MiB live that is about 3 cycles per second.

*When to start.* Marking takes time, and the program allocates meanwhile. The pacer measures
the ratio of allocation to marking (cons/mark) and starts the cycle early enough that 25 % of
GOMAXPROCS (the background workers) finishes marking just as the heap reaches the goal. If it
guessed wrong, goroutines that allocate during mark are made to help (mark assists), in
proportion to what they allocate: that is how an allocation-heavy goroutine, such as a render
loop, ends up paying for GC in its own latency. Two short stop-the-world pauses bracket each
cycle (sweep termination, mark termination).

Modules: ``goal`` (heap goal, trigger, GOGC / GOMEMLIMIT parsing), ``pacer`` (the controller
state, cycle to cycle), ``cycle`` (a GC engine through time and ``simulate_gc``), ``gctrace``
(the GODEBUG=gctrace=1 line format).
"""

from labkit.models.gcpacer.cycle import (
    MARK_BYTES_PER_CPU_S,
    MARK_MIB_PER_CPU_MS,
    MARK_TERMINATION_STW_S,
    REVISE_PERIOD_S,
    SWEEP_TERMINATION_STW_S,
    GCCycle,
    GCEngine,
    GCEvent,
    GCParams,
    GCRun,
    simulate_gc,
)
from labkit.models.gcpacer.gctrace import format_gctrace, gctrace_line
from labkit.models.gcpacer.goal import (
    DEFAULT_HEAP_MINIMUM_BYTES,
    GC_OFF,
    GCConfigError,
    heap_goal_bytes,
    memory_limit_heap_goal_bytes,
    parse_byte_count,
    parse_gogc,
    parse_memory_limit_bytes,
    trigger_bytes,
)
from labkit.models.gcpacer.pacer import (
    GC_BACKGROUND_UTILIZATION,
    Pacer,
    WorkerPlan,
    mark_worker_plan,
)

__all__ = [
    "DEFAULT_HEAP_MINIMUM_BYTES",
    "GC_BACKGROUND_UTILIZATION",
    "GC_OFF",
    "MARK_BYTES_PER_CPU_S",
    "MARK_MIB_PER_CPU_MS",
    "MARK_TERMINATION_STW_S",
    "REVISE_PERIOD_S",
    "SWEEP_TERMINATION_STW_S",
    "GCConfigError",
    "GCCycle",
    "GCEngine",
    "GCEvent",
    "GCParams",
    "GCRun",
    "Pacer",
    "WorkerPlan",
    "format_gctrace",
    "gctrace_line",
    "heap_goal_bytes",
    "mark_worker_plan",
    "memory_limit_heap_goal_bytes",
    "parse_byte_count",
    "parse_gogc",
    "parse_memory_limit_bytes",
    "simulate_gc",
    "trigger_bytes",
]
