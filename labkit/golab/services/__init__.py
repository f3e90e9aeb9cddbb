"""labkit.golab.services: the course's real Go services, run under load and observed.

Two services (labkit/golab/go/services, a normal Go module): ``render``, chapter 1's frame
loop exporting the article's section-3.3 metrics, and ``dashboard``, chapter 5's incident
against a real database (SQLite through the cgo driver, or PostgreSQL through lib/pq, started
for the run), with the chapter's three fixes as flags; and ``loadgen``, an open-loop load
generator that measures latency from each request's intended send time.

``run_service("dashboard", db_timeout=True)`` builds them (once; offline from Debian's packaged
Go sources, see build.py), starts the service, its database and a Prometheus scraping it,
drives load for a bounded time, collects CPU, goroutine (debug 0/1/2), block and mutex profiles,
an execution trace, runtime/metrics and the Prometheus series of :func:`queries`, stops
everything it started (procs.py), and returns a :class:`ServiceRun`: the latency figures and
every artefact loaded by labkit.profiles / labkit.traces. Without the packages it returns the
run recorded with the course (``recorded_run``), saying so.
"""

from labkit.golab.services.errors import (
    APT_INSTALL,
    DatabaseStartError,
    PortInUseError,
    PrometheusStartError,
    RecordingError,
    ServiceBuildError,
    ServiceDiedError,
    ServiceError,
    ServiceParameterError,
    ServicesMissingError,
    ServiceTimeoutError,
)
from labkit.golab.services.params import CollectParams, DashboardParams, RenderParams
from labkit.golab.services.result import ServiceRun, load_run
from labkit.golab.services.run import queries, recorded_run, recordings, run_service

__all__ = [
    "APT_INSTALL",
    "CollectParams",
    "DashboardParams",
    "DatabaseStartError",
    "PortInUseError",
    "PrometheusStartError",
    "RecordingError",
    "RenderParams",
    "ServiceBuildError",
    "ServiceDiedError",
    "ServiceError",
    "ServiceParameterError",
    "ServiceRun",
    "ServiceTimeoutError",
    "ServicesMissingError",
    "load_run",
    "queries",
    "recorded_run",
    "recordings",
    "run_service",
]
