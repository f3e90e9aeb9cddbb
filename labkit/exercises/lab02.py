"""Exercises of labs/lab02-scheduler-lab.ipynb: predict what Go's scheduler does, then check.

Every answer is computed by the scheduler model (``labkit.models.scheduler`` / ``labkit.scenarios.blindspots``), never
typed in, so the worked answer always agrees with the timeline the learner explores beside it;
tests/test_exercises_lab02.py checks each key against the runtime's rules worked by hand and,
where the course has one, a recorded real-Go run; tests/test_exercises_wrong.py checks that the
named mistakes fail.
The ``*_program`` functions build the exact program each question is about, so the lab notebook
can simulate and draw it (``simulate(behind_loop_program(...))``) next to the question.

Runtime behaviour the questions rest on (src/runtime/proc.go unless named):

* runnext: a ``go`` statement puts the new G in the creating P's ``runnext`` slot, pushing the
  previous one to the local queue's tail (newproc -> runqput(pp, newg, next=true)).
* local queue of 256 slots; when full, runqputslow moves half (128) plus the new G to the global
  queue in one batch.
* sysmon's retake preempts a G that has run forcePreemptNS = 10 ms on one schedtick: by signal
  (preemptM, Go >= 1.14), or only at its next function call (Go <= 1.13 / asyncpreemptoff=1).
* a blocking syscall keeps its M; retake hands the P to another M (handoffp) at sysmon's next
  round if the P has work queued or no other P is idle and no M spins, else once the call is
  10 ms old (proc.go:6743-6766), so each concurrent blocking syscall costs a thread; a network
  wait parks the G without an M.
* time.Sleep(d <= 0) returns at once (timeSleep in time.go); Gosched puts the G on the global
  queue (goschedImpl); Sleep(1ns)'s timer fires at the next schedule and readies the sleeper into
  runnext, ahead of everyone, inheriting its time slice; and execute clears any preemption
  request sysmon made meanwhile (gp.preempt = false, proc.go:3362).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labkit.errors import ParameterError
from labkit.exercises.seeded import Variant, choice, numeric
from labkit.golab import run_experiment
from labkit.golab.twins import run_twin
from labkit.models.scheduler import (
    Chan,
    Go,
    cpu,
    gosched,
    io_wait,
    recv,
    repeat,
    send,
    simulate,
    sleep,
    spawn,
    syscall,
)
from labkit.models.scheduler.runtime import SYSMON_MAX_DELAY_MS, TIMER_SLACK_MS
from labkit.scenarios.blindspots import PRESETS, LabParams, LabRun, run_lab
from labkit.traces.measures import timeline_measures

GO_VERSIONS = {
    True: "Go >= 1.14 (asynchronous preemption)",
    # not "Go <= 1.13": its timers were fired by timer goroutines (timerproc), so a Sleep(1ns)
    # there let queued goroutines run; the model's timers are today's, run by the scheduler
    False: "today's Go with GODEBUG=asyncpreemptoff=1 (preemption at function calls only, as "
    "before Go 1.14; its timers are today's)",
}

# ---- programs the questions are about (the lab simulates and draws them) ---------------------


def behind_loop_program(loop_ms: float, work_ms: float) -> Go:
    """main starts ``req`` (ordinary code, ``work_ms``), then ``hog`` (a loop without calls,
    ``loop_ms``), then sleeps: hog takes runnext, req waits in the local queue behind it."""
    req = Go("req", [cpu(work_ms)])
    hog = Go("hog", [cpu(loop_ms, calls=False, stack="main.hog")])
    return Go("main", [spawn(req), spawn(hog), sleep(10 * loop_ms)])


def spawn_program(n: int, main_then: str = "block") -> Go:
    """main starts g1..gn (each 1 ms of CPU), then blocks on a channel (``"block"``) or calls
    ``runtime.Gosched()`` first (``"gosched"``) and then blocks."""
    done = Chan(capacity=n, name="done")
    gs = [Go(f"g{i}", [cpu(1.0), send(done)]) for i in range(1, n + 1)]
    tail = [gosched()] if main_then == "gosched" else []
    return Go("main", [*[spawn(g) for g in gs], *tail, repeat(n, [recv(done)])])


def burst_program(syscalls: int, network: int, block_ms: float) -> Go:
    """main starts ``syscalls`` goroutines in a blocking system call and ``network`` goroutines
    waiting on the network, all of ``block_ms``, then sleeps until they are done."""
    gs = [Go(f"sys{i}", [syscall(block_ms)]) for i in range(syscalls)]
    gs += [Go(f"net{i}", [io_wait(block_ms)]) for i in range(network)]
    return Go("main", [*[spawn(g) for g in gs], sleep(2 * block_ms)])


#: One iteration of the yielding loop, as in labkit.scenarios.blindspots (HOG_ITER_MS).
LOOP_ITER_MS = 0.5
YIELD_LABELS = {
    "none": "no yield at all",
    "sleep0": "`time.Sleep(0)`",
    "gosched": "`runtime.Gosched()`",
    "sleep1ns": "`time.Sleep(time.Nanosecond)`",
}


def yield_program(mode: str, loop_ms: float, work_ms: float) -> Go:
    """main starts ``req`` (``work_ms`` of ordinary code), then ``hog``: ``loop_ms`` of a loop
    without calls that calls the yield ``mode`` every LOOP_ITER_MS; then main sleeps."""
    step = {"none": None, "sleep0": sleep(0), "gosched": gosched(), "sleep1ns": sleep(1e-6)}
    if mode not in step:
        raise ValueError(f"mode must be one of {sorted(step)}, got {mode!r}")
    body = cpu(LOOP_ITER_MS, calls=False, stack="main.hog")
    if step[mode] is None:
        loop = [cpu(loop_ms, calls=False, stack="main.hog")]
    else:
        loop = [repeat(max(1, int(round(loop_ms / LOOP_ITER_MS))), [body, step[mode]])]
    req = Go("req", [cpu(work_ms)])
    return Go("main", [spawn(req), spawn(Go("hog", loop)), sleep(10 * loop_ms)])


def overflow_program(n: int) -> Go:
    """main starts ``n`` goroutines (10 us of CPU each) without blocking in between, then sleeps."""
    return Go("main", [*[spawn(Go(f"g{i}", [cpu(0.01)])) for i in range(n)], sleep(10.0)])


def mystery_number(seed: int) -> int:
    """The number of the mystery run that ``which_blind_spot`` asks about for ``seed``."""
    return _mystery_number(np.random.default_rng(seed))


def _mystery_number(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 1000))


#: How far a mystery run's sizes move from its preset's (a factor drawn per run), so that its
#: numbers cannot be matched with the chapter's preset by eye; the blind spot's signature (the
#: shape of the timeline, threads vs Ps, preemptions) does not depend on them.
MYSTERY_SCALES = (0.7, 0.8, 0.9, 1.15, 1.3)


def _mystery_run(number: int) -> tuple[str, LabRun]:
    """Mystery run ``number`` of the "which blind spot?" question: (preset key, LabRun).

    The number picks the preset (``number % 5``), seeds the run, and seeds a variation of the
    preset's *stall* setting: the request count, the hogs' loop length, the ticker's frames and
    the blocking time are scaled by factors from MYSTERY_SCALES. So the lab can draw the run a
    question names without the question giving its settings away, and the numbers differ from
    the chapter's preset (most presets are deterministic, so a seed alone would change nothing).
    Private: the notebook holds a :class:`Mystery`, which keeps only the number.
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ParameterError(
            f"number must be an int >= 0 (the mystery run's number), got {number!r}; "
            "use the number the question names"
        )
    keys = list(PRESETS)
    key = keys[number % len(keys)]
    base = PRESETS[key].stall
    rng = np.random.default_rng(number)
    scale = lambda: float(rng.choice(MYSTERY_SCALES))  # noqa: E731
    changes: dict = {"seed": number}
    if base.goroutines:
        changes["goroutines"] = max(1, int(round(base.goroutines * scale())))
    if base.hogs:
        changes["hog_ms"] = float(round(base.hog_ms * scale()))
    if base.tickers:
        changes["frames"] = max(1, int(round(base.frames * scale())))
    if base.syscall_share or base.io_share:
        changes["block_ms"] = float(round(base.block_ms * scale()))
    return key, run_lab(base, **changes)


