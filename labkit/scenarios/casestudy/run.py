"""One run of the incident: the scheduler result and the numbers the five-layer diagnosis reads.

``run_incident(params)`` draws the plan (``plan.py``), builds the scheduler program
(``program.py``), runs ``labkit.models.scheduler.simulate`` and measures what the article's five layers
would show: the application (request latency, dashboard frame rate), goroutines
(``go_goroutines``), the GC (cycles, GC CPU, the share of it paid as mark assists), system calls
and the network (time in blocking calls, write sizes), and kernel threads (peak threads; the
model's schedule() calls, not the kernel's context switches). Same parameters and seed, same
numbers, bit for bit. Its goroutine dumps are made of a real recorded dump (``dump.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from labkit.models.scheduler import Result, simulate
from labkit.profiles import Profile
from labkit.scenarios.casestudy.dump import incident_dump
from labkit.scenarios.casestudy.params import (
    FIXES,
    FRESH_POLLS,
    IncidentParams,
)
from labkit.scenarios.casestudy.plan import STREAM_BATCH_BYTES, Plan, make_plan
from labkit.scenarios.casestudy.program import (
    DB_READ,
    FRAME,
    GOT,
    REFRESH,
    REQ,
    STORED,
    build_program,
)

#: Extra virtual time after the last poll so that every request and frame can finish.
DRAIN_MS = 20_000.0
#: Goroutines the service always has, as runtime.NumGoroutine (go_goroutines) counts them: main
#: (blocked in the accept loop, srv.Serve), database/sql's connectionOpener (started by
#: sql.OpenDB, src/database/sql/sql.go:846) and the render loop. NumGoroutine leaves out the
#: runtime's own goroutines (gcount(false) subtracts sched.ngsys, src/runtime/proc.go:5750:
#: forcegchelper, bgsweep, bgscavenge, the gcBgMarkWorkers), as the dump does.
SERVICE_GOROUTINES = 3


@dataclass(frozen=True)
class IncidentRun:
    """The outcome of :func:`run_incident`: inputs, plan, scheduler result and metrics."""

    params: IncidentParams
    plan: Plan = field(repr=False)
    result: Result = field(repr=False)
    names: list[str] = field(repr=False)
    latency_ms: np.ndarray = field(repr=False)
    frame_done_ms: np.ndarray = field(repr=False)
    goroutines_t_ms: np.ndarray = field(repr=False)
    goroutines: np.ndarray = field(repr=False)
    metrics: dict[str, float] = field(default_factory=dict)

    # ---- text ---------------------------------------------------------------------------------
    def summary(self) -> str:
        """Inputs (with seed), then the headline numbers: readable without any picture."""
        p, m = self.params, self.metrics
        fixes = ", ".join(p.fixes()) or "none"
        return (
            f"incident: {p.clients} dashboards x every {p.poll_ms:g} ms for {p.seconds:g} s, "
            f"{p.payload_kb:g} KiB JSON, DB median {p.db_median_ms:g} ms sigma {p.db_sigma:g} "
            f"pool {p.db_pool} ({p.db_driver}), GOMAXPROCS={p.gomaxprocs} GOGC={p.gogc}, "
            f"fixes: {fixes}, seed={p.seed}\n"
            f"latency p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms; dashboard "
            f"{m['dashboard_fps']:.1f} fps ({m['fps_on_time']:.1f} frames/s on time); CPU "
            f"{100 * m['cpu_share']:.0f} %; goroutines peak {m['goroutines_peak']:.0f}; threads "
            f"peak {m['threads_peak']:.0f}; GC {m['gc_cycles_per_s']:.1f} cycles/s, "
            f"{100 * m['gc_cpu_share']:.1f} % CPU, assists {100 * m['assist_share']:.0f} % of GC, "
            f"max STW {1000 * m['stw_max_ms']:.0f} us"
        )

    def observed(self) -> str:
        """What an on-call engineer sees of the service, without its settings: latency, the
        dashboard, CPU, goroutines, threads, GC and the DB's pool statistics (sql.DBStats). The
        capstone prints this instead of :meth:`summary`, which names the hidden parameters."""
        m = self.metrics
        return (
            f"latency p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms; dashboard "
            f"{m['dashboard_fps']:.1f} fps ({m['fps_on_time']:.1f} frames/s on time); data age p99 "
            f"{m['data_age_p99_ms']:.0f} ms; CPU {100 * m['cpu_share']:.0f} %; goroutines peak "
            f"{m['goroutines_peak']:.0f}; threads peak {m['threads_peak']:.0f}; GC "
            f"{m['gc_cycles_per_s']:.1f} cycles/s, assists {100 * m['assist_share']:.0f} % of GC; "
            f"{m['db_calls']:.0f} DB calls, wait + query p99 {m['db_wait_p99_ms']:.0f} ms, "
            f"{m['db_timeouts']:.0f} timeouts"
        )

    def state_view(self) -> SimpleNamespace:
        """Goroutine states as ``go_goroutines`` would count them, for GoroutineStatePlot.

        The scheduler program pre-spawns every request and frame goroutine parked until its
        time; a real server has only its connections' goroutines. Running, runnable and syscall
        counts come from the scheduler; waiting is the real goroutine count minus those.
        """
        st = self.result.states
        t = np.union1d(np.asarray(st["t_ms"], float), self.goroutines_t_ms)
        busy = {
            s: step_values(st["t_ms"], np.asarray(st[s]), t, before=0)
            for s in ("running", "runnable", "syscall")
        }
        total = step_values(self.goroutines_t_ms, self.goroutines, t, before=0).astype(np.int64)
        # At t=0 every pre-spawned goroutine is briefly runnable before it parks: cap at the count.
        room = np.maximum(total - busy["running"] - busy["syscall"], 0)
        busy["runnable"] = np.minimum(busy["runnable"], room)
        waiting = np.maximum(total - busy["running"] - busy["runnable"] - busy["syscall"], 0)
        return SimpleNamespace(
            states={"t_ms": t, **busy, "waiting": waiting}, threads=self.result.threads
        )

    # ---- profiles -----------------------------------------------------------------------------
    def cpu_profile(self, hz: float = 100) -> Profile:
        """The run's CPU profile: what each P ran at every SIGPROF (100 Hz, runtime/pprof)."""
        return Profile.from_stacks(
            self.result.cpu_samples(hz),
            [("samples", "count")],
            period=int(round(1e9 / hz)),
            period_type=("cpu", "nanoseconds"),
            source=f"casestudy seed={self.params.seed}",
        )

    def goroutine_dump(self, at_ms: float) -> str:
        """``/debug/pprof/goroutine?debug=2`` at ``at_ms``: handlers in flight, one idle
        keep-alive connection per client with none in flight, the render loop, the cache
        refresher and the goroutines every such server has (dump.py). Each goroutine is printed
        as a real go1.27.3 dump printed one in the same place and state (recorded from the
        course's service, labkit/scenarios/casestudy/go/dashboard); ids and states are the model's."""
        if not isinstance(at_ms, (int, float)) or isinstance(at_ms, bool) or at_ms < 0:
            raise ValueError(f"goroutine_dump(at_ms=...) must be a time >= 0 ms, got {at_ms!r}")
        keep, idle = _live_goids(self, float(at_ms))
        return incident_dump(self.result.goroutine_dump(at_ms), keep, self.params, idle)


