"""The legacy binary CPU profile: gperftools' ``CPUPROFILE`` output and Go's before 1.9.

Go 1.8 and older wrote ``/debug/pprof/profile`` in this format (runtime/pprof's old
``profileWriter`` copied runtime.CPUProfile's words out); Go 1.9 moved to profile.proto. The
format, as gperftools documents it (docs/cpuprofile-fileformat.html) and google/pprof reads it
(src/cmd/vendor/github.com/google/pprof/profile/legacy_profile.go ``parseCPU``, ``cpuProfile``,
``parseCPUSamples``), is a run of machine words, 32 or 64 bits, in the writer's byte order:

* a header of five words: ``0``, ``3`` (header words that follow), ``0`` (format version;
  ``1`` marks Java's variant, legacy_java), the sampling period in microseconds, ``0``;
* one record per stack: the number of times it was sampled, its depth N, then N program
  counters, leaf first;
* a trailer record ``0, 1, 0``;
* then text: the process's memory map (legacy_maps), as ``/proc/self/maps`` prints it.

pprof tries 32-bit little-endian, 32-bit big-endian, 64-bit little-endian and 64-bit big-endian
words in that order and takes the first whose header fits. Every frame but the leaf is moved back
one byte (a return address points after its call). When nearly every sample (all but one in 32)
has the same second frame, that frame is the signal handler's and is removed, at most twice; and a
leaf recorded twice (from the signal context and, one byte back, from unwinding) is kept once.
"""

from __future__ import annotations

import numpy as np

from labkit.profiles.legacy import Legacy, Sample
from labkit.profiles.legacy_maps import parse_memory_map
from labkit.profiles.legacy_text import Unrecognized, drop_duplicate_leaf, scanner_lines

_U64 = (1 << 64) - 1

#: pprof's cpuInts order: (bytes per word, numpy dtype).
_WORDS = ((4, "<u4"), (4, ">u4"), (8, "<u8"), (8, ">u8"))

#: "Allow one different sample for this many samples with the same second-to-last frame."
_SIMILAR_SAMPLES = 32


class _Words:
    """The body as words; reading past the end gives 0 and marks the reader spent (pprof's
    get32l & co. return a nil slice)."""

    def __init__(self, data: bytes, size: int, dtype: str) -> None:
        self.size = size
        self.data = data
        usable = len(data) // size * size
        self.words = np.frombuffer(data[:usable], dtype=dtype).tolist()
        self.pos = 0  # in words
        self.spent = False

    def remaining_bytes(self) -> int:
        return 0 if self.spent else len(self.data) - self.pos * self.size

    def next(self) -> int:
        if self.spent or self.pos >= len(self.words):
            self.spent = True
            return 0
        value = self.words[self.pos]
        self.pos += 1
        return value

    def rest(self) -> bytes:
        return b"" if self.spent else self.data[self.pos * self.size :]


def header(data: bytes) -> tuple[_Words, int, int] | None:
    """``(words after the header, period in microseconds, 0 for C++ or 1 for Java)`` when data
    starts with a legacy CPU profile header in one of pprof's four word forms, else None."""
    for size, dtype in _WORDS:
        if len(data) < 5 * size:
            continue
        words = _Words(data, size, dtype)
        n = [words.next() for _ in range(5)]
        if n[0] == 0 and n[1] == 3 and n[2] in (0, 1) and n[3] > 0 and n[4] == 0:
            return words, n[3], n[2]
    return None


def _int64(value: int) -> int:
    value &= _U64
    return value - (1 << 64) if value >> 63 else value


def read_samples(words: _Words, period_ns: int, adjust: bool) -> list[Sample]:
    """parseCPUSamples: the records up to the trailer (or the end)."""
    samples: list[Sample] = []
    while words.remaining_bytes() > 0:
        count = words.next()
        depth = words.next()
        if words.spent or depth > words.remaining_bytes() // 4:
            raise Unrecognized(
                f"a record of {depth} frames at byte {words.pos * words.size} runs past the end "
                "of the file"
            )
        addresses = [words.next() for _ in range(depth)]
        if count == 0 and depth == 1 and addresses[0] == 0:
            break  # the trailer
        if adjust:
            addresses = [a if i == 0 else (a - 1) & _U64 for i, a in enumerate(addresses)]
        value = _int64(count)
        samples.append(Sample(addresses, [value, _int64(value * period_ns)]))
    return samples


def _drop_signal_frames(samples: list[Sample]) -> None:
    """cpuProfile's heuristic: a second frame shared by all samples but one in 32 is the signal
    handler's; remove it (at most two such frames)."""
    margin = len(samples) // _SIMILAR_SAMPLES
    for _ in range(2):
        counts: dict[int, int] = {}
        for s in samples:
            if len(s.addresses) > 1:
                a = s.addresses[1]
                counts[a] = counts.get(a, 0) + 1
        common = [a for a, n in counts.items() if n >= len(samples) - margin]
        if not common:
            continue
        for s in samples:
            if len(s.addresses) > 1 and s.addresses[1] == common[0]:
                del s.addresses[1]


def parse_cpu(data: bytes) -> Legacy:
    """A C++ (or pre-1.9 Go) legacy CPU profile; Unrecognized if data has no such header or is
    a Java one (legacy_java.parse_java_cpu)."""
    found = header(data)
    if found is None or found[2] != 0:
        raise Unrecognized()
    words, period_us, _ = found
    period_ns = period_us * 1000
    out = Legacy(
        "legacy-cpu",
        [("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period_ns,
    )
    out.samples = read_samples(words, period_ns, adjust=True)
    _drop_signal_frames(out.samples)
    out.mappings = parse_memory_map(scanner_lines(words.rest().decode("latin-1")))
    drop_duplicate_leaf(out)
    return out
