"""Record the runs of the real services shipped in labkit/golab/services/recorded/<name>/, the runs
a notebook shows when the packages or the toolchain are missing (labkit.golab.services.recorded_run
finds one by the service's parameters): one of each service, and chapter 5b's fixes.

Run on a quiet machine (1-minute load below ~1.5), inside the course environment, with the Debian
packages of labkit/golab/services/errors.py APT_PACKAGES installed:

    .venv/bin/python scripts/record_services.py             # every recording
    .venv/bin/python scripts/record_services.py dashboard   # one

Each recording's run.json says when and where it ran (meta.recorded_at, meta.recorded_on, the
load average before and after), the exact commands of every process (meta.commands) and this
script's command line (meta.redo). The parameters are RECORDED below: small runs, so that the
recording stays small (a short trace) and loads in a second.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from labkit.golab.services import run_service
from labkit.golab.services.run import RECORDED_DIR

#: What each recording is: its folder, then the service, its parameters and the run's
#: (collection) parameters. recorded_run() finds a recording by the service's parameters.
_FIXES = {"cache_json": True, "stream": True, "db_timeout": True}
RECORDED: dict[str, tuple[str, dict[str, object]]] = {
    # chapter 1's frame loop on 2 Ps, fresh frame buffers (the stall's setting)
    "render": ("render", {"seconds": 6.0, "trace_seconds": 0.5}),
    # chapter 5's service on SQLite (cgo), 40 req/s of Poisson arrivals, pool of 2, no fixes
    "dashboard": ("dashboard", {"seconds": 6.0, "trace_seconds": 0.25}),
    # chapter 5b: each of the three fixes alone (no trace: the latency is what they change),
    # and all three together (with a trace, for the stall doctor's "after")
    "dashboard-cache-json": ("dashboard", {"seconds": 6.0, "trace_seconds": 0, "cache_json": True}),
    "dashboard-stream": ("dashboard", {"seconds": 6.0, "trace_seconds": 0, "stream": True}),
    "dashboard-db-timeout": ("dashboard", {"seconds": 6.0, "trace_seconds": 0, "db_timeout": True}),
    "dashboard-all-fixes": ("dashboard", {"seconds": 6.0, "trace_seconds": 0.25, **_FIXES}),
}


def record(name: str) -> Path:
    load = os.getloadavg()[0]
    if load > 1.5:
        print(f"warning: 1-minute load is {load:.2f} (record below ~1.5)", file=sys.stderr)
    service, overrides = RECORDED[name]
    run = run_service(service, source="live", **overrides)  # type: ignore[arg-type]
    meta = dict(run.meta)
    meta["redo"] = f".venv/bin/python scripts/record_services.py {name}"
    run = replace(run, meta=meta)
    out = RECORDED_DIR / name
    shutil.rmtree(out, ignore_errors=True)
    run.save(out)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{name}: {run.summary()}; {size / 1024:.0f} KiB in {out}")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(RECORDED)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(RECORDED))
    if unknown:
        parser.error(f"unknown recording(s) {unknown}; choose from {', '.join(RECORDED)}")
    for name in args.names or list(RECORDED):
        record(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
