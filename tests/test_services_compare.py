"""Chapter 5b's readings of a real service run: the model of the same incident, the five layers,
p99 with its interval, the article's claims (each rule flips on a run doctored to make the
claim true), the section-3.3 picture, the recordings found by their settings, and the views."""

from __future__ import annotations

import dataclasses
import urllib.request

import numpy as np
import pytest

from labkit.golab.services import (
    RecordingError,
    ServiceParameterError,
    recorded_run,
    recordings,
    run_service,
)
from labkit.golab.services import run as run_mod
from labkit.golab.services.claims import (
    ASSIST_REFUTED_BELOW,
    article_claims,
    format_claims,
)
from labkit.golab.services.compare import (
    BODY_BYTES_PER_ROW,
    LayersTable,
    _pool_waiters,
    article_fps_states,
    fix_rows,
    format_fix_rows,
    incident_params,
    metric_delta,
    p99_interval,
    real_layers,
)
from labkit.profiles import Profile
from labkit.scenarios.casestudy import run_incident

FIXES = {
    "no fix": {},
    "cache_json": {"cache_json": True},
    "stream": {"stream": True},
    "db_timeout": {"db_timeout": True},
    "all three": {"cache_json": True, "stream": True, "db_timeout": True},
}


@pytest.fixture(scope="module")
def dashboard():
    return recorded_run("dashboard")


@pytest.fixture(scope="module")
def render():
    return recorded_run("render")


# ---- the recordings, found by their settings ----------------------------------------------------


def test_each_fix_has_its_recording_found_by_its_settings():
    for flags in FIXES.values():
        run = recorded_run("dashboard", **flags)
        for name in ("cache_json", "stream", "db_timeout"):
            assert getattr(run.params, name) == flags.get(name, False)
    assert {s for s, _ in recordings().values()} == {"render", "dashboard"}


def test_a_setting_never_recorded_is_an_error_naming_what_is():
    with pytest.raises(RecordingError, match=r"pool=7.*recorded: .*cache_json=True"):
        recorded_run("dashboard", pool=7)


def test_auto_falls_back_to_the_recording_of_the_same_settings(monkeypatch):
    def missing():
        raise run_mod.ServicesMissingError("no prometheus (test)")

    monkeypatch.setattr(run_mod, "build_services", missing)
    with pytest.warns(Warning, match="no prometheus"):
        run = run_service("dashboard", stream=True)
    assert run.params.stream and not run.params.cache_json and "no prometheus" in run.note
    with pytest.raises(RecordingError, match="live run not possible: no prometheus.*rows=5"):
        run_service("dashboard", rows=5)  # never recorded: an error, not the default's run


def test_labkit_services_chooses_the_source(monkeypatch):
    def never():
        raise AssertionError("a recorded source must not build")

    monkeypatch.setattr(run_mod, "build_services", never)
    monkeypatch.setenv("LABKIT_SERVICES", "recorded")
    assert run_service("dashboard", db_timeout=True).source == "recorded"
    monkeypatch.setenv("LABKIT_SERVICES", "sometimes")
    with pytest.raises(ServiceParameterError, match="LABKIT_SERVICES must be one of"):
        run_service("dashboard")


# ---- the model of the same incident -------------------------------------------------------------


def test_the_model_gets_the_real_runs_settings(dashboard):
    p = incident_params(dashboard)
    assert p.clients * 1000.0 / p.poll_ms == pytest.approx(dashboard.params.rate)
    assert p.payload_kb == pytest.approx(1000 * BODY_BYTES_PER_ROW / 1024)
    assert (p.db_pool, p.db_driver, p.gomaxprocs) == (2, "cgo", 2)
    assert p.db_median_ms == 5.0 and p.db_sigma == 1.0 and p.draw_ms == 2.0
    assert p.live_mb == pytest.approx(
        dashboard.metrics_after["metrics"]["/gc/heap/live:bytes"] / 2**20
    )
    fixed = incident_params(recorded_run("dashboard", **FIXES["all three"]))
    assert fixed.fixes() == ("cache_json", "stream", "db_timeout")
    pg = dataclasses.replace(dashboard, params=dashboard.params.replace(db="postgres"))
    assert incident_params(pg).db_driver == "network"


