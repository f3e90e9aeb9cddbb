"""The execution trace's wire format: event types, their arguments and the status codes.

A transcription of src/internal/trace/tracev2/events.go (go1.27.3): the numbering of
``EvNone ... EvEndOfGeneration`` and of the experimental events from ``MaxEvent`` = 127, each
event's argument names, which arguments are stack or string IDs, and which "Begin" event an "End"
closes. Formats 1.22, 1.23, 1.25 and 1.26 (src/internal/trace/version/version.go) share this
table; a later format only appended events, and the reader takes each event's layout from the
table whatever the version, as src/internal/trace/batchcursor.go readTimedBaseEvent does.
"""

from __future__ import annotations

from typing import NamedTuple

# Structural events (tracev2/events.go).
EV_NONE = 0
EV_EVENT_BATCH = 1
EV_STACKS = 2
EV_STACK = 3
EV_STRINGS = 4
EV_STRING = 5
EV_CPU_SAMPLES = 6
EV_CPU_SAMPLE = 7
EV_FREQUENCY = 8
# Procs.
EV_PROCS_CHANGE = 9
EV_PROC_START = 10
EV_PROC_STOP = 11
EV_PROC_STEAL = 12
EV_PROC_STATUS = 13
# Goroutines.
EV_GO_CREATE = 14
EV_GO_CREATE_SYSCALL = 15
EV_GO_START = 16
EV_GO_DESTROY = 17
EV_GO_DESTROY_SYSCALL = 18
EV_GO_STOP = 19
EV_GO_BLOCK = 20
EV_GO_UNBLOCK = 21
EV_GO_SYSCALL_BEGIN = 22
EV_GO_SYSCALL_END = 23
EV_GO_SYSCALL_END_BLOCKED = 24
EV_GO_STATUS = 25
# STW.
EV_STW_BEGIN = 26
EV_STW_END = 27
# GC.
EV_GC_ACTIVE = 28
EV_GC_BEGIN = 29
EV_GC_END = 30
EV_GC_SWEEP_ACTIVE = 31
EV_GC_SWEEP_BEGIN = 32
EV_GC_SWEEP_END = 33
EV_GC_MARK_ASSIST_ACTIVE = 34
EV_GC_MARK_ASSIST_BEGIN = 35
EV_GC_MARK_ASSIST_END = 36
EV_HEAP_ALLOC = 37
EV_HEAP_GOAL = 38
# Annotations.
EV_GO_LABEL = 39
EV_USER_TASK_BEGIN = 40
EV_USER_TASK_END = 41
EV_USER_REGION_BEGIN = 42
EV_USER_REGION_END = 43
EV_USER_LOG = 44
# Go 1.23: coroutines, GoStatus with a stack, experimental batches.
EV_GO_SWITCH = 45
EV_GO_SWITCH_DESTROY = 46
EV_GO_CREATE_BLOCKED = 47
EV_GO_STATUS_STACK = 48
EV_EXPERIMENTAL_BATCH = 49
# Go 1.25: sync batches and clock snapshots; Go 1.26: in-band end of generation.
EV_SYNC = 50
EV_CLOCK_SNAPSHOT = 51
EV_END_OF_GENERATION = 52

#: Not a wire type: the Sync event the reader makes at each generation's start and the end
#: (``evSync`` in src/internal/trace/event.go).
EV_SYNC_EVENT = 255

#: ``MaxEvent`` in tracev2/events.go: experimental events are numbered after it.
MAX_EVENT = 127

# Trace format versions (src/internal/trace/version/version.go).
GO122, GO123, GO125, GO126 = 22, 23, 25, 26
VERSIONS = (GO122, GO123, GO125, GO126)
#: Formats of Go 1.11-1.21 (the older, v1 format): recognised only to say so.
V1_VERSIONS = (11, 19, 21)

# Goroutine statuses on the wire (tracev2.GoStatus) and P statuses (tracev2.ProcStatus).
GO_BAD, GO_RUNNABLE, GO_RUNNING, GO_SYSCALL, GO_WAITING = 0, 1, 2, 3, 4
PROC_BAD, PROC_RUNNING, PROC_IDLE, PROC_SYSCALL, PROC_SYSCALL_ABANDONED = 0, 1, 2, 3, 4

