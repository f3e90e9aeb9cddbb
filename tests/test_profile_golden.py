"""Recorded real Go profiles (tests/data/profiles, scripts/regen_profiles.py) against the
`go tool pprof -top` output recorded with them: the decoder is checked without a Go toolchain."""

from __future__ import annotations

import json

import pytest
from strategies_profile import PROFILES, check_goroutine_profiles, load_regen_script

from labkit.profiles import load_profile

REGEN = load_regen_script()
CASES = [(name, t) for name, types in REGEN.PROTO_PROFILES.items() for t in types]


@pytest.mark.parametrize(("name", "sample_type"), CASES)
def test_top_equals_recorded_go_tool_pprof_top(name, sample_type):
    """Every function `go tool pprof -top -nodefraction=0 -sample_index=T` lists, with the same
    flat and cum, in the same order (graph.go FlatNameOrder), and no other."""
    expected = REGEN.parse_top((PROFILES / f"{name}.{sample_type}.top.txt").read_text())
    profile = load_profile(PROFILES / f"{name}.pb.gz")
    assert profile.top(None, sample_type) == expected


def test_recorded_profiles_are_what_go_writes():
    """runtime/pprof's sample types: CPU [samples/count, cpu/nanoseconds] at 100 Hz; heap
    [alloc_objects, alloc_space, inuse_objects, inuse_space] (default: the last, inuse_space);
    goroutine [goroutine/count]."""
    cpu = load_profile(PROFILES / "cpu.pb.gz")
    assert cpu.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert (cpu.period, cpu.period_type) == (10_000_000, ("cpu", "nanoseconds"))
    heap = load_profile(PROFILES / "heap.pb.gz")
    assert [t for t, _ in heap.sample_types] == list(REGEN.PROTO_PROFILES["heap"])
    assert heap.default_sample_type == "inuse_space"
    assert load_profile(PROFILES / "goroutine.pb.gz").sample_types == [("goroutine", "count")]


def test_recorded_cpu_profile_shows_inlining_and_recursion():
    """profilegen's main.mix is inlined into main.spin (a Location with two Lines) and main.fib
    recurses; root first, main.mix comes right after main.spin."""
    stacks = load_profile(PROFILES / "cpu.pb.gz").stacks()
    assert any(s[-2:] == ("main.spin", "main.mix") for s in stacks)
    assert any(s.count("main.fib") > 1 for s in stacks)


def test_recorded_goroutine_profiles():
    """States in the ?debug=2 dump are runtime.waitReasonStrings; the other two formats count
    the same goroutines."""
    check_goroutine_profiles(
        PROFILES, "goroutine-debug1.txt", "goroutine-debug2.txt", "goroutine.pb.gz"
    )


def test_recorded_files_are_small_and_labelled():
    for path in PROFILES.iterdir():
        assert path.stat().st_size < 200_000, path
    recorded = json.loads((PROFILES / "RECORDED.json").read_text())
    assert recorded["go"].startswith("go version go")
