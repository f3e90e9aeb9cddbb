"""What pprof calls a frame that has no function name.

``go tool pprof -top`` lists functions (its default granularity): it drops addresses and line
numbers (src/cmd/vendor/github.com/google/pprof/internal/driver/driver.go aggregate ->
profile.Aggregate), so every frame with a function name is that name, and every frame without one
(an unsymbolized address, or a Function whose name is empty) is named after the binary or library
its address is mapped to, ``[libc-2.15.so]``, or ``<unknown>`` when it has no mapping with a file
name: internal/graph/graph.go ``nodeInfo`` and ``NodeInfo.NameComponents``. All the unsymbolized
addresses of one library therefore add up in one row, as pprof shows them.
"""

from __future__ import annotations

#: graph.go NameComponents' name for a node with no information at all.
UNKNOWN = "<unknown>"


def go_base(path: str) -> str:
    """Go's ``filepath.Base`` on a Unix path: the last element, trailing slashes removed."""
    if not path:
        return "."
    stripped = path.rstrip("/")
    if not stripped:
        return "/"
    return stripped.rsplit("/", 1)[-1]


def objfile_name(path: str) -> str:
    """The name pprof gives a frame without a function name in the mapping of file ``path``."""
    return f"[{go_base(path)}]" if path else UNKNOWN
