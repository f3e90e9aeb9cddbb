"""Record one run of each real service into labkit/golab/services/recorded/<service>/, the run a
notebook shows when the packages or the toolchain are missing (labkit.golab.services.recorded_run).

Run on a quiet machine (1-minute load below ~1.5), inside the course environment, with the Debian
packages of labkit/golab/services/errors.py APT_PACKAGES installed:

    .venv/bin/python scripts/record_services.py             # both services
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

#: What each recording is: the service's parameters and the run's (collection) parameters.
RECORDED: dict[str, dict[str, object]] = {
    # chapter 1's frame loop on 2 Ps, fresh frame buffers (the stall's setting)
    "render": {"seconds": 6.0, "trace_seconds": 0.5},
    # chapter 5's service on SQLite (cgo), 40 req/s of Poisson arrivals, pool of 2, no fixes
    "dashboard": {"seconds": 6.0, "trace_seconds": 0.25},
}


def record(service: str) -> Path:
    load = os.getloadavg()[0]
    if load > 1.5:
        print(f"warning: 1-minute load is {load:.2f} (record below ~1.5)", file=sys.stderr)
    run = run_service(service, source="live", **RECORDED[service])  # type: ignore[arg-type]
    meta = dict(run.meta)
    meta["redo"] = f".venv/bin/python scripts/record_services.py {service}"
    run = replace(run, meta=meta)
    out = RECORDED_DIR / service
    shutil.rmtree(out, ignore_errors=True)
    run.save(out)
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{service}: {run.summary()}; {size / 1024:.0f} KiB in {out}")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", help=f"any of {', '.join(RECORDED)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(RECORDED))
    if unknown:
        parser.error(f"unknown service(s) {unknown}; choose from {', '.join(RECORDED)}")
    for service in args.services or list(RECORDED):
        record(service)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
