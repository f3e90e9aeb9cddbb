"""The GC experiments' programs on the course's frame pipeline model (labkit.models.renderloop's
simulate_frames, paced by labkit.models.gcpacer): only the frames allocate (producers=0), on GOMAXPROCS 2.

Deterministic: same parameters and seed, same numbers.
"""

from __future__ import annotations

from statistics import median
from typing import Any

#: The runtime's own live heap in the gc_frames program (type data, os.Args, fmt, ...): about
#: 80 KiB (runtime/metrics /gc/heap/live:bytes with -frames=1, go1.27.3).
BASE_HEAP_MB = 80 / 1024
#: "As fast as possible" (fps=0) is taken as 1 ms a frame, the order of one real frame's drawing.
UNPACED_FPS = 1000.0
#: Bytes per pixel of the frames (image.RGBA).
RGBA = 4
#: CPUs the gc_live program's own goroutine uses: it only allocates a frame and writes one byte
#: per page of it, then sleeps (a few % of a CPU; the rate hardly moves below 0.3 CPUs).
GC_LIVE_MUTATOR_CPUS = 0.1
#: Step of the gc_live model's allocation stream, s.
GC_LIVE_STEP_S = 0.01
#: Cycles of the gc_live model before its rate is measured (the program measures after building
#: its heap and a forced runtime.GC(); the model's pacer starts without a history).
GC_LIVE_WARMUP_CYCLES = 6


