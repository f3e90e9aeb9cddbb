"""When a sleeping goroutine's timer fires while the GC marks: the next time a P schedules.

A goroutine that sleeps (``time.Sleep``, a ticker) is woken by its timer, and a timer runs only
when a P passes through the scheduler: ``findRunnable`` checks the P's own timers first
(``pp.timers.check``, src/runtime/proc.go:3430), and a P that finds nothing else to do runs
other Ps' expired timers on its last steal pass (``stealWork``, proc.go:3875-3876). Between
frames a render goroutine sleeps and its P is idle, so the timer fires on time.

During a mark phase an idle P does not stay idle: ``findRunnable`` gives it an idle mark worker
(gcMarkWorkerIdleMode, proc.go:3558-3562), and the fractional worker takes a P the same way
(findRunnableGCWorker). A worker drains with ``gcDrainIdle|gcDrainUntilPreempt``
(src/runtime/mgcmark.go:1182): it gives the P back when ``pollWork`` sees a goroutine in a run
queue or the network poller (proc.go:3819-3835) - an expired timer is neither - when it is
preempted, or when the mark runs out of work. Nothing else preempts it than sysmon: ``retake``
notes a P's schedtick at one round and preempts the P once the same schedtick has run for
``forcePreemptNS`` (src/runtime/proc.go:6715-6716), and sysmon, with nothing to retake, sleeps
its longest, 10 ms a round. So a P running workers passes through the scheduler at sysmon's
rounds: the first worker's slice ends at the first round that is ``forcePreemptNS`` after the
round that saw it start, and every later slice, which starts at a round, two rounds later. A
timer that expires in between waits for the first such round on any P, or for the end of the
mark (mark termination restarts the world and every P schedules).

Even then the woken goroutine does not run at once. ``findRunnable`` readies it (the timer
check) and then asks ``findRunnableGCWorker`` for a worker before it looks at the run queue
(proc.go:3447-3452). Where startCycle's rounding leaves a fractional goal (GOMAXPROCS 1-3 and 6:
``mark_worker_plan``), each P owes the mark that share of its time, which the idle worker's
time does not pay, so the fractional worker takes the P until its share is 20 % over
(``pollFractionalWorkerExit``, src/runtime/mgc.go:310-322): ``fractional_rerun_s``. Go's
execution trace of chapter 1's stall shows it: the worker preempted 11-19 ms after the frame
fell due, then a worker again for 8-10 ms, then the frame.

``first_scheduling_point`` computes when the goroutine runs; ``labkit.models.renderloop`` calls
it for each frame whose due time falls in a mark phase while no goroutine of the program is
running. The constants are the scheduler model's (``labkit.models.scheduler.runtime``:
FORCE_PREEMPT_MS, SYSMON_MAX_DELAY_MS and TIMER_SLACK_MS, the overshoot of sysmon's usleep),
read when called, so the two models agree.
"""

from __future__ import annotations

import math

from labkit.models.scheduler import runtime as _rt

__all__ = [
    "FRACTIONAL_EXIT_SLACK",
    "first_scheduling_point",
    "fractional_rerun_s",
    "netpoll_wake_s",
    "sysmon_round_s",
]

#: The fractional worker leaves the P once its share of the mark's time is 1.2 x its goal
#: (pollFractionalWorkerExit, src/runtime/mgc.go:310-322: "some slack to the utilization goal
#: so that the fractional worker isn't behind again the instant it exits").
FRACTIONAL_EXIT_SLACK = 1.2


def sysmon_round_s() -> float:
    """sysmon's round with nothing to retake: usleep(10 ms) and the timer slack it overshoots by
    (src/runtime/proc.go:6554-6557), in seconds."""
    return (_rt.SYSMON_MAX_DELAY_MS + _rt.TIMER_SLACK_MS) / 1000


def _first_round_after(t_s: float, phase_s: float, round_s: float) -> float:
    """The first sysmon round strictly after ``t_s``; rounds fall at ``phase_s + k * round_s``."""
    k = math.floor((t_s - phase_s) / round_s) + 1
    return phase_s + k * round_s


def _preemptions(
    worker_start_s: float,
    phase_s: float,
    round_s: float,
    force_s: float,
    *,
    mark_start_s: float = 0.0,
    fractional_goal: float = 0.0,
):
    """The times a P that starts running mark workers at ``worker_start_s`` can run a
    goroutine: each worker's slice ends at the first round ``force_s`` or more after the round
    that saw it start (retake, proc.go:6715-6716); then, if this P is behind its fractional
    goal, the fractional worker takes it first (fractional_rerun_s) and the P schedules again
    when it leaves. The next slice starts then, and so on."""
    start, worked_s = worker_start_s, 0.0
    while True:
        seen = _first_round_after(start, phase_s, round_s)
        # The first round at least force_s after `seen` (rounds are round_s apart).
        rounds = max(math.ceil(force_s / round_s - 1e-12), 1)
        end = seen + rounds * round_s
        turn_s = fractional_rerun_s(
            end, mark_start_s=mark_start_s, goal=fractional_goal, worked_s=worked_s
        )
        worked_s += turn_s
        yield end + turn_s
        start = end + turn_s


