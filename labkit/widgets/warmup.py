"""The start page's warm-up widget: how often must the GC run if every frame allocates?

A first taste of the course's pattern (a model function, a thin view, a text summary): each
frame allocates one ``width x height`` RGBA buffer, so the allocation rate is
``width * height * 4 * fps`` bytes per second; the pacer lets the heap grow from the live heap
to the heap goal before the next cycle must finish, so the GC runs about
``allocation rate / (heap goal - live heap)`` times per second (labkit.models.gcpacer.heap_goal_bytes,
mirroring gcControllerState.heapGoal in src/runtime/mgcpacer.go). Chapter 1 builds the full
frame-pipeline model on this.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.validation import check_int
from labkit.widgets._style import (
    OKABE_ITO,
    TextFallback,
    error_output,
    errors_shown_in,
    legend_html,
    summary_html,
)

MIB = 1 << 20


def gc_cycles_per_s(
    fps: np.ndarray | float, width: int, height: int, live_heap_mib: float, gogc: int
) -> np.ndarray:
    """Steady-state GC cycles per second when each frame allocates one RGBA buffer."""
    from labkit.models.gcpacer import heap_goal_bytes

    live_bytes = live_heap_mib * MIB
    runway_bytes = heap_goal_bytes(live_bytes, gogc=gogc) - live_bytes
    alloc_bytes_per_s = np.asarray(fps, dtype=float) * width * height * 4
    return alloc_bytes_per_s / runway_bytes


class PacerWarmup(TextFallback, w.VBox):
    """GC cycles per second against frame rate, with sliders for GOGC and the live heap.

    The y axis is logarithmic with fixed bounds, and a grey curve stays at the defaults
    (GOGC=100, 64 MiB): the cycle rate is proportional to the frame rate, so on an axis that
    rescaled itself every setting would draw the same line; here a slider moves the curve.
    """

    FPS = np.arange(10, 145, 1.0)
    #: The defaults the grey reference curve shows (Go's GOGC default; a modest live heap).
    DEFAULT_GOGC = 100
    DEFAULT_LIVE_MIB = 64

    def __init__(self, width: int = 1024, height: int = 768) -> None:
        width = check_int("width", width, 1, 16_384, where="PacerWarmup")
        height = check_int("height", height, 1, 16_384, where="PacerWarmup")
        self._width, self._height = width, height
        self._gogc = w.IntSlider(
            value=100,
            min=25,
            max=400,
            step=25,
            description="GOGC (%)",
            continuous_update=False,
            style={"description_width": "9em"},
        )
        self._live = w.IntSlider(
            value=64,
            min=8,
            max=512,
            step=8,
            description="live heap (MiB)",
            continuous_update=False,
            style={"description_width": "9em"},
        )
        xs = bq.LinearScale(min=0, max=150)
        ys = bq.LogScale(min=0.01, max=1000.0)  # covers every slider setting at 10-144 fps
        reference = gc_cycles_per_s(
            self.FPS, width, height, self.DEFAULT_LIVE_MIB, self.DEFAULT_GOGC
        )
        self._reference = bq.Lines(
            x=self.FPS,
            y=reference,
            scales={"x": xs, "y": ys},
            colors=["#b0b0b0"],
            stroke_width=2,
            line_style="dashed",
        )
        self._curve = bq.Lines(
            x=self.FPS,
            y=np.zeros_like(self.FPS),
            scales={"x": xs, "y": ys},
            colors=[OKABE_ITO[0]],
            stroke_width=3,
        )
        self._dot = bq.Scatter(
            x=[60.0], y=[0.0], scales={"x": xs, "y": ys}, colors=[OKABE_ITO[5]], default_size=80
        )
        self._figure = bq.Figure(
            marks=[self._reference, self._curve, self._dot],
            axes=[
                bq.Axis(scale=xs, label="frames per second"),
                bq.Axis(
                    scale=ys,
                    side="left",
                    label="GC cycles per second",
                    tick_values=[0.01, 0.1, 1, 10, 100, 1000],
                    tick_format="~g",
                ),
            ],
            title=f"One {width}x{height} RGBA buffer allocated per frame",
            layout=w.Layout(width="100%", height="320px"),
            fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 20},
        )
        self._summary = w.HTML()
        self._key = w.HTML(
            legend_html(
                [
                    ("your settings", OKABE_ITO[0]),
                    (f"GOGC={self.DEFAULT_GOGC}, {self.DEFAULT_LIVE_MIB} MiB (dashed)", "#b0b0b0"),
                    ("60 fps", OKABE_ITO[5]),
                ]
            )
        )
        self._errors = error_output()
        for slider in (self._gogc, self._live):
            slider.observe(self._update, names="value")
        super().__init__(
            [w.HBox([self._gogc, self._live]), self._figure, self._key, self._summary, self._errors]
        )
        self._update()

    def _update(self, _change=None) -> None:
        with errors_shown_in(self._errors):
            gogc, live = self._gogc.value, self._live.value
            y = gc_cycles_per_s(self.FPS, self._width, self._height, live, gogc)
            at60 = float(gc_cycles_per_s(60.0, self._width, self._height, live, gogc))
            with self._figure.hold_sync():
                self._curve.y = y
                self._dot.y = [at60]
            self._summary.value = summary_html(self.summary())

    def summary(self) -> str:
        gogc, live = self._gogc.value, self._live.value
        from labkit.models.gcpacer import heap_goal_bytes

        goal_mib = heap_goal_bytes(live * MIB, gogc=gogc) / MIB
        rate_mib = self._width * self._height * 4 * 60 / MIB
        at60 = float(gc_cycles_per_s(60.0, self._width, self._height, live, gogc))
        return (
            f"GOGC={gogc}, live heap {live} MiB: heap goal {goal_mib:.0f} MiB; at 60 fps "
            f"{rate_mib:.0f} MiB/s of frames -> {at60:.1f} GC cycles/s"
        )

    def set(self, *, gogc: int | None = None, live_heap_mib: int | None = None) -> None:
        """Move the sliders from Python (tests, instructors)."""
        if gogc is not None:
            self._gogc.value = gogc
        if live_heap_mib is not None:
            self._live.value = live_heap_mib

    @property
    def curve_y(self) -> np.ndarray:
        return np.asarray(self._curve.y)
