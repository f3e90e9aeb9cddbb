"""labkit.profiles: read Go profiles into one shape the flame graph and the exercises share.

``load_profile(path_or_bytes)`` detects the format (pprof protobuf, gzip or raw; every legacy
format ``go tool pprof`` reads, such as Go's ``?debug=1`` heap, block and mutex text; goroutine
dumps as crashes, ``kill -QUIT`` and ``go test`` print them; folded stacks), validates it right
after parsing, as google/pprof's ``Profile.CheckValid`` does, and returns a :class:`Profile`:
stacks of function names (named as ``go tool pprof -top`` names them), root first, with one value
per sample type. ``Profile.top()`` agrees with ``go tool pprof -top``;
``Profile.from_stacks()`` wraps the scheduler model's samples. Bad input raises
:class:`ProfileError` (a ValueError) naming the source, the problem and what to do.
"""

from labkit.profiles.detect import FORMATS, detect_format
from labkit.profiles.errors import ProfileError
from labkit.profiles.export import to_folded, to_pprof, to_speedscope
from labkit.profiles.load import load_profile
from labkit.profiles.model import Frame, Goroutine, Profile, Stack

__all__ = [
    "FORMATS",
    "Frame",
    "Goroutine",
    "Profile",
    "ProfileError",
    "Stack",
    "detect_format",
    "load_profile",
    "to_folded",
    "to_pprof",
    "to_speedscope",
]
