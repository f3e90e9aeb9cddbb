"""The kinds of event the scheduler model's kernel processes (``Scheduler._loop``).

An event is a tuple ``(time_ms, seq, kind, obj, token)``: ``seq`` breaks ties in the order the
events were scheduled, ``obj`` is what the event is about, and ``token`` lets a later change
cancel it (a G's burst interrupted by preemption, sysmon woken early, a poller broken): the event
is dropped when its token no longer matches its object's. Each kind says what happens, never the
token: a woken M that must run its locked G is its own kind (``EV_STARTLOCKEDM``), not a startm
with a special token.

Plain ``int`` constants rather than an ``IntEnum``: the event loop compares ``kind`` with them on
every event, and CPython's fast path for ``==`` takes exact ints only.
"""

from __future__ import annotations

#: p's M decides in schedule() (schedule, src/runtime/proc.go:4150). obj: the P.
EV_SCHED = 0
#: A G's CPU burst ends. obj: the G; token: the G's burst counter (G.token).
EV_CPU_DONE = 1
#: A syscall returns (exitsyscall, src/runtime/proc.go:4922). obj: the G.
EV_SYSCALL_DONE = 2
#: An fd a G waits on becomes ready (netpoll). obj: the G.
EV_NET_READY = 3
#: A round of sysmon (src/runtime/proc.go:6537). obj: True if it ends a deep sleep; token:
#: Scheduler.sm_token.
EV_SYSMON = 4
#: A parked M woken by startm (src/runtime/proc.go:3050) arrives with its P and enters schedule().
#: obj: the M.
EV_STARTM = 5
#: A poller M returns from epoll_wait. obj: the M; token: Scheduler.poll_token.
EV_POLL_WAKE = 6
#: runqgrab's usleep(3) before taking a running P's runnext is over (src/runtime/proc.go:7746):
#: the thief retries findRunnable. obj: the thief's P.
EV_STEAL_RETRY = 7
#: A locked M woken by startlockedm (src/runtime/proc.go:3293) arrives and runs the G locked to
#: it, on the P it was handed. obj: the M.
EV_STARTLOCKEDM = 8
#: A spinning lockSlow's runtime_doSpin is over (procyield, src/runtime/proc.go:8006): the G
#: looks at its mutex again (mutex.py). obj: the G; token: its G.token.
EV_SPIN = 9
#: A G in a ``cpu(calls_per_ms=...)`` burst reaches the next call's stack-check prologue with a
#: preemption request pending (newstack, src/runtime/stack.go:1122): it stops there. obj: the G;
#: token: its G.token.
EV_PROLOGUE = 10
#: An M's OS time slice is over while other Ms wait for a CPU (``cpus.py``, with
#: ``simulate(cores=n)``). obj: the M; token: its M.cpu_token.
EV_SLICE = 11
#: A waiting M got a CPU: its stalled goroutine's burst goes on (``cpus.py``). obj: the M;
#: token: its M.cpu_token.
EV_CPU_GRANT = 12

#: Each kind's name, for reading a heap in a debugger or a test.
EVENT_NAMES = (
    "sched", "cpu_done", "syscall_done", "net_ready", "sysmon", "startm", "poll_wake",
    "steal_retry", "startlockedm", "spin", "prologue", "slice", "cpu_grant",
)  # fmt: skip
