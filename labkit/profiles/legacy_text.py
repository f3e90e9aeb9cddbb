"""The legacy text profiles ``go tool pprof`` reads, parsed as its legacy parsers parse them.

A port of src/cmd/vendor/github.com/google/pprof/profile/legacy_profile.go, tried in pprof's
order (``parseLegacy``): ``parseHeap``, ``parseGoCount``, ``parseThread``, ``parseContention``
(the binary CPU profile is legacy_cpu, Java's profiles legacy_java):

* heap (``heap profile: 11: 533104 [13: 533328] @ heap/65536``): Go's ``?debug=1`` heap and
  allocs text (runtime/pprof writeHeapInternal; the ``@ heap/N`` rate is twice
  runtime.MemProfileRate, so pprof halves it), gperftools' ``heapz_v2/N``, ``heap_v2/N`` and
  ``heapprofile`` forms, the growth (``@ growthz``) and fragmentation profiles. Records are
  ``INUSE_OBJECTS: INUSE_BYTES [ALLOC_OBJECTS: ALLOC_BYTES] @ PCS``; sampled profiles are
  unsampled with pprof's scaleHeapSample (each value divided by the probability
  ``1 - exp(-size/rate)`` that an allocation of the record's mean size was sampled), which is
  what runtime/pprof's protomem.go does for the protobuf profile;
* count (``goroutine profile: total 19``): Go's ``?debug=1`` goroutine and threadcreate text
  (runtime/pprof printCountProfile): ``COUNT @ PCS``;
* threadz (``--- threadz 1 ---``): gperftools' thread stacks, one sample per thread;
* contention (``--- contention:`` Go's block profile, ``--- mutex:`` its mutex profile, both
  ``?debug=1`` from runtime/pprof writeProfileInternal; ``--- contentionz`` gperftools'):
  ``attribute = value`` lines, then ``CYCLES COUNT @ PCS``; delay in nanoseconds is
  ``CYCLES * sampling period / (cycles per second / 1e9)`` and contentions ``COUNT * sampling
  period``. Go's mutex records are already scaled by the sampling period in the runtime
  (mprof.go saveblockevent), so pprof reports a Go mutex text profile taken with
  ``SetMutexProfileFraction(N)`` N times larger than its protobuf twin; labkit reads it as pprof
  does.

Like pprof, every address but the leaf of a CPU-like stack is moved back one byte (a return
address points after its call). Lines are read as Go's bufio.Scanner reads them (``\\r\\n``
ends a line too).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from labkit.profiles.legacy import Legacy, Malformed, Sample, Unrecognized
from labkit.profiles.legacy_maps import is_sentinel, parse_memory_map
from labkit.profiles.names import UNKNOWN

_U64 = (1 << 64) - 1
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1

_COUNT_START = re.compile(r"\A(\S+) profile: total \d+\Z", re.ASCII)
_COUNT = re.compile(r"\A(\d+) @((?: 0x[0-9a-f]+)+)\Z", re.ASCII)
_HEAP_HEADER = re.compile(
    r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] *@ *(heap[_a-z0-9]*)/?(\d*)", re.ASCII
)
_HEAP_SAMPLE = re.compile(r"(-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *] @([ x0-9a-f]*)", re.ASCII)
_GROWTH_HEADER = re.compile(r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ growthz?")
_FRAG_HEADER = re.compile(r"heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ fragmentationz?")
_CONTENTION_SAMPLE = re.compile(r"(\d+) *(\d+) @([ x0-9a-f]*)", re.ASCII)
_HEX = re.compile(r"0x[0-9a-f]+")
_THREADZ_START = re.compile(r"--- threadz \d+ ---")
_THREAD_START = re.compile(r"--- Thread ([0-9A-Fa-f]+) \(name: (.*)/(\d+)\) stack: ---")
_CONTENTION_PREFIXES = {
    "--- contentionz ": "legacy-contention",
    "--- mutex:": "mutex-debug1",
    "--- contention:": "block-debug1",
}
#: Go's frame lines under a ?debug=1 record (runtime/pprof printStackRecord).
_GO_FRAME = re.compile(r"^#\t+(0x[0-9a-f]+)(?:\t+(.+?)\+0x[0-9a-f]+\t+.*)?\s*$")


class _Scanner:
    """Go's bufio.Scanner over lines: ``scan()`` moves on, ``text`` is "" once it is done."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.index = -1
        self.text = ""

    def scan(self) -> bool:
        if self.index + 1 < len(self.lines):
            self.index += 1
            self.text = self.lines[self.index]
            return True
        self.index = len(self.lines)
        self.text = ""
        return False

    @property
    def number(self) -> int:
        """1-based number of the current line."""
        return self.index + 1

    def rest(self) -> list[str]:
        return self.lines[self.index + 1 :]


