"""The instructor's guide (workshop/README.md) states what was measured and what the notebooks
say: its sizing table is the load test's record, its timetable the notebooks' own times, every
notebook in one session. A stale table, a lost notebook or a failed run fails."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workshop import guide, loadtest  # noqa: E402


def test_the_guide_is_what_the_record_and_the_notebooks_build():
    text = guide.GUIDE.read_text()
    assert guide.render(text, guide.generated()) == text, "run .venv/bin/python -m workshop.guide"


def test_a_stale_sizing_table_is_found():
    text = guide.GUIDE.read_text()
    start = text.index("<!-- generated: sizing -->")
    row = text.index("| 5 |", start)
    stale = text[:row] + "| 6 |" + text[row + 5 :]
    assert guide.render(stale, guide.generated()) != stale
    with pytest.raises(ValueError, match="no '<!-- generated: sizing -->'"):
        guide.render(text.replace("<!-- generated: sizing -->", ""), guide.generated())


def test_every_notebook_is_in_exactly_one_session():
    listed = [nb for _, notebooks in guide.SESSIONS for nb in notebooks]
    on_disk = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("[cl]*/*.ipynb"))
    assert sorted(listed) == on_disk
    assert len(listed) == len(set(listed))


def test_the_timetable_gives_each_notebook_its_own_time():
    table = guide.timetable()
    for _, notebooks in guide.SESSIONS:
        for nb in notebooks:
            lo, hi = guide.stated_minutes(nb)
            span = f"{lo} min" if lo == hi else f"{lo}-{hi} min"
            assert f"]({'../' + nb}) {span}" in table
    # each session's total is the sum of its notebooks' own times (session 2: chapter 2 + lab 2)
    for _, notebooks in guide.SESSIONS:
        lo = sum(guide.stated_minutes(nb)[0] for nb in notebooks)
        hi = sum(guide.stated_minutes(nb)[1] for nb in notebooks)
        assert f"| {lo} min |" in table if lo == hi else f"| {lo}-{hi} min |" in table


def test_a_notebook_without_a_stated_time_is_refused(tmp_path, monkeypatch):
    nb = tmp_path / "x.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ["no time"]}]}))
    monkeypatch.setattr(guide, "ROOT", tmp_path)
    with pytest.raises(ValueError, match="states no"):
        guide.stated_minutes("x.ipynb")


def _run(n: int, p90: float, failures: int = 0, ran: int | None = None) -> dict:
    s = {"median": p90 / 2, "p90": p90, "max": p90}
    return {
        "learners": n,
        "hub_failures": failures,
        "ran_all_cells": n if ran is None else ran,
        "machine": {"cpus": 2},
        "summary": {"time_to_notebook_s": s, "peak_rss_mib": {"max": 300.0}},
    }


def test_sizing_takes_the_largest_room_that_met_the_target():
    s = loadtest.sizing([_run(5, 20), _run(10, 40), _run(20, 90)])
    assert s["learners"] == 10
    assert s["per_core"] == round(0.75 * 10 / 2, 1)
    assert s["per_gib"] == round(0.75 * 1024 / 300, 1)
    assert s["all_succeeded"] is False


def test_sizing_refuses_rooms_with_failures():
    assert loadtest.sizing([_run(5, 20), _run(10, 30, failures=1)])["learners"] == 5
    assert loadtest.sizing([_run(5, 20), _run(10, 30, ran=9)])["learners"] == 5
    with pytest.raises(ValueError, match="no recorded run met the target"):
        loadtest.sizing([_run(5, 20, failures=1)])


def test_the_recorded_runs_had_no_hub_failure_and_left_nothing():
    data = json.loads(loadtest.RESULTS.read_text())
    assert {r["learners"] for r in data["runs"]} >= {5, 10}
    for run in data["runs"]:
        assert run["hub_failures"] == 0
        assert run["leftover_processes"] == 0
        assert run["reached_notebook"] == run["learners"]
        assert len(run["per_learner"]) == run["learners"]
    limits = data["limits"]
    assert limits["killed"] and limits["restarted_kernel_runs"]
    assert limits["culling"]["culled"] and limits["culling"]["files_kept"]


def test_recording_keeps_the_newest_run_per_room_size(tmp_path):
    path = tmp_path / "r.json"
    loadtest.record(run={"learners": 5, "x": 1}, path=path)
    loadtest.record(run={"learners": 10, "x": 2}, path=path)
    loadtest.record(run={"learners": 5, "x": 3}, path=path)
    loadtest.record(limits={"killed": True}, path=path)
    data = json.loads(path.read_text())
    assert [(r["learners"], r["x"]) for r in data["runs"]] == [(5, 3), (10, 2)]
    assert data["limits"] == {"killed": True}


def test_the_table_rounds_what_was_recorded():
    data = json.loads(loadtest.RESULTS.read_text())
    run = copy.deepcopy(data["runs"][0])
    run["summary"]["time_to_notebook_s"]["median"] = 12.345
    assert "| 12.3 / " in loadtest.table([run])
