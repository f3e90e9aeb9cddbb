"""labkit: models and widgets for the course "Go scheduler stalls".

The models (``labkit.sched``, ``labkit.gc``, ``labkit.render``, ``labkit.pool``,
``labkit.pipeline``, ``labkit.casestudy``) are pure Python and numpy; the widgets
(``labkit.widgets``) are thin bqplot / ipywidgets views over their results; ``labkit.profile``
reads pprof, folded and goroutine-dump profiles; ``labkit.trace`` reads Go's execution traces;
``labkit.stalls`` (the stall doctor) names the mechanism behind the stalls in a trace;
``labkit.golab`` runs the course's real Go programs; ``labkit.exercise`` holds the seeded
self-check exercises. Submodules load on first
use, so ``import labkit`` stays cheap and ``labkit.sched`` works without a separate import.
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
    "casestudy",
    "exercise",
    "exercises",
    "flamegraph",
    "gc",
    "golab",
    "pipeline",
    "pool",
    "profile",
    "render",
    "sched",
    "schedlab",
    "stalls",
    "trace",
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
    return sorted(set(globals()) | set(__all__))