class Mystery:
    """The mystery run of ``which_blind_spot`` for an exercise seed, as the lab draws it: what a
    timeline and a goroutine-state plot would show, with neither its preset nor its settings in
    any public name (as lab 5's capstone hides its cause, labkit.exercises.lab05.Mystery).

    It keeps only the run's ``number``; ``scheduler_run()`` is the model's record for the
    widgets, ``reveal()`` names the blind spot. Python hides nothing from a determined reader
    (``lab02._mystery_run`` is one call away); what this guards against is the answer sitting
    in the notebook's variables."""

    __slots__ = ("number",)

    def __init__(self, seed: int) -> None:
        self.number = mystery_number(seed)

    def __repr__(self) -> str:
        return f"Mystery(run #{self.number}: hidden until reveal())"

    def scheduler_run(self):
        """The run's scheduler record (a labkit.models.scheduler Result), for the timeline and states."""
        return _mystery_run(self.number)[1].result

    def reveal(self) -> str:
        """The blind spot this run is: its preset's key and title."""
        key = _mystery_run(self.number)[0]
        return f"mystery run #{self.number} is {key} {PRESETS[key].title} (its stall setting)"


# ---- the exercises --------------------------------------------------------------------------


#: forcePreemptNS (src/runtime/proc.go:6679): retake preempts a G only once it has run this long
#: on one schedtick (proc.go:6715), so no preemption comes earlier.
FORCE_PREEMPT_MS = 10.0


def real_preemption_band_ms() -> tuple[float, float]:
    """How long after a loop without calls starts real Go (>= 1.14) preempts it: from
    forcePreemptNS to forcePreemptNS plus sysmon's longest sleep and the kernel's timer slack,
    rounded up to half a millisecond (10-20.5 ms). sysmon checks the loop only when it wakes,
    and while it finds nothing to do its sleep doubles up to 10 ms (sysmon, proc.go:6551-6555;
    a preemption does not reset it: only retake taking a P from a system call does), so the
    check that finds 10 ms on the slice can come up to 10 ms after they are reached. The
    course's recorded runs (labkit/golab/recorded/preempt.json: main got the CPU back 14.6,
    15.8 and 17.4 ms after the loop started) lie inside; the band is the source's, not the
    recordings' range, which three runs cannot bound."""
    real = run_experiment("preempt", source="recorded", async_preempt=True)
    late = FORCE_PREEMPT_MS + SYSMON_MAX_DELAY_MS + TIMER_SLACK_MS
    return FORCE_PREEMPT_MS, math.ceil(2 * max(late, *real["resume_ms_runs"])) / 2


def _drawn(view: str, result, height_px: int) -> Callable[[], object]:
    """A prediction's figure: the model's run of the question's own program in ``view``
    (``SchedulerTimeline``, ``RunQueuePlot`` or ``GoroutineStatePlot``), built when shown."""

    def figure():
        from labkit import widgets

        shown = getattr(widgets, view)(height_px=height_px)
        shown.show(result)
        return shown

    return figure


