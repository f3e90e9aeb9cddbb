"""The course's exercises, one module per notebook; each function is ``make(rng) -> Variant``.

Answers are computed with the course's own models, never typed in, so an exercise cannot
disagree with the lab widget beside it. tests/test_exercises.py checks, for many seeds, that the
right answer passes and a wrong one fails.
"""