def gc_frames(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Frames of width x height RGBA allocated per frame, or pooled; the live heap is the
    runtime's own ~80 KiB; mirrors go/gc_frames (one rendering: the model has no noise)."""
    from labkit.models.renderloop import simulate_frames

    fps = p["fps"] if p["fps"] > 0 else UNPACED_FPS
    seconds = p["frames"] / fps
    r = simulate_frames(
        width=p["width"],
        height=p["height"],
        fps=fps,
        seconds=seconds,
        pooled=p["pooled"],
        gogc=p["gogc"],
        live_heap_mb=BASE_HEAP_MB,
        producers=0,
        gomaxprocs=2,
        seed=seed,
    )
    last = r.gc_cycles[-1] if r.gc_cycles else None
    return {
        "gc_cycles": len(r.gc_cycles),
        "gc_per_s": len(r.gc_cycles) / seconds,
        "seconds": seconds,
        "pooled": p["pooled"],
        "gctrace_lines": r.gctrace().splitlines()[:3],
        "heap_live_mb": (last.heap_marked_bytes if last else BASE_HEAP_MB * 2**20) / 2**20,
        "frame_bytes": RGBA * p["width"] * p["height"],
        "heap_goal_mb": (last.heap_goal_bytes / 2**20) if last else None,
    }


def gc_live(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A live heap of live_mb and frame_mb x fps of allocation; mirrors go/gc_live on labkit.models.gcpacer's
    cycle model (simulate_gc: the program does little but allocate, so GC_LIVE_MUTATOR_CPUS).
    The rate is taken as the program takes it, from the cycles' own times: (k - 1) / (time from
    the first to the last) over the cycles after GC_LIVE_WARMUP_CYCLES. marked_bytes_per_cpu_s
    is the model's marking speed, its input MARK_BYTES_PER_CPU_S (no prediction)."""
    import numpy as np

    from labkit.models.gcpacer.cycle import simulate_gc

    seconds = p["seconds"] * p["repeats"] + 1.0
    steps = round(seconds / GC_LIVE_STEP_S)
    run = simulate_gc(
        np.full(steps, p["frame_mb"] * p["fps"] * 2**20),
        step_s=GC_LIVE_STEP_S,
        live_bytes=p["live_mb"] * 2**20,
        gomaxprocs=2,
        mutator_cpus=GC_LIVE_MUTATOR_CPUS,
    )
    cycles = run.cycles[GC_LIVE_WARMUP_CYCLES:]
    if len(cycles) >= 2:
        rate = (len(cycles) - 1) / (cycles[-1].start_s - cycles[0].start_s)
    else:
        rate = len(run.cycles) / seconds
    mark_cpu = sum(c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s for c in cycles)
    marked = sum(c.heap_marked_bytes for c in cycles)
    lines = run.gctrace().splitlines()[GC_LIVE_WARMUP_CYCLES:]
    last = cycles[-1] if cycles else None
    return {
        "gc_per_s": rate,
        "marked_bytes_per_cpu_s": marked / mark_cpu if mark_cpu > 0 else None,
        "mark_cpu_s": mark_cpu / max(len(cycles), 1) * rate * p["seconds"],
        "heap_live_mb": last.heap_marked_bytes / 2**20 if last else p["live_mb"],
        "gctrace_lines": lines[:6],
        "heap_goal_mb": last.heap_goal_bytes / 2**20 if last else None,
    }


def gc_parallel(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Forced cycles of a live_mb heap with nothing running beside them, at GOMAXPROCS 1 and 2;
    mirrors go/gc_parallel on labkit.models.gcpacer's GCEngine: an allocation takes the heap to
    the trigger (runtime.GC starts a cycle however far below it the heap is; the model's cycle
    starts at the trigger, which changes nothing the mark does), then the engine runs with no
    mutator (mutator_cpus=0: every P runs a worker) and no allocation until the cycle ends. Its
    marked bytes per mark CPU-second at each GOMAXPROCS, and the ratio."""
    from labkit.models.gcpacer.cycle import GCEngine

    speeds = {}
    for procs in (1, 2):
        engine = GCEngine(gomaxprocs=procs, live_bytes=p["live_mb"] * 2**20, mutator_cpus=0.0)
        engine.allocate(engine.trigger_bytes - engine.heap_live_bytes + 1)
        t_s = 0.0
        while not engine.cycles:
            t_s += GC_LIVE_STEP_S
            engine.advance(t_s)
        c = engine.cycles[-1]
        speeds[procs] = c.heap_marked_bytes / (c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s)
    return {
        "one_worker_bytes_per_cpu_s": speeds[1],
        "two_workers_bytes_per_cpu_s": speeds[2],
        "two_over_one": speeds[2] / speeds[1],
        "heap_live_mb": p["live_mb"],
    }


#: The gc_render program keeps a background image of one frame live beside its pointer nodes
#: (the frame's first pass copies it), so the model's live heap is live_mb plus one frame.
GC_RENDER_FRAME_MB = 1024 * 768 * RGBA / 2**20


def _percentile(xs, q: float) -> float:
    """The program's percentile (go/gc_render: the sorted value at round(q * (n - 1)))."""
    import numpy as np

    s = np.sort(np.asarray(xs, dtype=float))
    return float(s[int(q * (len(s) - 1) + 0.5)])


def gc_render(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """go/gc_render on the frame model: simulate_frames with the program's settings (its
    producers, GOGC, GOMEMLIMIT, GOMAXPROCS, pool) for the warm-up and the measured windows,
    then each window's figures as the program computes them: frame-time p50 / p99 and the share
    over budget of the window's frames, the cycles that ended in it per second, the assist,
    background worker and idle worker CPU of those cycles per second, and the GC's share of
    GOMAXPROCS x the window (idle marking and pauses included, as /cpu/classes/gc/total)."""
    from labkit.models.renderloop import simulate_frames

    fps, per = p["fps"], round(p["seconds"] * p["fps"])
    warm = round(p["warmup_s"] * fps)
    n = warm + per * p["repeats"]
    r = simulate_frames(
        fps=fps,
        seconds=n / fps,
        pooled=p["pooled"],
        gogc=p["gogc"],
        memory_limit_mb=p["memory_limit_mb"] or None,
        gomaxprocs=p["gomaxprocs"],
        producers=p["producers"],
        producer_cpu_fraction=p["producer_cpu"],
        live_heap_mb=p["live_mb"] + GC_RENDER_FRAME_MB,
        seed=seed,
    )
    budget = 1000 / fps
    runs: dict[str, list[float]] = {
        k: []
        for k in (
            "frame_ms_p50",
            "frame_ms_p99",
            "jank_share",
            "gc_per_s",
            "assist_ms_per_s",
            "worker_ms_per_s",
            "idle_ms_per_s",
            "gc_cpu_share",
        )
    }
    for w in range(p["repeats"]):
        lo, hi = warm + w * per, warm + (w + 1) * per
        ms = r.frame_ms[lo:hi]
        t0, t1 = lo / fps, hi / fps
        ended = [c for c in r.gc_cycles if t0 <= c.end_s < t1]
        secs = t1 - t0
        runs["frame_ms_p50"].append(_percentile(ms, 0.5))
        runs["frame_ms_p99"].append(_percentile(ms, 0.99))
        runs["jank_share"].append(float((ms > budget).mean()))
        runs["gc_per_s"].append(len(ended) / secs)
        runs["assist_ms_per_s"].append(1000 * sum(c.assist_cpu_s for c in ended) / secs)
        runs["worker_ms_per_s"].append(1000 * sum(c.background_cpu_s for c in ended) / secs)
        runs["idle_ms_per_s"].append(1000 * sum(c.idle_cpu_s for c in ended) / secs)
        # As the program's /cpu/classes/gc/total: assists, background and idle workers, and
        # the pauses x GOMAXPROCS, over GOMAXPROCS x the window.
        gc_cpu_s = sum(
            c.assist_cpu_s + c.background_cpu_s + c.idle_cpu_s + c.stw_s * c.gomaxprocs
            for c in ended
        )
        runs["gc_cpu_share"].append(gc_cpu_s / (secs * p["gomaxprocs"]))
    out: dict[str, Any] = {k: float(median(v)) for k, v in runs.items()}
    out.update({f"{k}_runs": v for k, v in runs.items()})
    lines = r.gctrace().splitlines()
    measured = [c.number for c in r.gc_cycles if c.start_s >= warm / fps]
    out["gctrace_lines"] = [lines[k - 1] for k in measured[:6]]
    last = r.gc_cycles[-1] if r.gc_cycles else None
    out["heap_live_mb"] = last.heap_marked_bytes / 2**20 if last else p["live_mb"]
    return out
