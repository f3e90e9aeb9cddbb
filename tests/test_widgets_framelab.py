"""The frame lab is a thin view over labkit.models.renderloop.simulate_frames: what it draws is the run's data.

Every figure is checked against the RenderResult it came from (frames, GC cycles, histogram, heap,
the pacer's goal and trigger); controls re-run the model the way a learner's click does; invalid
settings give one clear line in the widget, never a traceback, and leave the last run on screen.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.errors import ParameterError
from labkit.models.gcpacer import heap_goal_bytes
from labkit.models.renderloop import NON_HEAP_MB, simulate_frames
from labkit.widgets.framelab import (
    MAX_FRAME_POINTS,
    MIN_SPAN_FRACTION,
    FrameLab,
    gc_spans,
    heap_goal_steps,
    histogram_bins,
    thin_frames,
    thin_heap,
)

MIB = 1 << 20


@pytest.fixture(scope="module")
def lab() -> FrameLab:
    return FrameLab(gomaxprocs=2, seconds=4)


def _error_text(lab: FrameLab) -> str:
    return "".join(o.get("text", "") for o in lab._errors.outputs)


def test_the_marks_hold_the_results_arrays(lab):
    """The timeline draws each frame's start and duration exactly (no resampling for 240
    frames), the budget at 1000/fps ms, and one shaded box per GC cycle from gcStart's
    sweep-termination STW to the end of mark termination (mgc.go)."""
    r, m = lab.result, lab.marks
    np.testing.assert_array_equal(m["frames"]["x"], r.frame_t_s)
    np.testing.assert_array_equal(m["frames"]["y"], r.frame_ms)
    np.testing.assert_allclose(m["budget"]["y"], [1000 / 60] * 2)
    assert m["gc_spans"]["x"].shape == (len(r.gc_cycles), 5)
    np.testing.assert_allclose(m["gc_spans"]["x"][:, 0], [c.start_s for c in r.gc_cycles])
    ends = np.array([c.end_s for c in r.gc_cycles])
    np.testing.assert_allclose(m["gc_spans"]["x"][:, 1], ends)  # wider than the minimum here
    np.testing.assert_array_equal(m["heap"]["x"], r.t_s)
    np.testing.assert_array_equal(m["heap"]["y"], r.heap_mb)


def test_the_histogram_counts_every_frame_once(lab):
    """The bars are numpy's histogram of the run's frame times over 1-2-5 wide bins that reach
    past both the slowest frame and the budget."""
    r, m = lab.result, lab.marks
    edges = histogram_bins(r.frame_ms, r.budget_ms)
    counts, _ = np.histogram(r.frame_ms, bins=edges)
    np.testing.assert_array_equal(m["histogram"]["y"], counts)
    np.testing.assert_allclose(m["histogram"]["x"], (edges[:-1] + edges[1:]) / 2)
    assert counts.sum() == r.frame_ms.size
    assert edges[-1] >= max(r.frame_ms.max(), r.budget_ms)


def test_the_goal_line_is_what_gctrace_prints_as_goal(lab):
    """Each cycle's goal and trigger (gcControllerState.heapGoal / trigger in mgcpacer.go) hold
    up to that cycle's end; after the last cycle the goal is live + live x GOGC/100 again."""
    r = lab.result
    t, goal, tt, trig = heap_goal_steps(r)
    for c in r.gc_cycles:
        i = int(np.searchsorted(t, c.end_s)) - 1  # the step that ends at this cycle's end
        assert goal[i] == pytest.approx(c.heap_goal_bytes / MIB)
        j = int(np.searchsorted(tt, c.end_s)) - 1
        assert trig[j] == pytest.approx(c.trigger_bytes / MIB)
    assert tt[-1] == r.gc_cycles[-1].end_s and t[-1] == r.seconds
    last = r.gc_cycles[-1]
    expected = heap_goal_bytes(int(last.heap_marked_bytes), gogc=100) / MIB
    assert goal[-1] == pytest.approx(expected)
    np.testing.assert_array_equal(lab.marks["goal"]["y"], goal)


def test_set_reruns_once_and_redraws(lab):
    """set() applies several settings, re-runs the model once and moves the controls with it."""
    lab.set(gogc=200, producers=2)
    try:
        r = lab.result
        assert r.params.gogc == 200 and r.params.producers == 2
        assert lab.controls["gogc"].value == 200 and lab.controls["producers"].value == 2
        np.testing.assert_array_equal(lab.marks["frames"]["y"], r.frame_ms)
        assert "gogc=200" in lab.summary()
    finally:
        lab.set(gogc=100, producers=4)


