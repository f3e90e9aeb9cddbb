"""Run a real service under load, collect the evidence while it runs, stop everything after.

``run_service("dashboard", db="postgres", db_timeout=True)`` builds the services (once), starts
what the run needs, in this order: PostgreSQL (db="postgres"), the service, Prometheus scraping
it; waits ``warmup_s``; then, for ``seconds``, drives load (the dashboard: ``loadgen``, open loop)
and collects: a CPU profile and delta block / mutex profiles over the load, the goroutine
profile at debug=0, 1 and 2 at its middle, an execution trace around its middle,
runtime/metrics and the service's own counters before and after; then it runs the queries of
:func:`queries` against Prometheus over the load, and stops everything (``procs.Supervisor``).

What each step costs on the course's machine is in benchmarks/bench_services.py. Every wait has
a deadline inside ``timeout_s``; any failure raises one of labkit.golab.services.errors, after
everything was stopped. ``source="auto"`` (the default) returns the shipped recording, with a
``GolabWarning`` and a note, when something the live run needs is not installed
(ServicesMissingError); any other failure is raised, since it says something about this machine
the caller should see.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import math
import os
import platform
import signal
import time
import urllib.error
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from labkit.golab.errors import GolabWarning
from labkit.golab.services.build import Build, build_services
from labkit.golab.services.errors import (
    DatabaseStartError,
    PortInUseError,
    PrometheusStartError,
    RecordingError,
    ServiceDiedError,
    ServiceError,
    ServiceParameterError,
    ServicesMissingError,
    ServiceTimeoutError,
)
from labkit.golab.services.params import SERVICES, CollectParams, DashboardParams, RenderParams
from labkit.golab.services.postgres import start_postgres
from labkit.golab.services.procs import (
    Child,
    PortBook,
    Supervisor,
    http_get,
    sigterm_exits,
    wait_until,
)
from labkit.golab.services.prometheus import (
    Series,
    query_range,
    start_prometheus,
    wait_scraping,
)
from labkit.golab.services.result import ServiceRun, load_artefacts, load_run

__all__ = ["RECORDED_DIR", "queries", "recorded_run", "recordings", "run_service"]

RECORDED_DIR = Path(__file__).resolve().parent / "recorded"
SOURCES = ("auto", "live", "recorded")
#: Exit statuses the services use (internal/obs: ExitListen; dashboard/db.go: ExitDatabase).
EXIT_LISTEN, EXIT_DATABASE = 3, 4
#: Prometheus job names: the article's ``renderer`` for the frame loop.
JOBS = {"render": "renderer", "dashboard": "dashboard"}

Progress = Callable[[str, float], None]


def queries(service: str, interval_s: float) -> dict[str, str]:
    """The PromQL the run evaluates over its load window, by name.

    For render, first the article's section 3.3 queries as it prints them (``article_*``), then
    ones that read the same thing from counters and histograms. Rate windows are ``w``, five
    scrape intervals (at least 1 s): the run lasts seconds, not the article's minutes.
    """
    w = f"{max(1000, round(5 * interval_s * 1000))}ms"
    job = JOBS[service]
    sel = f'job="{job}"'
    common = {
        "goroutines_by_state_at_scrape": (
            f'{{__name__=~"go_sched_goroutines_(running|runnable|waiting|not_in_go)_goroutines",'
            f"{sel}}}"
        ),
        "sched_latency_p99_s": (
            f"histogram_quantile(0.99, sum by (le) (rate(go_sched_latencies_seconds_bucket"
            f"{{{sel}}}[{w}])))"
        ),
        "gc_cycles_per_s": f"rate(go_gc_cycles_total_gc_cycles_total{{{sel}}}[{w}])",
        "threads": f"go_threads{{{sel}}}",
    }
    if service == "render":
        return {
            "article_fps_rate": "rate(dynamic_graph_render_fps[1m])",
            "article_goroutines_by_state": f"sum by(state)(go_goroutines_by_state{{{sel}}})",
            "article_fps_per_wait": (
                "avg_over_time(dynamic_graph_render_fps[30s]) / "
                'avg_over_time(go_goroutines_by_state{state="wait"}[30s])'
            ),
            # The article's ratio as written matches nothing: a binary operator pairs series
            # with identical label sets, and only the right side has `state`. Ignoring it pairs
            # them (what the article meant); the chapter discusses what the ratio can show.
            "fps_per_wait_matched": (
                "avg_over_time(dynamic_graph_render_fps[30s]) / ignoring(state) "
                'avg_over_time(go_goroutines_by_state{state="wait"}[30s])'
            ),
            "fps_gauge": f"dynamic_graph_render_fps{{{sel}}}",
            "fps_from_counter": f"rate(render_frames_total{{{sel}}}[{w}])",
            "late_frames_per_s": f"rate(render_frames_late_total{{{sel}}}[{w}])",
            "frame_p99_s": (
                f"histogram_quantile(0.99, sum by (le) (rate(render_frame_seconds_bucket"
                f"{{{sel}}}[{w}])))"
            ),
            "lateness_p99_s": (
                f"histogram_quantile(0.99, sum by (le) (rate(render_frame_lateness_seconds_bucket"
                f"{{{sel}}}[{w}])))"
            ),
            **common,
        }
    return {
        "request_p50_s": (
            f"histogram_quantile(0.5, sum by (le) (rate(dashboard_request_seconds_bucket"
            f"{{{sel}}}[{w}])))"
        ),
        "request_p99_s": (
            f"histogram_quantile(0.99, sum by (le) (rate(dashboard_request_seconds_bucket"
            f"{{{sel}}}[{w}])))"
        ),
        "requests_per_s_by_outcome": (
            f"sum by (outcome) (rate(dashboard_request_seconds_count{{{sel}}}[{w}]))"
        ),
        "queries_per_s_by_outcome": (
            f"sum by (outcome) (rate(dashboard_db_query_seconds_count{{{sel}}}[{w}]))"
        ),
        "fallbacks_per_s": f"rate(dashboard_db_fallbacks_total{{{sel}}}[{w}])",
        "pool_waits_per_s": f"rate(go_sql_wait_count_total{{{sel}}}[{w}])",
        "pool_in_use": f"go_sql_in_use_connections{{{sel}}}",
        "render_fps": f"dashboard_render_fps{{{sel}}}",
        **common,
    }


def _split(service: str, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    kind = SERVICES[service]
    own, collect = {}, {}
    for k, v in overrides.items():
        if k in CollectParams.names():
            collect[k] = v
        elif k in kind.names():
            own[k] = v
        else:
            raise ServiceParameterError(
                f"unknown parameter {k!r} for the {service} service; its parameters are "
                f"{', '.join(kind.names())}, and the run's are {', '.join(CollectParams.names())}"
            )
    return own, collect


def run_service(
    service: str,
    params: RenderParams | DashboardParams | None = None,
    *,
    source: str = "auto",
    progress: Progress | None = None,
    ports: Mapping[str, int] | None = None,
    **overrides: Any,
) -> ServiceRun:
    """Run ``service`` ("render" or "dashboard") live and return what it showed.

    ``params``: a RenderParams / DashboardParams (or keyword overrides of it); keyword
    overrides of CollectParams set the run (``seconds``, ``trace_seconds``, ``prometheus``,
    ``timeout_s`` ...). ``source``: "auto" (live, else the recording when something is not
    installed), "live" (raise instead), "recorded". ``progress(step, fraction)`` is called at
    each step. ``ports``: fixed loopback ports by component ("service", "prometheus",
    "postgres"), each checked free (PortInUseError); by default free ones are picked.
    """
    if service not in SERVICES:
        raise ServiceParameterError(
            f"service must be one of {', '.join(map(repr, SERVICES))}, got {service!r}"
        )
    if source not in SOURCES:
        raise ServiceParameterError(
            f"source must be one of {', '.join(map(repr, SOURCES))}, got {source!r}"
        )
    own, collect_kw = _split(service, overrides)
    kind = SERVICES[service]
    p = kind.make(params, **own)  # type: ignore[arg-type]
    collect = CollectParams.make(None, **collect_kw)
    ports = dict(ports or {})
    unknown_ports = sorted(set(ports) - {"service", "prometheus", "postgres"})
    if unknown_ports:
        raise ServiceParameterError(
            f"ports may name 'service', 'prometheus' and 'postgres', got {unknown_ports}"
        )
    if source == "auto":
        source = _source_from_environment()
    if source == "recorded":
        run = recorded_run(service, p)
        if progress is not None:
            progress("the recorded run loaded", 1.0)
        return run
    try:
        build = build_services()
    except ServicesMissingError as exc:
        if source == "live":
            raise
        return _fallback(service, p, str(exc))
    with sigterm_exits(), Supervisor() as sup:
        return _LiveRun(service, p, collect, build, sup, ports, progress).run()


def _source_from_environment() -> str:
    """``LABKIT_SERVICES`` (auto, live or recorded) chooses for ``source="auto"``: a workshop hub
    where a hundred kernels should not each start a service and a Prometheus sets "recorded";
    a machine that must never show a recording sets "live"."""
    chosen = os.environ.get("LABKIT_SERVICES", "auto").strip() or "auto"
    if chosen not in SOURCES:
        raise ServiceParameterError(
            f"LABKIT_SERVICES must be one of {', '.join(SOURCES)}, got {chosen!r}; unset it "
            "or set it to one of those"
        )
    return chosen


def _fallback(service: str, params: RenderParams | DashboardParams, reason: str) -> ServiceRun:
    try:
        run = recorded_run(service, params)
    except RecordingError as exc:
        raise RecordingError(f"live run not possible: {reason}; and {exc}") from None
    note = (
        f"live run not possible: {reason}. Showing the run recorded on "
        f"{run.meta['recorded_on']} at {run.meta['recorded_at']}."
    )
    warnings.warn(f"{service}: {note}", GolabWarning, stacklevel=3)
    return dataclasses.replace(run, note=note)


def recordings() -> dict[str, tuple[str, dict[str, Any]]]:
    """The runs shipped with the course: folder name -> (service, its parameters), read from
    each ``recorded/<name>/run.json`` (scripts/record_services.py writes them)."""
    out = {}
    for d in sorted(RECORDED_DIR.iterdir()) if RECORDED_DIR.is_dir() else []:
        f = d / "run.json"
        if f.is_file():
            data = json.loads(f.read_text())
            out[d.name] = (data["service"], data["params"])
    return out


def _differences(service: str, params: Mapping[str, Any]) -> str:
    default = SERVICES[service]().as_dict()
    diff = [f"{k}={v!r}" for k, v in params.items() if default.get(k) != v]
    return ", ".join(diff) or "the defaults"


def recorded_run(
    service: str, params: RenderParams | DashboardParams | None = None, **overrides: Any
) -> ServiceRun:
    """The run of ``service`` shipped with the course with exactly these service parameters
    (``params`` and keyword overrides; by default the service's defaults). Only the service's
    own parameters are matched: a recording's length and collection are its own
    (``run.collect``). A setting never recorded raises RecordingError listing what is."""
    if service not in SERVICES:
        raise ServiceParameterError(
            f"service must be one of {', '.join(map(repr, SERVICES))}, got {service!r}"
        )
    want = SERVICES[service].make(params, **overrides).as_dict()  # type: ignore[arg-type]
    shipped = {n: p for n, (s, p) in recordings().items() if s == service}
    for name, got in shipped.items():
        if got == want:
            return load_run(RECORDED_DIR / name)
    if not shipped:
        raise RecordingError(
            f"no recorded run of {service} ({RECORDED_DIR} has none); record one with "
            "python scripts/record_services.py on a machine with the packages"
        )
    listed = "; ".join(f"{n}: {_differences(service, p)}" for n, p in shipped.items())
    raise RecordingError(
        f"no run of {service} with {_differences(service, want)} was recorded with the course "
        f"(recorded: {listed}). Run it live (install the packages: see the README), or "
        "choose a recorded setting"
    )


class _LiveRun:
    """One live run: its steps, in the order run() takes them. Every process is started from
    the calling thread (procs.py: the death signal belongs to it); worker threads only fetch."""

    def __init__(
        self,
        service: str,
        params: RenderParams | DashboardParams,
        collect: CollectParams,
        build: Build,
        sup: Supervisor,
        ports: Mapping[str, int],
        progress: Progress | None,
    ) -> None:
        self.service, self.params, self.collect = service, params, collect
        self.build, self.sup = build, sup
        self._port = PortBook(ports)
        self.progress = progress or (lambda step, fraction: None)
        self.began = time.monotonic()
        self.deadline = self.began + collect.timeout_s
        self.timings: dict[str, float] = {"build_s": build.seconds}
        self.commands: dict[str, list[str]] = {"build": list(build.command)}
        self.children: list[Child] = []
        self.postgres: Any = None

    # -- helpers -------------------------------------------------------------------------------

    def _check_time(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise ServiceTimeoutError(
                f"the {self.service} run took longer than timeout_s={self.collect.timeout_s:g} s "
                f"({what}); everything it started was stopped. On a busy machine pass a larger "
                "timeout_s or fewer seconds"
            )

    def _check_alive(self) -> None:
        for child in self.children:
            if not child.alive():
                raise self._died(child)

    def _died(self, child: Child) -> ServiceError:
        code = child.popen.returncode
        log = child.log_tail()
        if child.name == "postgres":
            return DatabaseStartError(f"PostgreSQL exited (status {code}) during the run: {log}")
        if child.name == "prometheus":
            return PrometheusStartError(f"Prometheus exited (status {code}) during the run: {log}")
        if code == EXIT_LISTEN or "address already in use" in log:
            return PortInUseError(
                f"the {child.name} service could not listen: its port is in use ({log}); pass "
                "another port or none"
            )
        if code == EXIT_DATABASE:
            return ServiceDiedError(
                f"the {child.name} service could not use its database (exit {code}): {log}. "
                "With db='postgres' check that PostgreSQL starts (labkit.golab.services."
                "start_postgres); with SQLite that the temporary directory is writable"
            )
        return ServiceDiedError(
            f"{child.name} exited with status {code} before the run ended: {log}. Its command: "
            f"{' '.join(child.argv)}"
        )

    def _get(self, path: str, timeout_s: float) -> bytes:
        try:
            return http_get(f"{self.base}{path}", timeout_s)
        except (OSError, urllib.error.URLError) as exc:
            self._check_alive()
            raise ServiceError(
                f"could not fetch {path} from the {self.service} service: {exc}; the machine may "
                "be overloaded: retry with fewer seconds or a lower rate"
            ) from exc

    def _json(self, path: str) -> dict[str, Any]:
        return json.loads(self._get(path, 10.0))

    def _step(self, name: str, fraction: float) -> None:
        self._check_time(name)
        self._check_alive()
        self.progress(name, fraction)

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> ServiceRun:
        load_before = os.getloadavg()[0]
        started_at = datetime.now(UTC)
        self._step("starting", 0.02)
        self._start()
        self._step("warming up", 0.2)
        self._sleep(self.collect.warmup_s)
        raw, before, after, load, window = self._collect()
        self._step("querying Prometheus", 0.9)
        series = self._prometheus_series(window)
        load_after = os.getloadavg()[0]
        self.progress("loading the artefacts", 0.95)
        cpu, goroutines, block, mutex, trace = load_artefacts(raw)
        self.timings["total_s"] = time.monotonic() - self.began
        meta = {
            "recorded_at": started_at.isoformat(timespec="seconds"),
            "recorded_on": (
                f"{platform.system().lower()}/{platform.machine()}, {os.cpu_count()} CPUs, "
                f"{self.build.go_version}"
            ),
            "go_version": self.build.go_version,
            "build_mode": self.build.mode,
            "load_avg_before": load_before,
            "load_avg_after": load_after,
            "timings": self.timings,
            "commands": self.commands,
            "environment": self.params.environment(),
            "prometheus_config": getattr(self, "prom_config", None),
        }
        records = None
        if load is not None:
            records = np.array(load.pop("records", []), dtype=float).reshape(-1, 5)
        latency = (
            dict(load["latency_ms"])
            if load is not None
            else {
                "p50": after["stats"]["frame_ms_p50"],
                "p99": after["stats"]["frame_ms_p99"],
                "max": after["stats"]["frame_ms_max"],
                "lateness_p99": after["stats"]["lateness_ms_p99"],
            }
        )
        self.progress("done", 1.0)
        return ServiceRun(
            service=self.service,
            params=self.params,
            collect=self.collect,
            source="live",
            latency=latency,
            load=load,
            records=records,
            stats_before=before["stats"],
            stats_after=after["stats"],
            metrics_before=before["metrics"],
            metrics_after=after["metrics"],
            cpu=cpu,
            goroutines=goroutines,
            block=block,
            mutex=mutex,
            trace=trace,
            queries=queries(self.service, self.collect.scrape_interval_s)
            if self.collect.prometheus
            else {},
            series=series,
            window=window,
            meta=meta,
            artefacts=raw,
        )

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._check_alive()
            self._check_time("waiting")
            time.sleep(min(left, 0.05))

    def _start(self) -> None:
        """Prometheus first (it needs ~5 s before its first scrape), then the database and the
        service; then wait for the service's /healthz and for Prometheus's first scrape."""
        port = self._port("service")
        self.base = f"http://127.0.0.1:{port}"
        prom = None
        if self.collect.prometheus:
            t = time.monotonic()
            prom = start_prometheus(
                self.sup,
                self._port("prometheus"),
                {JOBS[self.service]: f"127.0.0.1:{port}"},
                self.collect.scrape_interval_s,
            )
            self.children.append(prom.child)
            self.prom_url, self.prom_config = prom.url, prom.config
            self.commands["prometheus"] = list(prom.command)
        env_base = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
        flags = [
            f"-block-rate={self.collect.block_rate}",
            f"-mutex-fraction={self.collect.mutex_fraction}",
        ]
        if isinstance(self.params, DashboardParams):
            if self.params.db == "postgres":
                t_pg = time.monotonic()
                self.postgres = start_postgres(self.sup, self._port("postgres"), self.deadline)
                self.children.append(self.postgres.child)
                self.timings["postgres_start_s"] = time.monotonic() - t_pg
                self.commands["initdb"], self.commands["postgres"] = map(
                    list, self.postgres.commands
                )
                dsn = self.postgres.dsn
            else:
                dsn = str(self.sup.root / "dashboard.sqlite")
            flags += [*self.params.flags(), f"-dsn={dsn}"]
        else:
            flags += self.params.flags()
        argv = [str(self.build.binaries[self.service]), f"-addr=127.0.0.1:{port}", *flags]
        env = {**env_base, **self.params.environment()}
        t_svc = time.monotonic()
        child = self.sup.spawn(self.service, argv, env=env, cwd=self.sup.root)
        self.children.append(child)
        self.commands[self.service] = [
            *(f"{k}={v}" for k, v in self.params.environment().items()),
            *argv,
        ]
        wait_until(
            lambda: http_get(f"{self.base}/healthz", 1.0) == b"ok\n",
            self.children,
            self.deadline,
            self._died,
            lambda: ServiceTimeoutError(
                f"the {self.service} service did not answer /healthz within timeout_s; its "
                f"log: {child.log_tail()}"
            ),
        )
        self.timings["service_start_s"] = time.monotonic() - t_svc
        if prom is not None:
            wait_scraping(prom, [JOBS[self.service]], self.deadline)
            self.timings["prometheus_first_scrape_s"] = time.monotonic() - t

    def _snapshot(self, since: int | None = None) -> dict[str, Any]:
        stats_path = "/debug/stats" + (f"?since={since}" if since is not None else "")
        return {"metrics": self._json("/debug/metrics"), "stats": self._json(stats_path)}

    def _collect(
        self,
    ) -> tuple[dict[str, bytes], dict[str, Any], dict[str, Any], dict[str, Any] | None, tuple]:
        seconds = self.collect.seconds
        timed = self._fetch_plan()
        before = self._snapshot()
        frames_before = before["stats"].get("frames")
        self._step("load", 0.25)
        start_unix = time.time()
        start = time.monotonic()
        load_out = self.sup.root / "load.json"
        loadgen = self._start_loadgen(seconds, load_out)
        stop_db_at = getattr(self.params, "stop_db_at_s", 0.0)
        raw: dict[str, bytes] = {}
        pending: dict[str, cf.Future[bytes]] = {}
        # Not a `with`: on an error or an interrupt, leaving must not wait for a fetch still
        # running (a CPU profile lasts seconds); the supervisor's close ends those fetches.
        ex = cf.ThreadPoolExecutor(max_workers=len(timed), thread_name_prefix="labkit-fetch")
        try:
            waiting = dict(timed)
            while True:
                now = time.monotonic() - start
                for name, (at, path, timeout) in list(waiting.items()):
                    if now >= at:
                        pending[name] = ex.submit(http_get, f"{self.base}{path}", timeout)
                        del waiting[name]
                if stop_db_at and now >= stop_db_at and self.postgres is not None:
                    self._stop_postgres()
                    stop_db_at = 0.0
                load_done = now >= seconds if loadgen is None else not loadgen.alive()
                if load_done and not waiting and all(f.done() for f in pending.values()):
                    break
                for child in self.children:
                    if not child.alive():
                        raise self._died(child)
                if loadgen is not None and not loadgen.alive() and loadgen.popen.returncode != 0:
                    raise self._died(loadgen)
                self._check_time("collecting")
                self.progress("load", 0.25 + 0.6 * min(1.0, now / seconds))
                time.sleep(0.02)
            for name, fut in pending.items():
                try:
                    raw[name] = fut.result()
                except (OSError, urllib.error.URLError) as exc:
                    self._check_alive()
                    raise ServiceError(
                        f"could not fetch the {name} artefact from the {self.service} service: "
                        f"{exc}; the machine may be overloaded: retry with a lower rate"
                    ) from exc
        finally:
            ex.shutdown(wait=False, cancel_futures=True)
        end_unix = start_unix + (time.monotonic() - start)
        after = self._snapshot(since=frames_before)
        load = json.loads(load_out.read_text()) if loadgen is not None else None
        if load is not None:
            start_unix = load["start_unix_ns"] / 1e9
            end_unix = start_unix + seconds
        self.timings["load_s"] = time.monotonic() - start
        return raw, before, after, load, (start_unix, end_unix)

    def _fetch_plan(self) -> dict[str, tuple[float, str, float]]:
        """What to fetch from the service while the load runs: name -> (start offset s, path,
        timeout s). The CPU, block and mutex profiles span the run (pprof's ``?seconds=`` takes
        whole seconds); the goroutine profiles and the trace are taken around its middle."""
        c = self.collect
        seconds = c.seconds
        whole = max(1, math.floor(seconds - 0.5))
        timed = {
            "cpu": (0.0, f"/debug/pprof/profile?seconds={whole}", whole + 15),
            "block": (0.0, f"/debug/pprof/block?seconds={whole}", whole + 15),
            "mutex": (0.0, f"/debug/pprof/mutex?seconds={whole}", whole + 15),
            "goroutine-0": (seconds / 2, "/debug/pprof/goroutine?debug=0", 15),
            "goroutine-1": (seconds / 2, "/debug/pprof/goroutine?debug=1", 15),
            "goroutine-2": (seconds / 2, "/debug/pprof/goroutine?debug=2", 15),
        }
        if c.trace_seconds > 0:
            t0 = max(0.0, seconds / 2 - c.trace_seconds / 2)
            timed["trace"] = (
                t0,
                f"/debug/pprof/trace?seconds={c.trace_seconds:g}",
                c.trace_seconds + 15,
            )
        return timed

    def _start_loadgen(self, seconds: float, load_out: Path) -> Child | None:
        """Start the open-loop load generator against the dashboard (the render service needs
        none: it draws on its own); None for render."""
        if not isinstance(self.params, DashboardParams):
            return None
        p = self.params
        argv = [
            str(self.build.binaries["loadgen"]),
            f"-url={self.base}/dashboard?id={{id}}",
            f"-ids={p.dashboards}",
            f"-rate={p.rate:g}",
            f"-arrivals={p.arrivals}",
            f"-seed={p.seed}",
            f"-duration={seconds:g}s",
            "-timeout=5s",
            "-records",
            f"-out={load_out}",
        ]
        self.commands["loadgen"] = argv
        return self.sup.spawn("loadgen", argv, cwd=self.sup.root)

    def _stop_postgres(self) -> None:
        """Stop PostgreSQL now (immediate shutdown: SIGQUIT), as a crashed database would."""
        child = self.postgres.child
        self.children.remove(child)
        self.sup.stop(child, sig=signal.SIGQUIT, grace_s=5.0)
        self.timings["postgres_stopped_at_s"] = time.monotonic() - self.began

    def _prometheus_series(self, window: tuple[float, float]) -> dict[str, list[Series]]:
        if not self.collect.prometheus:
            return {}
        interval = self.collect.scrape_interval_s
        self._sleep(2 * interval)  # the last scrape of the load lands
        t = time.monotonic()
        out = {}
        for name, expr in queries(self.service, interval).items():
            out[name] = query_range(
                self.prom_url, expr, window[0] - 1.0, window[1] + interval, interval
            )
        self.timings["prometheus_queries_s"] = time.monotonic() - t
        return out
