"""The pool tuner (chapter 4.4, lab 4): a worker pool under Poisson or bursty load, three policies.

A thin view over :func:`labkit.models.pool.simulate_pool`: the controls are its arguments, the figures
draw the :class:`~labkit.models.pool.PoolResult`'s arrays as they are, and the summary is the result's
own one-line text (policy, sizes, load, seed, p50, p99, mean workers, utilisation), so what the
plots show and what the text says come from one run. "Compare policies" serves the *same*
seeded requests under static, per-request and adaptive (:func:`labkit.models.pool.compare_policies`,
common random numbers) and lists them in a small table.

Every slider has ``continuous_update=False``: one re-run per release or key press. The figures
are built once; an update only replaces mark data inside ``hold_sync()``.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.models.pool import POLICIES, PoolParams, PoolResult, compare_policies, simulate_pool
from labkit.widgets._controls import check_control_value, seed_box
from labkit.widgets._style import (
    GREY,
    OKABE_ITO,
    TextFallback,
    error_output,
    errors_shown_in,
    integer_ticks,
    legend_html,
    slider,
    summary_html,
)

_STYLE = {"description_width": "13em"}
_WIDE = w.Layout(width="30em")

# Quantile levels drawn for the latency CDF: dense in the tail, where p99 lives.
CDF_LEVELS = np.unique(
    np.concatenate([np.linspace(0.0, 0.9, 181), np.linspace(0.9, 0.999, 199), [0.9995, 1.0]])
)
# Bins of arrival time over which the latency-over-time plot reads p50 and p99.
LATENCY_BINS = 100

# Control name -> its default. The defaults are a bursty variant of the pool package's default
# scenario (300/s of 10 ms exp requests on 4 Ps, 4 workers): every 4 s quiet, 1 s at 500/s
# (peak load 1.25), 20 s so that a re-run stays well inside the 100 ms budget.
DEFAULTS: dict[str, Any] = {
    "arrival": "bursty",
    "arrival_rate": 300.0,
    "burst_rate": 500.0,
    "burst_on_s": 1.0,
    "burst_off_s": 4.0,
    "service": "exp",
    "service_ms": 10.0,
    "cpu_bound": 1.0,
    "policy": "static",
    "workers": 4,
    "gomaxprocs": 4,
    "interval_ms": 100.0,
    "high_samples": 3,
    "high_factor": 2.0,
    "grow_step": 2,
    "shrink_step": 1,
    "min_workers": 0,
    "max_workers": 0,
    "duration_s": 20.0,
    "seed": 0,
}


def _float(desc: str, lo: float, hi: float, step: float, fmt: str = ".1f") -> w.FloatSlider:
    return slider(w.FloatSlider, desc, lo, hi, step, label_em=13, width_em=30, readout_format=fmt)


def _int(desc: str, lo: int, hi: int, step: int = 1) -> w.IntSlider:
    return slider(w.IntSlider, desc, lo, hi, step, label_em=13, width_em=30)


def _real_of(name: str, desc: str, fmt: str = ".1f") -> w.FloatSlider:
    """A slider over a PoolParams field, with the range PoolParams declares for it."""
    return _float(desc, *PoolParams.slider(name), fmt)


def _int_of(name: str, desc: str) -> w.IntSlider:
    lo, hi, step = PoolParams.slider(name)
    return _int(desc, int(lo), int(hi), int(step))


def _menu(desc: str, labels: dict[str, str], options: tuple[str, ...]) -> w.Dropdown:
    return w.Dropdown(
        options=[(labels[o], o) for o in options], description=desc, style=_STYLE, layout=_WIDE
    )


def _controls() -> dict[str, w.ValueWidget]:
    """The tuner's controls by name. Those named as a PoolParams field take its declared range;
    the burst's three parts, the floor and the ceiling are the widget's own (0 = none)."""
    return {
        "arrival": w.ToggleButtons(
            options=[("Poisson", "poisson"), ("bursty on/off", "bursty")],
            description="arrivals",
            style={**_STYLE, "button_width": "9em"},
        ),
        "arrival_rate": _real_of("arrival_rate", "arrival rate (req/s)", ".0f"),
        "burst_rate": _float("burst rate (req/s)", 0.0, 2000.0, 10.0, ".0f"),
        "burst_on_s": _float("burst length (s)", 0.1, 10.0, 0.1),
        "burst_off_s": _float("quiet between bursts (s)", 0.0, 30.0, 0.5),
        "service": _menu("service times", _SERVICE_NAMES, PoolParams.options("service")),
        "service_ms": _real_of("service_ms", "mean service (ms)"),
        "cpu_bound": _real_of("cpu_bound", "CPU-bound share", ".2f"),
        "gomaxprocs": _int_of("gomaxprocs", "GOMAXPROCS (Ps)"),
        "policy": _menu("policy", _POLICY_NAMES, PoolParams.options("policy")),
        "workers": _int_of("workers", "workers (adaptive: start)"),
        "interval_ms": _real_of("interval_ms", "watchdog interval (ms)", ".0f"),
        "high_samples": _int_of("high_samples", "k high samples to grow"),
        "high_factor": _real_of("high_factor", "high: len(ch) > factor x workers"),
        "grow_step": _int_of("grow_step", "grow by"),
        "shrink_step": _int_of("shrink_step", "shrink by"),
        "min_workers": _int("floor (0 = start size)", 0, 64),
        "max_workers": _int("ceiling (0 = none)", 0, 512, 4),
        "duration_s": _real_of("duration_s", "simulated time (s)", ".0f"),
        "seed": seed_box(label_em=13),
    }


_SERVICE_NAMES = {"exp": "exponential", "const": "constant", "lognormal": "lognormal (long tail)"}
_WATCHDOG = (
    "interval_ms", "high_samples", "high_factor", "grow_step", "shrink_step", "min_workers",
    "max_workers",
)  # fmt: skip


def latency_bins(result: PoolResult, bins: int = LATENCY_BINS) -> tuple[np.ndarray, ...]:
    """p50 and p99 (nearest rank) of the latencies of requests arriving in each time bin.

    Returns ``(bin_mid_s, p50_ms, p99_ms)``; bins without arrivals are dropped. Vectorised: sort
    by (bin, latency) once, then index each bin's ranks.
    """
    duration = result.params.duration_s
    if result.arrivals == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    width = duration / bins
    idx = np.minimum((result.arrival_s / width).astype(np.int64), bins - 1)
    order = np.lexsort((result.latency_ms, idx))
    counts = np.bincount(idx, minlength=bins)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    sorted_lat = result.latency_ms[order]
    ranks = lambda q: starts[has] + np.floor(q * (counts[has] - 1)).astype(np.int64)  # noqa: E731
    mid = (np.arange(bins)[has] + 0.5) * width
    return mid, sorted_lat[ranks(0.5)], sorted_lat[ranks(0.99)]


def cdf_points(latency_ms: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The CDF's x values (latency quantiles at CDF_LEVELS) and a log axis range in whole decades.

    The range starts at the decade below the 1st percentile (at least 0.01 ms), so a few
    near-zero latencies do not stretch the axis over empty decades; quantiles below it are drawn
    at its left edge.
    """
    if latency_ms.size == 0:
        return np.array([1.0, 10.0]), 1.0, 10.0
    q = np.quantile(latency_ms, CDF_LEVELS)
    lo = 10.0 ** math.floor(math.log10(max(float(np.quantile(latency_ms, 0.01)), 0.01)))
    hi = 10.0 ** math.ceil(math.log10(max(float(q[-1]), lo * 10.0)))
    return np.maximum(q, lo), lo, hi


