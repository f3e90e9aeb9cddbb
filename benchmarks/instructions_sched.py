"""Machine instructions the scheduler model executes per event, counted by valgrind: the cost
measure for comparing two versions of labkit/models/scheduler/ when a change is a few per cent.

CPU time on this 2-core machine moves by +-5 % between runs of the same code even when it is
idle, so a 2 % change cannot be seen in the timing medians of bench_sched.py without dozens of
alternated runs. valgrind's count of the instructions the interpreter executes (cachegrind
without its cache simulation) is the same from one run to the next to a few in a million, C included
(the event heap, list growth, the garbage collector), which opcodes_sched.py's bytecode count
leaves out. It is not time: cache misses and branch mispredictions are not in it, and in the
ping-pong a change's time moved by about half of its instruction change (benchmarks/README.md).

Each figure is (instructions of a run with 3n rounds - those of a run with n) / the events
between: the difference leaves out starting Python and importing labkit.

Run: .venv/bin/python benchmarks/instructions_sched.py [pingpong|switch] [--tree DIR ...]
(needs valgrind; each tree is a checkout of the repository, this one if none is given, so
``git worktree add /tmp/base HEAD`` gives the version to compare against; ~20 s a tree).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: The scenario run under valgrind: bench_sched's ping-pong or switch-heavy, n rounds, one P,
#: the Scheduler alone (no Result), its event count printed.
RUN = """
import sys
sys.path.insert(0, "benchmarks")
from bench_sched import pingpong, switch_heavy
from labkit.models.scheduler.engine import Scheduler
name, n = sys.argv[1], int(sys.argv[2])
main = pingpong(n) if name == "pingpong" else switch_heavy(n)
s = Scheduler(main, 1, True, 10_000.0, 0)
s.simulate()
print(s.stats["events"])
"""

#: Rounds of the short run; the long one has three times as many.
ROUNDS = {"pingpong": 10_000, "switch": 5_000}


def valgrind_instructions(tree: Path, code: str, *args: str) -> tuple[int, str]:
    """(instructions, stdout) of ``python -c code args`` in ``tree``, counted by valgrind."""
    # One BLAS thread: OpenBLAS's idle worker threads spin, and their instructions count too
    # (with them a run's count moved by 2 %; without, by a few in a million).
    env = dict(
        os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
    )  # fmt: skip
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-c", code, *args],
        cwd=tree, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    refs = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if refs is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), out.stdout


def instructions(tree: Path, name: str, rounds: int) -> tuple[int, int]:
    """(instructions, events) of one run of ``name`` with ``rounds`` rounds in ``tree``."""
    count, stdout = valgrind_instructions(tree, RUN, name, str(rounds))
    return count, int(stdout.split()[-1])


def per_event(tree: Path, name: str) -> float:
    """Instructions per event of ``name`` in ``tree`` (the difference of two run lengths)."""
    n = ROUNDS[name]
    short, long_ = instructions(tree, name, n), instructions(tree, name, 3 * n)
    return (long_[0] - short[0]) / (long_[1] - short[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default="pingpong", choices=sorted(ROUNDS))
    ap.add_argument("--tree", type=Path, action="append", help="a checkout (default: this one)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    trees = args.tree or [ROOT]
    for tree in trees:
        print(f"{tree}: {per_event(tree.resolve(), args.scenario):,.0f} instructions per event")


if __name__ == "__main__":
    main()
