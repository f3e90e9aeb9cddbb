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
running, with two Ps or more. With one P every goroutine of the program sleeps on timers that
only this P can run, so the program itself loses CPU while the workers hold it: ``one_p_mark``
runs that P through a whole mark (the workers' slices, the fractional worker's turns, the
goroutines woken at each scheduling point), and the frame model takes both the program's share
of the mark and the render goroutine's wake-ups from it. The constants are the scheduler
model's (``labkit.models.scheduler.runtime``: FORCE_PREEMPT_MS, SYSMON_MAX_DELAY_MS and
TIMER_SLACK_MS, the overshoot of sysmon's usleep), read when called, so the two models agree.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from labkit.models.scheduler import runtime as _rt

__all__ = [
    "FRACTIONAL_EXIT_SLACK",
    "OnePMark",
    "first_scheduling_point",
    "fractional_rerun_s",
    "netpoll_wake_s",
    "one_p_mark",
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


class OnePMark(NamedTuple):
    """How one P's time went during a mark phase (:func:`one_p_mark`), in ms from the mark's
    start: ``mark_ms`` in all, and the parts the program's goroutines (``mutator_ms``), the
    fractional worker and the idle worker ran; ``render_runs_ms``, when the render goroutine
    got the P back after sleeping (its timer fired and it ran)."""

    mark_ms: float
    mutator_ms: float
    fractional_ms: float
    idle_ms: float
    render_runs_ms: tuple[float, ...] = ()

    @property
    def mutator_share(self) -> float:
        """The program's share of the P while it marked."""
        return self.mutator_ms / self.mark_ms if self.mark_ms > 0 else 0.0


def one_p_mark(
    mark_cpu_ms: float,
    *,
    sleepers: int,
    burst_ms: float,
    slice_ms: float,
    frame_ms: float,
    period_ms: float,
    fractional_goal: float,
    sysmon_phase_ms: float,
) -> OnePMark:
    """The one P of a GOMAXPROCS=1 program whose goroutines sleep on timers, from the start of a
    mark until its workers have done ``mark_cpu_ms`` of marking.

    With one P, no other P can run an expired timer (``stealWork``), so the program runs only
    when this P schedules, and ``findRunnable`` then does, in order: run the expired timers,
    whose goroutines go to ``runnext`` (``goroutineReady`` -> ``ready``, src/runtime/time.go:446,
    proc.go:1150; the last one readied runs first, the one it displaced goes to the queue's
    tail); take the fractional worker if this P's fractional time is at most its goal of the
    mark's time so far (``findRunnableGCWorker``, proc.go:3448; mgcpacer.go:830-836), which
    holds the P until its share passes 1.2 x the goal (``pollFractionalWorkerExit``,
    mgc.go:310-322) or sysmon preempts it; run the queue (proc.go:3484); and with nothing to
    run, the idle worker (proc.go:3559), which keeps the P until sysmon preempts it (an expired
    timer is not work to ``pollWork``, proc.go:3819). Sysmon, in its 10 ms rounds, preempts at
    the first round ``forcePreemptNS`` after the round that saw the worker start
    (:func:`_preemptions`).

    The program is the course's render loop (go/gc_render): ``sleepers`` goroutines each run
    ``burst_ms`` and sleep until ``slice_ms`` after the burst began (the producers), and a render
    goroutine runs ``frame_ms`` for each frame due every ``period_ms``; it skips no frame, and
    when the next one is already due it goes on without sleeping (``timeSleep`` returns at
    once for a duration <= 0, time.go:335-338). At the mark's start the render goroutine is
    running (its allocation started the cycle) and the sleepers' timers are spread evenly over
    their slice.
    """
    p = _OneP(sleepers if burst_ms > 0 else 0, slice_ms, period_ms, sysmon_phase_ms)
    p.run_frames_due(frame_ms)  # the frame whose allocation started the cycle runs to its end
    while mark_cpu_ms - p.fractional - p.idle > 1e-9:  # the mark's work not yet done (in ms)
        p.fire_timers()
        left = mark_cpu_ms - p.fractional - p.idle
        if fractional_goal > 0 and p.fractional <= fractional_goal * p.t:
            share = FRACTIONAL_EXIT_SLACK * fractional_goal
            turn = max((share * p.t - p.fractional) / (1.0 - share), 1e-6)
            run = min(turn, p.preempted_at(p.t) - p.t, left)
            p.fractional += run
            p.t += run
        elif p.queue:
            p.next_set = False
            p.run(p.queue.pop(0), burst_ms, frame_ms)
        else:
            run = min(p.preempted_at(p.t) - p.t, left)
            p.idle += run
            p.t += run
    return OnePMark(p.t, p.mutator, p.fractional, p.idle, tuple(p.render_runs))


class _OneP:
    """one_p_mark's state: the clock, the time each part ran, the sleepers' timers (None while
    a sleeper is queued), the render goroutine's next frame due and whether it is queued, and
    the queue (sleeper i, or -1 for the render goroutine), all in ms."""

    def __init__(self, sleepers: int, slice_ms: float, period_ms: float, phase_ms: float):
        self.slice_ms, self.period_ms, self.phase_ms = slice_ms, period_ms, phase_ms
        self.round_ms = sysmon_round_s() * 1000
        self.rounds = max(math.ceil(_rt.FORCE_PREEMPT_MS / self.round_ms - 1e-12), 1)
        self.t = self.mutator = self.fractional = self.idle = 0.0
        self.wake: list[float | None] = [i * slice_ms / max(sleepers, 1) for i in range(sleepers)]
        self.frame_due, self.render_queued, self.render_preempted = 0.0, False, False
        self.queue: list[int] = []  # queue[0] is in runnext while next_set
        self.next_set = False
        self.render_runs: list[float] = []

    def preempted_at(self, start: float) -> float:
        """When sysmon preempts a worker that takes the P at ``start``."""
        seen = _first_round_after(start, self.phase_ms, self.round_ms)
        return seen + self.rounds * self.round_ms

    def fire_timers(self) -> None:
        """The P's timer check: expired timers in the order they expire, each to runnext."""
        due = [(w, i) for i, w in enumerate(self.wake) if w is not None and w <= self.t]
        if not self.render_queued and self.frame_due <= self.t:
            due.append((self.frame_due, -1))
        for _, g in sorted(due):
            if self.next_set:  # runqput(next=true): the one in runnext goes to the tail
                self.queue.append(self.queue.pop(0))
            self.queue.insert(0, g)
            self.next_set = True
            if g >= 0:
                self.wake[g] = None
            else:
                self.render_queued = True

    def run(self, g: int, burst_ms: float, frame_ms: float) -> None:
        """Goroutine ``g`` runs until it sleeps again."""
        if g >= 0:
            self.wake[g] = self.t + self.slice_ms
            self.mutator += burst_ms
            self.t += burst_ms
            return
        if not self.render_preempted:  # woken by its timer, not resumed after a preemption
            self.render_runs.append(self.t)
        self.render_queued = self.render_preempted = False
        self.run_frames_due(frame_ms)

    def run_frames_due(self, frame_ms: float) -> None:
        """The render goroutine draws the frame it woke for and every later one already due,
        until sysmon preempts it (a frame is not cut: preemption is checked between frames);
        preempted, it waits in the queue's tail (goschedImpl -> globrunqput, proc.go:4352)."""
        preempt = self.preempted_at(self.t)
        while True:
            self.mutator += frame_ms
            self.t += frame_ms
            self.frame_due += self.period_ms
            if self.frame_due > self.t or frame_ms <= 0:
                return
            if self.t >= preempt:
                self.queue.append(-1)
                self.render_queued = self.render_preempted = True
                return