def decade_ticks(lo: float, hi: float) -> list[float]:
    """1, 10, 100 ... from ``lo`` to ``hi`` (both powers of ten)."""
    n = int(round(math.log10(hi / lo)))
    return [lo * 10.0**k for k in range(n + 1)]


def _figure(title: str, marks, x_scale, y_scale, x_label: str, y_label: str, **y_axis) -> bq.Figure:
    return bq.Figure(
        marks=marks,
        axes=[
            bq.Axis(scale=x_scale, label=x_label),
            bq.Axis(scale=y_scale, side="left", label=y_label, **y_axis),
        ],
        title=title,
        layout=w.Layout(width="100%", height="260px"),
        fig_margin={"top": 35, "bottom": 45, "left": 65, "right": 15},
        animation_duration=0,
    )


def _line(
    sx: bq.Scale,
    sy: bq.Scale,
    colour: str,
    width: float,
    *,
    x: list[float] | None = None,
    y: list[float] | None = None,
    **kw: Any,
) -> bq.Lines:
    """One line mark on scales ``sx`` and ``sy``, one point until drawn (``x``/``y``: the
    placeholder data of a mark that must span a range from the start)."""
    return bq.Lines(
        x=x or [0.0],
        y=y or [0.0],
        scales={"x": sx, "y": sy},
        colors=[colour],
        stroke_width=width,
        **kw,
    )


