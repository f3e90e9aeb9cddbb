"""Views of a real service's run: its progress while it runs, and its Prometheus series.

``RunProgress`` is the bar a live run fills (``run_service(..., progress=bar)`` calls it at each
step: build, start, load, collect, queries, stop). ``FpsStatesPlot`` draws the article's section
3.3 picture, a frame-rate gauge over goroutine counts by state, from what Prometheus scraped;
chapter 3 draws the same picture from the model (``Result.marks`` and ``Result.states``).
Both are thin: they draw data they are given and compute nothing of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.widgets._style import STATE_COLOURS, legend_html
from labkit.widgets.panel import Panel

__all__ = ["PROGRESS_TEXT", "FpsStatesPlot", "RunProgress"]

#: What a progress bar's output says where no kernel runs it.
PROGRESS_TEXT = "[RunProgress: a progress bar, drawn while the cell runs]"


class RunProgress(w.HBox):
    """A progress bar and the step it is at; call it as ``progress(step, fraction)``."""

    def __init__(self, title: str = "run") -> None:
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="40%"))
        self.label = w.Label(f"{title}: not started")
        self.title = title
        self.steps: list[str] = []
        super().__init__([self.bar, self.label])
        self.add_class("labkit-runprogress")

    def _repr_mimebundle_(self, **kwargs):
        """Without a kernel (GitHub, nbviewer, the site) a bar has nothing to show: say what it
        was, not ipywidgets' repr of its children."""
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = PROGRESS_TEXT
        return bundle

    def __call__(self, step: str, fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ParameterError(f"fraction must be within 0..1, got {fraction!r}")
        self.steps.append(step)
        self.bar.value = float(fraction)
        self.label.value = f"{self.title}: {step}"


class FpsStatesPlot(Panel):
    """Frames per second (left axis, black) over goroutine counts by state (right axis, steps).

    ``fps``: (times in s, values); ``states``: state name -> (times in s, counts), state names
    as the course colours them (running, runnable, waiting, syscall)."""

    def __init__(
        self,
        fps: tuple[Sequence[float], Sequence[float]],
        states: Mapping[str, tuple[Sequence[float], Sequence[float]]],
        *,
        x_label: str = "time (s)",
        caption: str = "",
        height_px: int = 300,
    ) -> None:
        unknown = sorted(set(states) - set(STATE_COLOURS))
        if unknown:
            raise ParameterError(
                f"FpsStatesPlot: unknown state(s) {unknown}; use {', '.join(STATE_COLOURS)}"
            )
        fps_t, fps_v = (np.asarray(a, dtype=float) for a in fps)
        if fps_t.size == 0:
            raise ParameterError("FpsStatesPlot: no frame-rate samples to draw (fps is empty)")
        ends = [fps_t.max(), *(np.max(np.asarray(t, dtype=float)) for t, _ in states.values())]
        xs = bq.LinearScale(min=0.0, max=float(max(ends)))
        top = max(
            [1.0, *(float(np.nanmax(np.asarray(v, dtype=float))) for _, v in states.values())]
        )
        ys_fps = bq.LinearScale(min=0.0, max=max(70.0, float(np.nanmax(fps_v)) * 1.1))
        ys_n = bq.LinearScale(min=0.0, max=top + 1)
        lines = [
            bq.Lines(
                x=np.asarray(t, dtype=float),
                y=np.asarray(v, dtype=float),
                scales={"x": xs, "y": ys_n},
                colors=[STATE_COLOURS[s]],
                interpolation="step-after",
            )
            for s, (t, v) in states.items()
        ]
        fps_line = bq.Lines(
            x=fps_t, y=fps_v, scales={"x": xs, "y": ys_fps}, colors=["#000000"], stroke_width=2
        )
        self.figure = bq.Figure(
            marks=[*lines, fps_line],
            axes=[
                bq.Axis(scale=xs, label=x_label),
                bq.Axis(scale=ys_fps, orientation="vertical", label="frames per second"),
                bq.Axis(scale=ys_n, orientation="vertical", side="right", label="goroutines"),
            ],
            layout=w.Layout(width="100%", height=f"{height_px}px"),
            fig_margin={"top": 20, "bottom": 45, "left": 60, "right": 60},
        )
        legend = [("frames per second (left axis)", "#000000")]
        legend += [(f"{s} goroutines (right axis)", STATE_COLOURS[s]) for s in states]
        super().__init__([self.figure, w.HTML(legend_html(legend))], summary=caption)
        self.add_class("labkit-fpsstates")
