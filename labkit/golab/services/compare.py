"""Chapter 5b: the real dashboard beside the model of the same incident, layer by layer.

Three things a reader of chapter 5 wants to check on the real service:

* :func:`incident_params`: the case-study model (``labkit.scenarios.casestudy``) set to the
  real run's settings, so the two can be read side by side. Only the arrival process differs:
  the real load generator sends Poisson arrivals at ``rate``, the model's dashboards poll every
  ``poll_ms`` with a jitter; both give ``rate`` requests per second.
* :func:`real_layers` / :class:`LayersTable`: the article's five layers (application,
  goroutines, GC, system calls and network, kernel threads) read from the real run's own
  artefacts: the load generator, the Prometheus series, runtime/metrics and the goroutine
  profile, each cell naming where its number came from.
* :func:`p99_interval`: a p99 from a few hundred requests is itself uncertain; the interval
  is a seeded bootstrap over the run's per-request records, so "the fix lowered p99" is only
  said when the intervals do not overlap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit.golab.services.errors import ServiceParameterError
from labkit.golab.services.params import DashboardParams
from labkit.golab.services.result import ServiceRun, histogram_delta, histogram_quantile
from labkit.scenarios.casestudy import IncidentParams, IncidentRun
from labkit.scenarios.casestudy.diagnosis import (
    _ROWS,
    diagnosis_html,
    diagnosis_text,
)

__all__ = [
    "ARTICLE_STATES",
    "BODY_BYTES_PER_ROW",
    "article_fps_states",
    "LayersTable",
    "incident_params",
    "metric_delta",
    "p99_interval",
    "real_layers",
]

#: Bytes of JSON per point of a dashboard's answer: 69,931 bytes for 1,000 points, measured with
#: curl against the dashboard service (labkit/golab/go/services/dashboard, db.go's Point) on
#: 2026-12-04; tests/test_services_compare.py measures it again on a live service.
BODY_BYTES_PER_ROW = 69.93
#: The article's exporter's state names (go_goroutines_by_state{state=...}) in the course's.
ARTICLE_STATES = {
    "running": "running",
    "runnable": "runnable",
    "wait": "waiting",
    "syscall": "syscall",
}
#: Dashboards polling in the model: their number times their polling rate is the real rate.
MODEL_CLIENTS = 20
#: Where the real column of each layer is read (the model's column is chapter 5's table):
#: what to look at on a service of your own.
REAL_TOOLS = {
    "application": "the load generator's per-request latency; dashboard_request_seconds "
    "(Prometheus); the frame loop's counter",
    "goroutines": "go_goroutines_by_state (Prometheus); /debug/pprof/goroutine",
    "GC": "runtime/metrics: /cpu/classes/gc, /gc/heap/allocs, /sched/pauses",
    "syscalls / network": "sql.DBStats; /cgo/go-to-c-calls (runtime/metrics)",
    "kernel threads": "/sched/threads/total, /cpu/classes, /sched/latencies; the CPU profile",
}


def _dashboard(run: ServiceRun) -> DashboardParams:
    if run.service != "dashboard" or not isinstance(run.params, DashboardParams):
        raise ServiceParameterError(
            f"this needs a run of the dashboard service, got a run of {run.service!r}; run "
            "run_service('dashboard', ...) or recorded_run('dashboard')"
        )
    return run.params


def metric_delta(run: ServiceRun, name: str) -> float:
    """How much runtime/metrics counter ``name`` grew over the run's load (nan if absent)."""
    before = run.metrics_before.get("metrics", {}).get(name)
    after = run.metrics_after.get("metrics", {}).get(name)
    if not isinstance(before, int | float) or not isinstance(after, int | float):
        return math.nan
    return float(after) - float(before)


def incident_params(run: ServiceRun, seconds: float = 2.0) -> IncidentParams:
    """The case-study model of ``run``'s incident: the same rate, payload, database time and
    pool, driver (SQLite's cgo driver or PostgreSQL's network one), Ps, GOGC, frame work, hot
    loop and fixes, and the live heap the real run's GC marked (``/gc/heap/live:bytes``)."""
    p = _dashboard(run)
    live = run.metrics_after.get("metrics", {}).get("/gc/heap/live:bytes", 0)
    return IncidentParams(
        clients=MODEL_CLIENTS,
        poll_ms=1000.0 * MODEL_CLIENTS / p.rate,
        seconds=seconds,
        payload_kb=max(p.rows, 1) * BODY_BYTES_PER_ROW / 1024.0,
        db_median_ms=max(p.db_median_ms, 0.01),
        db_sigma=p.db_sigma,
        db_pool=p.pool,
        db_driver="cgo" if p.db == "sqlite" else "network",
        gomaxprocs=max(1, min(p.gomaxprocs or 2, 64)),
        gogc=max(10, p.gogc) if p.gogc >= 0 else 10_000,
        live_mb=float(live) / 2**20,
        draw_ms=p.frame_cpu_ms,
        hot_loop_ms=p.hot_loop_ms,
        cache_json=p.cache_json,
        stream=p.stream,
        db_timeout=p.db_timeout,
        timeout_ms=p.timeout_ms,
        seed=p.seed % 2**32,
    )


