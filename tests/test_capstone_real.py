"""Lab 5's real mode (#23 item 5): the hidden cause in the real dashboard, graded on it.

From the recordings shipped in labkit/golab/services/capstone_recorded (no service needed):

* every real cause is causal: the cause misses the targets, its culprit undone alone and its
  own fix alone meet them, and so does the healthy service (the recordings are those runs);
* the graded change follows the model capstone's rules: changes to the load, the database or
  the observation are refused with their reason, the cause's own fix is accepted as removing
  it, another cause's fix never is, a cache that meets the targets around a cause is accepted
  with a note, a change off the recorded menu is not graded, and the targets each reject a run
  that misses them (p99, frame rate, failed requests);
* nothing the notebook can reach names the cause or the settings: a walk over everything a
  RealMystery returns finds no DashboardParams, no flag, no ``config``, and the same walk finds
  them in a raw run;
* the exercises: which_cause's key is the one signature the recorded evidence shows, which_fix's
  options are the cause's fix and changes whose recordings miss the targets.

tests/test_capstone_real_live.py runs the same on the live service.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from labkit.exercises import lab05
from labkit.exercises.seeded import Exercise
from labkit.golab.services import DashboardParams, ServiceParameterError, ServiceRun
from labkit.golab.services import capstone as real

NOTEBOOK = Path(__file__).resolve().parents[1] / "labs" / "lab05-capstone.ipynb"
SEEDS = range(12)


def number_with(key: str) -> int:
    """The first mystery number whose real hidden cause is ``key``."""
    return next(n for n in range(1000) if lab05._real_key(n) == key)


@cache
def recorded(params: DashboardParams) -> ServiceRun:
    return real.recorded_capstone_run(params)


def figures(params: DashboardParams) -> dict[str, float]:
    return real.target_figures(recorded(params))


# ---- the causes are causal, on the recordings ---------------------------------------------------


def test_the_healthy_service_meets_the_targets():
    assert real.meets_targets(figures(real.HEALTHY)), figures(real.HEALTHY)


@pytest.mark.parametrize("key", sorted(real.CAUSES))
def test_each_cause_misses_and_its_culprit_or_its_fix_alone_restores_the_targets(key):
    cause = real.CAUSES[key]
    assert not real.meets_targets(figures(cause.params()))
    assert real.meets_targets(figures(cause.without_culprit()))
    assert real.meets_targets(figures(cause.fixed_params()))


def test_each_real_cause_is_a_model_cause_and_the_left_out_ones_say_why():
    from labkit.scenarios.casestudy.causes import CAUSES as MODEL

    assert set(real.CAUSES) | set(real.LEFT_OUT) == set(MODEL)
    assert not set(real.CAUSES) & set(real.LEFT_OUT)
    for why in real.LEFT_OUT.values():
        assert "measured" in why.lower() and " ms" in why


@pytest.mark.parametrize(
    "change, missed",
    [
        ({"p99_ms": real.TARGET_P99_MS + 1}, "p99"),
        ({"fps": real.TARGET_FPS - 0.1}, "fps"),
        ({"failed": 3.0, "sent": 200.0}, "requests failed"),
        ({"p99_ms": float("nan")}, "p99"),
    ],
)
def test_each_target_rejects_a_run_that_misses_it(change, missed):
    good = figures(real.HEALTHY)
    assert real.meets_targets(good)
    bad = {**good, **change}
    assert not real.meets_targets(bad)
    assert [m for m in real.missed_targets(bad) if missed in m]


def test_the_recordings_are_small_labelled_and_redoable():
    total = 0
    for d in sorted(real.RECORDED_DIR.iterdir()):
        total += sum(f.stat().st_size for f in d.iterdir())
        meta = json.loads((d / "run.json").read_text())["meta"]
        assert meta["recorded_at"] and meta["recorded_on"]
        assert isinstance(meta["load_avg_before"], float)
        assert meta["redo"] == f".venv/bin/python scripts/record_capstone.py record {d.name}"
    assert total < 2 * 2**20


def test_every_menu_change_of_every_cause_was_recorded():
    for key in real.CAUSES:
        for name, params in real.menu_params(key).items():
            assert recorded(params).params == params, (key, name)


# ---- the graded change --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(lab05.NOT_THE_REAL_SERVICE))
def test_a_change_to_the_load_the_database_or_the_run_is_refused_with_its_reason(name):
    key = "hot_loop"
    value = {"rate": 10.0, "db": "sqlite", "arrivals": "constant", "slow": "work"}.get(name, 1)
    fix = dict(real.CAUSES[key].fix)
    verdict = lab05.grade_real_changes(number_with(key), {**fix, name: value})
    assert not verdict.accepted
    assert verdict.message.startswith("Not a fix of the service")
    assert lab05.NOT_THE_REAL_SERVICE[name] in verdict.message


@pytest.mark.parametrize("key", sorted(real.CAUSES))
def test_the_causes_own_fix_is_accepted_as_removing_it(key):
    verdict = lab05.grade_real_changes(number_with(key), dict(real.CAUSES[key].fix))
    assert verdict.accepted and verdict.message.startswith("Accepted: the cause is gone")
    assert verdict.note == "" and "(recorded run)" in verdict.observed


@pytest.mark.parametrize("key", sorted(real.CAUSES))
def test_no_other_menu_change_is_accepted_as_removing_the_cause_unless_it_moves_the_culprit(key):
    cause = real.CAUSES[key]
    for name, change in real.MENU.items():
        verdict = lab05.grade_real_changes(number_with(key), change)
        gone = verdict.message.startswith("Accepted: the cause is gone")
        assert gone == (verdict.accepted and lab05._removes(cause, change)), (key, name)
        assert verdict.accepted == real.meets_targets(figures(cause.params().replace(**change)))
        if verdict.accepted and not gone:
            assert "the cause is still in the service" in verdict.note


def test_a_cache_that_rescues_a_slow_database_is_accepted_with_a_note():
    verdict = lab05.grade_real_changes(number_with("slow_db"), {"cache_json": True})
    assert verdict.accepted and verdict.message.startswith("Accepted with a note")
    assert "the cause is still in the service" in verdict.note


def test_a_change_that_misses_the_targets_says_by_how_much():
    verdict = lab05.grade_real_changes(number_with("hot_loop"), {"gogc": 400})
    assert not verdict.accepted and verdict.message.startswith("Misses the targets: p99")
    assert "ms (target <= 200)" in verdict.message and verdict.observed


def test_a_change_that_was_not_recorded_is_not_graded_in_recorded_mode():
    verdict = lab05.grade_real_changes(number_with("hot_loop"), {"hot_loop_ms": 5.0})
    assert not verdict.accepted and verdict.message.startswith("Recorded mode grades only")
    assert "LIVE = True" in verdict.message


@pytest.mark.parametrize("changes", [{}, None, [("gogc", 200)]], ids=["empty", "none", "list"])
def test_no_changes_or_not_a_dict_is_asked_for_again(changes):
    verdict = lab05.grade_real_changes(number_with("hot_loop"), changes)
    assert not verdict.accepted and "as a dict" in verdict.message


def test_an_unknown_setting_is_named_and_a_wrong_value_raises():
    verdict = lab05.grade_real_changes(number_with("hot_loop"), {"db_pool": 8})
    assert not verdict.accepted and "no setting 'db_pool'" in verdict.message
    assert "pool" in verdict.message
    with pytest.raises(ServiceParameterError, match="pool"):
        lab05.grade_real_changes(number_with("hot_loop"), {"pool": 0})


# ---- nothing in the notebook's reach names the cause --------------------------------------------

FLAG_TEXT = ("-pool=", "-rows=", "-hot-loop-ms", "-db-median-ms", "GOMAXPROCS=", "hot_loop_ms")


def leaks(obj: object, limit: int = 200_000) -> list[str]:
    """What reachable from ``obj`` names the service's settings: a DashboardParams, a string
    with a flag or a settings name, a mapping with a ``config`` or ``params`` key."""
    found: list[str] = []
    seen: set[int] = set()
    todo = [obj]
    while todo and len(seen) < limit:
        x = todo.pop()
        if id(x) in seen or isinstance(x, int | float | bool | type(None) | np.ndarray):
            continue
        seen.add(id(x))
        if isinstance(x, DashboardParams):
            found.append(f"DashboardParams {x}")
        elif isinstance(x, str | bytes):
            text = x if isinstance(x, str) else x.decode("latin-1")
            found += [f"{flag!r} in text" for flag in FLAG_TEXT if flag in text]
        elif isinstance(x, dict):
            found += [f"{k!r} key" for k in ("config", "params", "commands") if k in x]
            todo += list(x.keys()) + list(x.values())
        elif isinstance(x, list | tuple | set | frozenset):
            todo += list(x)
        elif dataclasses.is_dataclass(x):
            todo += [getattr(x, f.name) for f in dataclasses.fields(x)]
        else:
            todo += list(getattr(x, "__dict__", {}).values())
            for cls in type(x).__mro__:
                todo += [getattr(x, s) for s in getattr(cls, "__slots__", ()) if hasattr(x, s)]
    return found


def everything(mystery: lab05.RealMystery) -> list[object]:
    """What each public method of a RealMystery returns, and its repr."""
    return [
        mystery, repr(mystery), mystery.where(), mystery.summary(), repr(mystery.layers()),
        mystery.layers(), mystery.cpu_profile(), mystery.goroutine_profile(),
        mystery.goroutine_dump(), mystery.block_profile(), mystery.mutex_profile(),
        mystery.trace(), mystery.runtime_metrics(), mystery.prometheus(), mystery.fps_states(),
    ]  # fmt: skip


@pytest.mark.parametrize("key", sorted(real.CAUSES))
def test_the_real_mystery_gives_evidence_and_no_settings(key):
    seed = next(s for s in range(1000) if lab05._real_key(lab05.mystery_number(s)) == key)
    mystery = lab05.RealMystery(seed)
    public = {name for name in dir(mystery) if not name.startswith("_")}
    assert public == {
        "number", "live", "where", "summary", "layers", "cpu_profile", "goroutine_profile",
        "goroutine_dump", "block_profile", "mutex_profile", "trace", "diagnose",
        "runtime_metrics", "prometheus", "fps_states", "try_changes", "reveal",
    }  # fmt: skip
    assert not hasattr(mystery, "__dict__")
    assert leaks(everything(mystery)) == []
    assert real.CAUSES[key].title not in repr(mystery) + mystery.summary()
    revealed = mystery.reveal()
    assert revealed.cause == real.CAUSES[key].title
    assert real.CAUSES[key].culprit[0] in str(revealed)


def test_the_leak_walk_finds_the_settings_in_a_raw_run():
    run = recorded(real.CAUSES["hot_loop"].params())
    found = leaks(run)
    assert any(f.startswith("DashboardParams") for f in found)
    assert "'config' key" in found and "'commands' key" in found
    assert leaks(run.meta["commands"]) and "'config' key" in leaks(run.stats_after)


REAL_LEAKS = ("lab05._", "capstone", ".params", "CAUSES", ".reveal()", ".meta", "_run(")


def _real_section_code() -> str:
    """The code of the real-mode cells up to its Reveal."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code, inside = [], False
    for cell in cells:
        source = "".join(cell["source"])
        inside = inside or "lab05.RealMystery(" in source
        if "REAL_REVEAL = " in source:
            break
        if inside and cell["cell_type"] == "code":
            code.append(source)
    return "\n".join(code)


