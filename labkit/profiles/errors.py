"""The one exception every profile loader raises for bad input."""

from labkit.errors import EvidenceError


class ProfileError(EvidenceError):
    """A profile could not be read, or a request does not fit the profile.

    The message always names the source (a path, ``"<bytes>"`` or the name given), what is wrong,
    and what to do about it, e.g. ``cpu.pprof: sample 3 has 1 value but the profile declares 2
    sample types (samples/count, cpu/nanoseconds). The file is corrupt: record the profile
    again.`` It is a ``labkit.errors.EvidenceError``, so a ValueError: callers that catch ValueError
    keep working.
    google/pprof reports the same kinds of problem from ``Profile.CheckValid`` (profile.go).
    """
