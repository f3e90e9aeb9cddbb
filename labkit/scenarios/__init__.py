"""Scenarios: the course's stories, each a program built on the models.

* ``blindspots``: chapter 2's scheduler lab, a small Go server written as a ``labkit.models.scheduler``
  program whose knobs are the lab's sliders, with a stall and a fix preset for each of the source
  article's five blind spots (``run_lab``);
* ``casestudy``: chapter 5's incident, a dashboard whose Go service looks idle while it stalls,
  made of the pool, GC and scheduler models (``run_incident``).

Submodules load on first use: ``labkit.scenarios.casestudy`` works after ``import labkit``.
"""

from importlib import import_module

__all__ = ["blindspots", "casestudy"]


def __getattr__(name: str):
    if name in __all__:
        return import_module(f"labkit.scenarios.{name}")
    raise AttributeError(f"module 'labkit.scenarios' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
