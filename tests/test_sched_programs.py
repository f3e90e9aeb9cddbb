"""Goroutine programs compile to flat code (programs.compile_steps) that the scheduler walks with a
program counter. Walking the compiled code must visit exactly the steps of the program written
out in full, loop by loop, for any nesting of repeat()."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.models.scheduler import (
    Go,
    ProgramError,
    cpu,
    gosched,
    mark,
    repeat,
    simulate,
    sleep,
    spawn,
)
from labkit.models.scheduler import programs as pg


def written_out(steps) -> list:
    """The program with every repeat(n, body) expanded into n copies of its body."""
    out = []
    for s in steps:
        if s.kind == pg.REPEAT:
            for _ in range(s.n):
                out += written_out(s.steps)
        else:
            out.append(s)
    return out


def walk(code) -> list:
    """The scheduler's walk of compiled code (Scheduler.run's control steps), recording the rest."""
    seen, loops, pc = [], [], 0
    while code[pc].kind != pg.EXIT:
        s = code[pc]
        pc += 1
        if s.kind == pg.REPEAT:
            loops.append(s.n)
        elif s.kind == pg.LOOP_END:
            loops[-1] -= 1
            if loops[-1]:
                pc = s.n
            else:
                loops.pop()
        else:
            seen.append(s)
    assert not loops
    return seen


def as_run(s):
    """What the scheduler runs for a written step: sleep(d <= 0) is the call's CPU time."""
    if s.kind == pg.SLEEP and s.ms <= 0:
        return ("cpu", pg.SLEEP_NOOP_MS)
    return s


leaf = st.sampled_from([cpu(1), cpu(2, calls=False), gosched(), mark("a"), sleep(0), sleep(1)])
programs = st.recursive(
    st.lists(leaf, max_size=4),
    lambda inner: st.lists(
        st.one_of(leaf, st.builds(repeat, st.integers(0, 3), inner)), max_size=4
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(programs)
def test_compiled_code_walks_the_program_written_out(steps):
    code = Go("g", steps).code
    got = [
        ("cpu", s.ms) if s.kind == pg.CPU and s.ms == pg.SLEEP_NOOP_MS else s for s in walk(code)
    ]
    assert got == [as_run(s) for s in written_out(steps)]


def test_loops_compile_to_a_header_the_body_and_a_jump_back():
    code = Go("g", [repeat(3, [cpu(1), repeat(2, [gosched()])]), mark("done")]).code
    assert [s.kind for s in code] == [
        pg.REPEAT, pg.CPU, pg.REPEAT, pg.GOSCHED, pg.LOOP_END, pg.LOOP_END, pg.MARK, pg.EXIT,
    ]  # fmt: skip
    assert code[4].n == 3 and code[5].n == 1  # each jumps back to the first step of its body


def test_a_loop_once_is_its_body_and_empty_loops_vanish():
    assert Go("a", [repeat(1, [cpu(1), gosched()])]).code == Go("b", [cpu(1), gosched()]).code
    assert Go("c", [repeat(0, [cpu(1)]), repeat(5, []), repeat(4, [repeat(0, [cpu(1)])])]).code == (
        Go("d", []).code
    )


def test_a_spawn_in_a_loop_that_runs_twice_is_rejected_where_it_is_written():
    """One Go object is one goroutine; a loop would start it twice under one name."""
    with pytest.raises(ProgramError, match=re.escape("repeat(2, ...) contains spawn()")):
        repeat(2, [cpu(1), repeat(1, [spawn(Go("w", [cpu(1)]))])])
    once = Go("main", [repeat(1, [spawn(Go("w", [cpu(1)]))])])
    assert simulate(once, gomaxprocs=1).finished_ms["w"] is not None


def test_a_long_loop_is_not_expanded():
    """repeat(n) costs one header and one jump whatever n is: a million turns compile small."""
    assert len(Go("g", [repeat(1_000_000, [cpu(0.001), gosched()])]).code) == 5
