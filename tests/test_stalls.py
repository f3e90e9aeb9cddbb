"""The stall doctor (labkit.stalls) on real traces whose cause is known: the chapter-2 twins'
recordings, the trace-reader's test programs and lab 3's traces. Each case says what the doctor
must name (and whom it must blame); the healthy ones must get no stall at all. A doctor with a
wrong rule misses causes here, which the last tests show."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import labkit.stalls.causes as causes_module
import labkit.stalls.threads as threads
from labkit.golab import go_toolchain, run_twin
from labkit.stalls import CAUSES, StallError, diagnose
from labkit.stalls.facts import SYSTEM_PREFIXES
from labkit.traces import TraceError, load_trace

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT / "tests" / "data" / "traces"
LAB3 = ROOT / "labkit" / "data" / "profiles"


def twin(name: str, **settings: int):
    return run_twin(name, source="recorded", **settings).trace


#: (case, trace, the cause that must come first or a set of acceptable first causes, causes
#: that must also be named with a share of at least 10 %, the entry function the first
#: finding must blame first, or None)
CORPUS = {
    "2.5 timers behind two hogs": (
        lambda: twin("timer_stall", hogs=2),
        {"late_timer"},
        (),
        "main.labkitUserMain.func2",
    ),
    "2.3 a loop without preemption points": (
        lambda: twin("long_loop", async_preempt=0),
        {"late_timer", "cpu_hog"},
        (),
        "main.labkitUserMain.func1",
    ),
    "2.4 400 goroutines on one P": (
        lambda: twin("run_queues", procs=1),
        {"runqueue_delay"},
        (),
        None,
    ),
    "2.2 blocking system calls": (
        lambda: twin("blocking_calls", syscalls=1),
        {"runqueue_delay"},
        ("syscall",),
        None,
    ),
    "four hogs and a ticker": (
        lambda: TRACES / "cpuhogs.trace",
        {"cpu_hog"},
        ("late_timer",),
        None,
    ),
    "lab 3: compressors beside a render loop": (
        lambda: LAB3 / "lab03-sched.trace",
        {"cpu_hog"},
        ("late_timer",),
        "main.compressArchive",
    ),
    "lab 3: readers behind a write lock": (
        lambda: LAB3 / "lab03-syncwait.trace",
        {"mutex"},
        (),
        "main.(*seriesCache).refresh",
    ),
}

HEALTHY = {
    "2.5's fix: one hog, a P to spare": lambda: twin("timer_stall", hogs=1),
    "channel ping-pong": lambda: TRACES / "pingpong.trace",
    "timers": lambda: TRACES / "timers.trace",
    "network waits": lambda: TRACES / "netwait.trace",
    "system calls with Ps to spare": lambda: TRACES / "syscalls.trace",
    "a GC-heavy program with Ps to spare": lambda: TRACES / "gcheavy.trace",
}


def misses(doctor=diagnose) -> list[str]:
    """Every way the doctor gets the corpus wrong, as sentences (empty: all right)."""
    out = []
    for case, (source, first, also, blamed) in CORPUS.items():
        d = doctor(source())
        if d.healthy:
            out.append(f"{case}: no stall found")
            continue
        top = d.findings[0]
        if top.cause not in first:
            out.append(f"{case}: first cause {top.cause}, expected one of {sorted(first)}")
        for cause in also:
            f = d.cause(cause)
            if f is None or f.share < 0.1:
                out.append(f"{case}: {cause} not named (share {f.share if f else 0:.0%})")
        if blamed is not None:
            who = d.facts.names.get(top.goroutines[0], "") if top.goroutines else ""
            if who != blamed:
                out.append(f"{case}: blamed {who or 'nobody'}, expected {blamed}")
    for case, source in HEALTHY.items():
        d = doctor(source())
        if not d.healthy:
            out.append(f"{case}: healthy, but the doctor found {d.summary()}")
    return out


def test_the_doctor_names_every_known_cause_and_blames_no_healthy_trace():
    assert misses() == []


STALLS = ROOT / "labkit" / "data" / "stalls"
RECORDED = json.loads((STALLS / "CORPUS.json").read_text())


def confusion(doctor=diagnose) -> tuple[dict[tuple[str, str], int], list[str]]:
    """Over the recorded corpus (scripts/record_stall_corpus.py): (what the program does, what
    the doctor named first) -> count, and every case the doctor got wrong."""
    matrix: dict[tuple[str, str], int] = {}
    wrong = []
    for name, case in RECORDED.items():
        d = doctor(STALLS / f"{name}.trace")
        truth = "healthy" if case["healthy"] else "/".join(case["first"])
        said = "healthy" if d.healthy else d.findings[0].cause
        matrix[truth, said] = matrix.get((truth, said), 0) + 1
        if case["healthy"] != d.healthy or (not d.healthy and said not in case["first"]):
            wrong.append(f"{name}: the doctor said {said}, the program does {truth}")
        for cause in case["also"]:
            f = None if d.healthy else d.cause(cause)
            if f is None or f.share < 0.1:
                wrong.append(f"{name}: {cause} not named")
    return matrix, wrong


def test_the_labelled_corpus_every_cause_named_no_healthy_run_blamed():
    """Each cause of the stall corpus (hogs, a run-queue burst, a write lock, the GC, a slow
    channel, a blocking read, a call into C, a locked render thread, mixtures of two, healthy
    controls; GOMAXPROCS 1, 2, 4; 20 to 80 frames)."""
    matrix, wrong = confusion()
    table = "\n".join(
        f"{truth:>40} -> {said:<15} {n}" for (truth, said), n in sorted(matrix.items())
    )
    assert wrong == [], f"confusion matrix:\n{table}"
    assert {c for case in RECORDED.values() for c in case["first"]} >= {
        "late_timer",
        "runqueue_delay",
        "mutex",
        "gc_workers",
        "channel",
        "syscall",
        "cgo",
        "locked_thread",
    }
    assert sum(case["healthy"] for case in RECORDED.values()) >= 2
    # every cause first in some case has a case of its own, and a healthy control beside it
    for cause, control in (
        ("syscall", "syscall-p2-healthy"),
        ("cgo", "cgo-p2-healthy"),
        ("locked_thread", "calls-p2-healthy"),
        ("locked_thread", "locked-p2-healthy"),
    ):
        assert any(case["first"] == [cause] for case in RECORDED.values()), cause
        assert RECORDED[control]["healthy"], control


def test_a_doctor_without_the_gcs_causes_gets_the_gc_cases_wrong(monkeypatch):
    """Were mark workers just goroutines and assists just work (no gc_workers, no gc_assist),
    the GC cases would read as hogs, late timers or queueing."""
    monkeypatch.setattr(causes_module, "GC_WORKER", "no such function")
    monkeypatch.setattr(causes_module, "_assisting_ms", lambda *args: 0.0)
    _, wrong = confusion()
    assert any(w.startswith("gc-p2:") for w in wrong), wrong


def test_a_late_wake_the_gc_caused_says_it_was_the_gcs():
    """In the GC case a timer fired late because its P ran a mark worker, or an allocating
    goroutine that spent the time assisting the GC: the evidence line says which, so a reader
    does not take it for a program's hog (as lab 3's case H shows it)."""
    d = diagnose(load_trace(STALLS / "gc-p2.trace"))
    assist, worker = d.cause("gc_assist"), d.cause("gc_workers")
    assert "waited on a timer" in assist.evidence[0]
    assert re.search(
        r"\(\d+\.\d ms of it assisting the GC's marking, gcAssistAlloc\)", assist.evidence[0]
    )
    assert "runtime.gcBgMarkWorker" in worker.evidence[0]
    assert "(a GC mark worker: the GC's, not the program's)" in worker.evidence[0]


def test_a_doctor_blind_to_hogs_misses_them(monkeypatch):
    """With a 'hog' meaning a run of a second, the hogs' cases are misread."""
    monkeypatch.setattr(causes_module, "HOG_MS", 1000.0)
    wrong = misses(lambda source: diagnose(source, hog_ms=1000.0))
    assert any(m.startswith("four hogs and a ticker: first cause") for m in wrong)
    assert any(m.startswith("lab 3: compressors") for m in wrong)


