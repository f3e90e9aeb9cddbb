"""The one exception ``labkit.traces`` raises for input that is not a readable Go 1.22+ trace."""

from labkit.errors import EvidenceError


class TraceError(EvidenceError):
    """The input is not a Go 1.22+ execution trace, or the trace is damaged or cut short.

    The message names the source (a path, ``"<bytes>"`` or ``"<file object>"``), says what the
    input is instead and what to do, e.g. ``cpu.pprof: is a pprof profile, not an execution
    trace. Use labkit.profiles.load_profile`` or ``trace.out: is truncated: ...``. It is a
    ``labkit.errors.EvidenceError``, so a ValueError: callers that catch ValueError keep working.
    """
