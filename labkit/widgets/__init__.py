"""Widgets: thin bqplot / ipywidgets views over the models' results.

Each widget builds its figure once and changes only the data when a control moves; every widget
also shows a one-line text summary, so the result reads without the picture.
"""

from labkit.widgets.exercise import ExerciseWidget
from labkit.widgets.flamegraph import FlameGraph
from labkit.widgets.warmup import PacerWarmup

__all__ = ["ExerciseWidget", "PacerWarmup", "FlameGraph"]
