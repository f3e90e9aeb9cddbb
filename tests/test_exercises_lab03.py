"""Lab 3's answer keys against the profiles' own stacks: the cause a key names must be the one
whose giveaway frames hold the most of the profile's value, read from the raw stacks, for the
recorded real Go profiles (CPU, goroutine and a trace's scheduler-latency profile) and for the
model's, seeds 0-19. And the lab's questions show a flame graph and give nothing away: no frame
names in the question, a new variant never the case just shown, nine real cases."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from labkit.exercises import lab03
from labkit.exercises.seeded import Exercise

SEEDS = range(20)


PARKED_ON_A_CHANNEL = ("runtime.chansend1", "runtime.chanrecv1", "runtime.chanrecv2")


def _giveaway(cause: str, stack: tuple[str, ...], callers: frozenset[str] = frozenset()) -> bool:
    """Whether one sampled stack shows ``cause``: a syscall leaf; a sync.Mutex slow path or a
    semaphore wait anywhere on it; the allocator or the GC's workers anywhere on it; a parked
    channel operation (counted only in goroutine profiles, see cause_from_stacks); or a leaf of
    the program's own that calls nothing (not in ``callers``) and is not the frame's drawing
    (main.renderFrame is the work itself)."""
    if not stack:
        return False
    leaf = stack[-1]
    if cause == "goroutine leak":
        return any(f in PARKED_ON_A_CHANNEL for f in stack)
    if cause == "waiting for a P":
        return False  # not a frame: the kind of profile (cause_from_stacks)
    if cause == "syscall storm":
        return "Syscall" in leaf or leaf.startswith("syscall.")
    if cause == "lock contention":
        return any("Mutex" in f or "semacquire" in f for f in stack)
    if cause == "allocation / GC":
        return any(
            k in f
            for f in stack
            for k in ("mallocgc", "gcBgMarkWorker", "gcAssistAlloc", "memclrNoHeapPointers")
        )
    return leaf.startswith("main.") and leaf != "main.renderFrame" and leaf not in callers


def _callers(profile) -> frozenset[str]:
    """Every function that has a callee in some sampled stack."""
    return frozenset(f for stack in profile.stacks() for f in stack[:-1])


def cause_from_stacks(profile) -> str:
    """The cause whose giveaways hold most of the profile. A scheduler-latency profile made
    from a trace is all time spent waiting for a P, whatever its stacks; a channel wait only
    counts in a goroutine profile (a CPU profile's stacks are running, not parked)."""
    if "-pprof=sched" in profile.source:
        return "waiting for a P"
    goroutines = profile.sample_types[0][0] == "goroutine"
    callers = _callers(profile)
    shares = {
        cause: sum(n for stack, n in profile.stacks().items() if _giveaway(cause, stack, callers))
        for cause in lab03.CAUSES
        if cause != "goroutine leak" or goroutines
    }
    return max(shares, key=shares.get)


@pytest.mark.parametrize("scenario", list(lab03.RECORDED))
def test_each_recorded_profile_shows_its_own_cause(scenario):
    profile = lab03.recorded_profile(scenario)
    info = json.loads((lab03.PROFILE_DIR / "lab03-profiles.json").read_text(encoding="utf-8"))
    assert info["profiles"][scenario]["cause"] == lab03.RECORDED[scenario]
    assert cause_from_stacks(profile) == lab03.RECORDED[scenario]


@pytest.mark.parametrize("seed", SEEDS)
def test_recorded_cause_key_is_the_profiles_signature(seed):
    v = Exercise(lab03.recorded_cause, seed=seed).variant
    profile = lab03.recorded_profile(v.params["scenario"])
    assert v.choices[v.answer] == cause_from_stacks(profile)


@pytest.mark.parametrize("seed", SEEDS)
def test_model_cause_key_is_the_profiles_signature(seed):
    v = Exercise(lab03.model_cause, seed=seed).variant
    profile = lab03.model_profile(v.params["cause"], v.params["seed"]).profile
    assert v.choices[v.answer] == cause_from_stacks(profile)


@pytest.mark.parametrize("seed", SEEDS)
def test_diff_fix_key_is_the_signature_of_what_the_fix_removed(seed):
    """The samples the fix removed (before minus after, per stack) show the cured cause."""
    v = Exercise(lab03.diff_fix, seed=seed).variant
    before, after = lab03.diff_case(seed)
    callers = _callers(before)
    removed = {
        cause: sum(
            max(0, n - after.stacks("samples").get(stack, 0))
            for stack, n in before.stacks("samples").items()
            if _giveaway(cause, stack, callers)
        )
        for cause in lab03.CAUSES
    }
    assert v.choices[v.answer] == max(removed, key=removed.get)


def test_the_alloc_recording_shows_runtime_locks_that_are_not_a_mutex():
    """runtime.lock2 / unlock2 in the allocation profile are the scheduler's and the
    sweeper's locks, not sync.Mutex: a learner who reads them as lock contention is wrong, and
    the cause text no longer calls them page-allocator locks."""
    top = [fn for fn, _, _ in lab03.recorded_profile("alloc").top(6)]
    assert "runtime.unlock2" in top and not any("Mutex" in fn for fn in top)
    assert "page-allocator" not in lab03.CAUSES["allocation / GC"]


# ---------------------------------------------------------------- questions that teach


def test_ten_real_cases_of_four_kinds_of_evidence():
    """Two kinds of trace profile, two causes among them: the kind of evidence never names the
    cause by itself (goroutine profiles hide two causes too)."""
    kinds = {lab03.evidence_of(s) for s in lab03.RECORDED}
    assert len(lab03.RECORDED) >= 8 and kinds == {"cpu", "goroutine", "sched", "sync"}
    for kind in ("goroutine",):
        causes = {c for s, c in lab03.RECORDED.items() if lab03.evidence_of(s) == kind}
        assert len(causes) == 2, kind
    assert set(lab03.RECORDED.values()) == set(lab03.CAUSES)  # every cause has a real case


@pytest.mark.parametrize("scenario", ["sched", "syncwait"])
def test_a_trace_case_is_what_go_tool_trace_makes_of_the_recording(scenario):
    """go tool trace -pprof=KIND on the recorded trace, read back at recording time
    (lab03-profiles.json), and labkit.traces's own profile of it: the same rows."""
    info = lab03.recorded_info()["profiles"][scenario]
    ours = lab03.recorded_profile(scenario).top(None, "delay")
    assert [list(row) for row in ours] == info["go_pprof_top"]


def test_a_new_variant_never_shows_the_case_just_shown():
    cases = [Exercise(lab03.recorded_cause, seed=s).variant.params["scenario"] for s in range(60)]
    assert all(a != b for a, b in zip(cases, cases[1:], strict=False))
    assert set(cases[:10]) == set(lab03.RECORDED)  # ten presses show every case


def test_pressing_new_variant_in_the_widget_draws_the_next_cases_graph():
    from labkit.widgets import FlameGraph

    view = Exercise(lab03.recorded_cause, seed=0).widget()
    first = view.figure
    view.press_new_variant()
    assert isinstance(view.figure, FlameGraph) and view.figure is not first
    assert view.figure.summary() != first.summary()


def gives_away(question: str) -> list[str]:
    """Function names a question prints: with them, naming the cause is keyword matching."""
    pattern = r"\b(?:main|runtime|sync|syscall|internal/[\w/]+|log/slog|log)\.[\w(*).]+"
    return re.findall(pattern, question)


@pytest.mark.parametrize("make", [lab03.recorded_cause, lab03.model_cause, lab03.diff_fix])
@pytest.mark.parametrize("seed", range(10))
def test_a_question_shows_a_flame_graph_and_names_no_frame(make, seed):
    from labkit.widgets import FlameGraph

    v = Exercise(make, seed=seed).variant
    assert gives_away(v.question) == []
    assert isinstance(v.figure(), FlameGraph)


def test_the_give_away_check_finds_a_top_table_in_a_question():
    """The lab's old questions printed the profile's top functions; the check names them."""
    old = "Here is the top of its CPU profile:\n\n" + lab03.top_text(lab03.recorded_profile("loop"))
    assert "main.layoutGraph" in " ".join(gives_away(old))


def test_an_exercise_with_a_figure_carries_its_still():
    bundle = Exercise(lab03.recorded_cause, seed=1, title="Case")._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert "A still of this exercise (Case)" in svg and "Which cause does it hide?" in svg
    assert "<clipPath" in svg  # the flame graph is drawn, not only the text


# ---- predict first: the share, the waits, the longest wait ------------------------------------

NOTEBOOK = lab03.PROFILE_DIR.parents[1].parent / "labs" / "lab03-flame-detective.ipynb"
PREDICTIONS = (lab03.wait_total, lab03.cpu_share, lab03.longest_wait)


@pytest.mark.parametrize("seed", range(4))
def test_wait_total_key_is_the_recorded_profiles_total(seed):
    """The key is the total of what go tool trace -pprof=KIND makes of the recording (its rows
    are compared with the toolchain's in test_a_trace_case_is_what_go_tool_trace_makes...), and
    the hand estimate the worked answer gives lands within the tolerance."""
    from labkit.traces import load_trace

    v = Exercise(lab03.wait_total, seed=seed).variant
    p = v.params
    trace = load_trace(lab03.PROFILE_DIR / f"lab03-{p['scenario']}.trace")
    total_s = sum(trace.to_profile(p["kind"]).stacks().values()) / 1e9
    assert v.answer == pytest.approx(total_s)
    by_hand = 2 * p["duration_s"] if p["kind"] == "sched" else 48 * 0.2
    assert Exercise(lab03.wait_total, seed=seed).check(by_hand)


@pytest.mark.parametrize("seed", range(10))
def test_cpu_share_key_is_the_sampled_share_and_the_hand_rule_agrees(seed):
    v = Exercise(lab03.cpu_share, seed=seed).variant
    p = v.params
    profile = lab03.model_profile(p["cause"], p["seed"]).profile
    target = "main.layoutGraph" if p["cause"] == "tight loop" else "linux.Syscall6"
    stacks = profile.stacks()
    under = sum(n for stack, n in stacks.items() if any(target in f for f in stack))
    assert v.answer == pytest.approx(100 * under / sum(stacks.values()))
    assert abs(p["by_hand"] - v.answer) < 5.0  # the rule the worked answer teaches is right


@pytest.mark.parametrize("seed", range(2))
def test_longest_wait_key_is_the_traces_longest_runnable_stretch(seed):
    """Recomputed from the trace's raw transitions: a goroutine's runnable -> running pairs."""
    from labkit.golab.twins import run_twin

    v = Exercise(lab03.longest_wait, seed=seed).variant
    settings = {k: val for k, val in v.params.items() if k != "twin"}
    trace = run_twin(v.params["twin"], source="recorded", **settings).trace
    longest = max(float(w.max()) for w in trace.sched_latency_ms().values() if len(w))
    assert v.answer == pytest.approx(longest)
    # the stall itself: the loop, or the 399 goroutines ahead of the last
    assert v.answer > (150 if v.params["twin"] == "long_loop" else 350)


@pytest.mark.parametrize("make", PREDICTIONS)
def test_a_new_prediction_variant_never_repeats_the_case_just_shown(make):
    def case(seed):
        p = Exercise(make, seed=seed).variant.params
        return (p.get("scenario"), p.get("cause"), p.get("twin"), p.get("seed"))

    cases = [case(s) for s in range(12)]
    assert all(a != b for a, b in zip(cases, cases[1:], strict=False))


@pytest.mark.parametrize("make", PREDICTIONS)
@pytest.mark.parametrize("seed", range(4))
def test_a_prediction_hides_its_figure_until_check_and_gives_no_answer(make, seed):
    ex = Exercise(make, seed=seed)
    v = ex.variant
    assert (
        v.predict and f"{v.answer:.1f}" not in v.question and f"{v.answer:.0f} " not in v.question
    )
    shown = ex.widget()
    assert shown.figure is None
    wrong = 10 * float(v.answer) + 50
    said = shown.answer(wrong)
    assert "Not quite" in said and "Hint:" in said
    assert any(m in said for m in ("mechanism", "SIGPROF"))  # the hint names the mechanism
    assert shown.figure is not None and "You predicted" in shown._truth.value


def test_lab3_has_eight_exercises_at_least_half_predictions():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    calls = [
        "".join(c["source"]).split("lab03.")[1].split(",")[0]
        for c in cells
        if c["cell_type"] == "code" and "Exercise(lab03." in "".join(c["source"])
    ]
    assert len(calls) >= 8
    answered = {lab03.diagnose_trace}  # the evidence shown, the doctor's view after Check
    predictions = [f for f in calls if getattr(lab03, f) in (*PREDICTIONS, *answered)]
    assert 2 * len(predictions) >= len(calls), (calls, predictions)
    assert "longest_wait" in calls  # one reads Go's own trace of a chapter-2 twin


# ---- case H: diagnose a real trace, then see the stall doctor's answer ----------------------


def test_case_h_steps_through_every_cause_and_the_healthy_control():
    from labkit.exercises import lab03
    from labkit.exercises.seeded import Exercise

    seen = [Exercise(lab03.diagnose_trace, seed=s).variant.params["case"] for s in range(6)]
    assert sorted(seen) == sorted(lab03.DIAGNOSE_CASES)
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False))


