"""How long the stall doctor takes on the largest real trace the course ships, beside loading it;
and a fingerprint of every diagnosis the course makes, to show a faster doctor says the same.

The issue's bound (#24 item 5): a trace diagnosed within 2x the time ``labkit.traces.load_trace``
takes to read it. The trace timed is the real dashboard service's recording
(``recorded_run("dashboard").trace``: 251 ms of a Go HTTP service over go-sqlite3, 248k
events, 8k goroutines, most of them the driver's per-row goroutines), loaded from its bytes as
the recording's loader does.

Run alone (``python3 course.py bench`` runs every benchmark):
.venv/bin/python -m pytest benchmarks/bench_stalls.py -o python_files='bench_*.py' \
    --benchmark-enable --benchmark-columns=median,iqr,min,rounds

As a script:
``.venv/bin/python benchmarks/bench_stalls.py hash OUT.json`` diagnoses every source below and
writes one SHA-256 per diagnosis (the report's text, each stall, each finding's every field and
evidence, the locked threads and hand-offs the doctor read), with a hash of each trace's bytes;
``... compare BEFORE.json AFTER.json`` lists what differs (exit 1 if anything does);
``... time [ROUNDS]`` prints the medians of loading and diagnosing the dashboard trace.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from labkit.errors import LabkitError
from labkit.stalls import Diagnosis, diagnose
from labkit.traces import load_trace

ROOT = Path(__file__).resolve().parent.parent
STALLS = ROOT / "labkit" / "data" / "stalls"
TRACES = ROOT / "tests" / "data" / "traces"
LAB3 = ROOT / "labkit" / "data" / "profiles"
SERVICES = ROOT / "labkit" / "golab" / "services" / "recorded"


def service_trace_bytes(service: str) -> bytes:
    """A recorded service's trace as Go served it (the recording keeps it gzip-compressed)."""
    return gzip.decompress((SERVICES / service / "trace.trace.gz").read_bytes())


