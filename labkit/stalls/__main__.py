"""``python -m labkit.stalls TRACE [--budget-ms MS]``: the stall doctor's report on a trace."""

from __future__ import annotations

import argparse
import sys

from labkit.errors import LabkitError


def main(argv: list[str] | None = None) -> int:
    from labkit.stalls import diagnose

    parser = argparse.ArgumentParser(
        prog="python -m labkit.stalls",
        description="Name the mechanism behind the stalls in a Go execution trace "
        "(runtime/trace, go test -trace, /debug/pprof/trace).",
    )
    parser.add_argument("trace", help="the trace file")
    parser.add_argument(
        "--budget-ms",
        type=float,
        default=None,
        help="how long one of the program's regions may take (default: none; "
        "a region is a stall when it waited --wait-ms or more)",
    )
    parser.add_argument(
        "--wait-ms",
        type=float,
        default=2.0,
        help="the shortest scheduling wait that counts as a stall (2)",
    )
    args = parser.parse_args(argv)
    try:
        d = diagnose(args.trace, budget_ms=args.budget_ms, wait_ms=args.wait_ms)
    except (LabkitError, OSError) as exc:
        print(f"python -m labkit.stalls: {exc}", file=sys.stderr)
        return 2
    print(d.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
