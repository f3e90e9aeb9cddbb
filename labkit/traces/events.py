"""What an ordered event means: its kind, the state transition it is, its range, its stack.

The readings of src/internal/trace/event.go, shared by the ``-d=parsed`` dump (dump.py) and the
Trace builder (build.py): ``tracev2Type2Kind`` (KIND), ``Event.StateTransition``
(state_transition), ``Event.Range`` (range_of) and ``Event.Stack`` (event_stack). An event is
the tuple ``labkit.traces.order.read_events`` yields.
"""

from __future__ import annotations

from labkit.traces import spec as s

SYNC, METRIC, LABEL, STACK_SAMPLE = "Sync", "Metric", "Label", "StackSample"
RANGE_BEGIN, RANGE_ACTIVE, RANGE_END = "RangeBegin", "RangeActive", "RangeEnd"
TRANSITION, EXPERIMENTAL = "StateTransition", "Experimental"

#: Event kind by wire type (tracev2Type2Kind in event.go).
KIND: dict[int, str] = {
    s.EV_SYNC_EVENT: SYNC,
    s.EV_CPU_SAMPLE: STACK_SAMPLE,
    s.EV_PROCS_CHANGE: METRIC,
    s.EV_HEAP_ALLOC: METRIC,
    s.EV_HEAP_GOAL: METRIC,
    s.EV_GO_LABEL: LABEL,
    s.EV_USER_TASK_BEGIN: "TaskBegin",
    s.EV_USER_TASK_END: "TaskEnd",
    s.EV_USER_REGION_BEGIN: "RegionBegin",
    s.EV_USER_REGION_END: "RegionEnd",
    s.EV_USER_LOG: "Log",
}
for _t in (s.EV_STW_BEGIN, s.EV_GC_BEGIN, s.EV_GC_SWEEP_BEGIN, s.EV_GC_MARK_ASSIST_BEGIN):
    KIND[_t] = RANGE_BEGIN
for _t in (s.EV_GC_ACTIVE, s.EV_GC_SWEEP_ACTIVE, s.EV_GC_MARK_ASSIST_ACTIVE):
    KIND[_t] = RANGE_ACTIVE
for _t in (s.EV_STW_END, s.EV_GC_END, s.EV_GC_SWEEP_END, s.EV_GC_MARK_ASSIST_END):
    KIND[_t] = RANGE_END
for _t in (
    s.EV_PROC_START,
    s.EV_PROC_STOP,
    s.EV_PROC_STEAL,
    s.EV_PROC_STATUS,
    s.EV_GO_CREATE,
    s.EV_GO_CREATE_SYSCALL,
    s.EV_GO_START,
    s.EV_GO_DESTROY,
    s.EV_GO_DESTROY_SYSCALL,
    s.EV_GO_STOP,
    s.EV_GO_BLOCK,
    s.EV_GO_UNBLOCK,
    s.EV_GO_SYSCALL_BEGIN,
    s.EV_GO_SYSCALL_END,
    s.EV_GO_SYSCALL_END_BLOCKED,
    s.EV_GO_STATUS,
    s.EV_GO_SWITCH,
    s.EV_GO_SWITCH_DESTROY,
    s.EV_GO_CREATE_BLOCKED,
    s.EV_GO_STATUS_STACK,
):
    KIND[_t] = TRANSITION
for _t in range(s.MAX_EVENT + 1, 137):
    KIND[_t] = EXPERIMENTAL

GOROUTINE, PROC = "Goroutine", "Proc"


#: Goroutine transitions whose states are fixed by the event type (Event.StateTransition):
#: type -> (from, to, where the goroutine ID is in the event tuple (5: the first argument, 4:
#: the context's G), where the transition stack ID is (-1: none), whether the first argument
#: is a reason string). A created goroutine's transition stack is where it will start (its
#: new_stack), present even when its ID is 0 (Stack{table, id} is not NoStack).
GO_TRANSITIONS: dict[int, tuple[int, int, int, int, bool]] = {
    s.EV_GO_CREATE: (s.G_NOT_EXIST, s.G_RUNNABLE, 5, 6, False),
    s.EV_GO_CREATE_BLOCKED: (s.G_NOT_EXIST, s.G_WAITING, 5, 6, False),
    s.EV_GO_CREATE_SYSCALL: (s.G_NOT_EXIST, s.G_SYSCALL, 5, -1, False),
    s.EV_GO_START: (s.G_RUNNABLE, s.G_RUNNING, 5, -1, False),
    s.EV_GO_DESTROY: (s.G_RUNNING, s.G_NOT_EXIST, 4, -1, False),
    s.EV_GO_DESTROY_SYSCALL: (s.G_SYSCALL, s.G_NOT_EXIST, 4, -1, False),
    s.EV_GO_STOP: (s.G_RUNNING, s.G_RUNNABLE, 4, 6, True),
    s.EV_GO_BLOCK: (s.G_RUNNING, s.G_WAITING, 4, 6, True),
    s.EV_GO_UNBLOCK: (s.G_WAITING, s.G_RUNNABLE, 5, -1, False),
    # GoSwitch and GoSwitchDestroy first unblock the goroutine they name, like GoUnblock.
    s.EV_GO_SWITCH: (s.G_WAITING, s.G_RUNNABLE, 5, -1, False),
    s.EV_GO_SWITCH_DESTROY: (s.G_WAITING, s.G_RUNNABLE, 5, -1, False),
    s.EV_GO_SYSCALL_BEGIN: (s.G_RUNNING, s.G_SYSCALL, 4, 6, False),
    s.EV_GO_SYSCALL_END: (s.G_SYSCALL, s.G_RUNNING, 4, -1, False),
    s.EV_GO_SYSCALL_END_BLOCKED: (s.G_SYSCALL, s.G_RUNNABLE, 4, -1, False),
}
_CREATES = (s.EV_GO_CREATE, s.EV_GO_CREATE_BLOCKED)