def test_a_doctor_that_calls_every_slow_wake_late_blames_healthy_traces(monkeypatch):
    """A wake counts as late only when it follows the end of the run that held the timer's P;
    a doctor that takes any run ending within a second before the wake blames healthy
    programs' timers."""
    import labkit.stalls.windows as windows

    monkeypatch.setattr(windows, "WAKE_AFTER_RUN_MS", 1000.0)
    wrong = misses()
    assert any(m.startswith("timers: healthy, but") for m in wrong), wrong


def test_every_finding_uses_the_vocabulary_and_shares_add_up_to_at_most_one():
    for source, *_ in CORPUS.values():
        d = diagnose(source())
        assert {f.cause for f in d.findings} <= set(CAUSES)
        assert 0 < sum(f.share for f in d.findings) <= 1 + 1e-9
        assert all(f.evidence and f.start_ms <= f.end_ms for f in d.findings)
        assert [f.share for f in d.findings] == sorted((f.share for f in d.findings), reverse=True)


def test_the_late_timer_evidence_points_at_the_run_that_held_the_p():
    d = diagnose(twin("timer_stall", hogs=2))
    late = d.cause("late_timer")
    assert "without a scheduling point" in late.evidence[0]
    assert "G10 main.labkitUserMain.func2" in late.evidence[0]
    # each late frame of the recording is one window, bounded above by its lateness + the sleep
    real_late = run_twin("timer_stall", source="recorded", hogs=2).output["late_ms"]
    assert len(d.stalls) == sum(1 for x in real_late if x > 2.0)
    late_frames = [x for x in real_late if x > 2.0]
    assert all(s.ms >= x for s, x in zip(d.stalls, late_frames, strict=True))


