"""Exceptions and the warning of ``labkit.golab``.

Every error here is a ``labkit.errors.LabkitError`` (a ``ValueError``). Bad input names the
parameter and says what to pass; a Go
toolchain that is missing or broken, a build or a run that fails raises ``GoRunError`` (only when
the caller asked for a live run; otherwise the runner warns with ``GolabWarning`` and falls back
to the recorded result).
"""

from labkit.errors import LabkitError, ParameterError


class GolabError(LabkitError):
    """Base class of every error raised by ``labkit.golab``."""


class UnknownExperimentError(GolabError):
    """The experiment name is not one of ``labkit.golab.experiments()``."""


class ExperimentParameterError(GolabError, ParameterError):
    """A parameter of an experiment is unknown, of the wrong type or out of range."""


class GoRunError(GolabError, RuntimeError):
    """No usable Go toolchain, or a Go program failed to build, run or print its JSON."""


class RecordedResultError(GolabError, LookupError):
    """No recorded result fits the request, or a recorded file is malformed."""


class GolabWarning(UserWarning):
    """A live run was not possible; the result shown is the recorded one (the note says why)."""


class NoModelError(GolabError, LookupError):
    """The experiment has no model side (no course model computes what it measures)."""
