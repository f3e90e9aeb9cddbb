"""pprof's profile.proto, read straight from the protobuf wire format (no protobuf package).

Mirrors google/pprof profile/encode.go (the message and field numbers of profile.proto) and the
checks of profile.go ``CheckValid`` and encode.go ``postDecode``, which pprof runs right after
parsing: string_table[0] is "", every string index is in range, every sample has one value per
sample type, every id a sample or line refers to exists and ids are unique and non-zero.

Wire format (protobuf encoding): a message is a run of fields; each starts with a varint key
``field_number << 3 | wire_type``; wire type 0 is a varint, 1 a fixed 64-bit, 2 a length-prefixed
run of bytes (strings, sub-messages, packed repeated varints), 5 a fixed 32-bit. Varints are
little-endian groups of 7 bits, at most 10 bytes for 64 bits; int64 values below zero take all 10.
Fields may come in any order (Go's runtime/pprof writes the string table last) and a repeated
scalar may be packed or not, so the decoder accepts both.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

import numpy as np

from labkit.profiles.errors import ProfileError
from labkit.profiles.model import Profile, Stack, _Meta
from labkit.profiles.names import objfile_name

# Field numbers of profile.proto (google/pprof proto/profile.proto).
_P_SAMPLE_TYPE, _P_SAMPLE, _P_MAPPING, _P_LOCATION, _P_FUNCTION, _P_STRING_TABLE = 1, 2, 3, 4, 5, 6
_P_DROP_FRAMES, _P_KEEP_FRAMES, _P_TIME_NANOS, _P_DURATION_NANOS = 7, 8, 9, 10
_P_PERIOD_TYPE, _P_PERIOD, _P_COMMENT, _P_DEFAULT_SAMPLE_TYPE = 11, 12, 13, 14

_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LEN, _WIRE_FIXED32 = 0, 1, 2, 5
_WIRE_NAMES = {0: "varint", 1: "fixed64", 2: "length-delimited", 5: "fixed32"}

_U64 = 1 << 64
_I64_SIGN = 1 << 63

# A varint carries 7 bits per byte; 64 bits need ceil(64 / 7) = 10 bytes.
_MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """The bytes are not valid protobuf, or not a valid profile.proto; carries the problem."""


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read one varint at ``pos``; return ``(value, next_pos)``. Mirrors proto.DecodeVarint."""
    if pos >= end:
        raise WireError(f"data ends inside a varint at offset {pos}")
    b = buf[pos]
    if b < 0x80:  # the common case: one byte
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    start = pos
    pos += 1
    while True:
        if pos >= end:
            raise WireError(f"data ends inside a varint at offset {start}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift >= 7 * _MAX_VARINT_BYTES:
            raise WireError(f"varint at offset {start} is longer than {_MAX_VARINT_BYTES} bytes")
    if result >= _U64:
        raise WireError(f"varint at offset {start} does not fit in 64 bits")
    return result, pos


def _fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(field_number, wire_type, value, value_end)`` for each field in ``buf[pos:end]``.

    For a varint, ``value`` is the number (``value_end`` unused); for a length-delimited field,
    ``buf[value:value_end]`` is its payload; fixed-size fields yield their little-endian value.
    """
    while pos < end:
        key_at = pos
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at offset {key_at}")
        if wire == _WIRE_VARINT:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value, pos
        elif wire == _WIRE_LEN:
            size, pos = _varint(buf, pos, end)
            if size > end - pos:
                raise WireError(
                    f"field {number} at offset {key_at} claims {size} bytes but only "
                    f"{end - pos} remain"
                )
            yield number, wire, pos, pos + size
            pos += size
        elif wire in (_WIRE_FIXED64, _WIRE_FIXED32):
            size = 8 if wire == _WIRE_FIXED64 else 4
            if size > end - pos:
                raise WireError(f"data ends inside a fixed-size field at offset {key_at}")
            yield number, wire, int.from_bytes(buf[pos : pos + size], "little"), pos + size
            pos += size
        else:
            raise WireError(f"field {number} at offset {key_at} has invalid wire type {wire}")


def _scalar(wire: int, value: int, what: str) -> int:
    """The uint64 of a varint field, refusing a field that came with another wire type."""
    if wire != _WIRE_VARINT:
        raise WireError(f"{what} should be a varint but has wire type {_WIRE_NAMES[wire]}")
    return value


def _repeated(buf: bytes, wire: int, value: int, end: int, out: list[int], what: str) -> None:
    """Append a repeated uint64 field's numbers to ``out``: one varint, or a packed run."""
    if wire == _WIRE_VARINT:
        out.append(value)
    elif wire == _WIRE_LEN:
        pos = value
        while pos < end:
            b = buf[pos]
            if b < 0x80:
                out.append(b)
                pos += 1
            else:
                number, pos = _varint(buf, pos, end)
                out.append(number)
    else:
        raise WireError(f"{what} should be varints but has wire type {_WIRE_NAMES[wire]}")


def _message(wire: int, what: str) -> None:
    if wire != _WIRE_LEN:
        raise WireError(f"{what} should be a message but has wire type {_WIRE_NAMES[wire]}")


def _int64(u: int) -> int:
    """Reinterpret a uint64 as int64 (two's complement), as protobuf's int64 fields are."""
    return u - _U64 if u >= _I64_SIGN else u


class _Strings:
    """The string table, with index checks that name what held the bad index."""

    def __init__(self, table: list[str]) -> None:
        self.table = table

    def get(self, index: int, what: str) -> str:
        if not 0 <= index < len(self.table):
            raise WireError(
                f"{what} is string index {index} but the string table has {len(self.table)} entries"
            )
        return self.table[index]


def decode_pprof(data: bytes, source: str) -> Profile:
    """Decode an uncompressed profile.proto message into a Profile (see the module docstring)."""
    try:
        return _decode(data, source)
    except WireError as exc:
        raise ProfileError(
            source,
            f"not a valid pprof profile: {exc}",
            "The file is corrupt or not a profile; record it again (a gzip-compressed "
            "profile.proto as written by runtime/pprof or `go tool pprof -proto`)",
        ) from None


class _TopLevel:
    """The Profile message's own fields, read by :func:`_scan`: the repeated messages as
    (start, end) spans of ``buf`` (decoded later, once the string table is known), the
    string table, comments (string indexes), the scalars by field number and the raw
    value types (string indexes)."""

    def __init__(self) -> None:
        self.value_types: list[tuple[int, int]] = []
        self.sample_spans: list[tuple[int, int]] = []
        self.mapping_spans: list[tuple[int, int]] = []
        self.location_spans: list[tuple[int, int]] = []
        self.function_spans: list[tuple[int, int]] = []
        self.table: list[str] = []
        self.comments: list[int] = []
        self.scalars: dict[int, int] = {}
        self.period_type: tuple[int, int] | None = None


def _decode(buf: bytes, source: str) -> Profile:
    top = _scan(buf)
    strings, sample_types, default, period_pair, comment_text = _header(top)
    mapping_files = _mapping_files(buf, top.mapping_spans, strings)
    function_names = _functions(buf, top.function_spans, strings)
    location_names = _locations(buf, top.location_spans, function_names, mapping_files)
    stacks = _samples(buf, top.sample_spans, location_names, len(sample_types), strings)

    scalars = top.scalars
    meta = _Meta(
        source=source,
        format="pprof",
        period=_int64(scalars[_P_PERIOD]) if _P_PERIOD in scalars else None,
        period_type=period_pair,
        time_ns=_int64(scalars[_P_TIME_NANOS]) if _P_TIME_NANOS in scalars else None,
        duration_ns=_int64(scalars[_P_DURATION_NANOS]) if _P_DURATION_NANOS in scalars else None,
        comments=comment_text,
    )
    names = [t for t, _ in sample_types]
    if default and default not in names:
        raise WireError(f"default_sample_type {default!r} is not one of its sample types {names}")
    return Profile(stacks, sample_types, default or None, meta)


def _scan(buf: bytes) -> _TopLevel:
    """One pass over the Profile message's fields (one per sample, location, function and
    string: the loop that runs over the whole file)."""
    top = _TopLevel()
    value_types = top.value_types
    sample_spans = top.sample_spans
    mapping_spans = top.mapping_spans
    location_spans = top.location_spans
    function_spans = top.function_spans
    table = top.table
    for number, wire, value, vend in _fields(buf, 0, len(buf)):
        if number == _P_SAMPLE_TYPE:
            _message(wire, "Profile.sample_type")
            value_types.append(_value_type(buf, value, vend))
        elif number == _P_SAMPLE:
            _message(wire, "Profile.sample")
            sample_spans.append((value, vend))
        elif number == _P_MAPPING:
            _message(wire, "Profile.mapping")
            mapping_spans.append((value, vend))
        elif number == _P_LOCATION:
            _message(wire, "Profile.location")
            location_spans.append((value, vend))
        elif number == _P_FUNCTION:
            _message(wire, "Profile.function")
            function_spans.append((value, vend))
        elif number == _P_STRING_TABLE:
            _message(wire, "Profile.string_table")
            table.append(buf[value:vend].decode("utf-8", errors="replace"))
        elif number == _P_PERIOD_TYPE:
            _message(wire, "Profile.period_type")
            top.period_type = _value_type(buf, value, vend)
        elif number == _P_COMMENT:
            _repeated(buf, wire, value, vend, top.comments, "Profile.comment")
        elif number in (
            _P_DROP_FRAMES,
            _P_KEEP_FRAMES,
            _P_TIME_NANOS,
            _P_DURATION_NANOS,
            _P_PERIOD,
            _P_DEFAULT_SAMPLE_TYPE,
        ):
            top.scalars[number] = _scalar(wire, value, f"Profile field {number}")
        # other fields (doc_url, future additions) are skipped, as protobuf does
    return top


def _header(
    top: _TopLevel,
) -> tuple[_Strings, list[tuple[str, str]], str, tuple[str, str] | None, tuple[str, ...]]:
    """CheckValid / postDecode of what is not a sample: the string table (first, because
    everything points into it), the sample types, the default sample type, the period type
    and the comments, each index checked against the table."""
    table = top.table
    if not table:
        raise WireError("it has no string table (an empty or non-profile input)")
    if table[0] != "":
        raise WireError(f"string_table[0] must be the empty string, found {table[0]!r}")
    strings = _Strings(table)
    if not top.value_types:
        raise WireError("it declares no sample types")
    sample_types = [
        (
            strings.get(t, f"sample_type[{i}].type"),
            strings.get(u, f"sample_type[{i}].unit"),
        )
        for i, (t, u) in enumerate(top.value_types)
    ]
    scalars = top.scalars
    for k in (_P_DROP_FRAMES, _P_KEEP_FRAMES):
        strings.get(_int64(scalars.get(k, 0)), f"Profile field {k}")
    comment_text = tuple(strings.get(_int64(c), "a comment") for c in top.comments)
    default = strings.get(_int64(scalars.get(_P_DEFAULT_SAMPLE_TYPE, 0)), "default_sample_type")
    period_pair = None
    if top.period_type is not None:
        period_pair = (
            strings.get(top.period_type[0], "period_type.type"),
            strings.get(top.period_type[1], "period_type.unit"),
        )
    return strings, sample_types, default, period_pair, comment_text


def _value_type(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """ValueType {1 type, 2 unit}: string-table indices."""
    type_index = unit_index = 0
    for number, wire, value, _ in _fields(buf, pos, end):
        if number == 1:
            type_index = _int64(_scalar(wire, value, "ValueType.type"))
        elif number == 2:
            unit_index = _int64(_scalar(wire, value, "ValueType.unit"))
    return type_index, unit_index


def _check_id(ident: int, seen: set[int] | dict[int, object], what: str) -> None:
    if ident == 0:
        raise WireError(f"a {what} has id 0 (ids must be non-zero)")
    if ident in seen:
        raise WireError(f"two {what}s have id {ident}")


def _mapping_files(buf: bytes, spans: list[tuple[int, int]], strings: _Strings) -> dict[int, str]:
    """Mapping {1 id, ..., 5 filename, 6 build_id} -> {id: filename}; build ids are checked."""
    files: dict[int, str] = {}
    for pos, end in spans:
        ident, file = 0, ""
        for number, wire, value, _ in _fields(buf, pos, end):
            if number == 1:
                ident = _scalar(wire, value, "Mapping.id")
            elif number in (5, 6):
                text = strings.get(
                    _int64(_scalar(wire, value, "Mapping string")), "a mapping's name"
                )
                if number == 5:
                    file = text
        _check_id(ident, files, "mapping")
        files[ident] = file
    return files


def _functions(buf: bytes, spans: list[tuple[int, int]], strings: _Strings) -> dict[int, str]:
    """Function {1 id, 2 name, 3 system_name, 4 filename, 5 start_line} -> {id: name}; the name
    may be "" (a function the profiler could not name)."""
    names: dict[int, str] = {}
    for pos, end in spans:
        ident, name = 0, ""
        for number, wire, value, _ in _fields(buf, pos, end):
            if number == 1:
                ident = _scalar(wire, value, "Function.id")
            elif number in (2, 3, 4):
                text = strings.get(_int64(_scalar(wire, value, "Function string")), "a function")
                if number == 2:
                    name = text
        _check_id(ident, names, "function")
        names[ident] = name
    return names


def _locations(
    buf: bytes,
    spans: list[tuple[int, int]],
    function_names: dict[int, str],
    mapping_files: dict[int, str],
) -> dict[int, Stack]:
    """Location {1 id, 2 mapping_id, 3 address, 4 line, 5 is_folded} -> {id: names, root first}.

    A Location with several Lines is a call site with inlining: Line[0] is the innermost
    (inlined) callee, the last Line the function the code was compiled into (profile.proto). Root
    first, that is the Lines reversed. A frame without a function name (no Lines: an
    unsymbolized address; a Line of function 0 or of a Function named "") is named as ``go tool
    pprof -top`` names it: after its mapping's file, ``[libc-2.15.so]``, or ``<unknown>``
    (names.objfile_name). pprof's encode.go postDecode lets a mapping id that is not there
    stand for no mapping, and so does this.
    """
    names: dict[int, Stack] = {}
    for pos, end in spans:
        ident = mapping = 0
        funcs: list[int] = []
        for number, wire, value, vend in _fields(buf, pos, end):
            if number == 1:
                ident = _scalar(wire, value, "Location.id")
            elif number == 2:
                mapping = _scalar(wire, value, "Location.mapping_id")
            elif number == 3:
                _scalar(wire, value, "Location.address")
            elif number == 4:
                _message(wire, "Location.line")
                for n2, w2, v2, _ in _fields(buf, value, vend):
                    if n2 == 1:
                        funcs.append(_scalar(w2, v2, "Line.function_id"))
                        break
                else:
                    funcs.append(0)
        _check_id(ident, names, "location")
        frame_names = []
        for fid in reversed(funcs):
            name = function_names.get(fid) if fid else ""
            if name is None:
                raise WireError(
                    f"location {ident} has a line of function {fid}, which is not there"
                )
            frame_names.append(name or objfile_name(mapping_files.get(mapping, "")))
        if not frame_names:
            frame_names.append(objfile_name(mapping_files.get(mapping, "")))
        names[ident] = tuple(frame_names)
    return names


def _samples(
    buf: bytes,
    spans: list[tuple[int, int]],
    location_names: dict[int, Stack],
    n_types: int,
    strings: _Strings,
) -> dict[Stack, tuple[int, ...]]:
    """Sample {1 location_id (leaf first), 2 value, 3 label} summed per stack (root first).

    Samples are most of a profile's bytes, and their location ids most of its varints, so a
    sample's ids that come as one packed run (what every pprof writer does) are set aside and
    decoded for all samples at once by :func:`_unpack_varints`; anything else takes the general
    path.
    """
    id_runs: list[tuple[int, int]] = []
    # Per sample: the index of its packed run in id_runs, or its ids decoded one by one.
    sample_ids: list[int | list[int]] = []
    sample_values: list[list[int]] = []
    for index, (pos, end) in enumerate(spans):
        run: int | None = None
        ids: list[int] | None = None
        raw: list[int] = []
        for number, wire, value, vend in _fields(buf, pos, end):
            if number == 1:
                if wire == _WIRE_LEN and run is None and ids is None:
                    run = len(id_runs)
                    id_runs.append((value, vend))
                    continue
                if ids is None:
                    ids = []
                if run is not None:  # a second location_id field after a packed run
                    ids[:0] = _unpack_single(buf, id_runs[run])
                    id_runs[run] = (0, 0)
                    run = None
                _repeated(buf, wire, value, vend, ids, "Sample.location_id")
            elif number == 2:
                _repeated(buf, wire, value, vend, raw, "Sample.value")
            elif number == 3:
                _message(wire, "Sample.label")
                _label(buf, value, vend, strings)
        if len(raw) != n_types:
            raise WireError(
                f"sample {index} has {len(raw)} value(s) but the profile declares "
                f"{n_types} sample type(s)"
            )
        sample_ids.append(ids if ids is not None else (run if run is not None else []))
        sample_values.append(raw)

    flat, offsets = _unpack_varints(buf, id_runs)
    stacks: dict[Stack, list[int]] = {}
    names_of = location_names.__getitem__
    # Most locations have one Line: map those ids straight to a name; expand the rest (inlining).
    single_name = {i: names[0] for i, names in location_names.items() if len(names) == 1}
    name_of = single_name.__getitem__
    inlined = {i for i, names in location_names.items() if len(names) != 1}
    for index, (ids_or_run, raw) in enumerate(zip(sample_ids, sample_values, strict=True)):
        if isinstance(ids_or_run, int):
            ids = flat[offsets[ids_or_run] : offsets[ids_or_run + 1]]
        else:
            ids = ids_or_run
        ids.reverse()  # leaf first in the file, root first here
        try:
            if inlined.isdisjoint(ids):
                stack = tuple(map(name_of, ids))
            else:
                stack = tuple(chain.from_iterable(map(names_of, ids)))
        except KeyError as exc:
            raise WireError(
                f"sample {index} refers to location {exc.args[0]}, which is not there"
            ) from None
        values = [v - _U64 if v >= _I64_SIGN else v for v in raw]
        row = stacks.get(stack)
        if row is None:
            stacks[stack] = values
        else:
            for k, v in enumerate(values):
                row[k] += v
    return {stack: tuple(row) for stack, row in stacks.items()}


def _unpack_single(buf: bytes, run: tuple[int, int]) -> list[int]:
    out: list[int] = []
    _repeated(buf, _WIRE_LEN, run[0], run[1], out, "Sample.location_id")
    return out


def _unpack_varints(buf: bytes, runs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Decode many packed varint runs at once with numpy: ``(values, offsets)``, run ``k``'s
    values being ``values[offsets[k]:offsets[k + 1]]``.

    A varint ends at the first byte below 0x80, so in the runs' bytes laid end to end every such
    byte closes one value; its 7-bit groups are added up byte position by byte position.
    """
    if not runs:
        return [], [0]
    starts = np.fromiter((s for s, _ in runs), np.int64, len(runs))
    lengths = np.fromiter((e - s for s, e in runs), np.int64, len(runs))
    bounds = np.zeros(len(runs) + 1, np.int64)
    np.cumsum(lengths, out=bounds[1:])
    total = int(bounds[-1])
    # Index of every byte of every run in buf: run k's bytes are starts[k] .. starts[k]+len-1.
    where = np.arange(total, dtype=np.int64) + np.repeat(starts - bounds[:-1], lengths)
    data = np.frombuffer(buf, np.uint8)[where]
    last = data < 0x80
    ends_of_runs = bounds[1:][lengths > 0] - 1
    if not last[ends_of_runs].all():
        raise WireError("a packed field of location ids ends inside a varint")
    ends = np.flatnonzero(last)
    firsts = np.empty_like(ends)
    firsts[:1] = 0
    firsts[1:] = ends[:-1] + 1
    sizes = ends - firsts + 1
    longest = int(sizes.max()) if len(sizes) else 0
    if longest > _MAX_VARINT_BYTES:
        raise WireError(f"a packed location id is longer than {_MAX_VARINT_BYTES} bytes")
    if longest == _MAX_VARINT_BYTES and (data[firsts[sizes == longest] + 9] > 1).any():
        raise WireError("a packed location id does not fit in 64 bits")
    values = np.zeros(len(ends), np.uint64)
    for k in range(longest):
        sel = np.flatnonzero(sizes > k)
        group = (data[firsts[sel] + k] & 0x7F).astype(np.uint64)
        values[sel] |= group << np.uint64(7 * k)
    counted = np.zeros(total + 1, np.int64)
    np.cumsum(last, out=counted[1:])
    return values.tolist(), counted[bounds].tolist()


def _label(buf: bytes, pos: int, end: int, strings: _Strings) -> None:
    """Label {1 key, 2 str, 3 num, 4 num_unit}: checked (string indices), not kept."""
    for number, wire, value, _ in _fields(buf, pos, end):
        if number in (1, 2, 4):
            strings.get(_int64(_scalar(wire, value, "Label field")), "a sample label")
