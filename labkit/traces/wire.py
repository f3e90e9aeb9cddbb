"""Split a trace's bytes into generations and read each generation's tables.

Mirrors src/internal/trace/batch.go (readBatch), generation.go (readGeneration,
readGenerationWithSpill, processBatch, addStrings, addStacks, addCPUSamples, setSyncBatch) and
base.go (frequency.mul). A trace is a 16-byte header ``go 1.N trace\\0\\0\\0`` and then batches;
each batch carries its generation number, the thread (M) that wrote it, a base timestamp and its
bytes. A generation's batches hold either the events of one M or one of its tables: strings,
stacks, CPU samples, and the sync batch (the timestamp frequency; from Go 1.25 also a clock
snapshot). From format 1.26 a generation ends with an EndOfGeneration byte; before, it ends where
a batch of the next generation begins.

Event batches are kept as bytes here: ``order.py`` decodes their events one at a time.
Problems raise :class:`Malformed` with the byte offset; ``load.py`` turns it into a TraceError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.traces import spec as s

#: ``headerFmt`` in src/internal/trace/version/version.go.
HEADER = re.compile(rb"go 1\.(\d+) trace\x00\x00\x00")
HEADER_SIZE_MAX = 17

#: tracev2.MaxBatchSize, MaxFramesPerStack and MaxEventTrailerDataSize (events.go).
MAX_BATCH_SIZE = 64 << 10
MAX_FRAMES_PER_STACK = 128
MAX_STRING_SIZE = 1 << 10


class Malformed(Exception):
    """The bytes are not a well-formed trace: ``kind`` is "truncated", "corrupt" or
    "order"; ``offset`` the byte where reading stopped (None when not tied to one)."""

    def __init__(self, kind: str, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.offset = offset


def uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it (encoding/binary.Uvarint:
    at most 10 bytes, the 10th at most 1)."""
    value = 0
    shift = 0
    for i in range(10):
        try:
            b = data[pos + i]
        except IndexError:
            raise Malformed("truncated", "the data ends inside a number", pos + i) from None
        if b < 0x80:
            if i == 9 and b > 1:
                break
            return value | b << shift, pos + i + 1
        value |= (b & 0x7F) << shift
        shift += 7
    raise Malformed("corrupt", "a number does not fit in 64 bits", pos)


def signed(value: int) -> int:
    """A uint64 read from the wire as the int64 Go converts it to (NoThread etc. are -1)."""
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass
class Generation:
    """One generation: its event batches per M (in the order Ms first appear, as
    ``generation.batchMs``), strings, stacks, frames by PC, CPU samples and clock data."""

    gen: int = 0
    batches: dict[int, list[tuple[int, bytes, int]]] = field(default_factory=dict)
    batch_ms: list[int] = field(default_factory=list)
    strings: dict[int, str] = field(default_factory=dict)
    stacks: dict[int, tuple[int, ...]] = field(default_factory=dict)
    pcs: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    cpu_samples: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    freq: float = 0.0
    has_clock: bool = False
    snap_time: int = 0
    snap_mono: int = 0
    snap_sec: int = 0
    snap_nsec: int = 0
    min_ts: int = 0
    #: Strings the ordering makes up (a task's name carried to its end): extraStrings.
    extra_strings: list[str] = field(default_factory=list)

    def mul(self, ticks: int) -> int:
        """frequency.mul: ticks to ns, truncated as Go's Time(float64) conversion truncates."""
        return int(float(ticks) * self.freq)

    def string(self, sid: int) -> str:
        if sid == 0:
            return ""
        try:
            return self.strings[sid]
        except KeyError:
            raise Malformed(
                "corrupt",
                f"an event names string {sid}, which is not in the "
                f"string table of generation {self.gen}",
            ) from None

    def frames(self, stack_id: int) -> tuple[tuple[int, str, str, int], ...]:
        """``(pc, func, file, line)`` of a stack, leaf first (as the trace stores it)."""
        if stack_id == 0:
            return ()
        try:
            pcs = self.stacks[stack_id]
        except KeyError:
            raise Malformed(
                "corrupt",
                f"an event names stack {stack_id}, which is not in the "
                f"stack table of generation {self.gen}",
            ) from None
        out = []
        for pc in pcs:
            func_id, file_id, line = self.pcs[pc]
            out.append((pc, self.strings.get(func_id, ""), self.strings.get(file_id, ""), line))
        return tuple(out)