def _render_model(locked: bool, procs: int) -> Any:
    """tests/test_stalls.py's model of the corpus's locked render loop (hand-offs in a model)."""
    spec = importlib.util.spec_from_file_location("_test_stalls", ROOT / "tests/test_stalls.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._render_model(locked, procs)


def sources() -> dict[str, Callable[[], Any]]:
    """Every input the course diagnoses: the stall corpus, the test and lab traces, chapter 2's
    twins (recorded) and presets (model), the incident model with and without its fixes, the
    locked render loop's model, and the recorded services' traces."""
    from labkit.golab import run_twin
    from labkit.golab.twin_fidelity import TWIN_PRESETS
    from labkit.scenarios.blindspots import PRESETS, run_lab
    from labkit.scenarios.casestudy import run_incident

    out: dict[str, Callable[[], Any]] = {}
    for path in [*sorted(STALLS.glob("*.trace")), *sorted(TRACES.glob("*.trace"))]:
        out[f"{path.parent.name}/{path.name}"] = lambda path=path: path.read_bytes()
    for path in sorted(LAB3.glob("*.trace")):
        out[f"profiles/{path.name}"] = lambda path=path: path.read_bytes()
    for name, (preset, variants) in TWIN_PRESETS.items():
        for variant, settings in variants.items():
            out[f"twin {name} {variant}"] = lambda name=name, settings=settings: (
                run_twin(name, source="recorded", **settings).trace
            )
            out[f"model {preset} {variant}"] = lambda preset=preset, variant=variant: (
                run_lab(getattr(PRESETS[preset], variant)).result
            )
    for fixes in (
        {},
        {"cache_json": True},
        {"cache_json": True, "stream": True, "db_timeout": True},
    ):
        key = "+".join(fixes) or "no fix"
        out[f"incident {key}"] = lambda fixes=fixes: run_incident(**fixes).result
    for procs in (1, 2):
        for locked in (True, False):
            out[f"render model locked={locked} procs={procs}"] = lambda locked=locked, procs=procs: (
                _render_model(locked, procs)
            )
    for service in ("render", "dashboard"):
        out[f"service {service}"] = lambda service=service: service_trace_bytes(service)
    return out


def fingerprint(d: Diagnosis) -> str:
    """SHA-256 of everything a diagnosis says: its report and summary, every stall and every
    finding field by field (floats by repr: bit for bit), and the locks and hand-offs it read."""
    h = hashlib.sha256()
    for part in (d.report(), d.summary(), repr(d.stall_ms), repr(d.stalls), repr(d.findings)):
        h.update(part.encode())
        h.update(b"\0")
    for f in d.findings:
        h.update(repr((f.cause, f.share, f.ms, f.start_ms, f.end_ms, f.goroutines)).encode())
        h.update(repr((f.evidence, f.focus_ms)).encode())
    h.update(repr(sorted(d.facts.locked.items())).encode())
    h.update(d.facts.handoffs.tobytes())
    return h.hexdigest()


def hash_all(out: Path) -> None:
    results = {}
    for name, make in sources().items():
        source = make()
        data = source if isinstance(source, bytes) else None
        try:
            run = load_trace(data, name=name) if data is not None else source
        except LabkitError as e:  # a trace the reader refuses (an old Go's): its message
            results[name] = {"input": hashlib.sha256(data).hexdigest(), "diagnosis": str(e)}
            results[name]["summary"] = str(e)[:90]
            continue
        start = time.perf_counter()
        d = diagnose(run)
        took = time.perf_counter() - start
        results[name] = {
            "input": hashlib.sha256(data).hexdigest() if data is not None else "",
            "diagnosis": fingerprint(d),
            "summary": d.summary(),
        }
        print(f"{took:7.2f} s  {name}: {d.summary()[:80]}", flush=True)
    out.write_text(json.dumps(results, indent=1) + "\n")


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    bad = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"only in one: {name}")
            bad += 1
        elif a[name]["input"] != b[name]["input"]:
            print(f"input changed (not comparable): {name}")
            bad += 1
        elif a[name]["diagnosis"] != b[name]["diagnosis"]:
            print(f"DIFFERENT: {name}\n  {a[name]['summary']}\n  {b[name]['summary']}")
            bad += 1
    print(f"{len(set(a) & set(b)) - bad} of {len(set(a) | set(b))} diagnoses identical")
    return 1 if bad else 0


def time_dashboard(rounds: int = 5) -> None:
    data = service_trace_bytes("dashboard")
    loads, diagnoses = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        trace = load_trace(data, name="trace")
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        diagnose(trace)
        diagnoses.append(time.perf_counter() - start)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(
        f"dashboard trace: {len(data):,} bytes, {trace.event_count:,} events, "
        f"{len(trace.goroutines):,} goroutines; load_trace median "
        f"{statistics.median(loads):.2f} s {[round(x, 2) for x in loads]}, diagnose median "
        f"{statistics.median(diagnoses):.2f} s {[round(x, 2) for x in diagnoses]}; "
        f"ratio {statistics.median(diagnoses) / statistics.median(loads):.2f}; load average "
        f"{' '.join(load)}"
    )


@pytest.fixture(scope="module")
def dashboard_bytes() -> bytes:
    return service_trace_bytes("dashboard")


def test_load_dashboard_trace(benchmark, dashboard_bytes):
    """load_trace on the dashboard service's recorded trace: the yardstick."""
    trace = benchmark.pedantic(
        load_trace, args=(dashboard_bytes,), kwargs={"name": "trace"}, rounds=3, iterations=1
    )
    benchmark.extra_info["events"] = trace.event_count
    benchmark.extra_info["goroutines"] = len(trace.goroutines)


def test_diagnose_dashboard_trace(benchmark, dashboard_bytes):
    """labkit.stalls.diagnose on the loaded dashboard trace: within twice the load, by #24."""
    trace = load_trace(dashboard_bytes, name="trace")
    d = benchmark.pedantic(diagnose, args=(trace,), rounds=3, iterations=1)
    assert not d.healthy


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["time"]
    if command == "hash":
        hash_all(Path(args[0]))
    elif command == "compare":
        sys.exit(compare(Path(args[0]), Path(args[1])))
    else:
        time_dashboard(int(args[0]) if args else 5)
