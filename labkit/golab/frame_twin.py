"""Chapter 1's frame loop, model and real Go, frame by frame on one clock.

The twin ``frame_loop`` (``labkit/golab/go/frame_loop``) is chapter 1's stall in Go: 60 fps of
1024x768 frames on GOMAXPROCS=1 beside 64 MiB of live pointer nodes and four producers at a
tenth of a CPU, a fresh buffer per frame (``pooled=0``) or a ``sync.Pool``'s (``pooled=1``).
:func:`frame_twin_model` runs ``labkit.models.renderloop.simulate_frames`` on the same settings, and
:func:`model_frames` / :func:`real_frames` give both runs' measured frames in one shape: start
and length (ms), and whether the frame overlapped a GC cycle.

The program times its frames from t0, the moment it creates the render goroutine; the trace
records that creation (GoCreate of ``main.render``, ``Trace.goroutines["created_ms"]``), so
``real_frames`` moves the program's frames onto the trace's clock, where its GC ranges
(``Trace.gc``: GCBegin to GCEnd, src/runtime/mgc.go gcStart .. gcMarkTermination) and who held
the P (``Trace.segments``) are. The mark workers are the goroutines running
``runtime.gcBgMarkWorker`` (src/runtime/mgc.go).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.golab.errors import RecordedResultError

__all__ = [
    "FRAME_TWIN",
    "MARK_WORKER",
    "Frames",
    "frame_twin_model",
    "model_frames",
    "real_frames",
    "who_held_the_p",
]

#: The settings frame_loop/main.go and the model share (the program's constants): chapter 1's
#: ``dashboard`` on one P, 0.5 s of warm-up and 2 s measured.
FRAME_TWIN: dict[str, Any] = {
    "fps": 60,
    "warmup_s": 0.5,
    "seconds": 2,
    "gomaxprocs": 1,
    "producers": 4,
    "producer_cpu_fraction": 0.1,
    "live_mb": 64,
}

#: The entry function of a GC mark worker goroutine (gcBgMarkWorker, src/runtime/mgc.go).
MARK_WORKER = "runtime.gcBgMarkWorker"


@dataclass(frozen=True)
class Frames:
    """The measured frames of one run: ``start_ms`` and ``frame_ms`` (each frame's start, its
    due time or the previous frame's end if later, and its length), ``wait_ms``; ``gc_ms``: the
    run's GC cycles as ``(start, end)`` rows; ``window_ms``: the measured window; ``budget_ms``;
    ``mark_worker_ms``: how long mark workers held a P inside the window. All in ms on the
    run's own clock (the model's virtual time, or the trace's); ``origin_ms`` is where that
    clock has the render loop's start (0 for the model, the render goroutine's creation for a
    trace)."""

    start_ms: np.ndarray
    frame_ms: np.ndarray
    wait_ms: np.ndarray
    gc_ms: np.ndarray
    window_ms: tuple[float, float]
    budget_ms: float
    mark_worker_ms: float
    origin_ms: float = 0.0

    @property
    def late(self) -> np.ndarray:
        """Frames longer than the budget."""
        return self.frame_ms > self.budget_ms

    @property
    def in_gc(self) -> np.ndarray:
        """Frames that overlap a GC cycle (start to end of the frame inside or across one)."""
        s, e = self.start_ms, self.start_ms + self.frame_ms
        if not len(self.gc_ms):
            return np.zeros(s.size, dtype=bool)
        a, b = self.gc_ms[:, 0], self.gc_ms[:, 1]
        return np.any((s[:, None] <= b[None, :]) & (a[None, :] <= e[:, None]), axis=1)

    @property
    def gc_cycles(self) -> int:
        """GC cycles that started inside the window."""
        lo, hi = self.window_ms
        return (
            int(np.sum((self.gc_ms[:, 0] >= lo) & (self.gc_ms[:, 0] < hi)))
            if len(self.gc_ms)
            else 0
        )


def frame_twin_model(pooled: int, **overrides: Any) -> Any:
    """``simulate_frames`` on the twin's settings for its warm-up and measured window, seed 0
    (``overrides``: other FrameParams fields). The live heap is the pointer nodes plus the
    program's background image, one frame (as predict_gc.gc_render)."""
    from labkit.golab.predict_gc import GC_RENDER_FRAME_MB
    from labkit.models.renderloop import simulate_frames

    t = FRAME_TWIN
    settings: dict[str, Any] = {
        "fps": float(t["fps"]),
        "seconds": float(t["warmup_s"] + t["seconds"]),
        "pooled": bool(pooled),
        "gomaxprocs": t["gomaxprocs"],
        "producers": t["producers"],
        "producer_cpu_fraction": t["producer_cpu_fraction"],
        "live_heap_mb": t["live_mb"] + GC_RENDER_FRAME_MB,
        "seed": 0,
    }
    settings.update(overrides)
    return simulate_frames(**settings)