def finish_behind_loop(rng: np.random.Generator) -> Variant:
    """When does a short goroutine finish behind a tight loop, per Go version.

    Go <= 1.13: when the loop ends, plus the goroutine's work. Go >= 1.14: when sysmon's
    preemption lands, plus the work; the model's preemption is one moment (14.17 ms), real Go's
    lands anywhere from forcePreemptNS to sysmon's next check (real_preemption_band_ms), so
    every finish time in that band is right. The work (8-9.5 ms) stays under forcePreemptNS, so
    ``req`` is not preempted itself; the model's start (14.17 ms) and forcePreemptNS, the
    moments ``req`` can *start*, lie before the band.
    """
    loop_ms = float(rng.choice([60.0, 120.0, 200.0, 300.0]))
    work_ms = float(rng.choice([8.0, 8.5, 9.0, 9.5]))
    async_preempt = bool(rng.integers(2))
    res = simulate(
        behind_loop_program(loop_ms, work_ms),
        gomaxprocs=1,
        async_preempt=async_preempt,
        until_ms=20 * loop_ms,
    )
    done = float(res.finished_ms["req"])
    started = float(res.segments[res.segments["g"] == "req"]["start_ms"][0])
    also = []
    if async_preempt:
        # The loop starts at t ~ 0: main's two go statements take well under a microsecond.
        early, late = real_preemption_band_ms()
        band = (early + work_ms, late + work_ms)
        also.append(
            (
                *band,
                f"real Go preempts the loop {early:g}-{late:g} ms after it starts "
                "(forcePreemptNS, then sysmon's next check, at most its longest sleep later), and "
                f"`req` then runs its {work_ms:g} ms",
            )
        )
        why = (
            f"sysmon (which runs without a P) sees that `hog` has run forcePreemptNS = 10 ms on "
            f"one time slice and preempts it by signal (retake -> preemptone -> preemptM, "
            f"src/runtime/proc.go:6715). sysmon sleeps between checks (20 us, doubling once it "
            f"has been idle for 1 ms, up to 10 ms, proc.go:6551-6555, and each sleep overshoots "
            f"by the kernel's timer slack), so in the model the signal lands at {started:.2f} "
            f"ms, not at 10 ms; on real Go it lands {early:g}-{late:g} ms after the loop "
            f"starts (sysmon's sleep has grown to 10 ms by then; the course's recorded runs, "
            f"labkit/golab/recorded/preempt.json, landed 14.6-17.4 ms). `hog` goes to the global "
            f"queue; `req` runs its {work_ms:g} ms and finishes at {done:.2f} ms in the model, "
            f"anywhere from {band[0]:.1f} to {band[1]:.1f} ms on real Go: all of these are "
            f"right. {started:.2f} ms, or 10 ms, is when `req` *starts*."
        )
    else:
        why = (
            f"sysmon asks `hog` to stop after 10 ms, but without asynchronous preemption the "
            f"request is only honoured at a function call's stack check, and a loop without "
            f"calls makes none. `req` starts only when `hog` ends at {started:.2f} ms and "
            f"finishes {work_ms:g} ms later, at {done:.2f} ms."
        )
    return numeric(
        f"GOMAXPROCS=1, {GO_VERSIONS[async_preempt]}. `main` starts `req` ({work_ms:g} ms of "
        f"ordinary code), then `hog` (a {loop_ms:g} ms loop **without function calls**), then "
        "sleeps. At what virtual time (ms since `main` started) does `req` finish?",
        done,
        "`hog` was started last, so it sits in runnext and runs first (newproc -> runqput with "
        "next=true); `req` waits in the local queue. " + why,
        unit="ms",
        rel_tol=0.0,
        abs_tol=0.5,
        hint="Who runs first: the goroutine in runnext. What can stop a loop without calls? "
        "And `req` still has its own work to do once it gets the CPU.",
        params={"loop_ms": loop_ms, "work_ms": work_ms, "async_preempt": async_preempt},
        also=also,
        figure=_drawn("SchedulerTimeline", res, 150),
        predict=True,
    )


def spawn_order(rng: np.random.Generator) -> Variant:
    """In which order do goroutines started on GOMAXPROCS=1 run?"""
    n = int(rng.integers(4, 8))
    then = "gosched" if rng.integers(2) else "block"
    res = simulate(spawn_program(n, then), gomaxprocs=1, until_ms=1_000)
    names = [f"g{i}" for i in range(1, n + 1)]
    first = {g: float(res.segments[res.segments["g"] == g]["start_ms"][0]) for g in names}
    order = [int(g[1:]) for g in sorted(names, key=first.get)]
    candidates = [
        order,
        list(range(1, n + 1)),
        list(range(n, 0, -1)),
        [n, *range(1, n)],
        [*range(2, n + 1), 1],
        [n, n - 1, *range(1, n - 1)],
    ]
    options: list[list[int]] = []
    for c in candidates:
        if c not in options:
            options.append(c)
    options = options[:4]
    perm = rng.permutation(len(options))
    shown = [options[i] for i in perm]
    right = shown.index(order)
    what = (
        "then calls `runtime.Gosched()` and waits for them on a channel"
        if then == "gosched"
        else "then waits for them on a channel"
    )
    extra = (
        " Gosched puts `main` on the *global* queue (goschedImpl -> globrunqput), not the local "
        "one, so the local order is unchanged; main comes back only when the local queue is "
        "empty (or at a 1-in-61 global check)."
        if then == "gosched"
        else ""
    )
    return choice(
        f"GOMAXPROCS=1. `main` starts g1, g2, ..., g{n} with `go` statements, in that order, "
        f"{what}. In which order do the goroutines first run?",
        [", ".join(f"g{i}" for i in o) for o in shown],
        right,
        f"Each `go` statement puts the new G in runnext and pushes the previous runnext to the "
        f"tail of the local queue (newproc -> runqput(pp, newg, next=true)). After the last one "
        f"runnext holds g{n} and the queue holds g1..g{n - 1}; findRunnable takes runnext first "
        f"(runqget), then the queue in FIFO order: {', '.join(f'g{i}' for i in order)}.{extra} "
        "The real Go program labkit/golab/go/spawn_order prints the same order.",
        hints={
            i: "Where does each new goroutine go: runnext or the queue's tail?"
            for i in range(len(shown))
            if i != right
        },
        params={"n": n, "then": then},
        figure=_drawn("SchedulerTimeline", res, 150),
        predict=True,
    )


