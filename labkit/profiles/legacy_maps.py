"""The memory map at the end of a legacy profile, and which mapping each address falls in.

Legacy profiles (gperftools' heap, growth, contention, threadz and CPU profiles, Go's before 1.9)
hold raw addresses; their last section is the process's memory map, ``--- Memory map: ---`` or
``MAPPED_LIBRARIES:`` followed by ``/proc/self/maps`` lines or the brief ``start-end: file``
form. ``go tool pprof`` without the binaries names each address after the file of its mapping
(names.objfile_name). This module ports what pprof does with that section, from
src/cmd/vendor/github.com/google/pprof/profile/legacy_profile.go (``ParseMemoryMapFromScanner``,
``parseProcMapsFromScanner``, ``parseMappingEntry``, ``removeLoggingInfo``, ``remapMappingIDs``)
and profile.go (``massageMappings``, ``adjacent``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from labkit.profiles.names import objfile_name

_U64 = (1 << 64) - 1

# legacy_profile.go's regular expressions, [[:xdigit:]] and [[:digit:]] spelled out.
_X = "[0-9A-Fa-f]"
_C_HEX = rf"(?:0x)?({_X}+)"
# The start address is taken whole (possessive ++): RE2 would also try splitting one run of hex
# digits into start and end, which no map line needs and which costs a backtracking engine time
# quadratic in the run (3,000 digits: 0.3 s).
_C_HEX_RANGE = rf"\s*+(?:0x)?({_X}++)[\s-]?\s*{_C_HEX}:?"
_C_PERM = r"(?:\s+([-rwxp]+))?"
_C_SPACE_HEX = rf"(?:\s+({_X}+))?"
_PROC_MAPS = re.compile(
    "^" + _C_HEX_RANGE + _C_PERM + _C_SPACE_HEX + rf"\s+{_X}+:{_X}+" + r"\s+[0-9]+(?:\s+(\S+))?",
    re.ASCII,
)
_BRIEF_MAPS = re.compile(
    "^" + _C_HEX_RANGE + _C_PERM + r"(?:\s+(\S+))?" + rf"(?:\s+\(@({_X}+)\))?" + _C_SPACE_HEX,
    re.ASCII,
)
_LOG_INFO = re.compile(r"^[^\[\]]+:[0-9]+]\s", re.ASCII)
_LIB = re.compile(r"([.]so$|[.]so[._][0-9]+)")

#: Lines that start the memory map section (legacy_profile.go memoryMapSentinels).
SENTINELS = ("--- Memory map: ---", "MAPPED_LIBRARIES:")

#: Where the main binary of a non-PIE Linux executable starts (remapMappingIDs expectedStart).
_EXPECTED_START = 0x400000


def is_sentinel(line: str) -> bool:
    """legacy_profile.go isMemoryMapSentinel: the line holds one of SENTINELS."""
    return any(s in line for s in SENTINELS)


@dataclass
class Mapping:
    """One executable region: ``[start, limit)`` of ``file`` at ``offset`` (profile.Mapping)."""

    start: int
    limit: int
    offset: int = 0
    file: str = ""
    build_id: str = ""


def _replace(line: str, pairs: Sequence[tuple[str, str]]) -> str:
    """strings.NewReplacer(old1, new1, ...).Replace: at each position the first pair that
    matches, left to right, without rescanning the replacement."""
    if not pairs:
        return line
    out = []
    i = 0
    while i < len(line):
        for old, new in pairs:
            if old and line.startswith(old, i):
                out.append(new)
                i += len(old)
                break
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def _entry(line: str) -> Mapping | None | bool:
    """parseMappingEntry: a Mapping, None for a non-executable region, False if unrecognised."""
    match = _PROC_MAPS.match(line)
    if match:
        start, end, perm, offset, file = match.groups()
        build_id = ""
    else:
        match = _BRIEF_MAPS.match(line)
        if not match:
            return False
        start, end, perm, file, offset, build_id = match.groups()
    if perm and "x" not in perm:
        return None
    values = []
    for text in (start, end, offset or "0"):
        value = int(text, 16)
        if value > _U64:  # strconv.ParseUint's range error
            return False
        values.append(value)
    return Mapping(values[0], values[1], values[2], file or "", build_id or "")


def parse_memory_map(lines: Iterable[str]) -> list[Mapping]:
    """parseProcMapsFromScanner: every mapping line after the sentinel; ``attr=value`` lines
    define ``$attr`` for the lines after them; other lines are ignored."""
    mappings: list[Mapping] = []
    pairs: list[tuple[str, str]] = []
    for raw in lines:
        match = _LOG_INFO.match(raw)
        line = _replace(raw[match.end() :] if match else raw, pairs)
        entry = _entry(line)
        if entry is False:
            key, sep, value = line.partition("=")
            if sep:
                pairs.append(("$" + key.strip(), value.strip()))
            continue
        if entry is not None:
            mappings.append(entry)  # type: ignore[arg-type]
    return mappings


def _adjacent(m1: Mapping, m2: Mapping) -> bool:
    """profile.go adjacent: m2 continues m1 (same file and build id, contiguous offsets)."""
    if m1.file and m2.file and m1.file != m2.file:
        return False
    if m1.build_id and m2.build_id and m1.build_id != m2.build_id:
        return False
    if m1.limit != m2.start:
        return False
    contiguous = (m1.offset + (m1.limit - m1.start)) & _U64 == m2.offset
    return not (m1.offset and m2.offset) or contiguous


def massage(mappings: list[Mapping]) -> list[Mapping]:
    """massageMappings: merge adjacent regions of one file; the first mapping whose file is not
    a library (``.so``) nor ``[vdso]``-like is taken for the main binary and moved first."""
    merged: list[Mapping] = mappings[:1]
    for m in mappings[1:]:
        last = merged[-1]
        if _adjacent(last, m):
            last.limit = m.limit
            last.file = m.file or last.file
            last.build_id = m.build_id or last.build_id
            continue
        merged.append(m)
    for i, m in enumerate(merged):
        file = m.file.replace("(deleted)", "").strip()
        if not file or _LIB.search(file) or file[0] == "[":
            continue
        merged[0], merged[i] = merged[i], merged[0]
        break
    return merged


def name_addresses(addresses: Iterable[int], mappings: list[Mapping]) -> dict[int, str]:
    """remapMappingIDs: ``{address: pprof's name for it}``, addresses taken in the order given
    (the order pprof's locations are numbered in: first appearance in the samples).

    An address in no mapping gets a fake one without a file (``<unknown>``), as pprof does for
    the mapping-less profiles Go wrote before 1.9; address 0 is never mapped.
    """
    mappings = massage(list(mappings))
    # A first mapping named /anon_hugepage right before the next is the main binary remapped.
    hugepage = len(mappings) > 1 and mappings[0].file.startswith("/anon_hugepage")
    if hugepage and mappings[0].limit == mappings[1].start:
        mappings = mappings[1:]
    if mappings and (mappings[0].start - mappings[0].offset) & _U64 == _EXPECTED_START:
        mappings[0].start, mappings[0].offset = _EXPECTED_START, 0
    names: dict[int, str] = {}
    for a in addresses:
        if a in names:
            continue
        if a == 0:
            names[a] = objfile_name("")
            continue
        found = _find(a, mappings)
        if found is None:
            # pprof appends one fake mapping [0, 2**64-1) without a file; later addresses that
            # no real mapping holds fall in it before the work-around below is tried.
            found = ""
            mappings.append(Mapping(0, _U64))
        names[a] = objfile_name(found)
    return names


def _find(a: int, mappings: list[Mapping]) -> str | None:
    for m in mappings:
        if m.start <= a < m.limit:
            return m.file
    # "Work around legacy handlers failing to encode the first part of mappings split into
    # adjacent ranges."
    for m in mappings:
        if m.offset and (m.start - m.offset) & _U64 <= a < m.start:
            m.start, m.offset = (m.start - m.offset) & _U64, 0
            return m.file
    return None
