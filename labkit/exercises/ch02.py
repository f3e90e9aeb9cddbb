"""Chapter 2's predictions: one before each section's numbers and timeline (issue #17: predict,
then see), for both of its notebooks: the primer, 2.1 and 2.2 in chapters/02-scheduler-blind-spots,
2.3-2.5 and the scheduler lab in chapters/02b-preemption-queues-and-timers.

Each question is a variant of its section's own program: the primer's spawn order, or a
blind spot's preset (``labkit.scenarios.blindspots.PRESETS``) with one setting drawn from the seed. The key
is the scheduler model's run of exactly that program (``labkit.models.scheduler`` / ``run_lab``), the run
the exercise then draws beside the learner's prediction; nothing here types in a result. A
wrong prediction's hint names the runtime function that decides it (src/runtime/proc.go unless
named).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises.lab02 import GO_VERSIONS
from labkit.exercises.lab02 import _drawn as drawn
from labkit.exercises.seeded import Variant, numeric
from labkit.models.scheduler import Chan, Go, cpu, recv, repeat, send, simulate, spawn
from labkit.scenarios.blindspots import PRESETS, LabRun, run_lab


def primer_program(n: int) -> Go:
    """The primer's program with ``n`` goroutines: each does 1 ms of CPU and sends on ``done``;
    ``main`` starts them all, then receives ``n`` times."""
    done = Chan(capacity=n, name="done")
    gs = [Go(f"g{i}", [cpu(1.0), send(done)]) for i in range(1, n + 1)]
    return Go("main", [*[spawn(g) for g in gs], repeat(n, [recv(done)])])


def run_order(result, n: int) -> list[int]:
    """The goroutines g1..gn in the order they first ran (their numbers)."""
    seg = result.segments
    first = {i: float(seg[seg["g"] == f"g{i}"]["start_ms"][0]) for i in range(1, n + 1)}
    return sorted(first, key=first.get)


def run_position(rng: np.random.Generator) -> Variant:
    """The primer: in which position does g<k> run, of n started on GOMAXPROCS=1?"""
    n = int(rng.integers(4, 8))
    # Not the middle one: the answer then differs from both the FIFO and the LIFO guess.
    k = int(rng.choice([i for i in range(1, n) if 2 * i != n]))
    res = simulate(primer_program(n), gomaxprocs=1, seed=0)
    order = run_order(res, n)
    pos = order.index(k) + 1
    return numeric(
        f"GOMAXPROCS=1. `main` starts g1, g2, ..., g{n} with `go` statements, in that order "
        "(each does 1 ms of CPU, then sends on a channel), and then waits on the channel. In "
        f"which position does **g{k}** run (1 = the first to run, {n} = the last)?",
        pos,
        f"The model's order: {', '.join(f'g{i}' for i in order)}, so g{k} runs in position {pos}. Each "
        "`go` statement puts the new goroutine in the P's `runnext` slot and pushes the one "
        "there to the tail of the local queue (newproc -> runqput(pp, newg, next=true), "
        f"src/runtime/proc.go:5334, :7529). When `main` blocks, runnext (g{n}) runs first "
        "(runqget, proc.go:7649), then the queue in the order it was filled: g1, g2, ...",
        unit="",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="Where does each new goroutine go: the P's runnext slot (runqput with next=true in "
        "newproc, src/runtime/proc.go), and what happens to the goroutine that was there?",
        params={"n": n, "k": k, "order": order},
        figure=drawn("SchedulerTimeline", res, 160),
        predict=True,
    )


def _preset_run(key: str, side: str, **overrides) -> LabRun:
    preset = PRESETS[key]
    return run_lab(getattr(preset, side), **overrides)


def locked_makespan(rng: np.random.Generator) -> Variant:
    """2.1: the makespan of the requests once the render loop calls LockOSThread."""
    n = int(rng.choice([120, 160, 200, 240]))
    locked = _preset_run("2.1", "stall", goroutines=n)
    free = _preset_run("2.1", "fix", goroutines=n)
    p = locked.params
    span = locked.metrics["makespan_ms"]
    one_p = n * p.work_ms  # what "LockOSThread takes a P away" predicts: one P left for requests
    return numeric(
        f"Preset 2.1 with {n} requests: GOMAXPROCS={p.gomaxprocs}, requests of "
        f"{p.work_ms:g} ms of CPU arriving every {p.arrival_ms:g} ms, beside a render loop that "
        f"sleeps {p.tick_ms:g} ms and draws for {p.draw_ms:g} ms, {p.frames} frames. Unlocked, "
        f"the last request finishes at {free.metrics['makespan_ms']:.1f} ms. Now the render "
        "loop calls `runtime.LockOSThread` first. Predict the makespan (ms).",
        span,
        f"The model: {span:.1f} ms locked against {free.metrics['makespan_ms']:.1f} ms "
        f"unlocked, with {locked.metrics['threads_peak']:.0f} threads instead of "
        f"{free.metrics['threads_peak']:.0f} and {locked.result.stats['locked_handoffs']} "
        "hand-overs of a P to the locked thread. LockOSThread wires the goroutine to its M "
        "(dolockOSThread, src/runtime/proc.go:5649), not to a P: when it sleeps, stoplockedm "
        "(proc.go:3265) hands its P to another thread (handoffp), which runs requests; when it "
        "wakes, startlockedm (proc.go:3293) hands a P back to its thread. Both Ps keep serving "
        f"requests. Had the lock taken a P away, one P would serve {n} x {p.work_ms:g} ms: "
        f"{one_p:.0f} ms.",
        unit="ms",
        rel_tol=0.05,
        hint="Does LockOSThread tie the goroutine to a P or to a thread (dolockOSThread)? What "
        "does stoplockedm do with the P while the locked goroutine sleeps?",
        params={"n": n, "unlocked_ms": free.metrics["makespan_ms"], "one_p_ms": one_p},
        figure=drawn("SchedulerTimeline", locked.result, 200),
        predict=True,
    )


def syscall_threads(rng: np.random.Generator) -> Variant:
    """2.2: the peak thread count when requests block in system calls."""
    share, block = [(0.4, 20.0), (0.6, 20.0), (0.8, 20.0), (0.8, 10.0)][int(rng.integers(4))]
    calls = _preset_run("2.2", "stall", syscall_share=share, block_ms=block)
    net = _preset_run("2.2", "fix", io_share=share, block_ms=block)
    p = calls.params
    peak = calls.metrics["threads_peak"]
    pace = p.gomaxprocs / p.work_ms  # requests the Ps finish per ms
    in_flight = pace * share * block
    return numeric(
        f"Preset 2.2: GOMAXPROCS={p.gomaxprocs}, {p.goroutines} requests arriving every "
        f"{p.arrival_ms:g} ms, each {p.work_ms:g} ms of CPU; then {100 * share:.0f} % of them "
        f"wait {block:g} ms. Waiting on the network, the run peaks at "
        f"{net.metrics['threads_peak']:.0f} threads. In a blocking system call instead, how many "
        "threads does it peak at?",
        peak,
        f"The model: {peak:.0f} threads, against {net.metrics['threads_peak']:.0f} with network "
        f"waits; p99 {calls.metrics['p99_ms']:.0f} ms against {net.metrics['p99_ms']:.0f} ms. "
        "A blocking call keeps its M for the whole call (entersyscall, src/runtime/proc.go:4776), "
        "and sysmon's retake (proc.go:6681) hands its P to another M (handoffp, proc.go:3146), so "
        "the requests keep running and every call in flight holds a thread. By Little's law: "
        f"the 2 Ps finish {pace:g} requests per ms, {100 * share:.0f} % of them block for "
        f"{block:g} ms, so about {in_flight:.0f} calls are in flight, plus the threads running "
        "the Ps and sysmon's. A network wait parks the goroutine in the netpoller "
        "(netpollblock, netpoll.go:548) with no thread at all.",
        unit="threads",
        rel_tol=0.3,
        hint="What does a goroutine in a blocking system call keep: its M (entersyscall)? And "
        "what does sysmon's retake do with its P (handoffp)? Count the calls in flight: the "
        "rate the Ps finish requests x the share that block x how long they block.",
        params={"share": share, "block_ms": block, "net_threads": net.metrics["threads_peak"]},
        figure=drawn("GoroutineStatePlot", calls.result, 220),
        predict=True,
    )


def loop_p99(rng: np.random.Generator) -> Variant:
    """2.3: the requests' p99 behind a loop without calls, per Go version."""
    hog = float(rng.choice([100.0, 200.0, 300.0]))
    async_preempt = bool(rng.integers(2))
    run = _preset_run("2.3", "stall", hog_ms=hog, async_preempt=async_preempt)
    p = run.params
    p99 = run.metrics["p99_ms"]
    if async_preempt:
        why = (
            "sysmon's retake sees the loop has run forcePreemptNS = 10 ms on one time slice "
            "(src/runtime/proc.go:6679) and preempts it by signal (preemptone -> preemptM, "
            "signal_unix.go:369); the loop goes to the global queue and the queued requests "
            "run. A request waits for one slice of the loop, 10-20 ms as sysmon's checks fall, "
            "plus the requests queued ahead of it "
            f"(the loop had {run.metrics['preemptions']:.0f} preemptions)."
        )
    else:
        why = (
            "sysmon asks the loop to stop after 10 ms (retake -> preemptone, "
            "src/runtime/proc.go:6681), but without asynchronous preemption the request is "
            "honoured only at a function call's stack check, and this loop makes none: the "
            "requests wait for the loop to end."
        )
    return numeric(
        f"GOMAXPROCS={p.gomaxprocs}, {GO_VERSIONS[async_preempt]}: a {hog:g} ms loop without "
        f"function calls starts at t = 0, and {p.goroutines} requests of {p.work_ms:g} ms arrive "
        f"every {p.arrival_ms:g} ms. Predict the requests' p99 latency (ms).",
        p99,
        f"The model: p50 {run.metrics['p50_ms']:.1f} ms, p99 {p99:.1f} ms. " + why,
        unit="ms",
        rel_tol=0.3 if async_preempt else 0.1,
        hint="What can stop a loop without calls: sysmon's request (retake -> preemptone after "
        "forcePreemptNS = 10 ms), delivered by signal (preemptM) only since Go 1.14?",
        params={"hog_ms": hog, "async_preempt": async_preempt},
        figure=drawn("SchedulerTimeline", run.result, 160),
        predict=True,
    )


