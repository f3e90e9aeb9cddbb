#!/usr/bin/env python3
"""How long a notebook takes a learner, estimated from what is in it (#17 item 5).

    .venv/bin/python scripts/notebook_time.py               # every notebook: stated, estimate
    .venv/bin/python scripts/notebook_time.py --write       # state the estimate in each notebook
    .venv/bin/python scripts/notebook_time.py --calibrate   # recount the timed reading (needs git history)

Until a learner is timed on them, every notebook (ESTIMATED) states this estimate:

    minutes = words / R + 3 x (prediction exercises + Think! questions + widgets) + run time

- **words**: the words of the Markdown cells (prose, tables, myth boxes and the answers a learner
  opens), HTML tags left out, a word being anything with a letter or a digit in it;
- **prediction exercises**: code cells that make an ``Exercise``; **Think! questions**: the
  ``**Think!**`` prompts; **widgets**: cells showing a widget a learner drives (a class imported
  from ``labkit.widgets``, except ``Panel``, which only frames a still figure); 3 minutes each;
- **run time**: the cells' own execution times, as the executed notebook stores them (rounded up
  to whole minutes).

R is the reading pace measured by the one timed reading: chapter 4 as it stood at commit
f04b489 (2,682 words, 4 Think! questions, 1 widget, 5 s of cells, stated 75 min) took a learner
100-120 min (issue #17 item 5). With its 15 fixed minutes, R = 2682 / (120 - 16) = 25.8 to
2682 / (100 - 16) = 31.9 words a minute, pauses for the code, tables and figures between the
words included; the two ends give the stated range. (At 130 words a minute, a technical
reading pace with nothing in between, the same reading would come to 37 min: a third of what
the learner took.) The range is rounded to 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The notebooks whose "**Estimated time:**" is this estimate (README.md says so): all of them.
ESTIMATED = tuple(sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("[cl]*/*.ipynb")))

#: The timed reading: the notebook as it was at this commit, and the minutes a learner took.
TIMED_COMMIT, TIMED_PATH, TIMED_MINUTES = "f04b489", "chapters/04-fixes.ipynb", (100, 120)

#: Minutes for each prediction exercise, Think! question and widget.
PER_ITEM_MIN = 3

_WIDGET_IMPORT = re.compile(r"from labkit\.widgets(?:\.\w+)* import ([\w, ()\n]+)")
_TIME = re.compile(r"\*\*Estimated time:\*\*\s*(\d+(?:-\d+)?) min")


@dataclass(frozen=True)
class Counts:
    """What a notebook asks of a learner, counted."""

    words: int
    exercises: int
    thinks: int
    widgets: int
    run_s: float

    @property
    def fixed_min(self) -> int:
        """The minutes that do not depend on the reading pace."""
        items = self.exercises + self.thinks + self.widgets
        return PER_ITEM_MIN * items + math.ceil(self.run_s / 60)


#: The counts of the timed reading (``--calibrate`` recounts them from git history).
TIMED = Counts(words=2682, exercises=0, thinks=4, widgets=1, run_s=4.8)


def _words(markdown: str) -> int:
    text = re.sub(r"<[^>]+>", " ", markdown)
    return sum(1 for word in text.split() if re.search(r"\w", word))


def _seconds(cell: dict) -> float:
    times = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in times or "shell.execute_reply" not in times:
        return 0.0
    start, end = (
        datetime.fromisoformat(times[key].replace("Z", "+00:00"))
        for key in ("iopub.execute_input", "shell.execute_reply")
    )
    return (end - start).total_seconds()


def count(notebook: dict) -> Counts:
    """Count a notebook (its JSON, as read from the .ipynb)."""
    cells = notebook["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    drivable = {
        name
        for source in code
        for names in _WIDGET_IMPORT.findall(source)
        for name in re.findall(r"\b[A-Z][a-z]\w*", names)
        if name != "Panel"
    }
    shows = re.compile(r"\b(?:" + "|".join(sorted(drivable)) + r")\(") if drivable else None
    return Counts(
        words=sum(map(_words, markdown)),
        exercises=sum("Exercise(" in source for source in code),
        thinks=sum(source.count("**Think!**") for source in markdown),
        widgets=sum(
            bool(shows and shows.search(source)) and "Exercise(" not in source for source in code
        ),
        run_s=round(sum(_seconds(c) for c in cells if c["cell_type"] == "code"), 1),
    )


def pace(timed: Counts = TIMED, minutes: tuple[int, int] = TIMED_MINUTES) -> tuple[float, float]:
    """Words a minute, (slow, fast): the timed reading's words over its non-fixed minutes."""
    slow, fast = (timed.words / (m - timed.fixed_min) for m in (minutes[1], minutes[0]))
    return slow, fast


