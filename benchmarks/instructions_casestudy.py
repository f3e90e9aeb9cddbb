"""Machine instructions one run of the case study's model takes, phase by phase, counted by
valgrind: ``run_incident`` at chapter 5's setting (the DB timeout on), split as it runs: the
plan (``make_plan``), the program (``build_program``), the scheduler (``simulate``) and the
measures (``measure``).

A new setting of chapter 5's lab is one or two such runs (benchmarks/README.md, #14 item 5), and
CPU time on this machine moves by tens of per cent from day to day; valgrind's count repeats to
a few in a million (``instructions_sched.py`` says why), so a change of a few per cent shows.
Each figure is (a process with 3 runs - one with 1) / 2: starting Python and importing labkit
are left out.

Run: .venv/bin/python benchmarks/instructions_casestudy.py [--tree DIR ...]
(needs valgrind; ``git worktree add /tmp/base HEAD`` gives a version to compare; ~2 min a tree).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from instructions_sched import ROOT, valgrind_instructions

#: One process: ``n`` runs of the incident up to ``phase`` (plan, build, sched or measure).
RUN = """
import sys
import numpy as np
from labkit.models.scheduler import simulate
from labkit.scenarios.casestudy import run as R
from labkit.scenarios.casestudy.params import IncidentParams
phase, n = sys.argv[1], int(sys.argv[2])
p = IncidentParams.make(None, db_timeout=True)
for _ in range(n):
    rng = np.random.default_rng(p.seed)
    plan = R.make_plan(p, rng)
    if phase == "plan":
        continue
    main, names = R.build_program(p, plan)
    if phase == "build":
        continue
    seed = int(rng.integers(2**31))
    res = simulate(main, gomaxprocs=p.gomaxprocs, async_preempt=True,
                   until_ms=R._until_ms(p, plan), seed=seed)
    if phase == "sched":
        continue
    R.measure(p, plan, res, names)
"""
PHASES = ("plan", "build", "sched", "measure")


def per_run(tree: Path, phase: str) -> float:
    """Instructions of one run up to and including ``phase``."""
    one = valgrind_instructions(tree, RUN, phase, "1")[0]
    three = valgrind_instructions(tree, RUN, phase, "3")[0]
    return (three - one) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, action="append", help="a checkout (default: this one)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    for tree in args.tree or [ROOT]:
        before, parts = 0.0, []
        for phase in PHASES:
            upto = per_run(tree.resolve(), phase)
            parts.append(f"{phase} {(upto - before) / 1e6:.1f} M")
            before = upto
        print(f"{tree}: {before / 1e6:.1f} M instructions a run ({', '.join(parts)})")


if __name__ == "__main__":
    main()
