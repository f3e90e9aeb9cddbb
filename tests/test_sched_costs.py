"""The scheduler model's costs agree with the real-Go recordings the repository ships.

labkit/models/scheduler/runtime.py derives SCHEDULE_MS, TIMER_ARM_MS, TIMER_FIRE_MS and SWITCH_G_SIDE_MS,
and programs.py SLEEP_NOOP_MS, from labkit/golab/recorded/yield.json (go1.27.3, GOMAXPROCS=1: a
loop with no yield, Sleep(0), Gosched or Sleep(1ns), beside a goroutine that counts its turns),
and THREAD_WAKE_MS from labkit/golab/recorded/locked_pingpong.json. The tests simulate the
recorded programs in the model and fail when the model leaves the range of the recorded runs: a
changed constant, or a re-recording on a machine where the figures moved, is noticed. Each check
is also shown to fail on a wrong constant.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import labkit.golab
from labkit.models.scheduler import (
    Chan,
    Go,
    cpu,
    gosched,
    lock_os_thread,
    mark,
    recv,
    repeat,
    send,
    simulate,
    sleep,
    spawn,
)
from labkit.models.scheduler import programs as pg
from labkit.models.scheduler import runtime as rt

RECORDED = Path(labkit.golab.__file__).parent / "recorded"

#: Iterations the model runs of each recorded loop (its cost per iteration does not depend on it).
ITERS = 2_000


def recorded_runs(name: str) -> list[dict]:
    """The runs of a recorded experiment: {"params": ..., "result": ...} each."""
    return json.loads((RECORDED / f"{name}.json").read_text())["runs"]


def recorded_yield(iters: int = 100_000) -> dict[str, dict]:
    """yield.json's results per mode (none, sleep0, gosched, sleep1ns) for the loop of ``iters``
    iterations with nothing but the yield in its body."""
    return {
        r["params"]["mode"]: r["result"]
        for r in recorded_runs("yield")
        if r["params"]["iters"] == iters and r["params"].get("body_us", 0) == 0
    }


def model_ns_per_iter(mode: str, body_ns: float) -> float:
    """The recorded program in the model: main's loop of ITERS iterations (``body_ns`` of work
    and the yield), the other goroutine yielding with Gosched; ns per iteration of main's loop."""
    yields = {"none": [], "sleep0": [sleep(0)], "gosched": [gosched()], "sleep1ns": [sleep(1e-6)]}
    other = Go("other", [repeat(ITERS + 2, [gosched()])])
    loop = repeat(ITERS, [cpu(body_ns * 1e-6), *yields[mode]])
    main = Go("main", [spawn(other), gosched(), mark("start"), loop, mark("end")])
    res = simulate(main, gomaxprocs=1)
    return (res.marks["end"][0] - res.marks["start"][0]) * 1e6 / ITERS


def yield_disagreements() -> list[str]:
    """Each mode whose model cost per iteration lies outside the recorded runs' range."""
    rec = recorded_yield()
    body = rec["none"]["ns_per_iter"]
    out = []
    for mode in ("sleep0", "gosched", "sleep1ns"):
        runs = rec[mode]["ns_per_iter_runs"]
        got = model_ns_per_iter(mode, body)
        if not min(runs) <= got <= max(runs):
            out.append(f"{mode}: model {got:.2f} ns/iter, recorded {min(runs)}-{max(runs)}")
    return out


def test_switch_timer_and_sleep0_costs_agree_with_the_recorded_yield_loops():
    """Sleep(0) (SLEEP_NOOP_MS), Gosched (two SCHEDULE_MS per iteration) and Sleep(1ns)
    (TIMER_ARM_MS + SCHEDULE_MS + TIMER_FIRE_MS) cost, per iteration, what the recorded runs
    did, within the spread of those runs."""
    assert yield_disagreements() == []


@pytest.mark.parametrize(
    "module, name, wrong, mode",
    [
        (rt, "SCHEDULE_MS", 0.000175, "gosched"),  # 350 ns per Gosched iteration
        (pg, "SLEEP_NOOP_MS", 3.4e-6, "sleep0"),
        (rt, "TIMER_ARM_MS", 0.000209, "sleep1ns"),
    ],
)
def test_the_cost_check_fails_on_a_wrong_constant(monkeypatch, module, name, wrong, mode):
    """The comparison can fail: each constant set to a value the recording contradicts (the
    course's earlier 350 ns per Gosched iteration and 3.4 ns per Sleep(0); the timer cost of
    that older split) makes its mode disagree (a switch is also part of a Sleep(1ns))."""
    monkeypatch.setattr(module, name, wrong)
    assert mode in [d.split(":")[0] for d in yield_disagreements()]