def read_header(data: bytes) -> int:
    """The format version N of the header ``go 1.N trace``; Malformed if there is none."""
    m = HEADER.match(data, 0, HEADER_SIZE_MAX)
    if not m:
        raise Malformed("corrupt", "no Go execution trace header", 0)
    return int(m[1])


def _batch(data: bytes, pos: int) -> tuple[int, int, int, int, bytes, int, int]:
    """readBatch: ``(gen, m, time, exp, data, kind, next_pos)``; kind is the batch's event type
    byte (EventBatch, ExperimentalBatch or EndOfGeneration)."""
    start = pos
    kind = data[pos]
    pos += 1
    if kind == s.EV_END_OF_GENERATION:
        return 0, s.NONE, 0, 0, b"\x34", kind, pos
    if kind not in (s.EV_EVENT_BATCH, s.EV_EXPERIMENTAL_BATCH):
        raise Malformed("corrupt", f"expected a batch header, found event type {kind}", start)
    exp = 0
    if kind == s.EV_EXPERIMENTAL_BATCH:
        if pos >= len(data):
            raise Malformed("truncated", "the file ends inside a batch header", pos)
        exp = data[pos]
        pos += 1
    gen, pos = uvarint(data, pos)
    m, pos = uvarint(data, pos)
    ts, pos = uvarint(data, pos)
    size, pos = uvarint(data, pos)
    if size > MAX_BATCH_SIZE:
        raise Malformed("corrupt", f"invalid batch size {size}, maximum is {MAX_BATCH_SIZE}", start)
    if pos + size > len(data):
        raise Malformed(
            "truncated",
            f"the batch at byte {start} needs {size} bytes but the file has {len(data) - pos} left",
            start,
        )
    return gen, signed(m), ts, exp, data[pos : pos + size], kind, pos + size


def _add_strings(g: Generation, b: bytes, at: int) -> None:
    pos = 1
    while pos < len(b):
        if b[pos] != s.EV_STRING:
            raise Malformed("corrupt", f"expected a string, got event type {b[pos]}", at)
        sid, pos = uvarint(b, pos + 1)
        n, pos = uvarint(b, pos)
        if n > MAX_STRING_SIZE:
            raise Malformed("corrupt", f"invalid string size {n}", at)
        if pos + n > len(b):
            raise Malformed("corrupt", "a string runs past the end of its batch", at)
        if sid in g.strings or sid == 0:
            raise Malformed("corrupt", f"multiple strings with the same ID {sid}", at)
        g.strings[sid] = b[pos : pos + n].decode("utf-8", "replace")
        pos += n


def _add_stacks(g: Generation, b: bytes, at: int) -> None:
    pos = 1
    while pos < len(b):
        if b[pos] != s.EV_STACK:
            raise Malformed("corrupt", f"expected a stack, got event type {b[pos]}", at)
        sid, pos = uvarint(b, pos + 1)
        n, pos = uvarint(b, pos)
        if n > MAX_FRAMES_PER_STACK:
            raise Malformed("corrupt", f"invalid stack size {n}", at)
        pcs = []
        for _ in range(n):
            pc, pos = uvarint(b, pos)
            func_id, pos = uvarint(b, pos)
            file_id, pos = uvarint(b, pos)
            line, pos = uvarint(b, pos)
            pcs.append(pc)
            if pc not in g.pcs:
                g.pcs[pc] = (func_id, file_id, line)
        if sid in g.stacks or sid == 0:
            raise Malformed("corrupt", f"multiple stacks with the same ID {sid}", at)
        g.stacks[sid] = tuple(pcs)


def _add_cpu_samples(g: Generation, b: bytes) -> None:
    pos = 1
    while pos < len(b):
        if b[pos] != s.EV_CPU_SAMPLE:
            raise Malformed("corrupt", f"expected a CPU sample, got event type {b[pos]}")
        ts, pos = uvarint(b, pos + 1)
        m, pos = uvarint(b, pos)
        p, pos = uvarint(b, pos)
        goid, pos = uvarint(b, pos)
        stack, pos = uvarint(b, pos)
        g.cpu_samples.append((ts, signed(m), signed(p), goid if goid else s.NONE, stack))


