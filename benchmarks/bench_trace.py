"""How long labkit.traces takes on a 10 MB execution trace, beside Go's own parser.

The issue's bound: a 10 MB trace loads within 3x the time ``go tool trace -d=parsed`` takes to
print it. Both are timed here on the same file, a trace of the pingpong program of
tests/data/trace_programs with enough round trips to pass 10 MB (about 1.8 million events:
ping-pong events are small, so a 10 MB trace of it has more events than most). Needs a Go
toolchain to make that trace (skipped without one); the small recorded traces need none.

Run alone (``python3 course.py bench`` runs every benchmark):
.venv/bin/python -m pytest benchmarks/bench_trace.py -o python_files='bench_*.py' \
    --benchmark-enable --benchmark-columns=median,iqr,min,rounds -p no:nbval
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

from labkit.golab.toolchain import go_toolchain
from labkit.traces import load_trace, parsed_dump

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "tests" / "data" / "traces"
#: Round trips of pingpong that write a trace of just over 10 MB (go1.27.3, GOMAXPROCS=2).
ROUNDS = 330_000
TARGET_BYTES = 10 << 20


def _recorder():
    spec = importlib.util.spec_from_file_location(
        "record_traces", ROOT / "scripts/record_traces.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def go() -> str:
    found = go_toolchain()
    if found is None:
        pytest.skip("no Go toolchain to record a 10 MB trace (python3 course.py setup)")
    return found


@pytest.fixture(scope="module")
def big_trace(go, tmp_path_factory) -> Path:
    rec = _recorder()
    work = tmp_path_factory.mktemp("bigtrace")
    binary = rec.build(go, "pingpong", work)
    trace = work / "pingpong-10mb.trace"
    env = {"GOMAXPROCS": rec.GOMAXPROCS, "PATH": "/usr/bin:/bin"}
    subprocess.run([str(binary), str(trace), str(ROUNDS)], env=env, check=True, timeout=300)
    assert trace.stat().st_size >= TARGET_BYTES
    return trace


def test_load_10mb_trace(benchmark, big_trace):
    """load_trace on the 10 MB trace: read, order, build every array."""
    trace = benchmark.pedantic(load_trace, args=(big_trace,), rounds=3, iterations=1)
    benchmark.extra_info["bytes"] = big_trace.stat().st_size
    benchmark.extra_info["events"] = trace.event_count
    assert trace.event_count > 1_000_000


def test_go_tool_trace_parsed_10mb(benchmark, go, big_trace):
    """The reference: ``go tool trace -d=parsed`` printing the same trace (to /dev/null)."""
    env = _recorder()._env(go)

    def parse() -> None:
        subprocess.run(
            [go, "tool", "trace", "-d=parsed", str(big_trace)],
            stdout=subprocess.DEVNULL,
            env=env,
            check=True,
            timeout=600,
        )

    benchmark.pedantic(parse, rounds=3, iterations=1)


def test_sched_profile_of_10mb_trace(benchmark, big_trace):
    """to_profile("sched") once the trace is loaded: one pass over the transitions."""
    trace = load_trace(big_trace)
    profile = benchmark.pedantic(trace.to_profile, args=("sched",), rounds=3, iterations=1)
    assert profile.total() > 0


@pytest.fixture(scope="module")
def big_loaded(big_trace):
    return load_trace(big_trace)


def test_timeline_shows_10mb_trace(benchmark, big_loaded):
    """SchedulerTimeline.show on the 10 MB trace (660k stretches, 3,000 boxes drawn): what
    loading a learner's own big trace into the widget costs in the kernel."""
    from labkit.widgets import SchedulerTimeline

    view = SchedulerTimeline()
    benchmark.pedantic(view.show, args=(big_loaded,), rounds=5, iterations=1)
    assert view.box_count == 3000


@pytest.mark.parametrize(("control", "values"), [("_rows", ("m", "p")), ("_colour", ("g", "kind"))])
def test_timeline_control_on_10mb_trace(benchmark, big_loaded, control, values):
    """A control of the timeline (per P / per M, colour by goroutine / kind) on the 10 MB trace:
    one redraw per change, the kernel's part of the 100 ms budget."""
    from labkit.widgets import SchedulerTimeline

    view = SchedulerTimeline()
    view.show(big_loaded)
    widget = getattr(view, control)
    flips = iter(values * 100)
    benchmark.pedantic(lambda: setattr(widget, "value", next(flips)), rounds=10, iterations=1)


def test_diagnose_10mb_trace(benchmark, big_loaded):
    """labkit.stalls.diagnose on the loaded 10 MB trace: the bound is loading plus diagnosing
    within twice the load alone."""
    from labkit.stalls import diagnose

    d = benchmark.pedantic(diagnose, args=(big_loaded,), rounds=3, iterations=1)
    assert d.healthy  # ping-pong on two Ps: no goroutine waits for a P or a timer


def test_load_recorded_trace(benchmark):
    """A small trace the course ships (cpuhogs, 4.5 KB): what a notebook cell pays."""
    trace = benchmark(load_trace, TRACES / "cpuhogs.trace")
    assert trace.gomaxprocs == 2


def test_parsed_dump_of_recorded_trace(benchmark):
    text = benchmark(parsed_dump, TRACES / "cpuhogs.trace")
    assert text.startswith("M=-1 P=-1 G=-1 Sync")