def smallest_gomaxprocs(rng: np.random.Generator) -> Variant:
    """The fewest Ps that meet a makespan target for a burst of CPU-bound requests."""
    requests = int(rng.choice([60, 90, 120, 150]))
    work_ms = float(rng.choice([1.0, 2.0, 3.0]))
    want = int(rng.integers(2, 8))
    base = LabParams(hogs=0, goroutines=requests, work_ms=work_ms, arrival_ms=0.0)
    span = {g: run_lab(base, gomaxprocs=g).metrics["makespan_ms"] for g in range(1, 9)}
    # A target between the makespans of want-1 and want Ps, so exactly one answer is smallest.
    target_ms = float(np.ceil(span[want] + 0.4 * (span[want - 1] - span[want])))
    answer = min(g for g in span if span[g] <= target_ms)
    table = ", ".join(f"{g}: {span[g]:.1f}" for g in span)
    return numeric(
        f"{requests} requests arrive at once (arrival spacing 0 ms), each needing {work_ms:g} ms "
        f"of CPU; no hogs. What is the smallest GOMAXPROCS (1-8) for which all of them are done "
        f"within {target_ms:g} ms (the lab's *makespan*)?",
        answer,
        f"Each P runs one goroutine at a time and idle Ps steal half of a busy P's queue "
        f"(stealWork -> runqsteal), so the burst spreads over all Ps and the makespan is about "
        f"{requests} x {work_ms:g} ms / GOMAXPROCS, rounded up to whole requests per P. The "
        f"model's makespans (ms) per GOMAXPROCS: {table}. The first one within {target_ms:g} ms "
        f"is GOMAXPROCS={answer}.",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="makespan ~ requests x CPU per request / GOMAXPROCS (whole requests per P).",
        params={"requests": requests, "work_ms": work_ms, "target_ms": target_ms},
    )


def which_blind_spot(rng: np.random.Generator) -> Variant:
    """Name the blind spot from a run's measurements (and its timeline in the lab)."""
    number = _mystery_number(rng)
    key, run = _mystery_run(number)
    m = run.metrics
    p = run.params
    keys = list(PRESETS)
    lines = [
        f"makespan {m['makespan_ms']:.1f} ms",
        f"request latency p99 {m['p99_ms']:.2f} ms" if p.goroutines else "no requests",
        f"render-ticker lateness p99 {m['tick_p99_ms']:.2f} ms" if p.tickers else "no tickers",
        f"preemptions {m['preemptions']:.0f}",
        f"syscall hand-offs {m['handoffs']:.0f}",
        f"threads at peak {m['threads_peak']:.0f}",
        f"GOMAXPROCS={p.gomaxprocs}",
    ]
    clues = {
        "2.1": "one goroutine is locked to its thread: each time it wakes, its thread must be "
        "handed a P (an extra thread, hand-overs in the per-M view), yet the makespan is that "
        "of the unlocked run",
        "2.2": "many syscall hand-offs and a thread count far above GOMAXPROCS: blocking system "
        "calls each hold an M while sysmon hands their P to a new one",
        "2.3": "a huge request p99 on one P with (almost) no preemptions: a loop without calls "
        "that cooperative preemption cannot stop",
        "2.4": "one P, no hogs, no blocking, and latency growing linearly with queue position: "
        "the burst queues on a single P, nobody can steal",
        "2.5": "render ticks late by about a 10 ms time slice while hogs keep every P busy: "
        "expired timers wait for their P's next schedule",
    }
    right = keys.index(key)
    return choice(
        f"Mystery run #{number} of the scheduler lab measured: "
        + "; ".join(lines)
        + ". Which blind spot's *stall* setting is it? (Load each preset in the lab widget and "
        "compare; `show_mystery()` draws this run's timeline.)",
        [f"{k} {PRESETS[k].title}" for k in keys],
        right,
        f"It is {key} {PRESETS[key].title}: {clues[key]}. {PRESETS[key].truth}",
        hints={
            i: f"Not {keys[i]}: {clues[keys[i]]}; is that what this run shows?"
            for i in range(len(keys))
            if i != right
        },
        params={"number": number, "gomaxprocs": p.gomaxprocs, **m},
    )


