"""A channel shared between Ps: its lock and its cache lines (chan.op_burst, CHAN_LINE_MS).

Every send and receive takes the channel's lock (lock(&c.lock), src/runtime/chan.go:222 and
586); one that finds it held spins (lock2, src/runtime/lock_spinbit.go:164), and the hchan's
cache lines move to the CPU of whoever takes it next. On one P neither costs anything; on two,
four operations of two goroutines take turns, each pulling the lines from the other CPU, and
the recorded case (labkit/golab/recorded/handoff_costs.json, case shared) is reproduced.
"""

from __future__ import annotations

import pytest

from labkit.golab import calibrate
from labkit.golab.calibrate import CalibrationError, Run
from labkit.models.scheduler import Chan, Go, mark, recv, repeat, send, simulate, spawn
from labkit.models.scheduler import runtime as rt

ROUNDS = 4_000


def _rounds(goroutines: int) -> float:
    """ms a round (a send into a channel of capacity 2 and a receive back) takes with
    ``goroutines`` goroutines on as many Ps doing ROUNDS rounds each on that one channel, as
    handoff_costs' shared case times it (the time of one round of each): the rounds ended
    while all of them ran, over the time that took. (The second one starts tens of us after
    the first, when the other P's thread has woken and stolen it.)"""
    ch, done = Chan(2, "c"), Chan(0, "done")
    body = [send(ch), recv(ch), mark("round")]
    workers = [
        Go(f"w{i}", [mark("begin"), repeat(ROUNDS, body), mark("end"), send(done)])
        for i in range(goroutines)
    ]
    main = Go("main", [*(spawn(w) for w in workers), *(recv(done) for w in workers)])
    res = simulate(main, gomaxprocs=goroutines)
    first_end, last_begin = min(res.marks["end"]), max(res.marks["begin"])
    rounds = [t for t in res.marks["round"] if last_begin < t <= first_end]
    assert len(rounds) >= ROUNDS
    return (rounds[-1] - rounds[0]) / (len(rounds) - 1) * goroutines


def _recorded_ratio() -> float:
    runs = calibrate.RecordedRuns(calibrate.RECORDED_DIR)
    return runs.get(*calibrate._SHARED).num("shared_solo_ratio")


def test_a_shared_round_takes_the_recorded_ratio_of_a_solo_one():
    """Two goroutines on two Ps, one channel: 3.39 x a goroutine alone on its own channel,
    as recorded (111.7 ns against 32.6). Without the lock they would overlap (1 x); with the
    lock and no cost for the lines, 2 x."""
    solo, shared = _rounds(1), _rounds(2)
    assert solo == pytest.approx(2 * rt.CHAN_OP_MS)
    assert shared / solo == pytest.approx(_recorded_ratio(), rel=0.03)


def test_without_the_lines_cost_the_lock_alone_serialises_the_two(monkeypatch):
    monkeypatch.setattr(rt, "CHAN_LINE_MS", 0.0)
    assert _rounds(2) / _rounds(1) == pytest.approx(2.0, rel=0.03)


def test_an_operation_that_finds_the_lock_held_spins_on_its_own_cpu(monkeypatch):
    """main sends first and holds the lock 1 ms (CHAN_OP_MS made long); B, on the other P,
    sends while main holds it: it spins until main's send is over, then pays CHAN_LINE_MS for
    the lines main's CPU has. Its CPU is the spin, the line and its own operation."""
    monkeypatch.setattr(rt, "CHAN_OP_MS", 1.0)
    monkeypatch.setattr(rt, "CHAN_LINE_MS", 0.25)
    ch = Chan(4, "c")
    b = Go("B", [mark("b"), send(ch), mark("b sent")])
    res = simulate(Go("main", [spawn(b), mark("m"), send(ch), mark("m sent")]), gomaxprocs=2)
    (m0,), (m1,), (b0,), (b1,) = (res.marks[k] for k in ("m", "m sent", "b", "b sent"))
    assert m0 < b0 < m1  # B's send came while main held the lock
    assert m1 - m0 == pytest.approx(1.0)  # the channel's first operation: nothing shared
    assert b1 == pytest.approx(m1 + 0.25 + 1.0)
    assert res.chan_shared_ms == pytest.approx({"B": (m1 - b0) + 0.25})
    assert res.chan_op_ms == pytest.approx({"main": 1.0, "B": b1 - b0})
    assert res.cpu_ms()["B"] == pytest.approx(b1 - b0)


def test_one_p_never_pays_for_sharing():
    """On one P the lines never move and nobody can hold the lock while another operation
    starts (an operation is never preempted midway): every operation costs CHAN_OP_MS."""
    ch = Chan(10, "c")
    prod = Go("prod", [repeat(50, [send(ch)])])
    cons = Go("cons", [repeat(50, [recv(ch)])])
    res = simulate(Go("main", [spawn(prod), spawn(cons)]), gomaxprocs=1)
    assert res.chan_shared_ms == {}
    ops = sum(res.chan_op_ms.values()) / rt.CHAN_OP_MS
    assert ops == pytest.approx(round(ops))


def _shared_run(ratio: float) -> Run:
    result = {"shared_solo_ratio": ratio}
    return Run("handoff_costs", {"case": "shared"}, result, "test.json", "go1.27.3", "m", "d")


def test_the_line_cost_is_derived_from_the_ratio_and_an_impossible_ratio_is_refused():
    """(r / 2 - 1) x CHAN_OP_MS: r = 2 is the lock alone, nothing for the lines, and so is less
    (the two goroutines shared a CPU); under 1, two goroutines' rounds in less time than one's,
    the recording is refused with what to do."""
    runs = calibrate.RecordedRuns(calibrate.RECORDED_DIR)
    none, gosched, buffered = (runs.get(*k) for k in calibrate.constant("CHAN_OP_MS").runs)
    op = calibrate.chan_op_ms(none, gosched, buffered)
    assert calibrate.chan_line_ms(none, gosched, buffered, _shared_run(2.0)) == 0.0
    assert calibrate.chan_line_ms(none, gosched, buffered, _shared_run(3.0)) == pytest.approx(
        op / 2
    )
    assert calibrate.chan_line_ms(none, gosched, buffered, _shared_run(1.5)) == 0.0
    with pytest.raises(CalibrationError, match="re-record it"):
        calibrate.chan_line_ms(none, gosched, buffered, _shared_run(0.9))