def test_only_a_dashboard_run_has_an_incident(render):
    with pytest.raises(ServiceParameterError, match="dashboard service"):
        incident_params(render)
    with pytest.raises(ServiceParameterError, match="dashboard"):
        article_claims(render)


# ---- the five layers -------------------------------------------------------------------------------


def test_each_layer_reads_the_runs_own_numbers(dashboard):
    f = dashboard.figures()
    cells = real_layers(dashboard)
    assert f"p99 {f['p99_ms']:.0f} ms" in cells["application"]
    assert f"{f['pool_waits']} waited for a connection" in cells["syscalls / network"]
    assert f"{f['threads']:.0f} threads" in cells["kernel threads"]
    table = LayersTable(dashboard, run_incident(incident_params(dashboard)))
    assert len(table.rows) == 5 and "model of the same incident" in repr(table)
    assert "<table" in table._repr_html_()


def test_cpu_is_read_as_the_ps_busy_in_go_and_as_the_process_c_code_included(dashboard):
    """/cpu/classes divides the Ps' time (C code that lost its P counts as idle); the CPU
    profile samples every running thread. The recorded cgo-heavy run: 36 % against 47 %. A run
    without a CPU profile gives only the first."""
    cell = real_layers(dashboard)["kernel threads"]
    assert "Ps busy in Go code 36 % of 2 (/cpu/classes)" in cell
    assert "the process 47 % of 2 cores (CPU profile, C code included)" in cell
    bare = real_layers(dataclasses.replace(dashboard, cpu=None))["kernel threads"]
    assert "Ps busy in Go code 36 %" in bare and "the process" not in bare


def test_the_real_column_names_its_own_sources_not_the_articles(dashboard):
    table = LayersTable(dashboard, run_incident(incident_params(dashboard)))
    tools = " ".join(r["tool"] for r in table.rows)
    assert "bpftrace" not in tools and "http_request_duration_seconds" not in tools
    assert "dashboard_request_seconds" in tools and "/cpu/classes" in tools


def test_the_fix_table_shows_the_allocation_that_drives_gc_cycles(dashboard):
    """GC cycles follow allocation: the recorded no-fix run allocates 27 MiB/s and runs 13.3
    cycles/s on its ~4 MiB goal, about one cycle per 2 MiB."""
    (row,) = fix_rows({"no fix": dashboard}, {"no fix": run_incident(incident_params(dashboard))})
    assert row["alloc_mb_per_s"] == pytest.approx(
        metric_delta(dashboard, "/gc/heap/allocs:bytes") / 2**20 / dashboard.figures()["seconds"]
    )
    assert 1.5 < row["alloc_mb_per_s"] / row["gc_per_s"] < 2.5
    assert "alloc MiB/s" in format_fix_rows([row])


def test_the_p_hunger_evidence_leaves_the_collectors_own_waits_out(dashboard):
    """The trace's sync profile holds the tracer's and pprof's own waits; the claim's figure is
    the service's alone (labkit.golab.services.waits)."""
    from labkit.golab.services.waits import waits_by_caller

    split = waits_by_caller(dashboard.trace.to_profile("sync"))
    evidence = _claim(dashboard, "p-hunger").evidence
    assert f"{split.service / 1e6:.0f} ms on channels, selects and locks" in evidence
    assert f"{split.total / 1e6:.0f} ms on channels" not in evidence


def test_the_stw_reading_is_the_gc_pause_histogram_and_falls_back_to_its_old_name(dashboard):
    """STW max comes from /sched/pauses/total/gc:seconds (runtime/metrics deprecates the
    identical /gc/pauses:seconds): a run whose new histogram has one more, longer pause reads
    it; a recording with only the old name reads that."""
    new, old = "/sched/pauses/total/gc:seconds", "/gc/pauses:seconds"

    def with_metrics(run, change):
        before = {**run.metrics_before, "metrics": dict(run.metrics_before["metrics"])}
        after = {**run.metrics_after, "metrics": dict(run.metrics_after["metrics"])}
        change(before["metrics"], after["metrics"])
        return dataclasses.replace(run, metrics_before=before, metrics_after=after)

    def longer_pause(before, after):
        h = after[new]
        counts = list(h["counts"])
        counts[-2] += 1  # one pause in the last finite bucket
        after[new] = {**h, "counts": counts}

    def only_old(before, after):
        assert old in before and old in after
        del before[new], after[new]

    base = real_layers(dashboard)["GC"]
    assert "STW max <= " in base
    assert real_layers(with_metrics(dashboard, longer_pause))["GC"] != base
    assert real_layers(with_metrics(dashboard, only_old))["GC"] == base


