"""The timeline's redraw cost (#14 item 5): one message per mark, and stretches under a pixel
merged when asked, without losing any stretch's time or colour."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.scenarios.casestudy import run_incident
from labkit.widgets import GoroutineStatePlot, SchedulerTimeline
from labkit.widgets import timeline as timeline_module
from labkit.widgets.timeline import (
    HOVER_BOXES,
    PLOT_PX,
    _goroutine_names,
    boxes,
    by_colour,
    merge_mixed,
    merge_narrow,
)


@pytest.fixture(scope="module")
def run():
    return run_incident().result


def _sends(widget, monkeypatch) -> list:
    calls: list = []
    original = widget.send_state
    monkeypatch.setattr(
        widget, "send_state", lambda key=None: calls.append(set(key or ())) or original(key)
    )
    return calls


def test_a_redraw_sends_each_mark_once(run, monkeypatch):
    """bqplot redraws a mark for every message: a new run is one message to the boxes and one to
    each scale, not one per trait (x, y, colours, labels: four redraws of every box)."""
    timeline = SchedulerTimeline()
    timeline.show(run)
    boxes, xs = timeline.figure.marks[0], timeline.figure.marks[0].scales["x"]
    box_sends, scale_sends = _sends(boxes, monkeypatch), _sends(xs, monkeypatch)
    timeline.show(run_incident(cache_json=True).result)
    assert len(box_sends) == 1 and {"x", "y", "labels"} <= set(box_sends[0])
    assert len(scale_sends) == 1
    states = GoroutineStatePlot()
    states.show(run)
    areas = states.figure.marks[0]
    sends = _sends(areas, monkeypatch)
    states.show(run_incident(cache_json=True).result)
    assert len(sends) == 1 and {"x", "y"} <= set(sends[0])


def test_narrow_boxes_of_one_colour_on_one_row_merge_and_wide_ones_stay():
    rows = np.array([0, 0, 0, 0, 1, 0])
    start = np.array([0.0, 0.3, 0.6, 5.0, 0.1, 0.9])
    end = np.array([0.2, 0.5, 0.8, 9.0, 0.2, 1.0])
    keys = ["a", "a", "a", "a", "a", "b"]
    first, ends, counts = merge_narrow(rows, start, end, keys, px_ms=1.0)
    got = sorted(
        zip(
            rows[first].tolist(), start[first].tolist(), ends.tolist(), counts.tolist(), strict=True
        )
    )
    # row 0: 0-0.8 (three), then b's own box (another colour), the wide 5-9; row 1 alone
    assert got == [(0, 0.0, 0.8, 3), (0, 0.9, 1.0, 1), (0, 5.0, 9.0, 1), (1, 0.1, 0.2, 1)]


def test_a_gap_wider_than_a_pixel_keeps_narrow_boxes_apart():
    first, ends, counts = merge_narrow(
        np.zeros(2, int), np.array([0.0, 2.5]), np.array([0.5, 3.0]), ["a", "a"], px_ms=1.0
    )
    assert counts.tolist() == [1, 1] and ends.tolist() == [0.5, 3.0]


def test_merged_boxes_cover_every_stretch_on_its_row_in_its_colour(run):
    """Every stretch the run has lies inside one drawn box of its row and its colour, and the
    tooltips count the stretches (the checks fail on a merge that drops or recolours one)."""
    plain = SchedulerTimeline()
    plain.show(run)
    merged = SchedulerTimeline(merge_px=1.0)
    merged.show(run)
    seg = run.segments
    assert plain.box_count == len(seg) > 3 * merged.box_count / 2
    assert merged.box_count < 0.5 * len(seg)
    mark = merged.drawn_boxes()
    x, y = mark.x, mark.y
    box_row = np.rint((y[:, 0] + y[:, 2]) / 2).astype(int)
    colour = {g: plain.drawn_boxes().fills[i] for i, g in enumerate(seg["g"].tolist())}
    rows = zip(seg["g"].tolist(), seg["p"].tolist(), seg["start_ms"], seg["end_ms"], strict=True)
    for g, p, s, e in rows:
        inside = (box_row == p) & (x[:, 0] <= s + 1e-9) & (x[:, 1] >= e - 1e-9)
        assert inside.sum() == 1
        assert mark.fills[int(np.flatnonzero(inside)[0])] == colour[g]
    counted = [int(t.split()[0]) if "short stretches" in t else 1 for t in mark.labels]
    assert sum(counted) == len(seg)


def test_narrow_boxes_of_any_colour_merge_into_the_colour_covering_most():
    """Per M a thread alternates a goroutine's colour and grey many times a pixel: they merge,
    drawn as the key that covers most of the box's time, not as its first stretch."""
    rows = np.array([0, 0, 0, 0, 0, 1])
    start = np.array([0.0, 0.1, 0.2, 0.5, 5.0, 0.0])
    end = np.array([0.1, 0.2, 0.5, 0.6, 9.0, 0.1])
    keys = ["grey", "req", "grey", "req", "req", "req"]
    first, ends, counts, shown = merge_mixed(rows, start, end, keys, px_ms=1.0)
    got = sorted(zip(rows[first].tolist(), start[first].tolist(), ends.tolist(), counts.tolist(),
                     [keys[i] for i in shown], strict=True))  # fmt: skip
    # grey covers 0.4 ms of the first box, req 0.2: grey, though it starts with grey anyway;
    assert got == [(0, 0.0, 0.6, 4, "grey"), (0, 5.0, 9.0, 1, "req"), (1, 0.0, 0.1, 1, "req")]
    # ... and a box that starts with the colour covering less is drawn in the other one
    keys = ["req", "grey", "grey", "req", "req", "req"]
    first, _, _, shown = merge_mixed(rows, start, end, keys, px_ms=1.0)
    assert keys[first[0]] == "req" and keys[shown[0]] == "grey" and shown[0] == 1


