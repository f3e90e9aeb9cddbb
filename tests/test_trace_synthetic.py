"""Hand-written traces (the text form of src/internal/trace/raw, tests/trace_textformat.py) whose
every number is known: the rules a real recording may not happen to exercise.

The timestamp frequency is 1e9 ticks per second, so a tick is a nanosecond. The table batches
are stamped 0, which Go's reader takes for "unset" (generation.go: ``g.minTs == 0 ||``), so the
first Sync, time 0 of the Trace, is at the M's batch, 1000 ns. Events that share a timestamp
are moved 1 ns apart, in order (Reader.ReadEvent keeps times strictly increasing).
"""

from __future__ import annotations

import numpy as np
import pytest
from trace_textformat import encode

from labkit.traces import load_trace, parsed_dump

TABLES = """EventBatch gen=1 m=18446744073709551615 time=0 size=?
Frequency freq=1000000000
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Stacks
EventBatch gen=1 m=18446744073709551615 time=0 size=?
Strings
String id=1
	data="preempted"
"""

#: G5 is runnable when the trace starts, runs at 1100 ns, is preempted at 1150, runs again at
#: 1180 and exits at 1190, all on P0 and M1.
PREEMPTED = f"""Trace Go1.22
{TABLES}EventBatch gen=1 m=1 time=1000 size=?
ProcStatus dt=0 p=0 pstatus=1
GoStatus dt=0 g=5 m=18446744073709551615 gstatus=1
GoStart dt=100 g=5 g_seq=1
GoStop dt=50 reason_string=1 stack=0
GoStart dt=30 g=5 g_seq=2
GoDestroy dt=10
"""

#: G5 enters a syscall on M1 at 1010 ns holding P0; M2 steals P0 at 1050 (sysmon's retake);
#: the syscall returns at 1110 without a P (GoSyscallEndBlocked): go122-syscall-steal-proc-simple.
STOLEN = f"""Trace Go1.22
{TABLES}EventBatch gen=1 m=1 time=1000 size=?
ProcStatus dt=0 p=0 pstatus=1
GoStatus dt=0 g=5 m=1 gstatus=2
GoSyscallBegin dt=10 p_seq=1 stack=0
GoSyscallEndBlocked dt=100
EventBatch gen=1 m=2 time=1050 size=?
ProcStatus dt=0 p=1 pstatus=2
ProcSteal dt=0 p=0 p_seq=2 m=1
"""


@pytest.fixture(scope="module")
def preempted():
    return load_trace(encode(PREEMPTED))


def test_the_trace_reads_as_written(preempted):
    t = preempted.transitions
    assert preempted.start_ns == 1000
    assert list(zip(t["from"].tolist(), t["to"].tolist(), strict=True)) == [
        ("undetermined", "runnable"),
        ("runnable", "running"),
        ("running", "runnable"),
        ("runnable", "running"),
        ("running", "notexist"),
    ]
    # Sync 1000, ProcStatus 1000 -> 1001, GoStatus 1000 -> 1002.
    np.testing.assert_allclose(t["t_ms"], np.array([2, 100, 150, 180, 190]) / 1e6)
    assert t["reason"].tolist() == ["", "", "preempted", "", ""]
    assert 'GoID=5 Running->Runnable Reason="preempted"' in parsed_dump(encode(PREEMPTED))


def test_a_wait_that_began_before_the_trace_is_not_a_latency(preempted):
    """Runnable when tracing started: its start is unknown, so only the 30 ns wait after the
    preemption is a scheduling latency (the first run is 100 ns after the GoStatus)."""
    assert {g: w.tolist() for g, w in preempted.sched_latency_ms().items()} == {5: [30e-6]}


def test_the_sched_profile_clips_waits_to_the_goroutines_life(preempted):
    """go tool trace -pprof=sched counts a wait only where it overlaps the goroutine's life
    from its first run (summary.go StartTime): the 100 ns before it are dropped, the 30 ns
    after the preemption kept (pprof.go pprofOverlappingDuration)."""
    profile = preempted.to_profile("sched")
    assert profile.total("delay") == 30
    assert profile.total("contentions") == 1


def test_segments_of_the_preempted_goroutine(preempted):
    seg = preempted.segments
    assert seg[["p", "g", "m"]].tolist() == [(0, 5, 1), (0, 5, 1)]
    np.testing.assert_allclose(seg["start_ms"], np.array([100, 180]) / 1e6)
    np.testing.assert_allclose(seg["end_ms"], np.array([150, 190]) / 1e6)
    assert preempted.cpu_ms() == pytest.approx({5: 60e-6})


def test_a_stolen_p_splits_the_syscall_stretch():
    tr = load_trace(encode(STOLEN))
    sys = tr.thread_segments[tr.thread_segments["kind"] == "syscall"]
    assert sys[["m", "g", "p"]].tolist() == [(1, 5, 0), (1, 5, -1)]
    # M2's ProcStatus and ProcSteal are both stamped 1050: the steal comes out at 1051.
    np.testing.assert_allclose(sys["start_ms"], np.array([10, 51]) / 1e6)
    np.testing.assert_allclose(sys["end_ms"], np.array([51, 110]) / 1e6)
    t = tr.transitions
    assert t[["from", "to", "m"]].tolist()[-1] == ("syscall", "runnable", 1)
    assert tr.to_profile("syscall").total("delay") == 100