class PoolTuner(TextFallback, w.VBox):
    """Controls over :func:`labkit.models.pool.simulate_pool`, four figures, a summary, a comparison.

    ``PoolTuner(policy="adaptive", workers=2)`` starts with those control values (names as in
    :data:`DEFAULTS`); ``.set(**values)`` changes controls and re-runs once; ``.result`` is the
    current :class:`labkit.models.pool.PoolResult`; ``.summary()`` its one-line text; ``.compare()``
    runs every policy on the same requests and returns (and shows) the table rows.
    """

    def __init__(self, **initial: Any) -> None:
        unknown = sorted(set(initial) - set(DEFAULTS))
        if unknown:
            raise ParameterError(f"unknown control(s) {unknown}; known: {sorted(DEFAULTS)}")
        c = self._controls = _controls()
        assert set(c) == set(DEFAULTS)
        self._build_figures()
        self._summary = w.HTML()
        self._note = w.HTML()
        self._compare_button = w.Button(
            description="Compare policies",
            tooltip="serve the same seeded requests with every policy",
            icon="table",
            layout=w.Layout(width="14em"),
        )
        self._compare_html = w.HTML()
        self._errors = error_output()
        self._result: PoolResult | None = None
        self._error = ""
        self._rows: list[dict[str, Any]] = []
        self.last_update_s = 0.0
        self._paused = True
        for name, value in {**DEFAULTS, **initial}.items():
            c[name].value = check_control_value("PoolTuner", name, c[name], value)
        self._paused = False
        for control in c.values():
            control.observe(self._on_control, names="value")
        self._compare_button.on_click(self._on_compare)
        super().__init__(self._layout())
        self.add_class("labkit-pooltuner")
        self._update()

    def _layout(self) -> list[w.Widget]:
        """Controls (arrivals and work left; pool, runtime and watchdog right), then the figures."""
        c = self._controls
        self._adaptive_box = w.VBox(
            [w.HTML("<b>Watchdog (adaptive)</b>"), *(c[k] for k in _WATCHDOG)]
        )
        self._burst_box = w.VBox([c["burst_rate"], c["burst_on_s"], c["burst_off_s"]])
        left = w.VBox(
            [w.HTML("<b>Arrivals and work</b>"), c["arrival"], c["arrival_rate"], self._burst_box]
            + [c[k] for k in ("service", "service_ms", "cpu_bound", "duration_s", "seed")]
        )
        right = w.VBox(
            [w.HTML("<b>Pool and runtime</b>"), c["policy"], c["workers"], c["gomaxprocs"]]
            + [self._adaptive_box]
        )

        def pair(a: tuple[bq.Figure, w.HTML], b: tuple[bq.Figure, w.HTML]) -> w.HBox:
            return w.HBox([w.VBox(list(a), layout=_HALF), w.VBox(list(b), layout=_HALF)])

        return [
            w.HBox([left, right]),
            self._summary,
            self._note,
            pair((self._fig_queue, self._legend_queue), (self._fig_workers, self._legend_workers)),
            pair((self._fig_latency, self._legend_latency), (self._fig_cdf, self._legend_cdf)),
            w.HBox([self._compare_button]),
            self._compare_html,
            self._errors,
        ]

    # ---- figures (built once) ---------------------------------------------------------------
    def _build_figures(self) -> None:
        """The four figures, built once; ``_draw`` only replaces their data."""
        self._fig_queue, self._legend_queue = self._queue_figure()
        self._fig_workers, self._legend_workers = self._workers_figure()
        self._fig_latency, self._legend_latency = self._latency_figure()
        self._fig_cdf, self._legend_cdf = self._cdf_figure()

    def _queue_figure(self) -> tuple[bq.Figure, w.HTML]:
        """Requests waiting in the channel, and goroutines runnable but waiting for a P."""
        t, y = bq.LinearScale(min=0.0), bq.LinearScale(min=0.0)
        self._queue_line = _line(t, y, OKABE_ITO[0], 2)
        self._runq_line = _line(t, y, OKABE_ITO[1], 2)
        figure = _figure(
            "Waiting requests", [self._queue_line, self._runq_line], t, y, "time (s)", "requests"
        )
        legend = legend_html(
            [
                ("in the channel: len(taskCh)", OKABE_ITO[0]),
                ("runnable, waiting for a P", OKABE_ITO[1]),
            ]
        )
        return figure, w.HTML(legend)

    def _workers_figure(self) -> tuple[bq.Figure, w.HTML]:
        """Live and busy workers over time, over a dashed GOMAXPROCS line."""
        t, y = bq.LinearScale(min=0.0), bq.LinearScale(min=0.0)
        self._workers_line = _line(t, y, OKABE_ITO[2], 3)
        self._busy_line = _line(t, y, OKABE_ITO[3], 1.5)
        self._procs_line = _line(t, y, GREY, 2, line_style="dashed", x=[0.0, 1.0], y=[0.0, 0.0])
        figure = _figure(
            "Workers (goroutines)",
            # GOMAXPROCS underneath: a static pool of GOMAXPROCS workers runs along it
            [self._procs_line, self._workers_line, self._busy_line],
            t,
            y,
            "time (s)",
            "goroutines",
        )
        legend = legend_html(
            [
                ("live workers", OKABE_ITO[2]),
                ("busy with a request", OKABE_ITO[3]),
                ("GOMAXPROCS", GREY),
            ]
        )
        return figure, w.HTML(legend)

    def _latency_figure(self) -> tuple[bq.Figure, w.HTML]:
        """p50 and p99 latency of the requests that arrived in each stretch of time."""
        t, y = bq.LinearScale(min=0.0), bq.LinearScale(min=0.0)
        self._lat_p50 = _line(t, y, OKABE_ITO[0], 2)
        self._lat_p99 = _line(t, y, OKABE_ITO[5], 2)
        figure = _figure(
            "Latency by arrival time",
            [self._lat_p50, self._lat_p99],
            t,
            y,
            "arrival time (s)",
            "latency (ms)",
        )
        return figure, w.HTML()

    def _cdf_figure(self) -> tuple[bq.Figure, w.HTML]:
        """The latency distribution as a CDF on a log axis, with its p50 and p99 marked."""
        xl = self._cdf_scale = bq.LogScale(min=0.1, max=1000.0)
        y = bq.LinearScale(min=0.0, max=1.0)
        self._cdf = _line(xl, y, OKABE_ITO[7], 2, x=[1.0, 2.0], y=[0.0, 1.0])
        self._p50_mark = _line(
            xl, y, OKABE_ITO[0], 2, line_style="dashed", x=[1.0, 1.0], y=[0.0, 1.0]
        )
        self._p99_mark = _line(
            xl, y, OKABE_ITO[5], 2, line_style="dashed", x=[1.0, 1.0], y=[0.0, 1.0]
        )
        figure = _figure(
            "Latency distribution (CDF)",
            [self._cdf, self._p50_mark, self._p99_mark],
            xl,
            y,
            "latency (ms, log scale)",
            "share of requests",
            tick_format=".0%",
        )
        figure.axes[0].tick_format = "~g"
        return figure, w.HTML()

    # ---- state ------------------------------------------------------------------------------
    @property
    def result(self) -> PoolResult | None:
        """The :class:`labkit.models.pool.PoolResult` drawn now (None if the last run failed)."""
        return self._result

    @property
    def controls(self) -> dict[str, w.ValueWidget]:
        """The controls by name (see :data:`DEFAULTS`); setting ``.value`` is what a learner's
        click or key press does."""
        return dict(self._controls)

    @property
    def error(self) -> str:
        """Why the last change did not run ('' when it ran)."""
        return self._error

    def _values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self._controls.items()}

    def _kwargs(self) -> dict[str, Any]:
        """The PoolParams fields the controls stand for.

        ``min_workers`` 0 means the starting size (the article's baseSize); a floor above the
        starting size is capped at it and a ceiling below it is raised to it (the model requires
        min_workers <= workers <= max_workers; a note under the summary says so); ``max_workers``
        0 means no ceiling (the article's).
        """
        v = self._values()
        workers = int(v["workers"])
        ceiling = None if v["max_workers"] == 0 else max(int(v["max_workers"]), workers)
        bursty = v["arrival"] == "bursty"
        return {
            **{k: v[k] for k in ("arrival_rate", "service_ms", "service", "policy", "gomaxprocs")},
            **{k: v[k] for k in ("cpu_bound", "interval_ms", "high_samples", "high_factor")},
            **{k: v[k] for k in ("grow_step", "shrink_step", "duration_s", "seed")},
            "workers": workers,
            "burst": (v["burst_rate"], v["burst_on_s"], v["burst_off_s"]) if bursty else None,
            "min_workers": workers if v["min_workers"] == 0 else min(v["min_workers"], workers),
            "max_workers": ceiling,
        }

    @property
    def params(self) -> PoolParams:
        """The :class:`labkit.models.pool.PoolParams` the controls stand for (what the next run uses).
        Raises PoolParameterError if the model refuses them (the widget shows why)."""
        return PoolParams.make(**self._kwargs())

    def summary(self) -> str:
        """The current run's one-line summary (inputs, seed, p50, p99, cost, utilisation)."""
        return self._result.summary() if self._result is not None else ""

    # ---- events -----------------------------------------------------------------------------
    def _on_control(self, _change) -> None:
        if not self._paused:
            self._update()

    def _update(self) -> None:
        v = self._values()
        self._burst_box.layout.display = "" if v["arrival"] == "bursty" else "none"
        self._adaptive_box.layout.display = "" if v["policy"] == "adaptive" else "none"
        if self._rows:
            self._rows = []
            self._compare_html.value = (
                "<i>Settings changed: press <b>Compare policies</b> to compare again.</i>"
            )
        with errors_shown_in(self._errors):
            t0 = time.perf_counter()
            try:
                params = self.params
                result = simulate_pool(params)
            except ParameterError as exc:  # PoolParameterError: say what to change, no traceback
                self._result, self._error = None, str(exc)
                self._summary.value = summary_html(f"no run: {exc}")
                self._note.value = ""
                return
            self._result, self._error = result, ""
            self._draw(result)
            self._summary.value = summary_html(result.summary())
            self._note.value = self._notes(params)
            self.last_update_s = time.perf_counter() - t0

    def _notes(self, p: PoolParams) -> str:
        v = self._values()
        notes = []
        if v["policy"] == "adaptive":
            if v["min_workers"] not in (0, p.min_workers):
                notes.append(f"floor capped at the start size ({p.workers})")
            if p.max_workers is not None and p.max_workers != v["max_workers"]:
                notes.append(f"ceiling raised to the start size ({p.workers})")
        if v["policy"] == "per_request":
            notes.append("per request: the workers slider does not apply")
        if not notes:
            return ""
        return f"<div style='font-size:0.9em;color:#555'>{html.escape('; '.join(notes))}</div>"

    def _draw(self, r: PoolResult) -> None:
        mid, p50, p99 = latency_bins(r)
        lat = r.latency_ms
        cdf_x, lo, hi = cdf_points(lat)
        cdf_y = CDF_LEVELS if lat.size else np.array([0.0, 1.0])
        p50_ms = min(max(r.p50_ms, lo), hi) if lat.size else lo
        p99_ms = min(max(r.p99_ms, lo), hi) if lat.size else lo
        end_s = r.params.duration_s
        waiting_top = max(
            float(r.queue_depth.max(initial=0)), float(r.run_queue_depth.max(initial=0))
        )
        workers_top = max(float(r.workers.max(initial=0)), float(r.params.gomaxprocs))
        with self._fig_queue.hold_sync(), self._fig_workers.hold_sync():
            queue_ticks = integer_ticks(max(waiting_top, 1.0))
            self._queue_line.scales["y"].max = float(queue_ticks[-1])
            self._fig_queue.axes[1].tick_values = queue_ticks
            worker_ticks = integer_ticks(workers_top * 1.1 + 0.5)
            self._workers_line.scales["y"].max = float(worker_ticks[-1])
            self._fig_workers.axes[1].tick_values = worker_ticks
            self._queue_line.x, self._queue_line.y = r.t_s, r.queue_depth
            self._runq_line.x, self._runq_line.y = r.t_s, r.run_queue_depth
            self._workers_line.x, self._workers_line.y = r.t_s, r.workers
            self._busy_line.x, self._busy_line.y = r.t_s, r.busy_workers
            self._procs_line.x = [0.0, end_s]
            self._procs_line.y = [r.params.gomaxprocs] * 2
        with self._fig_latency.hold_sync(), self._fig_cdf.hold_sync():
            self._lat_p50.x, self._lat_p50.y = mid, p50
            self._lat_p99.x, self._lat_p99.y = mid, p99
            self._cdf_scale.min, self._cdf_scale.max = lo, hi
            self._fig_cdf.axes[0].tick_values = decade_ticks(lo, hi)
            self._cdf.x, self._cdf.y = cdf_x, cdf_y
            self._p50_mark.x = [p50_ms, p50_ms]
            self._p99_mark.x = [p99_ms, p99_ms]
        width_s = r.params.duration_s / LATENCY_BINS
        self._legend_latency.value = legend_html(
            [
                (f"p50 of requests arriving in each {width_s:g} s", OKABE_ITO[0]),
                ("p99", OKABE_ITO[5]),
            ]
        )
        self._legend_cdf.value = legend_html(
            [
                ("share of requests at most this slow", OKABE_ITO[7]),
                (f"p50 = {r.p50_ms:.1f} ms", OKABE_ITO[0]),
                (f"p99 = {r.p99_ms:.1f} ms", OKABE_ITO[5]),
            ]
        )

    # ---- driving from Python (tests, instructors, notebooks) ------------------------------------
    def set(self, **values: Any) -> None:
        """Set controls by name (see :data:`DEFAULTS`) and re-run once."""
        unknown = sorted(set(values) - set(self._controls))
        if unknown:
            raise ParameterError(f"unknown control(s) {unknown}; known: {sorted(self._controls)}")
        for name, value in values.items():
            check_control_value("PoolTuner", name, self._controls[name], value)
        self._paused = True
        try:
            for name, value in values.items():
                self._controls[name].value = value
        finally:
            self._paused = False
        self._update()

    def compare(self) -> list[dict[str, Any]]:
        """Serve the current requests under every policy; show and return one row per policy.

        The same seed and arrivals for all (labkit.models.pool.compare_policies); the rows are its own
        (label, policy, p50_ms, p99_ms, mean_workers, peak_workers, utilisation, ...).
        """
        kwargs = self.params.changed()
        kwargs.pop("policy", None)
        rows = compare_policies(POLICIES, **kwargs)
        self._rows = rows
        self._compare_html.value = compare_table_html(rows, self._controls["seed"].value)
        return rows

    def _on_compare(self, _button) -> None:
        with errors_shown_in(self._errors):
            self._compare_html.value = "<i>comparing...</i>"
            try:
                self.compare()
            except ValueError as exc:
                self._compare_html.value = f"<i>no comparison: {html.escape(str(exc))}</i>"


