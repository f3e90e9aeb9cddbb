"""Writing a Profile out: folded text for flamegraph.pl / inferno, JSON for speedscope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit.profiles.errors import ProfileError

if TYPE_CHECKING:
    from labkit.profiles.model import Profile

#: speedscope's units (its file-format-schema.json ValueUnit); anything else is "none".
_SPEEDSCOPE_UNITS = {"nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def to_folded(profile: Profile, sample_type: str | int | None = None) -> str:
    """Folded text, one ``root;...;leaf value`` line per stack, in the profile's stack order.

    Stacks valued 0 are left out (as everywhere in Profile); so is the empty stack (a sample
    without frames), which the folded format cannot write. A frame name holding ``;`` would be
    split on reading, so it raises ProfileError.
    """
    lines = []
    for stack, value in profile.stacks(sample_type).items():
        if not stack:
            continue
        if any(";" in frame for frame in stack):
            raise ProfileError(
                profile.source,
                f"stack {stack!r} has a frame name with ';', which folded text cannot hold",
                "Export to speedscope instead",
            )
        if value < 0:
            raise ProfileError(
                profile.source,
                f"stack {stack!r} has the negative value {value}; folded counts are >= 0",
            )
        lines.append(f"{';'.join(stack)} {value}\n")
    return "".join(lines)


def to_speedscope(profile: Profile, sample_type: str | int | None = None) -> dict[str, Any]:
    """A speedscope file (https://www.speedscope.app/file-format-schema.json) as a dict.

    One "sampled" profile: ``samples`` are stacks as frame indices, root first, ``weights`` their
    values; frames are shared and listed in first-seen order. ``json.dumps`` the dict to save it.
    The unit is the sample type's when speedscope knows it (nanoseconds, bytes, ...), else "none"
    (counts). Stacks valued 0 are left out; negative values raise ProfileError.
    """
    index = profile.sample_type_index(sample_type)
    type_name, unit = profile.sample_types[index]
    frames: list[dict[str, str]] = []
    frame_index: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[int] = []
    for stack, value in profile.stacks(index).items():
        if value < 0:
            raise ProfileError(
                profile.source,
                f"stack {stack!r} has the negative value {value}; speedscope weights are >= 0",
            )
        row = []
        for name in stack:
            k = frame_index.get(name)
            if k is None:
                k = frame_index[name] = len(frames)
                frames.append({"name": name})
            row.append(k)
        samples.append(row)
        weights.append(value)
    return {
        "$schema": SPEEDSCOPE_SCHEMA,
        "exporter": "labkit.profiles",
        "name": profile.source,
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": f"{profile.source} ({type_name})",
                "unit": unit if unit in _SPEEDSCOPE_UNITS else "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }


def _varint(n: int) -> bytes:
    """protobuf varint of an int64 (negative numbers as their uint64, 10 bytes)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: int | bytes) -> bytes:
    """One field: an int as a varint (wire type 0), bytes length-prefixed (wire type 2)."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def to_pprof(profile: Profile) -> bytes:
    """The profile as gzip-compressed profile.proto, which ``go tool pprof`` opens.

    All sample types are written, with the default sample type, period and period type when
    known. Each function name becomes one Function and one Location with one Line (file names and
    lines are not kept by Profile); samples list location ids leaf first, as profile.proto says.
    The gzip header's time is 0, so the same profile gives the same bytes.
    """
    import gzip

    strings: dict[str, int] = {"": 0}

    def sid(text: str) -> int:
        return strings.setdefault(text, len(strings))

    body = bytearray()
    for type_name, unit in profile.sample_types:
        body += _field(1, _field(1, sid(type_name)) + _field(2, sid(unit)))
    functions: dict[str, int] = {}
    samples = bytearray()
    for stack, values in profile._stacks.items():
        ids = [functions.setdefault(name, len(functions) + 1) for name in reversed(stack)]
        packed_ids = b"".join(_varint(i) for i in ids)
        packed_values = b"".join(_varint(v) for v in values)
        samples += _field(2, _field(1, packed_ids) + _field(2, packed_values))
    body += samples
    for name, ident in functions.items():
        line = _field(1, ident)
        body += _field(4, _field(1, ident) + _field(4, line))
        body += _field(5, _field(1, ident) + _field(2, sid(name)) + _field(3, sid(name)))
    meta = profile._meta
    if meta.time_ns is not None:
        body += _field(9, meta.time_ns)
    if meta.duration_ns is not None:
        body += _field(10, meta.duration_ns)
    if meta.period_type is not None:
        body += _field(
            11, _field(1, sid(meta.period_type[0])) + _field(2, sid(meta.period_type[1]))
        )
    if meta.period is not None:
        body += _field(12, meta.period)
    for comment in meta.comments:
        body += _field(13, sid(comment))
    body += _field(14, sid(profile.default_sample_type))
    for text in strings:  # dicts keep insertion order: index order
        body += _field(6, text.encode("utf-8"))
    return gzip.compress(bytes(body), mtime=0)
