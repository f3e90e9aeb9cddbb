"""Chapter 1's frame loop beside real Go (issue #15 item 3): the twin frame_loop's recordings,
the frames on the trace's clock, the fidelity rows (late frames, GC cycles and mark workers
agree), what a mark on the one P takes from the producers, and a wrong model that makes agreeing
rows differ."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import labkit.golab.frame_twin as ft
import labkit.golab.twin_fidelity as tf
from labkit.errors import ParameterError
from labkit.golab.errors import RecordedResultError
from labkit.golab.twins import TWINS, run_twin, twin_source


@pytest.fixture(scope="module")
def stall():
    return run_twin("frame_loop", source="recorded", pooled=0)


@pytest.fixture(scope="module")
def fix():
    return run_twin("frame_loop", source="recorded", pooled=1)


@pytest.fixture(scope="module")
def rows():
    return {(r["variant"], r["quantity"]): r for r in tf.twin_rows(twins=["frame_loop"])}


def test_the_twin_source_sets_pooled():
    assert "var pooled = 1 " in twin_source("frame_loop", pooled=1)
    assert TWINS["frame_loop"].gomaxprocs == 1


def test_the_recorded_stall_misses_frames_inside_gc_cycles_and_the_fix_has_no_cycles(stall, fix):
    s, f = ft.real_frames(stall), ft.real_frames(fix)
    assert s.frame_ms.size == f.frame_ms.size == 120
    assert s.gc_cycles >= 3 and (s.late & s.in_gc).sum() >= 3
    assert f.gc_cycles == 0 and f.mark_worker_ms == 0.0 and not (f.late & f.in_gc).any()


def test_the_program_frames_sit_on_the_traces_clock(stall):
    """Each frame whose render goroutine slept starts running (start + wait) where the trace has
    main.render go from runnable to running: the two clocks agree to a few microseconds (a
    frame that began at once, the last one being late, has no such change)."""
    frames, tr = ft.real_frames(stall), stall.trace.transitions
    g = stall.trace.goroutines
    render = int(g["g"][g["name"] == "main.render"][0])
    ran = tr["t_ms"][(tr["g"] == render) & (tr["to"] == "running")]
    woke = frames.start_ms + frames.wait_ms
    gap = np.array([np.min(np.abs(ran - t)) for t in woke])
    assert np.median(gap) < 0.05 and np.mean(gap < 0.05) > 0.8


def test_the_longest_late_frame_in_a_cycle_waited_for_the_mark_worker(stall):
    frames = ft.real_frames(stall)
    pick = np.flatnonzero(frames.late & frames.in_gc)
    i = pick[np.argmax(frames.wait_ms[pick])]
    a = frames.start_ms[i]
    held = ft.who_held_the_p(stall.trace, a, a + frames.wait_ms[i])
    assert next(iter(held)) == ft.MARK_WORKER
    assert held[ft.MARK_WORKER] > 0.6 * frames.wait_ms[i]


def test_the_producers_lose_bursts_while_the_mark_holds_the_one_p(stall):
    """The producers sleep on timers that only the one P can run, so inside a GC cycle they ran
    0.11-0.19 of the P against 0.36 outside (chapter 1; labkit.models.renderloop._OnePMarks)."""
    frames, trace = ft.real_frames(stall), stall.trace
    w0, w1 = frames.window_ms
    marks = [(a, b) for a, b in trace.gc.tolist() if b > w0 and a < w1]
    ran_in = [ft.who_held_the_p(trace, a, b).get("main.producer", 0.0) for a, b in marks]
    shares = [ran / (b - a) for (a, b), ran in zip(marks, ran_in, strict=True)]
    ran_all = ft.who_held_the_p(trace, w0, w1).get("main.producer", 0.0)
    outside = (ran_all - sum(ran_in)) / (w1 - w0 - sum(b - a for a, b in marks))
    assert len(marks) == 5
    assert min(shares) > 0.10 and max(shares) < 0.20
    assert 0.33 < outside < 0.40


def test_every_mark_worker_stretch_lies_in_a_gc_range(stall):
    """A GC cycle that spans a trace generation's boundary keeps its begin (a GCActive event
    continues it), so the workers' stretches in the measured window are all inside Trace.gc
    (before it, gcBgMarkStartWorkers runs each new worker once before the first mark)."""
    trace = stall.trace
    g = trace.goroutines
    seg = trace.segments
    lo, hi = ft.real_frames(stall).window_ms
    workers = seg[
        np.isin(seg["g"], g["g"][g["name"] == ft.MARK_WORKER])
        & (seg["start_ms"] >= lo)
        & (seg["end_ms"] <= hi)
    ]
    gc = trace.gc
    inside = [
        np.any((gc["start_ms"] <= s["start_ms"] + 1e-6) & (s["end_ms"] <= gc["end_ms"] + 0.1))
        for s in workers
    ]
    assert len(workers) > 10 and all(inside)


def test_a_trace_without_the_render_goroutine_is_refused(stall):
    other = run_twin("timer_stall", source="recorded", hogs=1)
    wrong = dataclasses.replace(stall, trace=other.trace)
    with pytest.raises(RecordedResultError, match="main.render"):
        ft.real_frames(wrong)


def test_every_row_agrees(rows):
    """The stall's late frames too: in the trace a mark worker holds the one P until sysmon
    preempts it, then the fractional worker runs again before the frame (findRunnableGCWorker,
    proc.go:3447-3452; pollFractionalWorkerExit, mgc.go:310-322), and the model does the same
    (labkit.models.gcpacer.wakeup.one_p_mark)."""
    assert all(r["agree"] for r in rows.values()), rows
    assert not any(t == "frame_loop" for (t, _, _) in tf.KNOWN_DIFFERENCES)
    late = rows[("stall", "late frames inside a GC cycle")]
    assert late["real"] >= 4 and late["model"] >= 4


def test_a_model_that_runs_the_frame_at_the_first_preemption_differs(monkeypatch, rows):
    """Without the fractional worker, which takes the P before the frame whenever it is behind
    (the model before it had one), the one P's schedule runs the frame at the worker's
    preemption and fewer than four frames are late."""
    import labkit.models.renderloop as renderloop

    real_mark = renderloop.one_p_mark
    monkeypatch.setattr(
        renderloop,
        "one_p_mark",
        lambda cpu_ms, **kw: real_mark(cpu_ms, **{**kw, "fractional_goal": 0.0}),
    )
    wrong = {(r["variant"], r["quantity"]): r for r in tf.twin_rows(twins=["frame_loop"])}
    assert not wrong[("stall", "late frames inside a GC cycle")]["agree"]
    assert wrong[("stall", "late frames inside a GC cycle")]["model"] < 4


def test_a_model_whose_pool_keeps_nothing_differs(monkeypatch, rows):
    """A sync.Pool that never returns a buffer: the fix would run GC cycles, real Go runs none."""
    real = ft.frame_twin_model
    monkeypatch.setattr(ft, "frame_twin_model", lambda pooled: real(0))
    wrong = {(r["variant"], r["quantity"]): r for r in tf.twin_rows(twins=["frame_loop"])}
    assert rows[("fix", "GC cycles started")]["agree"]
    assert not wrong[("fix", "GC cycles started")]["agree"]
    assert not wrong[("fix", "mark workers on the P (ms)")]["agree"]


def test_a_model_with_a_lazier_pacer_differs(monkeypatch):
    """GOGC=300 in the model only: a quarter as many cycles and less marking than real Go."""
    real = ft.frame_twin_model
    monkeypatch.setattr(ft, "frame_twin_model", lambda pooled: real(pooled, gogc=300))
    wrong = {(r["variant"], r["quantity"]): r for r in tf.twin_rows(twins=["frame_loop"])}
    assert not wrong[("stall", "GC cycles started")]["agree"]
    assert not wrong[("stall", "mark workers on the P (ms)")]["agree"]


def test_the_picture_shows_both_runs_and_who_held_the_p(stall):
    from labkit.widgets import FrameTracePair

    model = ft.model_frames(ft.frame_twin_model(0))
    real = ft.real_frames(stall)
    pair = FrameTracePair(model, real, stall.trace, kinds=stall.kinds)
    assert pair.summary().startswith("model: ") and "real Go: " in pair.summary()
    assert ft.MARK_WORKER in pair.summary()
    lo, hi = pair.timeline._window.value
    assert real.window_ms[0] <= lo and hi <= real.window_ms[1] + 100
    with pytest.raises(ParameterError, match="model must be"):
        FrameTracePair(object(), real, stall.trace)
    with pytest.raises(ParameterError, match="trace must be"):
        FrameTracePair(model, real, model)


def test_a_gc_still_active_at_a_new_generation_keeps_its_begin():
    """Go writes the trace in generations (about one a second); a GC mark phase still running at
    a generation's start is written again as GCActive there. go tool trace keeps the range's
    begin; so does labkit.traces (a GC that began at 2954 ms and ended at 3061 ms in a frame_loop
    run was cut to 3041-3061 ms before)."""
    from labkit.traces import build, spec

    columns = build.Columns()
    began = build._range(columns, (spec.EV_GC_BEGIN, 2954), None, {}, {})
    still = build._range(columns, (spec.EV_GC_ACTIVE, 3041), began, {}, {})
    build._range(columns, (spec.EV_GC_END, 3061), still, {}, {})
    assert columns.gc == [(2954, 3061)]
    fresh = build._range(columns, (spec.EV_GC_ACTIVE, 10), None, {}, {})  # at the trace's start
    assert fresh == 10
