"""The static picture every figure widget carries (issue #18): read from the widget's own
figures, so a reader without a kernel sees what the live widget showed, where bqplot puts it.

The geometry checks feed the writer figures whose answer is known by hand (a line from corner to
corner, d3's ticks, a log axis); the widget checks draw every widget the course displays and find
in the picture what the widget shows (titles, axis labels, legends, summary, settings); the
failure checks give it what it cannot draw and expect it to say so.
"""

from __future__ import annotations

import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import bqplot as bq
import ipywidgets as w
import numpy as np
import pytest

from labkit.models.scheduler import simulate
from labkit.models.scheduler.programs import Go, cpu, spawn
from labkit.stalls import diagnose
from labkit.traces import load_trace
from labkit.widgets import (
    FlameGraph,
    FpsStatesPlot,
    FrameLab,
    GoroutineStatePlot,
    HockeyStickPlot,
    IncidentLab,
    LatencyPercentiles,
    PacerWarmup,
    Panel,
    PoolTuner,
    RunQueuePlot,
    SchedulerLab,
    SchedulerTimeline,
    StallDoctor,
    TimelinePair,
)
from labkit.widgets._style import TextFallback, legend_html, topped
from labkit.widgets.picture import html_lines, picture, setting
from labkit.widgets.service_views import PROGRESS_TEXT
from labkit.widgets.svgfigure import (
    PictureError,
    figure_svg,
    linear_ticks,
    log_ticks,
    pixel_scale,
    tick_formatter,
)

TRACES = Path(__file__).resolve().parent / "data" / "traces"
SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ET.Element:
    """The picture as XML: it must be a well-formed SVG document to be drawn at all."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(svg: str) -> str:
    """Every text the picture shows, one line per <text> element."""
    return "\n".join("".join(t.itertext()) for t in parsed(svg).iter(f"{SVG}text"))


def line_figure(**line) -> bq.Figure:
    xs, ys = bq.LinearScale(min=0.0, max=10.0), bq.LinearScale(min=0.0, max=1.0)
    mark = bq.Lines(x=[0.0, 10.0], y=[0.0, 1.0], scales={"x": xs, "y": ys}, **line)
    return bq.Figure(
        marks=[mark],
        axes=[bq.Axis(scale=xs, label="time (ms)"), bq.Axis(scale=ys, side="left")],
        fig_margin={"top": 10, "bottom": 10, "left": 10, "right": 10},
        padding_y=0.0,
        title="corner to corner",
    )


# ---------------------------------------------------------------- the writer's geometry


def test_a_line_from_corner_to_corner_spans_the_plot_area():
    """Plot area = 220 x 120 less 10 px margins; y grows downwards in SVG."""
    svg = figure_svg(line_figure(colors=["#0072B2"]), 220, 120, "c")
    assert "stroke='#0072B2'" in svg
    assert "d='M0,100L200,0'" in svg


def test_padding_y_keeps_the_data_off_the_plot_edges_as_bqplot_does():
    ys = bq.LinearScale()
    line = bq.Lines(x=[0, 1], y=[2.0, 4.0], scales={"x": bq.LinearScale(), "y": ys})
    scale = pixel_scale(ys, [line], "y", 200.0, 0.025)
    assert scale(2.0) == pytest.approx(195.0) and scale(4.0) == pytest.approx(5.0)
    assert scale(scale.lo) == pytest.approx(200.0) and scale(scale.hi) == pytest.approx(0.0)


def test_a_reversed_scale_is_drawn_reversed_as_bqplot_does():
    """A timeline's P axis (reverse=True) has P0 on top; a reversed x runs right to left."""
    ys, xs = bq.LinearScale(min=-0.5, max=1.5, reverse=True), bq.LinearScale(reverse=True)
    line = bq.Lines(x=[0.0, 10.0], y=[0.0, 1.0], scales={"x": xs, "y": ys})
    y = pixel_scale(ys, [line], "y", 200.0, 0.0)
    assert y(-0.5) == pytest.approx(0.0) and y(1.5) == pytest.approx(200.0)
    x = pixel_scale(xs, [line], "x", 100.0, 0.0)
    assert x(0.0) == pytest.approx(100.0) and x(10.0) == pytest.approx(0.0)


