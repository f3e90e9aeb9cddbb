"""Preemption points by call kind: ``cpu(ms, calls=...)`` says what a CPU step calls, and the
model preempts it without a signal only at prologues that exist.

sysmon's request (preemptone, src/runtime/proc.go:6917) is seen by the stack-check prologue of
the next call (newstack, src/runtime/stack.go:1122). The compiler gives a function no prologue
when it calls nothing and its frame is below abi.StackSmall = 128 bytes (NOSPLIT,
src/cmd/internal/obj/x86/obj6.go:663-691): under GODEBUG=asyncpreemptoff=1 a loop of such leaf
calls runs to its end, as a loop without calls does (labkit/golab/recorded/call_kinds.json: main
late by the whole loop). calls=True and calls=False behave as they always did (the golden
hashes, tests/test_sched_golden.py).
"""

from __future__ import annotations

import math

import pytest

from labkit.models.scheduler import (
    Chan,
    Go,
    ProgramError,
    Result,
    cpu,
    gosched,
    mark,
    recv,
    send,
    simulate,
    sleep,
    spawn,
)
from labkit.models.scheduler import programs as pg

LOOP_MS = 200.0


def sleeper_beside_loop(async_preempt: bool, **calls) -> tuple[float, Result]:
    """main (sysmon backed off by 56 ms of its own loop first) yields, starts a 200 ms loop
    and sleeps 1 ms on the one P: how late it wakes (the shape of go/call_kinds)."""
    done = Chan(1, name="done")
    spin = Go("spin", [mark("s0"), cpu(LOOP_MS, **calls), mark("s1"), send(done)])
    main = Go(
        "main",
        [cpu(56, calls=False), gosched(), mark("t0"), spawn(spin), sleep(1), mark("back")]
        + [recv(done)],
    )
    res = simulate(main, gomaxprocs=1, async_preempt=async_preempt, until_ms=2_000)
    return res.marks["back"][0] - res.marks["t0"][0] - 1, res


@pytest.mark.parametrize("calls", [{"calls": False}, {"calls": "none"}, {"calls": "leaf"}])
def test_without_prologues_and_signals_main_waits_the_whole_loop(calls):
    """No prologue in the loop (no calls, or NOSPLIT leaves only), async preemption off: sysmon's
    requests are not seen until the loop ends."""
    late, res = sleeper_beside_loop(False, **calls)
    assert late == pytest.approx(LOOP_MS - 1, abs=0.01)
    # main runs when the loop is over: the spinner's request is honoured at its first call
    # after the loop (as go/call_kinds' time.Now, before it reads the loop's end)
    assert res.marks["back"][0] == pytest.approx(res.marks["s1"][0], abs=0.01)


@pytest.mark.parametrize("calls", [{"calls": True}, {"calls": "functions"}])
def test_ordinary_calls_stop_at_the_next_prologue(calls):
    """A loop of ordinary calls stops at sysmon's first request: 10-20 ms (forcePreemptNS and
    sysmon's 10 ms rounds), whether or not signals are on."""
    for async_preempt in (False, True):
        late, _ = sleeper_beside_loop(async_preempt, **calls)
        assert 9 < late < 20


def test_a_call_rate_stops_at_the_next_call_after_the_request():
    """A call every 30 ms of the loop (calls_per_ms=1/30): sysmon asks after 10-20 ms, the loop
    stops at its first call, 30 ms in; a call every 7 ms stops at the first multiple of 7 after
    the request; with signals it stops at the request."""
    late30, _ = sleeper_beside_loop(False, calls_per_ms=1 / 30)
    late7, _ = sleeper_beside_loop(False, calls_per_ms=1 / 7)
    request, _ = sleeper_beside_loop(False, calls="functions")
    assert late30 == pytest.approx(30 - 1, abs=0.01)
    assert late7 == pytest.approx(7 * math.ceil((request + 1) / 7) - 1, abs=0.01)
    with_signals, _ = sleeper_beside_loop(True, calls="functions")
    assert sleeper_beside_loop(True, calls_per_ms=1 / 30)[0] == with_signals


def test_calls_stay_where_they_are_in_the_loop_across_preemptions():
    """The calls sit at whole multiples of 1/r ms of the step's CPU: a 200 ms loop with a call
    every 7 ms, preempted again and again beside a competitor, is always stopped with a
    multiple of 7 ms of its CPU done."""
    loop = Go("loop", [cpu(LOOP_MS, calls_per_ms=1 / 7)])
    other = Go("other", [cpu(LOOP_MS, calls="functions")])
    res = simulate(
        Go("main", [spawn(loop), spawn(other)]), gomaxprocs=1, async_preempt=False, until_ms=2_000
    )
    seg = res.segments[res.segments["g"] == "loop"]
    done = (seg["end_ms"] - seg["start_ms"]).cumsum()
    assert len(seg) > 3
    for cpu_done in done[:-1]:
        assert cpu_done / 7 == pytest.approx(round(cpu_done / 7), abs=1e-6)


@pytest.mark.parametrize(
    ("step", "text"),
    [
        (cpu(5), "cpu(5)"),
        (cpu(5, calls=False), "cpu(5, calls=False)"),
        (cpu(5, calls="none"), "cpu(5, calls='none')"),
        (cpu(5, calls="leaf"), "cpu(5, calls='leaf')"),
        (cpu(5, calls="functions"), "cpu(5, calls='functions')"),
        (cpu(5, calls_per_ms=0.25), "cpu(5, calls_per_ms=0.25)"),
    ],
)
def test_a_step_reads_as_it_was_written(step, text):
    assert repr(step) == text
    assert eval(text, {"cpu": cpu}) == step  # noqa: S307 - the repr is the call that made it


def test_the_kinds_set_where_prologues_are():
    assert cpu(1).call_gap == cpu(1, calls="functions").call_gap == 0.0
    assert cpu(1, calls=False).call_gap == cpu(1, calls="leaf").call_gap == math.inf
    assert cpu(1, calls_per_ms=4).call_gap == 0.25
    assert set(pg.CALL_KINDS) == {True, False, "none", "leaf", "functions"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls": "leafs"}, r"cpu\(calls=...\) must be one of True, False, 'none', 'leaf' or "
         r"'functions' .*got 'leafs'"),
        ({"calls": 1}, r"cpu\(calls=...\) must be one of .* got 1"),
        ({"calls": None}, r"cpu\(calls=...\) must be one of .* got None"),
        ({"calls_per_ms": 0}, r"cpu\(calls_per_ms=...\) must be a finite number > 0 .* got 0"),
        ({"calls_per_ms": -2.0}, r"must be a finite number > 0 .* got -2.0"),
        ({"calls_per_ms": math.inf}, r"must be a finite number > 0 .* got inf"),
        ({"calls_per_ms": "3"}, r"cpu\(calls_per_ms=...\) must be a number > 0, got '3'"),
        ({"calls_per_ms": 1e-320}, r"too small to take its inverse"),
        ({"calls": "leaf", "calls_per_ms": 2}, r"cpu\(calls='leaf', calls_per_ms=2\): a call "
         r"rate counts ordinary functions"),
    ],
)  # fmt: skip
def test_bad_call_kinds_are_refused_by_name(kwargs, message):
    """A ProgramError (a LabkitError) naming the parameter, the value and what is accepted."""
    with pytest.raises(ProgramError, match=message):
        cpu(5, **kwargs)
