"""Record the course's real-Go experiments on this machine into labkit/golab/recorded/*.json.

Runs every parameter set in labkit.golab.experiments.VARIANTS live (it fails rather than falling
back when Go is not usable), and writes one file per experiment with the Go version, OS/arch,
CPU count, the date, the niceness and the load average before and after each run (the notebooks
show where and when a recorded result comes from). Every result keeps its per-run values
(``*_runs``), from which labkit.golab.fidelity derives its tolerances.

    .venv/bin/python scripts/record_go_results.py            # all experiments
    .venv/bin/python scripts/record_go_results.py yield      # only some
    .venv/bin/python scripts/record_go_results.py --timed    # only the wall-clock ones
    .venv/bin/python scripts/record_go_results.py --missing  # only variants not yet recorded

An experiment whose figures move from one process to the next (``Experiment.processes``) is
run in that many processes, their runs pooled (``labkit.golab.recorded.pool_processes``).

Timings are wall-clock: other processes on the machine stretch them. Record on a quiet machine,
at a higher priority (as root: ``nice -n -15 .venv/bin/python scripts/...``; where the kernel
groups processes by session (autogroup), also raise the session's:
``setsid sh -c 'echo -15 > /proc/self/autogroup; exec nice -n -15 .venv/bin/python scripts/...'``;
the file records both); ``--timed``
redoes exactly the experiments whose figures are times (Experiment.timed), the ones a busy
machine spoils. Counts (GC cycles, threads, allocations, run order) do not need a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkit.golab.experiments import VARIANTS, get_experiment  # noqa: E402
from labkit.golab.recorded import pool_processes, recorded_path  # noqa: E402
from labkit.golab.runner import run_experiment  # noqa: E402

#: Above this 1-minute load average (runnable processes per CPU, summed) the machine is busy.
BUSY_LOAD = 1.0


def _load() -> list[float]:
    """os.getloadavg: 1, 5 and 15 minute averages of runnable processes."""
    return [round(x, 2) for x in os.getloadavg()]


def _autogroup() -> str | None:
    """This process's autogroup and its nice value (/proc/self/autogroup), or None. With
    CONFIG_SCHED_AUTOGROUP the kernel shares the CPUs between sessions first, so a plain nice
    does not raise a recording above another session's busy processes; the autogroup's nice
    does (``setsid`` and ``echo -15 > /proc/self/autogroup``, as root)."""
    try:
        return Path("/proc/self/autogroup").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _existing_runs(name: str) -> list[dict]:
    path = recorded_path(name)
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["runs"]


def record(name: str, *, only_missing: bool = False) -> Path:
    """Run the variants of ``name`` live and write its recorded file; returns the path.

    Each run keeps when it was recorded and the load average before and after it. With
    ``only_missing``, variants the file already has are kept as they are and only the others
    are run (the file then mixes recordings; each run says when it was made).
    """
    experiment = get_experiment(name)
    kept = {json.dumps(r["params"], sort_keys=True): r for r in _existing_runs(name)}
    runs = []
    for variant_name, params in VARIANTS:
        if variant_name != name:
            continue
        full = experiment.normalize(params)
        old = kept.get(json.dumps(full, sort_keys=True))
        if only_missing and old is not None:
            runs.append(old)
            print(f"  {name} {params}: kept (recorded {old.get('recorded_at', '?')})")
            continue
        before = _load()
        results = [
            run_experiment(name, source="live", **params) for _ in range(experiment.processes)
        ]
        if len(results) == 1:
            result = results[0]
        else:
            result = pool_processes(results, experiment.per_run_lists)
        runs.append(
            {
                "params": full,
                "recorded_at": _now(),
                "load_avg_before": before,
                "load_avg_after": _load(),
                "nice": os.nice(0),
                "autogroup": _autogroup(),
                "result": result,
            }
        )
        shown = (k for k in experiment.result_keys if k in result and k != "gctrace_lines")
        print(f"  {name} {params}: " + ", ".join(f"{k}={result[k]}" for k in shown))
    first = runs[-1]["result"]
    data = {
        "experiment": name,
        "recorded_at": max(r.get("recorded_at", "") for r in runs),
        "recorded_on": f"{first['goos']}/{first['goarch']}, {first['cpus']} CPUs, "
        f"{first['go_version']}",
        "go_version": first["go_version"],
        "goos": first["goos"],
        "goarch": first["goarch"],
        "cpus": first["cpus"],
        # Wall-clock results stretch when other processes share the CPUs; record the load so a
        # reader can judge (each run also keeps the load before and after it).
        "load_avg": _load(),
        "nice": os.nice(0),
        "autogroup": _autogroup(),
        "timed": experiment.timed,
        "runs": runs,
    }
    path = recorded_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    names = list(dict.fromkeys(n for n, _ in VARIANTS))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"experiments to record (default: all of {', '.join(names)})",
    )
    parser.add_argument(
        "--missing",
        action="store_true",
        help="record only the variants the recorded files do not have yet; keep the others",
    )
    parser.add_argument(
        "--timed",
        action="store_true",
        help="record only the experiments whose figures are wall-clock times: "
        + ", ".join(n for n in names if get_experiment(n).timed),
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = args.names or names
    if args.timed:
        chosen = [n for n in chosen if get_experiment(n).timed]
    load_1m = os.getloadavg()[0]
    if load_1m > BUSY_LOAD:
        print(f"note: load average {load_1m:.2f}; timings will be stretched by other processes")
    for name in chosen:
        print(f"recording {name} ...", flush=True)
        print(f"  -> {record(name, only_missing=args.missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
