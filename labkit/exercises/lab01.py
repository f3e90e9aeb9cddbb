"""Exercises of labs/lab01-frame-lab.ipynb: the GC pacer and a render loop, by number and by model.

Every answer comes from the course's models, never typed in: the heap goal from
``labkit.models.gcpacer.heap_goal_bytes`` (gcControllerState.commit / heapGoalInternal / memoryLimitHeapGoal
in src/runtime/mgcpacer.go), frame times and GC rates from ``labkit.models.renderloop.simulate_frames`` (the
same run the FrameLab widget beside the questions draws, so a learner can check by moving its
sliders). The runtime rules the questions rest on:

* heap goal = live + (live + stacks + globals) x GOGC/100, at least 4 MiB x GOGC/100;
* GOMEMLIMIT is a soft limit: its goal is limit - non-heap memory, minus 3 % of that as headroom
  (at least 1 MiB), never below the live heap, and the lower of the two goals wins; the non-heap
  memory is the frame model's (``labkit.models.renderloop.NON_HEAP_MB``, what the course's gc_render program
  measured);
* cycles per second ~ allocation rate / (goal - live): an approximation, since the trigger starts
  each cycle before the heap reaches the goal (labkit/golab/recorded/gc_live.json, go1.27.3,
  linux/amd64, 2 cores, 72 MiB of live pointers and 180 MiB/s of frames: 2.78 cycles/s where
  the estimate from the 78 MiB the cycles mark gives 180/78 = 2.3);
* sync.Pool hands a Put buffer back on the next Get, so a pooled renderer allocates (almost)
  nothing per frame; the GC then runs only for the other allocation; since Go 1.13 a cycle moves
  the pool to a victim cache instead of emptying it (poolCleanup, src/sync/pool.go);
* with one P the mark worker holds the P until sysmon preempts it, and the fractional worker
  takes its turn before the frame, so a frame's timer waits; with two, either P's preemption
  runs it;
* a draw with no lock tears a frame when one of the producers' random draws overlaps it:
  1 - e^-(rate x window).

Eight exercises, four of them predictions (gc_rate, second_p, pool_or_gogc_under_limit,
torn_share): after Check the frame lab runs the question's own settings inside the exercise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from labkit.exercises.seeded import Variant, choice, numeric
from labkit.models.gcpacer import heap_goal_bytes
from labkit.models.renderloop import NON_HEAP_MB, RenderResult, simulate_frames

MIB = 1 << 20

RESOLUTIONS = ((800, 600), (1024, 768), (1280, 720), (1920, 1080))

#: The stall scenario of chapter 1: one P (a dashboard in a one-CPU container). During a mark
#: phase the mark worker takes the P while the render goroutine sleeps, the frame's timer fires
#: only when sysmon preempts the worker, and the fractional worker runs before the frame
#: (labkit.models.gcpacer.wakeup); real Go measured the same stall
#: (labkit/golab/recorded/gc_render.json, gomaxprocs=1: every janky frame inside a GC cycle).
#: Its producers keep a tenth of a CPU busy each, as in that program and in the frame lab
#: (labkit.widgets.framelab.PRODUCER_CPU_FRACTION; a test holds the two equal).
STALL = {"gomaxprocs": 1, "fps": 60, "producer_cpu_fraction": 0.1}


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _wrong_hints(hint: str, count: int, right: int) -> dict[int, str]:
    """The same hint (naming the mechanism) for each of ``count`` choices but the ``right`` one."""
    return {i: hint for i in range(count) if i != right}


def _frame_lab(**settings: Any) -> Callable[[], object]:
    """A prediction's figure: the frame lab at the question's settings, built when shown."""

    def figure():
        from labkit.widgets import FrameLab

        return FrameLab(**settings)

    return figure


def _gc_rate_draw(rng: np.random.Generator) -> tuple[int, int, int, int, int]:
    width, height = _pick(rng, RESOLUTIONS)
    fps = int(_pick(rng, (30, 60, 120)))
    live_mib = int(_pick(rng, (32, 64, 128, 256)))
    gogc = int(_pick(rng, (50, 100, 200)))
    return width, height, fps, live_mib, gogc


def gc_rate_estimate(width: int, height: int, fps: int, live_mib: float, gogc: int) -> float:
    """The hand estimate the question asks for: allocation rate / (goal - live), in cycles/s,
    with the GOGC goal of ``labkit.models.gcpacer.heap_goal_bytes`` (live x (1 + GOGC/100) here)."""
    runway_mib = (heap_goal_bytes(int(live_mib * MIB), gogc=gogc) - live_mib * MIB) / MIB
    return fps * width * height * 4 / MIB / runway_mib


#: How far the hand estimate may be off and still be right (rounding a frame to 7.9 MiB or
#: 8 MiB is 1 %; rounding the result to two decimals, 0.005), a frame computed in decimal MB
#: is 4.86 % high, so it is not.
ESTIMATE_TOL = 0.02
#: The frame lab prints GC/s with two decimals: a reading is right within 1 % or 0.005.
READING_REL_TOL, READING_ABS_TOL = 0.01, 0.005


def _what_the_pacer_adds(run: RenderResult, live_mib: int) -> str:
    """The two things the hand estimate leaves out, with a mid-run cycle's numbers: the goal is
    computed from the marked heap, and a cycle starts at the trigger. A cycle's goal and trigger
    come from the heap the cycle before it marked (commit runs at the end of a mark and sets the
    next cycle's goal), so the marked heap quoted is the previous cycle's."""
    k = len(run.gc_cycles) // 2
    cycle, before = run.gc_cycles[k], run.gc_cycles[k - 1]
    marked, trigger, goal = (
        before.heap_marked_bytes / MIB,
        cycle.trigger_bytes / MIB,
        cycle.heap_goal_bytes / MIB,
    )
    return (
        "Its goal is computed from the *marked* heap, which holds the frame buffers still "
        "referenced and every object allocated while marking ran (gcmarknewobject counts them "
        "as marked, src/runtime/mgcmark.go:1762; gcControllerState.commit, "
        "src/runtime/mgcpacer.go:1295, at the end of a mark, for the next cycle): here a cycle "
        f"marked {marked:.1f} MiB for {live_mib} MiB live, and the goal computed from it for the "
        f"next cycle was {goal:.1f} MiB. And a cycle starts at the trigger, before the goal "
        "(gcControllerState.trigger, mgcpacer.go:1188: 45/64 to 61/64 of the way from the "
        f"marked heap to the goal, or goal - 4 MiB on a large heap): {trigger:.1f} MiB here."
    )


def gc_rate(rng: np.random.Generator) -> Variant:
    """GC cycles per second from the frame size, frame rate, live heap and GOGC.

    Two answers are right: the hand estimate the question describes (allocation rate divided by
    goal - live) and the rate the frame lab shows for the same settings (the pacer model), which
    the estimate only approximates. The key is the frame lab's figure, so a learner who reads
    it off the widget, as the lab invites, is right. A question on which a frame computed in
    decimal megabytes (4.86 % more "MiB") would land on the frame lab's figure, or within the
    estimate's rounding, is drawn again: no check could tell that mistake from a right answer
    there.
    """
    for _ in range(100):
        width, height, fps, live_mib, gogc = _gc_rate_draw(rng)
        estimate = gc_rate_estimate(width, height, fps, live_mib, gogc)
        run = simulate_frames(
            width=width, height=height, fps=fps, live_heap_mb=live_mib, gogc=gogc, producers=0
        )
        reading = round(run.gc_cycles_per_s, 2)
        spread = max(ESTIMATE_TOL * estimate, READING_ABS_TOL)
        decimal_mb = estimate * MIB / 1e6
        if abs(decimal_mb - estimate) > spread and not math.isclose(
            decimal_mb, reading, rel_tol=READING_REL_TOL, abs_tol=READING_ABS_TOL
        ):
            break
    frame_mib = width * height * 4 / MIB
    goal = heap_goal_bytes(live_mib * MIB, gogc=gogc)
    runway_mib = (goal - live_mib * MIB) / MIB
    return numeric(
        f"A renderer allocates one `image.NewRGBA` of {width}x{height} per frame at {fps} fps "
        f"and nothing else. Its live heap is {live_mib} MiB and GOGC={gogc}. About how many GC "
        "cycles per second does the pacer run? Estimate it with goal - live as the runway "
        "before you check: the frame lab's run of these numbers (0 producers, everything else "
        "at its default) is then drawn, its GC/s in the summary line.",
        reading,
        f"One frame is {width} x {height} x 4 = {frame_mib:.2f} MiB, so the program allocates "
        f"{fps * frame_mib:.0f} MiB/s. The heap goal is live + live x GOGC/100 = "
        f"{goal / MIB:.0f} MiB, a runway of {runway_mib:.0f} MiB per cycle, so the estimate is "
        f"{fps * frame_mib:.0f} / {runway_mib:.0f} = {estimate:.2f} cycles/s. The frame lab "
        f"(the pacer model, 10 s) shows {reading:.2f}: the estimate leaves out two things the "
        f"pacer does. {_what_the_pacer_adds(run, live_mib)} A cycle can also only start "
        f"at an allocation, so with a runway of {runway_mib / frame_mib:.1f} frames the rate "
        "moves in steps of whole frames per cycle. Both numbers are accepted; a frame size "
        f"taken in decimal MB ({width * height * 4 / 1e6:.2f} MB, used as MiB) is not.",
        unit="cycles/s",
        rel_tol=READING_REL_TOL,
        abs_tol=READING_ABS_TOL,
        hint="cycles/s = allocation rate / (heap goal - live heap); goal = live x (1 + GOGC/100).",
        params={"width": width, "height": height, "fps": fps, "live_mib": live_mib, "gogc": gogc},
        figure=_frame_lab(
            width=width,
            height=height,
            fps=fps,
            live_heap_mb=float(live_mib),
            gogc=gogc,
            producers=0,
        ),
        predict=True,
        also=[
            (
                estimate - spread,
                estimate + spread,
                f"the estimate with goal - live as the runway, {estimate:.2f}; the frame lab "
                f"shows {reading:.2f}",
            )
        ],
    )


#: The heap goal is checked to within 1 MiB: a goal rounded to whole MiB is right; one that
#: forgets the non-heap memory (8.5 MiB higher after the headroom) is not.
GOAL_ABS_TOL_MIB = 1.0


def heap_goal_with_limit(rng: np.random.Generator) -> Variant:
    """The heap goal when GOMEMLIMIT is set: the lower of the GOGC goal and the limit's goal.

    The limit's goal is the limit less the mapped memory that holds no heap object (the frame
    model's NON_HEAP_MB, which the frame lab uses too), less 3 % of that as headroom:
    memoryLimitHeapGoal, src/runtime/mgcpacer.go:1046-1158.
    """
    live_mib = int(_pick(rng, (64, 128, 256, 512)))
    gogc = _pick(rng, (50, 100, 200, "off"))
    limit_mib = int(live_mib * _pick(rng, (1.25, 1.5, 2.5, 4.0)))
    non_heap = int(NON_HEAP_MB * MIB)
    goal = (
        heap_goal_bytes(
            live_mib * MIB, gogc=gogc, memory_limit=limit_mib * MIB, other_non_heap_bytes=non_heap
        )
        / MIB
    )
    gogc_goal = heap_goal_bytes(live_mib * MIB, gogc=gogc) / MIB
    limit_goal = (
        heap_goal_bytes(
            live_mib * MIB, gogc="off", memory_limit=limit_mib * MIB, other_non_heap_bytes=non_heap
        )
        / MIB
    )
    room = limit_mib - NON_HEAP_MB
    gogc_text = (
        "GOGC=off: no GOGC goal at all (infinite)"
        if gogc == "off"
        else f"GOGC={gogc}: {live_mib} + {live_mib} x {gogc}/100 = {gogc_goal:.0f} MiB"
    )
    which = "the memory limit's" if limit_goal < gogc_goal else "the GOGC"
    return numeric(
        f"A program has {live_mib} MiB of live heap, GOGC={gogc} and GOMEMLIMIT={limit_mib}MiB. "
        f"Besides its heap the runtime has {NON_HEAP_MB:g} MiB mapped that holds no heap object "
        "(goroutine stacks, runtime metadata, fragmentation: what the course's gc_render "
        "program measures, and what the frame lab uses). Take the stacks and globals the GOGC "
        "goal counts as zero. What heap goal, in MiB, does the pacer aim for in the next cycle?",
        goal,
        "Two goals, and the lower wins (heapGoalInternal, src/runtime/mgcpacer.go:1000). "
        f"{gogc_text}. "
        f"Memory limit (memoryLimitHeapGoal, mgcpacer.go:1046): the limit counts all the memory "
        f"the runtime maps, so first the non-heap memory comes off: {limit_mib} - "
        f"{NON_HEAP_MB:g} = {room:.1f} MiB (mgcpacer.go:1120-1137); then 3 % of that as headroom "
        f"for pacing error, at least 1 MiB (mgcpacer.go:1142-1151): {limit_goal:.1f} MiB, and "
        "never below the live heap (mgcpacer.go:1154-1156). "
        f"So {which} goal applies: {goal:.1f} MiB. GOMEMLIMIT is soft: if the live heap grows "
        "past it, the GC runs continuously (capped at about 50 % CPU) rather than failing.",
        unit="MiB",
        rel_tol=0.0,
        abs_tol=GOAL_ABS_TOL_MIB,
        hint=f"Compute both goals; take the {NON_HEAP_MB:g} MiB off the limit, then 3 % headroom.",
        params={
            "live_mib": live_mib,
            "gogc": gogc,
            "limit_mib": limit_mib,
            "non_heap_mib": NON_HEAP_MB,
        },
    )


def gogc_for_jank_budget(rng: np.random.Generator) -> Variant:
    """The smallest GOGC that keeps janky frames under a budget, found with the frame model."""
    gogcs = (50, 100, 200, 400, 800)

    def smallest(jank: list[float], budget: float) -> int:
        meets = [i for i, j in enumerate(jank) if j <= budget]
        return meets[0] if meets else len(gogcs)

    # Drawn again until the budget needs more than the lowest GOGC and reading it as a fraction
    # (0.5 % as 0.005 %) gives another answer: otherwise those mistakes would pass.
    for _ in range(100):
        live_mib = int(_pick(rng, (64, 96, 128)))
        producers = int(_pick(rng, (2, 4)))
        budget_pct = float(_pick(rng, (0.5, 1.0, 2.0)))
        seed = int(rng.integers(100))
        jank = [
            100
            * simulate_frames(
                **STALL, live_heap_mb=live_mib, producers=producers, gogc=g, seed=seed, seconds=10
            ).jank_fraction
            for g in gogcs
        ]
        answer = smallest(jank, budget_pct)
        if answer > 0 and smallest(jank, budget_pct / 100) != answer:
            break
    table = ", ".join(f"GOGC={g}: {j:.1f} %" for g, j in zip(gogcs, jank, strict=True))
    return choice(
        f"In the frame lab, set GOMAXPROCS=1, live heap {live_mib} MiB, {producers} producers, "
        f"seed {seed}, 60 fps, a new buffer per frame. Which is the **smallest** GOGC that keeps "
        f"janky frames (over the 16.7 ms budget) at or under {budget_pct:g} %?",
        [f"GOGC={g}" for g in gogcs] + ["none of these"],
        answer,
        f"The model's jank per setting: {table}. A higher GOGC means a longer runway, so fewer "
        "cycles, and usually fewer frames that fall due while the mark worker holds the one P "
        "(not always: where a cycle's mark phase falls against the frames also counts); the "
        "price is a heap that peaks near live x (1 + GOGC/100).",
        hints={
            i: "Move the GOGC slider and read the jank % in the summary. A higher GOGC moves the "
            "heap goal up (live x (1 + GOGC/100), gcControllerState.commit in mgcpacer.go), so "
            "fewer mark phases hold the one P."
            for i in range(6)
        },
        params={
            "live_mib": live_mib,
            "producers": producers,
            "budget_pct": budget_pct,
            "seed": seed,
            "gogcs": gogcs,
            **STALL,
        },
    )


def pool_or_gogc_under_limit(rng: np.random.Generator) -> Variant:
    """Under a memory limit, raising GOGC may do nothing; pooling the frames removes the cause."""
    live_mib = int(_pick(rng, (64, 96, 128)))
    factor = float(_pick(rng, (2.0, 3.0, 4.0)))
    limit_mib = live_mib * factor
    common = {**STALL, "live_heap_mb": live_mib, "memory_limit_mb": limit_mib, "seconds": 10}
    base = simulate_frames(**common, gogc=100)
    high = simulate_frames(**common, gogc=400)
    pool = simulate_frames(**common, gogc=100, pooled=True)
    rates = base.gc_cycles_per_s, high.gc_cycles_per_s, pool.gc_cycles_per_s
    limit_goal = (
        heap_goal_bytes(
            live_mib * MIB,
            gogc="off",
            memory_limit=int(limit_mib * MIB),
            other_non_heap_bytes=int(NON_HEAP_MB * MIB),
        )
        / MIB
    )
    if high.gc_cycles_per_s >= 0.95 * base.gc_cycles_per_s:
        answer = 0
    elif pool.gc_cycles_per_s < high.gc_cycles_per_s:
        answer = 1
    else:
        answer = 2
    return choice(
        f"A renderer (GOMAXPROCS=1, 60 fps, 3 MiB frames, {live_mib} MiB live) runs with "
        f"GOMEMLIMIT={limit_mib:.0f}MiB and GOGC=100. To cut GC cycles you can raise GOGC to "
        "400 or put the frame buffers in a sync.Pool. Predict which helps, then check: the frame "
        "lab's run at GOGC=400 under the limit is drawn (choose *sync.Pool* under *frame "
        "buffer* in it to compare).",
        [
            "Raising GOGC changes nothing here: the memory limit already sets the heap goal",
            "Raising GOGC helps, but sync.Pool helps more",
            "Raising GOGC helps more than sync.Pool",
        ],
        answer,
        f"GC cycles per second: GOGC=100 {rates[0]:.1f}, GOGC=400 {rates[1]:.1f}, "
        f"sync.Pool {rates[2]:.1f}. The GOGC goal would be {live_mib * 2} MiB at 100 and "
        f"{live_mib * 5} MiB at 400, but the limit's goal is about {limit_goal:.0f} MiB (the limit "
        f"less the {NON_HEAP_MB:g} MiB the runtime maps outside the heap, less 3 %) and the lower "
        "goal wins, so raising GOGC only helps while the GOGC goal is below the limit's. "
        "sync.Pool removes the 180 MiB/s of frame allocation itself, so the heap hardly grows.",
        hints={
            0: "Compare the GOGC goals with the limit's goal (memoryLimitHeapGoal: the limit "
            "less the memory outside the heap, less 3 %); heapGoalInternal takes the lower.",
            1: "Which goal wins when GOGC=100 and when GOGC=400? heapGoalInternal "
            "(src/runtime/mgcpacer.go:1000) takes the lower of the GOGC and the limit's goal.",
            2: "How much allocation is left once sync.Pool's Get hands back the buffer Put "
            "after the last frame? Cycles start when allocation fills the runway.",
        },
        params={
            "live_mib": live_mib,
            "factor": factor,
            "limit_mib": limit_mib,
            "non_heap_mib": NON_HEAP_MB,
        },
        figure=_frame_lab(**{**common, "gogc": 400}),
        predict=True,
    )


#: What a learner who forgets one of the stall's settings has in the frame lab instead (its
#: defaults): the settings ``stall_jank`` makes sure matter.
FORGOTTEN = {"gomaxprocs": 4, "live_heap_mb": 64, "producers": 4}
#: The frame lab prints jank with one decimal: a reading is right within 0.06 points.
JANK_ABS_TOL = 0.06


def stall_jank(rng: np.random.Generator) -> Variant:
    """Reproduce the stall in the widget and read off its jank: the model is the answer key.

    A question is drawn again when forgetting one of its settings (leaving the frame lab's
    default GOMAXPROCS=4, live heap 64 MiB or 4 producers) would give the same reading, or when
    the summary's GC CPU share is as close to the jank as the check's tolerance: such a
    question could not tell a reproduced stall from a forgotten setting, or the jank from
    another figure of the same line.
    """
    for _ in range(100):
        live_mib = int(_pick(rng, (64, 128)))
        producers = int(_pick(rng, (2, 4, 6)))
        seed = int(rng.integers(100))
        settings = {**STALL, "live_heap_mb": live_mib, "producers": producers, "seed": seed}
        r = simulate_frames(**settings)
        jank = 100 * r.jank_fraction
        forgotten = [
            100 * simulate_frames(**{**settings, k: v}).jank_fraction
            for k, v in FORGOTTEN.items()
            if settings[k] != v
        ]
        misread = 100 * r.gc_cpu_fraction
        if all(abs(j - jank) > 2 * JANK_ABS_TOL for j in [*forgotten, misread]):
            break
    late = r.frame_ms > r.budget_ms
    in_gc = sum(
        any(c.start_s <= t + ms / 1000 and t <= c.end_s for c in r.gc_cycles)
        for t, ms in zip(r.frame_t_s[late], r.frame_ms[late], strict=True)
    )
    return numeric(
        f"Set the frame lab to GOMAXPROCS=1, live heap {live_mib} MiB, {producers} producers, "
        f"seed {seed} (everything else at its default: 1024x768, 60 fps, GOGC=100, a new "
        "buffer per frame). What percentage of frames miss the 16.7 ms budget?",
        jank,
        f"The summary line reads: {r.summary().split(' | ')[0]}. {in_gc} of the {int(late.sum())} "
        f"janky frames overlap a shaded GC cycle ({r.gc_cycles_per_s:.1f} per second): with one "
        "P, the mark worker "
        "takes the P while the render goroutine sleeps between frames, and gives it back only "
        "when sysmon preempts it (retake, forcePreemptNS = 10 ms, src/runtime/proc.go); then "
        "the fractional worker takes its turn first (findRunnableGCWorker), so a frame due "
        "then starts late (any others waited for busy producers). Real Go does the "
        "same (gc_render.json, GOMAXPROCS=1: every janky frame inside a GC cycle).",
        unit="%",
        rel_tol=0.0,
        abs_tol=JANK_ABS_TOL,
        hint="Read 'jank' in the summary under the widget.",
        params={
            "live_mib": live_mib,
            "producers": producers,
            "seed": seed,
            "janky_in_gc": in_gc,
            **STALL,
        },
    )


#: What happens to the stall's janky frames with a second P: the bands a learner picks from.
SECOND_P_BANDS = (
    "far fewer: a fifth of them or fewer remain, perhaps none",
    "fewer, but more than a fifth of them remain",
    "about as many, or more",
)


def second_p_band(jank_one_p: float, jank_two_p: float) -> int:
    """The band (index into SECOND_P_BANDS) of the janky share with two Ps against one: far
    fewer (at most a fifth of one P's share, none included); fewer (under 80 %); about as many or
    more. "None" is not a band of its own: the model's two-P runs often miss no frame where real
    Go still misses a few (chapter 1's recorded run at two Ps, gc_render.json: 0.2 % against
    3.3 % at one P, all inside GC cycles), and a learner who reasons from that run must not be
    marked wrong."""
    if round(5 * jank_two_p, 9) <= round(jank_one_p, 9):  # (frame counts' shares: 5 of 25 is
        return 0  # a fifth, whatever the last bit of 100 * 5 / 600 says)
    return 1 if jank_two_p < 0.8 * jank_one_p else 2


def _mean_mark_ms(run: RenderResult) -> float:
    """The mean length of a run's mark phases (gcStart's STW to mark termination's), in ms."""
    return 1000 * float(np.mean([c.mark_end_s - c.mark_start_s for c in run.gc_cycles]))


def _late_frames_text(run: RenderResult) -> str:
    """Why a run's late frames were late: those that fell due during a GC cycle and mostly
    waited for a P, and those that paid a mark assist."""
    late = np.flatnonzero(run.frame_ms > run.budget_ms)
    if late.size == 0:
        return "At two Ps no frame misses its budget."
    in_gc = [  # the frame overlaps a cycle, as stall_jank counts them
        i
        for i in late
        if any(
            c.start_s <= run.frame_t_s[i] + run.frame_ms[i] / 1000 and run.frame_t_s[i] <= c.end_s
            for c in run.gc_cycles
        )
    ]
    waited = [i for i in in_gc if run.wait_ms[i] > run.assist_ms[i]]
    assisted = [i for i in late if run.assist_ms[i] > 0 and i not in waited]
    parts = [f"Of the {late.size} frames still late at two Ps"]
    if waited:
        w = run.wait_ms[waited]
        span = f"{w[0]:.1f}" if w.size == 1 else f"{w.min():.1f}-{w.max():.1f}"
        who = "all" if len(waited) == late.size else str(len(waited))
        parts.append(
            f", {who} fell due during a mark and waited {span} ms "
            "for a P, as at one P but less often"
        )
    if assisted:
        parts.append(f"{',' if waited else ''} {len(assisted)} paid a mark assist")
    rest = late.size - len(waited) - len(assisted)
    if rest:
        parts.append(f", {rest} late outside a mark")
    return "".join(parts) + "."


def second_p(rng: np.random.Generator) -> Variant:
    """Predict what a second P does to the one-P stall, then see the frame lab's run at two Ps.

    Drawn again when the one-P run shows no janky frame (no stall to remove)."""
    for _ in range(100):
        live_mib = int(_pick(rng, (64, 128)))
        producers = int(_pick(rng, (2, 4, 6)))
        seed = int(rng.integers(100))
        settings = {**STALL, "live_heap_mb": live_mib, "producers": producers, "seed": seed}
        one = simulate_frames(**settings)
        if one.jank_fraction > 0:
            break
    two = simulate_frames(**{**settings, "gomaxprocs": 2})
    j1, j2 = 100 * one.jank_fraction, 100 * two.jank_fraction
    right = second_p_band(j1, j2)
    mechanism = (
        "With one P, the mark worker runs whenever the P is idle and keeps it until sysmon "
        "preempts it (retake, forcePreemptNS = 10 ms, src/runtime/proc.go:6679-6681); the "
        "render goroutine's timer fires only when that P passes through the scheduler, and "
        "the fractional worker takes its turn before the frame (findRunnableGCWorker, "
        "proc.go:3447-3452). Two Ps "
        "do not get a dedicated worker: 25 % of 2 Ps is half a worker, which rounds to 1, 100 % "
        "off, so gcControllerState.startCycle runs none and gives each P a fractional goal of "
        "25 % instead (src/runtime/mgcpacer.go:403-418); a P with nothing else to run takes an "
        "idle mark worker (findRunnable, proc.go:3559-3562), which checks only the run queues "
        "and the network, not timers (pollWork, proc.go:3819). So the timer still waits for a "
        "worker's slice to end, but on either P, and with two Ps marking each mark ends sooner "
        f"(mean {_mean_mark_ms(one):.0f} ms at one P, {_mean_mark_ms(two):.0f} at two): fewer "
        "frames fall due during a mark"
    )
    return choice(
        f"The stall again: GOMAXPROCS=1, live heap {live_mib} MiB, {producers} producers, seed "
        f"{seed}, a new buffer per frame: the frame lab shows {j1:.1f} % janky frames. Give the "
        "program a second P (GOMAXPROCS=2) and change nothing else. What happens to the janky "
        "frames? Predict, then check: the frame lab's run at two Ps is drawn.",
        list(SECOND_P_BANDS),
        right,
        f"The model: {j1:.1f} % janky at one P, {j2:.1f} % at two (GC "
        f"{one.gc_cycles_per_s:.1f} -> {two.gc_cycles_per_s:.1f} cycles/s: the GC does not run "
        f"less often, its work did not shrink). {mechanism}. {_late_frames_text(two)}",
        hints=_wrong_hints(
            "Who holds a P during a mark phase while the program sleeps, at one P and at two? "
            "(the idle and fractional mark workers, sysmon's 10 ms preemption; how long a mark "
            "lasts when two Ps mark)",
            len(SECOND_P_BANDS),
            right,
        ),
        params={"live_mib": live_mib, "producers": producers, "seed": seed, "jank_one_p": j1},
        figure=_frame_lab(**{**settings, "gomaxprocs": 2}),
        predict=True,
    )


def torn_by_hand(producers: int, frame_ms: float, draws_per_s: float, draw_us: float) -> float:
    """The share of frames (in %) that a racing draw overlaps: producers' draws arrive at random
    (Poisson, producers x draws_per_s a second), and a frame is torn when one starts while it is
    composed or is still running when it starts: P = 1 - exp(-rate x (frame + draw))."""
    rate = producers * draws_per_s
    return 100 * (1 - math.exp(-rate * (frame_ms / 1000 + draw_us / 1e6)))


#: The torn share is the model's count over 600 frames, with the spread of a random count
#: (about 2 points at 40 %): a prediction is right within 4 points of the run or of the estimate.
TORN_ABS_TOL = 4.0


def torn_share(rng: np.random.Generator) -> Variant:
    """Predict how many frames a lock-free (racy) draw tears, then see the frame lab's run.

    Drawn again when the plausible mistakes (the overlap added up without the exponential, or
    one producer's draws only) land within the tolerance of the run or of the estimate."""
    draws, draw_us = 100.0, 200.0  # FrameParams' defaults: chart updates, 100/s of 200 us each
    for _ in range(100):
        producers = int(_pick(rng, (3, 4, 6, 8)))
        seed = int(rng.integers(100))
        settings = {
            "producer_cpu_fraction": STALL["producer_cpu_fraction"],
            "draw_mode": "concurrent_racy",
            "producers": producers,
            "seed": seed,
        }
        run = simulate_frames(**settings)
        frame_ms = round(run.p50_frame_ms, 2)
        share = 100 * run.torn_frames / run.frame_ms.size
        estimate = torn_by_hand(producers, frame_ms, draws, draw_us)
        linear = producers * draws * (frame_ms / 1000 + draw_us / 1e6) * 100
        one = torn_by_hand(1, frame_ms, draws, draw_us)
        near = [share, estimate]
        if all(abs(m - x) > 2 * TORN_ABS_TOL for m in (linear, one) for x in near):
            break
    return numeric(
        f"The frame lab's *no lock (race)* mode: {producers} producers draw into the frame "
        f"buffer with no mutex, each {draws:g} times a second at random moments, each draw "
        f"taking {draw_us:g} us; a frame takes about {frame_ms:.2f} ms from start to hand-off "
        f"(seed {seed}, GOMAXPROCS=4). A frame is *torn* when a draw overlaps it. What share "
        "of the frames, in %, is torn? Predict, then check: the frame lab's run is drawn, the "
        "torn count in its summary line (out of 600 frames).",
        share,
        f"The model's run tears {run.torn_frames} of {run.frame_ms.size} frames, "
        f"{share:.1f} %. By hand: the draws arrive at {producers} x {draws:g} = "
        f"{producers * draws:g} a second, and any that starts during the frame, or less than "
        f"{draw_us:g} us before it, overlaps it: a window of {frame_ms:.2f} + "
        f"{draw_us / 1000:g} ms. Random arrivals (Poisson) miss that window with probability "
        f"e^-(rate x window), so 1 - e^-({producers * draws:g} x "
        f"{(frame_ms + draw_us / 1000) / 1000:.5f}) = {estimate:.1f} %. Adding up the overlap "
        f"without the exponential ({linear:.0f} %) counts a frame that two draws overlap twice. Nothing in "
        "Go stops this: without a mutex or a channel there is no happens-before edge between "
        "a producer's writes and the frame's reads (the Go memory model), so the reader may "
        "see any mix; `go test -race` (ThreadSanitizer, src/runtime/race.go) reports it. The "
        "lock's price is a wait, the race's is a wrong picture.",
        unit="%",
        rel_tol=0.0,
        abs_tol=TORN_ABS_TOL,
        hint="Draws from all producers arrive at random; a frame is torn when at least one "
        "overlaps it: 1 - e^-(rate x window), with no mutex to order the writes.",
        params={
            "producers": producers,
            "seed": seed,
            "frame_ms": frame_ms,
            "draws_per_s": draws,
            "draw_us": draw_us,
        },
        also=[
            (
                estimate - TORN_ABS_TOL,
                estimate + TORN_ABS_TOL,
                f"the estimate from random arrivals, {estimate:.1f} %; the run tears {share:.1f} %",
            )
        ],
        figure=_frame_lab(**settings),
        predict=True,
    )


#: The answers of the victim-cache question.
VICTIM_CHOICES = (
    "1 in both: a buffer put back is never dropped",
    "up to one per GC cycle in Go 1.12, 1 in Go 1.13 and later",
    "up to one per GC cycle in both",
    "one per frame in Go 1.12, 1 in Go 1.13 and later",
)


def victim_band(old: int, new: int, cycles: int, frames: int) -> int:
    """Which of VICTIM_CHOICES the allocation counts (Go <= 1.12, Go >= 1.13) fit."""
    if old >= frames / 2:
        return 3
    if new > 1 and new >= cycles / 3:
        return 2
    return 0 if old == 1 else 1


def victim_cache(rng: np.random.Generator) -> Variant:
    """How many frame buffers a sync.Pool allocates with and without the victim cache."""
    for _ in range(100):
        live_mib = int(_pick(rng, (8, 16, 32)))
        producers = int(_pick(rng, (4, 8, 16)))
        seed = int(rng.integers(100))
        settings = {
            "producer_cpu_fraction": STALL["producer_cpu_fraction"],
            "pooled": True,
            "live_heap_mb": live_mib,
            "producers": producers,
            "seed": seed,
        }
        old = simulate_frames(**settings, pool_victim_cache=False)
        new = simulate_frames(**settings, pool_victim_cache=True)
        if old.gc_starts >= 3:  # enough cycles that one per cycle is not "1"
            break
    frames = int(new.frame_ms.size)
    right = victim_band(old.pool_allocations, new.pool_allocations, new.gc_starts, frames)
    return choice(
        f"The renderer takes its 3 MiB frame buffers from a `sync.Pool` and puts each back "
        f"after display (GOMAXPROCS=4, live heap {live_mib} MiB, {producers} producers "
        f"allocating 2 MiB/s each, seed {seed}): the GC runs about "
        f"{new.gc_cycles_per_s:.1f} cycles a second ({old.gc_cycles_per_s:.1f} with Go 1.12's "
        f"pool). Over 10 s ({frames} frames), how many "
        "buffers does the pool allocate (calls New) in Go 1.12, and in Go 1.13 and later?",
        list(VICTIM_CHOICES),
        right,
        f"The model: {old.pool_allocations} buffers in Go 1.12 ({old.gc_starts} GC cycles), "
        f"{new.pool_allocations} in Go 1.13+ ({new.gc_starts} cycles). At the start of every "
        "cycle the runtime calls the pool's cleanup (gcStart calls clearpools, "
        "src/runtime/mgc.go:857). Up to Go 1.12 it emptied every pool, so a buffer sitting in "
        "the pool between two frames when a cycle started was lost and the next Get called New (a "
        "cycle that starts while the buffer is out, being composed or shown, finds nothing to "
        "drop: hence up to one per cycle). "
        "Since Go 1.13 poolCleanup (src/sync/pool.go:258) moves the pool into a victim cache "
        "and drops only the old victims; Get looks there before New (getSlow, pool.go:173-191), "
        "so a buffer is lost only if two cycles start between a Put and the next Get.",
        hints=_wrong_hints(
            "What does the GC do to a sync.Pool at the start of each cycle, and what did "
            "Go 1.13's victim cache change? (clearpools -> poolCleanup; Get looks in the victim "
            "cache before New)",
            len(VICTIM_CHOICES),
            right,
        ),
        params={
            "live_mib": live_mib,
            "producers": producers,
            "seed": seed,
            "allocations_old": old.pool_allocations,
            "allocations_new": new.pool_allocations,
        },
        shuffle=rng,
    )