def test_a_reversed_log_axis_keeps_its_ticks_right_to_left():
    xs, ys = bq.LogScale(min=0.1, max=100.0, reverse=True), bq.LinearScale()
    mark = bq.Lines(x=[100.0, 0.1], y=[0.0, 1.0], scales={"x": xs, "y": ys})
    fig = bq.Figure(marks=[mark], axes=[bq.Axis(scale=xs, tick_format="~g")], padding_x=0.0)
    svg = figure_svg(fig, 400, 200, "r")
    shown = re.findall(r"<text x='([\d.]+)'[^>]*>([\d.]+)</text>", svg)
    at = {label: float(x) for x, label in shown}
    assert {"0.1", "1", "10", "100"} <= set(at)
    assert at["100"] < at["10"] < at["1"] < at["0.1"]
    x = pixel_scale(xs, [mark], "x", 300.0, 0.0)
    assert x(100.0) < x(10.0) < x(1.0) < x(0.1)


@pytest.mark.parametrize(
    ("lo", "hi", "ticks"),
    [
        (0, 1, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
        (0, 101.01, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]),
        (0, 55, list(range(0, 56, 5))),
        (-0.4, 3.6, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]),
    ],
)
def test_linear_ticks_are_d3s(lo, hi, ticks):
    """d3-array's ticks(lo, hi, 10): the 1-2-5 step nearest a tenth of the span."""
    assert list(linear_ticks(lo, hi)) == pytest.approx(ticks)


def test_a_log_axis_keeps_decades_and_their_1_2_5():
    assert list(log_ticks(0.01, 1000)) == pytest.approx(
        [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    )
    assert list(log_ticks(1e-3, 1e5)) == pytest.approx([10.0**k for k in range(-3, 6)])


@pytest.mark.parametrize(
    ("spec", "value", "shown"),
    [("d", 3.0, "3"), (".0%", 0.25, "25%"), ("~g", 0.1, "0.1"), (".1f", 2.0, "2.0")],
)
def test_tick_labels_follow_the_axis_format(spec, value, shown):
    assert tick_formatter(spec, np.array([0.0, 1.0]))(value) == shown


def test_default_tick_labels_have_the_steps_decimals():
    assert tick_formatter(None, np.array([0.0, 0.5, 1.0]))(0.5) == "0.5"
    assert tick_formatter(None, np.array([0.0, 20.0, 40.0]))(20.0) == "20"


def _path_d(mark: bq.Lines) -> str:
    svg = figure_svg(bq.Figure(marks=[mark], axes=[], padding_y=0.0), 400, 300, "c")
    return re.search(r"<path [^>]*d='([^']*)'", svg).group(1)


def test_a_gap_in_the_data_breaks_the_line():
    xs, ys = bq.LinearScale(min=0.0, max=4.0), bq.LinearScale(min=0.0, max=1.0)
    x, y = [0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 1.0, np.nan, 1.0, 0.5]
    assert _path_d(bq.Lines(x=x, y=y, scales={"x": xs, "y": ys})).count("M") == 2


def test_a_point_alone_between_gaps_draws_nothing():
    """As in the browser (d3's line and area with ``defined``): topped's point, which gives a
    scale its top, leaves no mark in the picture, on a line or on an area filled to the bottom."""
    xs, ys = bq.LinearScale(min=0.0), bq.LinearScale(min=0.0)
    x, y = topped(np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.0, 0.5]), 4.0)
    line = _path_d(bq.Lines(x=x, y=y, scales={"x": xs, "y": ys}))
    assert line.count("M") == 1 and line.count("L") == 2
    area = _path_d(bq.Lines(x=x, y=y, fill="bottom", scales={"x": xs, "y": ys}))
    assert area.count("M") == 1 and area.count("L") == 4  # down, across the three, down