def syscall_threads(rng: np.random.Generator) -> Variant:
    """How many OS threads a burst of blocking system calls needs, on GOMAXPROCS=1.

    Asked on one P only: there the count is exact, syscalls + the M holding the P + sysmon, in
    the model and on real Go alike. With two Ps real Go often starts one more thread (the
    second P gets an M of its own while the calls are blocked), so a learner's right reasoning
    could not be told from forgetting sysmon there.
    """
    sys_n = int(rng.integers(3, 13))
    net_n = int(rng.integers(1, 9))
    block_ms = float(rng.choice([20.0, 50.0, 100.0]))
    res = simulate(burst_program(sys_n, net_n, block_ms), gomaxprocs=1, until_ms=1_000)
    peak = int(res.stats["threads_peak"])
    return numeric(
        f"GOMAXPROCS=1. `main` starts {sys_n} goroutines that each make a **blocking "
        f"system call** of {block_ms:g} ms (a file read) and {net_n} goroutines that each wait "
        f"{block_ms:g} ms on a **network** connection, all at once, then sleeps. How many OS "
        "threads does the program have at its peak? Count every M the runtime has started: "
        "those blocked in a system call, those running or idle (parked for reuse: an M "
        "without a locked goroutine does not exit), and sysmon's own thread, which runs "
        "without a P.",
        peak,
        f"A goroutine in a blocking system call keeps its M for the whole call (entersyscall, "
        f"src/runtime/proc.go:4776); sysmon's retake hands its P to another M (handoffp, "
        f"proc.go:3146), which runs the next goroutine, which blocks in its own call... so "
        f"{sys_n} calls occupy {sys_n} threads at once. The {net_n} network waits park their "
        f"goroutines in the netpoller without any M (netpollblock). Add the M that holds the "
        f"P afterwards (an idle M still counts: stopm parks it for reuse, it does not exit) and "
        f"sysmon's own thread: {sys_n} + 1 + 1 = {sys_n + 2}; the model counts {peak} (the "
        f"thread line of the goroutine-state plot shows the climb). {_recorded_threads()}",
        unit="threads",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="Which waits hold an OS thread: a syscall, a network wait? And sysmon is a thread.",
        params={"gomaxprocs": 1, "syscalls": sys_n, "network": net_n, "block_ms": block_ms},
        figure=_drawn("GoroutineStatePlot", res, 200),
        predict=True,
    )


def _recorded_threads() -> str:
    """What the course's recorded real-Go runs (labkit/golab/go/syscall_threads) counted, on one
    P and on two, as one sentence."""
    one, two = (
        run_experiment("syscall_threads", source="recorded", gomaxprocs=procs) for procs in (1, 2)
    )
    return (
        f"Real Go agrees (labkit/golab/recorded/syscall_threads.json, {one['recorded_on']}, "
        f"{one['recorded_at'][:10]}): {one['syscalls']} blocking calls on GOMAXPROCS=1 peaked at "
        f"{one['threads_peak']} threads ({len(one['threads_peak_runs'])} runs: "
        f"{', '.join(map(str, one['threads_peak_runs']))}). On GOMAXPROCS=2 real Go starts one "
        f"more, {two['threads_peak']} for the same {two['syscalls']} calls (the second P gets an "
        "M of its own), which is why this question is asked on one P."
    )


def which_yield(rng: np.random.Generator) -> Variant:
    """Does a yield call in a tight loop let another goroutine run, and when?"""
    mode = str(rng.choice(list(YIELD_LABELS)))
    async_preempt = bool(rng.integers(2))
    loop_ms = float(rng.choice([60.0, 100.0, 150.0]))
    work_ms = 2.0
    res = simulate(
        yield_program(mode, loop_ms, work_ms),
        gomaxprocs=1,
        async_preempt=async_preempt,
        until_ms=20 * loop_ms,
    )
    done = float(res.finished_ms["req"])
    loop_done = float(res.finished_ms["hog"])
    options = [
        f"Yes, at once: it finishes within about {work_ms + 3:g} ms",
        "Yes, but only after a 10-20 ms time slice, when sysmon preempts the loop",
        "No: it finishes only after the loop ends",
    ]
    if done <= work_ms + 3:
        right = 0
    elif done < loop_done - 1:
        right = 1
    else:
        right = 2
    why = {
        "none": "A loop without calls never gives up the P by itself and makes no call where a "
        "preemption request could be honoured: only sysmon's signal (Go >= 1.14) can stop it.",
        "sleep0": "time.Sleep(0) returns at once (timeSleep: `if ns <= 0 { return }`): no park, "
        "no yield. It is a function call, though, so a pending preemption request is honoured at "
        "its stack check even without asynchronous preemption.",
        "gosched": "runtime.Gosched puts the loop on the global queue (goschedImpl -> "
        "globrunqput) and the P takes `req` from its local queue.",
        "sleep1ns": "time.Sleep(1ns) parks the loop, but its timer has expired by the time the "
        "P looks for work: the P's timer check ((*timers).check, src/runtime/time.go:982, run "
        "from findRunnable, which schedule calls, and stealWork) readies the loop into "
        "runnext, it runs again first and "
        "inherits the time slice, so `req` waits until sysmon preempts the loop 10 ms into "
        "that slice (the Sleep call's stack check honours the request even without async "
        "preemption).",
    }[mode]
    return choice(
        f"GOMAXPROCS=1, {GO_VERSIONS[async_preempt]}. `main` starts `req` ({work_ms:g} ms of "
        f"ordinary code), then `hog`: {loop_ms:g} ms of a loop whose {LOOP_ITER_MS:g} ms body "
        "makes no function calls, "
        + (
            "with no yield at all."
            if mode == "none"
            else f"followed each time by {YIELD_LABELS[mode]}."
        )
        + " Does `req` get to run and "
        "finish before the loop ends?",
        options,
        right,
        f"{why} In the model `req` finishes at {done:.2f} ms and the loop at "
        f"{loop_done:.2f} ms. ({_recorded_yield_turns()})",
        hints=_yield_hints(mode),
        params={"mode": mode, "async_preempt": async_preempt, "loop_ms": loop_ms},
        figure=_drawn("SchedulerTimeline", res, 150),
        predict=True,
    )