@pytest.mark.parametrize("seed", range(6))
def test_case_h_key_is_what_the_program_does_and_the_doctor_agrees(seed):
    """The key is the corpus's label (the cause the program was built with); the stall doctor,
    whose report the answer quotes, names the same cause on the same trace."""
    from labkit.exercises import lab03
    from labkit.exercises.seeded import Exercise
    from labkit.stalls import diagnose

    ex = Exercise(lab03.diagnose_trace, seed=seed)
    v = ex.variant
    trace, case = lab03.stall_case(v.params["case"])
    cause = lab03.DIAGNOSES[v.choices[v.answer]][0]
    assert cause == (case["first"][0] if case["first"] else None)
    d = diagnose(trace)
    assert d.healthy if cause is None else d.findings[0].cause in case["first"]
    assert all(not ex.check(i) for i in range(len(v.choices)) if i != v.answer)
    # a wrong choice's hint says what that cause would show, as a question about this trace,
    # not as a fact about it (its evidence may contradict the trace on screen)
    for i, h in v.hints.items():
        assert h.startswith("If it were that") and h.endswith("Does it?"), h
        assert lab03.DIAGNOSES[v.choices[i]][1] in h
    assert "python -m labkit.stalls" in ex.reveal()
    assert v.figure is not None and not v.predict  # the trace is the evidence, shown first
    view = ex.widget()
    assert view.figure is not None and view.answer_view is None  # the doctor waits for Check
    view.answer((v.answer + 1) % len(v.choices))
    assert view.answer_view is not None and view.answer_view in view._figure.children
    assert view.figure in view._figure.children and "stall doctor" in view._truth.value


