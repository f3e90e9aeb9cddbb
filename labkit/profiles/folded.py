"""Brendan Gregg's folded stacks: one ``root;caller;...;leaf count`` per line.

The format of flamegraph.pl's input (stackcollapse-*.pl output) and of inferno: frames joined by
``;``, root first, then one space and a count; the count is the *last* field, so frame names may
hold spaces. Lines with the same stack are summed, as flamegraph.pl does. Blank lines are skipped.
"""

from __future__ import annotations

from labkit.profiles.errors import ProfileError
from labkit.profiles.model import SAMPLES_COUNT, Profile, Stack, _Meta

_HINT = "Each line must be 'root;caller;leaf COUNT' with a whole-number COUNT >= 0"


def looks_folded(text: str) -> bool:
    """True when the first non-blank line is ``stack count`` (for format detection)."""
    for line in text.splitlines():
        if line.strip():
            stack, sep, count = line.rstrip("\r").rpartition(" ")
            return bool(sep and stack.strip() and count.isascii() and count.isdigit())
    return False


def parse_folded(text: str, source: str) -> Profile:
    """Read folded text into a Profile with one sample type, ``("samples", "count")``."""
    stacks: dict[Stack, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        stack_text, sep, count_text = line.rpartition(" ")
        if not sep or not stack_text.strip():
            raise ProfileError(source, f"line {number} has no 'stack count' pair: {line!r}", _HINT)
        if not (count_text.isascii() and count_text.isdigit()):
            raise ProfileError(
                source, f"line {number} ends in {count_text!r}, not a count: {line!r}", _HINT
            )
        stack = tuple(stack_text.split(";"))
        if any(not frame for frame in stack):
            raise ProfileError(
                source, f"line {number} has an empty frame name (';;' or a ';' at an end)", _HINT
            )
        stacks[stack] = stacks.get(stack, 0) + int(count_text)
    if not stacks:
        raise ProfileError(source, "the folded text has no stacks", _HINT)
    meta = _Meta(source=source, format="folded")
    return Profile({s: (v,) for s, v in stacks.items()}, [SAMPLES_COUNT], None, meta)
