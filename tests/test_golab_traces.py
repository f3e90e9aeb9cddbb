"""The readers of real runtime output: GODEBUG=gctrace=1 lines (labkit.golab.gctrace) and the
text dump of an execution trace, ``go tool trace -d=parsed`` (labkit.golab.gotrace)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import labkit.golab
from labkit.golab.gctrace import cycle_lines, marking_summary, parse_line
from labkit.golab.gotrace import blocked_calls, parked_receives, parse_events, receive_parks
from labkit.golab.recorded import load_recorded

LINE = (
    "gc 16 @2.900s 2%: 0.15+20+0.006 ms clock, 0.30+0/1.5/35+0.012 ms cpu, 135->138->78 MB, "
    "156 MB goal, 0 MB stacks, 0 MB globals, 2 P"
)


def test_gctrace_line_fields():
    """Each field where gcMarkTermination prints it (src/runtime/mgc.go): heap at the trigger,
    at mark termination and marked, the goal, and the mark CPU as assist/background/idle."""
    t = parse_line(LINE)
    assert (t.number, t.at_s, t.mark_clock_ms) == (16, 2.9, 20.0)
    assert (t.assist_ms, t.background_ms, t.idle_ms) == (0.0, 1.5, 35.0)
    assert t.mark_cpu_ms == pytest.approx(36.5)
    assert (t.heap_start_mib, t.heap_end_mib, t.heap_marked_mib, t.goal_mib) == (135, 138, 78, 156)
    assert not t.forced and parse_line(LINE + " (forced)").forced


def test_gctrace_other_lines_are_not_cycles():
    """stderr also holds other lines (scvg, program output); only cycle lines are parsed."""
    stderr = f"hello\n{LINE}\nscvg: 0 MB released\n"
    assert cycle_lines(stderr) == [LINE]
    assert parse_line("gc 1 @0.1s: nonsense") is None


def test_marking_summary_uses_the_asked_cycles_and_skips_forced_ones():
    """Median marked MiB per mark CPU-ms over the cycles asked for, forced cycles left out."""
    other = LINE.replace("gc 16", "gc 17").replace("0/1.5/35", "0/0/39")
    forced = LINE.replace("gc 16", "gc 18").replace("0/1.5/35", "0/0/1") + " (forced)"
    s = marking_summary([LINE, other, forced], 16, 18)
    assert s["gctrace_cycles"] == 2
    assert s["gctrace_mib_per_cpu_ms"] == pytest.approx((78 / 36.5 + 78 / 39) / 2)
    assert marking_summary([LINE], 1, 2) == {}


def test_recorded_gc_live_lines_parse_and_match_the_program_figure():
    """The recording's gctrace lines parse, and their marking speed is within a third of the
    program's own runtime/metrics figure (the two count mark CPU the same way)."""
    r = load_recorded("gc_live")["runs"][0]["result"]
    assert all(parse_line(ln) for ln in r["gctrace_lines"])
    metrics = r["marked_bytes_per_cpu_s"] / 2**20 / 1000  # MiB per CPU-ms
    assert r["gctrace_mib_per_cpu_ms"] == pytest.approx(metrics, rel=1 / 3)


DUMP = """\
M=10 P=0 G=6 Log Time=1000 Task=0 Category="retake_keep" Message="enter"
Stack=
\tmain.main.func1 @ 0x4a0af3
\t\t/x/main.go:12

M=10 P=0 G=6 StateTransition Time=1500 GoID=6 Running->Syscall Reason=""
M=11 P=1 G=-1 StateTransition Time=2000 ProcID=1 Running->Idle Reason=""
M=10 P=-1 G=-1 StateTransition Time=2600 ProcID=0 Running->Idle Reason=""
M=3 P=-1 G=-1 StateTransition Time=10001500 ProcID=0 Running->Idle Reason=""
M=10 P=-1 G=6 StateTransition Time=30001500 ProcID=0 Idle->Running Reason=""
M=10 P=0 G=6 StateTransition Time=30001600 GoID=6 Syscall->Runnable Reason=""
M=10 P=0 G=7 Log Time=40000000 Task=0 Category="retake_keep" Message="enter"
M=10 P=0 G=7 StateTransition Time=40000100 GoID=7 Running->Syscall Reason=""
M=10 P=0 G=7 StateTransition Time=70000100 GoID=7 Syscall->Running Reason=""
"""


