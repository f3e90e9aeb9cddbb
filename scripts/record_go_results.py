"""Record the course's real-Go experiments on this machine into labkit/golab/recorded/*.json.

Runs every parameter set in labkit.golab.experiments.VARIANTS live (it fails rather than falling
back when Go is not usable), and writes one file per experiment with the Go version, OS/arch,
CPU count and the date, which the notebooks show when they fall back to a recorded result.

    .venv/bin/python scripts/record_go_results.py            # all experiments
    .venv/bin/python scripts/record_go_results.py yield      # only some

Timings are wall-clock medians: other processes on the machine stretch them. On a shared
machine, record at a higher priority (as root: ``nice -n -15 .venv/bin/python scripts/...``);
each file keeps the load average and the niceness it was recorded with.
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
from labkit.golab.recorded import recorded_path  # noqa: E402
from labkit.golab.runner import run_experiment  # noqa: E402


def record(name: str) -> Path:
    """Run the variants of ``name`` live and write its recorded file; returns the path."""
    experiment = get_experiment(name)
    runs = []
    for variant_name, params in VARIANTS:
        if variant_name != name:
            continue
        result = run_experiment(name, source="live", **params)
        runs.append({"params": experiment.normalize(params), "result": result})
        print(
            f"  {name} {params}: "
            + ", ".join(
                f"{k}={result[k]}"
                for k in experiment.result_keys
                if k in result and k != "gctrace_lines"
            )
        )
    first = runs[0]["result"]
    data = {
        "experiment": name,
        "recorded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recorded_on": f"{first['goos']}/{first['goarch']}, {first['cpus']} CPUs, "
        f"{first['go_version']}",
        "go_version": first["go_version"],
        "goos": first["goos"],
        "goarch": first["goarch"],
        "cpus": first["cpus"],
        # Wall-clock results stretch when other processes share the CPUs; record the load so a
        # reader can judge (os.getloadavg: 1, 5, 15 minute averages of runnable processes).
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "nice": os.nice(0),
        "runs": runs,
    }
    path = recorded_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    names = sorted({n for n, _ in VARIANTS}, key=[n for n, _ in VARIANTS].index)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"experiments to record (default: all of {', '.join(names)})",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    load_1m = os.getloadavg()[0]
    if load_1m > 1.0:
        print(f"note: load average {load_1m:.2f}; timings will be stretched by other processes")
    for name in args.names or names:
        print(f"recording {name} ...", flush=True)
        print(f"  -> {record(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