def step_values(times: np.ndarray, values: np.ndarray, at: np.ndarray, before: float) -> np.ndarray:
    """A step function read at ``at``: the value of the last event at or before each instant
    (``times`` sorted), or ``before`` where no event has happened yet, including when there is
    no event at all. ``before`` sits at index 0 of the table, so an empty ``times`` never
    indexes an empty array (a run whose every DB call timed out has no read to date from)."""
    table = np.concatenate([[before], np.asarray(values)])
    return table[np.searchsorted(np.asarray(times, dtype=float), at, side="right")]


def _live_goids(run: IncidentRun, at_ms: float) -> tuple[set[int], int]:
    """The model goroutines a dump at ``at_ms`` shows (requests in flight; for each client with
    none, the goroutine of its next poll, parked on the idle keep-alive connection; the next
    frame; the refresher), and how many idle clients have no such goroutine (no poll left)."""
    fin = run.result.finished_ms
    plan = run.plan
    keep: set[int] = set()
    idle_client: dict[int, int] = {}
    busy_clients: set[int] = set()
    next_frame = None
    for idx, name in enumerate(run.names):
        goid = idx + 2  # main is goroutine 1; newproc numbers the rest in creation order
        done = fin.get(name)
        alive = done is None or done > at_ms
        if name.startswith(REQ):
            i = int(name[len(REQ) :])
            c = int(plan.client[i])
            if plan.arrival_ms[i] <= at_ms and alive:
                keep.add(goid)
                busy_clients.add(c)
            elif plan.arrival_ms[i] > at_ms and c not in idle_client:
                idle_client[c] = goid
        elif name.startswith(FRAME) and alive and next_frame is None:
            next_frame = goid
        elif name == REFRESH and alive:
            keep.add(goid)
    keep.update(g for c, g in idle_client.items() if c not in busy_clients)
    if next_frame is not None:
        keep.add(next_frame)
    return keep, run.params.clients - len(busy_clients | set(idle_client))


