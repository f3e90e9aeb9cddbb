"""The FlameGraph widget without a browser: it draws what the model lays out and reacts to its
controls (the browser test, tests/browser/test_ch03.py, checks the same in JupyterLab)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.profiles.flamelayout import MATCH_COLOUR, FlameGraphError
from labkit.widgets import FlameGraph

PROFILES = Path(__file__).resolve().parents[1] / "labkit" / "data" / "profiles"

TINY = {
    ("main.main", "main.work"): 12,
    ("main.main", "main.work", "runtime.mallocgc"): 5,
    ("main.main", "net/http.(*conn).serve"): 3,
    ("runtime.gcBgMarkWorker",): 4,
}


def test_the_marks_hold_one_closed_rectangle_per_box():
    fg = FlameGraph(TINY)
    x, y = fg.box_xy
    assert x.shape == (fg.rect_count, 5) == y.shape
    assert len(fg.fill_colours) == fg.rect_count
    assert "main.work" in fg.label_texts


def test_a_click_on_a_box_zooms_and_moves_the_rectangles():
    """A click on box i arrives as bqplot's element_click with data.index = i; the model zooms."""
    fg = FlameGraph(TINY)
    before = fg.box_xy[0].copy()
    work = fg.model.names().index("main.work")
    fg.click(work)
    assert fg.model.focus == ("main.main", "main.work")
    assert fg.rect_count == 4
    assert not np.array_equal(before.shape, fg.box_xy[0].shape) or not np.allclose(
        before, fg.box_xy[0]
    )
    assert "zoom all > main.main > main.work" in fg.summary()
    fg.reset()
    assert fg.model.focus == () and fg.rect_count == 6


def test_search_highlights_matches_and_returns_the_share():
    fg = FlameGraph(TINY)
    assert fg.search(r"runtime\.") == pytest.approx(9 / 24)
    names = fg.model.names()
    assert fg.fill_colours[names.index("runtime.mallocgc")] == MATCH_COLOUR
    assert fg._search_box.value == r"runtime\."
    fg.reset()
    assert fg._search_box.value == "" and MATCH_COLOUR not in fg.fill_colours


def test_hide_and_sandwich_and_icicle():
    fg = FlameGraph(TINY)
    fg.hide(r"^runtime\.")
    assert "runtime.mallocgc" not in fg.model.names()
    fg.sandwich("main.work")
    assert set(fg.model.layout.row.tolist()) == {0, 1}
    fg.set_view("icicle")
    assert fg.view == "icicle" and fg.box_xy[1].max() <= 1.0  # rows drawn downwards
    fg.sandwich("")
    assert fg.model.sandwich_function == ""


def test_a_bad_regex_typed_in_the_search_box_shows_in_the_error_output():
    """Callback errors are shown under the widget, not lost (STYLE.md)."""
    fg = FlameGraph(TINY)
    fg._search_box.value = "(unclosed"
    text = "".join(o.get("text", "") + str(o.get("evalue", "")) for o in fg.errors.outputs)
    assert "not a valid regular expression" in text
    with pytest.raises(FlameGraphError):
        fg.search("(unclosed")


def test_diff_mode_on_real_go_profiles_summarises_growth_and_shrinkage():
    """Before: a fresh frame buffer per frame; after: sync.Pool (labkit/golab/go/detective)."""
    from labkit.profiles import load_profile

    before = load_profile(PROFILES / "lab03-alloc.pb.gz")
    after = load_profile(PROFILES / "lab03-pooled.pb.gz")
    fg = FlameGraph(after, base=before)
    s = fg.summary()
    assert "diff vs" in s and "lab03-alloc.pb.gz" in s and "shrank most" in s
    assert "grew" in fg._legend.value


def test_view_must_be_flame_or_icicle():
    with pytest.raises(ValueError, match="view must be"):
        FlameGraph(TINY, view="sideways")


def test_a_click_on_a_label_zooms_to_the_box_it_names():
    """Labels are a separate mark with only the boxes wide enough for three characters, so
    label i is not box i; a click on a label must still zoom to the box it is written on. At
    1,200 px a sample here is 4 px: main.f* get no label, main.mid (28 px) just gets one."""
    s = {("main.main", f"main.f{i}"): 1 for i in range(40)}
    s[("main.main", "main.mid")] = 7
    s[("main.main", "main.wide", "main.inner")] = 253
    fg = FlameGraph(s)
    texts = fg.label_texts
    assert "ma…" in texts  # main.mid, cut to the 3 characters that fit
    assert 1 < len(texts) < fg.rect_count  # some boxes are too narrow for a label
    i = texts.index("main.inner")
    fg._on_label_click(fg._text, {"event": "element_click", "data": {"index": i}})
    assert fg.model.focus == ("main.main", "main.wide", "main.inner")
    for text, box in zip(fg.label_texts, fg._label_box, strict=True):
        name = fg.model.names()[box]
        assert text == name or (text.endswith("…") and name.startswith(text[:-1]))


def test_the_figure_is_built_once_and_only_the_marks_data_change():
    fg = FlameGraph(TINY)
    figure, marks = fg._figure, list(fg._figure.marks)
    fg.click(fg.model.names().index("main.work"))
    fg.search("runtime")
    fg.hide("gcBgMark")
    fg.sandwich("main.work")
    fg.set_view("icicle")
    fg.reset()
    assert fg._figure is figure and list(fg._figure.marks) == marks


def test_icicle_puts_the_root_on_top_and_flame_at_the_bottom():
    fg = FlameGraph(TINY)
    y = fg.box_xy[1]
    assert y[0].max() == y.min() + 1  # the root ("all") is the bottom row
    fg.set_view("icicle")
    y = fg.box_xy[1]
    assert y[0].min() == y.max() - 1  # ... and the top row of an icicle
    assert np.array_equal(fg.box_xy[0], FlameGraph(TINY).box_xy[0])  # same x either way


def _deep() -> dict[tuple[str, ...], int]:
    """A profile 30 frames deep beside a shallow branch: more rows than the smallest figure."""
    chain = tuple(f"main.f{i}" for i in range(30))
    return {chain: 10, ("main.main", "main.shallow"): 10}


def _row_px(fg: FlameGraph) -> float:
    height = int(fg._figure.layout.height.removesuffix("px"))
    return (height - 12) / (fg._ys.max - fg._ys.min)


def test_zoom_and_hide_never_resize_the_figure():
    """bqplot redraws every mark 300 ms after its figure's size changes (a ResizeObserver and
    debouncedRelayout): a zoom or a hide shows fewer rows in the same figure, rows as high."""
    fg = FlameGraph(_deep())
    height = fg._figure.layout.height
    assert height == "570px" and _row_px(fg) == pytest.approx(18)  # 31 rows of 18 px, + 12
    fg.click(fg.model.names().index("main.shallow"))
    assert fg.rect_count == 3 and fg._figure.layout.height == height
    assert _row_px(fg) == pytest.approx(18)
    fg.reset()
    fg.hide(r"main\.f1\d")
    assert fg._figure.layout.height == height and _row_px(fg) == pytest.approx(18)
    fg.set_view("icicle")
    assert fg._figure.layout.height == height and fg._ys.max == 1  # the root row on top


def test_a_figure_grows_when_a_view_needs_more_rows():
    fg = FlameGraph(TINY)
    assert fg._figure.layout.height == "220px"
    assert fg._height_px(40) == 40 * 18 + 12 > 220
    assert fg._height_px(400) == 760  # then rows are squeezed, as many as there are
