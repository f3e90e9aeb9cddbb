"""Bytecodes the scheduler model executes per event, by function: a cost measure that, unlike
time, does not move with the machine's load, so two versions of the scheduler model
(labkit/models/scheduler/) can be compared on a busy machine. (It counts Python work only: time in C, such as the event heap or the
garbage collector, needs the timing benchmarks in bench_sched.py.)

Run: .venv/bin/python benchmarks/opcodes_sched.py [default|large|switch] [top N functions]
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_sched import DEFAULT, LARGE, switch_heavy  # noqa: E402

from labkit.models.scheduler.runtime import Scheduler  # noqa: E402


def count_opcodes(scheduler: Scheduler) -> tuple[collections.Counter, collections.Counter]:
    """Run ``scheduler`` under an opcode tracer; return (opcodes, calls) per function name."""
    ops: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: object):
        if event == "call":
            frame.f_trace_opcodes = True
            calls[frame.f_code.co_name] += 1
        elif event == "opcode":
            ops[frame.f_code.co_name] += 1
        return tracer

    sys.settrace(tracer)
    try:
        scheduler.simulate()
    finally:
        sys.settrace(None)
    return ops, calls


def main(which: str = "default", top: int = 15) -> None:
    main_go, args = {
        "default": (DEFAULT, (4, True, 1_000.0, 0)),
        "large": (LARGE, (8, True, 10_000.0, 0)),
        "switch": (switch_heavy(2_000), (1, True, 10_000.0, 0)),
    }[which]
    s = Scheduler(main_go, *args)
    ops, calls = count_opcodes(s)
    events = s.stats["events"]
    total = sum(ops.values())
    print(f"{which}: {events} events, {total / events:.1f} bytecodes/event")
    for name, n in ops.most_common(top):
        print(f"  {name:20s} {n / events:6.1f}/event  ({calls[name]:,} calls)")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "default",
        int(sys.argv[2]) if len(sys.argv) > 2 else 15,
    )
