"""load_profile: a path or bytes in, a validated Profile out, whatever the format."""

from __future__ import annotations

import os
from pathlib import Path

from labkit.profile.detect import GZIP_MAGIC, gunzip, text_format
from labkit.profile.errors import ProfileError
from labkit.profile.folded import parse_folded
from labkit.profile.goroutines import parse_debug1, parse_debug2
from labkit.profile.model import Profile
from labkit.profile.pprof import decode_pprof

_PARSERS = {
    "folded": parse_folded,
    "goroutine-debug1": parse_debug1,
    "goroutine-debug2": parse_debug2,
}

_WHAT_TO_PASS = (
    "Pass a pprof profile (gzip or raw protobuf), folded stacks, or a goroutine dump "
    "(?debug=1 or ?debug=2)"
)


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
    it) or raw; folded stacks (``a;b;c 12``); Go goroutine dumps ``?debug=2`` and ``?debug=1``.
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
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        fmt = text_format(text)
        if fmt is not None:
            return _PARSERS[fmt](text, label)
        if text.lstrip().startswith("{"):
            raise ProfileError(
                label,
                "is JSON (speedscope or another tool's export), which load_profile does not read",
                _WHAT_TO_PASS,
            )
    try:
        return decode_pprof(data, label)
    except ProfileError as exc:
        if text is None:
            raise
        # Text that is no known text format and no protobuf either: say both.
        raise ProfileError(
            label,
            "is text but not folded stacks nor a goroutine dump, and not a pprof "
            f"protobuf ({exc.problem})",
            _WHAT_TO_PASS,
        ) from None
