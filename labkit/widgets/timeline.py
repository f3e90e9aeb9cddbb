"""Views of a ``labkit.models.scheduler`` Result: who ran where, how long the queues were, what Gs were doing.

* :class:`SchedulerTimeline`: a Gantt chart, one row per P (or, toggled, per M): a box for each
  stretch a goroutine ran, gaps where the P was idle, markers for preemptions, hand-offs and
  steals; hover a box for goroutine, start and end (with more than ``HOVER_BOXES`` boxes in
  the time window, each colour is drawn as one path and its tooltip names the colour: narrow
  the window to hover each box); zoom the time axis with the range slider (keyboard) or by
  dragging / scrolling on the chart.
* :class:`RunQueuePlot`: each P's local run queue length and the global queue over time.
* :class:`GoroutineStatePlot`: goroutines running / runnable / waiting / in a syscall, stacked,
  with the number of OS threads.

All three are thin: they build their figure once and only replace mark data in ``show(result)``.
Long time series are resampled onto a fixed grid (a step function read at ``GRID_POINTS``
instants), and a Gantt with more boxes than ``MAX_BOXES`` merges boxes narrower than a pixel,
so a redraw stays fast whatever the run's length.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, NamedTuple

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import EvidenceError, ParameterError
from labkit.validation import check_choice
from labkit.widgets._style import (
    GREY,
    OKABE_ITO,
    STATE_COLOURS,
    TextFallback,
    colour_for,
    held,
    integer_ticks,
    legend_html,
    topped,
)

GRID_POINTS = 600
MAX_BOXES = 3000
#: The plot width, in pixels, that ``merge_px`` is measured against: a wide notebook's (the
#: figure takes the cell's width; 1,200 px errs towards merging too little).
PLOT_PX = 1200
ROW_HALF_HEIGHT = 0.38
#: At most this many boxes in the time window are drawn one by one, each a path with its own
#: tooltip; beyond it, all the boxes of one colour are one path (rectangles separated by NaN,
#: as d3's ``line.defined`` breaks a line), whose tooltip names what the colour stands for. Why:
#: bqplot keeps four SVG nodes, three transitions and eight styles per curve, so a redraw costs
#: the browser ~0.15 ms a box: the incident lab's 600 boxes took ~90 ms, one path per colour
#: takes a few (benchmarks/README.md). Narrowing the time window below this many boxes brings
#: the per-box tooltips back.
HOVER_BOXES = 250
STATES = ("running", "runnable", "syscall", "waiting")

# What a box is coloured by: goroutine kinds recognised from the course's program names.
KIND_COLOURS = {
    "main": OKABE_ITO[7],
    "hog": OKABE_ITO[5],
    "req": OKABE_ITO[0],
    "ticker": OKABE_ITO[2],
    "other": OKABE_ITO[3],
    # chapter 4's pipeline (labkit.models.pipeline): its producer, the workers of each stage, the sink
    "producer": OKABE_ITO[1],
    "decode": OKABE_ITO[4],
    "draw": OKABE_ITO[5],
    "upload": OKABE_ITO[2],
    "sink": OKABE_ITO[0],
    # chapter 1's frame twin: the GC's mark workers (runtime.gcBgMarkWorker) holding a P
    "gc": OKABE_ITO[5],
    # the stall doctor's view (labkit.widgets.stall_doctor): who stalled, whom it blames, the rest
    "stalled": OKABE_ITO[2],
    "blamed": OKABE_ITO[5],
    "rest": GREY,
}
#: Model goroutine names that start with a kind's name are of that kind (hog3, req12, draw1).
NAMED_KINDS = ("hog", "req", "ticker", "producer", "decode", "draw", "upload", "sink")
MARKERS = {  # event kind -> (bqplot marker, colour, legend label)
    "preempt": ("triangle-down", OKABE_ITO[5], "preempted"),
    "handoff": ("diamond", OKABE_ITO[1], "P handed off"),
    "steal": ("cross", OKABE_ITO[4], "steal"),
}


#: The time axis of a model run (simulated) and of a real trace (since its first event).
MODEL_TIME = "virtual time (ms)"
TRACE_TIME = "time since the trace began (ms)"


def goroutine_kind(name: str) -> str:
    """The colour group of a goroutine: the model's names (hog3, req12, ticker0, draw1,
    main), or a real trace's label ("G1 main.main" is main; others are "other")."""
    for kind in NAMED_KINDS:
        if name.startswith(kind):
            return kind
    return "main" if name in ("main", "G1 main.main") else "other"


