"""Record the real twins of the model's scenarios (labkit.golab.twins) into
labkit/golab/recorded/twins/: each variant's execution trace and output, with the Go version and
when and where it ran. Run on a quiet machine, inside the course environment:

    nice -n -15 .venv/bin/python scripts/record_twins.py            # every twin, every variant
    .venv/bin/python scripts/record_twins.py timer_stall              # one twin

Each variant runs three times (``--runs``) and the run with the median makespan is kept.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from labkit.golab.twins import TWINS, record_twin

#: The variants each twin is recorded in: the model scenario's stall and fix.
VARIANTS: dict[str, tuple[dict[str, int], ...]] = {
    "timer_stall": ({"hogs": 2}, {"hogs": 1}),
    "long_loop": ({"async_preempt": 0}, {"async_preempt": 1}),
    "locked_ticker": ({"locked": 1}, {"locked": 0}),
    "blocking_calls": ({"syscalls": 1}, {"syscalls": 0}),
    "run_queues": ({"procs": 1}, {"procs": 4}),
    "frame_loop": ({"pooled": 0}, {"pooled": 1}),
    "pipeline": ({"buffer": 4, "draw": 2}, {"buffer": 64, "draw": 2}, {"buffer": 4, "draw": 1}),
    "pool": ({"policy": 0, "workers": 2}, {"policy": 0, "workers": 8}, {"policy": 1, "workers": 2}),
}


def _makespan(path: Path) -> float:
    output = json.loads(path.with_suffix(".json").read_text())["output"]
    if "makespan_ms" in output:
        return float(output["makespan_ms"])
    if "frame_ms" in output:  # frame_loop: the run with the median count of late frames
        return float(sum(ms > output["budget_ms"] for ms in output["frame_ms"]))
    return float(statistics.median(output.get("latency_ms") or output.get("late_ms") or [0.0]))


def record_median(name: str, params: dict[str, int], runs: int) -> Path:
    """Record the twin ``runs`` times and keep the run whose makespan (else late frames, else
    median latency) is the median: one run is what a twin ships, and a typical one, not
    whichever came last."""
    kept: list[tuple[float, bytes, bytes]] = []
    for _ in range(runs):
        path = record_twin(name, **params)
        trace, meta = path.with_suffix(".trace"), path.with_suffix(".json")
        kept.append((_makespan(path), trace.read_bytes(), meta.read_bytes()))
    kept.sort(key=lambda k: k[0])
    _, trace_bytes, meta_bytes = kept[len(kept) // 2]
    path.with_suffix(".trace").write_bytes(trace_bytes)
    path.with_suffix(".json").write_bytes(meta_bytes)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"twins (default: {', '.join(TWINS)})"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per variant; the median one is kept (3)"
    )
    args = parser.parse_args(argv)
    for name in args.names or list(TWINS):
        for params in VARIANTS[name]:
            path = record_median(name, params, args.runs)
            size = path.with_suffix(".trace").stat().st_size
            print(f"{name} {params}: {path.name}.trace ({size / 1024:.0f} KiB) and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