def test_the_pooling_toggle_changes_the_gc_rate_in_the_summary():
    """sync.Pool (src/sync/pool.go): after the first Get every frame reuses the buffer, so only
    the producers' 8 MiB/s drive the GC: far fewer cycles than 180 MiB/s of fresh frames."""
    lab = FrameLab(seconds=4)
    before = lab.summary()
    lab.controls["pooled"].value = True  # what clicking "sync.Pool" does
    after = lab.summary()
    assert before.startswith("GC 2.75/s") and "pooled=False" in before
    assert "pooled=True" in after and lab.result.gc_cycles_per_s < 0.5
    assert lab.result.pool_allocations == 1


def test_gogc_off_and_gomemlimit_controls():
    """GOGC=off disables the GOGC slider and the goal; GOMEMLIMIT then sets the goal alone
    (memoryLimitHeapGoal: the limit less the memory that holds no heap object, less 3 %
    headroom), which brings cycles back."""
    lab = FrameLab(seconds=2)
    c = lab.controls
    c["gc_off"].value = True
    assert lab.params.gogc == "off" and c["gogc"].disabled
    assert lab.result.gc_starts == 0 and lab.marks["goal"]["y"].size == 1  # nothing drawn
    c["limit_mb"].value = 112
    assert lab.params.memory_limit_mb is None  # the checkbox is still off
    c["limit_on"].value = True
    assert lab.params.memory_limit_mb == 112.0 and lab.result.gc_starts > 0
    non_heap = int(NON_HEAP_MB * MIB)
    goal = heap_goal_bytes(
        64 * MIB, gogc="off", memory_limit=112 * MIB, other_non_heap_bytes=non_heap
    )
    assert lab.marks["goal"]["y"][-1] == pytest.approx(goal / MIB)
    assert goal < heap_goal_bytes(64 * MIB, gogc="off", memory_limit=112 * MIB) - 8 * MIB


def test_a_bad_value_from_code_raises_at_the_call_and_changes_nothing():
    """FrameLab(fps=0) and lab.set(live_heap_mb=-3) raise the model's own RenderConfigError (a
    ParameterError naming the parameter and its range) where the learner wrote them; the run on
    screen and its controls stay as they were."""
    with pytest.raises(ParameterError, match="fps must be > 0 and <= 1000; got 0"):
        FrameLab(fps=0, seconds=1)
    with pytest.raises(ParameterError, match="params must be a FrameParams, got dict"):
        FrameLab({"fps": 30})
    lab = FrameLab(seconds=1)
    shown = lab.result
    with pytest.raises(ParameterError, match="live_heap_mb must be >= 0"):
        lab.set(live_heap_mb=-3)
    with pytest.raises(ParameterError, match=r"unknown FrameParams parameter.*\bfps\b"):
        lab.set(frame_rate=30)
    with pytest.raises(ParameterError, match="seed goes from 0 to 2147483647 in this lab"):
        lab.set(seed=2**40)  # the model takes it; the seed box cannot show it
    assert lab.result is shown and lab.params.live_heap_mb == 64 and lab.controls["seed"].value == 0
    lab.set(gomaxprocs=2)
    assert lab.error == "" and lab.result.params.gomaxprocs == 2


def test_a_combination_the_controls_make_and_the_model_refuses_is_one_line_on_screen():
    """No line of the learner's code made a control's value, so there is nothing to raise to:
    the error is one line in the widget's Output, and the last run stays. (Every control's range
    is FrameParams' own today, so this is the path a future rule tying two fields would take.)"""
    lab = FrameLab(seconds=1)
    shown = lab.result
    assert lab._apply({"live_heap_mb": -3}, move_controls=False) is False
    text = _error_text(lab)
    assert "live_heap_mb" in text and "Traceback" not in text and text.startswith("Not run")
    assert lab.result is shown and lab.error == text.strip()
    lab.controls["gomaxprocs"].value = 2
    assert lab.error == "" and _error_text(lab) == "" and lab.result.params.gomaxprocs == 2


def test_settings_outside_a_sliders_range_widen_it():
    """The model accepts GOGC=2000 or 100 ms of live heap... a slider must not silently clamp."""
    lab = FrameLab(gogc=2000, gomaxprocs=32, seconds=1)
    assert lab.controls["gogc"].value == 2000 and lab.controls["gomaxprocs"].value == 32
    assert lab.result.params.gogc == 2000


def test_same_settings_same_pictures():
    """Deterministic: one seeded Generator per run, so two labs draw identical data."""
    a, b = FrameLab(seed=7, seconds=2), FrameLab(seed=7, seconds=2)
    for name, data in a.marks.items():
        np.testing.assert_array_equal(data["y"], b.marks[name]["y"], err_msg=name)
    b.set(seed=8)
    assert not np.array_equal(a.marks["frames"]["y"], b.marks["frames"]["y"])