def test_an_area_filled_to_the_bottom_breaks_at_a_gap():
    """Each run between gaps is closed down to the baseline on its own, as bqplot's d3 area
    draws it, not joined across the gap."""
    xs, ys = bq.LinearScale(min=0.0, max=4.0), bq.LinearScale(min=0.0, max=1.0)
    x, y = [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 1.0, np.nan, 1.0, 1.0]
    area = _path_d(bq.Lines(x=x, y=y, fill="bottom", scales={"x": xs, "y": ys}))
    assert area == "M0,180L0,0L70,0L70,180ZM210,180L210,0L280,0L280,180Z"  # 280 x 180 plot


def test_boxes_of_one_colour_share_one_path_and_keep_their_colour():
    """A timeline's thousand boxes are a handful of elements: one per colour."""
    xs, ys = bq.LinearScale(min=0.0, max=4.0), bq.LinearScale(min=0.0, max=1.0)
    x = np.array([[0, 1, 1, 0, 0], [1, 2, 2, 1, 1], [2, 3, 3, 2, 2]], float)
    y = np.array([[0, 0, 1, 1, 0]] * 3, float)
    boxes = bq.Lines(
        x=x, y=y, scales={"x": xs, "y": ys}, fill="inside", close_path=True,
        colors=["white"], fill_colors=["#D55E00", "#0072B2", "#D55E00"],
    )  # fmt: skip
    svg = figure_svg(bq.Figure(marks=[boxes], axes=[]), 400, 300, "c")
    paths = re.findall(r"<path fill='(#[0-9A-F]+)'[^>]*d='([^']*)'", svg)
    assert sorted((fill, d.count("Z")) for fill, d in paths) == [("#0072B2", 1), ("#D55E00", 2)]


def test_a_dashed_line_is_dashed_and_a_title_is_shown():
    svg = figure_svg(line_figure(line_style="dashed"), 220, 120, "c")
    assert "stroke-dasharray" in svg
    assert "corner to corner" in svg and "time (ms)" in svg


# ---------------------------------------------------------------- what it refuses


def test_a_mark_it_cannot_draw_is_an_error_naming_it():
    xs, ys = bq.LinearScale(), bq.LinearScale()
    fig = bq.Figure(marks=[bq.Hist(sample=[1.0, 2.0], scales={"sample": xs, "count": ys})])
    with pytest.raises(PictureError, match="cannot draw a Hist"):
        figure_svg(fig, 400, 300, "c")


def test_a_scale_it_cannot_draw_is_an_error_naming_it():
    xs, ys = bq.OrdinalScale(), bq.LinearScale()
    fig = bq.Figure(marks=[bq.Bars(x=["a", "b"], y=[1, 2], scales={"x": xs, "y": ys})])
    with pytest.raises(PictureError, match="OrdinalScale"):
        figure_svg(fig, 400, 300, "c")


def test_a_widget_whose_picture_fails_still_displays_and_says_why():
    """The live widget must not break for a learner; the missing still is a warning (and the
    notebook test, test_every_figure_output_in_the_notebooks_carries_its_picture, fails)."""
    xs, ys = bq.OrdinalScale(), bq.LinearScale()
    fig = bq.Figure(marks=[bq.Bars(x=["a", "b"], y=[1, 2], scales={"x": xs, "y": ys})])
    with pytest.warns(UserWarning, match="Panel has no static picture.*OrdinalScale"):
        bundle = Panel([fig], summary="bars")._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "application/vnd.jupyter.widget-view+json" in bundle


# ---------------------------------------------------------------- rich text


