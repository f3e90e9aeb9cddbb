"""The incident lab: the three fixes as toggles, load and runtime knobs, and the five layers.

A thin view over ``labkit.scenarios.casestudy``: every change re-runs the model (20-80 ms; every slider
has ``continuous_update=False``) for the current settings and, once per setting of the other
knobs, for the same settings with every fix off ("before"). It shows the diagnosis table side by
side, the latency distribution before and after, the scheduler timeline and goroutine states of
the current run, and a text summary that names the parameters and the seed. When both runs are
new, the current run's own views are drawn before "before" runs (``_update``).

A run is a pure function of its parameters (same parameters and seed, same run, bit for bit), so
the lab keeps the last ``RUN_CACHE`` runs by their parameters: toggling a fix off and on again,
or going back to a setting just left, redraws without re-simulating (benchmarks/README.md).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.scenarios.casestudy import FIXES, IncidentParams, IncidentRun, run_incident
from labkit.scenarios.casestudy.diagnosis import diagnosis_html, diagnosis_table
from labkit.widgets._controls import check_control_value, check_params, param_slider, seed_box
from labkit.widgets._style import (
    GREY,
    OKABE_ITO,
    TextFallback,
    error_output,
    errors_shown_in,
    held,
    legend_html,
    summary_html,
)
from labkit.widgets.timeline import GoroutineStatePlot, SchedulerTimeline

_STYLE = {"description_width": "12em"}
_WIDE = w.Layout(width="28em")
LATENCY_BINS = 30
#: Runs kept by their parameters (about 6 MB each): the eight on/off combinations of the three
#: fixes at one setting of the other knobs, with their shared "before" among them.
RUN_CACHE = 8
_FIX_LABELS = {
    "cache_json": "1. cache the JSON",
    "stream": "2. stream the response",
    "db_timeout": "3. DB timeout + fallback",
}


def _ticks(top: float, count: int = 6) -> np.ndarray:
    """Round tick values from 0 to ``top``: steps of 1, 2 or 5 x 10^k, at most ``count``."""
    raw = max(top, 1.0) / (count - 1)
    base = 10.0 ** np.floor(np.log10(raw))
    step = next(m * base for m in (1.0, 2.0, 5.0, 10.0) if m * base >= raw)
    return np.arange(0.0, top + 1e-9, step)


def _slider(name: str, desc: str) -> w.IntSlider | w.FloatSlider:
    """A control over IncidentParams' ``name``, over the range it declares for the lab."""
    return param_slider(IncidentParams, name, desc, label_em=12, width_em=28)


def _controls() -> dict[str, w.ValueWidget]:
    """The load and runtime controls by IncidentParams field name, over its declared ranges."""
    return {
        "clients": _slider("clients", "dashboards (clients)"),
        "poll_ms": _slider("poll_ms", "poll interval (ms)"),
        "payload_kb": _slider("payload_kb", "JSON payload (KiB)"),
        "db_pool": _slider("db_pool", "DB connections"),
        "db_median_ms": _slider("db_median_ms", "DB query median (ms)"),
        "db_driver": w.Dropdown(
            options=[("pure Go (netpoller)", "network"), ("cgo (blocking call)", "cgo")],
            description="DB driver",
            style=_STYLE,
            layout=_WIDE,
        ),
        "timeout_ms": _slider("timeout_ms", "DB timeout (ms)"),
        "gomaxprocs": _slider("gomaxprocs", "GOMAXPROCS"),
        "gogc": _slider("gogc", "GOGC (%)"),
        "seed": seed_box(label_em=12),
    }


