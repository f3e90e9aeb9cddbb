"""The readers of real runtime output: GODEBUG=gctrace=1 lines (labkit.golab.gctrace) and the
text dump of an execution trace, ``go tool trace -d=parsed`` (labkit.golab.gotrace)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import labkit.golab
from labkit.golab.errors import GoRunError
from labkit.golab.gctrace import cycle_lines, marking_summary, parse_line
from labkit.golab.gotrace import (
    blocked_calls,
    churn_summary,
    parked_receives,
    parse_events,
    proc_churn,
    receive_parks,
    thread_wakeups,
)
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


CHURN = """\
M=3 P=0 G=1 StateTransition Time=500 GoID=1 Runnable->Running Reason=""
M=9 P=-1 G=-1 StateTransition Time=800 ProcID=1 Idle->Running Reason=""
M=3 P=0 G=1 Log Time=1000 Task=0 Category="handoff_churn" Message="start"
M=9 P=1 G=-1 StateTransition Time=1500 ProcID=1 Running->Idle Reason=""
M=9 P=-1 G=-1 StateTransition Time=2000 ProcID=1 Idle->Running Reason=""
M=9 P=1 G=-1 StateTransition Time=76000 ProcID=1 Running->Idle Reason=""
M=3 P=0 G=1 StateTransition Time=77000 GoID=1 Running->Waiting Reason="chan send"
M=3 P=0 G=-1 StateTransition Time=77200 GoID=5 Runnable->Running Reason=""
M=9 P=-1 G=-1 StateTransition Time=86000 ProcID=1 Idle->Running Reason=""
M=9 P=1 G=-1 StateTransition Time=86500 GoID=1 Runnable->Running Reason=""
M=9 P=1 G=1 StateTransition Time=88000 GoID=1 Running->Waiting Reason="chan send"
M=9 P=1 G=-1 StateTransition Time=88100 ProcID=1 Running->Idle Reason=""
M=3 P=0 G=5 Log Time=90000 Task=0 Category="handoff_churn" Message="end"
M=9 P=-1 G=-1 StateTransition Time=95000 ProcID=1 Idle->Running Reason=""
"""


def test_the_ps_churn_is_counted_inside_the_logged_window_only():
    """P1's thread (M9): a hold begun before the window (not a start, not a hold in it), one
    held 74 us without a goroutine (runqgrab's back-off), one that ran G1, which had run on
    P0: a move. M9 held a P again 0.5 us and 9.9 us after dropping one; the start after the
    window's end is not counted."""
    churn = proc_churn(parse_events(CHURN), "handoff_churn")
    assert churn.window_ns == 89_000
    assert churn.p_starts == 2
    assert churn.idle_holds_us == (74.0,) and churn.busy_holds == 1
    assert churn.regain_us == (0.5, 10.0)
    assert (churn.goroutine_runs, churn.migrations) == (2, 1)


def test_a_trace_without_the_window_is_refused_by_name():
    for dump in (DUMP, CHURN.replace('Message="end"', 'Message="other"')):
        with pytest.raises(GoRunError, match="no 'handoff_churn' window"):
            proc_churn(parse_events(dump), "handoff_churn")
    with pytest.raises(GoRunError, match="no events"):
        proc_churn([])


def test_without_a_category_the_whole_trace_is_the_window():
    """A learner's own trace has no logged window: everything from its first event to its
    last counts (here also the P start before the start log and the one after the end)."""
    churn = proc_churn(parse_events(CHURN))
    assert churn.window_ns == 94_500
    assert churn.p_starts == 4
    assert churn.goroutine_runs == 3


WAKEUPS = """\
M=3 P=0 G=1 Log Time=1000 Task=0 Category="w" Message="start"
M=9 P=1 G=-1 StateTransition Time=2000 ProcID=1 Running->Idle Reason=""
M=3 P=0 G=1 StateTransition Time=3000 GoID=5 Waiting->Runnable Reason=""
M=3 P=0 G=1 StateTransition Time=15000 GoID=1 Running->Waiting Reason="chan send"
M=3 P=0 G=5 StateTransition Time=16000 GoID=1 Waiting->Runnable Reason=""
M=3 P=0 G=5 StateTransition Time=17000 GoID=5 Running->Waiting Reason="chan receive"
M=9 P=-1 G=-1 StateTransition Time=23000 ProcID=1 Idle->Running Reason=""
M=9 P=1 G=-1 StateTransition Time=30000 ProcID=1 Running->Idle Reason=""
M=7 P=-1 G=-1 StateTransition Time=31000 ProcID=1 Idle->Running Reason=""
M=3 P=0 G=1 StateTransition Time=32000 GoID=5 Waiting->Runnable Reason=""
M=3 P=0 G=1 StateTransition Time=33000 GoID=1 Running->Waiting Reason="chan send"
M=9 P=-1 G=-1 StateTransition Time=40000 ProcID=1 Idle->Running Reason=""
M=3 P=0 G=1 Log Time=50000 Task=0 Category="w" Message="end"
"""


def test_a_wake_up_is_timed_from_the_first_ready_that_found_a_p_idle():
    """M9 drops P1 at 2 us; G1 (on M3) readies G5 1 us later, the first ready while P1 is idle:
    its wakep woke M9, which starts P1 20 us after it (parked 1 us, woken in 20). M3's next
    event came 12 us after that ready, against 1 us after its next ready, which found no P
    idle. M9 drops P1 again at 30 us, but M7 starts it: that wake-up was M7's, and M9's next
    start (40 us) has no ready of its own to be timed from."""
    w = thread_wakeups(parse_events(WAKEUPS), "w")
    assert w.wakeups == ((1.0, 20.0),)
    assert w.waker_gaps_us == (12.0,)
    assert w.ready_gap_us == 1.0


def test_thread_wakeups_refuses_a_trace_without_events_or_window():
    with pytest.raises(GoRunError, match="no events"):
        thread_wakeups([])
    with pytest.raises(GoRunError, match="no 'w' window"):
        thread_wakeups(parse_events(CHURN), "w")


CHURN_TRACE = Path(labkit.golab.__file__).parent / "recorded" / "handoff_churn.trace.gz"


def test_the_recorded_handoff_churn_trace_shows_the_idle_ps_thread_backing_off_and_coming_back():
    """go/handoff_churn on two Ps, 10,000 items (GOMAXPROCS=2 handoff_churn -items 10000
    -repeats 1 -trace ...): the idle P is started again and again; most of the stretches it is
    held without a goroutine last about one runqgrab back-off (usleep(3) and the nanosleep's
    lateness, 50-150 us), and its thread holds a P again within microseconds of dropping one.
    The P starts are exactly the window's ProcID Idle->Running lines."""
    from labkit.traces import parsed_dump

    dump = parsed_dump(gzip.decompress(CHURN_TRACE.read_bytes()))
    churn = proc_churn(parse_events(dump), "handoff_churn")
    events = parse_events(dump)
    logs = [e.time_ns for e in events if e.kind == "Log"]
    starts = [
        e
        for e in events
        if "ProcID=" in e.rest and "Idle->Running" in e.rest and logs[0] <= e.time_ns <= logs[-1]
    ]
    assert churn.p_starts == len(starts) > 100
    assert churn.goroutine_runs > 10_000 and churn.migrations > 20
    assert 50 < np.median(churn.idle_holds_us) < 150
    assert np.median(churn.regain_us) < 30
    out = {"items": 10_000}
    churn_summary(out, "handoff_churn", dump)
    assert out["p_starts_per_kitem"] == pytest.approx(churn.p_starts / 10)
    assert out["migrations_per_kitem_runs"] == [pytest.approx(churn.migrations / 10)]
