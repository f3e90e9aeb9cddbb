"""A mini Go scheduler: G, M and P, small enough to read, faithful enough to reproduce stalls.

G, M, P
-------
Go runs goroutines (G) on OS threads (M), but a thread may run Go code only while it holds a P,
a "processor": the right to run Go code plus the per-P state that makes scheduling cheap (a local
run queue of 256 Gs and a ``runnext`` slot, a timer heap, a memory cache). GOMAXPROCS is the
number of Ps, so it bounds parallelism; the number of Ms is not bounded by it. An M that blocks in
the kernel (a syscall) keeps its G but loses its P, which another M picks up: that is why the
thread count grows with blocking syscalls while GOMAXPROCS stays put.

The design (src/runtime/proc.go, "Goroutine scheduler"; golang.org/s/go11sched) rejected three
simpler ones: one global queue (a lock every scheduler call), handing a readied G directly to a
new thread (threads thrash), and waking a thread for every readied G (they wake to find nothing).
Instead: work is queued per P; a G readied by the running G goes to ``runnext`` and *inherits*
the time slice (so producer/consumer pairs run back to back); an idle P's thread is woken only
if no other thread is already "spinning" looking for work (``wakep``), and at most half the busy
Ps may have a spinning M; a thread that finds no work steals half of another P's queue.

Fairness comes from three places: on every 61st schedule a P takes a G from the global queue
first, whatever its local queue holds (it also looks there whenever its local queue is empty);
``sysmon``, a thread without a P, preempts a G that has run 10 ms on one time slice, takes Ps from
threads stuck in syscalls, and polls the network if nobody did for 10 ms; a preempted or yielding
G goes to the *global* queue, behind everyone.

The model
---------
``labkit.models.scheduler`` is a discrete-event model of that machinery (Go 1.26/1.27): programs of steps
(``programs.py``, each compiled once into flat code with loop jumps), the scheduler, split the way
proc.go is read (each module's docstring names the runtime functions it mirrors, with file:line):

- ``runq.py``: runqput, runqget, runqsteal, globrunqput, globrunqget, injectglist, ready;
- ``timers.py``: timeSleep (``sleep``, and ``sleep_until`` for time.Sleep(time.Until(t))), the
  timer heaps and who fires them;
- ``netpoll.py``: netpollblock, netpoll, wakeNetPoller;
- ``sysmon.py``: sysmon, retake, preemptone, and where a preempted burst stops (its calls'
  prologues, newstack);
- ``threads.py``: newm, startm, stopm, wakep, handoffp, startlockedm, stoplockedm, checkdead;
- ``chan.py``: chansend, chanrecv (a channel's state is a ``ChanState``);
- the primitives a program synchronises with (``primitives.py`` builds their steps):
  ``sema.py`` semacquire1, semrelease1, goyield; ``mutex.py`` sync.Mutex's Lock, lockSlow
  (spinning, runtime_canSpin, starvation mode) and Unlock; ``waitgroup.py`` Add, Done, Wait;
  ``timerchan.py`` time.Ticker and time.After channels (maybeRunChan, blockTimerChan,
  unlockAndRun, sendTime); ``selectgo.py`` selectgo; ``atomics.py`` an atomic flag spun on;
- ``syscalls.py``: entersyscall, exitsyscall;
- ``goroutine.py``: a G's steps, newproc, gopark, goschedImpl, goexit0;
- ``schedule.py``: schedule, findRunnable, stealWork (a ``Steal`` result), execute;
- ``cpus.py``: the OS's share of ``cores`` CPUs between the Ms (only with ``cores=n``);
- ``engine.py``: the ``Scheduler`` they make up, its state and event loop (``events.py``);
  ``state.py`` its G, M and P records, ``records.py`` what a run writes down (the one place
  that counts the state row), ``invariants.py`` its self-check;

and the ``Result`` (``result.py``). Virtual time is in milliseconds; same inputs and seed, same
result. Costs the real runtime pays (a schedule() switch, arming and firing a timer, waking a
thread) are named constants in ``runtime.py``, each derived from a recording in
``labkit/golab/recorded``.

Left out on purpose: GC (see ``labkit.models.gcpacer``), closing channels, RWMutex, sync.Cond
and Once, cgo, GOMAXPROCS changes at run time. The OS scheduler is left out by default (every M
with a P has a CPU, which also makes a contended Mutex spin as on a multicore machine);
``simulate(..., cores=n)`` shares n CPUs between the Ms instead (``cpus.py``: round robin in
slices, as GOMAXPROCS above the machine's CPU count makes the kernel do), and draws from the
run's seed what the recordings show the OS varies: a woken thread's latency, short for a thread
that parked microseconds before (``threads.thread_wake_ms``), what a futex wake costs the
goroutine whose ready made it (``threads.wakep``), and how late each of sysmon's sleeps, each
runqgrab back-off and each of the netpoller's timed epoll waits ends (``sysmon.sysmon_late_ms``,
``sysmon.usleep_ms``, ``netpoll.epoll_late_ms``), so sysmon's phase against the program differs
from seed to seed, and a timer met by a sleeping thread is late. A run starts as a process just
started, sysmon in its first short rounds; ``simulate(..., sysmon_backoff=True)`` starts it in a
process that has run a while, sysmon already in its 10 ms rounds at a phase drawn from the seed
(``sysmon.first_sysmon_round_ms``), as a service is when a burst arrives.

What a CPU step calls decides where it can be preempted: ``cpu(ms, calls=...)`` takes True or
"functions" (a stack-check prologue at every call), False or "none" (no calls), "leaf" (only
small leaf functions, which the compiler gives no prologue), or ``calls_per_ms=r`` (a prologue
every 1/r ms); see ``programs.cpu`` and ``sysmon.preemptone``.

>>> main = Go("main", [spawn(Go("spin", [cpu(600, calls=False)])), gosched(), mark("back")])
>>> res = simulate(main, gomaxprocs=1, async_preempt=True, until_ms=5_000, seed=0)
>>> 14 < res.marks["back"][0] < 19
True
"""

