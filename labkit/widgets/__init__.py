"""Widgets: thin bqplot / ipywidgets views over the models' results.

Each widget builds its figure once and changes only the data when a control moves; every widget
also shows a one-line text summary, so the result reads without the picture. Names are imported
on first use, so ``from labkit.widgets import PacerWarmup`` does not load every widget's module.
"""

from importlib import import_module

_WHERE = {
    "ExerciseWidget": "labkit.widgets.exercise_widget",
    "PacerWarmup": "labkit.widgets.warmup",
    "FrameLab": "labkit.widgets.framelab",
    "FrameTracePair": "labkit.widgets.framepair",
    "FlameGraph": "labkit.widgets.flamegraph",
    "SchedulerTimeline": "labkit.widgets.timeline",
    "RunQueuePlot": "labkit.widgets.timeline",
    "GoroutineStatePlot": "labkit.widgets.timeline",
    "TimelinePair": "labkit.widgets.tracepair",
    "SchedulerLab": "labkit.widgets.scheduler_lab",
    "IncidentLab": "labkit.widgets.incident_lab",
    "PoolTuner": "labkit.widgets.pooltuner",
    "Panel": "labkit.widgets.panel",
    "LatencyPercentiles": "labkit.widgets.latency",
    "StallDoctor": "labkit.widgets.stall_doctor",
    "RunProgress": "labkit.widgets.service_views",
    "FpsStatesPlot": "labkit.widgets.service_views",
    "HockeyStickPlot": "labkit.widgets.queueing",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'labkit.widgets' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return __all__
