"""Java's legacy profiles, as ``go tool pprof`` reads them.

A port of src/cmd/vendor/github.com/google/pprof/profile/legacy_java_profile.go: the heap
(``--- heapz 1 ---``) and contention (``--- contentionz 1 ---`` with ``format = java``) text
profiles, and the binary CPU profile whose header's third word is 1 (legacy_cpu). After the
samples (``COUNT VALUE @ 0x...``, addresses not moved back) comes a location section, one
``0xADDRESS function (File.java:LINE)`` line per address, so these profiles carry function
names. Heap samples are unsampled with Java's fixed 512 KiB rate (``javaHeapzSamplingRate``),
contention samples multiplied by the ``sampling period``.
"""

from __future__ import annotations

import re

from labkit.profiles.legacy import Legacy, Sample
from labkit.profiles.legacy_cpu import header, read_samples
from labkit.profiles.legacy_text import Malformed, Unrecognized, scale_heap_sample

# legacy_java_profile.go attributeRx, ``([\w ]+)=([\w ]+)``, held to start where a run of its
# characters starts (where every leftmost match starts), so that a long line without '=' is not
# searched from each of its characters again.
_ATTRIBUTE = re.compile(r"(?<![\w ])([\w ]++)=([\w ]++)", re.ASCII)
_SAMPLE = re.compile(r" *(\d+) +(\d+) +@ +([ x0-9a-f]*)", re.ASCII)
_LOCATION = re.compile(r"^\s*0x([0-9A-Fa-f]+)\s+(.*)\s*$", re.ASCII)
_LINE_TAIL = re.compile(r":-?[0-9]+\)$", re.ASCII)
#: What RE2's \s matches.
_BLANKS = " \t\n\f\r"
_HEX = re.compile(r"0x[0-9a-f]+")

#: legacy_java_profile.go javaHeapzSamplingRate: 512 KiB.
_HEAP_RATE = 524288

_I64_MAX = (1 << 63) - 1


def _lines_with_newline(text: str) -> list[str]:
    """The lines that end in a newline (pprof's header and sample loops stop at the last '\\n')."""
    return text.split("\n")[:-1]


def _go_int0(text: str) -> int:
    value = int(text, 8) if len(text) > 1 and text[0] == "0" else int(text)
    if value > _I64_MAX:
        raise ValueError(text)
    return value


def parse_java_text(text: str) -> Legacy:
    """parseJavaProfile: the heapz and contentionz text profiles."""
    first, newline, body = text.partition("\n")
    if not newline:
        raise Unrecognized()
    kind = {"--- heapz 1 ---": "heap", "--- contentionz 1 ---": "contention"}.get(first.strip())
    if kind is None:
        raise Unrecognized()
    out = Legacy(f"java-{kind}", [], ("", ""), 0)
    lines = _lines_with_newline(body)
    i = _header(kind, lines, out)
    i = _samples(kind, lines, i, out)
    _locations(body.split("\n")[i:], out)
    return out


def _header(kind: str, lines: list[str], out: Legacy) -> int:
    """parseJavaHeader: ``attribute = value`` lines; returns the index of the first other line."""
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        match = _ATTRIBUTE.search(line)
        if not match:
            return i
        key, value = match.group(1).strip(), match.group(2).strip()
        if key == "format":
            if value != "java":
                raise Unrecognized(f"format = {value!r}, not java")
        elif kind == "heap" and key == "resolution":
            out.sample_types = [("inuse_objects", "count"), ("inuse_space", value)]
        elif kind == "contention" and key == "resolution":
            out.sample_types = [("contentions", "count"), ("delay", value)]
        elif kind == "contention" and key == "sampling period":
            out.period_type = ("contentions", "count")
            try:
                out.period = _go_int0(value)
            except ValueError:
                raise Malformed(f"failed to parse attribute {line}") from None
        elif kind == "contention" and key == "ms since reset":
            try:
                out.duration_ns = _go_int0(value) * 1_000_000
            except ValueError:
                raise Malformed(f"failed to parse attribute {line}") from None
        else:
            raise Unrecognized(f"the attribute {key!r} is not one a Java {kind} profile has")
    return len(lines)


def _samples(kind: str, lines: list[str], start: int, out: Legacy) -> int:
    """parseJavaSamples; returns the index of the first line that is not a sample."""
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line:
            continue
        match = _SAMPLE.search(line)
        if not match:
            return i
        try:
            first, second = _go_int0(match.group(2)), _go_int0(match.group(1))
            addresses = [int(h, 16) for h in _HEX.findall(match.group(3))]
        except ValueError:
            raise Malformed(f"malformed sample: {line}") from None
        if kind == "heap":
            if first == 0:
                raise Malformed(f"parsing sample {line}: second value must be non-zero")
            first, second = scale_heap_sample(first, second, _HEAP_RATE)
        elif out.period:
            first, second = first * out.period, second * out.period
        out.samples.append(Sample(addresses, [first, second]))
    return len(lines)


def _locations(lines: list[str], out: Legacy) -> None:
    """parseJavaLocations: ``0xADDRESS function (File.java:LINE)`` names the address."""
    wanted = {a for s in out.samples for a in s.addresses}
    for raw in lines:
        line = raw.strip()
        match = _LOCATION.match(line) if line else None
        if not match:
            continue
        address = int(match.group(1), 16)
        if address not in wanted:
            continue
        out.functions[address] = _function(match.group(2))


def _function(where: str) -> str:
    """The function of a location line's ``function (File.java:LINE)`` or ``function (path)``.

    legacy_java_profile.go matches ``^(.*)\\s+\\((.+):(-?\\d+)\\)$``, then
    ``^(.*)\\s+\\((.*)\\)$``: the greedy first group ends one blank before the last ``(``
    that has a blank before it and room for what follows. Found by hand here, because a
    backtracking engine takes time quadratic in the line on those patterns."""
    if where.endswith(")"):
        tail = _LINE_TAIL.search(where)
        # (.+) needs one character between "(" and ":LINE)"; (.*) none before ")".
        limits = ([tail.start() - 1] if tail else []) + [len(where) - 1]
        for limit in limits:
            paren = where.rfind("(", 0, limit)
            while paren >= 1:
                if where[paren - 1] in _BLANKS:
                    return where[: paren - 1]
                paren = where.rfind("(", 0, paren)
    if "generated stub/JIT" in where:
        return "STUB"
    return where


def parse_java_cpu(data: bytes) -> Legacy:
    """javaCPUProfile: the binary CPU profile with a Java header, then the location section."""
    found = header(data)
    if found is None or found[2] != 1:
        raise Unrecognized()
    words, period_us, _ = found
    period_ns = period_us * 1000
    out = Legacy(
        "java-cpu",
        [("samples", "count"), ("cpu", "nanoseconds")],
        ("cpu", "nanoseconds"),
        period_ns,
    )
    out.samples = read_samples(words, period_ns, adjust=False)
    _locations(words.rest().decode("latin-1").split("\n"), out)
    return out