def scanner_lines(text: str) -> list[str]:
    """bufio.ScanLines: split at ``\\n``, drop one ``\\r`` before it, no empty last token."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _space_or_comment(line: str) -> bool:
    trimmed = line.strip()
    return not trimmed or trimmed[0] == "#"


def _go_int(text: str, base: int = 10) -> int:
    """strconv.ParseInt(text, base, 64) for the digit strings these formats hold."""
    if base == 0 and len(text) > 1 and text[0] == "0" and text[1] not in "xXbBoO":
        value = int(text, 8)  # base 0 reads a leading 0 as octal
    else:
        value = int(text, base)
    if not _I64_MIN <= value <= _I64_MAX:
        raise ValueError(f"{text} is out of range")
    return value


def _int64(value: float) -> int:
    """Go's int64(float64): truncation toward zero."""
    return int(value)


def _addresses(text: str) -> list[int]:
    """parseHexAddresses: every 0x... number in text."""
    out = []
    for h in _HEX.findall(text):
        value = int(h, 16)
        if value > _U64:
            raise ValueError(f"failed to parse as hex 64-bit number: {h}")
        out.append(value)
    return out


def go_frames(lines: list[str], index: int) -> list[str] | None:
    """The names in Go's ``#\\tPC\\tFUNCTION+OFF\\tFILE:LINE`` lines right below line ``index``
    (0-based), leaf first; None when there are none (an unsymbolized record).

    The names are as Go printed them: a generic function's type arguments as ``[...]``
    (runtime.Frame.Function, src/runtime/traceback.go funcNamePiecesForPrint), where the
    protobuf of the same records keeps the shape, ``F[go.shape.int64]`` (runtime/pprof
    proto.go:621 uses runtime_FrameSymbolName)."""
    names: list[str] = []
    i = index + 1
    while i < len(lines) and lines[i].startswith("#"):
        match = _GO_FRAME.match(lines[i])
        if match:
            names.append(match.group(2) or UNKNOWN)
        i += 1
    return names or None


def _maps(scanner: _Scanner) -> list:
    """parseAdditionalSections: skip to the memory map sentinel, read the map after it."""
    while not is_sentinel(scanner.text) and scanner.scan():
        pass
    return parse_memory_map(scanner.rest())


def _malformed(fmt: str, scanner: _Scanner, expected: str, found: str) -> Malformed:
    return Malformed(
        f"line {scanner.number} of this {fmt} profile: expected {expected}, found {found!r}"
    )


# -- heap -------------------------------------------------------------------------------------


def scale_heap_sample(count: int, size: int, rate: int) -> tuple[int, int]:
    """legacy_profile.go scaleHeapSample (the same as runtime/pprof protomem.go's)."""
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    avg = float(size) / float(count)
    scale = 1 / (1 - math.exp(-avg / float(rate)))
    return _int64(float(count) * scale), _int64(float(size) * scale)


def parse_heap(lines: list[str]) -> Legacy:
    """parseHeap: heap, growth and fragmentation profiles."""
    if not lines:
        raise Unrecognized()
    first = lines[0]
    sampling, period, has_alloc = "", 1, False
    header = _HEAP_HEADER.search(first)
    if header:
        kind = header.group(5)
        if header.group(6):
            try:
                period = _go_int(header.group(6))
            except ValueError:
                raise Unrecognized(f"the sampling rate in {first!r} does not fit int64") from None
        else:
            period = 0
        g = header.groups()
        has_alloc = (g[2] != g[0] and g[2] != "0") or (g[3] != g[1] and g[3] != "0")
        if kind in ("heapz_v2", "heap_v2"):
            sampling = "v2"
        elif kind == "heapprofile":
            period = 1
        elif kind == "heap":
            sampling, period = "v2", period // 2
        else:
            raise Unrecognized(
                f"the heap profile kind {kind!r} in {first!r} is not one pprof reads"
            )
        fmt = "heap-debug1" if kind == "heap" else "legacy-heap"
    elif _GROWTH_HEADER.search(first):
        fmt = "legacy-growth"
    elif _FRAG_HEADER.search(first):
        fmt = "legacy-fragmentation"
    else:
        raise Unrecognized()
    if has_alloc:
        # "Put alloc before inuse so that default pprof selection will prefer inuse_space."
        types = [
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ]
    else:
        types = [("objects", "count"), ("space", "bytes")]
    out = Legacy(fmt, types, ("space", "bytes"), period)
    scanner = _Scanner(lines)
    scanner.scan()
    expected = "'INUSE_OBJECTS: INUSE_BYTES [ALLOC_OBJECTS: ALLOC_BYTES] @ 0x...'"
    while scanner.scan():
        line = scanner.text.strip()
        if _space_or_comment(line):
            continue
        if is_sentinel(line):
            break
        match = _HEAP_SAMPLE.search(line)
        if not match:
            raise _malformed(fmt, scanner, expected, scanner.text)
        try:
            values: list[int] = []
            pairs = [(match.group(3), match.group(4), "allocation")] if has_alloc else []
            pairs.append((match.group(1), match.group(2), "inuse"))
            for count_text, size_text, label in pairs:
                count, size = _go_int(count_text), _go_int(size_text)
                if count == 0 and size != 0:
                    raise _malformed(
                        fmt, scanner, f"a {label} count above 0 for {size} bytes", scanner.text
                    )
                if count != 0 and sampling == "v2":
                    count, size = scale_heap_sample(count, size, period)
                values += [count, size]
            addresses = [(a - 1) & _U64 for a in _addresses(match.group(5))]
        except ValueError as exc:
            raise _malformed(
                fmt, scanner, f"numbers that fit int64 ({exc})", scanner.text
            ) from None
        out.samples.append(Sample(addresses, values, go_frames(lines, scanner.index)))
    out.mappings = _maps(scanner)
    return out