def model_frames(result: Any) -> Frames:
    """The model run's measured frames (after the warm-up), its GC cycles and the CPU its mark
    workers (background + idle) spent in cycles that started in the window."""
    fps = result.params.fps
    warm = round(FRAME_TWIN["warmup_s"] * fps)
    start_ms = result.frame_t_s[warm:] * 1000.0
    window = (warm / fps * 1000.0, result.frame_t_s.size / fps * 1000.0)
    gc = np.array([(c.start_s * 1000.0, c.end_s * 1000.0) for c in result.gc_cycles]).reshape(-1, 2)
    workers_s = sum(
        c.background_cpu_s + c.idle_cpu_s
        for c in result.gc_cycles
        if window[0] <= c.start_s * 1000.0 < window[1]
    )
    return Frames(
        start_ms,
        result.frame_ms[warm:],
        result.wait_ms[warm:],
        gc,
        window,
        result.budget_ms,
        1000.0 * workers_s,
    )


def real_frames(run: Any) -> Frames:
    """A frame_loop run's measured frames on its trace's clock: the program's frame times moved
    by the creation time of its render goroutine; the trace's GC ranges; and how long
    gcBgMarkWorker goroutines ran on the P inside the window."""
    out, trace = run.output, run.trace
    g = trace.goroutines
    render = g[g["name"] == "main.render"]
    if len(render) != 1 or not np.isfinite(render["created_ms"][0]):
        raise RecordedResultError(
            f"{run.name}: the trace has no single main.render goroutine with its creation "
            f"({len(render)} found); record the twin again (scripts/record_twins.py)"
        )
    t0 = float(render["created_ms"][0])
    wait = np.asarray(out["wait_ms"], dtype=float)
    frame_ms = np.asarray(out["frame_ms"], dtype=float)
    window = (t0 + out["window_ms"][0], t0 + out["window_ms"][1])
    gc = np.column_stack([trace.gc["start_ms"], trace.gc["end_ms"]]).astype(float).reshape(-1, 2)
    seg = trace.segments
    workers = np.isin(seg["g"], g["g"][g["name"] == MARK_WORKER])
    a = np.clip(seg["start_ms"][workers], *window)
    b = np.clip(seg["end_ms"][workers], *window)
    return Frames(
        t0 + np.asarray(out["frame_start_ms"], dtype=float),
        frame_ms,
        wait,
        gc,
        window,
        float(out["budget_ms"]),
        float(np.sum(b - a)),
        t0,
    )


def who_held_the_p(trace: Any, start_ms: float, end_ms: float) -> dict[str, float]:
    """How long each goroutine, by entry function, ran on a P between ``start_ms`` and
    ``end_ms`` (trace ms), longest first: who held the P while a frame waited."""
    seg = trace.segments
    inside = (seg["end_ms"] > start_ms) & (seg["start_ms"] < end_ms)
    names = dict(
        zip(trace.goroutines["g"].tolist(), trace.goroutines["name"].tolist(), strict=True)
    )
    held: dict[str, float] = {}
    for g, a, b in zip(
        seg["g"][inside].tolist(),
        seg["start_ms"][inside].tolist(),
        seg["end_ms"][inside].tolist(),
        strict=True,
    ):
        name = names.get(g, f"G{g}")
        held[name] = held.get(name, 0.0) + min(b, end_ms) - max(a, start_ms)
    return dict(sorted(held.items(), key=lambda kv: -kv[1]))