def test_blocked_call_is_taken_by_another_thread_only():
    """The P counts as taken at its Running->Idle transition by another M (retake's
    ProcSteal); another P going idle, or the P's own M, do not count; a call whose P nobody
    took has no steal time."""
    calls = blocked_calls(parse_events(DUMP), "retake_keep", "enter")
    assert [(c.goid, c.p) for c in calls] == [(6, 0), (7, 0)]
    assert calls[0].kept_ms == pytest.approx(10.0) and calls[0].call_ms == pytest.approx(30.0001)
    assert calls[1].kept_ms is None and calls[1].call_ms == pytest.approx(30.0)


def test_a_blocked_calls_lead_in_is_from_another_goroutines_last_return_from_a_call():
    """The lead-in of G7's call is from G6's return (Syscall->Runnable at 30,001,600 ns) to
    G7's Running->Syscall at 40,000,100; G6's call had no return before it."""
    first, second = blocked_calls(parse_events(DUMP), "retake_keep", "enter")
    assert first.lead_ms is None
    assert second.lead_ms == pytest.approx((40_000_100 - 30_001_600) / 1e6)


def test_unlogged_syscalls_are_not_measured():
    """Only syscalls right after the program's log message are measured (the runtime and the
    tracer make syscalls of their own)."""
    assert blocked_calls(parse_events(DUMP), "retake_keep", "other") == []


PARKS = """\
M=5 P=1 G=18 StateTransition Time=1000 GoID=18 Running->Waiting Reason="chan receive"
M=5 P=1 G=-1 StateTransition Time=1200 ProcID=1 Running->Idle Reason=""
M=3 P=0 G=1 StateTransition Time=3600 GoID=18 Waiting->Runnable Reason=""
M=7 P=-1 G=-1 StateTransition Time=5000 ProcID=2 Idle->Running Reason=""
M=5 P=-1 G=-1 StateTransition Time=6500 ProcID=1 Idle->Running Reason=""
M=5 P=1 G=-1 StateTransition Time=74000 GoID=18 Runnable->Running Reason=""
M=5 P=1 G=18 StateTransition Time=80000 GoID=18 Running->Waiting Reason="sleep"
M=5 P=1 G=18 StateTransition Time=90000 GoID=18 Running->Waiting Reason="chan receive"
M=3 P=0 G=1 StateTransition Time=91000 GoID=18 Waiting->Runnable Reason=""
M=3 P=0 G=1 StateTransition Time=99000 GoID=18 Runnable->Running Reason=""
M=5 P=-1 G=-1 StateTransition Time=99500 ProcID=1 Idle->Running Reason=""
"""


def test_a_parked_receive_is_followed_to_its_ready_its_threads_p_and_its_run():
    """Only parks in a channel receive count (not the sleep); the P counts as back when the
    thread that parked the goroutine gets one (not another thread's), and only before the
    goroutine ran again."""
    first, second = parked_receives(parse_events(PARKS), 18)
    assert (first.ready_us, first.p_back_us, first.run_us) == (2.6, 5.5, 73.0)
    assert (first.m, first.ready_m, first.run_m) == (5, 3, 5)
    assert second.ready_us == 1.0 and second.run_us == 9.0 and second.run_m == 3
    assert second.p_back_us is None  # M5 got a P only after G18 ran on M3


RECORDED_TRACE = Path(labkit.golab.__file__).parent / "recorded" / "prodcons.trace.gz"


def test_the_recorded_prodcons_trace_shows_the_consumer_back_after_the_runnext_back_off():
    """What fidelity_gaps' prodcons rule says of Go's trace: the producer's send readies the
    parked consumer within a few us, the thread that parked it holds a P again soon after,
    and runs it again (nearly always itself) after runqgrab's usleep(3), tens of us later."""
    parks = receive_parks(gzip.decompress(RECORDED_TRACE.read_bytes()))
    assert len(parks) > 50
    done = [p for p in parks if p.run_us is not None]
    ready = np.median([p.ready_us for p in done])
    back = np.median([p.p_back_us for p in done if p.p_back_us is not None])
    run = np.median([p.run_us for p in done])
    assert ready < 5 and back < 10 and 50 < run < 100, (ready, back, run)
    assert np.mean([p.run_m == p.m != p.ready_m for p in done]) > 0.9


def test_a_trace_without_channel_receives_has_no_parked_receives():
    assert parked_receives(parse_events(DUMP), 6) == []