# The API's states (src/internal/trace/resources.go GoState / ProcState), as -d=parsed names them.
G_UNDETERMINED, G_NOT_EXIST, G_RUNNABLE, G_RUNNING, G_WAITING, G_SYSCALL = range(6)
GO_STATE_NAMES = ("Undetermined", "NotExist", "Runnable", "Running", "Waiting", "Syscall")
P_UNDETERMINED, P_NOT_EXIST, P_RUNNING, P_IDLE = range(4)
PROC_STATE_NAMES = ("Undetermined", "NotExist", "Running", "Idle")

#: tracev2GoStatus2GoState and tracev2ProcStatus2ProcState (event.go).
GO_STATUS_TO_STATE = (G_UNDETERMINED, G_RUNNABLE, G_RUNNING, G_SYSCALL, G_WAITING)
PROC_STATUS_TO_STATE = (P_UNDETERMINED, P_RUNNING, P_IDLE, P_RUNNING, P_IDLE)

#: ``NoThread``, ``NoProc``, ``NoGoroutine`` (resources.go) are -1; the wire writes them as
#: uint64, so a wire value is read back as a signed int64.
NONE = -1


class Spec(NamedTuple):
    """One event type: its name, argument names (a timed event's first is ``dt``), which
    argument indexes hold stack IDs (the first is the event's own stack) and string IDs, the
    "Begin" type an "End" closes, and whether it is a timed event of the M streams."""

    name: str
    args: tuple[str, ...] = ()
    stack_ids: tuple[int, ...] = ()
    string_ids: tuple[int, ...] = ()
    start_ev: int = EV_NONE
    timed: bool = False
    experimental: bool = False


def _timed(name: str, *args: str, stacks=(), strings=(), start=EV_NONE, exp=False) -> Spec:
    return Spec(name, ("dt", *args), tuple(stacks), tuple(strings), start, True, exp)


