"""Record the stall doctor's labelled corpus: labkit/golab/go/stallcorpus run with each known
cause (and mixtures, and healthy controls) at several GOMAXPROCS and sizes, traced, into
labkit/data/stalls/ (the trace and CORPUS.json: each case's labels, what the program measured,
the Go version, when and where). tests/test_stalls.py holds the doctor to the labels.

    .venv/bin/python scripts/record_stall_corpus.py            # record every case once
    .venv/bin/python scripts/record_stall_corpus.py --runs 5   # also: how often the doctor is
                                                               # right on 5 fresh runs each
    .venv/bin/python scripts/record_stall_corpus.py --check --runs 5 cgo-p1   # fresh runs only,
                                                               # nothing written

Each case records the 1-minute load average before and after its runs and the niceness (the
machine may be shared: a thread that waits for a CPU looks, in the trace, like a goroutine that
ran long without a scheduling point, so record at a higher priority, as root:
``nice -n -15 .venv/bin/python scripts/record_stall_corpus.py``). Cause 128 (cgo) is built
with CGO_ENABLED=1 and needs a C compiler.

The labels say what the program does, not what the doctor said: a fresh run the doctor gets
wrong is reported (the confusion matrix), never re-run until it agrees.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labkit.golab import run_go  # noqa: E402
from labkit.stalls import diagnose  # noqa: E402

PROGRAM = ROOT / "labkit" / "golab" / "go" / "stallcorpus" / "main.go"
#: The program's call into C (cause 128), built only with cgo.
CGO_FILE = PROGRAM.with_name("encode_cgo.go")
CGO = 128
OUT = ROOT / "labkit" / "data" / "stalls"

#: name -> (cause bits, GOMAXPROCS, frames, causes that may come first (empty: healthy),
#: causes that must also be named with a share of 10 % or more)
CASES: dict[str, tuple[int, int, int, tuple[str, ...], tuple[str, ...]]] = {
    "healthy-p2": (0, 2, 30, (), ()),
    "hogs-p4-healthy": (1, 4, 30, (), ()),
    "hogs-p1": (1, 1, 30, ("late_timer",), ()),
    "hogs-p2": (1, 2, 30, ("late_timer",), ()),
    "hogs-p2-long": (1, 2, 60, ("late_timer",), ()),
    "burst-p1": (2, 1, 30, ("runqueue_delay",), ()),
    "burst-p2": (2, 2, 30, ("runqueue_delay",), ()),
    # on one P the refresher's 25 ms inside the lock also holds the P: the frame's timer is
    # late behind it as often as the frame waits for the lock
    "lock-p1": (4, 1, 30, ("mutex", "late_timer"), ("mutex",)),
    "lock-p2": (4, 2, 30, ("mutex",), ()),
    "lock-p2-long": (4, 2, 60, ("mutex",), ()),
    # the GC's causes: its workers taking Ps, and the assists it charges to allocating
    # goroutines (a producer assisting holds its P as a hog would)
    "gc-p1": (8, 1, 20, ("gc_workers", "gc_assist", "runqueue_delay"), ()),
    "gc-p2": (8, 2, 20, ("gc_workers", "gc_assist"), ()),
    "channel-p1": (32, 1, 30, ("channel",), ()),
    "channel-p2": (32, 2, 30, ("channel",), ()),
    "hogs+lock-p2": (5, 2, 30, ("late_timer",), ("mutex",)),
    # paced by a pipe a child process writes to: the network poller wakes the frame
    "network-p2-healthy": (64, 2, 30, (), ()),
    "hogs+network-p2": (65, 2, 30, ("late_network",), ()),
    # on one P the frame, once readied, also queues behind the hogs' 10 ms slices
    "hogs+network-p1": (65, 1, 30, ("cpu_hog", "late_network"), ("late_network",)),
    "burst+lock-p2": (6, 2, 30, ("mutex", "runqueue_delay"), ("mutex", "runqueue_delay")),
    "gc+lock-p2": (12, 2, 20, ("mutex", "gc_workers", "gc_assist"), ("mutex",)),
    # a worker's read(2) on a blocking pipe keeps the frame's P, and its timers, until the
    # call returns (sysmon, with nothing to retake for 20 ms, comes back every 10 ms)
    "syscall-p1": (16, 1, 40, ("syscall",), ()),
    "syscall-p1-long": (16, 1, 80, ("syscall",), ()),
    # a second P's thread runs the frame's timer
    "syscall-p2-healthy": (16, 2, 40, (), ()),
    # the same with a call into C
    "cgo-p1": (128, 1, 40, ("cgo",), ()),
    "cgo-p1-long": (128, 1, 80, ("cgo",), ()),
    "cgo-p2-healthy": (128, 2, 40, (), ()),
    # a render loop locked to its thread (LockOSThread) that takes 1000 commands a frame
    # from another goroutine: two thread hand-offs each (startlockedm, stoplockedm)
    "locked-p1": (768, 1, 30, ("locked_thread",), ()),
    "locked-p2": (768, 2, 30, ("locked_thread",), ()),
    # the controls: the same commands unlocked; the lock without the commands
    "calls-p2-healthy": (256, 2, 30, (), ()),
    "locked-p2-healthy": (512, 2, 30, (), ()),
}


def source(cause: int, frames: int) -> str:
    text = PROGRAM.read_text()
    text = re.sub(r"^var cause = \d+", f"var cause = {cause}", text, count=1, flags=re.M)
    return re.sub(r"^var frames = \d+", f"var frames = {frames}", text, count=1, flags=re.M)


def verdict(d, first: tuple[str, ...], also: tuple[str, ...]) -> str:
    """'right', or what the doctor said instead."""
    if not first:
        return "right" if d.healthy else f"blamed a healthy run ({d.findings[0].cause})"
    if d.healthy:
        return "no stall found"
    if d.findings[0].cause not in first:
        return f"first {d.findings[0].cause}"
    for cause in also:
        f = d.cause(cause)
        if f is None or f.share < 0.1:
            return f"missed {cause}"
    return "right"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"cases (default: all {len(CASES)})")
    parser.add_argument("--runs", type=int, default=1, help="fresh runs per case (1)")
    parser.add_argument(
        "--check", action="store_true", help="only count the doctor's verdicts; write nothing"
    )
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    index_path = OUT / "CORPUS.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    tally: dict[str, Counter] = {}
    for name in args.names or list(CASES):
        cause, procs, frames, first, also = CASES[name]
        cgo = bool(cause & CGO)
        files = {CGO_FILE.name: CGO_FILE.read_text()} if cgo else None
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):
            run = run_go(
                source(cause, frames), gomaxprocs=procs, timeout_s=120, files=files, cgo=cgo
            )
            if not run.ok or run.trace is None:
                print(f"{name}: the program failed: {run.stderr[-400:]}", file=sys.stderr)
                return 1
            tally.setdefault(name, Counter())[verdict(diagnose(run.trace), first, also)] += 1
        load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        print(
            f"{name}: the doctor on {args.runs} run(s): "
            + ", ".join(f"{v} x{n}" for v, n in tally[name].most_common())
            + f" (1-min load {load[0]:.2f} before, {load[1]:.2f} after, nice {os.nice(0)})"
        )
        if args.check:
            continue
        (OUT / f"{name}.trace").write_bytes(run.trace_bytes)
        index[name] = {
            "cause": cause,
            "gomaxprocs": procs,
            "frames": frames,
            "first": list(first),
            "also": list(also),
            "healthy": not first,
            "output": json.loads(run.stdout),
            "go_version": run.go_version,
            "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "recorded_on": f"{platform.system().lower()}/{platform.machine()}, "
            f"{os.cpu_count()} CPUs",
            "load_avg": load,
            "nice": os.nice(0),
        }
        print(f"{name}: recorded, {len(run.trace_bytes) // 1024} KiB")
    if not args.check:
        index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")
    wrong = sum(n for c in tally.values() for v, n in c.items() if v != "right")
    total = sum(sum(c.values()) for c in tally.values())
    print(f"right on {total - wrong} of {total} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
