"""Measure and record lab 5's capstone on the real dashboard (labkit.golab.services.capstone).

Run on a quiet machine (1-minute load below ~1.5), inside the course environment, with the Debian
packages of labkit/golab/services/errors.py APT_PACKAGES installed (PostgreSQL among them):

    .venv/bin/python scripts/record_capstone.py measure            # the table of capstone.py
    .venv/bin/python scripts/record_capstone.py measure --repeats 1 slow_db
    .venv/bin/python scripts/record_capstone.py record             # every recording
    .venv/bin/python scripts/record_capstone.py record hot_loop    # one cause and its changes
    .venv/bin/python scripts/record_capstone.py record hot_loop--gogc-400   # one recording

``measure`` runs, ``--repeats`` times each, the healthy service and, for each cause, the cause,
the cause with only its culprit undone and the cause with its own fix; then the settings behind
LEFT_OUT (the cgo driver's timeout on SQLite; GOMAXPROCS 1 against 2). Each run: 6 s of load, no
Prometheus, no trace. It prints one line a run (with the 1-minute load average before it) and a
summary a setting (the range of p99 and fps over the repeats, and whether the targets hold).

``record`` writes labkit/golab/services/capstone_recorded/<name>/: ``healthy`` and each cause
with their evidence (6 s of load, a 0.2 s trace, Prometheus), and ``<cause>--<change>`` for each
change of MENU that changes the cause's settings (latency and counters only: no profiles, no
trace, no per-request records, only the runtime/metrics of KEPT_METRICS). Each run.json's meta
says when, where and under what load it ran and the command that redoes it (meta.redo).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from labkit.golab.services import DashboardParams, ServiceRun, run_service
from labkit.golab.services.capstone import (
    CAUSES,
    HEALTHY,
    RECORDED_DIR,
    menu_params,
    missed_targets,
    target_figures,
)

SECONDS = 6.0
#: The settings behind LEFT_OUT. cgo: SQLite (go-sqlite3, a C call per query step) with a long
#: tail past the 50 ms timeout, at 10 req/s (the engine's work is this machine's CPU): do
#: cancelled queries end at the deadline or at their planned time?
#: few_procs: GOMAXPROCS 1 against 2 with more handler and frame work than the healthy service.
LEFT_OUT_SETTINGS: dict[str, DashboardParams] = {
    "cgo: sqlite, 50 ms timeout": DashboardParams(
        rate=10.0, pool=8, db_median_ms=20.0, db_sigma=1.5, db_timeout=True
    ),
    "procs: 1 P, 12000 rows": HEALTHY.replace(gomaxprocs=1, rows=12000),
    "procs: 2 P, 12000 rows": HEALTHY.replace(rows=12000),
    "procs: 1 P, 4000 rows, 12 ms frames": HEALTHY.replace(
        gomaxprocs=1, rows=4000, frame_cpu_ms=12.0
    ),
    "procs: 2 P, 4000 rows, 12 ms frames": HEALTHY.replace(rows=4000, frame_cpu_ms=12.0),
}


def settings(keys: list[str]) -> dict[str, DashboardParams]:
    out = {"healthy": HEALTHY} if not keys or "healthy" in keys else {}
    for key, cause in CAUSES.items():
        if keys and key not in keys:
            continue
        out[f"{key}: cause"] = cause.params()
        out[f"{key}: culprit undone"] = cause.without_culprit()
        out[f"{key}: its fix"] = cause.fixed_params()
    if not keys or "left_out" in keys:
        out.update(LEFT_OUT_SETTINGS)
    return out


def line(name: str, run: ServiceRun, load: float) -> str:
    t = target_figures(run)
    f = run.figures()
    extra = ""
    if f.get("queries_cancelled"):
        extra = (
            f", {f['queries_cancelled']} queries cancelled after "
            f"{f['cancelled_query_ms_mean']:.0f} ms (planned {f['cancelled_planned_ms_mean']:.0f})"
        )
    return (
        f"{name:38s} load {load:4.2f}  p50 {t['p50_ms']:6.1f}  p99 {t['p99_ms']:7.1f} ms  "
        f"{t['fps']:5.1f} fps  failed {t['failed']:.0f}/{t['sent']:.0f}  fallbacks "
        f"{t['fallbacks']:.0f}  GC {t['gc_per_s']:.0f}/s{extra}"
    )


def _target(missed: str) -> str:
    """Which target a line of missed_targets is about."""
    return "p99" if missed.startswith("p99") else "render" if "fps" in missed else "failed"


def measure(keys: list[str], repeats: int) -> int:
    runs: dict[str, list[tuple[dict[str, float], float]]] = {}
    chosen = settings(keys)
    for rep in range(repeats):
        for name, params in chosen.items():
            load = os.getloadavg()[0]
            run = run_service(
                "dashboard", params, source="live", seconds=SECONDS, trace_seconds=0,
                prometheus=False,
            )  # fmt: skip
            runs.setdefault(name, []).append((target_figures(run), load))
            print(f"[{rep + 1}/{repeats}] {line(name, run, load)}", flush=True)
    print("\nsummary (range over the repeats; 'meets' when every repeat meets the targets):")
    for name, got in runs.items():
        p99 = [t["p99_ms"] for t, _ in got]
        fps = [t["fps"] for t, _ in got]
        loads = [load for _, load in got]
        meets = all(not missed_targets(t) for t, _ in got)
        misses = sorted({_target(m) for t, _ in got for m in missed_targets(t)})
        print(
            f"{name:38s} p99 {min(p99):.0f}-{max(p99):.0f} ms, {min(fps):.1f}-{max(fps):.1f} fps,"
            f" load {min(loads):.2f}-{max(loads):.2f}: "
            + ("meets" if meets else "misses (" + ", ".join(misses) + ")")
        )
    return 0


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def recordings(keys: list[str]) -> dict[str, tuple[DashboardParams, bool]]:
    """Folder name -> (settings, with evidence), of those ``keys`` name (a cause names its own
    and its changes'; none: all)."""
    out = {"healthy": (HEALTHY, True)}
    for key, cause in CAUSES.items():
        out[key] = (cause.params(), True)
        for change, params in menu_params(key).items():
            if params != cause.params():
                out[f"{key}--{slug(change)}"] = (params, False)
    if not keys:
        return out
    return {n: v for n, v in out.items() if n in keys or n.split("--")[0] in keys}


#: The runtime/metrics a graded change's recording keeps (ServiceRun.figures and the verdict
#: read these; the full set, ~45 KiB a run, stays in the evidence recordings).
KEPT_METRICS = (
    "/sched/latencies:seconds",
    "/gc/cycles/total:gc-cycles",
    "/sched/threads/total:threads",
    "/sched/goroutines:goroutines",
    "/sched/gomaxprocs:threads",
    "/gc/heap/allocs:bytes",
    "/gc/heap/live:bytes",
)


def trim_metrics(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A /debug/metrics snapshot with only KEPT_METRICS and the CPU classes."""
    kept = {
        k: v
        for k, v in snapshot["metrics"].items()
        if k in KEPT_METRICS or k.startswith("/cpu/classes/")
    }
    return {**snapshot, "metrics": kept}


def record(name: str, params: DashboardParams, evidence: bool) -> Path:
    load = os.getloadavg()[0]
    if load > 1.5:
        print(f"warning: 1-minute load is {load:.2f} (record below ~1.5)", file=sys.stderr)
    collect: dict[str, Any] = (
        {"trace_seconds": 0.2} if evidence else {"trace_seconds": 0, "prometheus": False}
    )
    run = run_service("dashboard", params, source="live", seconds=SECONDS, **collect)
    meta = dict(run.meta, redo=f".venv/bin/python scripts/record_capstone.py record {name}")
    if evidence:
        run = dataclasses.replace(run, meta=meta)
    else:  # the latency and the counters are what a graded change is read from
        run = dataclasses.replace(
            run, meta=meta, records=None, artefacts={}, cpu=None, goroutines={}, block=None,
            mutex=None, trace=None, metrics_before=trim_metrics(run.metrics_before),
            metrics_after=trim_metrics(run.metrics_after),
        )  # fmt: skip
    out = RECORDED_DIR / name
    shutil.rmtree(out, ignore_errors=True)
    run.save(out)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{line(name, run, load)}; {size / 1024:.0f} KiB", flush=True)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("measure", "record"))
    parser.add_argument(
        "keys",
        nargs="*",
        help=f"healthy, left_out (measure), causes ({', '.join(CAUSES)}) or "
        "recordings (record: cause--change)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.keys) - {*recordings([]), "left_out"})
    if unknown:
        parser.error(
            f"unknown {unknown}; choose from healthy, left_out, {', '.join(CAUSES)} or a "
            f"recording's name ({', '.join(recordings([]))})"
        )
    t = time.monotonic()
    if args.what == "measure":
        code = measure(args.keys, args.repeats)
    else:
        for name, (params, evidence) in recordings(args.keys).items():
            record(name, params, evidence)
        code = 0
    print(f"took {time.monotonic() - t:.0f} s", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
