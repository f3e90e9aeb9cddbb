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

import math
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
#: The latency histogram's bins: a fixed grid, this many to a decade (edges 10^(k/8) ms), so a
#: bin is the same from one setting to the next. Latencies here span three decades (a cached,
#: fallback answer ~10 ms, a request behind the DB pool ~2 s): on a linear axis every answer of
#: a fixed service falls in the first bin, and a second fix changes nothing a learner can see.
LATENCY_BINS_PER_DECADE = 8
#: Runs kept by their parameters (about 6 MB each): the eight on/off combinations of the three
#: fixes at one setting of the other knobs, with their shared "before" among them.
RUN_CACHE = 8
_FIX_LABELS = {
    "cache_json": "1. cache the JSON",
    "stream": "2. stream the response",
    "db_timeout": "3. DB timeout + fallback",
}


def log_bin_edges(*latencies_ms: np.ndarray) -> np.ndarray:
    """The edges (ms) of the log grid (LATENCY_BINS_PER_DECADE a decade) that covers every
    finite latency given, at least one bin; latencies below 0.01 ms count as 0.01."""
    data = np.concatenate([np.asarray(a, dtype=float).ravel() for a in latencies_ms] or [[]])
    data = data[np.isfinite(data)]
    per = LATENCY_BINS_PER_DECADE
    if not data.size:
        return 10.0 ** (np.arange(per + 1) / per)  # 1-10 ms, nothing in it
    lo, hi = max(float(data.min()), 0.01), max(float(data.max()), 0.01)
    first = math.floor(per * math.log10(lo) + 1e-9)
    last = max(math.floor(per * math.log10(hi) + 1e-9) + 1, first + 1)
    return 10.0 ** (np.arange(first, last + 1) / per)


def decade_ticks(lo_ms: float, hi_ms: float) -> np.ndarray:
    """The 1, 2 and 5 of each decade between ``lo_ms`` and ``hi_ms`` (a log axis's labels)."""
    decades = range(math.floor(math.log10(lo_ms)), math.ceil(math.log10(hi_ms)) + 1)
    ticks = [m * 10.0**d for d in decades for m in (1, 2, 5)]
    return np.array([t for t in ticks if lo_ms <= t <= hi_ms])


def latency_histogram(*latencies_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bins' edges (``log_bin_edges``, over all the runs given) and each run's count of
    requests in each bin, one row a run; unfinished requests (NaN) are not counted. A
    latency below the first edge (under 0.01 ms) counts in the first bin."""
    edges = log_bin_edges(*latencies_ms)
    rows = []
    for a in latencies_ms:
        a = np.asarray(a, dtype=float)
        a = np.clip(a[np.isfinite(a)], edges[0], edges[-1])
        rows.append(np.histogram(a, edges)[0].astype(float))
    return edges, np.vstack(rows) if rows else np.zeros((0, edges.size - 1))


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
        """Request latency before (no fix) and after, as grouped bars over a log axis (bins of
        equal width there: ``log_bin_edges``), built once."""
        self._xs = bq.LogScale(min=1.0, max=10.0)
        self._ys = bq.LinearScale(min=0.0)
        self._bars = bq.Bars(
            x=np.array([2.0, 5.0]),
            y=np.zeros((2, 2)),
            scales={"x": self._xs, "y": self._ys},
            type="grouped",
            colors=[GREY, OKABE_ITO[0]],
            padding=0.1,
            labels=["before", "after"],
            display_legend=False,
        )
        self._x_axis = bq.Axis(
            scale=self._xs,
            label="request latency (ms, log scale)",
            tick_values=decade_ticks(1.0, 10.0),
            tick_format="~g",
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
        edges, counts = latency_histogram(before.latency_ms, run.latency_ms)
        with held(self._latency, self._bars, self._xs, self._ys, self._x_axis):
            self._bars.x = np.sqrt(edges[:-1] * edges[1:])  # each bin's middle on the log axis
            self._bars.y = counts
            self._xs.min, self._xs.max = float(edges[0]), float(edges[-1])
            self._x_axis.tick_values = decade_ticks(float(edges[0]), float(edges[-1]))
            self._ys.max = float(max(counts.max(), 1.0)) * 1.05

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