class IncidentLab(TextFallback, w.VBox):
    """Toggles for the fixes, sliders for load and runtime; table, plots and summary."""

    def __init__(self, params: IncidentParams | None = None, **overrides: Any) -> None:
        start = check_params("IncidentLab", params, IncidentParams) or IncidentParams()
        start = start.replace(**overrides)  # a bad value raises here, naming the parameter
        self._fixes = {
            f: w.ToggleButton(description=_FIX_LABELS[f], tooltip=f, layout=w.Layout(width="15em"))
            for f in FIXES
        }
        self._controls = _controls()
        self._params = start
        self._result: IncidentRun | None = None
        self._before: IncidentRun | None = None
        self._shown: IncidentRun | None = None  # the run whose own views are drawn
        self._runs: OrderedDict[IncidentParams, IncidentRun] = OrderedDict()
        self._paused = False
        self.last_update_s = 0.0

        self._summary = w.HTML()
        self._table = w.HTML()
        # merged under a pixel: a run's ~1,700 stretches are ~600 boxes, a third of the redraw
        self._timeline = SchedulerTimeline(height_px=220, merge_px=1.0)
        self._states = GoroutineStatePlot(height_px=200)
        self._latency = self._latency_histogram()
        self._latency_legend = w.HTML(
            legend_html([("before (no fix)", GREY), ("after (current)", OKABE_ITO[0])])
        )
        self._errors = error_output()
        self._set_controls(self._params)
        for control in [*self._fixes.values(), *self._controls.values()]:
            control.observe(self._on_change, names="value")

        super().__init__(self._layout())
        self.add_class("labkit-incident")
        self._update()

    def _latency_histogram(self) -> bq.Figure:
        """Request latency before (no fix) and after, as grouped bars, built once."""
        self._xs = bq.LinearScale(min=0.0)
        self._ys = bq.LinearScale(min=0.0)
        self._bars = bq.Bars(
            x=np.zeros(2),
            y=np.zeros((2, 2)),
            scales={"x": self._xs, "y": self._ys},
            type="grouped",
            colors=[GREY, OKABE_ITO[0]],
            padding=0.1,
            labels=["before", "after"],
            display_legend=False,
        )
        # Explicit tick values from 0: a Bars mark pads a linear scale's range by half a bar, and
        # the axis would otherwise label the padding with a negative latency tick.
        self._x_axis = bq.Axis(
            scale=self._xs, label="request latency (ms)", tick_values=_ticks(100.0), tick_format="d"
        )
        return bq.Figure(
            marks=[self._bars],
            axes=[
                self._x_axis,
                bq.Axis(scale=self._ys, side="left", label="requests", tick_format="d"),
            ],
            title="Latency distribution",
            layout=w.Layout(width="100%", height="220px"),
            fig_margin={"top": 30, "bottom": 45, "left": 55, "right": 20},
        )

    def _layout(self) -> list[w.Widget]:
        """The fixes, the load and the runtime side by side; the summary, the five-layer table,
        the latency histogram and the two scheduler views of the run."""
        c = self._controls
        fixes = w.VBox([w.HTML("<b>Fixes</b>"), *self._fixes.values()])
        load = w.VBox(
            [w.HTML("<b>Load and database</b>"), c["clients"], c["poll_ms"], c["payload_kb"],
             c["db_pool"], c["db_median_ms"], c["db_driver"]]
        )  # fmt: skip
        runtime = w.VBox(
            [w.HTML("<b>Runtime</b>"), c["timeout_ms"], c["gomaxprocs"], c["gogc"], c["seed"]]
        )
        return [
            w.HBox([fixes, load, runtime]),
            self._summary,
            w.HTML("<b>Five-layer diagnosis</b>"),
            self._table,
            self._latency,
            self._latency_legend,
            self._timeline,
            self._states,
            self._errors,
        ]

    # ---- state --------------------------------------------------------------------------------
    @property
    def params(self) -> IncidentParams:
        return self._params

    @property
    def result(self) -> IncidentRun | None:
        """The current run (all its metrics in ``.metrics``)."""
        return self._result

    @property
    def controls(self) -> dict[str, w.ValueWidget]:
        """The fixes' toggles and the sliders, by IncidentParams field name."""
        return {**self._fixes, **self._controls}

    @property
    def error(self) -> str:
        """Always '': every control's range is IncidentParams' own, and a bad value from code
        raises at the call."""
        return ""

    @property
    def before(self) -> IncidentRun | None:
        """The same settings with every fix off."""
        return self._before

    @property
    def latency_figure(self) -> bq.Figure:
        return self._latency

    def summary(self) -> str:
        return self._result.summary() if self._result else ""

    def table(self) -> list[dict[str, str]]:
        """The five-layer table, before (no fix) and after (current settings)."""
        if self._result is None or self._before is None:
            return []
        return diagnosis_table(self._before, self._result)

    def _set_controls(self, params: IncidentParams) -> None:
        for name, control in self._controls.items():
            check_control_value("IncidentLab", name, control, getattr(params, name))
        self._paused = True
        try:
            for f, toggle in self._fixes.items():
                toggle.value = bool(getattr(params, f))
            for name, control in self._controls.items():
                control.value = getattr(params, name)
        finally:
            self._paused = False

    def _read_controls(self) -> IncidentParams:
        values = {name: c.value for name, c in self._controls.items()}
        values.update({f: t.value for f, t in self._fixes.items()})
        return self._params.replace(**values)

    # ---- events -------------------------------------------------------------------------------
    def _on_change(self, _change) -> None:
        if not self._paused:
            self._update()

    def _update(self) -> None:
        """Run and draw the current settings; with a fix on and a "before" not yet run, draw
        the current run first (summary, timeline, goroutine states: what the learner changed)
        and the comparison (table, latency histogram) once "before" has run. A new setting
        with a fix on needs two runs; drawn this way, the first figures change after one."""
        with errors_shown_in(self._errors):
            t0 = time.perf_counter()
            self._params = self._read_controls()
            base = replace(self._params, **dict.fromkeys(FIXES, False))
            self._result = self._run(self._params)
            if base not in self._runs:
                self._draw_run()
            self._before = self._run(base)
            self._draw()
            self.last_update_s = time.perf_counter() - t0

    def _run(self, params: IncidentParams) -> IncidentRun:
        """The run for ``params``: the kept one if these parameters ran lately (a run depends on
        nothing else), else a new one, kept in place of the least recently used."""
        run = self._runs.get(params)
        if run is None:
            run = self._runs[params] = run_incident(params)
            if len(self._runs) > RUN_CACHE:
                self._runs.popitem(last=False)
        self._runs.move_to_end(params)
        return run

    def _draw_run(self) -> None:
        """The current run's own views: its summary, timeline and goroutine states (once per
        run: ``_draw`` after ``_draw_run`` does not draw them again)."""
        run = self._result
        assert run is not None
        if run is self._shown:
            return
        self._summary.value = summary_html(run.summary())
        self._timeline.show(run.result)
        self._states.show(run.state_view())
        self._shown = run

    def _draw(self) -> None:
        """Every view: the current run's (``_draw_run``), then the comparison with "before"."""
        run, before = self._result, self._before
        assert run is not None and before is not None
        self._draw_run()
        label = "after (" + (", ".join(run.params.fixes()) or "no fix") + ")"
        self._table.value = diagnosis_html(diagnosis_table(before, run), after_label=label)
        a = before.latency_ms[np.isfinite(before.latency_ms)]
        b = run.latency_ms[np.isfinite(run.latency_ms)]
        top = float(max(a.max(initial=1.0), b.max(initial=1.0)))
        edges = np.linspace(0.0, top * 1.02, LATENCY_BINS + 1)
        ha = np.histogram(a, edges)[0].astype(float)
        hb = np.histogram(b, edges)[0].astype(float)
        with held(self._latency, self._bars, self._xs, self._ys, self._x_axis):
            self._bars.x = 0.5 * (edges[:-1] + edges[1:])
            self._bars.y = np.vstack([ha, hb])
            self._xs.min, self._xs.max = 0.0, float(edges[-1])
            self._x_axis.tick_values = _ticks(float(edges[-1]))
            self._ys.max = float(max(ha.max(), hb.max(), 1.0)) * 1.05

    # ---- driving from Python (tests, instructors) ---------------------------------------------
    def set(self, **values) -> None:
        """Set fixes and controls by parameter name (``set(cache_json=True, clients=30)``) and
        re-run once."""
        known = set(self._controls) | set(self._fixes)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown control(s) {unknown}; known: {sorted(known)}")
        for name, value in values.items():
            control = self._fixes.get(name) or self._controls[name]
            check_control_value("IncidentLab", name, control, value)
        self._paused = True
        try:
            for name, value in values.items():
                (self._fixes.get(name) or self._controls[name]).value = value
        finally:
            self._paused = False
        self._update()