def _goroutine_series(params: IncidentParams, plan: Plan, done: np.ndarray) -> tuple:
    """go_goroutines over time: per client max(1, requests in flight) connection goroutines (a
    browser opens another connection when a poll fires before the last answer came; net/http
    runs each connection's handler on that connection's goroutine), one
    ``(*connReader).backgroundRead`` goroutine per request in flight (net/http starts it before
    calling a handler of a request without a body, startBackgroundRead in
    src/net/http/server.go:742), plus the service's own (SERVICE_GOROUTINES and the refresher)."""
    t = np.concatenate([plan.arrival_ms, done])
    step = np.concatenate([np.ones(done.size), -np.ones(done.size)])
    client = np.concatenate([plan.client, plan.client])
    order = np.lexsort((-step, t))
    # The walk is over Python lists, one step per request's start and end: with numpy scalars
    # it took 0.81 ms a run of the default incident, with lists 0.27 (2026-12-05).
    in_flight = [0] * params.clients
    extra = 0  # sum over clients of max(0, in_flight - 1), plus the requests in flight
    base = SERVICE_GOROUTINES + int(params.cache_json) + params.clients
    counts = [base]
    for c, d in zip(client[order].tolist(), step[order].astype(int).tolist(), strict=True):
        before = in_flight[c]
        after = in_flight[c] = before + d
        extra += max(0, after - 1) - max(0, before - 1) + d
        counts.append(base + extra)
    return np.concatenate([[0.0], t[order]]), np.asarray(counts, dtype=float)


def _freshness(params: IncidentParams, plan: Plan, done: np.ndarray, at: np.ndarray) -> np.ndarray:
    """How far behind each client's panel is at each instant in ``at`` (ms): now minus the time
    of the newest poll it has an answer to (the page load at t=0 before the first answer). A
    panel plots each answer at the time it asked; a fallback answer counts (it is on time, with
    older numbers)."""
    behind = np.empty((params.clients, at.size))
    for c in range(params.clients):
        mine = np.flatnonzero(plan.client == c)
        order = np.argsort(done[mine], kind="stable")
        got = done[mine][order]
        newest = np.maximum.accumulate(plan.arrival_ms[mine][order])
        behind[c] = at - step_values(got, newest, at, before=0.0)
    return behind


def data_times(params: IncidentParams, result: Result, n: int) -> np.ndarray:
    """When the data each answer carries was read from the DB (ms): the handler's own query; for
    a fallback (db_timeout), the last good read by any handler (the process's last-good cache);
    with cache_json, the refresher's last store. Before any read: 0 (the warm start)."""
    marks = result.marks
    src = np.asarray(marks.get(STORED if params.cache_json else DB_READ, []), dtype=float)
    got = np.array([(marks.get(f"{GOT}{i}") or [np.nan])[0] for i in range(n)], dtype=float)
    return np.where(np.isfinite(got), step_values(src, src, got, before=0.0), np.nan)


