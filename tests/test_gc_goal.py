"""Heap goal, trigger and GOGC / GOMEMLIMIT parsing (labkit.models.gcpacer.goal, labkit.models.gcpacer.pacer).

Each expected value is worked out from src/runtime/mgcpacer.go (Go 1.27) by hand.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.models.gcpacer import (
    GCConfigError,
    Pacer,
    heap_goal_bytes,
    mark_worker_plan,
    memory_limit_heap_goal_bytes,
    parse_byte_count,
    parse_gogc,
    trigger_bytes,
)
from tests.strategies_gc import gc_percents, gogc_values, heap_sizes_bytes

MIB = 1 << 20


def test_gogc_100_doubles_the_live_heap():
    """commit: goal = live + live * 100/100, so 64 MiB live aims to finish at 128 MiB."""
    assert heap_goal_bytes(64 * MIB) == 128 * MIB


def test_stacks_and_globals_add_to_the_runway():
    """commit (Go 1.18+): goal = live + (live + stacks + globals) * GOGC/100."""
    assert heap_goal_bytes(64 * MIB, 100, stacks_bytes=8 * MIB, globals_bytes=2 * MIB) == 138 * MIB
    assert heap_goal_bytes(64 * MIB, 50, stacks_bytes=8 * MIB, globals_bytes=2 * MIB) == 101 * MIB


def test_small_heaps_get_the_4_mib_minimum_scaled_by_gogc():
    """setGCPercent: heapMinimum = defaultHeapMinimum (4 MiB) * GOGC / 100."""
    assert heap_goal_bytes(1 * MIB) == 4 * MIB
    assert heap_goal_bytes(1 * MIB, gogc=50) == 2 * MIB
    assert heap_goal_bytes(0, gogc=200) == 8 * MIB
    assert heap_goal_bytes(0) == 4 * MIB


def test_integer_arithmetic_matches_the_runtime():
    """commit uses uint64 arithmetic: (marked + stacks + globals) * GOGC / 100 rounds down."""
    assert heap_goal_bytes(10_000_001, gogc=33) == 10_000_001 + 10_000_001 * 33 // 100


@pytest.mark.parametrize("off", ["off", None, -1, -100, " off "])
def test_gogc_off_never_collects_without_a_memory_limit(off):
    """readGOGC: "off" -> -1; setGCPercent maps every negative value to -1; goal = ^uint64(0)."""
    assert parse_gogc(off) == -1
    assert heap_goal_bytes(64 * MIB, gogc=off) == math.inf


def test_gogc_zero_collects_at_the_live_heap_or_one_mib_above_right_after_a_cycle():
    """GOGC=0: goal = live and heapMinimum = 0; after mark termination commit(isSweepDone=false)
    keeps the goal sweepMinHeapDistance (1 MiB) above the live heap."""
    assert heap_goal_bytes(64 * MIB, gogc=0) == 64 * MIB
    assert heap_goal_bytes(64 * MIB, gogc=0, sweep_done=False) == 65 * MIB


def test_memory_limit_caps_the_goal_with_3_percent_headroom():
    """memoryLimitHeapGoal: (limit - non-heap) minus 3 %, when that is below the GOGC goal."""
    limit = 100 * MIB
    expected = limit - limit // 100 * 3
    assert heap_goal_bytes(64 * MIB, memory_limit=limit) == expected
    assert heap_goal_bytes(64 * MIB, memory_limit="100MiB") == expected
    # A generous limit leaves the GOGC goal alone.
    assert heap_goal_bytes(64 * MIB, memory_limit="1GiB") == 128 * MIB


def test_memory_limit_counts_stacks_but_not_globals():
    """Stacks are runtime-mapped non-heap memory; globals live in the binary's data segments."""
    limit = 100 * MIB
    with_stacks = heap_goal_bytes(64 * MIB, memory_limit=limit, stacks_bytes=10 * MIB)
    goal = limit - 10 * MIB
    assert with_stacks == goal - goal // 100 * 3
    assert heap_goal_bytes(64 * MIB, memory_limit=limit, globals_bytes=10 * MIB) == 97 * MIB


def test_memory_limit_works_with_gogc_off():
    """GOGC=off + GOMEMLIMIT: collect only to stay under the limit (the documented combination)."""
    assert heap_goal_bytes(64 * MIB, gogc="off", memory_limit=256 * MIB) == 256 * MIB - (
        256 * MIB // 100 * 3
    )


def test_memory_limit_goal_never_drops_below_the_live_heap():
    """memoryLimitHeapGoal: 'Don't let us go below the live heap'."""
    assert heap_goal_bytes(300 * MIB, memory_limit=100 * MIB) == 300 * MIB


def test_memory_limit_headroom_is_at_least_one_mib():
    """memoryLimitMinHeapGoalHeadroom: small limits lose at least 1 MiB, not 3 %."""
    assert memory_limit_heap_goal_bytes(10 * MIB, 1 * MIB) == 9 * MIB
    # Non-heap memory above the limit on its own: the goal is the marked heap (GC continuously).
    assert memory_limit_heap_goal_bytes(10 * MIB, 2 * MIB, non_heap_bytes=11 * MIB) == 2 * MIB


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), ("42B", 42), ("1KiB", 1024), ("512MiB", 512 * MIB), ("2GiB", 2 << 30)],
)
def test_gomemlimit_byte_counts_parse_like_the_runtime(text, expected):
    """parseByteCount (runtime/string.go): plain number or B/KiB/MiB/GiB/TiB suffix."""
    assert parse_byte_count(text) == expected