def _goroutine_peak(run: ServiceRun) -> float:
    """The most goroutines any scrape saw: the sum of the four state gauges at each scrape."""
    by_t: dict[float, float] = {}
    for s in run.series.get("goroutines_by_state_at_scrape", []):
        for t, v in zip(s.t, s.v, strict=True):
            by_t[float(t)] = by_t.get(float(t), 0.0) + float(v)
    return max(by_t.values()) if by_t else math.nan


def _pool_waiters(run: ServiceRun) -> tuple[int, int]:
    """(goroutines waiting for a database connection, goroutines in the driver) in the
    goroutine profile taken at the load's middle: database/sql.(*DB).conn parks a caller in a
    select until a connection comes back (database/sql/sql.go, conn's ``connRequests``)."""
    prof = run.goroutines.get(1) or run.goroutines.get(0)
    if prof is None:
        return 0, 0
    waiting = in_driver = 0
    for stack, count in prof.stacks().items():
        names = " ".join(stack)
        if "database/sql.(*DB).conn" in names:
            waiting += count
        elif "go-sqlite3" in names or "lib/pq" in names:
            in_driver += count
    return waiting, in_driver


def real_layers(run: ServiceRun) -> dict[str, str]:
    """The article's five layers, each read from the real run's own evidence."""
    _dashboard(run)
    f = run.figures()
    s = max(f["seconds"], 1e-9)
    gc_total = metric_delta(run, "/cpu/classes/gc/total:cpu-seconds")
    cpu_total = metric_delta(run, "/cpu/classes/total:cpu-seconds")
    idle = metric_delta(run, "/cpu/classes/idle:cpu-seconds")
    assist = metric_delta(run, "/cpu/classes/gc/mark/assist:cpu-seconds")
    # /gc/pauses:seconds is deprecated for the identical /sched/pauses/total/gc:seconds
    # (runtime/metrics description.go); recordings made before keep only the old name.
    pauses = "/sched/pauses/total/gc:seconds"
    if pauses not in run.metrics_after.get("metrics", {}):
        pauses = "/gc/pauses:seconds"
    edges, counts = histogram_delta(run.metrics_before, run.metrics_after, pauses)
    stw_max_us = histogram_quantile(edges, counts, 1.0) * 1e6
    alloc = metric_delta(run, "/gc/heap/allocs:bytes")
    waiting, in_driver = _pool_waiters(run)
    queries = f["queries_ok"] + f["queries_cancelled"] + f["queries_error"]
    wait_mean = f["pool_wait_ms"] / f["pool_waits"] if f["pool_waits"] else 0.0
    cgo = metric_delta(run, "/cgo/go-to-c-calls:calls")
    procs = run.params.gomaxprocs or 2
    return {
        "application": (
            f"p50 {f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms (load generator, from each "
            f"request's intended send); {f['render_fps']:.0f} fps; {f['fallbacks']} fallbacks"
        ),
        "goroutines": (
            f"peak {_goroutine_peak(run):.0f} goroutines (Prometheus); mid-load profile: "
            f"{waiting} waiting for a DB connection, {in_driver} in the driver"
        ),
        "GC": (
            f"{f['gc_cycles'] / s:.1f} cycles/s, GC {100 * gc_total / cpu_total:.1f} % of the CPU "
            f"GOMAXPROCS allows (assists {100 * assist / gc_total if gc_total else 0:.0f} % of "
            f"the GC's), STW max <= {stw_max_us:.0f} us (a bucket's upper edge), alloc "
            f"{alloc / 2**20 / s:.0f} MiB/s (runtime/metrics)"
        ),
        "syscalls / network": (
            f"{queries} DB queries, {f['pool_waits']} waited for a connection (mean "
            f"{wait_mean:.0f} ms, sql.DBStats), {f['queries_cancelled']} cancelled; "
            f"{cgo / s:.0f} cgo calls/s"
        ),
        "kernel threads": (
            f"{f['threads']:.0f} threads (/sched/threads/total); Ps busy in Go code "
            f"{100 * (cpu_total - idle) / cpu_total:.0f} % of {procs} (/cpu/classes){_process_cpu(run, procs)}; "
            f"scheduling latency p99 <= {f['sched_latency_p99_ms'] * 1e3:.0f} us"
        ),
    }


def _process_cpu(run: ServiceRun, procs: int) -> str:
    """The process's CPU over the CPU profile's window, C code included, as a share of
    ``procs`` cores: SIGPROF samples every thread that runs, in Go or in C. /cpu/classes divides
    the Ps' time, and a P taken from a thread in a long cgo call and left idle counts that C
    code's time as idle (proc.go's pidleput), so it reads lower for a cgo-heavy service."""
    prof = run.cpu
    if prof is None or not prof.duration_ns or "cpu" not in dict(prof.sample_types):
        return ""
    share = prof.total("cpu") / prof.duration_ns / procs
    return f", the process {100 * share:.0f} % of {procs} cores (CPU profile, C code included)"


