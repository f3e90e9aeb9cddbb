"""The model's timeline and Go's own execution trace of the same program, on one time axis.

Two ``SchedulerTimeline`` views share one time scale (pan or zoom either, both move) and one
time-window slider, and a table puts the measures both sides have side by side
(``labkit.traces.measures``): where the model and the runtime disagree, the difference is in
front of the learner, not hidden in two separate plots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bqplot as bq
import ipywidgets as w

from labkit.errors import ParameterError
from labkit.traces.measures import MEASURES, timeline_measures
from labkit.widgets._style import TextFallback
from labkit.widgets.timeline import SchedulerTimeline

__all__ = ["TimelinePair"]


def _fmt(x: float) -> str:
    """A count as itself, a time of 100 ms or more to the ms (1180, not 1.18e+03), a smaller
    one to three significant digits."""
    x = float(x)
    return f"{x:.0f}" if x.is_integer() or abs(x) >= 100 else f"{x:.3g}"


class TimelinePair(TextFallback, w.VBox):
    """``model`` (a labkit.models.scheduler Result) above ``trace`` (a labkit.traces Trace, or another
    Result), one time axis, and the table of what both show."""

    def __init__(
        self,
        model: Any,
        trace: Any,
        *,
        titles: tuple[str, str] = ("The model", "Real Go (execution trace)"),
        height_px: int = 220,
        kinds: Mapping[str, str] | None = None,
        merge_px: float | None = None,
    ) -> None:
        """``kinds``: the colour group of the trace's goroutines by entry function
        (SchedulerTimeline.show), so that both sides colour the same goroutines alike.
        ``merge_px``: both timelines merge what is under that many pixels
        (SchedulerTimeline's ``merge_px``), for a trace of hundreds of thousands of short
        stretches (a ping-pong's hops); None draws every stretch."""
        for name, run in (("model", model), ("trace", trace)):
            if not all(hasattr(run, a) for a in ("segments", "event_log", "threads", "params")):
                raise ParameterError(
                    f"TimelinePair: {name} must be a labkit.models.scheduler Result or a labkit.traces "
                    f"Trace, got {type(run).__name__}"
                )
        xs = bq.LinearScale(min=0.0, max=1.0)
        self.model_view = SchedulerTimeline(
            height_px, x_scale=xs, title=titles[0], merge_px=merge_px
        )
        self.trace_view = SchedulerTimeline(
            height_px, x_scale=xs, title=titles[1], merge_px=merge_px
        )
        self.model_view.show(model)
        self.trace_view.show(trace, kinds=kinds)
        # One window for both: the longer run's range, each view's own activity in it.
        a, b = self.model_view._window, self.trace_view._window
        end = max(a.max, b.max)
        shown = max(a.value[1], b.value[1])
        for window in (a, b):
            window.max = end
            window.value = (0.0, shown)
        w.link((a, "value"), (b, "value"))
        self._model, self._trace = model, trace
        self.measures = {
            "model": timeline_measures(model),
            "trace": timeline_measures(trace),
        }
        self._table = w.HTML(self._table_html())
        super().__init__([self.model_view, self.trace_view, self._table])
        self.add_class("labkit-timeline-pair")

    def _table_html(self) -> str:
        m, t = self.measures["model"], self.measures["trace"]
        rows = "".join(
            f"<tr><td style='text-align:left;padding:1px 8px'>{label}</td>"
            f"<td style='padding:1px 8px'>{_fmt(m[key])}</td>"
            f"<td style='padding:1px 8px'>{_fmt(t[key])}</td></tr>"
            for key, label in MEASURES
        )
        return (
            "<table style='font-size:90%'><tr><th></th><th>model</th><th>real Go</th></tr>"
            f"{rows}</table>"
        )

    def summary(self) -> str:
        m, t = self.measures["model"], self.measures["trace"]
        return "model vs real Go: " + "; ".join(
            f"{key} {_fmt(m[key])} / {_fmt(t[key])}" for key, _ in MEASURES
        )