@pytest.mark.parametrize("text", ["512MB", "1.5GiB", "-1", "MiB", "", "1 GiB x"])
def test_malformed_gomemlimit_is_rejected(text):
    """parseByteCount rejects SI suffixes, fractions and signs (the runtime throws)."""
    with pytest.raises(GCConfigError, match="memory limit"):
        parse_byte_count(text)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"live_bytes": -1}, "live_bytes"),
        ({"live_bytes": float("nan")}, "live_bytes"),
        ({"live_bytes": "64MiB"}, "live_bytes"),
        ({"live_bytes": 1, "stacks_bytes": -5}, "stacks_bytes"),
        ({"live_bytes": 1, "gogc": "fast"}, "gogc"),
        ({"live_bytes": 1, "gogc": 1.5}, "gogc"),
        ({"live_bytes": 1, "memory_limit": -1}, "memory_limit"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    """Bad input is a ValueError naming what is wrong (readGOGC would silently use 100)."""
    with pytest.raises(ValueError, match=name):
        heap_goal_bytes(**kwargs)


def test_trigger_sits_at_95_percent_of_the_runway_without_a_cons_mark_estimate():
    """trigger: runway 0 -> goal; capped at maxTrigger = 61/64 of (goal - marked) above marked,
    or goal - 4 MiB when that is higher (large heaps)."""
    assert trigger_bytes(0, 4 * MIB, runway_bytes=0) == 4 * MIB // 64 * 61
    assert trigger_bytes(64 * MIB, 128 * MIB, runway_bytes=0) == 125 * MIB  # 61/64 of 64 MiB
    assert trigger_bytes(512 * MIB, 1024 * MIB, runway_bytes=0) == 1020 * MIB  # goal - 4 MiB


def test_trigger_never_below_70_percent_of_the_runway():
    """trigger: a huge runway is clamped to minTrigger = 45/64 of the way to the goal."""
    assert (
        trigger_bytes(64 * MIB, 128 * MIB, runway_bytes=1 << 40) == 64 * MIB + 64 * MIB // 64 * 45
    )


def test_trigger_follows_the_runway_in_between():
    """trigger = goal - runway when that lies within the bounds."""
    assert trigger_bytes(64 * MIB, 128 * MIB, runway_bytes=10 * MIB) == 118 * MIB


@given(marked=heap_sizes_bytes, gogc=gc_percents, runway=heap_sizes_bytes)
def test_trigger_lies_between_the_marked_heap_and_the_goal(marked, gogc, runway):
    """Invariant of trigger(): heapMarked <= trigger <= goal, and within the 45/64..61/64 band
    (or goal - 4 MiB) whenever the goal is above the marked heap."""
    goal = heap_goal_bytes(marked, gogc)
    trig = trigger_bytes(marked, goal, runway)
    assert marked <= trig <= goal or (goal <= marked and trig == goal)
    if goal > marked:
        assert trig >= marked + (goal - marked) // 64 * 45


@given(live=heap_sizes_bytes, gogc=gogc_values, limit=st.one_of(st.none(), heap_sizes_bytes))
def test_goal_is_never_below_the_live_heap(live, gogc, limit):
    """heapGoal >= live heap: GOGC goals add runway; the memory-limit goal is floored at it."""
    assert heap_goal_bytes(live, gogc, memory_limit=limit) >= live


@settings(max_examples=50)
@given(live=heap_sizes_bytes, low=gc_percents, high=gc_percents)
def test_goal_grows_with_gogc(live, low, high):
    """More GOGC, more runway: the goal is monotone in GOGC."""
    low, high = sorted((low, high))
    assert heap_goal_bytes(live, low) <= heap_goal_bytes(live, high)


@pytest.mark.parametrize(
    ("procs", "dedicated", "fractional"),
    [(1, 0, 0.25), (2, 0, 0.25), (3, 0, 0.25), (4, 1, 0.0), (6, 1, 0.5 / 6), (8, 2, 0.0)],
)
def test_mark_worker_counts_follow_start_cycle(procs, dedicated, fractional):
    """startCycle: dedicated = int(0.25 * GOMAXPROCS + 0.5); if more than 30 % off (GOMAXPROCS
    <= 3 or == 6) round down and add a fractional worker for the rest of the 25 %."""
    plan = mark_worker_plan(procs)
    assert plan.dedicated_workers == dedicated
    assert plan.fractional_utilization_goal == pytest.approx(fractional)
    assert plan.worker_cpus == pytest.approx(0.25 * procs)


def test_cons_mark_is_the_maximum_of_the_last_five_cycles():
    """endCycle: consMark = max(current, lastConsMark[0..3]) biases toward starting earlier."""
    pacer = Pacer(100, heap_marked_bytes=64 * MIB, heap_scan_bytes=64 * MIB)
    observed = []
    for alloc_during_mark in (8, 2, 1, 1, 1, 1):
        pacer.heap_live_bytes = 100.0 * MIB
        pacer.start_cycle()
        pacer.heap_live_bytes += alloc_during_mark * MIB
        pacer.scan_work_bytes = 64.0 * MIB
        pacer.end_cycle(assist_cpu_s=0.0, idle_cpu_s=0.0, mark_s=0.01, procs=4)
        observed.append(pacer.cons_mark)
        pacer.reset_live(64 * MIB, 64 * MIB, 0)
        pacer.commit(sweep_done=True)
    # current = alloc * 0.25 / (64 MiB * 0.75) = alloc / 192 MiB: 8 dominates for five cycles.
    assert observed[:5] == pytest.approx([8 / 192] * 5)
    assert observed[5] == pytest.approx(2 / 192)
