"""The course's exercises: the seeded exercise itself, and one module of questions per notebook.

``labkit.exercises.seeded`` is the exercise (:class:`Exercise`, :class:`Variant`, ``numeric``,
``choice``): a question from a seed, a check, a worked answer on request; its view is
``labkit.widgets.ExerciseWidget``. The other modules (``start``, ``ch01``-``ch05``, ``ch04b``, ``ch05b``,
``lab01``-``lab05``) hold each notebook's questions, each a function ``make(rng) -> Variant``.

Answers are computed with the course's own models, never typed in, so an exercise cannot
disagree with the lab widget beside it. tests/test_exercises.py checks, for many seeds, that the
right answer passes and a wrong one fails.
"""

from labkit.exercises.seeded import Accepted, Exercise, Variant, choice, numeric, parse_number

__all__ = ["Accepted", "Exercise", "Variant", "choice", "numeric", "parse_number"]