def test_pool_waiters_are_counted_from_the_goroutine_profile(dashboard):
    conn = ("net/http.(*conn).serve", "database/sql.(*DB).conn", "runtime.selectgo")
    row = ("github.com/mattn/go-sqlite3.(*SQLiteRows).Next.func1", "runtime.cgocall")
    idle = ("net/http.(*conn).serve", "internal/poll.runtime_pollWait")
    fake = Profile.from_stacks({conn: 5, row: 3, idle: 9}, [("goroutine", "count")])
    run = dataclasses.replace(dashboard, goroutines={0: fake})
    assert _pool_waiters(run) == (5, 3)


# ---- p99 and its interval ---------------------------------------------------------------------------


def test_the_p99_interval_is_seeded_and_brackets_the_p99(dashboard):
    p99, lo, hi = p99_interval(dashboard)
    assert p99_interval(dashboard) == (p99, lo, hi)
    assert lo <= p99 <= hi
    lat = dashboard.records[:, 1]
    assert p99 == np.quantile(lat, 0.99, method="higher")
    records = dashboard.records.copy()
    records[:, 1] = 7.0
    assert p99_interval(dataclasses.replace(dashboard, records=records)) == (7.0, 7.0, 7.0)
    with pytest.raises(ServiceParameterError, match="no per-request records"):
        p99_interval(dataclasses.replace(dashboard, records=None))


def test_on_the_recordings_the_cache_and_the_timeout_lower_p99_beyond_its_interval():
    runs = {name: recorded_run("dashboard", **flags) for name, flags in FIXES.items()}
    models = {name: run_incident(incident_params(run)) for name, run in runs.items()}
    rows = {r["setting"]: r for r in fix_rows(runs, models)}
    base = rows["no fix"]
    for name in ("cache_json", "db_timeout", "all three"):
        assert rows[name]["p99_high_ms"] < base["p99_low_ms"], name
    assert rows["db_timeout"]["fallbacks"] > 0 == rows["no fix"]["fallbacks"]
    # the model agrees on the order: the cache far ahead of no fix
    assert rows["cache_json"]["model_p99_ms"] < base["model_p99_ms"] / 3
    text = format_fix_rows(list(rows.values()))
    assert len(text.splitlines()) == 6 and "all three" in text


# ---- the article's claims -------------------------------------------------------------------------


def test_every_claim_is_refuted_by_the_recorded_incident(dashboard):
    checks = article_claims(dashboard)
    assert [c.claim for c in checks] == [
        "http-read-syscall",
        "p-hunger",
        "assist-netpoll",
        "gopark-43",
    ]
    assert not any(c.holds for c in checks)
    assert format_claims(checks).count("refuted by this run") == 4


def _with_metric(run, name, delta):
    after = {**run.metrics_after, "metrics": dict(run.metrics_after["metrics"])}
    after["metrics"][name] = run.metrics_before["metrics"][name] + delta
    return dataclasses.replace(run, metrics_after=after)


def _claim(run, name):
    return next(c for c in article_claims(run) if c.claim == name)


def test_the_hunger_rule_holds_on_a_run_whose_goroutines_waited_for_a_p(dashboard):
    name = "/sched/latencies:seconds"
    after = {**dashboard.metrics_after, "metrics": dict(dashboard.metrics_after["metrics"])}
    hist = dict(after["metrics"][name])
    buckets = hist["buckets"]
    k = next(i for i, b in enumerate(buckets[:-1]) if isinstance(b, float) and b >= 0.005)
    counts = list(hist["counts"])
    counts[k] += 10 * sum(counts)  # most waits now last ~5 ms
    hist["counts"] = counts
    after["metrics"][name] = hist
    doctored = dataclasses.replace(dashboard, metrics_after=after)
    assert _claim(doctored, "p-hunger").holds


