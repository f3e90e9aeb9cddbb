"""Which format a profile's bytes are in, decided from the bytes alone (never the file name).

Order of the checks, most specific first:

1. gzip magic ``1f 8b``: decompress (runtime/pprof writes protobuf profiles gzip-compressed), then
   decide again on the inner bytes;
2. the header of a legacy binary CPU profile (legacy_cpu): five words ``0 3 0|1 PERIOD 0``;
3. text (no control bytes but whitespace): the legacy text profiles ``go tool pprof`` reads, by
   their first lines (legacy_text.sniff: ``heap profile: ...``, ``NAME profile: total N``,
   ``--- mutex:`` ...); a line ``goroutine N [...]:`` anywhere: a goroutine dump; ``stack
   count`` lines: folded stacks;
4. anything else is tried as uncompressed profile.proto.
"""

from __future__ import annotations

import re
import zlib

from labkit.profiles.errors import ProfileError
from labkit.profiles.folded import looks_folded
from labkit.profiles.goroutines import is_dump
from labkit.profiles.legacy_cpu import header as legacy_cpu_header
from labkit.profiles.legacy_text import scanner_lines, sniff
from labkit.profiles.races import is_race_report

GZIP_MAGIC = b"\x1f\x8b"

#: Formats :func:`detect_format` names. ``NAME-debug1`` is any Go count profile
#: (``NAME profile: total N``: goroutine, threadcreate, or a custom pprof.Profile).
FORMATS = (
    "pprof",
    "folded",
    "goroutine-debug2",
    "race-report",
    "goroutine-debug1",
    "threadcreate-debug1",
    "heap-debug1",
    "block-debug1",
    "mutex-debug1",
    "legacy-heap",
    "legacy-growth",
    "legacy-fragmentation",
    "legacy-contention",
    "legacy-threadz",
    "legacy-cpu",
    "java-heap",
    "java-contention",
    "java-cpu",
)

#: Bytes no text profile holds (C0 controls but tab, newline, vertical tab, form feed, return).
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")


def gunzip(data: bytes, source: str) -> bytes:
    """Decompress all gzip members of ``data``; ProfileError if truncated or corrupt."""
    out = []
    try:
        while data:
            d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out.append(d.decompress(data))
            if not d.eof:
                raise ProfileError(
                    source,
                    "the gzip stream is truncated (it ends before its end marker)",
                    "The file was cut short; copy or download it again",
                )
            data = d.unused_data
            # runtime/pprof writes one member; concatenated members are valid gzip too, but
            # trailing zero padding (tar, some uploads) is not another member.
            if data and data[:2] != GZIP_MAGIC:
                if data.strip(b"\0"):
                    raise ProfileError(
                        source,
                        f"{len(data)} bytes of garbage follow the gzip stream",
                        "The file is corrupt; record it again",
                    )
                break
    except zlib.error as exc:
        raise ProfileError(
            source, f"the gzip stream is corrupt ({exc})", "The file is damaged; record it again"
        ) from None
    return b"".join(out)


def as_text(data: bytes) -> str | None:
    """The bytes as text when they hold no control bytes (undecodable UTF-8 replaced), else
    None: protobuf always holds some (field keys 0x08, 0x10, ...)."""
    if _BINARY.search(data):
        return None
    return data.decode("utf-8", errors="replace")


def text_format(text: str) -> str | None:
    """The text format of ``text``, or None if it is none of them."""
    legacy = sniff(scanner_lines(text))
    if legacy is not None:
        return legacy
    if is_dump(text):
        return "goroutine-debug2"
    if is_race_report(text):
        return "race-report"
    if looks_folded(text):
        return "folded"
    return None


def detect_format(data: bytes) -> str:
    """Name the format of (uncompressed or gzip) profile bytes: one of :data:`FORMATS`.

    Returns "pprof" for anything that is not a recognised legacy or text format; whether it
    really is a profile shows when it is decoded.
    """
    if data[:2] == GZIP_MAGIC:
        data = gunzip(data, "<bytes>")
    found = legacy_cpu_header(data)
    if found is not None:
        return "java-cpu" if found[2] == 1 else "legacy-cpu"
    text = as_text(data)
    if text is None:
        return "pprof"
    return text_format(text) or "pprof"
