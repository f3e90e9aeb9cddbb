"""What can go wrong when the course runs its real services, each error saying what to do.

Every error is a ``labkit.golab.GolabError`` (so a ``labkit.errors.LabkitError``); those about
something that did not start or died are also ``RuntimeError``. The runner stops everything it
started before any of them reaches the caller.
"""

from __future__ import annotations

from labkit.errors import ParameterError
from labkit.golab.errors import GolabError, GoRunError

__all__ = [
    "APT_INSTALL",
    "APT_PACKAGES",
    "DatabaseStartError",
    "PortInUseError",
    "PrometheusStartError",
    "RecordingError",
    "ServiceBuildError",
    "ServiceDiedError",
    "ServiceError",
    "ServiceParameterError",
    "ServiceTimeoutError",
    "ServicesMissingError",
]

#: The Debian packages the live services need (binder/apt.txt and .ci/run install the same):
#: gcc for go-sqlite3's cgo.
APT_PACKAGES = (
    "prometheus",
    "golang-github-prometheus-client-golang-dev",
    "golang-github-mattn-go-sqlite3-dev",
    "golang-github-lib-pq-dev",
    "postgresql",
    "gcc",
)
APT_INSTALL = "sudo apt-get install " + " ".join(APT_PACKAGES)


class ServiceError(GolabError):
    """Base class of the services runner's errors."""


class ServiceParameterError(ServiceError, ParameterError):
    """A parameter of a service run is unknown, of the wrong type or out of range."""


class ServicesMissingError(ServiceError, RuntimeError):
    """Something a live run needs is not installed (a Go toolchain, a C compiler, Prometheus,
    PostgreSQL, the Go libraries); the message names it and the command that installs it."""


class ServiceBuildError(ServiceError, GoRunError):
    """``go build`` of the services failed or took too long; the message has the compiler's."""


class PortInUseError(ServiceError, RuntimeError):
    """A loopback port the run needs is taken by another process."""


class DatabaseStartError(ServiceError, RuntimeError):
    """PostgreSQL did not initialise or start; the message has its log's last lines."""


class PrometheusStartError(ServiceError, RuntimeError):
    """Prometheus did not start or stopped answering; the message has its log's last lines."""


class ServiceDiedError(ServiceError, RuntimeError):
    """A service or the load generator exited before the run ended (stderr's last lines)."""


class ServiceTimeoutError(ServiceError, TimeoutError):
    """The run did not finish within its time bound; everything it started was stopped."""


class RecordingError(ServiceError, LookupError):
    """No recorded run of that service is shipped, or its files are damaged."""
