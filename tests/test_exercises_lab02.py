"""Lab 2's answer keys, each checked against a derivation that does not use the code that made it.

The closed forms come from src/runtime (go1.27.3) and the course's recorded real Go runs
(labkit/golab/recorded/*.json); the keys come from the scheduler model. Where both exist, they
must agree for seeds 0-19.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from labkit.exercises import lab02
from labkit.exercises.seeded import Exercise
from labkit.golab import run_experiment

SEEDS = range(20)
RECORDED = Path(lab02.__file__).resolve().parents[1] / "golab" / "recorded"

#: src/runtime/runtime2.go:807 (runq [256]guintptr) and runqputslow (proc.go:7575): a batch is
#: n/2 of the full queue plus the goroutine being pushed.
LOCAL_SLOTS = 256
BATCH = LOCAL_SLOTS // 2 + 1


@cache
def ex(make, seed: int) -> Exercise:
    return Exercise(make, seed=seed)


def global_queue_by_hand(n: int) -> int:
    """runnext holds one goroutine and the local queue 256, so spawn 258 is the first to
    overflow; each overflow leaves 128 queued, so the next comes 129 spawns later and moves 129.
    In closed form: 129 x max(0, n // 129 - 1)."""
    return BATCH * max(0, n // BATCH - 1)


def test_the_global_queue_closed_form_by_hand():
    # Worked by hand: 257 spawns fit (runnext + 256); 258 overflows once; 386 still once;
    # 387 twice (128 queued after the first overflow + 128 more fill it, the 129th overflows).
    assert [global_queue_by_hand(n) for n in (257, 258, 386, 387, 515, 516)] == [
        0,
        129,
        129,
        258,
        258,
        387,
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_global_queue_key_is_the_closed_form(seed):
    v = ex(lab02.global_queue_after_burst, seed).variant
    assert v.answer == global_queue_by_hand(v.params["n"])
    assert v.abs_tol < 1, "an exact count: 128 per overflow must not pass"


@pytest.mark.parametrize("seed", SEEDS)
def test_global_queue_counts_stay_clear_of_real_gos_own_goroutines(seed):
    """Real Go 1.25+ starts main with one or two goroutines of its own queued
    (updateMaxProcsGoroutine, proc.go:7134; runFinalizers, mfinal.go:172), which the model does
    not have: the count drawn gives the same key with each overflow up to two spawns earlier
    (257 and 514, drawn before, did not: one or two goroutines more give 129 instead of 0, and
    387 instead of 258)."""
    n = ex(lab02.global_queue_after_burst, seed).variant.params["n"]
    assert {global_queue_by_hand(n + extra) for extra in (0, 1, 2)} == {global_queue_by_hand(n)}


def test_global_queue_worked_answer_says_every_129_spawns():
    for seed in SEEDS:
        solution = ex(lab02.global_queue_after_burst, seed).variant.solution
        assert "every 129 more spawns" in solution and "every 128" not in solution


@pytest.mark.parametrize("seed", SEEDS)
def test_syscall_threads_key_is_syscalls_plus_the_p_holder_plus_sysmon(seed):
    """Each blocked call holds its M (entersyscall, proc.go:4776), one M holds the P
    (handoffp, proc.go:3146), sysmon has its own (newm(sysmon, nil), proc.go): n + 2."""
    v = ex(lab02.syscall_threads, seed).variant
    assert v.params["gomaxprocs"] == 1
    assert v.answer == v.params["syscalls"] + 2
    assert v.params["network"] >= 1, "a network wait must be there to be miscounted"


def test_syscall_threads_closed_form_agrees_with_real_go():
    """labkit/golab/recorded/syscall_threads.json: 9 blocking calls on GOMAXPROCS=1 gave 11
    threads in every run; on GOMAXPROCS=2 real Go starts one more (12), which is why the
    exercise asks on one P only."""
    path = RECORDED / "syscall_threads.json"
    if not path.is_file():
        pytest.skip("the syscall_threads recording is not in this checkout")
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
    one_p = [r["result"] for r in runs if r["params"]["gomaxprocs"] == 1]
    two_p = [r["result"] for r in runs if r["params"]["gomaxprocs"] == 2]
    assert one_p and two_p
    for r in one_p:
        assert set(r["threads_peak_runs"]) == {r["syscalls"] + 2}
    for r in two_p:
        assert max(r["threads_peak_runs"]) == r["syscalls"] + 3


def test_the_preemption_band_comes_from_the_runtime_and_the_recording():
    early, late = lab02.real_preemption_band_ms()
    real = run_experiment("preempt", source="recorded", async_preempt=True)
    assert early == 10.0  # forcePreemptNS, src/runtime/proc.go:6679
    assert min(real["resume_ms_runs"]) >= early
    assert max(real["resume_ms_runs"]) <= late
    # sysmon's check can come its longest sleep (10 ms, proc.go:6554-6555) after the 10 ms are
    # reached, and its nanosleep the kernel's slack (TIMER_SLACK_MS) later
    assert late == 20.5


@pytest.mark.parametrize("seed", SEEDS)
def test_finish_behind_loop_key_by_the_rules(seed):
    """Go <= 1.13: the loop's end + req's work (the loop makes no call, so nothing stops it).
    Go >= 1.14: any preemption 10-20.5 ms into the loop + the work is right, the chapter's
    "10 ms + work" included, and the model's own time lies in that band."""
    v = ex(lab02.finish_behind_loop, seed).variant
    p = v.params
    if not p["async_preempt"]:
        assert v.answer == pytest.approx(p["loop_ms"] + p["work_ms"], abs=0.01)
        assert not v.also
        return
    early, late = lab02.real_preemption_band_ms()
    (band,) = v.also
    assert (band.lo, band.hi) == (early + p["work_ms"], late + p["work_ms"])
    assert band.lo <= v.answer <= band.hi
    assert ex(lab02.finish_behind_loop, seed).check(10 + p["work_ms"])
    assert ex(lab02.finish_behind_loop, seed).check(20 + p["work_ms"])  # sysmon's longest sleep
    # the moments req can start in the model and at forcePreemptNS are not finish times
    assert v.answer - p["work_ms"] < band.lo and not ex(lab02.finish_behind_loop, seed).check(10)


@pytest.mark.parametrize("seed", SEEDS)
def test_spawn_order_key_is_runnext_then_fifo(seed):
    """runqput(pp, newg, next=true) (proc.go:7529): the last goroutine started sits in runnext
    and runs first; the others were kicked to the local queue in order."""
    v = ex(lab02.spawn_order, seed).variant
    n = v.params["n"]
    assert v.choices[v.answer] == ", ".join(f"g{i}" for i in [n, *range(1, n)])


def test_spawn_order_rule_is_what_real_go_does():
    real = run_experiment("spawn_order", source="recorded")
    n = len(real["order"])
    assert real["order"] == [n, *range(1, n)]
    assert all(run == real["order"] for run in real["order_runs"])


@pytest.mark.parametrize("seed", SEEDS)
def test_smallest_gomaxprocs_key_is_whole_requests_per_p(seed):
    """Idle Ps steal half a busy P's queue (runqsteal), so each of g Ps runs ceil(R / g)
    requests back to back: the makespan is ceil(R / g) x work (plus microseconds of spawning
    and stealing)."""
    v = ex(lab02.smallest_gomaxprocs, seed).variant
    p = v.params
    fits = [g for g in range(1, 9) if math.ceil(p["requests"] / g) * p["work_ms"] <= p["target_ms"]]
    assert v.answer == min(fits)


#: The yield exercise by the runtime's rules (GOMAXPROCS=1, a 0.5 ms loop body):
#: none: only an async signal stops a loop without calls (Go >= 1.14), else it runs to its end;
#: sleep0: timeSleep returns at once (time.go), but the call's stack check honours sysmon's
#: request on either version; gosched: goschedImpl puts the loop on the global queue, req runs
#: at once; sleep1ns: the expired timer readies the loop into runnext, it keeps its time slice
#: until sysmon preempts it (the Sleep call's stack check honours the request on either version).
YIELD_RULES = {
    ("none", True): 1,
    ("none", False): 2,
    ("sleep0", True): 1,
    ("sleep0", False): 1,
    ("gosched", True): 0,
    ("gosched", False): 0,
    ("sleep1ns", True): 1,
    ("sleep1ns", False): 1,
}


@pytest.mark.parametrize("seed", SEEDS)
def test_which_yield_key_by_the_rules(seed):
    v = ex(lab02.which_yield, seed).variant
    assert v.answer == YIELD_RULES[(v.params["mode"], v.params["async_preempt"])]


#: Longer than any stretch sysmon lets a goroutine run with async preemption on:
#: forcePreemptNS (10 ms) + sysmon's longest sleep (10 ms, proc.go:6554) + slack.
UNPREEMPTED_MS = 30.0


def blind_spot_signatures(run) -> set[str]:
    """Which blind spots a mystery run shows, read from its raw records (per-M segments,
    per-P segments, run queues, marks), not from the metrics the question prints."""
    r = run.result
    kinds = set(r.thread_segments["kind"].astype(str))
    seg = r.segments
    on_hog = np.char.find(seg["stack"].astype(str), "main.spin") >= 0
    hogs = set(seg["g"][on_hog])
    longest_hog = float((seg["end_ms"] - seg["start_ms"])[on_hog].max()) if on_hog.any() else 0.0
    procs = r.params.gomaxprocs
    found = set()
    if "locked_wait" in kinds:  # a locked M waiting for its goroutine's P
        found.add("2.1")
    if "syscall" in kinds:  # Ms blocked in system calls
        found.add("2.2")
    if longest_hog > UNPREEMPTED_MS:  # a loop nobody stopped
        found.add("2.3")
    queued = int(r.runq["local"].max())
    if procs == 1 and not hogs and not kinds & {"syscall", "locked_wait"} and queued >= 100:
        found.add("2.4")  # a burst queued on the only P
    if r.marks and len(hogs) >= procs:  # timers due while every P runs a hog
        found.add("2.5")
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_which_blind_spot_run_shows_exactly_its_own_signature(seed):
    v = ex(lab02.which_blind_spot, seed).variant
    _, run = lab02._mystery_run(v.params["number"])
    key = v.choices[v.answer].split()[0]
    assert blind_spot_signatures(run) == {key}


@pytest.mark.parametrize(
    ("make", "view"),
    [
        (lab02.spawn_order, "SchedulerTimeline"),
        (lab02.finish_behind_loop, "SchedulerTimeline"),
        (lab02.which_yield, "SchedulerTimeline"),
        (lab02.global_queue_after_burst, "RunQueuePlot"),
        (lab02.syscall_threads, "GoroutineStatePlot"),
    ],
)
def test_sections_1_to_5_are_predictions_whose_run_appears_after_check(make, view):
    """Predict first (issue #17): no run of the question's program is on screen until the
    learner checks an answer; then the model's run of that very program is drawn."""
    ex = Exercise(make, seed=3)
    shown = ex.widget()
    assert ex.variant.predict and shown.figure is None
    shown.answer(0 if ex.variant.is_choice else 1)
    assert type(shown.figure).__name__ == view
    assert shown.figure._result is not None and shown.figure.summary()


# ---- the mystery run is hidden ------------------------------------------------------------------

NOTEBOOK = Path(lab02.__file__).resolve().parents[2] / "labs" / "lab02-scheduler-lab.ipynb"


def test_the_mystery_keeps_only_its_number():
    """Lab 2's mystery, like lab 5's: the notebook holds a Mystery, whose public names give the
    run's number and its record for the widgets, never its preset or settings."""
    mystery = lab02.Mystery(0)
    assert not hasattr(lab02, "mystery_run")
    assert mystery.__slots__ == ("number",) and not hasattr(mystery, "__dict__")
    assert "hidden" in repr(mystery)
    key, run = lab02._mystery_run(mystery.number)
    assert key not in repr(mystery) and PRESETS_TITLE(key) not in repr(mystery)
    assert mystery.scheduler_run() is not None
    assert mystery.reveal().startswith(f"mystery run #{mystery.number} is {key} ")


def PRESETS_TITLE(key: str) -> str:
    from labkit.scenarios.blindspots import PRESETS

    return PRESETS[key].title


LEAKS = ("_mystery_run", "mystery_run(", ".params", "PRESETS", ".reveal()")


def leaks(code: str) -> list[str]:
    """What in the notebook's code would put the mystery run's preset or settings in a name."""
    return [leak for leak in LEAKS if leak in code]


def test_the_notebook_keeps_no_preset_or_settings_in_its_variables():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "Mystery(mystery.seed)" in code
    assert leaks(code) == []


def test_the_leak_check_finds_the_labs_old_way_of_drawing_the_mystery():
    old = "result = mystery_run(number)[1].result"
    assert leaks(old) == ["mystery_run("]


def test_a_bad_mystery_number_is_refused_with_a_labkit_error():
    from labkit.errors import LabkitError

    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(LabkitError, match="number must be an int"):
            lab02._mystery_run(bad)


# ---- the stall in Go's own execution trace -------------------------------------------------------


def _real(case):
    from labkit.golab.twins import run_twin

    return run_twin(case.twin, source="recorded", **case.settings)


@pytest.mark.parametrize("seed", range(len(lab02.TRACE_CASES)))
def test_trace_key_is_read_from_the_recording(seed):
    """The key is the recording's own value, recomputed here from its raw data: late frames
    from what the program printed, preemptions and threads from the trace's transitions and
    per-M stretches."""
    case = lab02.trace_case(seed)
    v = ex(lab02.stall_in_real_trace, seed).variant
    real = _real(case)
    tr = real.trace
    if case.measure is lab02.late_frames:
        expected = sum(1 for x in real.output["late_ms"] if x > 1.0)
    elif case.measure is lab02.trace_preemptions:
        t = tr.transitions
        expected = int(np.sum((t["from"] == "running") & (t["reason"] == "preempted")))
    else:
        expected = len(np.unique(tr.thread_segments["m"]))
    assert v.answer == expected
    assert v.predict and v.figure is not None


def test_trace_cases_show_the_stall_against_its_fix():
    """The stall and its fix differ in the recordings the way the blind spot says: frames late
    only beside two hogs, preemptions only with the signal, threads only for blocking calls."""
    values = {(c.twin, *c.settings.values()): c.measure(_real(c)) for c in lab02.TRACE_CASES}
    assert values[("timer_stall", 2)] >= 5 > values[("timer_stall", 1)]
    assert values[("long_loop", 1)] >= 8 > 2 >= values[("long_loop", 0)]
    assert values[("blocking_calls", 1)] >= 10 > values[("blocking_calls", 0)]


def test_a_new_trace_variant_never_shows_the_case_just_shown():
    cases = [lab02.trace_case(s) for s in range(30)]
    assert all(a != b for a, b in zip(cases, cases[1:], strict=False))
    assert {(c.twin, *c.settings.values()) for c in cases[:6]} == {
        (c.twin, *c.settings.values()) for c in lab02.TRACE_CASES
    }


#: The wrong predictions each case is about: the fix's behaviour for the stall and back.
WRONG = {
    ("timer_stall", 2): [0, 30],  # timers fire on time; every frame late
    ("timer_stall", 1): [10, 30],  # one hog delays the timers as two do
    ("long_loop", 0): [10, 20, 200],  # sysmon's request stops the loop anyway; once per ms
    ("long_loop", 1): [0, 1, 40, 200],  # no preemption; one per request; one per ms
    ("blocking_calls", 1): [2, 3, 120],  # threads = GOMAXPROCS (+ sysmon); one per request
    ("blocking_calls", 0): [26, 96],  # network waits hold threads too
}


@pytest.mark.parametrize("seed", range(len(lab02.TRACE_CASES)))
def test_trace_question_rejects_the_wrong_predictions_with_the_mechanism(seed):
    exercise = Exercise(lab02.stall_in_real_trace, seed=seed)
    case = lab02.trace_case(seed)
    for wrong in WRONG[(case.twin, *case.settings.values())]:
        assert not exercise.check(wrong), (case.twin, case.settings, wrong)
        said = exercise.feedback(wrong)
        assert "Not quite" in said and any(
            f in said for f in ("timers).check", "retake", "entersyscall")
        )
    assert exercise.check(exercise.variant.answer)


def test_two_hogs_accept_what_the_worked_answers_slice_gives():
    """Each frame wakes a time slice late (10-17.5 ms, real Go's recorded band): over 200 ms of
    hogs that is 200 / (4.5 + 17.5) = 9 to 200 / (4.5 + 10) = 14 frames, all accepted; 30
    (every frame) and 0 are not."""
    seed = next(i for i, c in enumerate(lab02.TRACE_CASES) if c.settings == {"hogs": 2})
    exercise = Exercise(lab02.stall_in_real_trace, seed=seed)
    assert all(exercise.check(n) for n in range(9, 15))
    assert not exercise.check(30) and not exercise.check(0) and not exercise.check(16)


def test_a_wrong_recording_changes_the_key():
    """The key follows the recording: with another twin's output the answer is another."""
    from dataclasses import replace

    case = lab02.TRACE_CASES[0]
    real = _real(case)
    fewer = replace(real, output={**real.output, "late_ms": [0.1] * 30})
    assert case.measure(real) >= 5 and case.measure(fewer) == 0


def test_trace_question_draws_the_model_beside_real_go_after_check():
    ex8 = Exercise(lab02.stall_in_real_trace, seed=0)
    shown = ex8.widget()
    assert shown.figure is None
    shown.answer(0)
    assert type(shown.figure).__name__ == "TimelinePair"
    assert "You predicted" in shown._truth.value


def test_lab2_has_eight_exercises_at_least_half_predictions():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    calls = [
        "".join(c["source"]).split("Exercise(")[1].split(",")[0]
        for c in cells
        if c["cell_type"] == "code"
        and "Exercise(" in "".join(c["source"])
        and "import" not in "".join(c["source"])
    ]
    assert len(calls) >= 8
    predictions = [f for f in calls if Exercise(getattr(lab02, f), seed=0).variant.predict]
    assert 2 * len(predictions) >= len(calls), (calls, predictions)
