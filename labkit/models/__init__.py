"""The models: Go's runtime as programs a learner can read, run and change.

Pure Python and numpy, no widget imports; each model takes a frozen parameters record and keyword
overrides (``simulate_x(params=None, **overrides)``) and returns a frozen result with ``.params``
and ``.summary()``.

* ``scheduler``: the G/M/P scheduler (proc.go's run queues, findRunnable, sysmon and retake, hand-off,
  timers, the netpoller, channels), one module per part of proc.go;
* ``gcpacer``: the garbage collector's pacer and cycle (mgcpacer.go, mgc.go, mgcmark.go);
* ``renderloop``: a render loop under GC pressure, frame by frame (chapter 1);
* ``pipeline``: stages of goroutines joined by bounded channels, run on ``scheduler`` (chapter 4.1);
* ``pool``: a worker pool in front of a queue, with the queueing formulas it must agree with.

Submodules load on first use: ``labkit.models.scheduler`` works after ``import labkit``.
"""

from importlib import import_module

__all__ = ["gcpacer", "pipeline", "pool", "renderloop", "scheduler"]


def __getattr__(name: str):
    if name in __all__:
        return import_module(f"labkit.models.{name}")
    raise AttributeError(f"module 'labkit.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
