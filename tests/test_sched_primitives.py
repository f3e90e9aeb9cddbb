"""The scheduler model's primitives behave as the code they mirror, one behaviour per test.

mark(label, value); spawn inside repeat is in test_sched_programs.py. Each test is a tiny
program whose outcome follows from the runtime source it names (go1.27.3's src/), so a model
that gets the mechanism wrong fails it.
"""

from __future__ import annotations

import pytest

from labkit.models.scheduler import Go, ProgramError, cpu, mark, repeat, simulate, spawn


def test_a_mark_keeps_its_value_beside_its_time_in_order():
    """mark(label, value) adds the value to Result.mark_values[label], in the order of
    Result.marks[label] (which stays a list of times for every reader); a mark without a value
    has None there. Two goroutines writing the same label interleave as they ran."""
    a = Go("a", [repeat(3, [mark("step", 1), cpu(1)])])
    b = Go("b", [cpu(0.5), mark("step"), cpu(1), mark("step", "b done")])
    res = simulate(Go("main", [spawn(a), spawn(b)]), gomaxprocs=2)
    assert res.marks["step"] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0], abs=0.01)
    assert res.mark_values["step"] == [1, None, 1, "b done", 1]
    plain = simulate(Go("main", [mark("x"), cpu(1), mark("x")]))
    assert plain.mark_values == {"x": [None, None]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [1], True, object()])
def test_a_mark_value_must_be_a_finite_number_or_a_str(value):
    with pytest.raises(ProgramError, match="mark\\('x', value\\)"):
        mark("x", value)
