"""Every notebook states the time scripts/notebook_time.py estimates for them (#17
item 5): words at the pace of the one timed reading, 3 minutes per prediction exercise, Think!
question and widget, and the cells' run time. A notebook that grows, or a stated time edited by
hand, fails here; README.md says the times are estimates by this method."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import notebook_time as nt  # noqa: E402


def test_the_estimated_notebooks_state_their_estimate():
    assert nt.problems() == []


def test_the_readme_says_how_the_times_are_estimated():
    readme = (ROOT / "README.md").read_text()
    assert "scripts/notebook_time.py" in readme
    for path in nt.ESTIMATED:
        assert path in readme


SAMPLE = "chapters/04b-pools-and-queueing.ipynb"


def _notebook() -> dict:
    return json.loads((ROOT / SAMPLE).read_text())


def test_each_part_of_a_notebook_counts():
    """Words, an exercise, a Think!, a widget and run time each move the count; a Panel (a still
    figure's frame) and HTML tags do not."""
    nb = _notebook()
    base = nt.count(nb)
    md = {"cell_type": "markdown", "metadata": {}, "source": ""}

    def with_cell(cell: dict) -> nt.Counts:
        more = copy.deepcopy(nb)
        more["cells"].append(cell)
        return nt.count(more)

    assert with_cell({**md, "source": "<div class='x'>three more words</div>"}).words == (
        base.words + 3
    )
    assert with_cell({**md, "source": "**Think!** Why?"}).thinks == base.thinks + 1
    exercise = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "Exercise(ch04b.x)"}
    assert with_cell(exercise).exercises == base.exercises + 1
    widget = {**exercise, "source": "PoolTuner(workers=8)"}
    assert with_cell(widget).widgets == base.widgets + 1
    assert with_cell({**exercise, "source": "display(Panel([fig]))"}).widgets == base.widgets
    timed = {
        **exercise,
        "source": "x = 1",
        "metadata": {
            "execution": {
                "iopub.execute_input": "2026-12-04T07:55:00.000000Z",
                "shell.execute_reply": "2026-12-04T07:57:00.500000Z",
            }
        },
    }
    assert with_cell(timed).run_s == pytest.approx(base.run_s + 120.5)


def test_every_notebook_is_estimated():
    assert set(nt.ESTIMATED) == {p.relative_to(ROOT).as_posix() for p in ROOT.glob("[cl]*/*.ipynb")}
    assert "chapters/00-start-here.ipynb" in nt.ESTIMATED and SAMPLE in nt.ESTIMATED


def test_write_states_the_estimate_and_changes_nothing_else(tmp_path):
    (tmp_path / "chapters").mkdir()
    nb = _notebook()
    first = "".join(nb["cells"][0]["source"])
    nb["cells"][0]["source"] = first.replace(f"{nt.stated(nb)} min", "45 min")
    (tmp_path / SAMPLE).write_text(json.dumps(nb))
    assert nt.problems((SAMPLE,), root=tmp_path)
    assert nt.write(SAMPLE, root=tmp_path) is True
    after = json.loads((tmp_path / SAMPLE).read_text())
    assert nt.problems((SAMPLE,), root=tmp_path) == []
    assert after["cells"][1:] == nb["cells"][1:]
    assert nt.write(SAMPLE, root=tmp_path) is False


def test_a_notebook_that_grows_or_a_time_edited_by_hand_is_refused(tmp_path):
    path = SAMPLE
    nb = _notebook()
    (tmp_path / "chapters").mkdir()

    def problems_of(notebook: dict) -> list[str]:
        (tmp_path / path).write_text(json.dumps(notebook))
        return nt.problems((path,), root=tmp_path)

    assert problems_of(nb) == []
    longer = copy.deepcopy(nb)
    longer["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "word " * 600})
    (found,) = problems_of(longer)
    assert f"{path} states {nt.stated(nb)} min, the estimate is" in found
    edited = copy.deepcopy(nb)
    first = "".join(edited["cells"][0]["source"])
    edited["cells"][0]["source"] = first.replace(f"{nt.stated(nb)} min", "45 min")
    assert nt.stated(edited) == "45"
    assert any("states 45 min" in p for p in problems_of(edited))


def test_the_pace_is_the_timed_readings_and_the_range_is_ordered():
    slow, fast = nt.pace()
    assert 25 < slow < fast < 33  # words a minute, 100-120 min for 2,682 words
    low, high = map(int, nt.estimate(nt.TIMED).split("-"))
    assert (low, high) == nt.TIMED_MINUTES  # the method gives the timed reading its own time


def test_the_stored_counts_are_the_timed_reading():
    """TIMED is what count() finds in the notebook the learner read (commit f04b489), when this
    checkout has the history (a shallow clone has not: then the stored counts stand)."""
    have = subprocess.run(
        ["git", "cat-file", "-e", f"{nt.TIMED_COMMIT}:{nt.TIMED_PATH}"],
        cwd=ROOT,
        capture_output=True,
    )
    if have.returncode != 0:
        pytest.skip(f"no commit {nt.TIMED_COMMIT} in this checkout (shallow clone)")
    assert nt.timed_counts() == nt.TIMED
