"""The one exception ``labkit.trace`` raises for input that is not a readable Go 1.22+ trace."""


class TraceError(ValueError):
    """The input is not a Go 1.22+ execution trace, or the trace is damaged or cut short.

    The message names the source (a path, ``"<bytes>"`` or ``"<file object>"``), says what the
    input is instead and what to do, e.g. ``cpu.pprof: is a pprof profile, not an execution
    trace. Use labkit.profile.load_profile`` or ``trace.out: is truncated: ...``. It subclasses
    ValueError so callers that already catch ValueError keep working.
    """

    def __init__(self, source: str, problem: str, hint: str = "") -> None:
        self.source = source
        self.problem = problem
        self.hint = hint
        message = f"{source}: {problem}"
        if hint:
            message += f". {hint}"
        super().__init__(message)