def test_a_legend_keeps_its_colours_and_labels():
    lines = html_lines(legend_html([("running", "#009E73"), ("runnable", "#E69F00")]))
    runs = [(r.text.strip(), r.colour) for r in lines[0] if r.text.strip()]
    assert runs == [
        ("\u25a0", "#009E73"),
        ("running", "#222222"),
        ("\u25a0", "#E69F00"),
        ("runnable", "#222222"),
    ]


def test_a_table_keeps_its_rows_and_cells():
    lines = html_lines("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>")
    assert ["".join(r.text for r in line) for line in lines] == ["a  |  b", "1  |  2"]


def test_a_control_reads_as_its_description_and_value():
    assert setting(w.IntSlider(value=4, description="GOMAXPROCS")) == "GOMAXPROCS = 4"
    assert setting(w.Checkbox(value=True, description="off")) == "off = on"
    menu = w.Dropdown(options=[("per P", "p"), ("per M", "m")], value="m", description="rows")
    assert setting(menu) == "rows = per M"
    assert (
        setting(w.FloatRangeSlider(value=(0.0, 2.5), description="time")) == "time = 0.00 to 2.50"
    )
    assert setting(w.Text(value="", description="Search")) is None


# ---------------------------------------------------------------- every widget of the course


@pytest.fixture(scope="module")
def hogs():
    return load_trace(TRACES / "cpuhogs.trace")


@pytest.fixture(scope="module")
def model_hogs():
    return simulate(Go("main", [spawn(Go(f"hog{i}", [cpu(30.0)])) for i in range(4)]), gomaxprocs=2)


def _frame_pair():
    """Chapter 1's frames, model and the recorded twin (labkit.golab.frame_twin)."""
    from labkit.golab import frame_twin as ft
    from labkit.golab.twins import run_twin
    from labkit.widgets import FrameTracePair

    run = run_twin("frame_loop", source="recorded", pooled=0)
    model = ft.model_frames(ft.frame_twin_model(0))
    return FrameTracePair(model, ft.real_frames(run), run.trace, kinds=run.kinds)


def _shown(view, result):
    view.show(result)
    return view


WIDGETS = {
    "PacerWarmup": lambda h, m: PacerWarmup(),
    "FrameLab": lambda h, m: FrameLab(seconds=1),
    "SchedulerLab": lambda h, m: SchedulerLab(goroutines=10, hog_ms=20.0),
    "IncidentLab": lambda h, m: IncidentLab(clients=4),
    "PoolTuner": lambda h, m: PoolTuner(),
    "FlameGraph": lambda h, m: FlameGraph({("main.main", "main.work"): 3, ("main.main",): 1}),
    "SchedulerTimeline": lambda h, m: _shown(SchedulerTimeline(), m),
    "RunQueuePlot": lambda h, m: _shown(RunQueuePlot(), m),
    "GoroutineStatePlot": lambda h, m: _shown(GoroutineStatePlot(), h),
    "TimelinePair": lambda h, m: TimelinePair(m, h),
    "Panel": lambda h, m: Panel([line_figure()], summary="a line"),
    "LatencyPercentiles": lambda h, m: LatencyPercentiles([("run", [1.0, 2.0, 5.0], False)]),
    "FrameTracePair": lambda h, m: _frame_pair(),
    "StallDoctor": lambda h, m: StallDoctor(diagnose(h)),
    "FpsStatesPlot": lambda h, m: FpsStatesPlot(
        ([0.0, 1.0, 2.0], [60.0, 40.0, 60.0]), {"runnable": ([0.0, 1.0, 2.0], [0, 3, 0])}
    ),
    "HockeyStickPlot": lambda h, m: HockeyStickPlot(
        [{"utilisation": 0.5, "mean_wait_ms": 1.0, "p99_ms": 20.0, "erlang_c_wait_ms": 1.1}],
        [0.1, 0.5, 0.9],
        [0.0, 1.1, 40.0],
        [10.0, 20.0, 90.0],
    ),
}


