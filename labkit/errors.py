"""The exceptions labkit raises: one family, so that a notebook can catch every bad input at once.

Every error labkit raises for something the caller gave it is a :class:`LabkitError`, a
``ValueError`` (so code that already catches ``ValueError`` keeps working), and the message says
what was wrong and what to do. One subclass per area:

- :class:`ParameterError`: a parameter of a model, a scenario or a widget has the wrong type or
  is out of range (the message names the parameter, the value, the accepted range). Each model
  has its own subclass (``GCConfigError``, ``RenderConfigError``, ``PoolParameterError``,
  ``IncidentParamError``, ``PipelineParameterError``, ``ExperimentParameterError``); the checks
  themselves are in :mod:`labkit.validation`.
- :class:`EvidenceError`: an artefact Go wrote (a profile, a dump, an execution trace) that
  cannot be read: ``labkit.profiles.ProfileError`` and ``labkit.traces.TraceError``. The message
  names the source (a path, ``"<bytes>"``), the problem and the hint.
- the rest of the family lives beside the code that raises it: ``labkit.models.scheduler.ProgramError`` (a
  malformed goroutine program), ``labkit.golab.GolabError`` (real Go experiments; its
  ``GoRunError`` is also a ``RuntimeError``), ``labkit.profiles.flamelayout.FlameGraphError``,
  ``labkit.units.UnitError``.
"""

from __future__ import annotations

__all__ = ["EvidenceError", "LabkitError", "ParameterError"]


class LabkitError(ValueError):
    """Base class of every error labkit raises for bad input."""


class ParameterError(LabkitError):
    """A parameter has the wrong type or is out of range; the message names it, the value, the
    accepted range and what to pass instead."""


class EvidenceError(LabkitError):
    """An artefact (profile, goroutine dump, execution trace) that cannot be read.

    The message is ``"<source>: <problem>. <hint>"``: the source (a path, ``"<bytes>"`` or the
    name given), what is wrong, and what to do about it.
    """

    def __init__(self, source: str, problem: str, hint: str = "") -> None:
        self.source = source
        self.problem = problem
        self.hint = hint
        message = f"{source}: {problem}"
        if hint:
            message += f". {hint}"
        super().__init__(message)
