"""Chapter 4's prediction, answered by real Go: the pipeline (4.1). The pool's (4.4) is in
``ch04b``, with the notebook that asks it.

Asked before the section's real-Go comparison (issue #17: predict, then see). The key is what
the twin (labkit.golab.twins: the same program in Go, traced; its recording ships with the
course) measured, never a number written here; after Check the exercise draws the real run
beside the model's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises.seeded import Variant, numeric
from labkit.golab.twins import pipeline_twin_model, run_twin

#: What the pipeline questions draw after Check.
REAL_GO_PAIR = "the model's timeline, with Go's own trace of the real run under it,"


def _real(name: str, **settings: int):
    return run_twin(name, source="recorded", **settings)


def _mean(run) -> float:
    return float(np.mean(run.output["latency_ms"]))


def _pipeline_pair(buffer: int, draw: int) -> Callable[[], object]:
    def figure():
        from labkit.widgets import TimelinePair

        twin = _real("pipeline", buffer=buffer, draw=draw)
        return TimelinePair(
            pipeline_twin_model(buffer, draw).sched,
            twin.trace,
            titles=("The model (labkit.models.pipeline)", "Real Go (execution trace)"),
            kinds=twin.kinds,
        )

    return figure


def pipeline_prediction(rng: np.random.Generator) -> Variant:
    """Real Go's pipeline with one setting changed: predict the mean latency with buffer 64,
    or the throughput with one draw worker."""
    base = _real("pipeline", buffer=4, draw=2)
    thr, lat = base.output["throughput_per_s"], _mean(base)
    setup = (
        "Real Go, GOMAXPROCS=2: decode (1 worker, 1 ms of CPU) -> draw (2 workers, 4 ms) -> "
        "upload (1 worker, 0.5 ms + 1 ms device wait), channels of capacity 4, a producer "
        f"offering 200 items as fast as it may. Measured: {thr:.0f} items/s, mean latency "
        f"{lat:.0f} ms."
    )
    if rng.random() < 0.5:
        run = _real("pipeline", buffer=64, draw=2)
        real = _mean(run)
        return numeric(
            f"{setup} Now every channel holds 64. Predict the mean latency (ms).",
            real,
            f"Real Go: {real:.0f} ms at {run.output['throughput_per_s']:.0f} items/s; the "
            f"model: {pipeline_twin_model(64, 2).mean_latency_ms:.0f} ms. Throughput does not "
            f"rise (it falls from {thr:.0f}/s: deep buffers hold items, they do not move them "
            "faster), so by Little's law latency = items in the pipeline / throughput. The "
            "channels in front of the bottleneck fill up (64 buffered + a sender parked on "
            "the sendq: chansend, src/runtime/chan.go); those after it stay nearly empty. Two "
            f"full channels of 65 at ~{run.output['throughput_per_s']:.0f}/s is about "
            f"{130 / run.output['throughput_per_s'] * 1000:.0f} ms.",
            unit="ms",
            rel_tol=0.25,
            hint="Little's law: items waiting / items per second. How many items wait, and in "
            "which channels? A channel after the bottleneck is drained as fast as it fills.",
            params={"variant": "buffer 64", "base_ms": lat, "throughput_per_s": thr},
            figure=_pipeline_pair(64, 2),
            predict=True,
            shows=REAL_GO_PAIR,
        )
    run = _real("pipeline", buffer=4, draw=1)
    real = float(run.output["throughput_per_s"])
    return numeric(
        f"{setup} Now draw has one worker instead of two. Predict the throughput (items/s).",
        real,
        f"Real Go: {real:.0f} items/s; the model: {pipeline_twin_model(4, 1).throughput_per_s:.0f}. "
        "One draw worker finishes one item per 4 ms of CPU, 250 a second at most, whatever "
        "the Ps: draw becomes the bottleneck (the Ps' bound, 2 / 5.5 ms = 364/s, is above it). "
        "Real Go loses a few % more to channel operations and the tracer.",
        unit="items/s",
        rel_tol=0.1,
        hint="A stage finishes at most workers / time per item. Is that below or above what "
        "two Ps can carry (2 / total CPU per item)?",
        params={"variant": "one drawer", "throughput_per_s": thr},
        figure=_pipeline_pair(4, 1),
        predict=True,
        shows=REAL_GO_PAIR,
    )