def estimate(counts: Counts, timed: Counts = TIMED) -> str:
    """The stated time for these counts, "N-M" minutes rounded to 5."""
    slow, fast = pace(timed)

    def five(minutes: float) -> int:
        return 5 * round(minutes / 5)

    low, high = (five(counts.words / wpm + counts.fixed_min) for wpm in (fast, slow))
    return f"{low}-{high}"


def stated(notebook: dict) -> str | None:
    """The time the notebook states in its first Markdown cells ("N" or "N-M")."""
    first = [c for c in notebook["cells"][:3] if c["cell_type"] == "markdown"]
    found = _TIME.search("".join("".join(c["source"]) for c in first))
    return found.group(1) if found else None


def problems(paths: tuple[str, ...] = ESTIMATED, root: Path = ROOT) -> list[str]:
    """Each estimated notebook whose stated time is not its estimate, and what to state."""
    out = []
    for path in paths:
        notebook = json.loads((root / path).read_text())
        said, should = stated(notebook), estimate(count(notebook))
        if said != should:
            out.append(
                f"{path} states {said} min, the estimate is {should} min "
                f"({count(notebook)}): state '**Estimated time:** {should} min' in its first cell"
            )
    return out


def write(path: str, root: Path = ROOT) -> bool:
    """State the estimate in the notebook's first cells (only the time's text changes, so the
    notebook's outputs stay as executed). True if it changed."""
    file = root / path
    notebook = json.loads(file.read_text())
    should = estimate(count(notebook))
    for cell in notebook["cells"][:3]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        found = _TIME.search(source)
        if found:
            if found.group(1) == should:
                return False
            new = source[: found.start(1)] + should + source[found.end(1) :]
            cell["source"] = new.splitlines(keepends=True)
            file.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
            return True
    raise ValueError(f"{path} states no '**Estimated time:** N min' in its first cells")


def timed_counts() -> Counts:
    """Count the timed reading's notebook from git history."""
    shown = subprocess.run(
        ["git", "show", f"{TIMED_COMMIT}:{TIMED_PATH}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return count(json.loads(shown.stdout))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="state the estimates")
    parser.add_argument("--calibrate", action="store_true", help="recount the timed reading")
    args = parser.parse_args(argv)
    if args.calibrate:
        counts = timed_counts()
        print(f"{TIMED_COMMIT}:{TIMED_PATH}: {counts}; stored: {TIMED}")
        print("words a minute (slow, fast): {:.1f}, {:.1f}".format(*pace(counts)))
        return 0 if counts == TIMED else 1
    if args.write:
        for path in ESTIMATED:
            if write(path):
                print(
                    f"{path}: now states {estimate(count(json.loads((ROOT / path).read_text())))} min"
                )
    for path in ESTIMATED:
        notebook = json.loads((ROOT / path).read_text())
        counts = count(notebook)
        print(
            f"{path}: states {stated(notebook)} min, estimate {estimate(counts)} min "
            f"({counts.words} words, {counts.exercises} exercises, {counts.thinks} Think!, "
            f"{counts.widgets} widgets, {counts.run_s:.0f} s of cells)"
        )
    return 1 if problems() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
