"""load_profile: a path or bytes in, a validated Profile out, whatever the format."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from labkit.profiles import legacy_text
from labkit.profiles.detect import GZIP_MAGIC, as_text, gunzip
from labkit.profiles.errors import ProfileError
from labkit.profiles.folded import looks_folded, parse_folded
from labkit.profiles.goroutines import is_dump, parse_dump
from labkit.profiles.legacy import Legacy, build
from labkit.profiles.legacy_cpu import header as legacy_cpu_header
from labkit.profiles.legacy_cpu import parse_cpu
from labkit.profiles.legacy_java import parse_java_cpu, parse_java_text
from labkit.profiles.legacy_text import Malformed, Unrecognized, scanner_lines, sniff
from labkit.profiles.model import Profile
from labkit.profiles.pprof import decode_pprof
from labkit.profiles.races import is_race_report, parse_races

_WHAT_TO_PASS = (
    "Pass a pprof profile (gzip or raw protobuf, or any text or legacy profile `go tool pprof` "
    "reads, such as /debug/pprof/heap?debug=1), a goroutine dump, or folded stacks"
)

#: The text formats go tool pprof's legacy parsers read, in its order (profile.go parseLegacy),
#: each with how a reader would know it.
_TEXT_PARSERS: tuple[tuple[Callable[[list[str], str], Legacy], str], ...] = (
    (lambda lines, text: legacy_text.parse_heap(lines), "a heap profile ('heap profile: ...')"),
    (
        lambda lines, text: legacy_text.parse_go_count(lines),
        "a Go count profile ('NAME profile: total N')",
    ),
    (lambda lines, text: legacy_text.parse_threadz(lines), "a threadz profile ('--- threadz')"),
    (
        lambda lines, text: legacy_text.parse_contention(lines),
        "a contention profile ('--- contention:', '--- mutex:' or '--- contentionz')",
    ),
    (lambda lines, text: parse_java_text(text), "a Java profile ('--- heapz 1 ---' ...)"),
)

#: The legacy parsers' regular expressions (pprof's, backtracking here where Go's RE2 does not)
#: take time cubic in the length of a run of digits; no number in a profile has 200 digits
#: (int64 and uint64 have at most 20), and pprof refuses such a number wherever it parses one.
_LONG_NUMBER = re.compile(r"\d{200}")

_REFUSED_TOO = (
    "go tool pprof refuses it too (its legacy parsers, profile/legacy_profile.go); record the "
    "profile again"
)


#: A single line that can only be a profile's text, never a file name: a goroutine header, a
#: legacy profile's first line, or a folded stack ("a;b;c 12").
_ONE_LINE_OF_TEXT = re.compile(r"^\s*(goroutine \d+ \[|[\w-]+ profile: |--- \w+|\S*;\S.* \d+\s*$)")


def _read(source: str | os.PathLike[str] | bytes | bytearray | memoryview) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if not isinstance(source, (str, os.PathLike)):
        raise ProfileError(
            repr(source),
            f"cannot load a profile from a {type(source).__name__}",
            "Pass a file path (str or pathlib.Path) or the profile's bytes",
        )
    if isinstance(source, str) and "\n" in source:
        # A path never holds a newline; a pasted goroutine dump or folded text always does.
        return source.encode("utf-8"), "<text>"
    name = os.fspath(source)
    path = Path(name)
    try:
        return path.read_bytes(), name
    except FileNotFoundError:
        if isinstance(source, str) and _ONE_LINE_OF_TEXT.match(source):
            # One line of a profile's text, not a path (no file of that name exists): the start
            # of a dump ("goroutine 1 [running]:"), a legacy header, or a folded stack.
            return source.encode("utf-8"), "<text>"
        raise ProfileError(
            name,
            "no such file",
            f"Check the path (relative paths start at the working directory, {os.getcwd()})",
        ) from None
    except IsADirectoryError:
        raise ProfileError(
            name, "is a directory, not a profile file", "Name a file inside it, e.g. cpu.pprof"
        ) from None
    except PermissionError:
        raise ProfileError(name, "permission denied", "Make the file readable") from None
    except OSError as exc:
        raise ProfileError(name, f"cannot be read ({exc.strerror or exc})") from None


def load_profile(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview, *, name: str | None = None
) -> Profile:
    """Load a profile from a path, from bytes, or from text (a ``str`` with a newline, such as
    ``Result.goroutine_dump()``); the format is detected from the content.

    Formats: pprof profile.proto, gzip-compressed (as runtime/pprof and ``/debug/pprof/`` serve
    it) or raw; every legacy format ``go tool pprof`` reads, read as it reads them (Go's
    ``?debug=1`` heap, allocs, block, mutex, goroutine and threadcreate text; gperftools' heap,
    growth, contention, threadz and binary CPU profiles; Go's binary CPU profile before 1.9;
    Java's): legacy_text, legacy_cpu, legacy_java; goroutine dumps, wherever they are in a text
    (goroutines.parse_dump); the race detector's reports (races.parse_races); folded stacks
    (``a;b;c 12``).
    ``name`` overrides what :attr:`Profile.source` and error messages call the input (default:
    the path as given, ``"<bytes>"`` or ``"<text>"``). Any problem raises :class:`ProfileError` naming the
    source, what is wrong and what to do.
    """
    data, label = _read(source)
    if name is not None:
        label = str(name)
    if not data:
        raise ProfileError(
            label,
            "is empty (0 bytes)",
            "Record the profile again; " + _WHAT_TO_PASS[0].lower() + _WHAT_TO_PASS[1:],
        )
    if data[:2] == GZIP_MAGIC:
        data = gunzip(data, label)
        if not data:
            raise ProfileError(label, "the gzip stream holds 0 bytes", _WHAT_TO_PASS)
    found = legacy_cpu_header(data)
    if found is not None:
        parser = parse_java_cpu if found[2] == 1 else parse_cpu
        what = "a legacy binary CPU profile (Go before 1.9, gperftools)"
        return _legacy(lambda: parser(data), what, label)
    if data[:4] == b"\x7fELF":
        raise ProfileError(
            label,
            "is an ELF executable (a program), not a profile",
            "Pass the profile file; `go tool pprof BINARY PROFILE` is where a binary goes",
        )
    text = as_text(data)
    if text is None:
        return decode_pprof(data, label)
    return _load_text(text, data, label)


def _legacy(parse: Callable[[], Legacy], what: str, label: str) -> Profile:
    """Run a legacy parser and build its Profile; its complaints become ProfileError."""
    try:
        legacy = parse()
        if not legacy.sample_types:
            raise Malformed("it names no sample types (no 'resolution' attribute)")
        return build(legacy, label)
    except Malformed as exc:
        raise ProfileError(label, f"{what}: {exc.problem}", _REFUSED_TOO) from None
    except Unrecognized as exc:
        raise ProfileError(
            label, f"starts like {what} but {exc.reason or 'is not one'}", _REFUSED_TOO
        ) from None


def _load_text(text: str, data: bytes, label: str) -> Profile:
    """Text: pprof's legacy text formats first, then a goroutine dump, then folded stacks."""
    lines = scanner_lines(text)
    long_number = _LONG_NUMBER.search(text)
    if long_number and sniff(lines):
        raise ProfileError(
            label,
            f"starts like a {sniff(lines)} profile but holds a run of {len(long_number.group())}+ "
            "digits, longer than any number a profile holds",
            _REFUSED_TOO,
        )
    near_miss = ""
    for parse, what in _TEXT_PARSERS:
        try:
            legacy = parse(lines, text)
        except Unrecognized as exc:
            if exc.reason and not near_miss:
                near_miss = f"starts like {what} but {exc.reason}"
            continue
        except Malformed as exc:
            raise ProfileError(label, f"{what}: {exc.problem}", _REFUSED_TOO) from None
        return _legacy(lambda legacy=legacy: legacy, what, label)
    if is_dump(text):
        return parse_dump(text, label)
    if is_race_report(text):
        return parse_races(text, label)
    if looks_folded(text):
        return parse_folded(text, label)
    if text.lstrip().startswith("{"):
        raise ProfileError(
            label,
            "is JSON (speedscope or another tool's export), which load_profile does not read",
            _WHAT_TO_PASS,
        )
    try:
        return decode_pprof(data, label)
    except ProfileError:
        pass  # text that is no protobuf either: say what the text is not, not why protobuf failed
    if near_miss:
        raise ProfileError(label, near_miss, _REFUSED_TOO)
    first = next((line for line in lines if line.strip()), "")
    raise ProfileError(
        label,
        "is text in none of the formats labkit reads: no 'goroutine N [state]:' line (a "
        "goroutine dump), no 'a;b;c COUNT' line (folded stacks), and no first line of a "
        "text profile such as 'heap profile: ...', 'goroutine profile: total N' or '--- mutex:'; "
        f"its first line is {first[:120]!r}",
        _WHAT_TO_PASS,
    )