def test_the_notebooks_real_section_keeps_the_cause_out_of_its_variables():
    code = _real_section_code()
    assert "lab05.RealMystery(SEED, live=LIVE" in code
    assert [leak for leak in REAL_LEAKS if leak in code] == []


def test_the_notebook_uses_the_recordings_unless_told_to_run_live():
    code = _real_section_code()
    assert "LIVE = False" in code


def test_the_code_check_finds_a_leak():
    assert [leak for leak in REAL_LEAKS if leak in "run = lab05._real_run(p)\nrun.meta"] == [
        "lab05._", ".meta", "_run(",
    ]  # fmt: skip


# ---- the exercises -------------------------------------------------------------------------------


def signatures(run: ServiceRun, healthy: ServiceRun) -> dict[str, bool]:
    """Each real cause's giveaway, read from the recorded evidence (no parameter of the run):
    handlers waiting for a connection while the CPU is as idle as the healthy service's; GC
    cycles several times the healthy rate; the CPU in main.downsample *under the handler* (the
    render loop calls the same function for its frames, so the healthy profile is topped by it
    too: who calls it is the evidence)."""
    f, h = real.target_figures(run), real.target_figures(healthy)
    in_pool = sum(
        n for stack, n in run.goroutines[0].stacks().items() if "database/sql.(*DB).conn" in stack
    )
    cpu = run.cpu
    in_handler = sum(
        v
        for stack, v in cpu.stacks().items()
        if "main.downsample" in stack and "main.(*server).serve" in stack
    )
    return {
        "slow_db": in_pool >= 5 and cpu.total() < 2 * healthy.cpu.total(),
        "huge_payload": f["gc_per_s"] > 3 * h["gc_per_s"],
        "hot_loop": in_handler > cpu.total() / 2,
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_real_which_cause_key_is_the_one_signature_the_recording_shows(seed):
    v = Exercise(lab05.real_which_cause, seed=seed).variant
    number = v.params["number"]
    run = recorded(real.CAUSES[lab05._real_key(number)].params())
    shown = [k for k, hit in signatures(run, recorded(real.HEALTHY)).items() if hit]
    assert shown == [list(real.CAUSES)[int(v.answer)]]
    for i in range(len(v.choices)):
        assert Exercise(lab05.real_which_cause, seed=seed).check(i) == (i == v.answer)


def test_the_signatures_tell_the_healthy_service_from_every_cause():
    healthy = recorded(real.HEALTHY)
    assert not any(signatures(healthy, healthy).values())


@pytest.mark.parametrize("seed", SEEDS)
def test_real_which_fix_offers_the_fix_and_changes_that_miss_the_targets(seed):
    ex = Exercise(lab05.real_which_fix, seed=seed)
    v = ex.variant
    key = lab05._real_key(v.params["number"])
    base = real.CAUSES[key].params()
    for i, name in enumerate(v.params["options"]):
        meets = real.meets_targets(figures(base.replace(**real.MENU[name])))
        assert meets == (i == v.answer), name
        assert ex.check(i) == (i == v.answer)
        if i != v.answer:
            assert "target" in v.hints[i]
    assert len(v.choices) >= 3


# ---- live, when it cannot be ------------------------------------------------------------------


def test_live_on_a_hub_that_asks_for_recordings_shows_the_recording(monkeypatch):
    monkeypatch.setenv("LABKIT_SERVICES", "recorded")
    monkeypatch.setattr(lab05, "_REAL_LIVE", {})
    mystery = lab05.RealMystery(0, live=True)
    assert lab05._REAL_LIVE["mystery", mystery.number].source == "recorded"
    assert mystery.where().startswith("recorded on ")
    key = lab05._real_key(mystery.number)
    verdict = mystery.try_changes(dict(real.CAUSES[key].fix))
    assert verdict.accepted and "(recorded run)" in verdict.observed


def test_live_without_the_packages_falls_back_to_the_recording_with_a_note(monkeypatch):
    from labkit.golab.errors import GolabWarning
    from labkit.golab.services import ServicesMissingError

    def missing(*args, **kwargs):
        raise ServicesMissingError("no prometheus")

    monkeypatch.delenv("LABKIT_SERVICES", raising=False)
    monkeypatch.setattr(lab05, "run_service", missing)
    monkeypatch.setattr(lab05, "_REAL_LIVE", {})
    with pytest.warns(GolabWarning, match="no prometheus"):
        mystery = lab05.RealMystery(0, live=True)
        assert leaks(everything(mystery)) == []  # the healthy run falls back too
    assert "live run not possible (no prometheus)" in mystery.where()


def test_live_must_be_a_bool():
    from labkit.errors import ParameterError

    with pytest.raises(ParameterError, match="live must be True or False"):
        lab05.RealMystery(0, live="yes")  # type: ignore[arg-type]