def global_after_burst(rng: np.random.Generator) -> Variant:
    """2.4: how many goroutines the global run queue holds after a burst of go statements."""
    n = int(rng.choice([300, 400, 500, 600]))
    run = _preset_run("2.4", "stall", goroutines=n)
    queued = int(run.result.runq["global"].max())
    return numeric(
        f"Preset 2.4 with {n} requests: GOMAXPROCS=1, `main` starts {n} goroutines of 1 ms "
        "each, all at t = 0, before any of them runs. The article says they all go through the "
        "global run queue. How many goroutines does the global queue hold once the burst is over?",
        queued,
        f"The model: {queued}. A new goroutine goes to the creating P's runnext slot and pushes "
        "the previous one to its local queue (newproc -> runqput, src/runtime/proc.go:7529). "
        "The local queue has 256 slots; when a push finds it full, runqputslow "
        "(proc.go:7575) moves half of it, 128, plus the pushed goroutine, 129 in all, to the "
        f"global queue in one batch. With {n} spawns that happened {queued // 129} time(s): "
        f"{queued} on the global queue, {n - queued} in runnext and the local queue.",
        unit="goroutines",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="Where does newproc put a new goroutine (runqput: runnext, then the local queue "
        "of 256)? Only an overflow goes global, and runqputslow moves 128 + 1 at a time.",
        params={"n": n},
        figure=drawn("RunQueuePlot", run.result, 200),
        predict=True,
    )


