"""labkit: models and widgets for the course "Go scheduler stalls".

The package is laid out the way the course is built:

* ``labkit.models``: the runtime as models (``scheduler``, ``gcpacer``, ``renderloop``, ``pipeline``,
  ``pool``), pure Python and numpy;
* ``labkit.scenarios``: the course's stories built on them (``blindspots``, chapter 2's scheduler
  lab; ``casestudy``, chapter 5's incident);
* ``labkit.traces`` and ``labkit.profiles``: readers of what Go prints (execution traces; pprof,
  folded and goroutine-dump profiles, and the flame-graph layout);
* ``labkit.golab``: the course's real Go programs, run, recorded and compared with the models;
* ``labkit.stalls``: the stall doctor, which names the mechanism behind the stalls in a trace;
* ``labkit.widgets``: thin bqplot / ipywidgets views over all of the above;
* ``labkit.exercises``: the seeded exercises and each notebook's questions;
* shared parts: ``errors`` (one error family), ``params`` (the parameters record every model
  takes), ``validation``, ``units``, and :func:`doctor` (is this installation working?);
* ``labkit.serving``: the kernel WebSocket connection the course's Jupyter servers run with (the
  server imports it; a notebook never does).

Submodules load on first use, so ``import labkit`` stays cheap and ``labkit.models.scheduler`` works
without a separate import.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("labkit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from labkit.errors import EvidenceError, LabkitError, ParameterError
from labkit.health import doctor

_SUBMODULES = (
    "errors",
    "exercises",
    "golab",
    "models",
    "params",
    "profiles",
    "scenarios",
    "stalls",
    "traces",
    "units",
    "validation",
    "widgets",
)

__all__ = [
    "EvidenceError",
    "LabkitError",
    "ParameterError",
    "__version__",
    "doctor",
    *_SUBMODULES,
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return import_module(f"labkit.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public parts, the lazily loaded submodules included (tab completion lists them)."""
    return sorted(__all__)