def test_per_m_every_stretch_lies_in_one_box_of_its_thread(run):
    """The per-M view merges across colours: every thread stretch is inside exactly one box on
    its thread's row, a box's colour is the one that covers most of its time, and the tooltips
    count every stretch (fails on a merge that drops one or colours a box by its first)."""
    timeline = SchedulerTimeline(merge_px=1.0)
    timeline.show(run)
    timeline._rows.value = "m"
    seg = run.thread_segments
    names = _goroutine_names(run, np.asarray(seg["g"]))
    colours = timeline._fills(names, np.asarray(seg["kind"]), per_m=True)
    _, rows = np.unique(np.asarray(seg["m"], dtype=np.int64), return_inverse=True)
    mark = timeline.drawn_boxes()
    assert timeline.box_count < 0.3 * len(seg)
    x, y = mark.x, mark.y
    box_row = np.rint((y[:, 0] + y[:, 2]) / 2).astype(int)
    covered: dict[int, dict[str, float]] = {}
    for r, s, e, colour in zip(rows, seg["start_ms"], seg["end_ms"], colours, strict=True):
        inside = (box_row == r) & (x[:, 0] <= s + 1e-9) & (x[:, 1] >= e - 1e-9)
        assert inside.sum() == 1
        mine = covered.setdefault(int(np.flatnonzero(inside)[0]), {})
        mine[colour] = mine.get(colour, 0.0) + e - s
    for box, colour in enumerate(mark.fills):
        assert covered[box][colour] == max(covered[box].values())
    counted = [int(t.split()[0]) if "short stretches" in t else 1 for t in mark.labels]
    assert sum(counted) == len(seg)
    assert any("mostly run (" in t for t in mark.labels)


def test_the_time_slider_merges_again_for_its_window(run):
    timeline = SchedulerTimeline(merge_px=1.0)
    timeline.show(run)
    whole = timeline.box_count
    lo, hi = timeline._window.value
    timeline._window.value = (lo, lo + (hi - lo) / 20)
    assert timeline.box_count > whole
    assert PLOT_PX >= 800  # merging errs towards too little on a narrower plot


@pytest.mark.parametrize("bad", [0, -1.0, "1", True])
def test_a_bad_merge_px_is_named(bad):
    with pytest.raises(ParameterError, match="merge_px"):
        SchedulerTimeline(merge_px=bad)


def test_boxes_by_colour_are_one_curve_per_colour_with_each_box_a_closed_subpath():
    """by_colour: each box's five corners appear once, in its colour's curve, followed by a NaN
    (where d3's line.defined starts a new subpath; without it the rectangles of a colour would be
    joined by lines across the chart), and the curves' tooltips count every box."""
    x, y, _ = boxes(np.array([0, 1, 0]), np.array([0.0, 1.0, 5.0]), np.array([1.0, 2.0, 6.0]))
    cx, cy, colours, labels = by_colour(x, y, ["red", "blue", "red"], ["req", "hog", "req"])
    assert colours == ["red", "blue"] and cx.shape == cy.shape == (2, 12)
    np.testing.assert_array_equal(cx[0, :5], x[0])
    np.testing.assert_array_equal(cy[0, :5], y[0])
    np.testing.assert_array_equal(cx[0, 6:11], x[2])
    np.testing.assert_array_equal(cy[0, 6:11], y[2])
    assert np.isnan(cy[0, 5]) and np.isnan(cy[0, 11]) and np.isnan(cy[1, 5:]).all()
    assert labels[0].startswith("2 boxes of req;") and labels[1].startswith("1 boxes of hog;")


def test_many_boxes_in_the_window_are_drawn_by_colour_and_a_narrow_window_brings_tooltips(run):
    """Over HOVER_BOXES boxes in the time window, the mark holds one curve per colour (the
    browser's redraw then costs a few paths, not hundreds); narrowing the time slider to fewer
    brings back a curve per box, each with its own tooltip."""
    timeline = SchedulerTimeline()
    timeline.show(run)
    mark = timeline.figure.marks[0]
    assert timeline.box_count > HOVER_BOXES and not timeline.hover_boxes
    fills = timeline.drawn_boxes().fills
    assert list(mark.fill_colors) == list(dict.fromkeys(fills))
    assert len(mark.labels) == len(mark.fill_colors) < 10
    assert sum(int(t.split()[0]) for t in mark.labels) == timeline.box_count
    assert "drawn by colour" in timeline._legend.value
    lo, hi = timeline._window.value
    timeline._window.value = (lo, lo + (hi - lo) / 40)
    assert timeline.hover_boxes and "drawn by colour" not in timeline._legend.value
    drawn = np.asarray(mark.x)
    assert drawn.shape[1] == 5 and 0 < len(drawn) < timeline.box_count
    assert all(" on P" in t for t in mark.labels)


def test_a_window_of_few_boxes_counts_only_the_boxes_in_it(run, monkeypatch):
    """The rule reads the boxes in the window, not the run's: with the limit raised above the
    run's count, every box is drawn with its tooltip (fails if the rule ignored the limit)."""
    monkeypatch.setattr(timeline_module, "HOVER_BOXES", 10**6)
    timeline = SchedulerTimeline()
    timeline.show(run)
    assert (
        timeline.hover_boxes and len(np.asarray(timeline.figure.marks[0].x)) == timeline.box_count
    )
