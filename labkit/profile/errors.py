"""The one exception every profile loader raises for bad input."""


class ProfileError(ValueError):
    """A profile could not be read, or a request does not fit the profile.

    The message always names the source (a path, ``"<bytes>"`` or the name given), what is wrong,
    and what to do about it, e.g. ``cpu.pprof: sample 3 has 1 value but the profile declares 2
    sample types (samples/count, cpu/nanoseconds). The file is corrupt: record the profile
    again.`` It subclasses ValueError so that callers which already catch ValueError keep working.
    google/pprof reports the same kinds of problem from ``Profile.CheckValid`` (profile.go).
    """

    def __init__(self, source: str, problem: str, hint: str = "") -> None:
        self.source = source
        self.problem = problem
        self.hint = hint
        message = f"{source}: {problem}"
        if hint:
            message += f". {hint}"
        super().__init__(message)
