"""Every exercise in the course: for many seeds the model's answer passes and a wrong one fails.

This is the generic guard; tests/test_exercises_wrong.py checks the named mistakes of each
exercise, and tests/test_exercises_<lab>.py check each answer key against an independent
derivation (a closed form from the runtime's constants, or a recorded real Go run).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import labkit.exercises
from labkit.exercises.seeded import Exercise, Variant


def _makers():
    """Every notebook's question makers (``labkit.exercises.seeded`` is the exercise itself: its
    ``numeric`` and ``choice`` build Variants from given numbers, they draw no question)."""
    for mod in pkgutil.iter_modules(labkit.exercises.__path__):
        if mod.name == "seeded":
            continue
        module = importlib.import_module(f"labkit.exercises.{mod.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                hints = inspect.get_annotations(fn, eval_str=True)
                if hints.get("return") is Variant:
                    yield pytest.param(fn, id=f"{mod.name}.{name}")


MAKERS = list(_makers())


def test_the_course_has_exercises():
    assert len(MAKERS) >= 2


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_right_answer_passes_and_wrong_answer_fails(make, seed):
    ex = Exercise(make, seed=seed)
    v = ex.variant
    assert ex.check(v.answer), ex.text()
    if v.is_choice:
        for i in range(len(v.choices)):
            assert ex.check(i) == (i == v.answer)
    else:
        off = abs(float(v.answer)) * (v.rel_tol * 3 + 0.1) + v.abs_tol * 3 + 1e-9
        highest = max([float(v.answer), *(a.hi for a in v.also)])
        lowest = min([float(v.answer), *(a.lo for a in v.also)])
        assert not ex.check(highest + off)
        assert not ex.check(lowest - off)
        for a in v.also:  # every other accepted answer is inside the key's reach
            assert ex.check(a.lo) and ex.check(a.hi) and ex.check((a.lo + a.hi) / 2)
    assert v.solution and v.solution in ex.reveal()
    assert v.solution not in ex.text()


@pytest.mark.parametrize("make", MAKERS)
def test_seeds_vary_the_question(make):
    assert len({Exercise(make, seed=s).text() for s in range(12)}) >= 2


#: Multiple-choice questions whose choices form a scale and read in its order (about the same,
#: about half, a tenth, none): their right letter may stay where the idea puts it.
SCALES = {"ch01.pool_gc_rate"}


def right_letters(make, seeds: range) -> str:
    """The right answer's letter of a multiple-choice question at each seed ("" for a numeric
    question); stops at the second letter seen, which is all the check needs."""
    letters = ""
    for seed in seeds:
        v = Exercise(make, seed=seed).variant
        if not v.is_choice:
            return ""
        letters += "ABCDEFGH"[v.answer]
        if len(set(letters)) > 1:
            break
    return letters


@pytest.mark.parametrize("make", MAKERS)
def test_no_multiple_choice_keeps_its_right_letter_for_every_seed(make, request):
    """A question whose right idea is the same at every seed (chapter 1's late frames wait for
    the P; lab 1's victim cache keeps the buffer) shuffles its choices by the seed
    (``choice(..., shuffle=rng)``): **New variant** must not teach a letter."""
    name = request.node.callspec.id.split("-")[0]
    letters = right_letters(make, range(6))
    if not letters or name in SCALES:
        return
    assert len(set(letters)) > 1, f"{name}: the right answer is {letters[0]} at seeds 0-5"


def test_the_letter_check_fails_on_a_question_that_keeps_its_letter():
    from labkit.exercises.seeded import choice

    def fixed(rng):
        n = int(rng.integers(1, 9))
        return choice(f"{n} goroutines?", ["one", "many"], 1, "Many.")

    def shuffled(rng):
        n = int(rng.integers(1, 9))
        return choice(f"{n} goroutines?", ["one", "many"], 1, "Many.", shuffle=rng)

    assert right_letters(fixed, range(6)) == "BBBBBB"
    assert len(set(right_letters(shuffled, range(6)))) == 2
