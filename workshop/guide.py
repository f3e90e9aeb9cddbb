"""The generated parts of the instructor's guide (workshop/README.md), and their check.

    .venv/bin/python -m workshop.guide          # rewrite the generated parts in README.md
    .venv/bin/python -m workshop.guide --check  # exit 1 if they are out of date

Two parts are generated, each between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``:

- ``timetable``: the sessions, from each notebook's own stated time (the "**Estimated time:**"
  line the README's table also quotes; tests/test_readme_times.py checks that one);
- ``sizing``: the load test's recorded runs (workshop/loadtest-results.json) as a table, and
  learners per core and per GiB with the margin (``workshop.loadtest.sizing``), and the limits
  probe (memory limit, CPU, idle culling).

tests/test_workshop_guide.py fails when README.md differs from what this builds.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

from workshop.loadtest import MARGIN, RESULTS, TARGET_TIME_TO_NOTEBOOK_S, sizing, table
from workshop.settings import ROOT, WORKSHOP

GUIDE = WORKSHOP / "README.md"
_TIME = re.compile(r"\*\*Estimated time:?\*\*:?\s*(\d+)(?:-(\d+))? min")

#: The sessions of a workshop: each a chapter and its lab (the appendix with the case study; the
#: first parts of chapters 1, 2 and 4 alone, their second parts with labs 1, 2 and 4).
SESSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("1. Start, render stalls and the GC pacer",
     ("chapters/00-start-here.ipynb", "chapters/01-render-stalls.ipynb")),
    ("1b. Render stalls: the frame lab, gctrace and frame-buffer reuse",
     ("chapters/01b-gctrace-and-buffer-reuse.ipynb", "labs/lab01-frame-lab.ipynb")),
    ("2. The scheduler's blind spots: threads, locks, system calls",
     ("chapters/02-scheduler-blind-spots.ipynb",)),
    ("2b. The scheduler's blind spots: preemption, run queues, timers",
     ("chapters/02b-preemption-queues-and-timers.ipynb", "labs/lab02-scheduler-lab.ipynb")),
    ("3. Flame graphs and traces",
     ("chapters/03-flame-graphs.ipynb", "labs/lab03-flame-detective.ipynb")),
    ("4. The fixes: pipelines, yielding, isolation", ("chapters/04-fixes.ipynb",)),
    ("4b. Pools and the queueing core",
     ("chapters/04b-pools-and-queueing.ipynb", "labs/lab04-pool-tuner.ipynb")),
    ("5. The case study, and the model against real Go",
     ("chapters/05-case-study.ipynb", "chapters/05b-real-service.ipynb",
      "labs/lab05-capstone.ipynb", "chapters/06-appendix-real-go.ipynb")),
)  # fmt: skip
#: A break after each this many minutes of notebook time, of this length.
BREAK_EVERY_MIN, BREAK_MIN = 60, 10


def stated_minutes(notebook: str) -> tuple[int, int]:
    """(low, high) minutes a notebook states for itself in its first markdown cells."""
    cells = json.loads((ROOT / notebook).read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells[:3] if c["cell_type"] == "markdown")
    m = _TIME.search(text)
    if not m:
        raise ValueError(f"{notebook} states no '**Estimated time:** N min'")
    return int(m.group(1)), int(m.group(2) or m.group(1))


def _span(lo: int, hi: int) -> str:
    return f"{lo} min" if lo == hi else f"{lo}-{hi} min"


def timetable(sessions=SESSIONS) -> str:
    rows = ["| session | notebooks, each with its stated time | notebooks | with breaks |",
            "|---|---|---|---|"]  # fmt: skip
    for title, notebooks in sessions:
        times = [stated_minutes(nb) for nb in notebooks]
        lo, hi = sum(t[0] for t in times), sum(t[1] for t in times)
        breaks = (hi - 1) // BREAK_EVERY_MIN
        parts = ", ".join(
            f"[{Path(nb).stem}](../{nb}) {_span(*t)}"
            for nb, t in zip(notebooks, times, strict=True)
        )
        rows.append(
            f"| {title} | {parts} | {_span(lo, hi)} "
            f"| {_span(lo + breaks * BREAK_MIN, hi + breaks * BREAK_MIN)} "
            f"({breaks} x {BREAK_MIN} min) |"
        )
    return "\n".join(rows)


def sizing_section(results: Path = RESULTS) -> str:
    data = json.loads(results.read_text())
    runs = data["runs"]
    s = sizing(runs)
    machine = runs[-1]["machine"]
    lines = [
        table(runs),
        "",
        f"Measured on {machine['cpus']} cores and {machine['mem_gib']:g} GiB ({machine['system']}),"
        f" {runs[0]['date'][:10]}; each learner ran `{runs[-1]['notebook']}` top to bottom.",
        f"The largest room in which every learner ran every cell, with no hub failure and 9 in 10 "
        f"reaching a running notebook within {TARGET_TIME_TO_NOTEBOOK_S:.0f} s, had "
        f"**{s['learners']} learners on {s['cpus']} cores**. With a margin of "
        f"{100 - 100 * MARGIN:.0f} % (a room does more than one notebook; browsers, typing and "
        f"real-Go builds come on top), plan for:",
        "",
        f"- **{s['per_core']:g} learners per core** at the start of a session, when everyone "
        "logs in and runs a notebook at once;",
        f"- **{s['per_gib']:g} learners per GiB** of memory: a learner's server and kernel "
        f"together peaked at {s['peak_rss_mib']:.0f} MiB (the largest of all runs); leave 1 GiB "
        "for the system, the hub and the proxy.",
    ]
    largest = runs[-1]
    phases = {
        key: statistics.median(r[key] for r in largest["per_learner"] if r[key] is not None)
        for key in ("login_s", "server_s", "pull_s", "kernel_s")
    }
    lines += [
        "",
        f"Where the wait goes with {largest['learners']} learners (medians): login "
        f"{phases['login_s']:.1f} s, server start {phases['server_s']:.1f} s, nbgitpuller's "
        f"clone {phases['pull_s']:.1f} s, lab page and kernel {phases['kernel_s']:.1f} s. The "
        f"hub and the proxy peaked at {largest['hub_and_proxy']['hub']['peak_rss_mib']:.0f} and "
        f"{largest['hub_and_proxy']['proxy']['peak_rss_mib']:.0f} MiB.",
    ]
    limits = data.get("limits")
    if limits:
        cull = limits.get("culling", {})
        lines += [
            "",
            f"Limits, measured {limits['date'][:10]} (`workshop-loadtest --limits`, load "
            f"{limits['loadavg_before'][0]:.2f}): a kernel that allocated "
            f"{limits['allocated_mib']} MiB against the {limits['mem_limit_mib']} MiB limit was "
            + (f"killed after {limits['killed_after_s']:.1f} s" if limits["killed"]
               else "**not killed**")
            + (" and its restart ran the next cell" if limits["restarted_kernel_runs"] else "")
            + f"; a learner who keeps {limits['cpu_probe_workers']} processes busy got "
            f"{limits['cpu_cores_used']:g} cores (CPU is not capped on the local hub); a server "
            f"left idle with a {cull.get('timeout_s')} s culling timeout (checked every "
            f"{cull.get('every_s')} s) was stopped after {cull.get('culled_after_s')} s, "
            + ("its files kept." if cull.get("files_kept") else "**its files lost**."),
        ]  # fmt: skip
    return "\n".join(lines)


def generated() -> dict[str, str]:
    return {"timetable": timetable(), "sizing": sizing_section()}


def render(text: str, parts: dict[str, str]) -> str:
    """``text`` with each generated part replaced by ``parts``; ValueError if a marker is
    missing."""
    for name, body in parts.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"the guide has no '<!-- generated: {name} -->' ... end marker")
        text = pattern.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    text = GUIDE.read_text()
    new = render(text, generated())
    if "--check" in argv:
        if new != text:
            print(f"{GUIDE.relative_to(ROOT)} is out of date: run python -m workshop.guide")
            return 1
        return 0
    GUIDE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
