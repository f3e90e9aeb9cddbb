"""The README's table states each notebook's time as the notebook itself states it, and the
total as their sum: a notebook whose stated time changes must change the README too."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME = re.compile(r"\*\*Estimated time:?\*\*:?\s*(\d+(?:-\d+)?) min")


def stated(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells[:3] if c["cell_type"] == "markdown")
    found = TIME.search(text)
    assert found, f"{notebook.name} states no '**Estimated time:** N minutes'"
    return found.group(1)


def readme_rows() -> dict[str, str]:
    """Notebook path -> the time the README's table gives it ("55" or "55-65")."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        for path, minutes in re.findall(
            r"\]\(((?:chapters|labs)/[^)]+\.ipynb)\)[^|]*\|\s*([\d-]+) min", line
        ):
            rows[path] = minutes
    return rows


def test_every_notebook_is_in_the_readme_with_its_own_stated_time():
    rows = readme_rows()
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("[cl]*/*.ipynb"))
    assert sorted(rows) == notebooks
    wrong = {p: (rows[p], stated(ROOT / p)) for p in notebooks if rows[p] != stated(ROOT / p)}
    assert wrong == {}, "README time vs the notebook's own (README, notebook)"


def test_the_readme_total_is_the_sum_of_the_notebooks():
    def low_high(t: str) -> tuple[int, int]:
        a, _, b = t.partition("-")
        return int(a), int(b or a)

    lo = sum(low_high(t)[0] for t in readme_rows().values())
    hi = sum(low_high(t)[1] for t in readme_rows().values())
    said = re.search(r"About (\d+) hours in all", (ROOT / "README.md").read_text())
    assert said, "the README says 'About N hours in all'"
    assert lo / 60 - 0.5 <= int(said.group(1)) <= hi / 60 + 0.5, (lo, hi)