def test_the_assist_rule_holds_on_a_run_that_assisted_heavily(dashboard):
    total = dashboard.metrics_after["metrics"]["/cpu/classes/total:cpu-seconds"]
    total -= dashboard.metrics_before["metrics"]["/cpu/classes/total:cpu-seconds"]
    name = "/cpu/classes/gc/mark/assist:cpu-seconds"
    doctored = _with_metric(dashboard, name, 2 * ASSIST_REFUTED_BELOW * total)
    assert _claim(doctored, "assist-netpoll").holds


def test_the_gopark_rule_holds_on_a_cpu_profile_full_of_gopark(dashboard):
    types = [("samples", "count"), ("cpu", "nanoseconds")]
    cpu = Profile.from_stacks(
        {("main.main", "runtime.gopark"): [50, 500], ("main.main", "main.work"): [50, 500]}, types
    )
    assert _claim(dataclasses.replace(dashboard, cpu=cpu), "gopark-43").holds


class _Trace:
    """A trace whose reads were system calls, not network waits."""

    end_ms = 100.0

    def to_profile(self, kind):
        types = [("contentions", "count"), ("delay", "nanoseconds")]
        read = ("net/http.(*conn).serve", "internal/poll.(*FD).Read", "syscall.read")
        stacks = {
            "net": {read[:2]: [1, 1_000_000]},
            "syscall": {read: [40, 90_000_000]},
        }.get(kind, {("main.main",): [1, 1]})
        return Profile.from_stacks(stacks, types)


def test_the_read_rule_holds_on_a_trace_whose_reads_blocked_in_system_calls(dashboard):
    assert _claim(dataclasses.replace(dashboard, trace=_Trace()), "http-read-syscall").holds


def test_claims_need_the_artefacts(dashboard):
    with pytest.raises(ServiceParameterError, match="no trace"):
        article_claims(dataclasses.replace(dashboard, trace=None))


# ---- the article's section 3.3 picture ------------------------------------------------------------


def test_the_fps_gauge_and_states_come_from_the_scrapes(render):
    (t, fps), states = article_fps_states(render)
    assert set(states) == {"running", "runnable", "waiting", "syscall"}
    assert t.size > 10 and np.all(np.diff(t) > 0) and t[0] >= -1.0
    assert 50 <= np.median(fps) <= 61
    assert np.all(states["running"][1] <= render.params.gomaxprocs)
    with pytest.raises(ServiceParameterError, match="render service"):
        article_fps_states(recorded_run("dashboard"))
    with pytest.raises(ServiceParameterError, match="prometheus=True"):
        article_fps_states(dataclasses.replace(render, series={}))


def test_the_views_refuse_what_they_cannot_draw(render):
    from labkit.errors import ParameterError
    from labkit.widgets import FpsStatesPlot, RunProgress

    fps, states = article_fps_states(render)
    plot = FpsStatesPlot(fps, states, caption="c")
    assert plot.summary() == "c" and len(plot.figure.marks) == 5
    with pytest.raises(ParameterError, match="unknown state"):
        FpsStatesPlot(fps, {"asleep": fps})
    with pytest.raises(ParameterError, match="empty"):
        FpsStatesPlot(([], []), states)
    bar = RunProgress("x")
    bar("load", 0.5)
    assert bar.bar.value == 0.5 and bar.label.value == "x: load" and bar.steps == ["load"]
    with pytest.raises(ParameterError, match="fraction"):
        bar("load", 1.5)


# ---- the body size the model is given --------------------------------------------------------------


@pytest.mark.go
def test_a_dashboard_answer_is_as_long_as_the_model_is_told(tmp_path):
    from services_env import bare_dashboard

    with bare_dashboard(tmp_path, "-rows=1000") as base:
        body = urllib.request.urlopen(f"{base}/dashboard?id=0", timeout=20).read()
    assert len(body) / 1000 == pytest.approx(BODY_BYTES_PER_ROW, rel=0.01)
