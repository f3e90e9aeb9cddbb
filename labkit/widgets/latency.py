"""Latency by percentile: several runs of the same requests on one plot, real Go and the model.

A table of p50 and p99 hides how two servers differ between them. Drawn as a curve (latency at
every percentile), a pool with more workers than Ps shows its trade at a glance: its curve lies
below at the median and above in the tail, because the extra goroutines share the Ps in 10 ms
slices (sysmon's preemption, retake in src/runtime/proc.go) instead of queueing in a channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.widgets._style import colour_for, legend_html
from labkit.widgets.panel import Panel

#: The percentiles each curve is drawn at: every whole one, then the tail in finer steps.
PERCENTILES = np.concatenate([np.arange(0.0, 99.0), np.linspace(99.0, 99.9, 10)])


class LatencyPercentiles(Panel):
    """One curve per run: latency (ms) at each percentile. ``runs`` holds (label, latencies in
    ms, dashed) triples; give a real run and the model's run of it the same colour by listing
    them as neighbours with ``pairs=True`` (real solid, model dashed)."""

    def __init__(
        self,
        runs: Sequence[tuple[str, Any, bool]],
        *,
        title: str = "Latency by percentile",
        pairs: bool = False,
        height_px: int = 300,
    ) -> None:
        if not runs:
            raise ParameterError(
                "LatencyPercentiles: runs is empty; give (label, latencies_ms, dashed)"
            )
        curves, legend = [], []
        for i, (label, values, dashed) in enumerate(runs):
            lat = np.asarray(values, dtype=float)
            if lat.ndim != 1 or lat.size == 0 or not np.all(np.isfinite(lat)):
                raise ParameterError(
                    f"LatencyPercentiles: run {label!r} needs a non-empty list of finite "
                    f"latencies in ms, got {lat.size} values"
                )
            colour = colour_for(i // 2 if pairs else i)
            curves.append((np.percentile(lat, PERCENTILES), colour, dashed))
            legend.append((f"{label}{' (dashed)' if dashed else ''}", colour))
        # x: the share of requests slower than the curve, on a log scale and reversed, so
        # that the median (50 %), p99 (1 %) and p99.9 (0.1 %) get room in that order
        xs = bq.LogScale(min=0.1, max=100.0, reverse=True)
        ys = bq.LinearScale(min=0.0)
        marks = [
            bq.Lines(
                x=100.0 - PERCENTILES,
                y=y,
                colors=[colour],
                line_style="dashed" if dashed else "solid",
                stroke_width=2,
                scales={"x": xs, "y": ys},
            )
            for y, colour, dashed in curves
        ]
        self.figure = bq.Figure(
            marks=marks,
            axes=[
                bq.Axis(
                    scale=xs,
                    label="requests slower than this (%): 50 is the median, 1 is p99",
                    tick_format="~g",
                ),
                bq.Axis(scale=ys, side="left", label="latency (ms)"),
            ],
            title=title,
            layout=w.Layout(width="100%", height=f"{height_px}px"),
        )
        summary = "; ".join(
            f"{label}: p50 {np.percentile(v, 50):.1f} ms, p99 {np.percentile(v, 99):.1f} ms"
            for label, v, _ in runs
        )
        super().__init__([self.figure, w.HTML(legend_html(legend))], summary=summary)
