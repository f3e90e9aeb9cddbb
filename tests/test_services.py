"""labkit.golab.services without running a service: parameters, the recordings, the histogram
and Prometheus helpers, the fallback to the recording, the supervisor's clean-up, the packages
list. The live runs are in test_services_live.py."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from services_env import alive, descendants, listening, ports_in

from labkit.errors import LabkitError
from labkit.golab import GolabWarning
from labkit.golab.services import (
    CollectParams,
    DashboardParams,
    PortInUseError,
    RecordingError,
    RenderParams,
    ServiceParameterError,
    ServicesMissingError,
    ServiceTimeoutError,
    load_run,
    procs,
    queries,
    recorded_run,
    run_service,
)
from labkit.golab.services import run as run_mod
from labkit.golab.services.errors import APT_PACKAGES
from labkit.golab.services.prometheus import write_config
from labkit.golab.services.result import ARTEFACT_FILES, histogram_quantile
from labkit.profiles import Profile
from labkit.traces import Trace

ROOT = Path(__file__).resolve().parents[1]

# ---- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "kwargs", "says"),
    [
        ("dashboard", {"rate": 0}, "rate"),
        ("dashboard", {"pool": 0}, "pool"),
        ("dashboard", {"db": "mysql"}, "db"),
        ("dashboard", {"slow": "sleep"}, "needs db='postgres'"),
        ("dashboard", {"stop_db_at_s": 2.0}, "stop_db_at_s needs db='postgres'"),
        ("dashboard", {"db_timeout": 1}, "db_timeout"),
        ("render", {"fps": 0}, "fps"),
        ("render", {"pooled": "yes"}, "pooled"),
        ("render", {"frames": 3}, "unknown parameter 'frames'"),
        ("render", {"seconds": 1.0}, "seconds"),
        ("render", {"seconds": 3.0, "trace_seconds": 3.0}, "trace_seconds"),
        ("render", {"seconds": 30.0, "timeout_s": 20.0}, "timeout_s"),
        ("render", {"scrape_interval_s": 1.0}, "scrape_interval_s"),
        ("nginx", {}, "service must be one of"),
    ],
)
def test_bad_parameters_are_refused_by_name(service, kwargs, says):
    with pytest.raises(ServiceParameterError, match=says) as info:
        run_service(service, source="recorded", **kwargs)
    assert isinstance(info.value, LabkitError)


def test_parameters_become_the_services_flags_and_environment():
    p = DashboardParams(db="postgres", db_timeout=True, timeout_ms=50.0, gogc=-1, gomaxprocs=1)
    flags = p.flags()
    assert "-db=postgres" in flags and "-slow=sleep" in flags  # auto: sleep for PostgreSQL
    assert "-db-timeout-ms=50" in flags
    assert p.environment() == {"GOMAXPROCS": "1", "GOGC": "off"}
    assert "-db-timeout-ms=0" in DashboardParams().flags()  # the fix off: no deadline
    assert "-slow=work" in DashboardParams().flags()  # auto: work for SQLite
    r = RenderParams(pooled=True, gomemlimit_mib=128)
    assert "-pooled=true" in r.flags() and r.environment()["GOMEMLIMIT"] == "128MiB"


# ---- the recordings -----------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["render", "dashboard"])
def test_the_recorded_run_loads_with_every_artefact(service):
    run = recorded_run(service)
    assert run.source == "recorded" and run.service == service
    assert isinstance(run.cpu, Profile) and run.cpu.total("cpu") > 0
    assert set(run.goroutines) == {0, 1, 2}
    assert all(isinstance(p, Profile) for p in run.goroutines.values())
    assert isinstance(run.block, Profile) and isinstance(run.mutex, Profile)
    assert isinstance(run.trace, Trace)
    # where, when and how to redo it
    for key in ("recorded_at", "recorded_on", "go_version", "commands", "redo", "load_avg_before"):
        assert run.meta[key], key
    assert service in run.meta["commands"] and "prometheus" in run.meta["commands"]
    # every query answered with data inside the load window
    assert set(run.series) == set(queries(service, run.collect.scrape_interval_s))
    start, end = run.window
    for name, series in run.series.items():
        if name == "article_fps_per_wait":
            continue  # empty by PromQL's vector matching: see the next test
        assert series, f"{name} returned no series"
        assert any(np.any((s.t >= start) & (s.t <= end + 1)) for s in series), name
    f = run.figures()
    assert f["seconds"] == pytest.approx(run.collect.seconds, rel=0.1)
    assert f["sched_latency_p99_ms"] > 0 and f["gc_cycles"] >= 1
    if service == "dashboard":
        assert f["completed"] == f["sent"] > 0 and f["p99_ms"] >= f["p50_ms"] > 0
        assert run.records is not None and run.records.shape == (f["sent"], 5)
        # the records are the latencies the figures summarise
        assert np.max(run.records[:, 1]) == pytest.approx(f["max_ms"])
    else:
        assert 0 < f["fps"] <= run.params.fps * 1.05 and f["frames"] > 0
        assert "frame" in set(run.trace.regions["name"])


def test_the_render_recording_runs_the_articles_queries_verbatim():
    q = recorded_run("render").queries
    assert q["article_fps_rate"] == "rate(dynamic_graph_render_fps[1m])"
    assert (
        q["article_goroutines_by_state"] == 'sum by(state)(go_goroutines_by_state{job="renderer"})'
    )
    assert q["article_fps_per_wait"] == (
        "avg_over_time(dynamic_graph_render_fps[30s]) / "
        'avg_over_time(go_goroutines_by_state{state="wait"}[30s])'
    )
    series = recorded_run("render").series
    states = {s.labels["state"] for s in series["article_goroutines_by_state"]}
    assert states == {"running", "runnable", "wait", "syscall"}
    # The article's ratio returns nothing: `/` pairs series with identical labels and only the
    # right side has `state`; with ignoring(state) the same ratio has one series.
    assert series["article_fps_per_wait"] == []
    (ratio,) = series["fps_per_wait_matched"]
    assert np.all(np.isfinite(ratio.v)) and np.all(ratio.v > 0)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda d: (d / "run.json").unlink(), "incomplete"),
        (lambda d: (d / ARTEFACT_FILES["cpu"]).unlink(), "incomplete"),
        (lambda d: (d / "run.json").write_text("{"), "damaged"),
        (lambda d: (d / ARTEFACT_FILES["trace"]).write_bytes(b"not gzip"), "damaged"),
        (
            lambda d: (d / "run.json").write_text(
                json.dumps({**json.loads((d / "run.json").read_text()), "service": "x"})
            ),
            "damaged",
        ),
    ],
)
def test_a_damaged_recording_says_so(tmp_path, damage, says):
    d = tmp_path / "rec"
    shutil.copytree(run_mod.RECORDED_DIR / "render", d)
    load_run(d)  # intact, it loads
    damage(d)
    with pytest.raises(RecordingError, match=says):
        load_run(d)


def test_a_saved_run_loads_back_the_same(tmp_path):
    run = recorded_run("dashboard")
    again = load_run(run.save(tmp_path / "copy"))
    assert again.figures() == run.figures()
    assert again.artefacts == run.artefacts
    assert again.params == run.params and again.collect == run.collect


def test_auto_falls_back_to_the_recording_when_something_is_missing(monkeypatch):
    def missing_packages():
        raise ServicesMissingError("no prometheus (test)")

    monkeypatch.setattr(run_mod, "build_services", missing_packages)
    with pytest.warns(GolabWarning, match="no prometheus"):
        run = run_service("render")
    assert run.source == "recorded" and "no prometheus (test)" in run.note
    with pytest.raises(ServicesMissingError, match="no prometheus"), warnings.catch_warnings():
        warnings.simplefilter("error")
        run_service("render", source="live")


def test_a_missing_recording_names_the_script(monkeypatch, tmp_path):
    monkeypatch.setattr(run_mod, "RECORDED_DIR", tmp_path)
    with pytest.raises(RecordingError, match="record_services.py"):
        recorded_run("render")


# ---- histogram and Prometheus helpers -------------------------------------------------------------


def test_histogram_quantile_is_the_upper_edge_of_the_bucket_holding_it():
    edges = np.array([0.0, 1.0, 2.0, 4.0, math.inf])
    counts = np.array([50, 40, 9, 1])
    assert histogram_quantile(edges, counts, 0.5) == 1.0
    assert histogram_quantile(edges, counts, 0.9) == 2.0
    assert histogram_quantile(edges, counts, 0.99) == 4.0
    assert histogram_quantile(edges, counts, 1.0) == 4.0  # the +Inf bucket: its lower edge
    assert histogram_quantile(edges, np.array([1, 0, 0, 0]), 0.99) == 1.0
    assert math.isnan(histogram_quantile(edges, np.zeros(4, dtype=int), 0.5))


def test_prometheus_config_scrapes_each_job_at_the_interval(tmp_path):
    text = write_config(tmp_path / "p.yml", {"renderer": "127.0.0.1:1234"}, 0.2)
    assert "scrape_interval: 200ms" in text and "scrape_timeout: 200ms" in text
    assert "job_name: renderer" in text and "'127.0.0.1:1234'" in text
    assert all(q.count("[") == q.count("]") for q in queries("dashboard", 0.2).values())
    assert "[1000ms]" in queries("dashboard", 0.2)["request_p99_s"]  # 5 scrapes, at least 1 s
    assert "[1250ms]" in queries("render", 0.25)["fps_from_counter"]


def test_collect_params_defaults_fit_together():
    c = CollectParams()
    assert c.trace_seconds <= c.seconds - 0.5 and 0.1 <= c.scrape_interval_s <= 0.25


# ---- the supervisor: nothing left behind -------------------------------------------------------


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    base = tmp_path / "tmp"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    return base


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) not installed")
def test_a_child_whose_parent_died_before_the_death_signal_was_set_does_not_run(tmp_path):
    """The check spawn puts after setpriv's prctl: with the right parent the program runs; with
    another (as when the parent was killed before setpriv set the signal, and the child was
    reparented) it exits 125 without running."""
    mark = tmp_path / "ran"
    program = ["sh", "-c", f"touch {mark}"]
    ok = subprocess.run([*procs.parent_check(os.getpid()), *program], check=False)
    assert ok.returncode == 0 and mark.exists()
    mark.unlink()
    orphan = subprocess.run([*procs.parent_check(1), *program], check=False)
    assert orphan.returncode == 125 and not mark.exists()


def test_close_stops_the_process_group_and_removes_the_directories(own_tmp):
    before = descendants(os.getpid())
    sup = procs.Supervisor()
    # a child that starts a grandchild in its group, both ignoring nothing
    child = sup.spawn("sh", ["sh", "-c", "sleep 300 & sleep 300"])
    extra = sup.tempdir("x")
    time.sleep(0.3)
    started = descendants(os.getpid()) - before
    assert len(alive(started)) >= 2  # the check sees them while they run
    assert any(own_tmp.iterdir())
    sup.close()
    assert alive(started) == set()
    assert not child.alive() and not extra.exists()
    assert list(own_tmp.iterdir()) == []
    sup.close()  # twice is fine


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(own_tmp, monkeypatch):
    monkeypatch.setattr(procs, "STOP_GRACE_S", 0.5)
    sup = procs.Supervisor()
    child = sup.spawn("stubborn", ["sh", "-c", "trap '' TERM; sleep 300"])
    time.sleep(0.2)
    t = time.monotonic()
    sup.stop(child, grace_s=0.5)
    assert not child.alive() and time.monotonic() - t < 5
    sup.close()


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) not installed")
def test_children_die_with_a_killed_parent_and_its_directories_are_swept(own_tmp):
    """SIGKILL (a kernel killed outright) runs no finally: the death signal stops the children,
    and the next supervisor removes the dead owner's directories."""
    code = (
        "import sys, tempfile, time; tempfile.tempdir = sys.argv[1]\n"
        "from labkit.golab.services.procs import Supervisor\n"
        "s = Supervisor(); c = s.spawn('sleeper', ['sleep', '300'])\n"
        "print(c.pid, flush=True); time.sleep(300)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(own_tmp)], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    child = int(proc.stdout.readline())
    assert alive([child]) == {child}
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while alive([child]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive([child]) == set()
    left = list(own_tmp.iterdir())
    assert left  # killed outright, it could not clean up ...
    assert procs.sweep_stale(own_tmp) == left  # ... the next run does
    assert list(own_tmp.iterdir()) == []


def test_sweep_keeps_the_directories_of_a_live_owner(own_tmp):
    with procs.Supervisor() as sup:
        assert procs.sweep_stale(own_tmp) == [] and sup.root.exists()


def test_sigterm_runs_the_finally_blocks():
    code = (
        "import time\n"
        "from labkit.golab.services.procs import sigterm_exits\n"
        "try:\n"
        "    with sigterm_exits():\n"
        "        print('in', flush=True); time.sleep(30)\n"
        "finally:\n"
        "    print('cleaned', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    assert proc.stdout.readline().strip() == "in"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert out.strip() == "cleaned" and proc.returncode == 128 + signal.SIGTERM


def test_a_port_in_use_is_named(own_tmp):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port}"):
            procs.check_port_free(port, "the test")
        assert listening([port]) == {port}  # the leftover check sees a listener
    assert listening([port]) == set()
    assert ports_in([["x", f"-addr=127.0.0.1:{port}"], ["postgres", "-p", "5999"]]) == {port, 5999}


class _RepeatingKernel:
    """socket.socket stand-in whose kernel picks come from ``picks``, as a real kernel may
    repeat a port once its probe socket closes (what gave the dashboard and its PostgreSQL
    one port in CI)."""

    def __init__(self, picks: list[int]) -> None:
        self.picks = iter(picks)
        self.open = 0

    def __call__(self, *args: object) -> _RepeatingKernel:
        self.port = next(self.picks)
        self.open += 1
        return self

    def bind(self, addr: tuple[str, int]) -> None:
        assert addr == ("127.0.0.1", 0)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        self.open -= 1


def test_each_component_of_a_run_gets_its_own_port_even_if_the_kernel_repeats_one(monkeypatch):
    kernel = _RepeatingKernel([41000, 41000, 41000, 41001, 41002])
    monkeypatch.setattr(procs.socket, "socket", kernel)
    book = procs.PortBook({})
    service, postgres = book("service"), book("postgres")
    assert (service, postgres) == (41000, 41001)
    assert book("service") == 41000  # asked again, the same port
    assert kernel.open == 0  # every probe closed
    # a fixed port is never handed to another component
    kernel.picks = iter([5432, 41003])
    monkeypatch.setattr(procs, "check_port_free", lambda port, what: None)
    assert procs.PortBook({"postgres": 5432})("service") == 41003


class _LowestFreeKernel:
    """socket.socket stand-in for a kernel that hands out the lowest port not bound now: the
    worst case for probes closed too early, which would get the same port every time."""

    def __init__(self) -> None:
        self.bound: set[int] = set()

    def __call__(self, *args: object) -> _LowestFreeKernel.Probe:
        return self.Probe(self)

    class Probe:
        def __init__(self, kernel: _LowestFreeKernel) -> None:
            self.kernel, self.port = kernel, None

        def bind(self, addr: tuple[str, int]) -> None:
            self.port = min(set(range(42000, 42100)) - self.kernel.bound)
            self.kernel.bound.add(self.port)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

        def close(self) -> None:
            self.kernel.bound.discard(self.port)


def test_free_ports_holds_its_probes_until_all_are_picked(monkeypatch):
    """Ports picked with their probes held are distinct even from a kernel that repeats a port
    as soon as it is free; every probe is closed at the end; ``avoid`` skips ports given out
    earlier (now free, so the kernel offers them first)."""
    kernel = _LowestFreeKernel()
    monkeypatch.setattr(procs.socket, "socket", kernel)
    assert procs.free_ports(3) == [42000, 42001, 42002]
    assert kernel.bound == set()
    assert procs.free_ports(2, avoid={42000, 42002}) == [42001, 42003]
    assert procs.free_port() == 42000
    with pytest.raises(ValueError, match="0 or more"):
        procs.free_ports(-1)


def test_a_run_past_its_bound_raises_the_timeout_error(monkeypatch):
    live = run_mod._LiveRun.__new__(run_mod._LiveRun)
    live.deadline = time.monotonic() - 1
    live.service, live.collect = "render", CollectParams()
    with pytest.raises(ServiceTimeoutError, match="timeout_s=90"):
        live._check_time("collecting")
    live.deadline = time.monotonic() + 60
    live._check_time("collecting")


# ---- where it runs --------------------------------------------------------------------------------


def test_ci_binder_and_the_runner_name_the_same_packages():
    apt = [
        ln.strip()
        for ln in (ROOT / "binder" / "apt.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    (line,) = [ln for ln in ci.splitlines() if ln.startswith("SERVICE_PACKAGES=")]
    assert sorted(apt) == sorted(APT_PACKAGES) == sorted(line.split("=", 1)[1].strip('"').split())


def test_go_sum_has_both_checksums_of_every_requirement_and_nothing_else():
    """go.sum must hold the zip and go.mod checksums of each module go.mod requires (a bumped
    version without its checksums breaks `go build` where the proxy is reachable)."""
    module = ROOT / "labkit" / "golab" / "go" / "services"
    required = set()
    for line in (module / "go.mod").read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[1].startswith("v") and "." in words[0]:
            required.add((words[0], words[1]))
    assert len(required) == 12
    sums = {}
    for line in (module / "go.sum").read_text().splitlines():
        path, version, h = line.split()
        assert h.startswith("h1:") and len(h) == 47, line
        sums[(path, version)] = h
    want = {(p, v) for p, v in required} | {(p, v + "/go.mod") for p, v in required}
    assert set(sums) == want


def test_module_mode_without_a_proxy_says_what_to_do(tmp_path, monkeypatch):
    from labkit.golab.services import ServiceBuildError
    from labkit.golab.services.build import build_services, missing
    from labkit.golab.toolchain import go_toolchain

    if go_toolchain() is None or missing("module"):
        pytest.skip(f"needs {missing('module')}")
    monkeypatch.setenv("LABKIT_SERVICES_BUILD", "module")
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))  # an empty module cache
    with pytest.raises(ServiceBuildError, match="module proxy may be unreachable"):
        build_services()
    monkeypatch.setenv("LABKIT_SERVICES_BUILD", "vendor")
    with pytest.raises(ServiceBuildError, match="LABKIT_SERVICES_BUILD must be one of"):
        build_services()