def _yield_hints(mode: str) -> dict[int, str]:
    """which_yield's hint for each choice, by the loop's yield: a hint is shown for a wrong
    choice only, so each must point from that choice toward what this loop does (a Gosched
    loop's hints about preemption would point away from its answer)."""
    if mode == "gosched":
        return {
            1: "Gosched hands the P over on every call: does `req` need sysmon at all?",
            2: "Does runtime.Gosched give the P to someone else, and who runs next?",
        }
    first = {
        "none": "With no call and no yield in the loop, what could make it give up the P at once?",
        "sleep0": "What does time.Sleep(0) do when its duration is <= 0?",
        "sleep1ns": "When the 1 ns timer has expired, where does the readied loop go: behind "
        "`req`, or into runnext ahead of it?",
    }[mode]
    return {
        0: first,
        1: "Without asynchronous preemption, where could sysmon's request take effect in a loop "
        "that makes no call?",
        2: "Can sysmon's request take effect here: by signal (asynchronous preemption), or at a "
        "call's stack check?",
    }


def _recorded_yield_turns() -> str:
    """The course's recorded real-Go yield runs (labkit/golab/go/yield), as one sentence."""
    runs = {m: run_experiment("yield", source="recorded", mode=m) for m in YIELD_LABELS}
    first = runs["gosched"]
    turns = ", ".join(
        f"{YIELD_LABELS[m]} {runs[m]['other_turns']:,}" for m in ("sleep0", "gosched", "sleep1ns")
    )
    worked = run_experiment("yield", source="recorded", mode="sleep1ns", iters=640, body_us=500.0)
    return (
        f"Real Go, the course's recorded run ({first['recorded_on']}, "
        f"{first['recorded_at'][:10]}), GOMAXPROCS=1, a loop of {first['iters']:,} iterations "
        f"with an almost empty body; turns the other goroutine got with {turns}. With "
        f"{YIELD_LABELS['sleep1ns']} after 0.5 ms of work, as here: "
        f"{worked['other_turns']} turns in {worked['loop_ms']:.0f} ms, one per preemption."
    )


#: The local run queue's slots (runq [256]guintptr, src/runtime/runtime2.go:807).
LOCAL_QUEUE_SLOTS = 256


def global_queue_after_burst(rng: np.random.Generator) -> Variant:
    """How many goroutines are on the global queue after a burst of go statements.

    The spawn counts stay clear of the overflows by more than two spawns: real Go (1.25+) starts
    main with one or two goroutines of its own queued (updateMaxProcsGoroutine, proc.go:7134;
    runFinalizers once os is imported, mfinal.go:172), which the model does not have, and
    each moves every overflow that many spawns earlier: at 257 spawns the first overflow has
    already happened on real Go, at 514 perhaps the third. 770 still tells a common mistake apart:
    overflowing every 128 spawns instead of 129 makes it five overflows, not four."""
    n = int(rng.choice([200, 300, 400, 450, 600, 770]))
    res = simulate(overflow_program(n), gomaxprocs=1, until_ms=1_000)
    peak_global = int(res.runq["global"].max())
    half = LOCAL_QUEUE_SLOTS // 2
    first = LOCAL_QUEUE_SLOTS + 2  # runnext + 256 queued, and one more to overflow
    overflows = 0 if n < first else 1 + (n - first) // (half + 1)
    return numeric(
        f"GOMAXPROCS=1. `main` runs {n} `go` statements in a row (each goroutine does 10 us of "
        "work) without blocking in between. What is the largest number of goroutines on the "
        "**global** run queue during the run?",
        peak_global,
        f"Each new goroutine takes runnext and pushes the previous one to the local queue's "
        f"tail (newproc -> runqput(pp, newg, next=true), src/runtime/proc.go:5334, 7529). The "
        f"local queue holds {LOCAL_QUEUE_SLOTS} (runtime2.go:807), so the first "
        f"{LOCAL_QUEUE_SLOTS + 1} spawns fit: one in runnext, {LOCAL_QUEUE_SLOTS} queued. Spawn "
        f"{first} pushes a goroutine into the full queue: runqputslow (proc.go:7575) moves half "
        f"of it ({half}) plus the pushed G, {half + 1} in all, to the global queue in one batch, "
        f"and {half} stay queued. The queue is full again {half} spawns later and overflows "
        f"at the next one, so every {half + 1} more spawns move another {half + 1}: the "
        f"overflows come at spawns {first}, {first + half + 1}, {first + 2 * (half + 1)}, "
        f"... With {n} spawns that is "
        f"{overflows} overflow{'s' if overflows != 1 else ''}, {overflows} x {half + 1} = "
        f"{peak_global} on the global queue (the run-queue plot shows it at t=0). Nothing is "
        "sent to the global queue because it is 'longer than 256': that rule does not exist. "
        "(Real Go 1.25+ starts main with one or two goroutines of its own queued, "
        "updateMaxProcsGoroutine (proc.go:7134) and, once os is imported, runFinalizers "
        "(mfinal.go:172): each overflow comes that many spawns earlier, which changes the count "
        "only within two spawns of an overflow.)",
        unit="goroutines",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="256 local slots + runnext; an overflow moves 128 + 1 at once.",
        params={"n": n, "gomaxprocs": 1},
        figure=_drawn("RunQueuePlot", res, 180),
        predict=True,
    )


# ---- the stall in Go's own execution trace -----------------------------------------------------