def recorded_g_side_shares() -> list[float]:
    """The share q of a Sleep(1ns) iteration that main spends on its own stack, one estimate per
    recorded run of 1,000,000 iterations (~210 ms, 1-4 turns each).

    After each turn sysmon, by then at its longest sleep (R ms), notes main's new time slice R/2
    later on average and asks it to stop every R from R after that; a request succeeds with
    probability q. A run of L ms with k turns gives L / k = R/2 + R/q."""
    r_ms = rt.SYSMON_MAX_DELAY_MS + rt.TIMER_SLACK_MS
    (s1,) = [r["result"] for r in recorded_runs("yield") if r["params"] == {
        "mode": "sleep1ns", "iters": 1_000_000, "body_us": 0.0, "repeats": 7}]  # fmt: skip
    out = []
    for ns, turns in zip(s1["ns_per_iter_runs"], s1["other_turns_runs"], strict=True):
        run_ms = ns * s1["iters"] * 1e-6
        out.append(r_ms / (run_ms / turns - r_ms / 2))
    return out


def model_g_side_share() -> float:
    """The same share in the model: (SWITCH_G_SIDE_MS + loop body) / iteration."""
    rec = recorded_yield()
    body_ms = rec["none"]["ns_per_iter"] * 1e-6
    iteration_ms = model_ns_per_iter("sleep1ns", rec["none"]["ns_per_iter"]) * 1e-6
    return (rt.SWITCH_G_SIDE_MS + body_ms) / iteration_ms


def test_the_g_side_of_a_switch_agrees_with_the_recorded_sleep_1ns_turns():
    """SWITCH_G_SIDE_MS (the part of a switch after execute, when a preemption request stands)
    gives the share of a Sleep(1ns) iteration on main's own stack that the recorded turns show:
    within the range of the recorded runs (1-4 turns in ~210 ms each)."""
    shares = recorded_g_side_shares()
    assert min(shares) <= model_g_side_share() <= max(shares)


def test_the_g_side_check_fails_on_a_wrong_window(monkeypatch):
    """No window (every request lost) or a four-fold one falls outside the recorded range. (The
    runs' 1-4 turns each spread the range wide: a doubled window, 0.185, still lies inside
    0.049-0.207; the pooled derivation, calibrate.switch_g_side_ms, is what pins the value.)"""
    shares = recorded_g_side_shares()
    for wrong in (0.0, 4 * rt.SWITCH_G_SIDE_MS):
        monkeypatch.setattr(rt, "SWITCH_G_SIDE_MS", wrong)
        assert not min(shares) <= model_g_side_share() <= max(shares), wrong


def model_locked_trip_us() -> float:
    """labkit/golab/go/thread_wake in the model: a ping-pong with the echo goroutine locked to
    its thread, GOMAXPROCS=1; us per round trip (two thread hand-offs)."""
    n = 100
    a, b = Chan(0, "a"), Chan(0, "b")
    echo = Go("echo", [lock_os_thread(), repeat(n, [recv(a), send(b)])])
    main = Go("main", [spawn(echo), mark("start"), repeat(n, [send(a), recv(b)]), mark("end")])
    res = simulate(main, gomaxprocs=1)
    return (res.marks["end"][0] - res.marks["start"][0]) * 1e3 / n


def thread_wake_agrees() -> bool:
    (locked,) = [r["result"] for r in recorded_runs("locked_pingpong") if r["params"]["locked"]]
    runs = locked["round_trip_us_runs"]
    return min(runs) <= model_locked_trip_us() <= max(runs)


def test_thread_wake_lies_within_the_recorded_locked_ping_pong():
    """Two THREAD_WAKE_MS per locked round trip lie within the recorded runs of
    labkit/golab/go/locked_pingpong (8.9-97 us per trip on the recording machine); a thread
    wake-up 10x slower would not. (Channel operations cost nothing in the model: the recorded
    unlocked round trip, ~0.30 us, is two switches and ~45 ns of channel work.)"""
    assert thread_wake_agrees()
    assert model_locked_trip_us() == pytest.approx(2 * rt.THREAD_WAKE_MS * 1e3, rel=0.02)


def test_the_thread_wake_check_fails_on_a_10x_slower_wake(monkeypatch):
    monkeypatch.setattr(rt, "THREAD_WAKE_MS", 10 * rt.THREAD_WAKE_MS)
    assert not thread_wake_agrees()


def test_the_yield_experiments_loop_body_is_the_recorded_one():
    """predict_sched.LOOP_BODY_MS, the yield program's loop body in its model, is the recorded
    no-yield loop's ns per iteration to the digits it is written with (a stale value, the 1.0 ns
    of the machine's earlier, busier recording, fails)."""
    from labkit.golab import predict_sched

    recorded_ms = recorded_yield()["none"]["ns_per_iter"] * 1e-6
    assert pytest.approx(recorded_ms, rel=0.01) == predict_sched.LOOP_BODY_MS
    assert pytest.approx(recorded_ms, rel=0.01) != 1.0e-6
