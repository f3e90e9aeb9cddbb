"""load_trace: a path, bytes or a binary file in, a Trace out; a TraceError for anything else."""

from __future__ import annotations

import gc
import os
import re
import zlib
from pathlib import Path
from typing import Any

from labkit.traces import spec as s
from labkit.traces.build import build
from labkit.traces.errors import TraceError
from labkit.traces.model import Trace, from_columns
from labkit.traces.wire import HEADER, HEADER_SIZE_MAX, Malformed

_ANY_HEADER = re.compile(rb"go 1\.(\d+) trace\x00")
_RECORD = (
    "Record one with runtime/trace (trace.Start / trace.Stop), `go test -trace=trace.out`, "
    "or /debug/pprof/trace?seconds=N, with Go 1.22 or newer"
)


def _read(source: Any) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if hasattr(source, "read"):
        label = str(getattr(source, "name", "<file object>"))
        try:
            data = source.read()
        except OSError as exc:
            raise TraceError(label, f"cannot be read ({exc})") from None
        if isinstance(data, str):
            raise TraceError(
                label,
                "is a file opened in text mode",
                "Open the trace in binary mode: open(path, 'rb')",
            )
        return bytes(data), label
    if not isinstance(source, (str, os.PathLike)):
        raise TraceError(
            repr(source)[:80],
            f"cannot load a trace from a {type(source).__name__}",
            "Pass a file path (str or pathlib.Path), the trace's bytes, or a file opened 'rb'",
        )
    name = os.fspath(source)
    if isinstance(name, str) and ("\n" in name or "\0" in name):
        raise TraceError(
            "<text>",
            "is text, not a path to a trace file",
            "Pass the path of the trace file, or its bytes",
        )
    try:
        return Path(name).read_bytes(), str(name)
    except FileNotFoundError:
        raise TraceError(
            str(name),
            "no such file",
            f"Check the path (relative paths start at the working directory, {os.getcwd()})",
        ) from None
    except IsADirectoryError:
        raise TraceError(
            str(name), "is a directory, not a trace file", "Name a file inside it, e.g. trace.out"
        ) from None
    except PermissionError:
        raise TraceError(str(name), "permission denied", "Make the file readable") from None
    except OSError as exc:
        raise TraceError(str(name), f"cannot be read ({exc.strerror or exc})") from None


def _gunzip(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(data, 64 << 20)
    except zlib.error:
        return None


def _what_else(data: bytes, label: str) -> TraceError:
    """The TraceError for bytes that do not start with a trace header: say what they are."""
    if data[:2] == b"\x1f\x8b":
        inner = _gunzip(data)
        if inner is not None and _ANY_HEADER.match(inner, 0, HEADER_SIZE_MAX):
            return TraceError(
                label,
                "is a gzip-compressed execution trace",
                "Go writes traces uncompressed (runtime/trace, /debug/pprof/trace); decompress "
                "it (gunzip) and load the result",
            )
        if inner is not None and _is_profile(inner):
            return _profile_error(label)
        return TraceError(label, "is gzip-compressed data, not an execution trace", _RECORD)
    if _is_profile(data):
        return _profile_error(label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip():
        first = text.strip().splitlines()[0][:60]
        if re.match(r"M=-?\d+ P=-?\d+ G=-?\d+ ", first):
            return TraceError(
                label,
                "is the text `go tool trace -d=parsed` prints, not the trace itself",
                "Load the trace file that command read",
            )
        if text.lstrip().startswith(("{", "[")):
            return TraceError(
                label, "is JSON (a trace viewer export?), not a binary trace", _RECORD
            )
        return TraceError(
            label, f"is text (it begins {first!r}), not a binary execution trace", _RECORD
        )
    head = data[:16]
    return TraceError(
        label,
        f"is not a Go execution trace: it does not begin with 'go 1.N trace' (it begins {head!r})",
        _RECORD,
    )


def _is_profile(data: bytes) -> bool:
    from labkit.profiles import ProfileError, load_profile

    try:
        load_profile(data)
    except ProfileError:
        return False
    return True


def _profile_error(label: str) -> TraceError:
    return TraceError(
        label,
        "is a pprof profile (or goroutine dump), not an execution trace",
        "Use labkit.profiles.load_profile to read it",
    )


def checked_bytes(source: Any, name: str | None = None) -> tuple[bytes, str, int]:
    """The bytes of ``source``, what to call it, and its trace format version; TraceError if
    it is not a Go 1.22+ trace (empty, another format, an older or unknown version)."""
    data, label = _read(source)
    if name is not None:
        label = str(name)
    if not data:
        raise TraceError(label, "is empty (0 bytes)", _RECORD)
    head = _ANY_HEADER.match(data, 0, HEADER_SIZE_MAX)
    if head is None:
        raise _what_else(data, label)
    version = int(head[1])
    if version <= max(s.V1_VERSIONS):
        raise TraceError(
            label,
            f"was recorded with Go 1.21 or older (trace format go 1.{version})",
            "Record it again with Go 1.22 or newer: labkit reads the execution tracer of Go "
            "1.22+ (the format `go tool trace` of older Go versions reads is not supported)",
        )
    if version not in s.VERSIONS or not HEADER.match(data, 0, HEADER_SIZE_MAX):
        newer = version > max(s.VERSIONS)
        raise TraceError(
            label,
            f"has trace format go 1.{version}, which labkit does not know"
            + (" (a Go newer than this labkit wrote it)" if newer else ""),
            "labkit reads the formats of Go 1.22 to 1.27 (1.22, 1.23, 1.25, 1.26); "
            + ("update labkit, or " if newer else "")
            + "open it with that Go's own `go tool trace`",
        )
    return data, label, version


def load_trace(source: Any, *, name: str | None = None) -> Trace:
    """Load a Go 1.22+ execution trace from a path, bytes or a binary file object.

    ``name`` overrides what the Trace and error messages call the input (default: the path,
    ``"<bytes>"`` or the file object's name). Anything that is not a readable Go 1.22+ trace
    raises :class:`TraceError` saying what it is and what to do: a pprof profile, a trace
    recorded with Go 1.21 or older, text, a gzip-compressed trace, a truncated or damaged file.
    """
    data, label, version = checked_bytes(source, name)
    # The reader makes millions of short-lived tuples and no reference cycles: the cyclic
    # garbage collector, which would scan them again and again, is paused meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        columns = build(data, version)
    except Malformed as exc:
        raise malformed_error(exc, label, len(data)) from None
    except (KeyError, IndexError, ValueError, TypeError, OverflowError) as exc:
        raise TraceError(
            label,
            f"could not be read: the trace is inconsistent ({type(exc).__name__}: {exc})",
            "The file is damaged; record it again",
        ) from None
    finally:
        if collecting:
            gc.enable()
    return from_columns(columns, label)


def malformed_error(exc: Malformed, label: str, size: int) -> TraceError:
    where = f" at byte {exc.offset}" if exc.offset is not None else ""
    if exc.kind == "truncated":
        return TraceError(
            label,
            f"is truncated: the file has {size} bytes and stops{where} ({exc.message})",
            "It was cut short: a program that exits without trace.Stop, a killed process or a "
            "partial copy. Record it again, stopping the trace before the program exits",
        )
    if exc.kind == "order":
        return TraceError(
            label,
            f"is damaged: its events cannot be put in order ({exc.message})",
            "Record it again",
        )
    return TraceError(label, f"is damaged{where}: {exc.message}", "Record it again")
