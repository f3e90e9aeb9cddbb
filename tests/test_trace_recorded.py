"""labkit.traces on the recorded traces in tests/data/traces, without a Go toolchain.

Each trace was written by a program in tests/data/trace_programs (scripts/record_traces.py, Go
1.27.3, and Go 1.22 / 1.23 / 1.25 for the older formats); RECORDED.json holds what the course
toolchain's own tools said of it: the SHA-256 of ``go tool trace -d=parsed`` and ``go tool pprof
-top`` of each ``go tool trace -pprof=KIND`` profile. tests/test_trace_go.py makes the same
comparisons on fresh recordings where Go is installed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from labkit.traces import load_trace, parsed_dump

TRACES = Path(__file__).parent / "data" / "traces"
RECORDED = json.loads((TRACES / "RECORDED.json").read_text())
KINDS = ("sched", "sync", "syscall", "net")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def traces():
    return {name: load_trace(TRACES / f"{name}.trace") for name in RECORDED}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_every_event_as_go_tool_trace_prints_it(name):
    """parsed_dump is byte for byte the -d=parsed text Go's own parser printed."""
    dump = parsed_dump(TRACES / f"{name}.trace")
    assert dump.count("\n") == RECORDED[name]["parsed_lines"]
    assert _sha(dump) == RECORDED[name]["parsed_sha256"]


def test_the_digest_sees_a_single_event_out_of_place():
    """The comparison above can fail: swap two adjacent events of the dump and the digest
    no longer matches."""
    dump = parsed_dump(TRACES / "pingpong.trace")
    events = dump.split("\nM=")
    events[10], events[11] = events[11], events[10]
    assert _sha("\nM=".join(events)) != RECORDED["pingpong"]["parsed_sha256"]


@pytest.mark.parametrize(("name", "kind"), [(n, k) for n in sorted(RECORDED) for k in KINDS])
@pytest.mark.parametrize("sample_type", ["delay", "contentions"])
def test_profiles_top_as_go_tool_pprof_lists_them(traces, name, kind, sample_type):
    """Both sample types: how long goroutines waited, and how many waits (which catches a
    wait of length 0 counted that the tool drops: pprof.go records only overlaps > 0)."""
    expected = [tuple(row) for row in RECORDED[name]["top"][kind][sample_type]]
    assert traces[name].to_profile(kind).top(None, sample_type) == expected


def test_a_profile_of_another_kind_does_not_pass_for_it(traces):
    tr = traces["pingpong"]
    assert tr.to_profile("sched").top(None) != [
        tuple(r) for r in RECORDED["pingpong"]["top"]["sync"]["delay"]
    ]


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("cpuhogs-go1.22", "1.22"),
        ("pingpong-go1.23", "1.23"),
        ("syscalls-go1.25", "1.25"),
        ("cpuhogs", "1.26"),
    ],
)
def test_each_format_version_is_read(traces, name, version):
    assert traces[name].format_version == version


def test_the_ticker_waits_for_a_preempted_hog(traces):
    """Blind spot 2.5: four 30 ms hogs on GOMAXPROCS=2 and a 5 ms ticker. Its timer fires only
    when a P runs its timers in schedule() (src/runtime/proc.go findRunnable -> (*timers).check),
    which a busy P does only once its hog is preempted: the ticker's goroutine is made runnable
    more than 10 ms in, right after a preemption on the same P."""
    tr = traces["cpuhogs"]
    # The ticker is the goroutine that parks in main.tick (its entry is main.main.func1.2).
    t = tr.transitions
    ticker = t["g"][np.char.find(t["stack"].astype(str), "main.tick") >= 0][0]
    assert tr.goroutines["name"][tr.goroutines["g"] == ticker][0] == "main.main.func1.2"
    woken = t[(t["g"] == ticker) & (t["from"] == "waiting") & (t["to"] == "runnable")]
    first = woken[0]
    assert first["t_ms"] > 10.0
    preempted = t[(t["reason"] == "preempted") & (t["t_ms"] <= first["t_ms"])]
    assert len(preempted) >= 1
    last = preempted[-1]
    assert last["p"] == first["p"]
    assert first["t_ms"] - last["t_ms"] < 0.1
    assert tr.gomaxprocs == 2


def test_a_blocking_syscall_loses_its_p(traces):
    """syscalls: nanosleep of 4 ms; sysmon's retake takes the P from the thread in the syscall
    (ProcSteal), so the thread's syscall stretch goes on without a P (p = -1)."""
    tr = traces["syscalls"]
    th = tr.thread_segments
    sys = th[th["kind"] == "syscall"]
    assert len(sys) > 0
    lost = sys[sys["p"] == -1]
    assert len(lost) >= 3
    # Each stretch without a P continues one with it, on the same thread, for the same G.
    for row in lost:
        before = sys[(sys["end_ms"] == row["start_ms"]) & (sys["m"] == row["m"])]
        assert len(before) == 1 and before["p"][0] >= 0 and before["g"][0] == row["g"]
    assert tr.to_profile("syscall").top(None)[0][0] == "main.sleepInKernel"


def test_network_waits_are_the_net_profile(traces):
    tr = traces["netwait"]
    reasons = set(tr.transitions["reason"].tolist())
    assert "network" in reasons
    functions = {row[0] for row in tr.to_profile("net").top(None)}
    assert "main.main" in functions


def test_timers_show_sleep_select_and_channel_waits(traces):
    reasons = set(traces["timers"].transitions["reason"].tolist())
    assert {"sleep", "select", "chan receive"} <= reasons


def test_gc_heavy_trace_has_gc_cycles_and_pauses(traces):
    tr = traces["gcheavy"]
    assert len(tr.gc) >= 2
    assert (tr.gc["end_ms"] > tr.gc["start_ms"]).all()
    assert len(tr.stw) >= 2 * len(tr.gc) - 1
    assert set(tr.stw["kind"].tolist()) >= {"GC mark termination", "GC sweep termination"}
    assert "/gc/heap/goal:bytes" in tr.metrics


def test_pingpong_hands_off_on_channels(traces):
    tr = traces["pingpong"]
    t = tr.transitions
    parked = t[t["to"] == "waiting"]["reason"]
    assert {"chan send", "chan receive"} <= set(parked.tolist())
    # 300 round trips, two hand-offs each: one side parks at each (which side depends on who
    # gets there first; on two Ps it is mostly the sender, waiting for its partner's receive).
    on_channels = np.count_nonzero((parked == "chan send") | (parked == "chan receive"))
    assert on_channels >= 600