def measure(params: IncidentParams, plan: Plan, result: Result, names: list[str]) -> IncidentRun:
    """The metrics of one run (see :func:`run_incident`)."""
    fin = result.finished_ms
    n = plan.arrival_ms.size
    done = np.array([fin.get(f"{REQ}{i}") or np.nan for i in range(n)], dtype=float)
    latency = done - plan.arrival_ms
    ok = np.isfinite(latency)
    frames = plan.frame_tick_ms.size
    frame_done = np.array([fin.get(f"{FRAME}{k}") or np.nan for k in range(frames)], dtype=float)
    deadline = plan.frame_tick_ms + params.frame_ms
    on_time = np.isfinite(frame_done) & (frame_done <= deadline + 1e-9)
    horizon = params.seconds * 1000.0
    ages = _freshness(params, plan, np.where(ok, done, np.inf), np.minimum(frame_done, deadline))
    fresh = ages <= FRESH_POLLS * params.poll_ms
    fresh_share = fresh.mean(axis=0) if params.clients else np.zeros(frames)
    gt, gn = _goroutine_series(params, plan, np.where(ok, done, horizon + DRAIN_MS))
    seg = result.segments
    busy = float(np.sum(np.minimum(seg["end_ms"], horizon) - np.minimum(seg["start_ms"], horizon)))
    ts = result.thread_segments
    in_syscall = ts["kind"] == "syscall"
    syscall_ms = float(np.sum(ts["end_ms"][in_syscall] - ts["start_ms"][in_syscall]))
    cycles = plan.cycles
    gc_cpu = plan.gc_assist_cpu_ms + plan.gc_background_cpu_ms
    body = params.body_bytes
    streamed = params.stream and not params.cache_json
    age = done - data_times(params, result, n)
    fin_age = np.isfinite(age)
    db_wait, db_query, db_out = plan.db_calls
    metrics = {
        "requests": float(n),
        "unfinished": float(np.sum(~ok)),
        "p50_ms": float(np.percentile(latency[ok], 50)) if ok.any() else float("nan"),
        "p99_ms": float(np.percentile(latency[ok], 99)) if ok.any() else float("nan"),
        "max_ms": float(np.max(latency[ok])) if ok.any() else float("nan"),
        "fps_on_time": float(on_time.sum()) / params.seconds,
        "dashboard_fps": float(np.sum(fresh_share * on_time)) / params.seconds,
        "frame_late_share": float(1.0 - on_time.mean()) if frames else 0.0,
        "panel_lag_p99_ms": float(np.percentile(ages, 99)) if ages.size else 0.0,
        "cpu_share": busy / (params.gomaxprocs * horizon),
        "goroutines_peak": float(gn.max()),
        "threads_peak": float(result.stats["threads_peak"]),
        "schedules_per_s": result.stats["schedules"] / params.seconds,
        "handoffs": float(result.stats["handoffs"]),
        "gc_cycles_per_s": len(cycles) / params.seconds,
        "gc_cpu_share": float(plan.gc_cpu_fraction),
        "assist_share": plan.gc_assist_cpu_ms / gc_cpu if gc_cpu > 0 else 0.0,
        "stw_max_ms": max((c.stw_s * 1000.0 for c in cycles), default=0.0),
        "alloc_mb_per_s": plan.alloc_total_bytes / (1 << 20) / params.seconds,
        "syscall_ms_per_s": syscall_ms / params.seconds,
        "db_calls": float(db_wait.size),
        "db_wait_p99_ms": float(np.percentile(db_wait + db_query, 99)) if db_wait.size else 0.0,
        "db_timeouts": float(db_out.sum()),
        "data_age_p99_ms": float(np.percentile(age[fin_age], 99)) if fin_age.any() else 0.0,
        "write_bytes": float(min(body, STREAM_BATCH_BYTES) if streamed else body),
    }
    return IncidentRun(params, plan, result, names, latency, frame_done, gt, gn, metrics)


def run_incident(params: IncidentParams | None = None, **overrides: Any) -> IncidentRun:
    """Simulate the incident for ``params`` (default: the article's setting, no fix) with any
    ``overrides`` (``run_incident(cache_json=True)``). Raises IncidentParamError (a ValueError)
    naming a bad parameter."""
    p = IncidentParams.make(params, **overrides)
    rng = np.random.default_rng(p.seed)
    plan = make_plan(p, rng)
    main, names = build_program(p, plan)
    result = simulate(
        main,
        gomaxprocs=p.gomaxprocs,
        async_preempt=True,
        until_ms=_until_ms(p, plan),
        seed=int(rng.integers(2**31)),
    )
    return measure(p, plan, result, names)


def _until_ms(p: IncidentParams, plan: Plan) -> float:
    """When the simulation may stop: late enough for every request to finish, however
    overloaded the service. The last planned DB call ends by then (the plan queues the calls
    for the pool's connections), and so does every handler's CPU work and network write run one
    after another after it (an upper bound on any backlog), with DRAIN_MS to spare. An
    overloaded service thus runs longer instead of leaving requests unfinished."""
    ends = [p.seconds * 1000.0]
    if plan.arrival_ms.size:
        ends.append(float(np.max(plan.arrival_ms + plan.db_wait_ms + plan.db_query_ms)))
    if plan.refresh_ms.size:
        ends.append(
            float(np.max(plan.refresh_ms + plan.refresh_db_wait_ms + plan.refresh_db_query_ms))
        )
    work = plan.decode_ms + plan.encode_ms + plan.assist_ms + plan.write_ms
    backlog = (
        float(np.sum(work))
        + plan.refresh_ms.size * plan.refresh_cpu_ms
        + plan.frame_tick_ms.size * p.draw_ms
        + plan.arrival_ms.size * p.hot_loop_ms
    )
    return max(ends) + backlog + DRAIN_MS


def fix_variants(params: IncidentParams | None = None) -> dict[str, IncidentParams]:
    """The chapter's comparison: no fix, each fix alone, all three (other knobs from params)."""
    base = IncidentParams.make(params, **dict.fromkeys(FIXES, False))
    out = {"no fix": base}
    for f in FIXES:
        out[f"{f} only"] = base.replace(**{f: True})
    out["all three"] = base.replace(**dict.fromkeys(FIXES, True))
    return out
