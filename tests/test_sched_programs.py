"""Goroutine programs compile to flat code (programs.compile_steps) that the scheduler walks with a
program counter. Walking the compiled code must visit exactly the steps of the program written
out in full, loop by loop, for any nesting of repeat()."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.models.scheduler import (
    Go,
    ProgramError,
    cpu,
    cpu_demand_ms,
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


def test_a_spawn_in_a_loop_starts_numbered_goroutines_in_newprocs_order():
    """Each spawn is a newproc: a new G into runnext, the previous runnext kicked to the tail of
    the local queue (runqput, src/runtime/proc.go:7529). Five spawns of one Go in a loop are five
    goroutines, named in the order they were created (w#1 first), and with GOMAXPROCS=1 they
    run w#5, w#1, w#2, w#3, w#4, as five distinct Gos do (test_sched.py's spawn order)."""
    w = Go("w", [mark("ran"), cpu(0.5)])
    res = simulate(Go("main", [repeat(5, [spawn(w)]), sleep(10)]), gomaxprocs=1)
    names = [f"w#{k}" for k in range(1, 6)]
    assert list(res.finished_ms) == ["main", *names]
    assert [res.created_ms[n] for n in names] == sorted(res.created_ms[n] for n in names)
    assert res.segments["g"].tolist() == ["w#5", "w#1", "w#2", "w#3", "w#4"]
    assert res.cpu_ms() == pytest.approx({"main": 0.0, **dict.fromkeys(names, 0.5)})
    # a profile and a dump show the function, as Go's do: every copy runs main.w
    assert res.cpu_samples(hz=10_000) == {("main.w",): 25}
    dump = res.goroutine_dump(res.created_ms["w#5"])
    assert dump.count("main.w(...)") == 5 and dump.count("created by main.main in goroutine 1") == 5
    assert len(res.marks["ran"]) == 5 and all(v is not None for v in res.finished_ms.values())


def test_copies_of_copies_are_counted_before_the_run_and_named_as_created():
    """A Go spawned by each of the copies of another: 2 x 3 copies, all listed before the run
    (finished_ms says None for those a short run did not reach) and numbered in creation order;
    each was created by the copy that spawned it."""
    leaf = Go("leaf", [cpu(1)])
    mid = Go("mid", [repeat(3, [spawn(leaf)]), cpu(1)])
    main = Go("main", [repeat(2, [spawn(mid), cpu(0.1)])])
    assert cpu_demand_ms(main) == {
        "main": pytest.approx(0.2),
        **{f"mid#{k}": 1.0 for k in (1, 2)},
        **{f"leaf#{k}": 1.0 for k in range(1, 7)},
    }
    res = simulate(main, gomaxprocs=2)
    assert sorted(res.finished_ms) == sorted(cpu_demand_ms(main))
    assert all(v is not None for v in res.finished_ms.values())
    goids = {g["name"]: g for g in res._goroutines}
    # mid#1 spawned leaf#1..3, mid#2 leaf#4..6 (it was created later)
    for k in range(1, 7):
        creator = "mid#1" if k <= 3 else "mid#2"
        assert goids[f"leaf#{k}"]["creator_goid"] == goids[creator]["goid"]
    cut = simulate(main, gomaxprocs=1, until_ms=0.05)
    assert cut.finished_ms["leaf#6"] is None and cut.created_ms["leaf#6"] is None


def test_one_name_for_two_different_goroutines_is_still_an_error():
    """Names tell goroutines apart in every Result table: two Go objects may not share one, and
    '#' is kept for the numbered copies."""
    with pytest.raises(ProgramError, match="two different goroutines are named 'w'"):
        simulate(Go("main", [spawn(Go("w", [cpu(1)])), spawn(Go("w", [cpu(2)]))]))
    with pytest.raises(ProgramError, match="'#'"):
        Go("w#1", [cpu(1)])
    one = Go("w", [cpu(1)])
    twice = simulate(Go("main", [spawn(one), spawn(one)]), gomaxprocs=1)
    assert sorted(twice.finished_ms) == ["main", "w#1", "w#2"]


def test_a_long_loop_is_not_expanded():
    """repeat(n) costs one header and one jump whatever n is: a million turns compile small."""
    assert len(Go("g", [repeat(1_000_000, [cpu(0.001), gosched()])]).code) == 5