# -- Go count profiles (goroutine, threadcreate) ------------------------------------------------


def parse_go_count(lines: list[str]) -> Legacy:
    """parseGoCount: ``NAME profile: total N``, then ``COUNT @ PCS`` records."""
    scanner = _Scanner(lines)
    while scanner.scan() and _space_or_comment(scanner.text):
        pass
    start = _COUNT_START.match(scanner.text)
    if not start:
        raise Unrecognized()
    name = start.group(1)
    out = Legacy(f"{name}-debug1", [(name, "count")], (name, "count"), 1)
    while scanner.scan():
        line = scanner.text
        if _space_or_comment(line):
            continue
        if line.startswith("---"):
            break
        match = _COUNT.match(line)
        try:
            if not match:
                raise ValueError
            count = _go_int(match.group(1), 0)
            addresses = [(a - 1) & _U64 for a in _addresses(match.group(2))]
        except ValueError:
            raise _malformed(out.format, scanner, "'COUNT @ 0x...'", line) from None
        out.samples.append(Sample(addresses, [count], go_frames(lines, scanner.index)))
    out.mappings = _maps(scanner)
    header_total = int(start.group(0).rsplit(" ", 1)[1])
    found = sum(s.values[0] for s in out.samples)
    if found != header_total:
        out.notes.append(
            f"the header says total {header_total} but the records add up to {found}: the text "
            "is truncated or edited"
        )
    return out


# -- threadz ----------------------------------------------------------------------------------


def _thread_sample(scanner: _Scanner) -> tuple[str, list[int] | None]:
    """parseThreadSample: the addresses up to the next ``---`` line (None for "same as
    previous thread"), and the last line read."""
    line = ""
    same = False
    addresses: list[int] = []
    while scanner.scan():
        line = scanner.text.strip()
        if not line:
            continue
        if line.startswith("---"):
            break
        if "same as previous thread" in line:
            same = True
            continue
        addresses += _addresses(line)
    return line, None if same else addresses


def parse_threadz(lines: list[str]) -> Legacy:
    """parseThread: ``--- Thread ID (name: NAME/TID) stack: ---`` blocks, one sample each."""
    scanner = _Scanner(lines)
    while scanner.scan() and _space_or_comment(scanner.text):
        pass
    line = scanner.text
    if _THREADZ_START.search(line):
        while scanner.scan():
            line = scanner.text
            if is_sentinel(line) or line.startswith("-"):
                break
    elif not _THREAD_START.search(line):
        raise Unrecognized()
    out = Legacy("legacy-threadz", [("thread", "count")], ("thread", "count"), 1)
    while not is_sentinel(line):
        if line.startswith("---- no stack trace for"):
            break
        if not _THREAD_START.search(line):
            raise Unrecognized(
                f"line {scanner.number}: expected '--- Thread ID (name: NAME/TID) stack: ---' "
                f"or the memory map, found {line!r}"
            )
        try:
            line, addresses = _thread_sample(scanner)
        except ValueError as exc:
            raise _malformed(out.format, scanner, str(exc), scanner.text) from None
        if not addresses:
            # "[same as previous thread]" (or no addresses): one more thread on that stack.
            if out.samples:
                out.samples[-1].values[0] += 1
            continue
        stack = [a if i == 0 else (a - 1) & _U64 for i, a in enumerate(addresses)]
        out.samples.append(Sample(stack, [1]))
    out.mappings = _maps(scanner)
    drop_duplicate_leaf(out)
    return out


