"""Seeded self-check exercises: a question from a seed, a check, a worked answer on request.

The shape follows OSTEP's homework simulators: one generator, two modes. The same seed always
gives the same question; ``check`` says whether an answer is right; ``reveal`` gives the model's
own worked answer. Nothing here imports a widget: ``labkit.widgets.ExerciseWidget`` is the view,
and an :class:`Exercise` displays as that widget in a notebook (and as plain text elsewhere).

Writing an exercise means writing one function ``make(rng) -> Variant`` that draws its numbers
from ``rng`` (a ``numpy.random.Generator``) and computes the answer *with the course's models*,
so the answer can never disagree with what the lab widget shows.

A numeric answer is read with its unit (:mod:`labkit.units`): a bare number is in the question's
unit, another unit of the same kind is converted (``0.01717 s`` for a question in ms; ``8.29 MB``
is 7.91 MiB, so a frame computed in decimal MB is *not* a right answer in MiB), and a unit of
another kind is refused with a message that names both. Where more than one answer is right (a
range real runs show, or a hand estimate beside the widget's figure) the Variant lists the others
in ``also``. ``Variant.params`` keeps the numbers the question was drawn with, so the tests can
compute the answers of common mistakes from them and check that each is rejected
(tests/test_exercises_wrong.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from labkit.units import Unit, UnitError, convert, parse_quantity, unit

__all__ = ["Accepted", "Exercise", "Variant", "numeric", "choice", "parse_number"]


class Accepted(NamedTuple):
    """Another right answer: any value from ``lo`` to ``hi`` (in the question's unit), and why.

    For a question with more than one defensible answer: a range that real runs show (a
    preemption lands 10-17.5 ms into a time slice), or a hand estimate beside the model's figure
    that the lab's widget shows. ``why`` completes "Right: ..." in the feedback."""

    lo: float
    hi: float
    why: str


#: What a prediction's figure is unless a Variant says otherwise.
MODEL_RUN = "the model's run of the question"


@dataclass(frozen=True)
class Variant:
    """One concrete question drawn from a seed.

    ``answer`` is a number (checked with ``rel_tol`` / ``abs_tol``, and against the ranges in
    ``also``) or, for a multiple-choice question, the index of the right entry in ``choices``.
    ``params`` are the numbers the question was drawn with (what tests compute wrong answers
    from); ``unit`` is the unit of the answer (see :mod:`labkit.units`).
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
    params: dict[str, object] = field(default_factory=dict)
    also: tuple[Accepted, ...] = ()
    #: The evidence the question is about, when it is a figure: a function that builds the
    #: widget (a flame graph), called when the exercise is shown, so a question can say "the
    #: graph above" and *New variant* brings its own graph. Not compared: two variants are the
    #: same question whatever object draws their figure.
    figure: Callable[[], object] | None = field(default=None, compare=False, repr=False)
    #: True when the figure *is* the answer (the model's run of the question's own program):
    #: the view keeps it hidden until the learner has checked a prediction or asked for the
    #: answer, then draws it beside the prediction. Predict first, then see.
    predict: bool = False
    #: What that figure is, as the line under it says ("... is drawn above"): the model's run,
    #: or real Go's (a twin's trace, a recording) where the answer comes from one.
    shows: str = field(default=MODEL_RUN, compare=False)
    #: A second figure, drawn under the evidence ``figure`` once the learner has committed:
    #: for a question whose evidence must be seen (a real trace to diagnose) and whose answer
    #: a view then confirms or refutes (the stall doctor's reading of that trace).
    answer_figure: Callable[[], object] | None = field(default=None, compare=False, repr=False)

    @property
    def draws_answer(self) -> bool:
        """True when a figure confirms or refutes the learner's answer after Check."""
        return self.predict or self.answer_figure is not None

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    def accepts(self, value: float) -> Accepted | None:
        """The accepted answer ``value`` matches (``answer`` itself comes first), or None."""
        if math.isclose(value, float(self.answer), rel_tol=self.rel_tol, abs_tol=self.abs_tol):
            return Accepted(float(self.answer), float(self.answer), "")
        return next((a for a in self.also if a.lo <= value <= a.hi), None)


def numeric(
    question: str,
    answer: float,
    solution: str,
    *,
    unit: str = "",
    rel_tol: float = 0.05,
    abs_tol: float = 0.0,
    hint: str = "",
    params: Mapping[str, object] | None = None,
    also: Sequence[Accepted | tuple[float, float, str]] = (),
    figure: Callable[[], object] | None = None,
    predict: bool = False,
    shows: str = MODEL_RUN,
) -> Variant:
    """A question whose answer is a number, accepted within ``rel_tol`` or ``abs_tol``, or in
    one of the ranges ``also`` lists; ``unit`` is the answer's unit (a bare number means it).
    ``figure`` / ``predict``: see :attr:`Variant.figure` and :attr:`Variant.predict`."""
    if not math.isfinite(answer):
        raise ValueError(f"answer must be a finite number, got {answer!r}")
    _unit(unit)  # an unknown unit is the exercise's bug: say so when it is defined
    ranges = tuple(Accepted(float(lo), float(hi), str(why)) for lo, hi, why in also)
    for r in ranges:
        if not (math.isfinite(r.lo) and math.isfinite(r.hi) and r.lo <= r.hi):
            raise ValueError(f"an accepted range needs finite lo <= hi, got {r.lo!r}..{r.hi!r}")
    return Variant(
        question,
        float(answer),
        solution,
        unit=unit,
        rel_tol=rel_tol,
        abs_tol=abs_tol,
        hint=hint,
        params=dict(params or {}),
        also=ranges,
        figure=figure,
        predict=_predict(figure, predict),
        shows=shows,
    )


def choice(
    question: str,
    choices: Sequence[str],
    answer: int,
    solution: str,
    *,
    hints: dict[int, str] | None = None,
    params: Mapping[str, object] | None = None,
    figure: Callable[[], object] | None = None,
    predict: bool = False,
    shows: str = MODEL_RUN,
    answer_figure: Callable[[], object] | None = None,
    shuffle: np.random.Generator | None = None,
) -> Variant:
    """A multiple-choice question; ``answer`` is the index of the right choice; ``figure``
    builds the widget the question is about, shown after the learner's answer when
    ``predict`` (see :attr:`Variant.figure` and :attr:`Variant.predict`).

    ``shuffle``, the question's own generator, puts the choices in an order drawn from it (the
    right one and each hint moving with their text). For a question whose right *idea* is the
    same at every seed, so that **New variant** does not keep the right letter in one place for
    a learner to learn instead of the idea; not for choices that form a scale (about the same,
    about half, a tenth), which read in their order. The order is drawn last, after the numbers
    the question was drawn with, so a seed's numbers do not change with it."""
    if len(choices) < 2:
        raise ValueError("choices must list at least two options")
    if not 0 <= answer < len(choices):
        raise ValueError(f"answer must index choices (0..{len(choices) - 1}), got {answer}")
    hints = dict(hints or {})
    if shuffle is not None:
        order = [int(i) for i in shuffle.permutation(len(choices))]  # new place -> old index
        place = {old: new for new, old in enumerate(order)}
        choices = [choices[i] for i in order]
        answer = place[int(answer)]
        hints = {place[i]: text for i, text in hints.items()}
    return Variant(
        question,
        int(answer),
        solution,
        choices=tuple(choices),
        hints=hints,
        params=dict(params or {}),
        figure=figure,
        predict=_predict(figure, predict),
        shows=shows,
        answer_figure=answer_figure,
    )


def _predict(figure: Callable[[], object] | None, predict: bool) -> bool:
    if predict and figure is None:
        raise ValueError("predict=True needs the figure that shows the answer (figure=...)")
    return bool(predict)


def _unit(text: str) -> Unit:
    try:
        return unit(text)
    except UnitError as exc:
        raise ValueError(f"the exercise's unit is not one labkit.units knows: {exc}") from None


def parse_number(text: str | float | int, unit: str = "") -> float:
    """Read a learner's number in ``unit``: ``"14.5"``, ``"0.0145 s"``, ``"1,000"``, ``"2e3"``.

    A bare number is taken to be in ``unit``; a number with a unit of the same kind is
    converted to it (``parse_number("0.0145 s", "ms") == 14.5``); a unit of another kind raises
    ValueError with a message meant for the learner ("17.17 GiB is a size; this question asks
    for a time in ms"), as does text that is not a number.
    """
    return _read(text, _unit(unit))[0]


def _read(text: str | float | int, target: Unit) -> tuple[float, str]:
    """(value in ``target`` units, "0.0145 s = 14.5 ms" when a conversion happened, else "")."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text), ""
    number, given = parse_quantity(str(text))
    value = convert(number, given, target, text=str(text).strip())
    if given.kind == "number" or given.symbol == target.symbol:
        return value, ""
    return value, f"{number:g} {given.symbol} = {_show(value, target)}"


def _show(value: float, target: Unit) -> str:
    """``value`` to 4 significant digits, without exponents in the range answers live in."""
    size = abs(value)
    if 1e-3 <= size < 1e9:
        text = f"{value:,.{max(0, 3 - math.floor(math.log10(size)))}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
    else:
        text = f"{value:.4g}"
    return text + (f" {target.symbol}" if target.symbol else "")


#: What the text of a question about a figure adds for a reader without the figure.
FIGURE_NOTE = "\n  (the figure above the question is drawn when the notebook runs)"
#: ... and of a prediction, whose figure is the answer.
PREDICT_NOTE = "\n  (predict first: {shows} is drawn once you have checked your answer)"


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
        """True when ``answer`` is right. A number within tolerance or in an accepted range,
        in the question's unit or converted from another of the same kind; or the right choice
        (as its index, its letter ``"B"``, or its text)."""
        v = self.variant
        try:
            if v.is_choice:
                return self._choice_index(answer) == v.answer
            value, _ = _read(answer, _unit(v.unit))  # type: ignore[arg-type]
        except ValueError:
            return False
        return v.accepts(value) is not None

    def feedback(self, answer: object) -> str:
        """One line for the learner: right, wrong with a hint, or why the answer was not read.
        An answer given in another unit is shown converted to the question's."""
        v = self.variant
        try:
            if v.is_choice:
                idx = self._choice_index(answer)
                if idx == v.answer:
                    return "Right."
                why = v.hints.get(idx, "")
                return "Not quite." + (f" {why}" if why else " Look at the plot again.")
            target = _unit(v.unit)
            value, converted = _read(answer, target)  # type: ignore[arg-type]
        except ValueError as exc:
            return f"Could not read that: {exc}."
        hit = v.accepts(value)
        if hit is not None:
            said = f" ({converted})" if converted else ""
            return f"Right.{said}" + (f" That is {hit.why}." if hit.why else "")
        right = [float(v.answer), *(x for a in v.also for x in (a.lo, a.hi))]
        hint = f" Hint: {v.hint}" if v.hint else ""
        shown = converted or _show(value, target)
        if min(right) < value < max(right):  # "too high" for one right answer, low for another
            return (
                f"Not quite: {shown} falls between two answers that are right; check your "
                f"arithmetic, or read the run again.{hint}"
            )
        direction = "high" if value > max(right) else "low"
        return f"Not quite: {shown} is too {direction}.{hint}"

    def reveal(self) -> str:
        """The worked answer (and any other answers that are also right)."""
        v = self.variant
        if v.is_choice:
            right = f"{chr(65 + int(v.answer))}. {v.choices[int(v.answer)]}"
            return f"Answer: {right}\n\n{v.solution}"
        target = _unit(v.unit)
        also = "".join(
            f"\nAlso right: {_show(a.lo, target)}"
            + (f" to {_show(a.hi, target)}" if a.hi > a.lo else "")
            + f" ({a.why})"
            for a in v.also
        )
        return f"Answer: {_show(float(v.answer), target)}{also}\n\n{v.solution}"

    def text(self) -> str:
        """The question as plain text (what a reader without JavaScript sees)."""
        v = self.variant
        head = f"{self.title} (seed {self.seed})\n" if self.title else f"(seed {self.seed})\n"
        body = v.question
        if v.predict:
            body += PREDICT_NOTE.format(
                shows="the model's run" if v.shows == MODEL_RUN else v.shows
            )
        elif v.figure is not None:
            body += FIGURE_NOTE
        if v.answer_figure is not None:
            body += PREDICT_NOTE.format(shows=v.shows)
        if v.is_choice:
            body += "\n" + "\n".join(f"  {chr(65 + i)}. {c}" for i, c in enumerate(v.choices))
        elif v.unit:
            body += f"\n  (answer in {v.unit})"
        return head + body

    def widget(self):
        """The interactive view: answer box, Check, Reveal, New variant."""
        from labkit.widgets.exercise_widget import ExerciseWidget

        return ExerciseWidget(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        view = self.widget()
        bundle = view._repr_mimebundle_(include=include, exclude=exclude)
        bundle["text/plain"] = self.text()
        if view.figure is not None:  # a reader without a kernel sees the graph and the question
            bundle["image/svg+xml"] = view.picture()
        return bundle

    def __repr__(self) -> str:
        return f"Exercise({self.title!r}, seed={self.seed})"