def test_a_long_run_is_thinned_but_keeps_its_worst_frame():
    """60 s at 120 fps is 7200 frames: drawn as the slowest frame of each bucket, so a stall
    cannot vanish from the picture; the heap keeps its highest and lowest points."""
    lab = FrameLab(fps=120, seconds=60, gomaxprocs=2, live_heap_mb=16)
    r, m = lab.result, lab.marks
    assert r.frame_ms.size == 7200 and m["frames"]["y"].size == MAX_FRAME_POINTS
    assert m["frames"]["y"].max() == r.frame_ms.max()
    assert m["heap"]["y"].max() == r.heap_mb.max() and m["heap"]["y"].min() == r.heap_mb.min()


def test_a_short_gc_cycle_is_drawn_at_least_a_few_pixels_wide():
    """On a near-empty heap a cycle marks in microseconds; its shaded span is widened to
    MIN_SPAN_FRACTION of the axis (from its real start) so the learner still sees it."""
    lab = FrameLab(live_heap_mb=0.08, producers=0, producer_alloc_mb_per_s=0, seconds=1)
    r, x = lab.result, lab.marks["gc_spans"]["x"]
    starts = np.array([c.start_s for c in r.gc_cycles])
    np.testing.assert_allclose(x[:, 0], starts)
    np.testing.assert_allclose(x[:, 1] - x[:, 0], MIN_SPAN_FRACTION * r.seconds)


def test_gc_spans_include_a_cycle_unfinished_at_the_end():
    """A run that ends while a cycle is marking still shades that cycle."""
    r = simulate_frames(seconds=0.35, gomaxprocs=2)  # the first cycle starts near 0.32 s
    starts, ends = gc_spans(r)
    sweeps = [e for e in r.gc_events if e.kind == "stw_sweep_termination"]
    assert starts.size == len(sweeps) and np.all(ends >= starts)


@settings(max_examples=60, deadline=None)
@given(
    y=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=400),
    k=st.integers(1, 50),
)
def test_thinning_frames_keeps_the_maximum_and_order(y, k):
    """Whatever the series, thinned frames are at most k, in time order, and keep the worst."""
    t = np.arange(len(y), dtype=float)
    tx, ty = thin_frames(t, np.array(y), max_points=k)
    assert tx.size == min(k, len(y)) and np.all(np.diff(tx) > 0)
    assert ty.max() == max(y)


@settings(max_examples=60, deadline=None)
@given(
    y=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=400),
    k=st.integers(3, 60),
)
def test_thinning_the_heap_keeps_ends_peaks_and_troughs(y, k):
    """The thinned heap starts and ends where the run does and keeps its extremes."""
    t = np.arange(len(y), dtype=float)
    tx, ty = thin_heap(t, np.array(y), max_points=k)
    assert tx[0] == 0 and tx[-1] == len(y) - 1 and np.all(np.diff(tx) > 0)
    assert ty.max() == max(y) and ty.min() == min(y)
    assert tx.size <= max(k, len(y) if len(y) <= k else k + 1)


@settings(max_examples=25, deadline=None)
@given(
    gogc=st.sampled_from([25, 50, 100, 200, "off"]),
    limit=st.sampled_from([None, 96.0, 256.0]),
    live=st.sampled_from([0.0, 8.0, 64.0]),
    pooled=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_goal_steps_are_a_step_function_above_the_live_heap(gogc, limit, live, pooled, seed):
    """Across settings: the goal line is ordered in time, has a value per step edge, is never
    below the live heap the cycle marked (heapGoalInternal never aims below live) and the
    trigger lies at or below the goal (gcControllerState.trigger)."""
    r = simulate_frames(
        seconds=1, gogc=gogc, memory_limit_mb=limit, live_heap_mb=live, pooled=pooled, seed=seed
    )
    t, goal, tt, trig = heap_goal_steps(r)
    if gogc == "off" and limit is None:
        assert t.size == 0 and tt.size == 0
        return
    assert t.size == goal.size and tt.size == trig.size == 2 * len(r.gc_cycles)
    assert np.all(np.diff(t) >= 0) and np.all(np.diff(tt) >= 0)
    assert np.all(goal >= live - 1e-9)
    assert np.all(trig <= goal[: trig.size] + 1e-9)


def test_slider_ranges_come_from_the_parameters_record():
    """Each slider offers FrameParams' declared range, so it cannot offer what the model refuses."""
    from labkit.models.renderloop import FrameParams

    c = FrameLab(seconds=1).controls
    for control, name in [
        ("fps", "fps"),
        ("producers", "producers"),
        ("gogc", "gogc"),
        ("limit_mb", "memory_limit_mb"),
        ("live_heap_mb", "live_heap_mb"),
        ("gomaxprocs", "gomaxprocs"),
    ]:
        assert (c[control].min, c[control].max, c[control].step) == FrameParams.slider(name)
    assert [v for _, v in c["draw_mode"].options] == list(FrameParams.options("draw_mode"))