def test_regions_are_the_windows_when_the_program_marks_them():
    """A program's own regions (one per frame here) are what a stall is: the long frames."""
    from labkit.golab import go_toolchain, run_go

    if go_toolchain() is None:
        pytest.skip("no Go toolchain")
    source = (ROOT / "tests" / "data" / "stalls" / "frames_regions.go").read_text()
    run = run_go(source, gomaxprocs=2)
    d = diagnose(run.trace)
    assert {s.kind for s in d.stalls} == {"region"}
    assert {s.label for s in d.stalls} == {"frame"}
    assert d.findings[0].cause in ("late_timer", "cpu_hog")


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        (b"not a trace at all", TraceError, "is text"),
        (LAB3 / "lab03-alloc.pb.gz", TraceError, "load_profile"),
        (TRACES / "cpuhogs-go1.21.trace", TraceError, "Go 1.22 or newer"),
    ],
)
def test_what_is_not_a_trace_is_refused_with_what_to_do(given, error, message):
    with pytest.raises(error, match=message):
        diagnose(given)


@pytest.mark.parametrize("preset", ["2.1", "2.2", "2.3", "2.4", "2.5"])
def test_the_model_and_real_go_get_the_same_diagnosis(preset):
    """The same code diagnoses the model's run of a chapter-2 preset, as its twin runs it
    (requests woken by their timers, two CPUs, sysmon backed off: labkit.golab.twin_fidelity),
    and Go's own trace of the twin: the same first cause, and the same verdict on the fix. One
    exception, 2.3's stall: in the twin the first request's 1 ms of work ended 14 us before the
    loop's 1 ms timer, so the other requests parked on their timers first and the loop made
    them late; in the model the loop's timer comes first (as in the twin's fix run) and the
    requests wait runnable behind it: a late timer there, a hog here, blamed on the same loop."""
    from labkit.golab.twin_fidelity import TWIN_PRESETS, run_as_twin
    from labkit.golab.twins import TWINS
    from labkit.scenarios.blindspots import PRESETS

    name = next(n for n, (p, _) in TWIN_PRESETS.items() if p == preset)
    for variant, settings in TWIN_PRESETS[name][1].items():
        model = diagnose(run_as_twin(getattr(PRESETS[preset], variant), cpus=2).result)
        real = diagnose(twin(name, **settings))
        assert model.healthy == real.healthy, (variant, model.summary(), real.summary())
        if real.healthy:
            continue
        m, r = model.findings[0], real.findings[0]
        if (preset, variant) == ("2.3", "stall"):
            assert (m.cause, r.cause) == ("cpu_hog", "late_timer")
            kinds = TWINS[name].kinds
            assert model.facts.names[m.goroutines[0]].startswith("hog")
            assert kinds[real.facts.names[r.goroutines[0]]] == "hog"
        else:
            assert m.cause == r.cause, (variant, model.summary(), real.summary())
    if preset == "2.2":  # Ps held by blocking calls, in both
        stall = TWIN_PRESETS[name][1]["stall"]
        assert diagnose(run_as_twin(PRESETS[preset].stall, cpus=2)).cause("syscall").share > 0.05
        assert diagnose(twin(name, **stall)).cause("syscall").share > 0.05