def first_scheduling_point(
    due_s: float,
    *,
    mark_start_s: float,
    asleep_since_s: float,
    sysmon_phase_s: float,
    worker_ps: int,
    fractional_goal: float = 0.0,
) -> float:
    """The first time at or after ``due_s`` that a P running mark workers schedules, so that a
    timer due at ``due_s`` runs (the end of the mark is the caller's to take into account).

    ``mark_start_s``: when the mark began; the Ps other than the sleeper's took workers then.
    ``asleep_since_s``: when the sleeping goroutine left its P (its P took a worker then, or at
    the mark's start if it was asleep before). ``sysmon_phase_s``: where sysmon's rounds fall
    (one at ``sysmon_phase_s + k * round``). ``worker_ps``: how many Ps run idle or fractional
    workers (GOMAXPROCS minus the dedicated workers, which never give their P back; at least the
    sleeper's own P). ``fractional_goal``: ``WorkerPlan.fractional_utilization_goal``; a P
    behind it runs the fractional worker after each preemption, before the woken goroutine
    (``fractional_rerun_s``), and a timer due meanwhile fires when that worker leaves.
    """
    if worker_ps < 1:
        raise ValueError(f"worker_ps must be >= 1, got {worker_ps}")
    round_s = sysmon_round_s()
    force_s = _rt.FORCE_PREEMPT_MS / 1000
    starts = [max(asleep_since_s, mark_start_s)]
    if worker_ps > 1:
        starts.append(mark_start_s)  # the other Ps all took workers when the mark began
    best = math.inf
    for start in starts:
        points = _preemptions(
            start,
            sysmon_phase_s,
            round_s,
            force_s,
            mark_start_s=mark_start_s,
            fractional_goal=fractional_goal,
        )
        for point in points:
            if point >= due_s:
                best = min(best, point)
                break
    return best


def fractional_rerun_s(
    point_s: float, *, mark_start_s: float, goal: float, worked_s: float = 0.0
) -> float:
    """How long the fractional mark worker holds a P that just went through the scheduler at
    ``point_s``, before the goroutine whose timer that pass fired can run.

    ``findRunnable`` asks ``findRunnableGCWorker`` for a worker (src/runtime/proc.go:3447-3452)
    before it looks at the run queue, after the timer check has readied the sleeper. The worker
    runs in fractional mode when this P's fractional time so far, ``worked_s``, is at most
    ``goal`` of the mark's time (mgcpacer.go:834-841; the idle worker that held the P before
    does not count), and gives the P back when its share passes FRACTIONAL_EXIT_SLACK x
    ``goal`` (pollFractionalWorkerExit, mgc.go:310-322): after f seconds with
    (worked + f) / (point - mark_start + f) = 1.2 x goal. ``goal`` is
    ``WorkerPlan.fractional_utilization_goal``: 0.25 with GOMAXPROCS 1-3, 0 with 4 (one dedicated
    worker and no fractional one), so then 0.
    """
    delta_s = point_s - mark_start_s
    if goal <= 0 or delta_s <= 0 or worked_s > goal * delta_s:
        return 0.0
    share = FRACTIONAL_EXIT_SLACK * goal
    return max((share * delta_s - worked_s) / (1.0 - share), 0.0)


def netpoll_wake_s(asleep_since_s: float, due_s: float) -> float:
    """When a timer due at ``due_s`` fires if every P has been idle since ``asleep_since_s``:
    the last idle thread waits for it in netpoll, whose epoll timeout is in whole milliseconds
    (``labkit.models.scheduler.runtime.netpoll_wait_ms``, src/runtime/netpoll_epoll.go:118-126): it waits
    the whole milliseconds of the delay, wakes early, and waits once more for the rest (at
    least 1 ms). So the goroutine wakes up to 1 ms late (labkit/golab/recorded/
    sleep_resolution.json: Sleep(1.5ms) took 2.17 ms)."""
    t_ms = asleep_since_s * 1000
    due_ms = due_s * 1000
    if due_ms <= t_ms:
        return max(due_s, asleep_since_s)
    t_ms += _rt.netpoll_wait_ms(due_ms - t_ms)
    if due_ms - t_ms > 1e-9:
        t_ms += _rt.netpoll_wait_ms(due_ms - t_ms)
    return t_ms / 1000