_HALF = w.Layout(width="50%")
_CELL = "padding:2px 12px;text-align:right"
_POLICY_NAMES = {
    "static": "static pool",
    "per_request": "goroutine per request",
    "adaptive": "adaptive (watchdog)",
}


def compare_table_html(rows: list[dict[str, Any]], seed: int) -> str:
    """The comparison as a small HTML table (one row per policy), readable without plots."""
    head = (
        "<tr>"
        + "".join(
            f"<th style='{_CELL}'>{h}</th>"
            for h in (
                "policy",
                "p50 (ms)",
                "p99 (ms)",
                "mean workers",
                "peak workers",
                "Ps busy",
                "done in time",
            )
        )
        + "</tr>"
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='{_CELL}'>{cell}</td>"
            for cell in (
                html.escape(_POLICY_NAMES.get(r["label"], r["label"])),
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['mean_workers']:.1f}",
                r["peak_workers"],
                f"{r['cpu_utilisation']:.0%}",
                f"{r['completed']}/{r['arrivals']}",
            )
        )
        + "</tr>"
        for r in rows
    )
    return (
        "<table class='labkit-compare' style='border-collapse:collapse;margin-top:0.5em'>"
        f"<caption style='text-align:left'>Same requests (seed {seed}), each policy</caption>"
        f"{head}{body}</table>"
    )
