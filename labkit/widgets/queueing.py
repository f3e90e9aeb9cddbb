"""The queueing core's figure: a pool's wait and p99 against utilisation, the model's runs as
dots over the formulas as dashes (chapter 4b, section 4.5).

A thin view: the simulated rows come from ``labkit.models.pool.queueing.hockey_stick`` and the
curves from its formulas (Erlang C for the mean wait, the M/M/c p99); it draws what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.widgets._style import OKABE_ITO, legend_html
from labkit.widgets.panel import Panel

__all__ = ["HockeyStickPlot"]

_ROW_KEYS = ("utilisation", "mean_wait_ms", "p99_ms", "erlang_c_wait_ms")


class HockeyStickPlot(Panel):
    """Mean wait (blue) and p99 latency (orange) against utilisation: ``runs`` as dots (rows
    with utilisation, mean_wait_ms, p99_ms, erlang_c_wait_ms), ``rho`` with ``wait_curve_ms``
    and ``p99_curve_ms`` as dashed lines."""

    def __init__(
        self,
        runs: Sequence[Mapping[str, Any]],
        rho: Sequence[float],
        wait_curve_ms: Sequence[float],
        p99_curve_ms: Sequence[float],
        *,
        title: str = "the hockey stick",
        height_px: int = 320,
    ) -> None:
        missing = [k for k in _ROW_KEYS if runs and k not in runs[0]]
        if not runs or missing:
            raise ParameterError(
                f"HockeyStickPlot: runs must be hockey_stick(...)'s rows with {', '.join(_ROW_KEYS)}"
                f"; got {len(runs)} rows" + (f" missing {missing}" if missing else "")
            )
        rho = np.asarray(rho, dtype=float)
        if not (len(rho) == len(wait_curve_ms) == len(p99_curve_ms)):
            raise ParameterError(
                "HockeyStickPlot: rho, wait_curve_ms and p99_curve_ms must be as long as each "
                f"other, got {len(rho)}, {len(wait_curve_ms)}, {len(p99_curve_ms)}"
            )
        xs, ys = bq.LinearScale(min=0, max=1), bq.LinearScale(min=0)
        blue, orange = OKABE_ITO[0], OKABE_ITO[1]
        util = [r["utilisation"] for r in runs]

        def dashed(y: Sequence[float], colour: str) -> bq.Lines:
            return bq.Lines(
                x=rho, y=np.asarray(y, dtype=float), colors=[colour], line_style="dashed",
                scales={"x": xs, "y": ys},
            )  # fmt: skip

        def dots(key: str, colour: str) -> bq.Scatter:
            y = [r[key] for r in runs]
            return bq.Scatter(x=util, y=y, colors=[colour], scales={"x": xs, "y": ys})

        self.figure = bq.Figure(
            marks=[
                dashed(p99_curve_ms, orange),
                dashed(wait_curve_ms, blue),
                dots("p99_ms", orange),
                dots("mean_wait_ms", blue),
            ],
            axes=[
                bq.Axis(scale=xs, label="utilisation rho"),
                bq.Axis(scale=ys, orientation="vertical", label="ms"),
            ],
            title=title,
            layout=w.Layout(width="100%", height=f"{height_px}px"),
        )
        legend = legend_html(
            [
                ("p99 latency (dots: model, dashes: M/M/c)", orange),
                ("mean wait (dots: model, dashes: Erlang C)", blue),
            ]
        )
        caption = "figure: " + "; ".join(
            f"rho {r['utilisation']:.2f}: wait {r['mean_wait_ms']:.1f} ms "
            f"(Erlang C {r['erlang_c_wait_ms']:.1f}), p99 {r['p99_ms']:.0f} ms"
            for r in runs
        )
        super().__init__([self.figure, w.HTML(legend)], summary=caption)