def test_case_h_question_names_no_cause():
    from labkit.exercises import lab03
    from labkit.exercises.seeded import Exercise

    for s in range(6):
        q = Exercise(lab03.diagnose_trace, seed=s).variant.question.lower()
        assert not any(w in q for w in ("lock", "gc", "timer", "channel", "hog", "burst"))


@pytest.mark.parametrize("seed", range(3))
def test_the_syscall_storms_kernel_time_is_cpu_under_syscall6(seed):
    """A write's kernel time is the writing thread's CPU, and SIGPROF charges it to Syscall6
    (setThreadCPUProfiler's per-thread CPU clock): the model runs WRITE_MS + KERNEL_MS per write
    on that stack, so case D's key and its worked answer count the same time. (As a `syscall`
    step the kernel part was left out of the profile: 0.2 ms a write, not 0.22.)"""
    from labkit.models.scheduler import simulate

    main, p = lab03._program("syscall storm", np.random.default_rng(seed))
    res = simulate(main, gomaxprocs=2, until_ms=5_000.0, seed=seed)
    seg = res.segments
    on = np.char.endswith(seg["stack"].astype(str), "Syscall6")
    cpu_ms = float(np.sum(seg["end_ms"][on] - seg["start_ms"][on]))
    writes = p["frames"] * p["writes_per_frame"]
    assert cpu_ms == pytest.approx(writes * (lab03.WRITE_MS + lab03.KERNEL_MS))


def test_diff_fix_lists_only_what_moved_beyond_sampling_noise():
    """Seed 4 cures lock contention. Its map writes, which the fix leaves alone, moved from 19
    samples to 10 by chance (1.7 times the square root of their 29), and are not offered as work
    the fix removed; the spin and the semaphore, 22 and 19 samples to none, are."""
    v = Exercise(lab03.diff_fix, seed=4).variant
    assert "runtime.procyield`: -220 ms" in v.solution
    assert "runtime.semacquire1`: -190 ms" in v.solution
    assert "mapassign" not in v.solution
