"""Lab 3's answer keys against the profiles' own stacks: the cause a key names must be the one
whose giveaway frames hold the most samples, read from the raw stacks (not from the top-6 table
the question prints), for the recorded real Go profiles and for the model's, seeds 0-19."""

from __future__ import annotations

import json

import pytest

from labkit.exercise import Exercise
from labkit.exercises import lab03

SEEDS = range(20)


def _giveaway(cause: str, stack: tuple[str, ...], callers: frozenset[str] = frozenset()) -> bool:
    """Whether one sampled stack shows ``cause``: a syscall leaf; a sync.Mutex slow path
    anywhere on it; the allocator or the GC's workers anywhere on it; or a leaf of the
    program's own that calls nothing (not in ``callers``) and is not the frame's drawing
    (main.renderFrame is the work itself)."""
    leaf = stack[-1]
    if cause == "syscall storm":
        return "Syscall" in leaf or leaf.startswith("syscall.")
    if cause == "lock contention":
        return any("Mutex" in f or "semacquire" in f for f in stack)
    if cause == "allocation / GC":
        return any(
            k in f
            for f in stack
            for k in ("mallocgc", "gcBgMarkWorker", "gcAssistAlloc", "memclrNoHeapPointers")
        )
    return leaf.startswith("main.") and leaf != "main.renderFrame" and leaf not in callers


def _callers(profile) -> frozenset[str]:
    """Every function that has a callee in some sampled stack."""
    return frozenset(f for stack in profile.stacks("samples") for f in stack[:-1])


def cause_from_stacks(profile) -> str:
    callers = _callers(profile)
    shares = {
        cause: sum(
            n for stack, n in profile.stacks("samples").items() if _giveaway(cause, stack, callers)
        )
        for cause in lab03.CAUSES
    }
    return max(shares, key=shares.get)


@pytest.mark.parametrize("scenario", list(lab03.RECORDED))
def test_each_recorded_profile_shows_its_own_cause(scenario):
    profile = lab03.recorded_profile(scenario)
    info = json.loads((lab03.PROFILE_DIR / "lab03-profiles.json").read_text(encoding="utf-8"))
    assert info["profiles"][scenario]["cause"] == lab03.RECORDED[scenario]
    assert cause_from_stacks(profile) == lab03.RECORDED[scenario]


@pytest.mark.parametrize("seed", SEEDS)
def test_recorded_cause_key_is_the_profiles_signature(seed):
    v = Exercise(lab03.recorded_cause, seed=seed).variant
    profile = lab03.recorded_profile(v.params["scenario"])
    assert v.choices[v.answer] == cause_from_stacks(profile)


@pytest.mark.parametrize("seed", SEEDS)
def test_model_cause_key_is_the_profiles_signature(seed):
    v = Exercise(lab03.model_cause, seed=seed).variant
    profile = lab03.model_profile(v.params["cause"], v.params["seed"]).profile
    assert v.choices[v.answer] == cause_from_stacks(profile)


@pytest.mark.parametrize("seed", SEEDS)
def test_diff_fix_key_is_the_signature_of_what_the_fix_removed(seed):
    """The samples the fix removed (before minus after, per stack) show the cured cause."""
    v = Exercise(lab03.diff_fix, seed=seed).variant
    before, after = lab03.diff_case(seed)
    callers = _callers(before)
    removed = {
        cause: sum(
            max(0, n - after.stacks("samples").get(stack, 0))
            for stack, n in before.stacks("samples").items()
            if _giveaway(cause, stack, callers)
        )
        for cause in lab03.CAUSES
    }
    assert v.choices[v.answer] == max(removed, key=removed.get)


def test_the_alloc_recording_shows_runtime_locks_that_are_not_a_mutex():
    """runtime.lock2 / unlock2 in the allocation profile are the scheduler's and the
    sweeper's locks, not sync.Mutex: a learner who reads them as lock contention is wrong, and
    the cause text no longer calls them page-allocator locks."""
    top = [fn for fn, _, _ in lab03.recorded_profile("alloc").top(6)]
    assert "runtime.unlock2" in top and not any("Mutex" in fn for fn in top)
    assert "page-allocator" not in lab03.CAUSES["allocation / GC"]