def test_something_else_is_refused_with_what_to_pass():
    from labkit.models.pool import simulate_pool

    with pytest.raises(StallError, match="execution trace or a labkit.models.scheduler model run"):
        diagnose(simulate_pool(duration_s=1.0))


@pytest.mark.parametrize("name", ["wait_ms", "late_ms", "hog_ms", "budget_ms"])
def test_a_bad_threshold_names_itself(name):
    with pytest.raises(ValueError, match=name):
        diagnose(TRACES / "cpuhogs.trace", **{name: -1.0})


def test_the_command_line_reports_and_refuses(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "labkit.stalls", str(LAB3 / "lab03-syncwait.trace")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ok.returncode == 0
    assert "mutex" in ok.stdout and "main.(*seriesCache).refresh" in ok.stdout
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    no = subprocess.run(
        [sys.executable, "-m", "labkit.stalls", str(bad)], capture_output=True, text=True, cwd=ROOT
    )
    assert no.returncode == 2 and "is text" in no.stderr and "runtime/trace" in no.stderr
    assert "Traceback" not in no.stderr


def test_a_doctor_blind_to_late_network_readiness_misreads_the_pipe_case(monkeypatch):
    """Without late_network (sysmon's poll readying a frame that no busy P would poll for),
    the pipe-paced frames beside two hogs read as something else."""
    monkeypatch.setattr("labkit.stalls.late_network", lambda facts, late_ms: [])
    _, wrong = confusion()
    assert any(w.startswith("hogs+network-p2:") for w in wrong), wrong


def test_only_sysmons_poll_makes_network_readiness_late():
    """A network wake with no P is late only when sysmon readied it (the one thread that runs
    no goroutines); an idle M blocked in netpoll readies a goroutine the moment its data arrives
    (injectglist with no P) and is on time. The rule on the hogs+network trace: moved onto a
    worker thread, the same wakes are no longer late."""
    from labkit.stalls.windows import late_network

    d = diagnose(STALLS / "hogs+network-p2.trace")
    facts = d.facts
    assert late_network(facts, 2.0)
    st = facts.stretches.copy()
    st["woken_m"] = np.where(st["woken_on"] == -1, next(iter(facts.working_ms)), st["woken_m"])
    moved = type(facts)(**{**facts.__dict__, "stretches": st})
    assert late_network(moved, 2.0) == []
    assert diagnose(STALLS / "network-p2-healthy.trace").healthy


# ---- system calls, cgo calls and locked threads ------------------------------------------------


def test_a_blocking_read_that_keeps_the_p_makes_the_frames_timer_late():
    """syscall-p1: the frame's timer sat on the P a worker kept in read(2); the evidence names
    the worker, the call and the P, and most windows hold such a call (the rest: a thread the
    machine's other work kept from its CPU reads as a run without a scheduling point)."""
    d = diagnose(STALLS / "syscall-p1.trace")
    top = d.findings[0]
    assert top.cause == "syscall"
    assert d.facts.names[top.goroutines[0]] == "main.labkitUserMain.func1.1"  # the worker
    assert "syscall.read" in top.evidence[0] and "held in a system call" in top.evidence[0]
    calls = d.facts.syscalls
    long_calls = calls[(calls["p"] >= 0) & (calls["end_ms"] - calls["start_ms"] > 2.0)]
    held = [
        any(c["start_ms"] < s.end_ms and c["end_ms"] > s.start_ms for c in long_calls)
        for s in d.stalls
    ]
    assert sum(held) >= 0.6 * len(held) and top.share > 0.4, (held, d.summary())


def test_a_doctor_that_does_not_follow_a_run_back_through_its_call_misses_the_syscall(
    monkeypatch,
):
    """The P was held from before the call until after it (exitsyscall's fast path keeps it):
    a doctor that looks only at the last run before the wake sees a 0.5 ms run, no late timer."""
    import labkit.stalls.windows as windows

    monkeypatch.setattr(windows, "SAME_MS", -1.0)  # no run ever meets its call
    _, wrong = confusion()
    assert any(w.startswith("syscall-p1") for w in wrong), wrong
    assert any(w.startswith("cgo-p1") for w in wrong), wrong


def test_a_cgo_call_is_told_from_a_system_call_by_its_stack(monkeypatch):
    """The trace shows a cgo call as a system call whose stack is cgo's _Cfunc_ wrapper; a
    doctor that calls every call a system call names the wrong cause for cgo-p1."""
    d = diagnose(STALLS / "cgo-p1.trace")
    assert d.findings[0].cause == "cgo" and "_Cfunc_slow_encode" in d.findings[0].evidence[0]
    monkeypatch.setattr(causes_module, "call_kind", lambda stack: "syscall")
    _, wrong = confusion()
    assert any(w.startswith("cgo-p1: the doctor said syscall") for w in wrong), wrong


def test_the_locked_render_thread_is_found_from_where_it_ran():
    """locked-p2: the render loop (main) is read as locked to one thread, and nobody else is;
    its frames are held up by the P's trips to and from that thread. The unlocked control with
    the same 1000 commands a frame, and the locked one without them, are healthy."""
    d = diagnose(STALLS / "locked-p2.trace")
    facts = d.facts
    assert [facts.names[g] for g in facts.locked] == ["main.main"]
    top = d.findings[0]
    assert top.cause == "locked_thread" and top.share > 0.2
    assert facts.names[top.goroutines[0]] == "main.main"
    assert "startlockedm" in top.evidence[0] or "stoplockedm" in top.evidence[0]
    assert f"locked to thread M{facts.locked[top.goroutines[0]]}" in top.evidence[0]
    assert "waited runnable from" in top.evidence[0]
    for control in ("calls-p2-healthy", "locked-p2-healthy"):
        assert diagnose(STALLS / f"{control}.trace").healthy, control


def test_the_hand_offs_and_the_lock_are_what_go_tool_trace_shows():
    """Checked against ``go tool trace -d=parsed``: every start of the locked goroutine is on
    its thread, which starts no other goroutine meanwhile; each hand-off ends where the waiting
    goroutine starts on the thread the evidence names, with no goroutine started on that P in
    between; before a locked goroutine's run, its thread starts the P (ProcStart) inside it."""
    import re

    go = go_toolchain()
    if go is None:
        pytest.skip("no Go toolchain")
    path = STALLS / "locked-p2.trace"
    d = diagnose(path)
    dump = subprocess.run(
        [go, "tool", "trace", "-d=parsed", str(path)], capture_output=True, text=True, check=True
    ).stdout
    t0 = d.run.start_ns  # the trace's times are ms from its first event

    def events(pattern: str) -> list[tuple[int, float, int, int]]:
        found = re.findall(rf"^M=(-?\d+) P=(-?\d+) .*Time=(\d+) {pattern}", dump, re.M)
        return [(int(m), (int(t) - t0) / 1e6, int(p), int(x)) for m, p, t, x in found]

    starts = events(r"GoID=(\d+) Runnable->Running")  # (M, ms, P, goroutine)
    proc_starts = events(r"ProcID=(\d+) Idle->Running")  # (M, ms, -1, P)
    [(g, thread)] = d.facts.locked.items()
    mine = [s for s in starts if s[3] == g]
    assert {m for m, *_ in mine} == {thread}
    first, last = mine[0][1], mine[-1][1]
    assert all(x == g for m, t, _, x in starts if m == thread and first <= t <= last)
    hs = d.facts.handoffs
    for h in hs[np.linspace(0, len(hs) - 1, 60).astype(int)]:
        lo, hi, p = float(h["start_ms"]), float(h["end_ms"]), int(h["p"])
        ran = [s for s in starts if s[2] == p and lo < s[1] <= hi + 1e-6]
        assert ran and ran[-1][3] == h["waiting"] and ran[-1][0] == h["m_to"], (h, ran)
        assert len(ran) == 1, (h, ran)  # nothing else started on the P meanwhile
        if h["direction"] == "to":
            assert any(
                m == thread and x == p and lo - 0.001 <= t <= hi for m, t, _, x in proc_starts
            )


def test_a_doctor_blind_to_locked_threads_misreads_the_locked_cases(monkeypatch):
    """Without the lock read from the trace, the same frames read as channel waits and
    queueing: the hand-offs are P time nobody used."""
    import labkit.stalls.facts as facts_module

    monkeypatch.setattr(facts_module, "locked_threads", lambda *args: {})
    _, wrong = confusion()
    assert any(w.startswith("locked-p1:") for w in wrong), wrong
    assert any(w.startswith("locked-p2:") for w in wrong), wrong


def _runs_on_one_thread(facts, g: int) -> np.ndarray:
    """``facts.runs`` with goroutine ``g``'s runs all moved to one thread of its own: what the
    runtime does when it hands g's P to the same idle thread every time (mget)."""
    runs = facts.runs.copy()
    runs["m"][runs["g"] == g] = 10**9
    return runs


def test_a_goroutine_that_trades_only_with_the_locked_one_is_not_read_as_locked(monkeypatch):
    """The scene goroutine of locked-p1, put on a thread of its own, looks locked too (its
    partner's thread cannot run it); its wakes all come from the locked render loop, which is
    no evidence, so it is left out. Counting them would blame the scene goroutine."""
    facts = diagnose(STALLS / "locked-p1.trace").facts
    render = next(iter(facts.locked))
    scene = _busiest(facts, but=render)
    runs = _runs_on_one_thread(facts, scene)
    found = threads.locked_threads(facts.stretches, runs, facts.names, SYSTEM_PREFIXES)
    assert set(found) == {render}
    original = threads._handed_runs  # the wrong rule: a partner's wakes count
    monkeypatch.setattr(
        threads,
        "_handed_runs",
        lambda mine, runs, m, running, _: original(mine, runs, m, running, {}),
    )
    wrong = threads.locked_threads(facts.stretches, runs, facts.names, SYSTEM_PREFIXES)
    assert set(wrong) == {render, scene}


def _busiest(facts, but: int = -1) -> int:
    """The program's goroutine (not ``but``) with the most runs."""
    runs = facts.runs[facts.runs["g"] != but]
    gs, counts = np.unique(runs["g"], return_counts=True)
    mine = [
        (n, g)
        for g, n in zip(gs.tolist(), counts.tolist(), strict=True)
        if not facts.names.get(g, "").startswith(SYSTEM_PREFIXES)
    ]
    return max(mine)[1]


def test_a_thread_of_its_own_is_not_a_lock_without_hand_offs(monkeypatch):
    """A hog that happens to run on one thread (hogs-p1, moved there) is never readied on one
    thread and run on another: not locked. A rule that took a thread of its own for a lock
    would read it as locked."""
    facts = diagnose(STALLS / "hogs-p1.trace").facts
    hog = _busiest(facts, but=1)
    runs = _runs_on_one_thread(facts, hog)
    assert threads.locked_threads(facts.stretches, runs, facts.names, SYSTEM_PREFIXES) == {}
    monkeypatch.setattr(threads, "MIN_HANDOFFS", 0)
    assert hog in threads.locked_threads(facts.stretches, runs, facts.names, SYSTEM_PREFIXES)


def _render_model(locked: bool, procs: int, frames: int = 10):
    """The corpus's locked case in the model: a render loop that sleeps 4 ms, takes 1000
    commands from a scene goroutine over an unbuffered channel and draws 0.5 ms; each command
    costs 0.3 us on both sides (the real program's exchange, unlocked, is that fast)."""
    from labkit.models.scheduler import (
        Chan,
        Go,
        cpu,
        lock_os_thread,
        recv,
        repeat,
        send,
        simulate,
        sleep,
        spawn,
    )

    start, commands = Chan(0, "start"), Chan(0, "commands")
    scene = Go(
        "scene", [repeat(frames, [recv(start), repeat(1000, [cpu(0.0003), send(commands)])])]
    )
    frame = [sleep(4), send(start), repeat(1000, [recv(commands), cpu(0.0003)]), cpu(0.5)]
    steps = [spawn(scene), *([lock_os_thread()] if locked else []), repeat(frames, frame)]
    return simulate(Go("render", steps), gomaxprocs=procs, until_ms=1_000, seed=0)


@pytest.mark.parametrize("procs", [1, 2])
def test_the_model_and_real_go_agree_on_the_locked_render_thread(procs):
    """The model's run of the same program (its lock is in its records; the hand-offs are found
    as in a trace) and Go's own recording: locked_thread first, blamed on the render loop; and
    the unlocked program healthy in both. The model has no regions: its windows are the
    hand-off bursts, which the real trace, stripped of its regions, gives too."""
    import dataclasses

    from labkit.traces import load_trace

    model = diagnose(_render_model(True, procs))
    real = diagnose(STALLS / f"locked-p{procs}.trace")
    trace = load_trace(STALLS / f"locked-p{procs}.trace")
    bare = diagnose(dataclasses.replace(trace, regions=trace.regions[:0]))
    for d, render in ((model, "render"), (real, "main.main"), (bare, "main.main")):
        top = d.findings[0]
        assert top.cause == "locked_thread", d.summary()
        assert d.facts.names[top.goroutines[0]] == render
    assert {s.kind for s in model.stalls} == {"handoffs"}
    assert "handoffs" in {s.kind for s in bare.stalls}
    assert diagnose(_render_model(False, procs)).healthy
    assert diagnose(STALLS / "calls-p2-healthy.trace").healthy


def test_a_model_doctor_that_ignores_the_models_lock_record_misses_it(monkeypatch):
    import labkit.stalls.facts as facts_module

    monkeypatch.setattr(facts_module, "_model_locked", lambda gs, runs: {})
    d = diagnose(_render_model(True, 1))
    assert d.healthy or d.findings[0].cause != "locked_thread"


@pytest.mark.parametrize("seed", range(5))
def test_the_interval_search_finds_what_a_scan_finds(seed):
    """threads.overlapping (classes of rows by length, binary searches) returns exactly the rows
    a scan of the whole table returns, in the same start order (ties in table order), for
    tables of mostly short rows with a few long ones, the case that made the old search scan
    everything; a search that drops the long rows' class misses rows here."""
    rng = np.random.default_rng(seed)
    n = 3000
    rows = np.zeros(n, dtype=[("start_ms", "f8"), ("end_ms", "f8"), ("g", "i8")])
    rows["start_ms"] = np.round(rng.uniform(0, 250, n), 3)  # rounded: ties in start
    length = rng.exponential(0.01, n)
    length[rng.choice(n, 12, replace=False)] = rng.uniform(5, 200, 12)
    rows["end_ms"] = rows["start_ms"] + length
    rows["g"] = np.arange(n)
    for a in rng.uniform(-5, 255, 200):
        b = a + rng.choice([0.0, 0.002, 0.5, 30.0])
        by_start = rows[np.argsort(rows["start_ms"], kind="stable")]
        want = by_start[(by_start["start_ms"] < b) & (by_start["end_ms"] > a)]
        assert threads.overlapping(rows, a, b)["g"].tolist() == want["g"].tolist()
    index = threads._index(rows)
    assert len(index["classes"]) > 1  # the long rows are a class of their own
    index["classes"] = index["classes"][:-1]
    a = float(rows["start_ms"][np.argmax(length)]) + 1.0
    assert np.argmax(length) not in threads.overlapping(rows, a, a + 1.0)["g"].tolist()
