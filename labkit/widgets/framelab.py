"""The frame lab: a Go render loop under GC pressure, with every knob of ``simulate_frames``.

A thin view over :func:`labkit.models.renderloop.simulate_frames` (which drives ``labkit.models.gcpacer.GCEngine``, the
course's model of the pacer in src/runtime/mgcpacer.go and of gcStart / gcAssistAlloc /
gcMarkTermination in mgc.go and mgcmark.go). Three figures, built once; a control change only
replaces their data:

* frame times over the run, the 1000/fps ms budget as a line and every GC cycle shaded (from
  sweep-termination STW to the end of mark termination, the span gctrace's "ms clock" covers;
  a cycle shorter than ``MIN_SPAN_FRACTION`` of the axis is drawn that wide so it shows);
* a histogram of frame times, with the budget marked;
* the heap over time (the sawtooth) against the heap goal the pacer aimed at and the trigger where
  it started each cycle (``GCCycle.heap_goal_bytes`` / ``trigger_bytes``, the gctrace "goal").

Under the figures a one-line summary (``RenderResult.summary()``: GC/s, p50/p99 frame time, jank,
GC's CPU share, every input and the seed) reads without the pictures. Invalid settings (from
``set`` or the constructor) are shown as one clear line in the widget's error area, and the last
good run stays on screen.

Long runs are thinned for drawing only: more than ``MAX_FRAME_POINTS`` frames are reduced to the
slowest frame of each bucket (a stall must not disappear by resampling), and more than
``MAX_HEAP_POINTS`` heap samples to each bucket's first, lowest and highest sample (so the
sawtooth keeps its peaks and troughs). The default 10 s at 60 fps is drawn exactly.
"""

from __future__ import annotations

import math
import time
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.models.gcpacer import GC_OFF, heap_goal_bytes, parse_gogc
from labkit.models.renderloop import DRAW_MODES, FrameParams, RenderResult, simulate_frames
from labkit.widgets._controls import check_control_value, check_params, seed_box
from labkit.widgets._style import (
    GREY,
    OKABE_ITO,
    TextFallback,
    error_output,
    errors_shown_in,
    held,
    legend_html,
    slider,
    summary_html,
)

__all__ = ["FrameLab", "RESOLUTIONS", "gc_spans", "heap_goal_steps", "thin_heap", "thin_frames"]

MIB = 1 << 20

#: Display sizes a dashboard renders at; the label shows the RGBA buffer (4 bytes a pixel).
RESOLUTIONS = ((640, 480), (800, 600), (1024, 768), (1280, 720), (1920, 1080), (2560, 1440))

#: The share of a CPU each producer keeps busy: a tenth, as in the course's real render loop
#: (labkit/golab/go/gc_render, its -producer_cpu). simulate_frames' own default, half a CPU, is
#: four producers asking for two CPUs: at GOMAXPROCS 1 or 2, where the lab sets up its stall, that
#: overloads the Ps, and there the frame model is known not to follow Go (it keeps no backlog:
#: chapter 6). No control shows it; ``FrameLab(producer_cpu_fraction=...)`` changes it.
PRODUCER_CPU_FRACTION = 0.1

#: Beyond these, series are thinned for drawing (see the module docstring); 10 s at 60 fps is not.
MAX_FRAME_POINTS = 2400
MAX_HEAP_POINTS = 3000

#: Narrowest GC span drawn, as a share of the time axis (about 3 px on a 1000 px figure).
MIN_SPAN_FRACTION = 0.003

#: Histogram: at most this many bins, of a 1-2-5 width in ms.
MAX_BINS = 60

DRAW_MODE_LABELS = {
    "single": "render goroutine draws all",
    "concurrent_locked": "producers draw, sync.Mutex",
    "concurrent_racy": "producers draw, no lock (race)",
}
assert set(DRAW_MODE_LABELS) == set(DRAW_MODES)