def late_frames(rng: np.random.Generator) -> Variant:
    """2.5: how many of a timer-driven render loop's frames start late beside CPU hogs."""
    procs, hogs = [(2, 2), (2, 1), (3, 3), (3, 2), (4, 4)][int(rng.integers(5))]
    run = _preset_run("2.5", "stall", gomaxprocs=procs, hogs=hogs)
    p = run.params
    late = run.tick_lateness_ms
    count = int((late > 1.0).sum())
    busy = hogs >= procs
    why = (
        f"Every P runs a hog, so nobody is out of work to run the expired timer: it waits "
        "until its own P passes through the scheduler, when sysmon preempts the hog after "
        "forcePreemptNS = 10 ms (retake, src/runtime/proc.go:6681), 10-20 ms as its checks "
        f"fall; the frame then starts {late.max():.1f} ms late at worst, until the hogs end."
        if busy
        else "A P is free of hogs: its thread, out of work, waits in the netpoller until the "
        "earliest timer and runs it on time (findRunnable, stealWork's timer pass, "
        "src/runtime/proc.go:3843). At most the very first frame is late: at start-up the "
        "thread that waited for the first timer is woken by the hog's network event and runs "
        "the hog."
    )
    return numeric(
        f"GOMAXPROCS={procs}: a render loop sleeps {p.tick_ms:g} ms (`time.Sleep`) and draws "
        f"for {p.draw_ms:g} ms, {p.frames} frames, beside {hogs} CPU hog{'s' * (hogs > 1)} of "
        f"{p.hog_ms:g} ms (their loops make calls; Go >= 1.14). How many of its {late.size} "
        "frames start more than 1 ms later than the sleep asked?",
        count,
        f"The model: {count} of {late.size}. A timer lives in the heap of the P that set it "
        "and runs when that P looks for work ((*timers).check, src/runtime/time.go:982, from "
        "findRunnable, proc.go:3404), or when an idle P's thread steals it. " + why,
        unit="frames",
        rel_tol=0.0,
        abs_tol=1.0,
        hint="Who runs an expired timer: its own P in findRunnable ((*timers).check), or a P "
        "with nothing to do (stealWork)? Is any P idle here, and how often does sysmon preempt "
        "a hog (forcePreemptNS)?",
        params={"gomaxprocs": procs, "hogs": hogs, "frames": int(late.size)},
        figure=drawn("SchedulerTimeline", run.result, 180),
        predict=True,
    )