@dataclass(frozen=True)
class TraceCase:
    """One question about a twin's recording (labkit.golab.twins): the program in words, what to
    predict, how to read the answer from the recording, how close counts, and the runtime
    mechanism a wrong prediction's hint names."""

    twin: str
    settings: dict[str, int]
    program: str
    ask: str
    #: What the answer counts (the solution's word), and its unit for labkit.units ("" when the
    #: thing counted is not one of its nouns: a bare number).
    noun: str
    unit: str
    measure: Callable[[object], float]
    abs_tol: float
    rel_tol: float
    tolerance_why: str
    mechanism: str
    explain: str


def late_frames(run) -> float:
    """Frames whose sleep returned more than 1 ms late (what the twin measured, ``late_ms``)."""
    return float(np.sum(np.asarray(run.output["late_ms"], dtype=float) > 1.0))


def trace_preemptions(run) -> float:
    """Preemptions in the trace: running -> runnable with reason "preempted"."""
    return timeline_measures(run.trace)["preemptions"]


def trace_threads(run) -> float:
    """OS threads (Ms) the execution trace shows."""
    return timeline_measures(run.trace)["threads"]


_TIMER_PROGRAM = (
    "Real Go, GOMAXPROCS=2: a render loop sleeps 4 ms (`time.Sleep`) and draws for 0.5 ms, "
    "30 frames, beside {hogs}, each spinning for 200 ms: 1,000 additions between calls to "
    "`time.Now`, its only calls (so its only synchronous preemption points; a signal preempts "
    "it anywhere)."
)
_TIMER_MECHANISM = (
    "a sleeping goroutine's timer sits in its P's heap and runs only when that P passes "
    "through the scheduler ((*timers).check from findRunnable, src/runtime/proc.go) "
    "or an idle P steals it (stealWork); a P busy with a hog gets there when sysmon preempts the "
    "hog (retake, forcePreemptNS = 10 ms)"
)
_LOOP_PROGRAM = (
    "Real Go, GOMAXPROCS=1, {version}: one goroutine runs a 200 ms loop without function "
    "calls while 40 requests (1 ms of CPU each) arrive every 2 ms."
)
_LOOP_MECHANISM = (
    "sysmon's retake asks a goroutine that has run forcePreemptNS = 10 ms to stop "
    "(preemptone); with asynchronous preemption a signal stops it anywhere (preemptM -> "
    "asyncPreempt, src/runtime/preempt.go), without it only a function call's stack check "
    "(newstack) can, and a loop without calls makes none"
)
_CALLS_PROGRAM = (
    "Real Go, GOMAXPROCS=2: 120 requests arrive every 0.2 ms; each does 1 ms of CPU, and four "
    "in five then wait 20 ms {how}."
)
_CALLS_MECHANISM = (
    "a blocking system call keeps its thread (entersyscall, src/runtime/proc.go) and sysmon's "
    "retake hands its P to another thread (handoffp, startm), so every call in flight holds "
    "an M; a network wait parks the goroutine in the netpoller (netpollblock) and holds none"
)

#: What each twin's cases ask and how the recording answers: the question, the answer's noun
#: and unit, the measure (and for frames and threads the tolerances, absolute and relative).
_LATE_FRAMES = (
    "How many of the 30 frames woke up more than 1 ms late?",
    "frames",
    "frames",
    late_frames,
    2.0,
    0.0,
)
_PREEMPTIONS = (
    "How many times does Go's execution trace show a goroutine preempted "
    '(running -> runnable, reason "preempted")?',
    "preemptions",
    "",
    trace_preemptions,
)
_THREADS = (
    "How many OS threads (Ms) does Go's execution trace show?",
    "threads",
    "threads",
    trace_threads,
    1.0,
    0.35,
)

