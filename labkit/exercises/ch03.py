"""Chapter 3's predictions: before a flame graph, a goroutine dump or a trace shows its answer
(issue #17: predict, then see).

Each key is read from the evidence the exercise then draws: a real CPU profile the course ships
(recorded with the course's ``labkit/golab/go/detective``), the scheduler model's ``debug=2`` dump
of the chapter's dashboard, or the real execution trace chapter 2's ``timer_stall`` twin
recorded. Nothing here types in a result. A wrong prediction's hint names the runtime function
behind the answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises import lab03
from labkit.exercises.seeded import Variant, numeric
from labkit.golab import run_twin
from labkit.models.scheduler import Go, cpu, io_wait, mark, repeat, simulate, sleep, spawn
from labkit.profiles import load_profile
from labkit.profiles.flamelayout import FlameGraphModel

#: Section 2's search: the allocator, the GC's mark workers, its sweeper and the scavenger.
ALLOC_GC = r"mallocgc|memclr|gcBgMark|madvise|bgsweep"
#: The two recorded runs of the dashboard asked about: a fresh frame buffer per frame, or pooled.
BUFFERS = {
    "alloc": "allocates a fresh 1024x768 RGBA frame buffer (3 MiB) for every frame",
    "pooled": "takes its frame buffers from a `sync.Pool` and puts each back after the frame",
}


def _flame_graph(profile, search: str = "", view: str = "flame") -> Callable[[], object]:
    def figure():
        from labkit.widgets import FlameGraph

        graph = FlameGraph(profile, view=view)
        if search:
            graph.search(search)
        return graph

    return figure


def alloc_gc_share(rng: np.random.Generator) -> Variant:
    """Section 2: the share of a recorded CPU profile's samples in the allocator and the GC."""
    scenario = list(BUFFERS)[int(rng.integers(len(BUFFERS)))]
    profile = load_profile(lab03.PROFILE_DIR / f"lab03-{scenario}.pb.gz")
    share = 100 * FlameGraphModel(profile).search(ALLOC_GC)
    info = lab03.recorded_info()["profiles"][scenario]
    fresh = scenario == "alloc"
    why = (
        "Every fresh buffer goes through mallocgc (src/runtime/malloc.go:1067), which clears "
        "it (memclrNoHeapPointers); 3 MiB a frame fills the heap's headroom (GOGC) many times "
        "a second, so the GC's mark workers (gcBgMarkWorker, mgc.go:1766) and its background "
        "sweeper (bgsweep, mgcsweep.go:272) run all the time too."
        if fresh
        else "Pool.Get (src/sync/pool.go:132) hands back a buffer made before, so the loop "
        "calls mallocgc for no buffer, nothing fills the heap's headroom, and the GC hardly "
        "runs: the profile is the drawing itself."
    )
    return numeric(
        "A CPU profile of the course's dashboard (`labkit/golab/go/detective`, GOMAXPROCS=2, "
        f"recorded on {info['recorded_on']}): its render loop draws frames as fast as it can "
        f"and {BUFFERS[scenario]}. What share of the CPU samples pass through the allocator or "
        f"the GC, frames matching `{ALLOC_GC}` (%)?",
        share,
        f"The recorded profile: {share:.1f} % of {int(sum(profile.stacks('samples').values()))} "
        f"samples. {why} The flame graph above has the search applied: the highlighted boxes "
        "are the matched ones.",
        unit="%",
        rel_tol=0.0,
        abs_tol=10.0,
        hint="What does a fresh 3 MiB buffer per frame cost beyond the drawing: mallocgc "
        "clearing it (src/runtime/malloc.go), and the GC cycles its allocation starts "
        "(gcBgMarkWorker, bgsweep)? And with a sync.Pool, does the loop still allocate?",
        params={"scenario": scenario, "share_pct": share},
        figure=_flame_graph(profile, ALLOC_GC),
        predict=True,
        shows="the recorded profile's flame graph, with the search applied,",
    )


RENDER = "main.(*dashboard).run;main.renderFrame"
INGEST = "main.ingest;main.decodeBatch"


def dashboard_program(ingest: int = 8) -> Go:
    """Section 3's dashboard (the chapter builds the same with 8 ingest goroutines): a render
    goroutine drawing 4 ms every 16 ms, five connections waiting on the network, and from
    t = 300 ms ``ingest`` goroutines decoding for 40 ms in loops without calls."""
    render = Go(
        "render", [repeat(60, [cpu(4, stack=RENDER), mark("frame"), sleep(12)])], stack=RENDER
    )
    conns = [
        spawn(Go(f"conn{i}", [io_wait(900)], stack="main.(*server).handleConn")) for i in range(5)
    ]
    work = [
        spawn(Go(f"ingest{i}", [cpu(40, calls=False, stack=INGEST)], stack="main.ingest"))
        for i in range(ingest)
    ]
    return Go("main", [spawn(render), *conns, sleep(300), *work, sleep(500)])