def go_status(ev: tuple) -> tuple[int, int, int, int | None]:
    """``(goroutine, from, to, transition stack ID or None)`` of a GoStatus(Stack) event, whose
    old state ordering packed above the status (advanceGoStatus)."""
    packed = ev[7]
    stack = (ev[8] or None) if ev[0] == s.EV_GO_STATUS_STACK else None
    return ev[5], packed >> 32, s.GO_STATUS_TO_STATE[packed & 0xFFFFFFFF], stack


def state_transition(ev: tuple) -> tuple[str, int, int, int, str, int | None]:
    """Event.StateTransition: ``(resource, id, from, to, reason, transition stack ID)``.

    ``resource`` is "Goroutine" or "Proc"; from/to index GO_STATE_NAMES or PROC_STATE_NAMES;
    the stack (None when there is none) is the transitioning goroutine's, which for an unblock
    is absent: the event's own stack (``event_stack``) is then the unblocker's.
    """
    typ = ev[0]
    fixed = GO_TRANSITIONS.get(typ)
    if fixed is not None:
        old, new, gi, si, has_reason = fixed
        stack = ev[si] if si >= 0 else None
        if typ not in _CREATES and not stack:
            stack = None
        return GOROUTINE, ev[gi], old, new, ev[9].string(ev[5]) if has_reason else "", stack
    if typ in (s.EV_GO_STATUS, s.EV_GO_STATUS_STACK):
        gid, old, new, stack = go_status(ev)
        return GOROUTINE, gid, old, new, "", stack
    if typ == s.EV_PROC_START:
        return PROC, ev[5], s.P_IDLE, s.P_RUNNING, "", None
    if typ == s.EV_PROC_STOP:
        return PROC, ev[3], s.P_RUNNING, s.P_IDLE, "", None
    if typ == s.EV_PROC_STEAL:
        before = s.P_IDLE if ev[8] == s.PROC_SYSCALL_ABANDONED else s.P_RUNNING
        return PROC, ev[5], before, s.P_IDLE, "", None
    if typ == s.EV_PROC_STATUS:
        return PROC, ev[5], ev[7], s.PROC_STATUS_TO_STATE[ev[6]], "", None
    raise ValueError(f"event type {typ} is not a state transition")


def range_of(ev: tuple) -> tuple[str, str, int]:
    """Event.Range: ``(name, scope kind, scope id)``; scope kind "None", "Goroutine", "Proc"."""
    typ, _, _, p, gid, a0, _, _, _, g = ev
    if typ in (s.EV_STW_BEGIN, s.EV_STW_END):
        return f"stop-the-world ({g.string(a0)})", GOROUTINE, gid
    if typ in (s.EV_GC_BEGIN, s.EV_GC_ACTIVE, s.EV_GC_END):
        return "GC concurrent mark phase", "None", -1
    if typ in (s.EV_GC_SWEEP_BEGIN, s.EV_GC_SWEEP_ACTIVE, s.EV_GC_SWEEP_END):
        return "GC incremental sweep", PROC, a0 if typ == s.EV_GC_SWEEP_ACTIVE else p
    return "GC mark assist", GOROUTINE, a0 if typ == s.EV_GC_MARK_ASSIST_ACTIVE else gid


def event_stack(ev: tuple) -> int:
    """Event.Stack's ID: the stack of whoever ran the event (0: none)."""
    typ = ev[0]
    if typ == s.EV_CPU_SAMPLE:
        return ev[5]
    i = s.STACK_ARG[typ]
    return ev[5 + i] if i >= 0 else 0