def _scheduler_lab(params) -> Callable[[], object]:
    def figure():
        from labkit.widgets import SchedulerLab

        return SchedulerLab(params)

    return figure


def lab_makespan(rng: np.random.Generator) -> Variant:
    """The scheduler lab: preset 2.4's burst with more Ps, before the learner moves the slider."""
    procs = int(rng.choice([2, 3, 4, 8]))
    run = _preset_run("2.4", "stall", gomaxprocs=procs)
    p = run.params
    span = run.metrics["makespan_ms"]
    return numeric(
        f"In the lab below, pick preset 2.4 ({p.goroutines} goroutines of {p.work_ms:g} ms "
        f"started at once, GOMAXPROCS=1: the last finishes near {p.goroutines * p.work_ms:g} "
        f"ms) and move GOMAXPROCS to {procs}. Predict the makespan (ms).",
        span,
        f"The model: {span:.1f} ms, with {run.metrics['steals']:.0f} steals. No P sits idle "
        "while work waits: a P whose local queue is empty takes a batch from the global queue "
        "(findRunnable, src/runtime/proc.go:3404) or steals half of another P's local queue "
        "(stealWork -> runqsteal, proc.go:3843), and each `go` statement wakes a thread for an "
        f"idle P (wakep). So {p.goroutines} x {p.work_ms:g} ms of CPU is shared by {procs} Ps. "
        "The lab drawn above opens on this setting.",
        unit="ms",
        rel_tol=0.1,
        hint="Can an idle P take work queued on another P (stealWork -> runqsteal) or on the "
        "global queue (findRunnable)? Then how much CPU does each P do?",
        params={"gomaxprocs": procs, "one_p_ms": p.goroutines * p.work_ms},
        figure=_scheduler_lab(p),
        predict=True,
    )
