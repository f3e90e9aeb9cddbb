"""Record the real twins of the model's scenarios (labkit.golab.twins) into
labkit/golab/recorded/twins/: each variant's execution trace and output, with the Go version and
when and where it ran. Run on a quiet machine, inside the course environment:

    nice -n -15 .venv/bin/python scripts/record_twins.py            # every twin, every variant
    .venv/bin/python scripts/record_twins.py timer_stall              # one twin
"""

from __future__ import annotations

import argparse
import sys

from labkit.golab.twins import TWINS, record_twin

#: The variants each twin is recorded in: the model scenario's stall and fix.
VARIANTS: dict[str, tuple[dict[str, int], ...]] = {
    "timer_stall": ({"hogs": 2}, {"hogs": 1}),
    "long_loop": ({"async_preempt": 0}, {"async_preempt": 1}),
    "locked_ticker": ({"locked": 1}, {"locked": 0}),
    "blocking_calls": ({"syscalls": 1}, {"syscalls": 0}),
    "run_queues": ({"procs": 1}, {"procs": 4}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"twins (default: {', '.join(TWINS)})"
    )
    args = parser.parse_args(argv)
    for name in args.names or list(TWINS):
        for params in VARIANTS[name]:
            path = record_twin(name, **params)
            size = path.with_suffix(".trace").stat().st_size
            print(f"{name} {params}: {path.name}.trace ({size / 1024:.0f} KiB) and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