def runnable_in_dump(rng: np.random.Generator) -> Variant:
    """Section 3: how many goroutines a debug=2 dump shows runnable during the ingest burst."""
    ingest = int(rng.choice([4, 6, 8, 10]))
    times = (320.0, 350.0, 400.0)
    at = float(rng.choice(times))
    res = simulate(dashboard_program(ingest), gomaxprocs=2, until_ms=3_000, seed=1)
    # The dump comes before the first ingest goroutine is done (4 or 6 of them: 380 ms), so
    # "GOMAXPROCS run, the rest wait runnable" holds: which one ends first is the scheduler's
    # queue order, which the question cannot ask a learner to work out.
    first_done = min(t for name, t in res.finished_ms.items() if name.startswith("ingest"))
    at = at if at < first_done else max(t for t in times if t < first_done)
    dump = load_profile(res.goroutine_dump(at).encode(), name=f"model dump at {at:g} ms")
    states = dump.goroutine_states()
    runnable = int(states.get("runnable", 0))
    listed = ", ".join(f"{n} {s}" for s, n in sorted(states.items(), key=lambda kv: -kv[1]))
    return numeric(
        "The chapter's dashboard in the scheduler model, GOMAXPROCS=2: a render goroutine "
        "draws for 4 ms and sleeps 12 ms, five connection handlers wait on the network, and at "
        f"t = 300 ms {ingest} ingest goroutines start, each decoding for 40 ms in a loop "
        f"without calls. In a `goroutine?debug=2` dump taken at t = {at:g} ms, how many "
        "goroutines are shown **runnable**?",
        runnable,
        f"The model's dump at {at:g} ms: {listed}. At most GOMAXPROCS goroutines run, one per "
        "P; every other goroutine that wants the CPU waits in a run queue, runnable (runqput, "
        "src/runtime/proc.go:7529). A connection handler parked on the network (netpollblock, "
        "netpoll.go:548 -> gopark) and a goroutine asleep on a timer are waiting, not runnable, "
        "and use no CPU. The icicle graph above counts the dump's goroutines by stack.",
        unit="goroutines",
        rel_tol=0.0,
        abs_tol=0.4,
        hint="How many goroutines can run at once (one per P, GOMAXPROCS)? The rest that want "
        "the CPU wait in a run queue (runqput). Does a goroutine parked on the network "
        "(netpollblock -> gopark) want the CPU?",
        params={"ingest": ingest, "at_ms": at, "states": states},
        figure=_flame_graph(dump, view="icicle"),
        predict=True,
        shows="the model's goroutine dump, as an icicle graph,",
    )


RENDER_G = "main.labkitUserMain.func1"  # timer_stall's render loop, as the trace names it


def render_sleeps(trace) -> np.ndarray:
    """How long each of the render loop's ``time.Sleep(4ms)`` kept it waiting, in a
    ``timer_stall`` trace: from its move to *waiting* (reason ``sleep``) to *runnable*."""
    gs = trace.goroutines
    render = int(gs["g"][gs["name"] == RENDER_G][0])
    tr = trace.transitions[trace.transitions["g"] == render]
    asleep = tr["t_ms"][(tr["to"] == "waiting") & (tr["reason"] == "sleep")]
    woken = tr["t_ms"][(tr["from"] == "waiting") & (tr["to"] == "runnable")]
    n = min(asleep.size, woken.size)
    return np.asarray(woken[:n] - asleep[:n], dtype=float)


def _trace_timeline(twin) -> Callable[[], object]:
    def figure():
        from labkit.widgets import SchedulerTimeline

        view = SchedulerTimeline(height_px=200)
        view.show(twin.trace, kinds=twin.kinds)
        return view

    return figure


def longest_sleep(rng: np.random.Generator) -> Variant:
    """Section 4: in the real timer_stall trace, the render loop's longest 4 ms sleep."""
    hogs = int(rng.choice([2, 1]))
    twin = run_twin("timer_stall", source="recorded", hogs=hogs)
    slept = render_sleeps(twin.trace)
    longest = float(slept.max())
    if hogs == 2:
        why = (
            "Both Ps run hogs, so no thread is out of work to run the expired timer: it fires "
            "when its own P passes through the scheduler ((*timers).check from findRunnable, "
            "src/runtime/time.go:982, proc.go:3404), when sysmon preempts that P's hog after "
            "forcePreemptNS = 10 ms (retake, proc.go:6681), 10-20 ms as sysmon's checks fall. "
            "Once the hogs end, the sleeps are back to about 4 ms."
        )
    else:
        why = (
            "One P is free of hogs: its thread, out of work, waits in the netpoller until the "
            "earliest timer and runs it on time (findRunnable -> stealWork, "
            "src/runtime/proc.go:3843). Every sleep lasts about what it asked for."
        )
    return numeric(
        "Real Go, recorded (chapter 2's `labkit/golab/go/timer_stall`): GOMAXPROCS=2, a render "
        f"loop calls `time.Sleep(4 * time.Millisecond)` and draws, 30 frames, beside {hogs} CPU "
        f"hog{'s' * (hogs > 1)} of 200 ms. The execution trace has the render goroutine "
        "**waiting** from each Sleep until its timer makes it runnable. How long does its "
        "longest wait last (ms)?",
        longest,
        f"The trace: the longest wait is {longest:.1f} ms, the median "
        f"{np.median(slept):.1f} ms, over {slept.size} sleeps. {why} The timeline above is Go's "
        "own trace (rows per P; hover a box for the goroutine).",
        unit="ms",
        rel_tol=0.25,
        hint="Who runs an expired timer: its own P in findRunnable ((*timers).check), or a P "
        "with nothing to do (stealWork)? If every P runs a hog, when does sysmon preempt one "
        "(forcePreemptNS)?",
        params={"hogs": hogs, "median_ms": float(np.median(slept))},
        figure=_trace_timeline(twin),
        predict=True,
        shows="Go's own trace of the real run",
    )