SPECS: dict[int, Spec] = {
    EV_EVENT_BATCH: Spec("EventBatch", ("gen", "m", "time", "size")),
    EV_STACKS: Spec("Stacks"),
    EV_STACK: Spec("Stack", ("id", "nframes")),
    EV_STRINGS: Spec("Strings"),
    EV_STRING: Spec("String", ("id",)),
    EV_CPU_SAMPLES: Spec("CPUSamples"),
    EV_CPU_SAMPLE: Spec("CPUSample", ("time", "m", "p", "g", "stack"), stack_ids=(4,)),
    EV_FREQUENCY: Spec("Frequency", ("freq",)),
    EV_EXPERIMENTAL_BATCH: Spec("ExperimentalBatch", ("exp", "gen", "m", "time")),
    EV_SYNC: Spec("Sync"),
    EV_END_OF_GENERATION: Spec("EndOfGeneration"),
    EV_PROCS_CHANGE: _timed("ProcsChange", "procs_value", "stack", stacks=(2,)),
    EV_PROC_START: _timed("ProcStart", "p", "p_seq"),
    EV_PROC_STOP: _timed("ProcStop"),
    EV_PROC_STEAL: _timed("ProcSteal", "p", "p_seq", "m"),
    EV_PROC_STATUS: _timed("ProcStatus", "p", "pstatus"),
    EV_GO_CREATE: _timed("GoCreate", "new_g", "new_stack", "stack", stacks=(3, 2)),
    EV_GO_CREATE_SYSCALL: _timed("GoCreateSyscall", "new_g"),
    EV_GO_START: _timed("GoStart", "g", "g_seq"),
    EV_GO_DESTROY: _timed("GoDestroy"),
    EV_GO_DESTROY_SYSCALL: _timed("GoDestroySyscall"),
    EV_GO_STOP: _timed("GoStop", "reason_string", "stack", stacks=(2,), strings=(1,)),
    EV_GO_BLOCK: _timed("GoBlock", "reason_string", "stack", stacks=(2,), strings=(1,)),
    EV_GO_UNBLOCK: _timed("GoUnblock", "g", "g_seq", "stack", stacks=(3,)),
    EV_GO_SYSCALL_BEGIN: _timed("GoSyscallBegin", "p_seq", "stack", stacks=(2,)),
    EV_GO_SYSCALL_END: _timed("GoSyscallEnd", start=EV_GO_SYSCALL_BEGIN),
    EV_GO_SYSCALL_END_BLOCKED: _timed("GoSyscallEndBlocked", start=EV_GO_SYSCALL_BEGIN),
    EV_GO_STATUS: _timed("GoStatus", "g", "m", "gstatus"),
    EV_STW_BEGIN: _timed("STWBegin", "kind_string", "stack", stacks=(2,), strings=(1,)),
    EV_STW_END: _timed("STWEnd", start=EV_STW_BEGIN),
    EV_GC_ACTIVE: _timed("GCActive", "gc_seq", start=EV_GC_BEGIN),
    EV_GC_BEGIN: _timed("GCBegin", "gc_seq", "stack", stacks=(2,)),
    EV_GC_END: _timed("GCEnd", "gc_seq", start=EV_GC_BEGIN),
    EV_GC_SWEEP_ACTIVE: _timed("GCSweepActive", "p", start=EV_GC_SWEEP_BEGIN),
    EV_GC_SWEEP_BEGIN: _timed("GCSweepBegin", "stack", stacks=(1,)),
    EV_GC_SWEEP_END: _timed(
        "GCSweepEnd", "swept_value", "reclaimed_value", start=EV_GC_SWEEP_BEGIN
    ),
    EV_GC_MARK_ASSIST_ACTIVE: _timed("GCMarkAssistActive", "g", start=EV_GC_MARK_ASSIST_BEGIN),
    EV_GC_MARK_ASSIST_BEGIN: _timed("GCMarkAssistBegin", "stack", stacks=(1,)),
    EV_GC_MARK_ASSIST_END: _timed("GCMarkAssistEnd", start=EV_GC_MARK_ASSIST_BEGIN),
    EV_HEAP_ALLOC: _timed("HeapAlloc", "heapalloc_value"),
    EV_HEAP_GOAL: _timed("HeapGoal", "heapgoal_value"),
    EV_GO_LABEL: _timed("GoLabel", "label_string", strings=(1,)),
    EV_USER_TASK_BEGIN: _timed(
        "UserTaskBegin", "task", "parent_task", "name_string", "stack", stacks=(4,), strings=(3,)
    ),
    EV_USER_TASK_END: _timed("UserTaskEnd", "task", "stack", stacks=(2,)),
    EV_USER_REGION_BEGIN: _timed(
        "UserRegionBegin", "task", "name_string", "stack", stacks=(3,), strings=(2,)
    ),
    EV_USER_REGION_END: _timed(
        "UserRegionEnd",
        "task",
        "name_string",
        "stack",
        stacks=(3,),
        strings=(2,),
        start=EV_USER_REGION_BEGIN,
    ),
    EV_USER_LOG: _timed(
        "UserLog", "task", "key_string", "value_string", "stack", stacks=(4,), strings=(2, 3)
    ),
    EV_GO_SWITCH: _timed("GoSwitch", "g", "g_seq"),
    EV_GO_SWITCH_DESTROY: _timed("GoSwitchDestroy", "g", "g_seq"),
    EV_GO_CREATE_BLOCKED: _timed("GoCreateBlocked", "new_g", "new_stack", "stack", stacks=(3, 2)),
    EV_GO_STATUS_STACK: _timed("GoStatusStack", "g", "m", "gstatus", "stack", stacks=(4,)),
    EV_CLOCK_SNAPSHOT: _timed("ClockSnapshot", "mono", "sec", "nsec"),
    # Experimental AllocFree events (GOEXPERIMENT=traceallocfree), MaxEvent + 1 ...
    128: _timed("Span", "id", "npages_value", "kindclass", exp=True),
    129: _timed("SpanAlloc", "id", "npages_value", "kindclass", exp=True),
    130: _timed("SpanFree", "id", exp=True),
    131: _timed("HeapObject", "id", "type", exp=True),
    132: _timed("HeapObjectAlloc", "id", "type", exp=True),
    133: _timed("HeapObjectFree", "id", exp=True),
    134: _timed("GoroutineStack", "id", "order", exp=True),
    135: _timed("GoroutineStackAlloc", "id", "order", exp=True),
    136: _timed("GoroutineStackFree", "id", exp=True),
}

#: Number of arguments after ``dt`` of each timed event type (index: type; -1: not timed).
N_ARGS: tuple[int, ...] = tuple(
    len(SPECS[t].args) - 1 if t in SPECS and SPECS[t].timed else -1 for t in range(256)
)

#: The argument index (after ``dt``) of each type's own stack ID, or -1.
STACK_ARG: tuple[int, ...] = tuple(
    SPECS[t].stack_ids[0] - 1 if t in SPECS and SPECS[t].stack_ids else -1 for t in range(256)
)


def event_name(typ: int) -> str:
    spec = SPECS.get(typ)
    return spec.name if spec else f"Invalid({typ})"
