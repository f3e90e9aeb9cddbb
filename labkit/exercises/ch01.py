"""Chapter 1's predictions: commit to an answer, then the frame lab draws the model's run.

Asked before the chapter's tables and frame lab appear (issue #17: predict, then see): in
section 2 of chapters/01-render-stalls (where a late frame's time goes, ``late_frame_part``) and
in section 4, which opens the chapter's second notebook (chapters/01b-gctrace-and-buffer-reuse,
``pool_gc_rate``); this one module serves both. Each answer key is the frame model's own run of
the question's settings, the run the exercise then draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises.seeded import Variant, choice
from labkit.models.renderloop import FrameParams, simulate_frames
from labkit.widgets.framelab import PRODUCER_CPU_FRACTION

#: The bands a learner picks from, with the largest GC rate (cycles/s) each stands for.
POOL_BANDS = (
    ("about the same as before, 2-3 cycles/s", 3.5),
    ("about half, 1-1.5 cycles/s", 1.5),
    ("a tenth or less: a cycle every few seconds", 0.5),
    ("none at all: nothing allocates any more", 0.0),
)


def band_of(rate_per_s: float) -> int:
    """The band (index into POOL_BANDS) a GC rate falls in."""
    if rate_per_s <= 0:
        return 3
    return next(i for i in (2, 1) if rate_per_s <= POOL_BANDS[i][1]) if rate_per_s <= 1.5 else 0


def _cycles_in(run: object, seconds: float) -> str:
    """The cycles of a short run and when they started: at a cycle every few seconds a 10 s run
    holds one or two, so its rate alone (0.1/s) would read as a cycle every 10 s."""
    starts = ", ".join(f"{c.start_s:.1f}" for c in run.gc_cycles)
    n = len(run.gc_cycles)
    return f"{n} cycle{'s' if n != 1 else ''} in its {seconds:g} s (at {starts} s)"


def _frame_lab(params: FrameParams) -> Callable[[], object]:
    def figure():
        from labkit.widgets import FrameLab

        return FrameLab(params)

    return figure


def pool_gc_rate(rng: np.random.Generator) -> Variant:
    """How often the GC runs once frame buffers come from a sync.Pool, on section 2's one P."""
    producers = int(rng.choice([4, 6, 8]))
    params = FrameParams(
        producer_cpu_fraction=PRODUCER_CPU_FRACTION, gomaxprocs=1, producers=producers, pooled=True
    )
    before = simulate_frames(params.replace(pooled=False, producers=4))
    run = simulate_frames(params)
    rate = run.gc_cycles_per_s
    right = band_of(rate)
    alloc = producers * params.producer_alloc_mb_per_s
    return choice(
        f"Section 2's stall (one P, 64 MiB live, GOGC=100) ran {before.gc_cycles_per_s:.1f} GC "
        f"cycles a second with a fresh 3 MiB buffer per frame and four producers. Now the frame "
        f"buffers come from a `sync.Pool`, and {producers} producers each allocate "
        f"{params.producer_alloc_mb_per_s:g} MiB/s decoding sensor data. How often does the GC "
        "run now?",
        [label for label, _ in POOL_BANDS],
        right,
        f"The model's run: {_cycles_in(run, params.seconds)}, {rate:.2f} cycles/s, jank "
        f"{100 * run.jank_fraction:.1f} %. Once the render loop reuses its buffer, only the "
        f"producers allocate: {producers} x {params.producer_alloc_mb_per_s:g} = {alloc:g} MiB/s "
        f"against about 64 MiB of room between the live heap and the goal (live x GOGC/100), "
        f"one cycle every {64 / alloc:.0f} s "
        "or so, where the frames' 180 MiB/s used to fill it several times a second. Not zero: "
        "the pool removes the frames' allocation, not the program's.",
        hints={
            0: "What allocated the 180 MiB/s that started most cycles, and does it still?",
            1: "A pool does not halve the frames' allocation: Get returns a buffer already made.",
            3: "The frames stop allocating; do the producers?",
        },
        params={"producers": producers, "gc_per_s": rate},
        figure=_frame_lab(params),
        predict=True,
    )


