"""The capstone cannot be gamed (issue #17 item 3): its Check refuses changes that do not touch
the service, accepts only what meets both targets *and* removes the hidden cause, notes a change
that meets them around a cause still there, and the notebook keeps the cause and the settings out
of its variables until the Reveal; its default mystery is not chapter 5's incident.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.exercises import lab05
from labkit.scenarios.casestudy.causes import CAUSES

NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / "lab05-capstone.ipynb"


def number_with(key: str) -> int:
    """The first mystery run number whose hidden cause is ``key``."""
    return next(n for n in range(1000) if lab05._cause_key(n) == key)


@pytest.mark.parametrize("name", sorted(lab05.NOT_THE_SERVICE))
def test_a_change_to_the_load_or_the_measurement_is_refused_with_its_reason(name):
    """Even beside the real fix: a verdict must not reward moving the goalposts."""
    number = number_with("few_procs")
    value = {"db_median_ms": 1.0, "db_sigma": 0.1, "bandwidth_mbit_s": 10_000.0}.get(name, 1)
    verdict = lab05.grade_changes(number, {"gomaxprocs": 4, name: value})
    assert not verdict.accepted
    assert verdict.message.startswith("Not a fix of the service")
    assert lab05.NOT_THE_SERVICE[name] in verdict.message


@pytest.mark.parametrize("key", sorted(CAUSES))
def test_the_causes_own_fix_is_accepted_as_removing_it(key):
    verdict = lab05.grade_changes(number_with(key), dict(CAUSES[key].fix))
    assert verdict.accepted and verdict.message.startswith("Accepted: the cause is gone")
    assert verdict.note == ""


@pytest.mark.parametrize("key", sorted(CAUSES))
def test_another_causes_fix_is_never_accepted_as_removing_this_one(key):
    """Each other fix either misses the targets or passes with the note: never 'cause gone'."""
    number = number_with(key)
    for other in CAUSES:
        if other == key:
            continue
        verdict = lab05.grade_changes(number, dict(CAUSES[other].fix))
        assert not verdict.message.startswith("Accepted: the cause is gone"), other
        assert verdict.accepted == bool(verdict.note), other


def test_a_cache_that_rescues_the_service_around_its_cause_is_accepted_with_a_note():
    """GOMAXPROCS=1 stays, yet the cached JSON leaves so little work that both targets are met."""
    verdict = lab05.grade_changes(number_with("few_procs"), {"cache_json": True})
    assert verdict.accepted and verdict.message.startswith("Accepted with a note")
    assert "the cause is still in the service" in verdict.note


def test_a_change_that_misses_the_targets_says_by_how_much():
    verdict = lab05.grade_changes(number_with("few_procs"), {"gogc": 200})
    assert not verdict.accepted and verdict.message.startswith("Misses the targets: p99")
    assert "dashboard" in verdict.message and verdict.observed


@pytest.mark.parametrize("changes", [{}, None, [("gogc", 200)]], ids=["empty", "none", "list"])
def test_no_changes_or_not_a_dict_is_asked_for_again(changes):
    verdict = lab05.grade_changes(number_with("few_procs"), changes)
    assert not verdict.accepted and "as a dict" in verdict.message


def test_removing_a_cause_needs_its_fix_or_its_culprit_moved():
    assert lab05.removes_cause("few_procs", {"gomaxprocs": 2})
    assert lab05.removes_cause("slow_db", {"db_pool": 8})  # the fix
    assert lab05.removes_cause("slow_db", {"db_pool": 4})  # enough connections: moved off 2
    assert not lab05.removes_cause("slow_db", {"db_timeout": True})  # around the cause
    assert not lab05.removes_cause("few_procs", {"gomaxprocs": 1})  # set to what broke it
    assert not lab05.removes_cause("slow_db", {"db_median_ms": 1.0})  # not what the title blames


def test_a_cause_that_must_go_whole_is_not_removed_by_shrinking_it():
    """A 12 ms loop is still a loop without calls in the handler, and a 600 KiB payload still a
    huge one: only the healthy value (no loop, 128 KiB) or beyond removes them."""
    assert not lab05.removes_cause("hot_loop", {"hot_loop_ms": 12.0})
    assert lab05.removes_cause("hot_loop", {"hot_loop_ms": 0.0})
    assert not lab05.removes_cause("huge_payload", {"payload_kb": 600.0})
    assert lab05.removes_cause("huge_payload", {"payload_kb": 128.0})
    assert lab05.removes_cause("huge_payload", {"payload_kb": 64.0})  # past the healthy value
    assert not lab05.removes_cause("huge_payload", {"payload_kb": 2048.0})  # the wrong way


def test_the_real_half_also_needs_a_loop_or_a_huge_payload_gone_whole():
    """The real service's causes follow the model's rule: a 20 ms loop (from 40) or 15,000 rows
    (from 30,000) leave the cause in the service; no loop, or the healthy rows, remove it."""
    from labkit.golab.services.capstone import CAUSES as REAL
    from labkit.golab.services.capstone import HEALTHY as REAL_HEALTHY

    loop, payload = REAL["hot_loop"], REAL["huge_payload"]
    assert not lab05._removes(loop, {"hot_loop_ms": 20.0})
    assert lab05._removes(loop, {"hot_loop_ms": 0.0})
    assert not lab05._removes(payload, {"rows": 15000})
    assert lab05._removes(payload, {"rows": REAL_HEALTHY.rows})
    assert lab05._removes(REAL["slow_db"], {"pool": 4})  # not whole: enough connections


def test_a_timeout_meets_the_slow_databases_targets_only_around_the_cause():
    """The model half now agrees with the real half (whose fix is pool=8): a timeout with a
    fallback meets the targets while two connections still cannot carry the load, so it is
    accepted with a note; eight connections remove the cause."""
    number = number_with("slow_db")
    around = lab05.grade_changes(number, {"db_timeout": True})
    assert around.accepted and around.message.startswith("Accepted with a note")
    assert "cause is still in the service" in around.note
    fixed = lab05.grade_changes(number, {"db_pool": 8})
    assert fixed.accepted and fixed.message.startswith("Accepted: the cause is gone")


def test_the_mystery_shows_evidence_and_keeps_its_cause_to_the_reveal():
    mystery = lab05.Mystery(0)
    public = {name for name in dir(mystery) if not name.startswith("_")}
    assert public == {
        "number", "observed", "diagnosis", "state_view", "scheduler_run", "cpu_profile",
        "goroutine_dump", "gctrace", "try_changes", "reveal",
    }  # fmt: skip
    assert not hasattr(mystery, "__dict__")  # nothing can be stored on it by accident
    key = lab05._cause_key(mystery.number)
    assert CAUSES[key].title not in repr(mystery) + mystery.observed()
    revealed = mystery.reveal()
    assert revealed.cause == CAUSES[key].title and revealed.params.seed == mystery.number
    assert CAUSES[key].culprit[0] in str(revealed)


def _code_before_the_reveal() -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = []
    for cell in cells:
        source = "".join(cell["source"])
        if "REVEAL = " in source:
            break
        if cell["cell_type"] == "code":
            code.append(source)
    return "\n".join(code)


LEAKS = ("lab05._", "mystery_run(", ".params", "CAUSES", ".reveal()")


def leaks(code: str) -> list[str]:
    """What in a notebook's code would put the cause or the settings in a variable."""
    return [leak for leak in LEAKS if leak in code]


def test_the_notebook_keeps_no_cause_or_settings_in_its_variables_before_the_reveal():
    code = _code_before_the_reveal()
    assert "lab05.Mystery(SEED)" in code
    assert leaks(code) == []


def test_the_leak_check_finds_the_labs_old_way_of_holding_the_run():
    old = "_cause, mystery = lab05.mystery_run(number)\nlab = IncidentLab(mystery.params)"
    assert leaks(old) == ["mystery_run(", ".params"]


def test_the_default_mystery_is_not_chapter_5s_incident():
    """Chapter 5 walks through a slow database behind two connections; the capstone's default
    seed must hide something else, or a learner who read the chapter only recognises it."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    setup = "".join(cells[1]["source"])
    seed = int(setup.split("SEED = ")[1].split()[0])
    assert lab05._cause_key(lab05.mystery_number(seed)) != "slow_db"