def drop_duplicate_leaf(profile: Legacy) -> None:
    """cleanupDuplicateLocations: a profiler may record the leaf twice, once from the signal
    context and once (moved back one byte) from unwinding; drop the second."""
    for s in profile.samples:
        a = s.addresses
        if len(a) > 1 and a[0] == (a[1] + 1) & _U64:
            del a[1]


# -- contention -------------------------------------------------------------------------------


def parse_contention(lines: list[str]) -> Legacy:
    """parseContention: Go's block and mutex ``?debug=1`` text, gperftools' contentionz."""
    scanner = _Scanner(lines)
    if not scanner.scan():
        raise Unrecognized()
    fmt = next((f for p, f in _CONTENTION_PREFIXES.items() if scanner.text.startswith(p)), None)
    if fmt is None:
        raise Unrecognized()
    out = Legacy(
        fmt,
        [("contentions", "count"), ("delay", "nanoseconds")],
        ("contentions", "count"),
        1,
    )
    cpu_hz = 0
    while scanner.scan():
        line = scanner.text.strip()
        if _space_or_comment(line):
            continue
        if line.startswith("---"):
            break
        key, sep, value = line.partition("=")
        if not sep:
            break
        key, value = key.strip(), value.strip()
        setters: dict[str, Callable[[int], None]] = {
            "cycles/second": lambda v: None,
            "sampling period": lambda v: setattr(out, "period", v),
            "ms since reset": lambda v: setattr(out, "duration_ns", v * 1_000_000),
        }
        if key == "discarded samples":
            continue
        if key not in setters:
            # "format" and "resolution" are Java's (legacy_java); anything else is unknown.
            raise Unrecognized(
                f"line {scanner.number}: the attribute {key!r} is not one of cycles/second, "
                "sampling period, ms since reset, discarded samples"
            )
        try:
            number = _go_int(value, 0)
        except ValueError:
            raise Unrecognized(
                f"line {scanner.number}: {key} = {value!r} is not an integer"
            ) from None
        if key == "cycles/second":
            cpu_hz = number
        setters[key](number)
    period = out.period
    while True:
        line = scanner.text.strip()
        if line.startswith("---"):
            break
        if not _space_or_comment(line):
            match = _CONTENTION_SAMPLE.search(line)
            if not match:
                raise Unrecognized(
                    f"line {scanner.number}: expected 'CYCLES COUNT @ 0x...', found {line!r}"
                )
            try:
                cycles, count = _go_int(match.group(1)), _go_int(match.group(2))
                addresses = [(a - 1) & _U64 for a in _addresses(match.group(3))]
            except ValueError as exc:
                raise _malformed(fmt, scanner, f"numbers that fit ({exc})", line) from None
            if period > 0:
                if cpu_hz > 0:
                    cpu_ghz = float(cpu_hz) / 1e9
                    cycles = _int64(float(cycles) * float(period) / cpu_ghz)
                count = count * period
            sample = Sample(addresses, [count, cycles], go_frames(lines, scanner.index))
            out.samples.append(sample)
        if not scanner.scan():
            break
    out.mappings = _maps(scanner)
    return out


#: pprof's parseLegacy order, text parsers only.
TEXT_PARSERS: tuple[Callable[[list[str]], Legacy], ...] = (
    parse_heap,
    parse_go_count,
    parse_threadz,
    parse_contention,
)


def sniff(lines: list[str]) -> str | None:
    """The legacy text format the lines start like (by pprof's header checks), or None."""
    first = lines[0] if lines else ""
    header = _HEAP_HEADER.search(first)
    if header:
        return "heap-debug1" if header.group(5) == "heap" else "legacy-heap"
    if _GROWTH_HEADER.search(first):
        return "legacy-growth"
    if _FRAG_HEADER.search(first):
        return "legacy-fragmentation"
    if first.strip() == "--- heapz 1 ---":
        return "java-heap"
    for prefix, fmt in _CONTENTION_PREFIXES.items():
        if first.startswith(prefix):
            java = any(re.match(r"\s*format\s*=\s*java\s*$", line) for line in lines[1:20])
            return "java-contention" if java else fmt
    head = next((line for line in lines if not _space_or_comment(line)), "")
    count = _COUNT_START.match(head)
    if count:
        return f"{count.group(1)}-debug1"
    if _THREADZ_START.search(head) or _THREAD_START.search(head):
        return "legacy-threadz"
    return None