def _set_sync(g: Generation, b: bytes, base_ts: int, version: int) -> None:
    pos = 1 if version >= s.GO125 else 0  # the EvSync byte
    last = base_ts
    while pos < len(b):
        typ = b[pos]
        pos += 1
        if typ == s.EV_FREQUENCY:
            if g.freq:
                raise Malformed("corrupt", "found multiple frequency events")
            f, pos = uvarint(b, pos)
            if f == 0:
                raise Malformed("corrupt", "the timestamp frequency is 0")
            g.freq = 1.0 / (f / 1e9)  # ns per tick, as setSyncBatch computes it
        elif typ == s.EV_CLOCK_SNAPSHOT and version >= s.GO125:
            if g.has_clock:
                raise Malformed("corrupt", "found multiple clock snapshot events")
            g.has_clock = True
            dt, pos = uvarint(b, pos)
            last += dt
            g.snap_time = last
            g.snap_mono, pos = uvarint(b, pos)
            g.snap_sec, pos = uvarint(b, pos)
            g.snap_nsec, pos = uvarint(b, pos)
        else:
            raise Malformed("corrupt", f"expected frequency or clock snapshot event, got {typ}")


def _process(
    g: Generation, gen: int, m: int, ts: int, exp: int, b: bytes, version: int, at: int
) -> None:
    """processBatch: file a batch under its table or its M."""
    if g.min_ts == 0 or ts < g.min_ts:
        g.min_ts = ts
    head = b[0] if b else -1
    if exp:
        return  # experimental batches (AllocFree data): not read by this package
    if head == s.EV_STRINGS:
        _add_strings(g, b, at)
    elif head == s.EV_STACKS:
        _add_stacks(g, b, at)
    elif head == s.EV_CPU_SAMPLES:
        _add_cpu_samples(g, b)
    elif (head == s.EV_FREQUENCY and version < s.GO125) or (
        head == s.EV_SYNC and version >= s.GO125
    ):
        _set_sync(g, b, ts, version)
    else:
        if m not in g.batches:
            g.batch_ms.append(m)
            g.batches[m] = []
        g.batches[m].append((ts, b, at))


def _finish(g: Generation, version: int, at: int) -> Generation:
    """The invariants readGeneration checks once a generation is read."""
    if not g.freq:
        raise Malformed("corrupt", f"generation {g.gen} has no frequency event", at)
    if version >= s.GO125 and not g.has_clock:
        raise Malformed("corrupt", f"generation {g.gen} has no clock snapshot event", at)
    for sid, pcs in g.stacks.items():
        for pc in pcs:
            func_id, file_id, _ = g.pcs[pc]
            for ref in (func_id, file_id):
                if ref and ref not in g.strings:
                    raise Malformed("corrupt", f"found invalid string ID {ref} for stack {sid}", at)
    return g


def generations(data: bytes, version: int):
    """Yield each complete Generation in order (readGeneration / readGenerationWithSpill).

    A generation cut short raises Malformed("truncated") naming the byte where the data ends,
    after the complete generations before it were yielded.
    """
    pos = len(HEADER.match(data, 0, HEADER_SIZE_MAX)[0])
    g: Generation | None = None
    g_start = pos
    while pos < len(data):
        at = pos
        try:
            try:
                gen, m, ts, exp, b, kind, pos = _batch(data, pos)
            except IndexError:
                raise Malformed("truncated", "the file ends inside a batch header", at) from None
        except Malformed as cut:
            if g is not None and version < s.GO126:
                # readGenerationWithSpill: the generation read so far is used first, and the
                # error comes after its events (the "spill" error); if what was read is not a
                # whole generation, the cut is the error to report.
                try:
                    done = _finish(g, version, at)
                except Malformed:
                    raise cut from None
                yield done
            raise
        if version >= s.GO126 and kind == s.EV_END_OF_GENERATION:
            if g is None:
                raise Malformed("corrupt", "an end-of-generation marker with no batches", at)
            yield _finish(g, version, at)
            g = None
            g_start = pos
            continue
        if gen == 0:
            raise Malformed("corrupt", "invalid generation number 0", at)
        if g is None:
            g = Generation(gen=gen)
        elif gen != g.gen:
            if version >= s.GO126:
                raise Malformed(
                    "corrupt", "missing end-of-generation event, or generations are interleaved", at
                )
            if gen != g.gen + 1:
                raise Malformed("corrupt", "generations out of order", at)
            yield _finish(g, version, at)
            g = Generation(gen=gen)
            g_start = at
        _process(g, gen, m, ts, exp, b, version, at)
    if g is not None:
        if version >= s.GO126:
            raise Malformed(
                "truncated",
                f"generation {g.gen} (from byte {g_start}) has no end-of-generation marker",
                len(data),
            )
        yield _finish(g, version, len(data))