from __future__ import annotations

from typing import Any

from labkit.models.scheduler.engine import Scheduler
from labkit.models.scheduler.params import SchedParamError, SchedParams
from labkit.models.scheduler.primitives import Flag, Mutex, Ticker, WaitGroup, select, ticker
from labkit.models.scheduler.programs import (
    Chan,
    Go,
    ProgramError,
    Step,
    cpu,
    cpu_demand_ms,
    gosched,
    io_wait,
    lock_os_thread,
    mark,
    recv,
    repeat,
    send,
    sleep,
    sleep_until,
    spawn,
    syscall,
    unlock_os_thread,
    wait,
)
from labkit.models.scheduler.result import Result

__all__ = [
    "Chan",
    "Flag",
    "Go",
    "Mutex",
    "ProgramError",
    "Result",
    "SchedParamError",
    "SchedParams",
    "Step",
    "Ticker",
    "WaitGroup",
    "cpu",
    "cpu_demand_ms",
    "gosched",
    "io_wait",
    "lock_os_thread",
    "mark",
    "recv",
    "repeat",
    "select",
    "send",
    "simulate",
    "sleep",
    "sleep_until",
    "spawn",
    "syscall",
    "ticker",
    "unlock_os_thread",
    "wait",
]


def simulate(main: Go, params: SchedParams | None = None, /, **overrides: Any) -> Result:
    """Run ``main`` on P0 at t=0 and simulate until every goroutine is done, ``until_ms``, or a
    deadlock (reported in ``Result.deadlock``, not raised).

    ``params`` (a :class:`SchedParams`) and ``overrides`` (its fields: ``gomaxprocs=4``,
    ``async_preempt=True``, ``until_ms=10_000.0``, ``seed=0``, ``cores=None``,
    ``sysmon_backoff=False``) as every labkit
    model takes them;
    a bad value raises a SchedParamError naming it. ``Result.params`` is the record it ran with.
    """
    if not isinstance(main, Go):
        raise ProgramError(f"simulate(main) needs a Go(name, steps), got {main!r}")
    p = SchedParams.make(params, **overrides)
    s = Scheduler(
        main, p.gomaxprocs, p.async_preempt, p.until_ms, p.seed, p.cores, p.sysmon_backoff
    )
    s.simulate()
    result = Result.from_scheduler(s, p, main.name)
    s.release()  # no reference cycles left behind: the run is freed as soon as it is dropped
    return result