TRACE_CASES: tuple[TraceCase, ...] = (
    TraceCase(
        "timer_stall",
        {"hogs": 2},
        _TIMER_PROGRAM.format(hogs="two CPU hogs"),
        *_LATE_FRAMES,
        "two frames either way: a frame due just as a hog is preempted lands either side of "
        "1 ms (the fidelity table's tolerance)",
        _TIMER_MECHANISM,
        "Both Ps run a hog for 200 ms, so no P passes through the scheduler except when sysmon "
        "preempts a hog: every frame due meanwhile wakes a time slice late (the render "
        "goroutine's waiting -> runnable change sits 10-20 ms after its due time in the trace). "
        "Once the hogs end, the frames are on time.",
    ),
    TraceCase(
        "timer_stall",
        {"hogs": 1},
        _TIMER_PROGRAM.format(hogs="one CPU hog"),
        *_LATE_FRAMES,
        "two frames either way, as with two hogs",
        _TIMER_MECHANISM,
        "One hog holds one P; the other P is idle, and its thread, out of work, waits in "
        "netpoll until the earliest timer is due (findRunnable computes the delay from the "
        "timers it can steal): the timer fires on time, the hog notwithstanding.",
    ),
    TraceCase(
        "long_loop",
        {"async_preempt": 0},
        _LOOP_PROGRAM.format(version="GODEBUG=asyncpreemptoff=1 (Go 1.13's preemption)"),
        *_PREEMPTIONS,
        1.0,
        0.0,
        "one either way: a request's own 1 ms can meet a preemption request at a call",
        _LOOP_MECHANISM,
        "sysmon asks the loop to stop every 10 ms, but without the signal the request is only "
        "honoured at a function call, and the loop makes none: the trace shows the loop on the "
        "P for its whole 200 ms, the requests runnable behind it. The one preemption the "
        "recorded trace shows is that request at last: the loop's goroutine is preempted at "
        "the first call after the loop (time.Since, 196 ms into the trace).",
    ),
    TraceCase(
        "long_loop",
        {"async_preempt": 1},
        _LOOP_PROGRAM.format(version="Go >= 1.14 (asynchronous preemption)"),
        *_PREEMPTIONS,
        0.0,
        0.35,
        "35 % of the trace's count, or anywhere from 200 ms / the latest to 200 ms / the "
        "earliest moment real Go preempts a loop (real_preemption_band_ms)",
        _LOOP_MECHANISM,
        "sysmon preempts the loop by signal once it has run 10 ms on a slice; the requests "
        "queued meanwhile run, and the loop continues. 200 ms of loop in 10-20 ms slices is "
        "10-20 preemptions.",
    ),
    TraceCase(
        "blocking_calls",
        {"syscalls": 1},
        _CALLS_PROGRAM.format(how="in a blocking system call (nanosleep)"),
        *_THREADS,
        "one thread or 35 %: real runs spread that far (the fidelity table's tolerance)",
        _CALLS_MECHANISM,
        "Two Ps start a request every 0.5 ms at most (1 ms of CPU each), so at most about 32 "
        "calls of 20 ms overlap, each holding its thread, plus the threads running the Ps and "
        "sysmon's; fewer in a real run, as the burst builds up and each P waits for sysmon's "
        "retake before another thread takes it.",
    ),
    TraceCase(
        "blocking_calls",
        {"syscalls": 0},
        _CALLS_PROGRAM.format(how="on a pipe the netpoller watches"),
        *_THREADS,
        "one thread or 35 %, as with blocking calls",
        _CALLS_MECHANISM,
        "A wait on the netpoller parks the goroutine and frees its thread: the two Ps' "
        "threads carry every request, and the trace shows about as many threads as Ps, plus "
        "one that polls the network. sysmon is not among them: a trace shows a thread only when "
        "it records an event, and sysmon, which runs without a P, records one only when it takes "
        "a P from a system call (releaseP -> trace.ProcSteal, src/runtime/proc.go:6868-6877), "
        "which is why section 5's count has it and this one does not.",
    ),
)
#: Consecutive seeds step this many cases along TRACE_CASES: not a multiple of their number, so
#: *New variant* (the next seed) never shows the case just shown, and six seeds show all six.
TRACE_STEP = 5


def _trace_case(rng: np.random.Generator) -> TraceCase:
    """The case of an exercise seed (read back from the generator, as lab03 does)."""
    seed = int(rng.bit_generator.seed_seq.entropy)
    return TRACE_CASES[seed * TRACE_STEP % len(TRACE_CASES)]


def trace_case(seed: int) -> TraceCase:
    """The case ``Exercise(stall_in_real_trace, seed=seed)`` asks about."""
    return _trace_case(np.random.default_rng(seed))


def _trace_pair(case: TraceCase) -> Callable[[], object]:
    """The answer's figure: the model's run of the preset beside Go's own trace of the twin."""

    def figure():
        from labkit.golab.twin_fidelity import TWIN_PRESETS
        from labkit.widgets import TimelinePair

        preset, variants = TWIN_PRESETS[case.twin]
        which = next(k for k, s in variants.items() if s == case.settings)
        real = run_twin(case.twin, source="recorded", **case.settings)
        model = run_lab(getattr(PRESETS[preset], which)).result
        settings = ", ".join(f"{k}={v}" for k, v in case.settings.items())
        return TimelinePair(
            model,
            real.trace,
            titles=(
                f"The model: preset {preset}, {which}",
                f"Real Go: {case.twin} ({settings}), execution trace",
            ),
            kinds=real.kinds,
        )

    return figure


def stall_in_real_trace(rng: np.random.Generator) -> Variant:
    """Predict what Go's own execution trace of a blind spot's twin shows, then see it.

    The key is read from the twin's recording (labkit/golab/recorded/twins/): the frames the
    program measured late, or the preemptions and threads in its trace, never a number typed
    here; after Check the exercise draws the model's timeline above Go's own."""
    case = _trace_case(rng)
    real = run_twin(case.twin, source="recorded", **case.settings)
    value = case.measure(real)
    also = []
    if case.twin == "long_loop" and case.settings["async_preempt"]:
        early, late = real_preemption_band_ms()
        also.append(
            (
                math.floor(200 / late),
                math.ceil(200 / early),
                f"200 ms of loop cut into slices of {early:g}-{late:g} ms, when real Go "
                "preempts a loop",
            )
        )
    if case.twin == "timer_stall" and case.settings["hogs"] == 2:
        early, late = real_preemption_band_ms()
        frame_ms = 4.5  # the render loop's sleep and draw
        also.append(
            (
                math.floor(200 / (frame_ms + late)),
                math.ceil(200 / (frame_ms + early)),
                f"200 ms of hogs, each frame's {frame_ms:g} ms of sleep and drawing followed by a "
                f"wake {early:g}-{late:g} ms late (a time slice, as real Go preempts)",
            )
        )
    return numeric(
        f"{case.program} {case.ask}",
        value,
        f"The recording shows {value:g} {case.noun} (labkit/golab/recorded/twins/, "
        f"{real.go_version}, {real.note}). {case.explain} The mechanism: {case.mechanism}. "
        f"Accepted: within {case.tolerance_why}.",
        unit=case.unit,
        abs_tol=case.abs_tol,
        rel_tol=case.rel_tol,
        hint=f"Think of the mechanism: {case.mechanism}.",
        params={"twin": case.twin, **case.settings},
        also=also,
        figure=_trace_pair(case),
        predict=True,
        shows="the model's timeline, with Go's own trace of the real run under it,",
    )
