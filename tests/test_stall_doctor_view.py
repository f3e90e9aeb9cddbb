"""StallDoctor: the diagnosis drawn. The stall windows are shaded, the stalled and the blamed
goroutines coloured apart from the rest, the findings a menu that zooms to their evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.stalls import diagnose
from labkit.widgets import StallDoctor
from labkit.widgets.picture import picture
from labkit.widgets.stall_doctor import SHADE_OPACITY, union_of_windows
from labkit.widgets.timeline import KIND_COLOURS

STALLS = Path(__file__).resolve().parent.parent / "labkit" / "data" / "stalls"


@pytest.fixture(scope="module")
def view():
    return StallDoctor(diagnose(STALLS / "hogs+lock-p2.trace"))


def test_every_stall_window_is_shaded_across_the_ps_once(view):
    shade = view._shade
    d = view.diagnosis
    x = np.asarray(shade.x)
    assert x.shape[1] == 5 and 1 <= len(x) <= len(d.stalls)
    a, b = x[:, 0], x[:, 1]
    assert np.all(a[1:] > b[:-1])  # no two shades overlap: overlapping stalls are merged
    for s in d.stalls:  # every stall lies inside one shade
        assert np.any((a <= s.start_ms) & (s.end_ms <= b))
    # one opacity per shade: bqplot draws a shade without its own opacity opaque, hiding the runs
    assert list(shade.fill_opacities) == [SHADE_OPACITY] * len(x)
    ys = view.timeline.figure.marks[0].scales["y"]
    assert np.asarray(shade.y).min() == ys.min and np.asarray(shade.y).max() == ys.max


def test_overlapping_windows_are_merged_and_apart_ones_kept():
    a, b = union_of_windows([5.0, 0.0, 2.0, 20.0], [6.0, 3.0, 4.0, 21.0])
    assert a.tolist() == [0.0, 5.0, 20.0] and b.tolist() == [4.0, 6.0, 21.0]
    a, b = union_of_windows([0.0, 1.0], [10.0, 2.0])  # one inside another
    assert a.tolist() == [0.0] and b.tolist() == [10.0]


def test_the_stalled_and_the_blamed_are_coloured_apart(view):
    fills = set(view.timeline._boxes.fill_colors)
    assert {KIND_COLOURS["stalled"], KIND_COLOURS["blamed"]} <= fills


def test_choosing_a_finding_zooms_to_its_evidence(view):
    for i, f in enumerate(view.diagnosis.findings):
        view._menu.value = i
        lo, hi = view.timeline._window.value
        a, b = f.focus_ms
        assert lo <= a and b <= hi and hi - lo < 4 * (b - a) + 3
        assert f.cause in view._detail.value and f.evidence[0][:40] in view._detail.value


def test_the_still_shows_the_shade_and_the_summary(view):
    svg = picture(view, summary=view.summary())
    assert "fill-opacity='0.25'" in svg
    assert "stall(s)" in svg and "explained by" in svg


def test_a_healthy_trace_says_so():
    v = StallDoctor(diagnose(STALLS / "healthy-p2.trace"))
    assert v._menu.disabled and "No stall found" in v._detail.value


def test_the_model_is_drawn_as_a_trace_is():
    from labkit.scenarios.blindspots import PRESETS, run_lab

    v = StallDoctor(diagnose(run_lab(PRESETS["2.5"].stall)))
    assert v.diagnosis.findings[0].cause == "late_timer"
    assert KIND_COLOURS["blamed"] in set(v.timeline._boxes.fill_colors)


def test_something_else_is_refused():
    with pytest.raises(ParameterError, match="diagnose"):
        StallDoctor("trace.out")