def _goroutine_names(result, gs: np.ndarray) -> np.ndarray:
    """The timeline's name for each goroutine in ``gs``: a model run's names as they are, a real
    trace's IDs as "G<id> <entry function>" (Trace.goroutine_label)."""
    label = getattr(result, "goroutine_label", None)
    if label is None:
        return np.asarray(gs)
    # one label per goroutine, not per segment: a 10 MB trace has 660k segments of 9 goroutines
    ids, where = np.unique(np.asarray(gs), return_inverse=True)
    return np.array([label(int(g)) for g in ids.tolist()], dtype=object)[where.reshape(-1)]


def step_resample(t_ms: np.ndarray, values: np.ndarray, grid_ms: np.ndarray) -> np.ndarray:
    """Read a step function (value holds from each t until the next) at the grid's instants."""
    t_ms = np.asarray(t_ms, dtype=float)
    if t_ms.size == 0:
        shape = (grid_ms.size,) + np.shape(values)[1:]
        return np.zeros(shape)
    idx = np.searchsorted(t_ms, grid_ms, side="right") - 1
    idx = np.clip(idx, 0, t_ms.size - 1)
    out = np.asarray(values)[idx].astype(float)
    out[grid_ms < t_ms[0]] = 0.0
    return out


def boxes(
    rows: np.ndarray,
    start_ms: np.ndarray,
    end_ms: np.ndarray,
    max_boxes: int = MAX_BOXES,
    span_ms: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed rectangles (N, 5) for a Gantt chart; returns x, y and the indices drawn.

    When there are more than ``max_boxes`` boxes, the narrowest are dropped until the rest fit;
    their time is still visible as the gap-free stretch of the neighbouring boxes' row.
    """
    keep = np.arange(rows.size)
    if rows.size > max_boxes:
        # the max_boxes widest, ties to the earlier box: what a stable argsort of -width would
        # keep, found in linear time (a 10 MB trace has 660k stretches)
        width = end_ms - start_ms
        threshold = -np.partition(-width, max_boxes - 1)[max_boxes - 1]
        wider = np.flatnonzero(width > threshold)
        ties = np.flatnonzero(width == threshold)[: max_boxes - wider.size]
        keep = np.sort(np.concatenate([wider, ties]))
    r, s, e = rows[keep].astype(float), start_ms[keep], end_ms[keep]
    x = np.stack([s, e, e, s, s], axis=1)
    lo, hi = r - ROW_HALF_HEIGHT, r + ROW_HALF_HEIGHT
    y = np.stack([lo, lo, hi, hi, lo], axis=1)
    return x, y, keep


class TimelineBoxes(NamedTuple):
    """The boxes of a SchedulerTimeline (``drawn_boxes``), whatever way they are drawn."""

    x: np.ndarray
    y: np.ndarray
    fills: list[str]
    labels: list[str]


def by_colour(
    x: np.ndarray, y: np.ndarray, fills: list[str], groups: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """The boxes (N, 5) as one curve per colour, in the order colours first appear: each box's
    five corners, then a point with y NaN (d3's ``line.defined`` starts a new subpath there, and
    SVG fills each subpath on its own), curves padded with NaN to one length. Returns x, y, the
    colours and each curve's tooltip: the count of boxes and what the colour stands for."""
    colours = list(dict.fromkeys(fills))
    of = {c: i for i, c in enumerate(colours)}
    which = np.fromiter((of[c] for c in fills), dtype=np.int64, count=len(fills))
    counts = np.bincount(which, minlength=len(colours))
    width = 6 * int(counts.max())
    cx, cy = np.zeros((len(colours), width)), np.full((len(colours), width), np.nan)
    labels = []
    for i in range(len(colours)):
        sel = np.flatnonzero(which == i)
        n = sel.size
        cx[i, : 6 * n] = np.concatenate([x[sel], x[sel, :1]], axis=1).ravel()
        cx[i, 6 * n :] = x[sel[-1], 0]
        cy[i, : 6 * n] = np.concatenate([y[sel], np.full((n, 1), np.nan)], axis=1).ravel()
        names = list(dict.fromkeys(groups[k] for k in sel.tolist()))
        what = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        labels.append(
            f"{n} boxes of {what}; narrow the time window to under {HOVER_BOXES} boxes "
            "to hover each"
        )
    return cx, cy, colours, labels


def _merge_groups(
    rows: np.ndarray, start: np.ndarray, end: np.ndarray, keys: np.ndarray | None, px_ms: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The stretches in (row, start) order, and where each run of narrow neighbours begins:
    returns the order, the heads (positions in that order), each group's end and its size.
    ``keys`` None joins neighbours of any colour."""
    order = np.lexsort((start, rows))
    r, s, e = rows[order], start[order], end[order]
    narrow = (e - s) < px_ms
    join = np.zeros(r.size, dtype=bool)
    join[1:] = (r[1:] == r[:-1]) & narrow[1:] & narrow[:-1] & (s[1:] - e[:-1] < px_ms)
    if keys is not None:
        k = keys[order]
        join[1:] &= k[1:] == k[:-1]
    heads = np.flatnonzero(~join)
    if not heads.size:
        return order, heads, np.zeros(0), np.zeros(0, dtype=int)
    return order, heads, np.maximum.reduceat(e, heads), np.diff(np.append(heads, r.size))


def merge_narrow(
    rows: np.ndarray, start: np.ndarray, end: np.ndarray, keys: list[str], px_ms: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of boxes narrower than ``px_ms`` on one row, of one colour (``keys``), each within
    ``px_ms`` of the last, merged into one box, as a flame graph merges what is under a pixel:
    returns each box's first stretch (an index into the inputs), its end and how many stretches
    it holds. Wider boxes stay as they are."""
    order, heads, ends, counts = _merge_groups(
        rows, start, end, np.asarray(keys, dtype=object), px_ms
    )
    if not heads.size:
        return order, end[order], np.ones(0, dtype=int)
    return order[heads], ends, counts


def merge_mixed(
    rows: np.ndarray, start: np.ndarray, end: np.ndarray, keys: list[str], px_ms: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """As ``merge_narrow``, but neighbours under a pixel merge whatever their colours, as a
    pixel can show only one: the box takes the colour (key) that covers most of its time.

    For the per-M view, where a thread's stretches alternate between a goroutine's colour and
    grey (parked, in a syscall) many times a pixel, so that same-colour merging leaves thousands
    of boxes (2,480 for the default incident; 839 merged this way). Returns each box's first
    stretch, its end, its size, and the stretch it is drawn as (the first of the key that covers
    most of it; ties go to the key seen first)."""
    k = np.asarray(keys, dtype=object)
    order, heads, ends, counts = _merge_groups(rows, start, end, None, px_ms)
    if not heads.size:
        return order, end[order], np.ones(0, dtype=int), order
    shown = order[heads].copy()
    width = end - start
    for box in np.flatnonzero(counts > 1):
        members = order[heads[box] : heads[box] + counts[box]]
        cover: dict[object, float] = {}
        for key, ms in zip(k[members].tolist(), width[members].tolist(), strict=True):
            cover[key] = cover.get(key, 0.0) + ms
        best = max(cover, key=cover.__getitem__)
        shown[box] = members[k[members].tolist().index(best)]
    return order[heads], ends, counts, shown


def activity_end_ms(result) -> float:
    """Where the timeline's window ends: a little after the last stretch a G ran on a P or sat in
    a syscall, not at the end of the run, so that a main that sleeps on after its goroutines are
    done does not squeeze everything that happened into the left edge (the time slider still
    reaches the end of the run)."""
    ts = result.thread_segments
    busy = ts[np.isin(ts["kind"], ["run", "syscall"])] if len(ts) else ts
    ends = [float(table["end_ms"].max()) for table in (result.segments, busy) if len(table)]
    return max(1e-3, 1.03 * max(ends)) if ends else max(1e-3, float(result.end_ms))


class SchedulerTimeline(TextFallback, w.VBox):
    """Gantt chart of a scheduler run: rows per P (or per M), a box per stretch a G ran."""

    def __init__(
        self,
        height_px: int = 260,
        colour_by: str = "kind",
        x_scale: bq.LinearScale | None = None,
        title: str = "Who ran where",
        merge_px: float | None = None,
    ) -> None:
        """``colour_by``: ``"kind"`` (hog / req / ticker / main / other) or ``"g"`` (one colour
        per goroutine, for small programs such as a spawn-order demo). ``x_scale``: a time scale
        shared with another timeline (TimelinePair), so that both pan and zoom together.
        ``merge_px``: merge runs of stretches narrower than this many pixels (of a ``PLOT_PX``
        plot of the time window) on one row and of one colour into one box whose tooltip counts
        them (``merge_narrow``); the time slider re-merges for the window it shows. None (the
        default) draws every stretch. A redraw costs the browser about 0.15 ms per box."""
        check_choice("colour_by", colour_by, ("kind", "g"), where="SchedulerTimeline")
        if merge_px is not None and (
            isinstance(merge_px, bool) or not isinstance(merge_px, (int, float)) or merge_px <= 0
        ):
            raise ParameterError(
                f"SchedulerTimeline(merge_px={merge_px!r}): give a number of pixels > 0 (1 merges "
                "what is under a pixel), or None to draw every stretch"
            )
        self._merge_px = merge_px
        self._result = None
        self._drawn: tuple = (np.zeros((0, 5)), np.zeros((0, 5)), [], [], [])
        self._per_box = True
        self._legend_base = ""
        self._kinds: dict[str, str] = {}
        self._xs = x_scale if x_scale is not None else bq.LinearScale(min=0.0, max=1.0)
        self._ys = bq.LinearScale(min=-0.5, max=0.5, reverse=True)
        self._build_figure(height_px, title)
        self._build_controls(colour_by)
        super().__init__(
            [w.HBox([self._rows, self._colour]), self._figure, self._window, self._legend]
        )
        self.add_class("labkit-timeline")

    def _build_figure(self, height_px: int, title: str) -> None:
        """The chart: one Lines mark holding every box, a Scatter per event kind, the axes, and
        pan/zoom on the time axis."""
        tooltip = bq.Tooltip(fields=["name"], labels=["ran"])
        self._boxes = bq.Lines(
            x=np.zeros((1, 5)),
            y=np.zeros((1, 5)),
            scales={"x": self._xs, "y": self._ys},
            fill="inside",
            close_path=True,
            colors=["white"],
            fill_colors=[GREY],
            stroke_width=0.5,
            labels=[""],
            tooltip=tooltip,
            display_legend=False,
        )
        self._markers = {
            kind: bq.Scatter(
                x=[],
                y=[],
                scales={"x": self._xs, "y": self._ys},
                marker=marker,
                colors=[colour],
                default_size=40,
                display_legend=False,
                labels=[label],
                stroke="black",
            )
            for kind, (marker, colour, label) in MARKERS.items()
        }
        self._yaxis = bq.Axis(
            scale=self._ys, side="left", tick_values=[0], tick_format="d", label="P"
        )
        self._xaxis = bq.Axis(scale=self._xs, label=MODEL_TIME)
        self._figure = bq.Figure(
            marks=[self._boxes, *self._markers.values()],
            axes=[self._xaxis, self._yaxis],
            layout=w.Layout(width="100%", height=f"{height_px}px"),
            fig_margin={"top": 45, "bottom": 45, "left": 55, "right": 20},
            title=title,
        )
        self._figure.interaction = bq.interacts.PanZoom(scales={"x": [self._xs]})

    def _build_controls(self, colour_by: str) -> None:
        """The row and colour toggles (each redraws), the time window slider (zooms) and the
        legend below."""
        self._rows = w.ToggleButtons(
            options=[("per P", "p"), ("per M (thread)", "m")],
            value="p",
            description="rows",
            style={"button_width": "9em"},
        )
        self._colour = w.ToggleButtons(
            options=[("by kind", "kind"), ("by goroutine", "g")],
            value=colour_by,
            description="colour",
            style={"button_width": "9em"},
        )
        self._window = w.FloatRangeSlider(
            value=(0.0, 1.0),
            min=0.0,
            max=1.0,
            step=0.1,
            description="time (ms)",
            continuous_update=False,
            layout=w.Layout(width="60%"),
            readout_format=".1f",
        )
        self._legend = w.HTML()
        for control in (self._rows, self._colour):
            control.observe(self._redraw, names="value")
        self._window.observe(self._zoom, names="value")

    def _kind_of(self, name: str) -> str:
        """The colour group of a goroutine named ``name`` ("G9 main.f" for a trace's)."""
        function = name.split(" ", 1)[1] if name.startswith("G") and " " in name else name
        return self._kinds.get(name) or self._kinds.get(function) or goroutine_kind(name)

    @property
    def figure(self) -> bq.Figure:
        return self._figure

    @property
    def box_count(self) -> int:
        """How many boxes the chart holds (stretches, or merged runs of them), whether drawn one
        by one or by colour."""
        return 0 if self._result is None else int(len(self._drawn[0]))

    def drawn_boxes(self) -> TimelineBoxes:
        """Every box of the chart, drawn one by one or by colour: corners x and y (N, 5), colour
        and tooltip text ("req3 on P0: 1.000-2.000 ms") of each."""
        x, y, fills, labels, _ = self._drawn
        return TimelineBoxes(x.copy(), y.copy(), list(fills), list(labels))

    @property
    def hover_boxes(self) -> bool:
        """Whether the boxes are drawn one by one, each with its tooltip (at most
        ``HOVER_BOXES`` in the time window), rather than one path per colour."""
        return self._result is not None and self._per_box

    def summary(self) -> str:
        summary = getattr(self._result, "summary", None)
        return summary() if callable(summary) else ""

    def show(self, result, kinds: Mapping[str, str] | None = None) -> None:
        """Draw ``result`` (a labkit.models.scheduler Result or a labkit.traces Trace); keeps the row and
        colour choices. ``kinds`` names the colour group (hog, req, ticker, main, other) of a
        trace's goroutines by entry function, e.g. ``{"main.worker": "hog"}`` (a real trace
        knows functions, not the model's goroutine names), or of one goroutine by its full
        label (``"G22 main.worker"``, a model's ``"hog0"``), which comes first."""
        for kind in (kinds or {}).values():
            check_choice("kind", kind, tuple(KIND_COLOURS), where="SchedulerTimeline.show")
        self._kinds = dict(kinds or {})
        self._result = result
        self._xaxis.label = TRACE_TIME if hasattr(result, "goroutine_label") else MODEL_TIME
        run_end = max(1e-3, float(result.end_ms))
        seg = result.segments
        if len(seg):
            run_end = max(run_end, float(seg["end_ms"].max()))
        view_end = min(activity_end_ms(result), run_end)
        with self.hold_trait_notifications(), self._window.hold_sync():  # one message
            self._window.unobserve(self._zoom, names="value")
            self._window.max = run_end
            self._window.min = 0.0
            self._window.step = max(view_end / 200, 0.001)
            self._window.readout_format = (
                ".3f" if view_end < 10 else ".2f" if view_end < 100 else ".1f"
            )
            self._window.value = (0.0, view_end)
            self._window.observe(self._zoom, names="value")
        self._redraw()

    def _zoom(self, change=None) -> None:
        """The time slider moved: show its window (merged boxes are merged again for it; the
        boxes are drawn one by one or by colour as the window's count of them says)."""
        if self._merge_px is not None:
            self._redraw()
        else:
            with held(self._figure, self._boxes, self._xs):
                self._show_boxes()
                self._set_x_range()

    def _show_boxes(self) -> None:
        """Put the boxes of ``_redraw`` into the mark: one path each, with its tooltip, when at
        most ``HOVER_BOXES`` lie in the time window (those within a window's width of it, so
        that a drag on the chart still finds boxes); otherwise one path per colour."""
        x, y, fills, labels, groups = self._drawn
        if not len(x):
            x, y, fills, labels = np.zeros((1, 5)), np.zeros((1, 5)), [GREY], [""]
        else:
            lo, hi = self._window.value
            width = max(hi - lo, 0.0)
            in_view = (x[:, 1] >= lo) & (x[:, 0] <= hi)
            self._per_box = int(in_view.sum()) <= HOVER_BOXES
            if self._per_box:
                near = np.flatnonzero((x[:, 1] >= lo - width) & (x[:, 0] <= hi + width))
                x, y = x[near], y[near]
                fills, labels = [fills[i] for i in near], [labels[i] for i in near]
            else:
                x, y, fills, labels = by_colour(x, y, fills, groups)
            if not len(x):
                x, y, fills, labels = np.zeros((1, 5)), np.zeros((1, 5)), [GREY], [""]
        self._boxes.x, self._boxes.y = x, y
        self._boxes.fill_colors = fills
        self._boxes.labels = labels
        note = (
            ""
            if self._per_box
            else f"<br><i>{len(self._drawn[0])} boxes, drawn by colour: narrow the time window "
            f"to under {HOVER_BOXES} boxes to hover each one</i>"
        )
        self._legend.value = self._legend_base + note

    def _set_x_range(self) -> None:
        lo, hi = self._window.value
        if hi <= lo:
            hi = lo + self._window.step
        with held(self._figure, self._xs):
            self._xs.min, self._xs.max = float(lo), float(hi)

    def _redraw(self, _change=None) -> None:
        res = self._result
        if res is None:
            return
        per_m = self._rows.value == "m"
        seg, rows, m_ids, kinds = _rows_of(res, per_m)
        start, end = np.asarray(seg["start_ms"], float), np.asarray(seg["end_ms"], float)
        n_rows = int(rows.max()) + 1 if rows.size else 1
        if not per_m:
            n_rows = max(n_rows, int(res.gomaxprocs))
        index, counts = np.arange(len(seg)), None
        if self._merge_px is not None and len(seg):
            lo, hi = self._window.value
            names = _goroutine_names(res, np.asarray(seg["g"]))
            keys = self._fills(names, np.asarray(kinds), per_m)
            px_ms = max(hi - lo, 1e-9) / PLOT_PX * self._merge_px
            if per_m:  # a thread alternates colour and grey many times a pixel
                first, end, counts, index = merge_mixed(rows, start, end, keys, px_ms)
            else:
                first, end, counts = merge_narrow(rows, start, end, keys, px_ms)
                index = first
            rows, start = rows[first], start[first]
        x, y, keep = boxes(rows, start, end)
        names_k = _goroutine_names(res, np.asarray(seg["g"])[index[keep]])  # the boxes drawn only
        kinds_k = np.asarray(kinds)[index[keep]]
        fills = self._fills(names_k, kinds_k, per_m)
        row_ids = m_ids[rows[keep]] if per_m else rows[keep]
        labels = _box_labels(names_k, row_ids, start[keep], end[keep], kinds_k, per_m)
        if counts is not None:  # a merged box says so: "12 short stretches (req3 first) on P0 ..."
            labels = [
                text if n == 1 else _merged_label(text, g, n, per_m)
                for text, g, n in zip(labels, names_k.tolist(), counts[keep].tolist(), strict=True)
            ]
        groups = self._groups(names_k, kinds_k, per_m)
        self._drawn = (x, y, fills, labels, groups)
        self._legend_base = self._legend_for(res, names_k, per_m)
        with held(
            self._figure, self._boxes, self._ys, self._yaxis, self._xs, *self._markers.values()
        ):
            self._show_boxes()
            self._ys.min, self._ys.max = -0.5, n_rows - 0.5
            self._yaxis.tick_values = list(range(n_rows))
            self._yaxis.tick_format = "d"
            # a real trace's thread IDs: label the rows 0..k-1, name the IDs in the tooltip
            thread_ids = m_ids is not None and len(m_ids) and int(m_ids.max()) >= n_rows
            self._yaxis.label = "M (k-th thread)" if thread_ids else ("M" if per_m else "P")
            self._draw_markers(res, per_m)
            self._set_x_range()

    def _fills(self, names: np.ndarray, kinds: np.ndarray, per_m: bool) -> list[str]:
        """Each box's colour: its goroutine's (first to run first) or its goroutine's kind,
        grey for a thread in a syscall or parked in the per-M view."""
        if self._colour.value == "g":
            index = {g: i for i, g in enumerate(dict.fromkeys(names.tolist()))}
            return [colour_for(index[g]) for g in names]
        return [
            GREY if (per_m and k != "run") else KIND_COLOURS[self._kind_of(g)]
            for g, k in zip(names, kinds, strict=True)
        ]

    def _groups(self, names: np.ndarray, kinds: np.ndarray, per_m: bool) -> list[str]:
        """What each box's colour stands for, for the tooltip of a colour drawn as one path:
        its goroutine, or its goroutine's kind; per M, a thread in a syscall or parked."""
        by_g = self._colour.value == "g"
        return [
            "threads in a syscall or parked"
            if per_m and k != "run"
            else (g if by_g else self._kind_of(g))
            for g, k in zip(names.tolist(), np.asarray(kinds).tolist(), strict=True)
        ]

    def _draw_markers(self, res: Any, per_m: bool) -> None:
        """Preemptions, hand-offs and steals as markers under their P's row (per-P view)."""
        for kind, scatter in self._markers.items():
            ev = res.event_log[res.event_log["kind"] == kind] if len(res.event_log) else []
            if per_m or not len(ev):
                scatter.x, scatter.y = [], []
            else:
                scatter.x = np.asarray(ev["t_ms"], float)
                scatter.y = np.asarray(ev["p"], float) - ROW_HALF_HEIGHT - 0.05

    def _legend_for(self, res: Any, names: np.ndarray, per_m: bool) -> str:
        """The colour chips of what is drawn, then the markers with their counts."""
        counts = {
            k: int((res.event_log["kind"] == k).sum()) if len(res.event_log) else 0 for k in MARKERS
        }
        symbols = {"preempt": "&#9660;", "handoff": "&#9670;", "steal": "&#10010;"}
        is_trace = hasattr(res, "goroutine_label")  # a real trace records no work stealing
        events = (
            ""
            if per_m
            else "&nbsp; "
            + " ".join(
                f"<span style='color:{MARKERS[k][1]}'>{symbols[k]}</span> {MARKERS[k][2]} "
                + ("(not traced)" if k == "steal" and is_trace else f"({n})")
                for k, n in counts.items()
            )
        )
        if self._colour.value == "kind":
            used = sorted({self._kind_of(g) for g in names.tolist()})
            chips = " ".join(_chip(KIND_COLOURS[k], k) for k in used)
            return chips + events + ("&nbsp; grey: thread in a syscall or parked" if per_m else "")
        order = list(dict.fromkeys(names.tolist()))  # colour_for(i): first to run first
        if len(order) <= 8:
            chips = " ".join(_chip(colour_for(i), html.escape(g)) for i, g in enumerate(order))
        else:
            chips = f"{len(order)} goroutines (hover a box for its name)"
        return chips + events


def _rows_of(res: Any, per_m: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The stretches to draw, each one's row, the thread IDs of the rows (per-M view) and each
    stretch's kind: per P, the Gs that ran there; per M, what each thread did."""
    if per_m:
        seg = res.thread_segments
        # Row k is the k-th thread by ID: a model's Ms are 0, 1, 2 ..., a real trace's are
        # the kernel's thread IDs (tens of thousands apart).
        m_ids, rows = np.unique(np.asarray(seg["m"], dtype=np.int64), return_inverse=True)
        return seg, rows, m_ids, seg["kind"]
    seg = res.segments
    return seg, np.asarray(seg["p"], dtype=int), None, np.full(len(seg), "run")


def _merged_label(text: str, g: str, n: int, per_m: bool) -> str:
    """A merged box's tooltip from its drawn stretch's: per P "12 short stretches (req3 first)
    on P0: ..."; per M, where stretches of any colour merge, "298 short stretches on M0:
    0.000-0.041 ms, mostly run (req399 first of those)"."""
    if not per_m:
        return f"{n} short stretches ({g} first){text[len(g) :]}; zoom in"
    where, kind = text[len(g) :].rsplit(" (", 1)
    first = f" ({g} first of those)" if g else ""  # a thread in netpoll runs no goroutine
    return f"{n} short stretches{where}, mostly {kind[:-1]}{first}; zoom in"


def _box_labels(names, row_ids, start, end, kinds, per_m: bool) -> list[str]:
    """Each box's tooltip: the goroutine, where, when (and, per M, what the thread did)."""
    if per_m:
        return [
            f"{g} on M{int(r)}: {s:.3f}-{e:.3f} ms ({k})"
            for g, r, s, e, k in zip(names, row_ids, start, end, kinds, strict=True)
        ]
    return [
        f"{g} on P{int(r)}: {s:.3f}-{e:.3f} ms"
        for g, r, s, e in zip(names, row_ids, start, end, strict=True)
    ]


def _chip(colour: str, text: str) -> str:
    return (
        f"<span style='background:{colour};color:white;"
        f"padding:0 0.4em;border-radius:3px'>{text}</span>"
    )


class _SeriesPlot(TextFallback, w.VBox):
    """What the two time-series plots share: the figure, the shown run's summary, and a time grid
    long series are read at (``GRID_POINTS`` instants, so a redraw costs the same for any run)."""

    _figure: bq.Figure
    _result = None

    @property
    def figure(self) -> bq.Figure:
        return self._figure

    def summary(self) -> str:
        summary = getattr(self._result, "summary", None)
        return summary() if callable(summary) else ""

    @staticmethod
    def _grid(t_ms: np.ndarray) -> np.ndarray:
        end = float(t_ms[-1]) if t_ms.size else 1.0
        return np.linspace(0.0, max(end, 1e-6), GRID_POINTS)


class RunQueuePlot(_SeriesPlot):
    """Local run-queue length of each P and the global run-queue length over time."""

    def __init__(self, height_px: int = 200) -> None:
        self._xs = bq.LinearScale(min=0.0)  # its domain: the data (topped)
        self._ys = bq.LinearScale(min=0.0)
        self._lines = bq.Lines(
            x=[0.0, 1.0],
            y=[[0.0, 0.0]],
            scales={"x": self._xs, "y": self._ys},
            colors=[OKABE_ITO[7]],
            labels=["global"],
            display_legend=False,
            stroke_width=1.5,
        )
        self._yaxis = bq.Axis(
            scale=self._ys, side="left", label="goroutines queued", tick_format="d"
        )
        self._figure = bq.Figure(
            marks=[self._lines],
            axes=[
                bq.Axis(scale=self._xs, label="virtual time (ms)"),
                self._yaxis,
            ],
            layout=w.Layout(width="100%", height=f"{height_px}px"),
            fig_margin={"top": 30, "bottom": 45, "left": 55, "right": 20},
            title="Run queues",
        )
        self._legend = w.HTML()
        self._result = None
        super().__init__([self._figure, self._legend])

    def show(self, result) -> None:
        if not hasattr(result, "runq"):
            raise EvidenceError(
                getattr(result, "source", "trace"),
                "an execution trace records no run queues (the runtime does not trace runqput "
                "or the global queue)",
                "show its runnable goroutines with GoroutineStatePlot instead",
            )
        self._show(result)

    def _show(self, result) -> None:
        self._result = result
        rq = result.runq
        t = np.asarray(rq["t_ms"], float)
        grid = self._grid(t)
        local = np.asarray(rq["local"], float).reshape(t.size, -1)
        series = [step_resample(t, rq["global"], grid)]
        series += [step_resample(t, local[:, i], grid) for i in range(local.shape[1])]
        labels = ["global"] + [f"P{i} local" for i in range(local.shape[1])]
        colours = [OKABE_ITO[7]] + [colour_for(i) for i in range(local.shape[1])]
        top = float(np.max(series)) if len(series) else 1.0
        ticks = integer_ticks(top)
        # the scales take their domains from the data: one message and one redraw (topped)
        x, y = topped(grid, np.vstack(series), ticks[-1])
        with held(self._figure, self._lines, self._yaxis):
            self._lines.x, self._lines.y = x, y
            self._lines.labels = labels
            self._lines.colors = colours
            self._yaxis.tick_values = ticks
        self._legend.value = legend_html(list(zip(labels, colours, strict=True)), "&#9473;")


class GoroutineStatePlot(_SeriesPlot):
    """Goroutines by state, stacked, and the number of OS threads (right axis)."""

    def __init__(self, height_px: int = 200) -> None:
        self._xs = bq.LinearScale(min=0.0)  # its domain: the data (topped)
        self._ys = bq.LinearScale(min=0.0)
        self._ts = bq.LinearScale(min=0.0)
        self._areas = bq.Lines(
            x=[0.0, 1.0],
            y=np.zeros((len(STATES), 2)),
            scales={"x": self._xs, "y": self._ys},
            fill="bottom",
            colors=[STATE_COLOURS[s] for s in reversed(STATES)],
            fill_colors=[STATE_COLOURS[s] for s in reversed(STATES)],
            fill_opacities=[0.85] * 4,
            labels=list(reversed(STATES)),
            display_legend=False,
            stroke_width=0.5,
        )
        self._threads = bq.Lines(
            x=[0.0, 1.0],
            y=[0.0, 0.0],
            scales={"x": self._xs, "y": self._ts},
            colors=[OKABE_ITO[7]],
            line_style="dashed",
            labels=["threads (M)"],
            display_legend=False,
            stroke_width=2,
        )
        self._gaxis = bq.Axis(scale=self._ys, side="left", label="goroutines", tick_format="d")
        self._taxis = bq.Axis(scale=self._ts, side="right", label="threads", tick_format="d")
        self._xaxis = bq.Axis(scale=self._xs, label=MODEL_TIME)
        self._figure = bq.Figure(
            marks=[self._areas, self._threads],
            axes=[self._xaxis, self._gaxis, self._taxis],
            layout=w.Layout(width="100%", height=f"{height_px}px"),
            fig_margin={"top": 30, "bottom": 45, "left": 55, "right": 55},
            title="Goroutine states and threads",
        )
        self._legend = w.HTML(
            legend_html([(s, STATE_COLOURS[s]) for s in STATES])
            + legend_html([("OS threads (right axis)", OKABE_ITO[7])], "&#9476;")
        )
        self._result = None
        super().__init__([self._figure, self._legend])

    def show(self, result) -> None:
        self._result = result
        st = result.states
        t = np.asarray(st["t_ms"], float)
        grid = self._grid(t)
        layers = np.vstack([step_resample(t, st[s], grid) for s in STATES])
        stacked = np.cumsum(layers, axis=0)[::-1]  # the tallest (all states) is drawn first
        th = result.threads
        threads = step_resample(np.asarray(th["t_ms"], float), th["count"], grid)
        goroutine_ticks = integer_ticks(float(stacked[0].max()) if stacked.size else 1.0)
        # headroom, so the dashed line does not run along the top edge under the title
        thread_ticks = integer_ticks(float(threads.max()) * 1.15)
        # the scales take their domains from the data: one message and one redraw a mark (topped)
        areas_x, areas_y = topped(grid, stacked, goroutine_ticks[-1])
        threads_x, threads_y = topped(grid, threads, thread_ticks[-1])
        with held(self._figure, self._areas, self._threads, self._gaxis, self._taxis):
            self._areas.x, self._areas.y = areas_x, areas_y
            self._threads.x, self._threads.y = threads_x, threads_y
            self._xaxis.label = TRACE_TIME if hasattr(result, "goroutine_label") else MODEL_TIME
            self._gaxis.tick_values = goroutine_ticks
            self._taxis.tick_values = thread_ticks
