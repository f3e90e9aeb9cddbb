"""How long the real services take (labkit.golab.services): a cold build, the start-up of each
component, a scenario end to end, and loading a recorded run. Needs the Debian packages of
labkit/golab/services/errors.py (skipped without them). Each benchmark stores the 1-minute load
average before it ran in its extra_info (benchmarks/README.md records the figures with it).

    .venv/bin/python -m pytest benchmarks/bench_services.py -o python_files='bench_*.py' \
        --benchmark-enable --benchmark-columns=median,iqr,min,rounds -p no:nbval -s
"""

from __future__ import annotations

import os
import time
import urllib.request

import pytest

from labkit.golab.services import recorded_run, run_service
from labkit.golab.services.build import build_services, missing
from labkit.golab.services.postgres import find_postgres, start_postgres
from labkit.golab.services.procs import Supervisor, free_port, wait_until
from labkit.golab.services.prometheus import start_prometheus, wait_scraping


@pytest.fixture(scope="module")
def binaries():
    lacking = missing()
    if lacking:
        pytest.skip(f"the services need {lacking}")
    return build_services().binaries


def _load(benchmark) -> None:
    benchmark.extra_info["load_avg_1m"] = round(os.getloadavg()[0], 2)


def test_cold_build(benchmark, tmp_path_factory, monkeypatch):
    """`go build` of render, dashboard and loadgen with empty caches (GOCACHE included: the
    standard library, go-sqlite3's cgo and protobuf are compiled too)."""
    if missing():
        pytest.skip(f"the services need {missing()}")
    _load(benchmark)

    def fresh():
        monkeypatch.setenv("LABKIT_CACHE", str(tmp_path_factory.mktemp("cold")))
        return (), {}

    build = benchmark.pedantic(build_services, setup=fresh, rounds=3)
    assert not build.cached


def _start_until_healthy(binary, *flags_in):
    """Start ``binary`` on a free port (flags may use {root}) and wait for /healthz."""
    with Supervisor() as sup:
        port = free_port()
        flags = [f.format(root=sup.root) for f in flags_in]
        child = sup.spawn(binary.name, [str(binary), f"-addr=127.0.0.1:{port}", *flags])
        url = f"http://127.0.0.1:{port}/healthz"
        wait_until(
            lambda: urllib.request.urlopen(url, timeout=1).read() == b"ok\n",
            [child],
            time.monotonic() + 60,
            lambda c: RuntimeError(c.log_tail()),
            lambda: RuntimeError("no answer"),
            poll_s=0.01,
        )


def test_service_start(benchmark, binaries):
    """render: process start to its first /healthz answer (it builds its 64 MiB heap first)."""
    _load(benchmark)
    benchmark.pedantic(_start_until_healthy, args=(binaries["render"],), rounds=5)


def test_dashboard_start_on_sqlite(benchmark, binaries):
    """dashboard on SQLite: open, create and seed 8,000 rows, calibrate, answer /healthz."""
    _load(benchmark)
    args = (binaries["dashboard"], "-dsn={root}/db.sqlite")
    benchmark.pedantic(_start_until_healthy, args=args, rounds=5)


def test_postgres_start(benchmark, binaries):
    """initdb in a temporary directory, then postgres until it accepts connections."""
    if find_postgres() is None:
        pytest.skip("PostgreSQL is not installed")
    _load(benchmark)

    def start():
        with Supervisor() as sup:
            start_postgres(sup, free_port(), time.monotonic() + 60)

    benchmark.pedantic(start, rounds=5)


def test_prometheus_first_scrape(benchmark, binaries):
    """prometheus started, ready, and its first successful scrape of a running service (its
    discovery hands targets over after ~5 s: the bulk of a run's start-up)."""
    _load(benchmark)
    with Supervisor() as outer:
        port = free_port()
        outer.spawn("render", [str(binaries["render"]), f"-addr=127.0.0.1:{port}"])
        time.sleep(1.0)

        def start():
            with Supervisor() as sup:
                prom = start_prometheus(sup, free_port(), {"renderer": f"127.0.0.1:{port}"}, 0.2)
                wait_scraping(prom, ["renderer"], time.monotonic() + 60)

        benchmark.pedantic(start, rounds=3)


@pytest.mark.parametrize(
    ("service", "kwargs"),
    [
        ("render", {}),
        ("dashboard", {}),
        ("dashboard", {"db": "postgres", "db_timeout": True}),
    ],
    ids=["render", "dashboard-sqlite", "dashboard-postgres"],
)
def test_scenario_end_to_end(benchmark, binaries, service, kwargs):
    """run_service with the build cached and 5 s of load: start-up, load, collection, the
    Prometheus queries, loading every artefact, and stopping everything."""
    _load(benchmark)
    run = benchmark.pedantic(
        run_service, args=(service,), kwargs={"source": "live", "seconds": 5, **kwargs}, rounds=3
    )
    benchmark.extra_info["timings"] = {k: round(v, 3) for k, v in run.meta["timings"].items()}
    assert run.source == "live"


@pytest.mark.parametrize("service", ["render", "dashboard"])
def test_recorded_run_loads(benchmark, service):
    """The shipped recording, loaded with every artefact (what a notebook without the
    packages shows)."""
    _load(benchmark)
    run = benchmark.pedantic(recorded_run, args=(service,), rounds=5)
    assert run.source == "recorded"
