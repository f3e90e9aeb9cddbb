"""Seeded self-check exercises: a question from a seed, a check, a worked answer on request.

The shape follows OSTEP's homework simulators: one generator, two modes. The same seed always
gives the same question; ``check`` says whether an answer is right; ``reveal`` gives the model's
own worked answer. Nothing here imports a widget: ``labkit.widgets.ExerciseWidget`` is the view,
and an :class:`Exercise` displays as that widget in a notebook (and as plain text elsewhere).

Writing an exercise means writing one function ``make(rng) -> Variant`` that draws its numbers
from ``rng`` (a ``numpy.random.Generator``) and computes the answer *with the course's models*,
so the answer can never disagree with what the lab widget shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Exercise", "Variant", "numeric", "choice", "parse_number"]


@dataclass(frozen=True)
class Variant:
    """One concrete question drawn from a seed.

    ``answer`` is a number (checked with ``rel_tol`` / ``abs_tol``) or, for a multiple-choice
    question, the index of the right entry in ``choices``.
    """

    question: str
    answer: float | int
    solution: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    rel_tol: float = 0.05
    abs_tol: float = 0.0
    hint: str = ""
    hints: dict[int, str] = field(default_factory=dict)  # choice index -> why it is wrong

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)


def numeric(
    question: str,
    answer: float,
    solution: str,
    *,
    unit: str = "",
    rel_tol: float = 0.05,
    abs_tol: float = 0.0,
    hint: str = "",
) -> Variant:
    """A question whose answer is a number, accepted within ``rel_tol`` or ``abs_tol``."""
    if not math.isfinite(answer):
        raise ValueError(f"answer must be a finite number, got {answer!r}")
    return Variant(
        question, float(answer), solution, unit=unit, rel_tol=rel_tol, abs_tol=abs_tol, hint=hint
    )


def choice(
    question: str,
    choices: Sequence[str],
    answer: int,
    solution: str,
    *,
    hints: dict[int, str] | None = None,
) -> Variant:
    """A multiple-choice question; ``answer`` is the index of the right choice."""
    if len(choices) < 2:
        raise ValueError("choices must list at least two options")
    if not 0 <= answer < len(choices):
        raise ValueError(f"answer must index choices (0..{len(choices) - 1}), got {answer}")
    return Variant(question, int(answer), solution, choices=tuple(choices), hints=hints or {})


_NUMBER = re.compile(r"^\s*([-+]?(?:\d[\d_,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Zµ/%]*)\s*$")


def parse_number(text: str | float | int) -> float:
    """Read a learner's number: ``"14.5"``, ``"14.5 ms"``, ``"1,000"``, ``"2e3"``.

    Raises ValueError with a message meant for the learner when it is not a number.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    m = _NUMBER.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a number; type digits such as 14.5")
    return float(m.group(1).replace(",", "").replace("_", ""))


class Exercise:
    """A seeded exercise: ``make(rng)`` builds the question; ``check`` marks an answer.

    >>> ex = Exercise(lambda rng: numeric("2 + 2?", 4, "Two and two make four."), seed=1)
    >>> ex.check(4), ex.check("5")
    (True, False)
    """

    def __init__(
        self,
        make: Callable[[np.random.Generator], Variant],
        *,
        seed: int = 0,
        title: str = "",
    ) -> None:
        if not callable(make):
            raise TypeError("make must be a function rng -> Variant")
        self._make = make
        self.title = title
        self.seed = int(seed)
        self.variant = self._draw(self.seed)

    def _draw(self, seed: int) -> Variant:
        variant = self._make(np.random.default_rng(seed))
        if not isinstance(variant, Variant):
            raise TypeError(f"make(rng) must return a Variant, got {type(variant).__name__}")
        return variant

    @property
    def question(self) -> str:
        return self.variant.question

    def new_variant(self, seed: int | None = None) -> Variant:
        """Draw another question: the next seed, or the one given."""
        self.seed = self.seed + 1 if seed is None else int(seed)
        self.variant = self._draw(self.seed)
        return self.variant

    def _choice_index(self, answer: object) -> int:
        v = self.variant
        if isinstance(answer, int) and not isinstance(answer, bool):
            idx = answer
        elif isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().isalpha():
            idx = ord(answer.strip().upper()) - ord("A")
        elif isinstance(answer, str) and answer in v.choices:
            idx = v.choices.index(answer)
        else:
            raise ValueError(f"{answer!r} is not one of the choices")
        if not 0 <= idx < len(v.choices):
            raise ValueError(f"choice {answer!r} is out of range (A..{chr(64 + len(v.choices))})")
        return idx

    def check(self, answer: object) -> bool:
        """True when ``answer`` is right. A number within tolerance, or the right choice
        (as its index, its letter ``"B"``, or its text)."""
        v = self.variant
        try:
            if v.is_choice:
                return self._choice_index(answer) == v.answer
            value = parse_number(answer)  # type: ignore[arg-type]
        except ValueError:
            return False
        return math.isclose(value, float(v.answer), rel_tol=v.rel_tol, abs_tol=v.abs_tol)

    def feedback(self, answer: object) -> str:
        """One line for the learner: right, wrong with a hint, or why the answer was not read."""
        v = self.variant
        try:
            if v.is_choice:
                idx = self._choice_index(answer)
                if idx == v.answer:
                    return "Right."
                why = v.hints.get(idx, "")
                return "Not quite." + (f" {why}" if why else " Look at the plot again.")
            value = parse_number(answer)  # type: ignore[arg-type]
        except ValueError as exc:
            return f"Could not read that: {exc}."
        if self.check(value):
            return "Right."
        direction = "high" if value > float(v.answer) else "low"
        hint = f" Hint: {v.hint}" if v.hint else ""
        return f"Not quite: {value:g}{(' ' + v.unit) if v.unit else ''} is too {direction}.{hint}"

    def reveal(self) -> str:
        """The worked answer."""
        v = self.variant
        if v.is_choice:
            right = f"{chr(65 + int(v.answer))}. {v.choices[int(v.answer)]}"
            return f"Answer: {right}\n\n{v.solution}"
        unit = f" {v.unit}" if v.unit else ""
        return f"Answer: {float(v.answer):.4g}{unit}\n\n{v.solution}"

    def text(self) -> str:
        """The question as plain text (what a reader without JavaScript sees)."""
        v = self.variant
        head = f"{self.title} (seed {self.seed})\n" if self.title else f"(seed {self.seed})\n"
        body = v.question
        if v.is_choice:
            body += "\n" + "\n".join(f"  {chr(65 + i)}. {c}" for i, c in enumerate(v.choices))
        elif v.unit:
            body += f"\n  (answer in {v.unit})"
        return head + body

    def widget(self):
        """The interactive view: answer box, Check, Reveal, New variant."""
        from labkit.widgets.exercise import ExerciseWidget

        return ExerciseWidget(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/plain"] = self.text()
        return bundle

    def __repr__(self) -> str:
        return f"Exercise({self.title!r}, seed={self.seed})"
