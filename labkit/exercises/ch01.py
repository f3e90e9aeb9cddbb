"""Chapter 1's prediction: commit to an answer, then the frame lab draws the model's run.

Asked before the chapter's frame lab appears (issue #17: predict, then see), in section 4, which
opens the chapter's second notebook (chapters/01b-gctrace-and-buffer-reuse; sections 1-3 are in
chapters/01-render-stalls); this one module serves both. The answer key is the frame model's own
run of the question's settings, the run the exercise then draws.
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
        f"cycles a second with a fresh 3 MiB buffer per frame. Now the frame buffers come from a "
        f"`sync.Pool`, and {producers} producers decode sensor data as before. How often does "
        "the GC run now?",
        [label for label, _ in POOL_BANDS],
        right,
        f"The model's run: {rate:.2f} cycles/s, jank {100 * run.jank_fraction:.1f} %. Once "
        "the render loop reuses its buffer, only the producers allocate: "
        f"{producers} x {params.producer_alloc_mb_per_s:g} = {alloc:g} MiB/s against a runway of "
        f"about 64 MiB (live x GOGC/100), one cycle every {64 / alloc:.0f} s or so, where the "
        "frames' 180 MiB/s used to fill it several times a second. Not zero: the pool removes "
        "the frames' allocation, not the program's.",
        hints={
            0: "What allocated the 180 MiB/s that started most cycles, and does it still?",
            1: "A pool does not halve the frames' allocation: Get returns a buffer already made.",
            3: "The frames stop allocating; do the producers?",
        },
        params={"producers": producers, "gc_per_s": rate},
        figure=_frame_lab(params),
        predict=True,
    )
