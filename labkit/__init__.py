"""labkit: models and widgets for the course "Go scheduler stalls".

The models (``labkit.sched``, ``labkit.gc``, ``labkit.render``, ``labkit.pool``) are pure Python and
numpy; the widgets (``labkit.widgets``) are thin bqplot / ipywidgets views over their results;
``labkit.profile`` reads pprof, folded and goroutine-dump profiles; ``labkit.golab`` runs the
course's real Go programs; ``labkit.exercise`` holds the seeded self-check exercises.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labkit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from labkit.health import doctor

__all__ = ["__version__", "doctor"]