#: Parameters the controls show; every other FrameParams field is a fixed setting that the
#: constructor or ``set`` may change (seconds, handoff, pool_victim_cache, ...).
CONTROLLED = (
    "width",
    "height",
    "fps",
    "producers",
    "pooled",
    "gogc",
    "memory_limit_mb",
    "live_heap_mb",
    "gomaxprocs",
    "draw_mode",
    "seed",
)

_STYLE = {"description_width": "10.5em"}
_WIDE = w.Layout(width="26.5em")

FRAME_COLOUR = OKABE_ITO[0]
BUDGET_COLOUR = OKABE_ITO[5]
GC_COLOUR = OKABE_ITO[1]
HEAP_COLOUR = OKABE_ITO[2]
GOAL_COLOUR = OKABE_ITO[3]


# ---- pure helpers (tested on their own) -------------------------------------------------------


def thin_frames(t_s: np.ndarray, y_ms: np.ndarray, max_points: int = MAX_FRAME_POINTS):
    """Frames to draw: all of them, or the slowest frame of each of ``max_points`` buckets."""
    t_s, y_ms = np.asarray(t_s, dtype=float), np.asarray(y_ms, dtype=float)
    if t_s.size <= max_points:
        return t_s, y_ms
    edges = np.linspace(0, t_s.size, max_points + 1).astype(int)
    idx = np.array(
        [a + int(np.argmax(y_ms[a:b])) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    )
    return t_s[idx], y_ms[idx]


def thin_heap(t_s: np.ndarray, heap_mb: np.ndarray, max_points: int = MAX_HEAP_POINTS):
    """Heap samples to draw: all, or per bucket its first, lowest and highest (in time order)."""
    t_s, heap_mb = np.asarray(t_s, dtype=float), np.asarray(heap_mb, dtype=float)
    if t_s.size <= max_points:
        return t_s, heap_mb
    buckets = max(max_points // 3, 1)
    edges = np.linspace(0, t_s.size, buckets + 1).astype(int)
    keep: list[int] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b > a:
            seg = heap_mb[a:b]
            keep.extend(sorted({a, a + int(np.argmin(seg)), a + int(np.argmax(seg))}))
    keep.append(t_s.size - 1)
    idx = np.unique(np.array(keep))
    return t_s[idx], heap_mb[idx]


def gc_spans(result: RenderResult) -> tuple[np.ndarray, np.ndarray]:
    """(start_s, end_s) of every GC cycle: sweep-termination STW to the end of mark termination.

    A cycle still marking when the run ends is drawn up to its last recorded event.
    """
    starts = [c.start_s for c in result.gc_cycles]
    ends = [c.end_s for c in result.gc_cycles]
    done = len(result.gc_cycles)
    sweeps = [e for e in result.gc_events if e.kind == "stw_sweep_termination"]
    if len(sweeps) > done:  # one cycle unfinished at the end of the run
        tail = [e for e in result.gc_events if e.start_s >= sweeps[done].start_s]
        starts.append(sweeps[done].start_s)
        ends.append(max(e.end_s for e in tail))
    return np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)


def heap_goal_steps(
    result: RenderResult,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pacer's heap goal and trigger as step lines, in MiB: ``(t_s, goal, trig_t_s, trig)``.

    Each cycle's own goal and trigger (``GCCycle.heap_goal_bytes`` / ``trigger_bytes``, the
    gctrace "goal" and the heap at which the cycle was due) hold from the end of the previous
    cycle to the end of this one. After the last cycle the goal is recomputed from the heap it
    marked with ``labkit.models.gcpacer.heap_goal_bytes`` (gcControllerState.commit / heapGoalInternal in
    mgcpacer.go); the next trigger depends on the pacer's cons/mark estimate, which the result
    does not keep, so the trigger line ends at the last cycle. Before any cycle the goal comes
    from the initial live heap. All empty when the GC is off without a memory limit.
    """
    p = result.params
    limit = p.memory_limit_mb
    limit_bytes = None if limit is None else int(limit * MIB)
    cycles = result.gc_cycles
    end_s = max(result.seconds, float(result.t_s[-1]) if result.t_s.size else 0.0)

    def goal_from(marked_bytes: float) -> float:
        return float(
            heap_goal_bytes(
                int(marked_bytes),
                gogc=p.gogc,
                memory_limit=limit_bytes,
                other_non_heap_bytes=int(p.non_heap_mb * MIB),
            )
        )

    def steps(times: list[float], values: list[float]) -> tuple[np.ndarray, np.ndarray]:
        # values[i] holds from times[i] to times[i + 1]
        t = np.repeat(np.asarray(times, dtype=float), 2)[1:-1]
        return t, np.repeat(np.asarray(values, dtype=float), 2) / MIB

    tail = goal_from(cycles[-1].heap_marked_bytes if cycles else p.live_heap_mb * MIB)
    if math.isinf(tail) and not cycles:
        empty = np.zeros(0)
        return empty, empty, empty, empty
    bounds = [0.0] + [c.end_s for c in cycles]
    t_goal, goal = steps([*bounds, end_s], [c.heap_goal_bytes for c in cycles] + [tail])
    t_trig, trig = steps(bounds, [c.trigger_bytes for c in cycles])
    finite = np.isfinite(goal)
    return t_goal[finite], goal[finite], t_trig, trig


def _nice_width(span: float, max_bins: int) -> float:
    """The smallest 1-2-5 bin width (ms) that covers ``span`` in at most ``max_bins`` bins."""
    base = 10.0 ** math.floor(math.log10(max(span / max_bins, 1e-3)))
    for m in (1, 2, 5, 10):
        if span / (m * base) <= max_bins:
            return m * base
    return 10 * base


def histogram_bins(frame_ms: np.ndarray, budget_ms: float, max_bins: int = MAX_BINS) -> np.ndarray:
    """Bin edges from 0 past both the slowest frame and the budget, of a 1-2-5 width."""
    top = max(float(np.max(frame_ms)) if np.size(frame_ms) else 0.0, budget_ms) * 1.02
    width = _nice_width(top, max_bins)
    return np.arange(0.0, top + width, width)


# ---- the widget --------------------------------------------------------------------------------


def _slider(cls, desc: str, name: str, **kw) -> w.ValueWidget:
    """A slider over ``name`` whose range is FrameParams' own (``FrameParams.slider``)."""
    lo, hi, step = FrameParams.slider(name)
    return slider(cls, desc, lo, hi, step, label_em=10.5, width_em=26.5, **kw)


def _resolution_label(width: int, height: int) -> str:
    return f"{width}x{height} ({width * height * 4 / MIB:.1f} MiB/frame)"


def _controls() -> dict[str, w.ValueWidget]:
    """The lab's controls by name; ranges and menus from FrameParams."""
    return {
        "resolution": w.Dropdown(
            options=[(_resolution_label(*r), r) for r in RESOLUTIONS],
            value=(1024, 768),
            description="resolution",
            style=_STYLE,
            layout=_WIDE,
        ),
        "fps": _slider(w.IntSlider, "frame rate (fps)", "fps"),
        "producers": _slider(w.IntSlider, "producers", "producers"),
        "pooled": w.ToggleButtons(
            options=[("new per frame", False), ("sync.Pool", True)],
            value=False,
            description="frame buffer",
            style={**_STYLE, "button_width": "9.5em"},
            tooltips=["image.NewRGBA every frame", "pool.Get / pool.Put"],
        ),
        "gogc": _slider(w.IntSlider, "GOGC (%)", "gogc"),
        "gc_off": w.Checkbox(description="off", indent=False, layout=w.Layout(width="5em")),
        "limit_on": w.Checkbox(description="on", indent=False, layout=w.Layout(width="5em")),
        "limit_mb": _slider(w.IntSlider, "GOMEMLIMIT (MiB)", "memory_limit_mb", value=256),
        "live_heap_mb": _slider(
            w.FloatSlider, "live heap (MiB)", "live_heap_mb", readout_format=".1f"
        ),
        "gomaxprocs": _slider(w.IntSlider, "GOMAXPROCS", "gomaxprocs"),
        "draw_mode": w.Dropdown(
            options=[(DRAW_MODE_LABELS[m], m) for m in FrameParams.options("draw_mode")],
            description="drawing",
            style=_STYLE,
            layout=_WIDE,
        ),
        "seed": seed_box(label_em=10.5),
    }


def _figure(marks: list, x: bq.Scale, y: bq.Scale, labels: tuple[str, str], **kw) -> bq.Figure:
    xlabel, ylabel = labels
    return bq.Figure(
        marks=marks,
        axes=[
            bq.Axis(scale=x, label=xlabel),
            bq.Axis(scale=y, side="left", label=ylabel, **kw.pop("y_axis", {})),
        ],
        **kw,
    )


class FrameLab(TextFallback, w.VBox):
    """Sliders over ``simulate_frames``; frame timeline, histogram, heap sawtooth, summary.

    ``FrameLab(params=None, **overrides)`` takes a :class:`labkit.models.renderloop.FrameParams` and any of
    its fields (``gomaxprocs=2``, ``pooled=True``, ``seconds=5``, ``handoff="reuse"`` ...), as
    ``simulate_frames`` does; ``set(**values)`` changes several at once and re-runs once; a bad
    value raises a ParameterError at the call; ``params`` is the FrameParams on screen, ``result`` its
    ``RenderResult``, ``summary()`` its line. Its defaults are FrameParams' but for the producers'
    CPU share (PRODUCER_CPU_FRACTION).
    """

    def __init__(self, params: FrameParams | None = None, **overrides: Any) -> None:
        start = check_params("FrameLab", params, FrameParams)
        if start is None:
            start = FrameParams(producer_cpu_fraction=PRODUCER_CPU_FRACTION)
        start = start.replace(**overrides)  # a bad value raises here, naming the parameter
        self._result: RenderResult | None = None
        self._error = ""
        self._paused = False
        self.last_update_s = 0.0
        self._controls = _controls()
        check_control_value("FrameLab", "seed", self._controls["seed"], start.seed)
        self._summary = w.HTML()
        self._errors = error_output()
        self._errors.add_class("labkit-errors")
        super().__init__(self._layout(*self._build_figures()))
        self.add_class("labkit-framelab")
        for control in self._controls.values():
            control.observe(self._on_control, names="value")
        self._params = start
        self._run(start, move_controls=True)

    def _build_figures(self) -> tuple[bq.Figure, bq.Figure, bq.Figure]:
        """The three figures, built once: frame times with GC spans, histogram, heap."""
        self._tx = bq.LinearScale(min=0.0, max=10.0)
        self._ty = bq.LinearScale(min=0.0, max=20.0)
        on_t = {"x": self._tx, "y": self._ty}
        self._spans = bq.Lines(
            x=np.zeros((1, 5)),
            y=np.zeros((1, 5)),
            scales=on_t,
            fill="inside",
            close_path=True,
            colors=[GC_COLOUR],
            fill_colors=[GC_COLOUR],
            fill_opacities=[0.45],
            stroke_width=1,
        )
        self._frames = bq.Lines(x=[0.0], y=[0.0], scales=on_t, colors=[FRAME_COLOUR])
        self._budget = bq.Lines(
            x=[0.0, 10.0], y=[16.7, 16.7], scales=on_t, colors=[BUDGET_COLOUR],
            line_style="dashed", stroke_width=2,
        )  # fmt: skip
        self._timeline = _figure(
            [self._spans, self._frames, self._budget], self._tx, self._ty,
            ("time (s)", "frame time (ms)"), title="Frame times, with GC cycles shaded",
            layout=w.Layout(width="100%", height="300px"),
            fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 20},
        )  # fmt: skip
        self._timeline.add_class("labkit-frame-timeline")

        self._hx, self._hy = bq.LinearScale(min=0.0), bq.LinearScale(min=0.0)
        on_h = {"x": self._hx, "y": self._hy}
        self._bars = bq.Bars(x=[0.0], y=[0.0], scales=on_h, colors=[FRAME_COLOUR])
        self._hist_budget = bq.Lines(
            x=[16.7, 16.7], y=[0.0, 1.0], scales=on_h, colors=[BUDGET_COLOUR],
            line_style="dashed", stroke_width=2,
        )  # fmt: skip
        half = {"layout": w.Layout(width="50%", height="280px")}
        margin = {"top": 40, "bottom": 45, "left": 60, "right": 15}
        self._histogram = _figure(
            [self._bars, self._hist_budget], self._hx, self._hy, ("frame time (ms)", "frames"),
            title="How frame times spread", fig_margin=margin, y_axis={"tick_format": "d"}, **half,
        )  # fmt: skip

        self._mx, self._my = bq.LinearScale(min=0.0, max=10.0), bq.LinearScale(min=0.0)
        on_m = {"x": self._mx, "y": self._my}
        self._heap = bq.Lines(x=[0.0], y=[0.0], scales=on_m, colors=[HEAP_COLOUR])
        self._goal = bq.Lines(x=[0.0], y=[0.0], scales=on_m, colors=[GOAL_COLOUR])
        self._trigger = bq.Lines(x=[0.0], y=[0.0], scales=on_m, colors=[GREY], line_style="dashed")
        self._heapfig = _figure(
            [self._heap, self._trigger, self._goal], self._mx, self._my, ("time (s)", "heap (MiB)"),
            title="Heap against the pacer's goal", fig_margin=margin, **half,
        )  # fmt: skip
        return self._timeline, self._histogram, self._heapfig

    def _layout(self, timeline: bq.Figure, histogram: bq.Figure, heap: bq.Figure) -> list:
        """Controls (program left, runtime right), summary, errors, figures and legends."""
        c = self._controls
        left = w.VBox(
            [w.HTML("<b>Program</b>")]
            + [c[k] for k in ("resolution", "fps", "pooled", "producers", "draw_mode")]
            + [c["live_heap_mb"]]
        )
        right = w.VBox(
            [
                w.HTML("<b>Runtime</b>"),
                w.HBox([c["gogc"], c["gc_off"]]),
                w.HBox([c["limit_mb"], c["limit_on"]]),
                c["gomaxprocs"],
                c["seed"],
            ]
        )
        legend_top = legend_html(
            [
                ("frame time", FRAME_COLOUR),
                ("frame budget (1000/fps ms)", BUDGET_COLOUR),
                ("GC cycle (STW + concurrent mark)", GC_COLOUR),
            ]
        )
        legend_heap = legend_html(
            [("heap", HEAP_COLOUR), ("heap goal", GOAL_COLOUR), ("trigger (cycle starts)", GREY)]
        )
        return [
            w.HBox([left, right]),
            self._summary,
            self._errors,
            timeline,
            w.HTML(legend_top),
            w.HBox([histogram, heap]),
            w.HTML(legend_heap),
        ]

    # ---- state ------------------------------------------------------------------------------
    @property
    def result(self) -> RenderResult | None:
        """The run on screen (the last one whose settings were valid)."""
        return self._result

    @property
    def params(self) -> FrameParams:
        """The FrameParams of the run on screen."""
        return self._params

    @property
    def controls(self) -> dict[str, w.ValueWidget]:
        """The controls by name (resolution, fps, producers, pooled, gogc, gc_off, limit_on,
        limit_mb, live_heap_mb, gomaxprocs, draw_mode, seed); setting ``.value`` is what a
        learner's click or key press does."""
        return dict(self._controls)

    @property
    def error(self) -> str:
        """The error line on screen ('' when the last change was valid)."""
        return self._error

    def summary(self) -> str:
        """One line: GC/s, p50/p99 frame time, jank, GC CPU share, then every input and seed."""
        return self._result.summary() if self._result is not None else ""

    # ---- controls <-> parameters -------------------------------------------------------------
    def _show_controls(self, p: FrameParams) -> None:
        """Move the controls to ``p`` without re-running (observers are paused)."""
        c = self._controls
        self._paused = True
        try:
            res = (p.width, p.height)
            if res not in [v for _, v in c["resolution"].options]:
                c["resolution"].options = [*c["resolution"].options, (_resolution_label(*res), res)]
            c["resolution"].value = res
            self._fit(c["fps"], p.fps)
            self._fit(c["producers"], p.producers)
            c["pooled"].value = p.pooled
            off = parse_gogc(p.gogc) == GC_OFF
            c["gc_off"].value = off
            if not off:
                self._fit(c["gogc"], parse_gogc(p.gogc))
            c["gogc"].disabled = off
            limit = p.memory_limit_mb
            c["limit_on"].value = limit is not None
            if limit is not None:
                self._fit(c["limit_mb"], limit)
            c["limit_mb"].disabled = limit is None
            self._fit(c["live_heap_mb"], p.live_heap_mb)
            self._fit(c["gomaxprocs"], p.gomaxprocs)
            c["draw_mode"].value = p.draw_mode
            c["seed"].value = p.seed
        finally:
            self._paused = False

    @staticmethod
    def _fit(slider: w.ValueWidget, value) -> None:
        """Set a slider, widening its range if a valid value lies outside it."""
        if value < slider.min:
            slider.min = value
        if value > slider.max:
            slider.max = value
        slider.value = value

    def _from_controls(self) -> dict:
        """The FrameParams fields the controls show, as they stand."""
        c = self._controls
        c["gogc"].disabled = c["gc_off"].value
        c["limit_mb"].disabled = not c["limit_on"].value
        width, height = c["resolution"].value
        return {
            "width": width,
            "height": height,
            "fps": c["fps"].value,
            "producers": c["producers"].value,
            "pooled": c["pooled"].value,
            "gogc": "off" if c["gc_off"].value else c["gogc"].value,
            "memory_limit_mb": float(c["limit_mb"].value) if c["limit_on"].value else None,
            "live_heap_mb": c["live_heap_mb"].value,
            "gomaxprocs": c["gomaxprocs"].value,
            "draw_mode": c["draw_mode"].value,
            "seed": c["seed"].value,
        }

    def _apply(self, values: dict, move_controls: bool) -> bool:
        """Run with ``values`` applied; on invalid input show the error, keep the last run.

        Only the controls come here: a combination of them the model refuses (FrameParams'
        own check, a RenderConfigError naming the parameter and its range) is shown in the
        widget, since no line of the learner's code made it. ``set`` raises instead.
        """
        try:
            p = self._params.replace(**values)
        except ParameterError as exc:
            self._show_error(f"Not run: {exc}")
            return False
        self._run(p, move_controls)
        return True

    def _run(self, p: FrameParams, move_controls: bool) -> None:
        t0 = time.perf_counter()
        result = simulate_frames(p)
        self._show_error("")
        self._params, self._result = p, result
        if move_controls:
            self._show_controls(p)
        with errors_shown_in(self._errors):
            self._draw(result)
            self._summary.value = summary_html(result.summary())
        self.last_update_s = time.perf_counter() - t0

    def _show_error(self, text: str) -> None:
        self._error = text
        if text:
            self._errors.outputs = (
                {"output_type": "stream", "name": "stderr", "text": text + "\n"},
            )
        else:
            self._errors.outputs = ()

    # ---- events -----------------------------------------------------------------------------
    def _on_control(self, _change) -> None:
        if not self._paused:
            self._apply(self._from_controls(), move_controls=False)

    def set(self, **values: Any) -> None:
        """Change settings by FrameParams field name and re-run once. A bad value raises a
        ParameterError naming it (nothing changes); the controls move to what was set."""
        p = self._params.replace(**values)
        check_control_value("FrameLab", "seed", self._controls["seed"], p.seed)
        self._run(p, move_controls=True)

    # ---- drawing ----------------------------------------------------------------------------
    def _draw(self, r: RenderResult) -> None:
        end_s = max(r.seconds, float(r.frame_t_s[-1] + r.frame_ms[-1] / 1000))
        budget = r.budget_ms
        ft, fy = thin_frames(r.frame_t_s, r.frame_ms)
        top = max(float(np.max(r.frame_ms)), budget) * 1.1
        s0, s1 = gc_spans(r)
        # A 20 ms cycle on a 10 s axis is under one pixel: draw each at least MIN_SPAN_FRACTION
        # of the axis wide (starting where it started), so every cycle stays visible.
        s1 = np.maximum(s1, s0 + MIN_SPAN_FRACTION * end_s)
        if s0.size:
            sx = np.stack([s0, s1, s1, s0, s0], axis=1)
            sy = np.tile([0.0, 0.0, top, top, 0.0], (s0.size, 1))
        else:  # nothing to shade: one empty box
            sx, sy = np.zeros((1, 5)), np.zeros((1, 5))
        edges = histogram_bins(r.frame_ms, budget)
        counts, _ = np.histogram(r.frame_ms, bins=edges)
        ht, hy = thin_heap(r.t_s, r.heap_mb)
        gt, goal, tt, trig = heap_goal_steps(r)
        heap_top = max(
            float(np.max(hy)) if hy.size else 0.0,
            float(np.max(goal)) if goal.size else 0.0,
        )
        with held(self._timeline, self._tx, self._ty, self._spans, self._frames, self._budget):
            self._tx.min, self._tx.max = 0.0, end_s
            self._ty.min, self._ty.max = 0.0, top
            self._spans.x, self._spans.y = sx, sy
            self._frames.x, self._frames.y = ft, fy
            self._budget.x, self._budget.y = [0.0, end_s], [budget, budget]
        with held(self._histogram, self._hx, self._hy, self._bars, self._hist_budget):
            self._hx.min, self._hx.max = 0.0, float(edges[-1])
            self._hy.max = float(max(counts.max(), 1)) * 1.05
            self._bars.x, self._bars.y = (edges[:-1] + edges[1:]) / 2, counts
            self._hist_budget.x = [budget, budget]
            self._hist_budget.y = [0.0, float(max(counts.max(), 1)) * 1.05]
        with held(self._heapfig, self._mx, self._my, self._heap, self._goal, self._trigger):
            self._mx.min, self._mx.max = 0.0, end_s
            self._my.min, self._my.max = 0.0, heap_top * 1.08 if heap_top > 0 else 1.0
            self._heap.x, self._heap.y = ht, hy
            # GC off (no goal) or no cycle yet (no trigger): a single point at the origin.
            self._goal.x, self._goal.y = (gt, goal) if gt.size else ([0.0], [0.0])
            self._trigger.x, self._trigger.y = (tt, trig) if tt.size else ([0.0], [0.0])
        self._timeline.title = (
            f"Frame times: {100 * r.jank_fraction:.1f} % over the {budget:.1f} ms budget, "
            f"{r.gc_cycles_per_s:.1f} GC cycles/s (shaded)"
        )

    # ---- what the figures show (tests read these) ----------------------------------------------
    @property
    def marks(self) -> dict[str, dict[str, np.ndarray]]:
        """The data each mark holds now, by name: frames, budget, gc_spans, histogram, heap,
        goal, trigger (``{"x": ..., "y": ...}``)."""
        pairs = {
            "frames": self._frames,
            "budget": self._budget,
            "gc_spans": self._spans,
            "histogram": self._bars,
            "heap": self._heap,
            "goal": self._goal,
            "trigger": self._trigger,
        }
        return {k: {"x": np.asarray(m.x), "y": np.asarray(m.y)} for k, m in pairs.items()}