def test_every_figure_widget_of_the_course_is_drawn_here():
    """A new widget without an entry above would have no tested picture."""
    import labkit.widgets as widgets

    figure_widgets = {
        name for name in widgets.__all__ if issubclass(getattr(widgets, name), TextFallback)
    }
    assert figure_widgets == set(WIDGETS)


@pytest.fixture(scope="module", params=sorted(WIDGETS))
def shown(request, hogs, model_hogs):
    widget = WIDGETS[request.param](hogs, model_hogs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a picture that failed would only warn
        bundle = widget._repr_mimebundle_()
    return widget, bundle


def _figures(widget) -> list[bq.Figure]:
    if isinstance(widget, bq.Figure):
        return [widget]
    if getattr(widget.layout, "display", None) == "none":
        return []
    return [f for c in getattr(widget, "children", ()) for f in _figures(c)]


def test_the_picture_shows_every_figure_with_its_title_and_axis_labels(shown):
    widget, bundle = shown
    svg = bundle["image/svg+xml"]
    words = texts(svg)
    figures = _figures(widget)
    assert figures and svg.count("<clipPath") == len(figures)
    for fig in figures:
        assert not fig.title or fig.title in words
        assert all(a.label in words for a in fig.axes if a.label and a.visible)


def test_the_picture_draws_the_marks_data(shown):
    """Something is drawn inside every figure's plot area (a path or a text per figure)."""
    widget, bundle = shown
    root = parsed(bundle["image/svg+xml"])
    plots = [g for g in root.iter(f"{SVG}g") if g.get("clip-path")]
    assert len(plots) == len(_figures(widget))
    assert all(len(list(g)) > 0 for g in plots)


def test_the_picture_shows_the_summary_and_the_settings(shown):
    widget, bundle = shown
    words = re.sub(r"\s+", " ", texts(bundle["image/svg+xml"]))  # wrapped lines joined
    for control in getattr(widget, "controls", {}).values():
        if setting(control) and not _inside_hidden(widget, control):
            assert setting(control) in words
    if hasattr(widget, "summary") and not isinstance(widget, Panel):
        assert re.sub(r"\s+", " ", widget.summary()).split(";")[0] in words
    assert "A still of" in words


def test_the_picture_is_the_same_for_the_same_widget(shown):
    widget, bundle = shown
    assert widget._repr_mimebundle_()["image/svg+xml"] == bundle["image/svg+xml"]


def test_the_picture_follows_the_widget():
    """Moving a control changes the picture: it is drawn from the widget, not made once."""
    lab = SchedulerLab(goroutines=10, hog_ms=20.0)
    before = lab._repr_mimebundle_()["image/svg+xml"]
    lab.set(gomaxprocs=2)
    after = lab._repr_mimebundle_()["image/svg+xml"]
    assert "GOMAXPROCS = 4" in texts(before) and "GOMAXPROCS = 2" in texts(after)
    assert "GOMAXPROCS=2" in re.sub(r"\s+", " ", texts(after))  # its summary


def test_hidden_parts_of_a_widget_stay_out_of_its_picture():
    """The pool tuner hides its watchdog's controls under a static policy."""
    tuner = PoolTuner()
    hidden = [c for c in tuner.controls.values() if _inside_hidden(tuner, c)]
    assert hidden, "the static policy hides the watchdog's controls"
    words = texts(tuner._repr_mimebundle_()["image/svg+xml"])
    assert all(setting(c) not in words for c in hidden if setting(c))


def _inside_hidden(root, target, hidden=False) -> bool:
    if root is target:
        return hidden
    gone = hidden or getattr(root.layout, "display", None) == "none"
    return any(_inside_hidden(c, target, gone) for c in getattr(root, "children", ()))


def test_two_pictures_never_share_a_clip_path_id():
    """nbviewer and the website inline many pictures in one page; ids must not collide."""
    one = picture(Panel([line_figure()]))
    two = picture(Panel([line_figure(colors=["#D55E00"])]))
    ids = re.findall(r"clipPath id='([^']+)'", one + two)
    assert len(ids) == len(set(ids)) == 2


# ---------------------------------------------------------------- the committed notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("labs/*.ipynb")])
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: An exercise's output reads as its text (title and seed, then the question): it has no figure.
EXERCISE_TEXT = re.compile(r"^.+ \(seed \d+\)$")


def outputs_without_picture(notebook: dict) -> list[str]:
    """The first text line of every widget output that a reader without a kernel would see as
    text where a figure belongs."""
    missing = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data or "image/svg+xml" in data:
                continue
            first = "".join(data.get("text/plain", "")).splitlines()[0]
            if not EXERCISE_TEXT.match(first) and first != PROGRESS_TEXT:  # not figures
                missing.append(first)
    return missing


def _output(text: str, svg: str | None = None) -> dict:
    data = {WIDGET_VIEW: {"model_id": "x"}, "text/plain": text}
    if svg:
        data["image/svg+xml"] = svg
    return {"cells": [{"cell_type": "code", "outputs": [{"data": data}]}]}


def test_a_progress_bar_says_what_it_was_and_is_no_figure():
    from labkit.widgets import RunProgress
    from labkit.widgets.service_views import PROGRESS_TEXT

    bundle = RunProgress("x")._repr_mimebundle_()
    assert bundle["text/plain"] == PROGRESS_TEXT and "image/svg+xml" not in bundle
    assert outputs_without_picture(_output(PROGRESS_TEXT)) == []
    assert outputs_without_picture(_output("RunProgress(children=(FloatProgress(...")) != []


def test_the_notebook_check_finds_a_widget_shown_as_text():
    """Fed a raw ipywidgets box and a figure widget without a still, the check names both; an
    exercise and a widget with its picture pass."""
    assert outputs_without_picture(_output("VBox(children=(Figure(axes=[...")) == [
        "VBox(children=(Figure(axes=[..."
    ]
    assert outputs_without_picture(_output("[FlameGraph: interactive widget; ...]\nsummary")) == [
        "[FlameGraph: interactive widget; ...]"
    ]
    assert outputs_without_picture(_output("How big is a frame? (seed 0)\nA dashboard...")) == []
    assert outputs_without_picture(_output("[FlameGraph: ...]", svg="<svg/>")) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_figure_output_in_the_notebooks_carries_its_picture(path):
    notebook = json.loads(path.read_text())
    assert outputs_without_picture(notebook) == []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            svg = output.get("data", {}).get("image/svg+xml")
            if svg:
                assert "A still of" in texts("".join(svg))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_committed_notebook_stays_under_a_megabyte(path):
    assert path.stat().st_size < 1_000_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_static_viewer_shows_the_pictures_not_the_stand_ins(path):
    """nbconvert's HTML (what nbviewer serves) draws every still and no widget's text stand-in."""
    from nbconvert import HTMLExporter

    notebook = json.loads(path.read_text())
    stills = sum(
        "image/svg+xml" in output.get("data", {})
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    page, _ = HTMLExporter().from_filename(str(path))
    assert page.count('data-mime-type="image/svg+xml"') == stills
    assert "interactive widget; run the notebook" not in page


def test_the_static_viewer_check_sees_a_notebook_without_its_pictures(tmp_path):
    """The same notebook with its stills removed shows the stand-ins: the check above can fail."""
    from nbconvert import HTMLExporter

    notebook = json.loads((ROOT / "chapters" / "03-flame-graphs.ipynb").read_text())
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("image/svg+xml", None)
    bare = tmp_path / "bare.ipynb"
    bare.write_text(json.dumps(notebook))
    page, _ = HTMLExporter().from_filename(str(bare))
    assert 'data-mime-type="image/svg+xml"' not in page
    assert "interactive widget; run the notebook" in page