#: The parts of a frame's time (labkit.models.renderloop's arrays), as the question names them.
FRAME_PARTS = (
    ("compose: the drawing itself takes longer during a GC cycle", "compose_ms"),
    ("alloc and assist: the frame pays for the GC's work as it allocates its buffer", "assist_ms"),
    ("STW: the cycle's stop-the-world pauses hold the frame", "stw_ms"),
    ("wait: the frame starts late, its goroutine waiting for the P", "wait_ms"),
)


def part_growth_ms(run: object) -> list[float]:
    """How much each part (FRAME_PARTS' order) grows from a frame on time to a late one: the
    median over late frames less the median over the others (medians, so that the first cycle's
    one assisted frame, before the pacer knows the program, does not decide); alloc and assist
    count together."""
    janky = run.frame_ms > run.budget_ms

    def grew(name: str) -> float:
        a = getattr(run, name)
        if name == "assist_ms":
            a = a + run.alloc_ms
        return float(np.median(a[janky]) - np.median(a[~janky]))

    return [grew(name) for _, name in FRAME_PARTS]


def grown_part(run: object) -> int:
    """Which part (index into FRAME_PARTS) grows most from a frame on time to a late one."""
    return int(np.argmax(part_growth_ms(run)))


def late_frame_part(rng: np.random.Generator) -> Variant:
    """Section 2, before its tables: with one P, what makes the late frames late?"""
    producers = int(rng.choice([4, 6]))  # 5-20 late frames of 600 (2 producers: 1-9)
    live_mb = float(rng.choice([32.0, 64.0, 96.0]))
    params = FrameParams(
        producer_cpu_fraction=PRODUCER_CPU_FRACTION,
        gomaxprocs=1,
        producers=producers,
        live_heap_mb=live_mb,
    )
    run = simulate_frames(params)
    janky = run.frame_ms > run.budget_ms
    growth = part_growth_ms(run)
    right = int(np.argmax(growth))
    grew = ", ".join(
        f"{label.split(':')[0]} {ms:+.1f} ms"
        for (label, _), ms in zip(FRAME_PARTS, growth, strict=True)
    )
    return choice(
        f"A 60 fps dashboard draws a fresh 3 MiB frame each tick beside {live_mb:g} MiB of live "
        f"heap and {producers} producer goroutines, with one P (GOMAXPROCS=1). Some frames miss "
        "their 16.7 ms, all or nearly all of them during a GC cycle. Which part of a late frame's time "
        "grows most, against a frame on time?",
        [label for label, _ in FRAME_PARTS],
        right,
        f"The model's run: {int(janky.sum())} of {janky.size} frames late, "
        f"{run.gc_cycles_per_s:.1f} GC cycles a second; from a frame on time to a late one "
        f"(medians) {grew}. "
        "During a mark phase a mark worker takes the P while the render goroutine sleeps, and an "
        "idle worker gives it back only when a goroutine is queued (pollWork, "
        "src/runtime/proc.go:3819), which a sleeper whose timer has expired is not: its timer "
        "is only checked when the P next enters the scheduler, and while a worker runs that "
        "happens only when sysmon preempts it (retake, 10 ms on one schedtick: forcePreemptNS, "
        "proc.go:6679, 6715-6716); then the fractional mark worker, behind its 25 % of the P, "
        "takes the P before the run queue (findRunnableGCWorker, proc.go:3447-3452) until it is "
        "20 % over (pollFractionalWorkerExit, mgc.go:310-322). The frame starts late, then "
        "takes its usual time.",
        hints={
            0: "The drawing is the same code on the same data: what would make it slower?",
            1: "An assist charges a goroutine for what it allocates during a mark phase: 3 MiB "
            "of frame buys little scan work once the pacer has learned the program. What holds the "
            "P for most late frames while the frame is due?",
            2: "A cycle's two stop-the-world pauses last tens of microseconds, not milliseconds.",
        },
        params={"producers": producers, "live_heap_mb": live_mb, "late": int(janky.sum())},
        figure=_frame_lab(params),
        predict=True,
        shuffle=rng,
    )
