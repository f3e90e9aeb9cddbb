"""Chapter 1's frames, the model's above real Go's, and Go's own trace of who held the P.

The two frame figures share one time axis, ms since the render loop began (the model's virtual
time; the trace's clock less the creation of the program's render goroutine,
``labkit.golab.frame_twin.Frames.origin_ms``): a dot per frame at its start, its length up the
axis, late frames in vermillion, the budget dashed and each GC cycle shaded. Below them the
execution trace's timeline (``SchedulerTimeline``, per P) opens on one late frame inside a GC
cycle, so the learner sees which goroutine held the one P while the frame waited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.widgets._style import OKABE_ITO, TextFallback
from labkit.widgets.timeline import SchedulerTimeline

__all__ = ["FrameTracePair"]

#: Light shading of a GC cycle behind the frames (as the frame lab's).
GC_SHADE = "#CC79A7"


def _frame_figure(frames: Any, xs: bq.LinearScale, top: float, title: str) -> bq.Figure:
    ys = bq.LinearScale(min=0.0, max=top)
    t = frames.start_ms - frames.origin_ms
    late = frames.late
    gc = frames.gc_ms - frames.origin_ms
    lo, hi = np.asarray(frames.window_ms) - frames.origin_ms
    gc = gc[(gc[:, 1] > lo) & (gc[:, 0] < hi)] if len(gc) else gc
    if len(gc):
        sx = np.stack([gc[:, 0], gc[:, 1], gc[:, 1], gc[:, 0], gc[:, 0]], axis=1)
        sy = np.tile([0.0, 0.0, top, top, 0.0], (len(gc), 1))
    else:
        sx, sy = np.zeros((1, 5)), np.zeros((1, 5))
    scales = {"x": xs, "y": ys}
    marks = [
        bq.Lines(
            x=sx,
            y=sy,
            scales=scales,
            fill="inside",
            close_path=True,
            colors=["white"],
            fill_colors=[GC_SHADE] * len(sx),
            fill_opacities=[0.25] * len(sx),
            stroke_width=0,
        ),
        bq.Lines(
            x=[lo, hi],
            y=[frames.budget_ms] * 2,
            scales=scales,
            colors=[OKABE_ITO[7]],
            line_style="dashed",
        ),
        bq.Scatter(
            x=t[~late] if (~late).any() else [lo],
            y=frames.frame_ms[~late] if (~late).any() else [0.0],
            scales=scales,
            colors=[OKABE_ITO[0]],
            default_size=12,
        ),
        bq.Scatter(
            x=t[late] if late.any() else [lo],
            y=frames.frame_ms[late] if late.any() else [0.0],
            scales=scales,
            colors=[OKABE_ITO[5]] if late.any() else ["white"],
            default_size=30,
        ),
    ]
    return bq.Figure(
        marks=marks,
        axes=[
            bq.Axis(scale=xs, label="ms since the render loop began"),
            bq.Axis(scale=ys, side="left", label="frame (ms)"),
        ],
        title=title,
        layout=w.Layout(width="100%", height="200px"),
        fig_margin={"top": 40, "bottom": 45, "left": 55, "right": 20},
    )


def _describe(frames: Any) -> str:
    late = frames.late
    return (
        f"{int(late.sum())} of {late.size} frames late ({int((late & frames.in_gc).sum())} in a "
        f"GC cycle), {frames.gc_cycles} GC cycles, p99 {np.percentile(frames.frame_ms, 99):.1f} ms"
    )


class FrameTracePair(TextFallback, w.VBox):
    """``model`` and ``real`` (labkit.golab.frame_twin.Frames) on one time axis, and ``trace``
    (the real run's labkit.traces.Trace) per P around the late frame inside a GC cycle that
    waited longest for the P (or ``focus_ms``, a (start, end) in trace ms)."""

    def __init__(
        self,
        model: Any,
        real: Any,
        trace: Any,
        *,
        kinds: Mapping[str, str] | None = None,
        focus_ms: tuple[float, float] | None = None,
    ) -> None:
        for name, frames in (("model", model), ("real", real)):
            if not all(hasattr(frames, a) for a in ("start_ms", "frame_ms", "gc_ms", "origin_ms")):
                raise ParameterError(
                    f"FrameTracePair: {name} must be labkit.golab.frame_twin Frames (model_frames "
                    f"or real_frames), got {type(frames).__name__}"
                )
        if not hasattr(trace, "goroutine_label"):
            raise ParameterError(
                f"FrameTracePair: trace must be a labkit.traces Trace, got {type(trace).__name__}"
            )
        self.model, self.real, self.trace = model, real, trace
        self._frame: tuple[float, float] | None = None  # the wait of the frame shown below
        top = 1.1 * max(float(model.frame_ms.max()), float(real.frame_ms.max()), model.budget_ms)
        lo = min(model.window_ms[0] - model.origin_ms, real.window_ms[0] - real.origin_ms)
        hi = max(model.window_ms[1] - model.origin_ms, real.window_ms[1] - real.origin_ms)
        xs = bq.LinearScale(min=float(lo), max=float(hi))
        self.model_figure = _frame_figure(model, xs, top, f"The model: {_describe(model)}")
        self.real_figure = _frame_figure(real, xs, top, f"Real Go: {_describe(real)}")
        self.focus_ms = focus_ms if focus_ms is not None else self._longest_late_in_gc()
        self.timeline = SchedulerTimeline(
            200, title="Real Go's trace around its late frame that waited longest: who held the P"
        )
        self.timeline.show(trace, kinds=kinds)
        if self.focus_ms is not None:
            self.timeline._window.value = tuple(float(x) for x in self.focus_ms)
        super().__init__([self.model_figure, self.real_figure, self.timeline])
        self.add_class("labkit-frame-trace-pair")

    def _longest_late_in_gc(self) -> tuple[float, float] | None:
        """The late frame inside a GC cycle that waited longest for the P (else any late
        frame): from 20 ms before it was due to 5 ms after it ended, in trace ms."""
        f = self.real
        pick = f.late & f.in_gc
        if not pick.any():
            pick = f.late
        if not pick.any():
            return None
        i = int(np.flatnonzero(pick)[np.argmax(f.wait_ms[pick])])
        self._frame = (float(f.start_ms[i]), float(f.start_ms[i] + f.wait_ms[i]))
        return (self._frame[0] - 20.0, float(f.start_ms[i] + f.frame_ms[i]) + 5.0)

    def summary(self) -> str:
        text = f"model: {_describe(self.model)} | real Go: {_describe(self.real)}"
        if self._frame is not None:
            from labkit.golab.frame_twin import who_held_the_p

            a, b = self._frame
            held = who_held_the_p(self.trace, a, b)
            shown = [(k, v) for k, v in held.items() if v >= 0.05][:3]
            parts = ", ".join(f"{k} {v:.1f} ms" for k, v in shown)
            text += f" | a late frame due at {a:.0f} ms of the trace waited {b - a:.1f} ms: the P ran {parts}"
        return text