class LayersTable:
    """The five layers, real run beside the model's run of the same incident: HTML in a
    notebook, plain text for nbval and a reader without a browser."""

    def __init__(self, real: ServiceRun, model: IncidentRun) -> None:
        cells = real_layers(real)
        self.rows = [
            {
                "layer": layer,
                "tool": REAL_TOOLS[layer],
                "before": cells[layer],
                "after": cell(model.metrics),
            }
            for layer, _tool, cell in _ROWS
        ]
        self.labels = (f"real service ({real.source})", "model of the same incident")

    def _repr_html_(self) -> str:
        return diagnosis_html(self.rows, *self.labels)

    def __repr__(self) -> str:
        return diagnosis_text(self.rows, *self.labels)


def p99_interval(
    run: ServiceRun, *, resamples: int = 2000, seed: int = 0, level: float = 0.9
) -> tuple[float, float, float]:
    """(p99, low, high) of the run's request latencies in ms: the bootstrap interval at
    ``level`` from ``resamples`` resamples drawn with one generator seeded by ``seed`` (the
    same run and seed, the same interval)."""
    _dashboard(run)
    if run.records is None or len(run.records) == 0:
        raise ServiceParameterError(
            "this run has no per-request records; run it with the load generator's records "
            "(run_service does by default) or use a recording that kept them"
        )
    lat = np.asarray(run.records[:, 1], dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, lat.size, size=(resamples, lat.size))
    boot = np.quantile(lat[draws], 0.99, axis=1, method="higher")
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(np.quantile(lat, 0.99, method="higher")), float(lo), float(hi)


def fix_rows(
    runs: Mapping[str, ServiceRun], model: Mapping[str, IncidentRun]
) -> list[dict[str, Any]]:
    """One row per named run: real p50, p99 with its interval, fallbacks, GC cycles/s and the
    allocation rate that drives them (runtime/metrics' /gc/heap/allocs:bytes over the load),
    and the model's p50 / p99 for the same setting (``model[name]``)."""
    rows = []
    for name, run in runs.items():
        f = run.figures()
        p99, lo, hi = p99_interval(run)
        m = model[name].metrics
        rows.append(
            {
                "setting": name,
                "requests": int(f["sent"]),
                "p50_ms": f["p50_ms"],
                "p99_ms": p99,
                "p99_low_ms": lo,
                "p99_high_ms": hi,
                "fallbacks": int(f["fallbacks"]),
                "gc_per_s": f["gc_cycles"] / max(f["seconds"], 1e-9),
                "alloc_mb_per_s": metric_delta(run, "/gc/heap/allocs:bytes")
                / 2**20
                / max(f["seconds"], 1e-9),
                "model_p50_ms": m["p50_ms"],
                "model_p99_ms": m["p99_ms"],
                "source": run.source,
            }
        )
    return rows


def format_fix_rows(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`fix_rows` as a fixed-width table."""
    head = (
        f"{'setting':14s}{'requests':>9s}{'p50 ms':>8s}{'p99 ms':>8s}{'  p99 90% interval':>20s}"
        f"{'fallbacks':>10s}{'GC/s':>6s}{'alloc MiB/s':>12s}{'model p50':>10s}{'model p99':>10s}"
    )
    out = [head]
    for r in rows:
        interval = f"{r['p99_low_ms']:.0f}-{r['p99_high_ms']:.0f}"
        out.append(
            f"{r['setting']:14s}{r['requests']:9d}{r['p50_ms']:8.1f}{r['p99_ms']:8.1f}"
            f"{interval:>20s}{r['fallbacks']:10d}{r['gc_per_s']:6.1f}{r['alloc_mb_per_s']:12.1f}"
            f"{r['model_p50_ms']:10.1f}{r['model_p99_ms']:10.1f}"
        )
    return "\n".join(out)


Series2 = tuple[np.ndarray, np.ndarray]


def article_fps_states(run: ServiceRun) -> tuple[Series2, dict[str, Series2]]:
    """The article's section-3.3 picture from a render run's Prometheus series: the
    ``dynamic_graph_render_fps`` gauge and ``go_goroutines_by_state`` by state, as (seconds
    since the load began, values), states named as the course names them."""
    if run.service != "render":
        raise ServiceParameterError(
            f"the frame-rate gauge is the render service's; got a run of {run.service!r}"
        )
    t0 = run.window[0]
    fps = run.series.get("fps_gauge", [])
    if not fps:
        raise ServiceParameterError(
            "this run has no fps_gauge series: run it with prometheus=True (the default)"
        )
    states = {}
    for s in run.series.get("article_goroutines_by_state", []):
        name = ARTICLE_STATES.get(s.labels.get("state", ""))
        if name:
            states[name] = (s.t - t0, s.v)
    return (fps[0].t - t0, fps[0].v), states
