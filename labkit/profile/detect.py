"""Which format a profile's bytes are in, decided from the bytes alone (never the file name).

Order of the checks, most specific first:

1. gzip magic ``1f 8b``: decompress (runtime/pprof writes protobuf profiles gzip-compressed), then
   decide again on the inner bytes;
2. text (valid UTF-8): ``NAME profile: total N`` is a ``?debug=1`` count profile; a line
   ``goroutine N [...]:`` a ``?debug=2`` dump; ``stack count`` lines folded stacks; a leading
   ``{`` JSON (not read: say so);
3. anything else is tried as uncompressed profile.proto.
"""

from __future__ import annotations

import zlib

from labkit.profile.errors import ProfileError
from labkit.profile.folded import looks_folded
from labkit.profile.goroutines import is_debug1, is_debug2

GZIP_MAGIC = b"\x1f\x8b"

#: Formats :func:`detect_format` names, each read by one parser.
FORMATS = ("pprof", "folded", "goroutine-debug1", "goroutine-debug2")


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


def text_format(text: str) -> str | None:
    """The text format of ``text``, or None if it is none of them."""
    if is_debug1(text):
        return "goroutine-debug1"
    if is_debug2(text):
        return "goroutine-debug2"
    if looks_folded(text):
        return "folded"
    return None


def detect_format(data: bytes) -> str:
    """Name the format of (uncompressed or gzip) profile bytes: one of :data:`FORMATS`.

    Returns "pprof" for anything that is not a recognised text format; whether it really is a
    profile shows when it is decoded.
    """
    if data[:2] == GZIP_MAGIC:
        data = gunzip(data, "<bytes>")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "pprof"
    return text_format(text) or "pprof"
