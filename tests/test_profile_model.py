"""Profile.from_stacks, top/total invariants, diff, and the exports (folded, speedscope, pprof)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from strategies_profile import stack_maps

from labkit.profiles import Profile, ProfileError, load_profile
from labkit.profiles.export import SPEEDSCOPE_SCHEMA


def test_from_stacks_with_several_sample_types():
    """The scheduler model's samples: a value per sample type; default the last (pprof)."""
    p = Profile.from_stacks(
        {("main.main", "main.work"): (3, 30), ("main.main",): [1, 10]},
        [("samples", "count"), ("cpu", "nanoseconds")],
        period=10,
        period_type=("cpu", "nanoseconds"),
        source="sched model seed=1",
    )
    assert (p.source, p.format, p.default_sample_type) == ("sched model seed=1", "stacks", "cpu")
    assert p.stacks() == {("main.main", "main.work"): 30, ("main.main",): 10}
    assert p.top(None, "samples") == [("main.work", 3, 3), ("main.main", 1, 4)]
    assert (p.period, p.period_type) == (10, ("cpu", "nanoseconds"))


def test_from_stacks_sums_equal_stacks_and_takes_plain_ints():
    p = Profile.from_stacks({("a", "b"): 2, ("a",): 1}, default_sample_type="samples")
    assert p.sample_types == [("samples", "count")]
    assert p.total() == 3


@pytest.mark.parametrize(
    ("stacks", "kwargs", "problem"),
    [
        ({"a;b": 1}, {}, "a stack must be a tuple of function names"),
        ({("a", ""): 1}, {}, "frame names must be non-empty str"),
        ({("a",): 1.5}, {}, "must be an integer"),
        ({("a",): True}, {}, "must be an integer"),
        ({("a",): (1, 2)}, {}, "has 2 value"),
        ({("a",): 1 << 63}, {}, "does not fit in int64"),
        ({("a",): 1}, {"sample_types": []}, "sample_types is empty"),
        ({("a",): 1}, {"sample_types": [("a", "b", "c")]}, "not a .type, unit. pair"),
        ({("a",): 1}, {"default_sample_type": "cpu"}, "default sample type 'cpu' is not one"),
        ([("a",)], {}, "stacks must be a mapping"),
    ],
)
def test_from_stacks_refuses_bad_input(stacks, kwargs, problem):
    with pytest.raises(ProfileError, match=problem):
        Profile.from_stacks(stacks, **kwargs)


@settings(max_examples=200, deadline=None)
@given(stack_maps)
def test_top_invariants(stacks):
    """For any stacks: flats add up to the total minus empty stacks; each cum is at least its
    flat and at most the total; a root's cum is the sum of its stacks; order is pprof's."""
    p = Profile.from_stacks(stacks)
    rows = p.top(None)
    total = p.total()
    assert sum(flat for _, flat, _ in rows) == total - stacks.get((), 0)
    for fn, flat, cum in rows:
        assert 0 <= flat <= cum <= total
        assert cum == sum(v for s, v in stacks.items() if fn in s)
    assert rows == sorted(rows, key=lambda r: (-r[1], r[0]))
    assert len({fn for fn, _, _ in rows}) == len(rows)


@settings(max_examples=200, deadline=None)
@given(stack_maps)
def test_exports_round_trip(stacks):
    """Folded text and pprof protobuf read back to the same stacks (empty stacks are not
    representable in folded text); the same profile gives the same bytes (gzip mtime 0)."""
    p = Profile.from_stacks(stacks)
    nonzero = {s: v for s, v in stacks.items() if v}
    folded = p.to_folded()
    if any(nonzero.keys() - {()}):
        assert load_profile(folded.encode()).stacks() == {s: v for s, v in nonzero.items() if s}
    assert load_profile(p.to_pprof()).stacks() == nonzero
    assert p.to_pprof() == Profile.from_stacks(stacks).to_pprof()


def test_speedscope_document():
    """speedscope's file format: shared frames, one sampled profile, stacks as frame indices
    root first, weights their values; units mapped to speedscope's ("count" -> "none")."""
    p = Profile.from_stacks(
        {("main", "work"): (3, 30), ("main", "rec", "rec"): (2, 20)},
        [("samples", "count"), ("cpu", "nanoseconds")],
        source="cpu.pprof",
    )
    doc = p.to_speedscope()
    assert doc["$schema"] == SPEEDSCOPE_SCHEMA
    assert doc["shared"]["frames"] == [{"name": "main"}, {"name": "work"}, {"name": "rec"}]
    (prof,) = doc["profiles"]
    assert prof["type"] == "sampled" and prof["unit"] == "nanoseconds"
    assert prof["samples"] == [[0, 1], [0, 2, 2]]
    assert prof["weights"] == [30, 20]
    assert prof["endValue"] == 50
    assert p.to_speedscope("samples")["profiles"][0]["unit"] == "none"
    json.dumps(doc)  # it is plain JSON data


def test_diff_gives_before_and_after_per_stack():
    """-diff_base semantics: the delta of a stack is after - before; stacks of either side."""
    before = Profile.from_stacks({("main", "a"): 10, ("main", "b"): 5})
    after = Profile.from_stacks({("main", "a"): 4, ("main", "c"): 7})
    assert after.diff(before) == {
        ("main", "a"): (10, 4),
        ("main", "c"): (0, 7),
        ("main", "b"): (5, 0),
    }


def test_exports_refuse_what_they_cannot_write():
    neg = Profile.from_stacks({("a",): -3})
    with pytest.raises(ProfileError, match="negative"):
        neg.to_folded()
    with pytest.raises(ProfileError, match="negative"):
        neg.to_speedscope()
    with pytest.raises(ProfileError, match="';'"):
        Profile.from_stacks({("a;b",): 1}).to_folded()


def test_repr_says_what_it_is():
    p = Profile.from_stacks({("a",): 2}, source="x")
    assert repr(p) == "<Profile stacks from 'x': samples/count; 1 stacks; total samples = 2>"
