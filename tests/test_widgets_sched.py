"""The scheduler widgets are thin views: they draw a Result and re-run on control changes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labkit.models.scheduler import Go, cpu, simulate, sleep, spawn
from labkit.widgets._style import topped
from labkit.widgets.scheduler_lab import SchedulerLab
from labkit.widgets.timeline import (
    GoroutineStatePlot,
    RunQueuePlot,
    SchedulerTimeline,
    boxes,
    step_resample,
)


def _result(requests: int = 6):
    main = Go("main", [spawn(Go(f"req{i}", [cpu(2.0)])) for i in range(requests)])
    return simulate(main, gomaxprocs=2, seed=0)


def test_timeline_draws_one_box_per_segment_and_rows_per_p():
    res = _result()
    tl = SchedulerTimeline()
    tl.show(res)
    assert tl.box_count == len(res.segments)
    x = tl.drawn_boxes().x
    np.testing.assert_allclose(np.sort(x[:, 0]), np.sort(res.segments["start_ms"]))
    assert "req3 on P" in " ".join(tl.drawn_boxes().labels)
    tl._rows.value = "m"
    assert tl.box_count == len(res.thread_segments)


def test_many_boxes_are_capped_keeping_the_widest():
    rows = np.zeros(10_000, dtype=int)
    start = np.arange(10_000, dtype=float)
    end = start + np.where(np.arange(10_000) % 2 == 0, 0.9, 0.1)
    x, _, keep = boxes(rows, start, end, max_boxes=5000)
    assert len(keep) == 5000 and np.all(end[keep] - start[keep] == pytest.approx(0.9))
    assert x.shape == (5000, 5)


@given(
    widths=st.lists(st.sampled_from([0.1, 0.2, 0.5, 1.0, 2.0]), min_size=1, max_size=400),
    cap=st.integers(1, 200),
)
def test_capped_boxes_are_the_widest_with_ties_to_the_earlier(widths, cap):
    """The linear-time cap keeps exactly what a stable sort by width would: the widest, and of
    equal widths the earlier boxes (so a redraw never shuffles which boxes are shown)."""
    start = np.arange(len(widths), dtype=float)
    end = start + np.asarray(widths)
    _, _, keep = boxes(np.zeros(start.size, dtype=int), start, end, max_boxes=cap)
    expected = np.sort(np.argsort(-(end - start), kind="stable")[:cap])
    np.testing.assert_array_equal(keep, expected)


def test_step_resample_reads_the_value_in_force():
    t = np.array([0.0, 1.0, 3.0])
    v = np.array([5, 7, 2])
    grid = np.array([0.0, 0.5, 1.0, 2.9, 3.0, 10.0])
    np.testing.assert_array_equal(step_resample(t, v, grid), [5, 5, 7, 7, 2, 2])


def test_queue_and_state_plots_take_any_result():
    res = _result()
    rq, st = RunQueuePlot(), GoroutineStatePlot()
    rq.show(res)
    st.show(res)
    assert np.asarray(rq._lines.y).shape[0] == 1 + 2  # global + one per P
    stacked = np.asarray(st._areas.y)[:, :-2]  # the drawn points (the last two: topped's)
    assert stacked.shape[0] == 4 and np.all(np.diff(stacked[::-1], axis=0) >= 0)


def test_lab_reruns_on_a_control_and_a_preset_sets_every_control():
    lab = SchedulerLab()
    first = lab.summary()
    lab.set(gomaxprocs=1)
    assert lab.params.gomaxprocs == 1 and "GOMAXPROCS=1" in lab.summary() != first
    lab.choose("2.3", "stall")
    assert lab.params.async_preempt is False and lab._controls["async_preempt"].value is False
    stall_p99 = lab.result.metrics["p99_ms"]
    lab.choose("2.3", "fix")
    assert lab.result.metrics["p99_ms"] < stall_p99
    lab.set(hogs=2)
    assert lab._preset.value == "", "moving a control leaves the preset"


def test_the_cpu_cores_menu_shares_that_many_cpus_between_the_threads_and_back():
    """Preset 2.4's fix on the machine its twin ran on: four Ps' threads on two CPUs take twice
    as long; "one per thread" (the menu's 0) is the model's default, cores=None."""
    lab = SchedulerLab()
    lab.choose("2.4", "fix")
    a_cpu_each = lab.result.makespan_ms
    assert lab._controls["cores"].value == 0 and lab.params.cores is None
    lab._controls["cores"].value = 2  # what choosing "2" in the menu does
    assert lab.params.cores == 2 and lab.result.makespan_ms == pytest.approx(2 * a_cpu_each, 1e-3)
    assert "on 2 CPU(s)" in lab.summary()
    lab.set(cores=None)
    assert lab._controls["cores"].value == 0 and lab.result.makespan_ms == a_cpu_each
    for bad in (3, 0):
        with pytest.raises(ValueError, match="cores must be None"):
            lab.set(cores=bad)


def test_lab_refuses_unknown_controls_and_presets():
    lab = SchedulerLab()
    with pytest.raises(ValueError, match="unknown control"):
        lab.set(gomaxprocz=2)
    with pytest.raises(ValueError, match="unknown preset"):
        lab.choose("9.9")


def test_the_window_opens_on_what_ran_not_on_a_sleeping_main():
    """main spawns 4 ms of work and then sleeps 1 s: the timeline opens on the first few ms
    (where every box is), and its time slider still reaches the end of the run."""
    main = Go("main", [spawn(Go("req", [cpu(4.0)])), sleep(1_000.0)])
    res = simulate(main, gomaxprocs=2, seed=0)
    tl = SchedulerTimeline()
    tl.show(res)
    lo, hi = tl._window.value
    assert lo == 0.0 and 4.0 <= hi < 5.0
    assert tl._window.max == pytest.approx(res.end_ms) and res.end_ms > 1_000
    assert (tl._xs.min, tl._xs.max) == (lo, hi)
    assert tl._window.readout_format == ".3f"  # a 4 ms window needs its decimals


def test_colour_by_goroutine_names_the_colours_of_a_small_program():
    tl = SchedulerTimeline(colour_by="g")
    tl.show(_result())
    assert all(f">req{i}</span>" in tl._legend.value for i in range(6))


def test_the_threads_line_keeps_clear_of_the_top_edge():
    """The right axis reaches a tick 15 % or more above the line: the scale's domain is the
    data's (no max), and topped's point that draws nothing sits at that tick."""
    st = GoroutineStatePlot()
    st.show(_result())
    drawn, top = np.asarray(st._threads.y)[:-2], float(np.nanmax(st._threads.y))
    assert st._ts.max is None and top == st._taxis.tick_values[-1]
    assert top >= 1.15 * float(np.max(drawn))


def test_a_series_plot_redraws_without_a_message_to_its_scales(monkeypatch):
    """A new run is one message to each mark and none to the scales: bqplot redraws every mark
    on a scale when the scale's own message arrives, so a new max redrew the areas a second and
    third time (topped keeps the domain in the marks' data)."""
    from test_timeline_merge import _sends

    for plot in (GoroutineStatePlot(), RunQueuePlot()):
        plot.show(_result())
        marks = plot.figure.marks
        scales = {id(s): s for m in marks for s in m.scales.values()}.values()
        mark_sends = [_sends(m, monkeypatch) for m in marks]
        scale_sends = [_sends(s, monkeypatch) for s in scales]
        plot.show(_result(requests=11))  # a longer run, more goroutines: new ticks
        assert all(len(sent) == 1 for sent in mark_sends)
        assert not any(scale_sends)


def test_topped_adds_a_point_that_draws_nothing_at_the_top():
    x, y = topped(np.array([0.0, 1.0]), np.array([[2.0, 3.0], [1.0, 1.0]]), 5.0)
    np.testing.assert_array_equal(x, [0.0, 1.0, np.nan, 1.0])
    np.testing.assert_array_equal(y, [[2.0, 3.0, np.nan, 5.0], [1.0, 1.0, np.nan, np.nan]])
    x1, y1 = topped(np.array([0.0, 1.0]), np.array([2.0, 3.0]), 4.0)
    np.testing.assert_array_equal(y1, [2.0, 3.0, np.nan, 4.0])
    assert topped(np.array([]), np.array([]), 1.0)[0].size == 0


def test_a_redraw_enters_its_error_output_only_when_it_fails(monkeypatch):
    """errors_shown_in: a redraw that succeeds sends nothing to the Output (``with output:``
    sent its msg_id twice and cleared it: three messages ahead of the figures'); one that raises
    is shown there (re-raised outside IPython, as ``with output:`` does), and the next one that
    succeeds clears it."""
    import ipywidgets as w

    from labkit.widgets._style import errors_shown_in

    out = w.Output()
    sends: list = []
    monkeypatch.setattr(out, "send_state", lambda key=None: sends.append(key))
    cleared: list = []
    monkeypatch.setattr(out, "clear_output", lambda *a, **k: cleared.append(1))
    with errors_shown_in(out):
        pass
    assert sends == [] and cleared == []
    try:  # in IPython, Output shows the traceback and swallows it; elsewhere it re-raises
        with errors_shown_in(out):
            raise ValueError("boom")
    except ValueError as exc:
        assert str(exc) == "boom"
    assert cleared == [1]  # the failure replaced whatever was shown before
    with errors_shown_in(out):
        pass
    assert cleared == [1, 1]  # ... and the next success took it away
    with errors_shown_in(out):
        pass
    assert cleared == [1, 1]
