"""What a Trace holds: the same layout as the model's Result, frozen, and consistent with itself
(segments never overlap on a P, counts follow the transitions, every wait is one in the table)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from labkit.models.scheduler import Go, cpu, simulate, spawn
from labkit.traces import STATE_NAMES, load_trace

TRACES = Path(__file__).parent / "data" / "traces"
NAMES = (
    "cpuhogs",
    "pingpong",
    "timers",
    "syscalls",
    "netwait",
    "gcheavy",
    "cpuhogs-go1.22",
    "pingpong-go1.23",
    "syscalls-go1.25",
)


@pytest.fixture(scope="module", params=NAMES)
def trace(request):
    return load_trace(TRACES / f"{request.param}.trace")


@pytest.fixture(scope="module")
def model_result():
    return simulate(Go("main", [spawn(Go("w", [cpu(5)])), cpu(5)]), gomaxprocs=2)


def test_the_names_the_model_result_has(trace, model_result):
    """One widget draws either: every field of Result.segments / thread_segments and every key of
    Result.states exists in the Trace, with the same meaning (time in ms from the start)."""
    assert set(model_result.segments.dtype.names) <= set(trace.segments.dtype.names)
    assert set(model_result.thread_segments.dtype.names) <= set(trace.thread_segments.dtype.names)
    assert list(trace.states) == list(model_result.states)
    assert isinstance(trace.gomaxprocs, int) and trace.gomaxprocs == 2
    assert trace.summary().count("\n") == 0 and f"GOMAXPROCS={trace.gomaxprocs}" in trace.summary()
    assert isinstance(model_result.cpu_ms(), dict) and isinstance(trace.cpu_ms(), dict)


def test_frozen(trace):
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.gomaxprocs = 3
    for arr in (
        trace.segments,
        trace.thread_segments,
        trace.transitions,
        trace.gc,
        trace.stw,
        trace.goroutines,
        trace.sched_waits,
        *trace.states.values(),
    ):
        with pytest.raises(ValueError, match="read-only"):
            arr[:1] = arr[:1]
    with pytest.raises(TypeError):
        trace.states["t_ms"] = np.zeros(1)


def _overlapping_on_a_p(seg: np.ndarray) -> list[int]:
    """Ps on which two segments overlap (a P runs one goroutine at a time)."""
    bad = []
    for p in np.unique(seg["p"]):
        mine = np.sort(seg[seg["p"] == p], order="start_ms")
        if (mine["start_ms"][1:] < mine["end_ms"][:-1]).any():
            bad.append(int(p))
    return bad


def test_a_p_runs_one_goroutine_at_a_time(trace):
    seg = trace.segments
    assert (seg["end_ms"] >= seg["start_ms"]).all()
    assert (seg["start_ms"] >= 0).all() and (seg["end_ms"] <= trace.duration_ms).all()
    assert (np.diff(seg["start_ms"]) >= 0).all()
    assert not _overlapping_on_a_p(seg)
    assert set(seg["p"].tolist()) <= set(range(trace.gomaxprocs))


def test_the_overlap_check_can_fail(trace):
    seg = trace.segments.copy()
    seg["p"][:] = 0
    busy = seg[seg["end_ms"] > seg["start_ms"]]
    doubled = np.concatenate([busy[:1], busy[:1]])
    assert _overlapping_on_a_p(doubled) == [0]


def test_run_stretches_are_the_segments_by_thread(trace):
    run = trace.thread_segments[trace.thread_segments["kind"] == "run"]
    assert len(run) == len(trace.segments)
    assert sorted(
        zip(run["g"].tolist(), run["start_ms"].tolist(), run["m"].tolist(), strict=True)
    ) == sorted(
        zip(
            trace.segments["g"].tolist(),
            trace.segments["start_ms"].tolist(),
            trace.segments["m"].tolist(),
            strict=True,
        )
    )
    assert set(trace.thread_segments["kind"].tolist()) <= {"run", "syscall"}


def test_state_counts_follow_the_transitions(trace):
    """Each count is the number of goroutines in that state: never negative, at most GOMAXPROCS
    running (a running goroutine holds a P), and the last row is what the transitions leave."""
    st = trace.states
    for name in ("running", "runnable", "waiting", "syscall"):
        assert (st[name] >= 0).all()
    assert (st["running"] <= trace.gomaxprocs).all()
    assert (np.diff(st["t_ms"]) > 0).all()
    t = trace.transitions
    last = {}
    for g, to in zip(t["g"].tolist(), t["to"].tolist(), strict=True):
        last[g] = to
    for name in ("running", "runnable", "waiting", "syscall"):
        assert st[name][-1] == sum(1 for s in last.values() if s == name)
    assert set(t["from"].tolist()) | set(t["to"].tolist()) <= set(STATE_NAMES)
    assert (t["from"] != t["to"]).all()


def test_segments_start_and_end_at_transitions(trace):
    t = trace.transitions
    into = set(
        zip(
            t["g"][t["to"] == "running"].tolist(),
            t["t_ms"][t["to"] == "running"].tolist(),
            strict=True,
        )
    )
    for g, start in zip(
        trace.segments["g"].tolist(), trace.segments["start_ms"].tolist(), strict=True
    ):
        assert (g, start) in into


def test_sched_latency_is_each_runnable_to_running_wait(trace):
    """Recomputed from the transition table: from each ->runnable (not at the trace's start) to
    the goroutine's next change, when that change is to running."""
    t = trace.transitions
    expected: dict[int, list[float]] = {}
    since: dict[int, float] = {}
    for g, frm, to, when in zip(
        t["g"].tolist(), t["from"].tolist(), t["to"].tolist(), t["t_ms"].tolist(), strict=True
    ):
        began = since.pop(g, None)
        if began is not None and frm == "runnable" and to == "running":
            expected.setdefault(g, []).append(when - began)
        if to == "runnable" and frm != "undetermined":
            since[g] = when
    got = trace.sched_latency_ms()
    assert sorted(got) == sorted(expected)
    for g, waits in expected.items():
        np.testing.assert_allclose(got[g], waits, atol=1e-9)
    assert len(trace.sched_waits) == sum(len(v) for v in expected.values())


def test_cpu_ms_sums_the_segments(trace):
    cpu_ms = trace.cpu_ms()
    total = float(np.sum(trace.segments["end_ms"] - trace.segments["start_ms"]))
    assert sum(cpu_ms.values()) == pytest.approx(total)
    assert total <= trace.gomaxprocs * trace.duration_ms


def test_goroutines_are_named_by_their_entry_function():
    tr = load_trace(TRACES / "cpuhogs.trace")
    names = dict(zip(tr.goroutines["g"].tolist(), tr.goroutines["name"].tolist(), strict=True))
    assert sorted(n for n in names.values() if n.startswith("main.")) == [
        "main.main",
        "main.main.func1.1",
        "main.main.func1.1",
        "main.main.func1.1",
        "main.main.func1.1",
        "main.main.func1.2",
    ]
    hogs = tr.segments[tr.segments["name"] == "main.main.func1.1"]
    assert (hogs["stack"] != "").any()
    assert all(s.startswith("main.main.func1.1;main.hog") for s in hogs["stack"].tolist() if s)


def test_user_regions_are_read_as_go_tool_trace_prints_them():
    """Trace.regions: every RegionBegin / RegionEnd pair of go tool trace -d=parsed (as
    labkit's own dump prints them, and Go's own where a toolchain is found), on the stall
    corpus's render loop (one region per frame)."""
    import re
    import subprocess

    from labkit.golab import go_toolchain
    from labkit.traces import parsed_dump

    path = Path(__file__).resolve().parent.parent / "labkit" / "data" / "stalls" / "hogs-p2.trace"
    trace = load_trace(path)
    dumps = [parsed_dump(path)]
    go = go_toolchain()
    if go is not None:
        dumps.append(
            subprocess.run(
                [go, "tool", "trace", "-d=parsed", str(path)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    for dump in dumps:
        events = re.findall(r"G=(\d+) Region(Begin|End) Time=(\d+) Task=\d+ Type=\"(\w+)\"", dump)
        begins = [(int(g), int(t)) for g, kind, t, _ in events if kind == "Begin"]
        ends = [(int(g), int(t)) for g, kind, t, _ in events if kind == "End"]
        assert len(trace.regions) == len(begins) == len(ends) == 30
        assert set(trace.regions["name"]) == {"frame"}
        assert trace.regions["g"].tolist() == [g for g, _ in begins]
        starts = [(t - trace.start_ns) / 1e6 for _, t in begins]
        stops = [(t - trace.start_ns) / 1e6 for _, t in ends]
        assert trace.regions["start_ms"] == pytest.approx(starts)
        assert trace.regions["end_ms"] == pytest.approx(stops)
