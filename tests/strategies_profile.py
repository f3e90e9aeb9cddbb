"""Builders and hypothesis strategies for the labkit.profiles tests.

The protobuf writer here is deliberately separate from labkit.profiles (export.to_pprof has its
own): tests build their inputs byte by byte, so a mistake shared by encoder and decoder cannot
hide. Field numbers are profile.proto's (google/pprof proto/profile.proto).
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from hypothesis import strategies as st

PROFILES = Path(__file__).parent / "data" / "profiles"


def varint(n: int) -> bytes:
    """protobuf varint; negative int64 as its two's complement (10 bytes)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def vfield(number: int, value: int) -> bytes:
    """A varint field (wire type 0)."""
    return varint(number << 3) + varint(value)


def lfield(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): bytes, a string, a message, a packed run."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def packed(values: Sequence[int]) -> bytes:
    return b"".join(varint(v) for v in values)


def pprof(
    strings: Sequence[str],
    sample_types: Sequence[tuple[int, int]],
    samples: Sequence[tuple[Sequence[int], Sequence[int]]],
    locations: Sequence[tuple[int, Sequence[int]]],
    functions: Sequence[tuple[int, int]],
    *,
    default_sample_type: int | None = None,
    period: tuple[int, int, int] | None = None,
    packed_ids: bool = True,
    strings_first: bool = False,
    extra: bytes = b"",
) -> bytes:
    """An uncompressed profile.proto message.

    ``samples``: (location ids leaf first, values); ``locations``: (id, function ids of its Lines,
    callee first); ``functions``: (id, name's string index); ``period``: (type index, unit index,
    period). ``packed_ids=False`` writes each location id as its own field; ``strings_first`` puts
    the string table before everything else (Go writes it last).
    """
    body = b"".join(lfield(1, vfield(1, t) + vfield(2, u)) for t, u in sample_types)
    for ids, values in samples:
        sample = lfield(1, packed(ids)) if packed_ids else b"".join(vfield(1, i) for i in ids)
        sample += lfield(2, packed(values))
        body += lfield(2, sample)
    for ident, fids in locations:
        lines = b"".join(lfield(4, vfield(1, f) + vfield(2, 10 + k)) for k, f in enumerate(fids))
        body += lfield(4, vfield(1, ident) + vfield(3, 0x1000 + ident) + lines)
    for ident, name in functions:
        body += lfield(5, vfield(1, ident) + vfield(2, name) + vfield(3, name))
    if period is not None:
        body += lfield(11, vfield(1, period[0]) + vfield(2, period[1])) + vfield(12, period[2])
    if default_sample_type is not None:
        body += vfield(14, default_sample_type)
    table = b"".join(lfield(6, s.encode()) for s in strings)
    body += extra
    return table + body if strings_first else body + table


def simple_cpu_profile(**kwargs) -> bytes:
    """A tiny CPU-like profile: main.main -> main.work (main.helper inlined) and main.rec twice.

    Stacks, root first: (main.main, main.work, main.helper) 3 samples / 30 ms;
    (main.main, main.rec, main.rec) 2 samples / 20 ms; (main.main,) 1 sample / 10 ms.
    """
    strings = ["", "samples", "count", "cpu", "nanoseconds", "main.main", "main.work"]
    strings += ["main.helper", "main.rec"]
    return pprof(
        strings,
        sample_types=[(1, 2), (3, 4)],
        samples=[
            ([2, 1], [3, 30_000_000]),
            ([3, 3, 1], [2, 20_000_000]),
            ([1], [1, 10_000_000]),
        ],
        # location 2: main.helper inlined into main.work (Lines callee first)
        locations=[(1, [1]), (2, [3, 2]), (3, [4])],
        functions=[(1, 5), (2, 6), (3, 7), (4, 8)],
        period=(3, 4, 10_000_000),
        **kwargs,
    )


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# -- hypothesis strategies ----------------------------------------------------------------------

frame_names = st.sampled_from(
    ["main.main", "main.work", "main.rec", "runtime.main", "pkg.(*T).M", "a b", "x[int]"]
)

#: A stack, root first; recursion (a name twice) is common on purpose.
stacks = st.lists(frame_names, min_size=0, max_size=8).map(tuple)

#: {stack: value} for Profile.from_stacks with one sample type.
stack_maps = st.dictionaries(stacks, st.integers(min_value=0, max_value=10**12), max_size=20)


def recorded(name: str) -> bytes:
    """A profile shipped in tests/data/profiles."""
    return (PROFILES / name).read_bytes()


# -- what labkit/golab/go/profilegen writes, and how to check it ---------------------------------


def load_regen_script():
    """scripts/regen_profiles.py as a module: it records and parses `go tool pprof -top`."""
    import importlib.util

    path = Path(__file__).parent.parent / "scripts" / "regen_profiles.py"
    spec = importlib.util.spec_from_file_location("regen_profiles", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: profilegen's park functions: (goroutines it starts, the state runtime.goroutineheader prints,
#: the wait reason's name in runtime.waitReasonStrings, src/runtime/runtime2.go).
PARKED = {
    "main.parkChanReceive": (3, "chan receive"),  # waitReasonChanReceive
    "main.parkChanSend": (2, "chan send"),  # waitReasonChanSend
    "main.parkSelect": (2, "select"),  # waitReasonSelect
    "main.parkSelectNoCases": (1, "select (no cases)"),  # waitReasonSelectNoCases
    "main.parkSleep": (2, "sleep"),  # waitReasonSleep
    "main.parkIOWait": (3, "IO wait"),  # waitReasonIOWait: os.Pipe is in the netpoller
    "main.parkMutex": (2, "sync.Mutex.Lock"),  # waitReasonSyncMutexLock
    "main.parkWaitGroup": (1, "sync.WaitGroup.Wait"),  # waitReasonSyncWaitGroupWait
    "main.parkSyscall": (1, "syscall"),  # _Gsyscall: gStatusStrings
    "main.parkLocked": (1, "chan receive"),  # and ", locked to thread" (gp.lockedm != 0)
}


def check_goroutine_profiles(directory: Path, debug1: str, debug2: str, proto: str) -> None:
    """The three goroutine profiles of one profilegen run agree with PARKED and each other."""
    from labkit.profiles import load_profile

    dump = load_profile(directory / debug2)
    by_function = {}
    for g in dump.goroutines:
        parked = [fn for fn in g.stack if fn in PARKED]
        if parked:
            by_function.setdefault(parked[-1], []).append(g)
    for fn, (count, state) in PARKED.items():
        got = by_function.get(fn, [])
        assert len(got) == count, fn
        assert {g.state for g in got} == {state}, fn
        assert all(g.created_by and g.created_by.function == "main.parkers" for g in got), fn
        assert all(g.locked_to_thread == (fn == "main.parkLocked") for g in got), fn
    main = [g for g in dump.goroutines if g.id == 1]
    assert main and main[0].state == "running"
    expected_states: dict[str, int] = {"running": 1}
    for count, state in PARKED.values():
        expected_states[state] = expected_states.get(state, 0) + count
    assert dump.goroutine_states() == expected_states

    # ?debug=1 and ?debug=0 group the same goroutines by stack: the park functions' cum counts.
    for name in (debug1, proto):
        profile = load_profile(directory / name)
        cum = {fn: c for fn, _, c in profile.top(None)}
        assert {fn: cum.get(fn) for fn in PARKED} == {fn: n for fn, (n, _) in PARKED.items()}
        assert profile.total() == len(dump.goroutines)


# -- goroutine dumps as the runtime prints them --------------------------------------------------

#: Wait reasons and statuses (runtime.waitReasonStrings, gStatusStrings in src/runtime/runtime2.go).
dump_states = st.sampled_from(
    ["running", "runnable", "syscall", "chan receive", "select (no cases)", "IO wait", "sleep"]
)
dump_functions = st.sampled_from(
    [
        "main.main",
        "main.(*Server).wait",
        "runtime.gopark",
        "internal/poll.runtime_pollWait",
        "main.work[...]",
        "main.main.func1",
    ]
)
dump_goroutines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=10**6),
        dump_states,
        st.lists(dump_functions, min_size=1, max_size=6),
        st.booleans(),  # created by main.main in goroutine 1
    ),
    min_size=1,
    max_size=6,
)
#: Lines that stand around a dump: a panic message, the go command's last words, registers.
dump_noise = st.lists(
    st.sampled_from(
        [
            "panic: boom",
            "",
            "SIGQUIT: quit",
            "PC=0x46ad21 m=0 sigcode=0",
            "exit status 2",
            "FAIL\texample.com/pkg\t2.005s",
            "rax    0x0",
            "[signal SIGSEGV: segmentation violation]",
            "=== RUN   TestX",
            "    main_test.go:12: dump:",
        ]
    ),
    max_size=4,
)


def render_dump(goroutines, indent: str = "", before=(), after=(), newline: str = "\n") -> str:
    """Text as runtime.Stack(buf, true) prints these goroutines (frames leaf first), with lines
    before and after, every dump line indented by ``indent``."""
    lines = list(before)
    for gid, state, frames, created in goroutines:
        lines.append(f"{indent}goroutine {gid} [{state}]:")
        for k, fn in enumerate(reversed(frames)):
            lines += [f"{indent}{fn}(0x{k:x}, ...)", f"{indent}\t/src/x.go:{k + 1} +0x1d"]
        if created:
            lines += [
                f"{indent}created by main.main in goroutine 1",
                f"{indent}\t/src/x.go:9 +0x6f",
            ]
        lines.append(indent)
    lines += list(after)
    return newline.join(lines) + newline


# -- the artefacts of scripts/make_profile_artefacts.py, and how to check them ------------------

#: Go's ?debug=1 profiles the artefact script writes, each with its protobuf twin.
ARTEFACT_PROFILES = ("heap", "allocs", "block", "mutex", "threadcreate", "goroutine")
#: ... those whose text holds every frame the protobuf holds (count profiles hide runtime frames).
ARTEFACT_TWINS = ("heap", "allocs", "block", "mutex")
ARTEFACT_DUMPS = (
    "sigquit-crash.txt",
    "sigquit-deep.txt",
    "go-run-panic.txt",
    "go-test-timeout.txt",
    "go-test-log.txt",
    "cgo-sigquit.txt",
)

#: An independent reading of a goroutine header: "goroutine N [STATE" after any indentation.
_COUNTED_HEADER = re.compile(
    r"^\s*goroutine (\d+) (?:gp=\S+ )?(?:m=\S+ )?(?:mp=\S+ )?\[([^\],]*)", re.M
)


def counted_states(text: str) -> Counter[str]:
    """{state: goroutines} counted straight from a dump's text, not with labkit's reader."""
    return Counter(state.strip() for _, state in _COUNTED_HEADER.findall(text))


def check_text_profile(directory: Path, name: str) -> None:
    """NAME-debug1.txt has the sample types and totals `go tool pprof -raw` read (pprof.json),
    and NAME.pb.gz the `go tool pprof -top` rows recorded for each type."""
    import json

    from labkit.profiles import load_profile

    recorded = json.loads((directory / "pprof.json").read_text())
    text = recorded[f"{name}-debug1.txt"]
    p = load_profile(directory / f"{name}-debug1.txt")
    assert [t for t, _ in p.sample_types] == text["sample_types"]
    assert {t: p.total(t) for t in text["sample_types"]} == text["totals"]
    proto = recorded[f"{name}.pb.gz"]
    q = load_profile(directory / f"{name}.pb.gz")
    for sample_type in proto["sample_types"]:
        assert q.top(None, sample_type) == [tuple(r) for r in proto["top"][sample_type]]


def name_as_printed(name: str) -> str:
    """A function's symbol name as Go prints it in a traceback or a ``?debug=1`` '#' line: a
    generic function's type arguments shown as ``[...]``.

    Mirrors src/runtime/traceback.go funcNamePiecesForPrint (:747-815), which
    runtime.Frame.Function goes through (symtab.go:168), while runtime/pprof's protobuf writer
    names functions by the full symbol (proto.go:621 runtime_FrameSymbolName, symtab.go:231):
    the text says ``sync.OnceValue[...]`` where its protobuf twin says
    ``sync.OnceValue[go.shape.*uint8]``.
    """
    i = name.find("[")
    j = name.rfind("]")
    if i < 0 or j <= i:
        return name
    interior = name[i + 1 : j]
    if "[" not in interior:
        return name[:i] + "[...]" + name[j + 1 :]
    # A generic method of a generic type: "T[...]___[...]" when the brackets balance so.
    depth, rbr, lbr = 1, -1, -1
    for k, c in enumerate(interior):
        if c == "[":
            depth += 1
            if depth != 1:
                continue
            lbr = k
            break
        if c == "]":
            depth -= 1
            if depth < 0:
                break
            if depth != 0:
                continue
            rbr = k
    if depth == 1:
        if rbr >= 0 and lbr > rbr:
            return name[:i] + "[...]" + interior[rbr + 1 : lbr] + "[...]" + name[j + 1 :]
        if rbr == -1 and lbr == -1:
            return name[:i] + "[...]" + name[j + 1 :]
    return name  # malformed: the whole name, as the runtime prints it


def check_text_equals_twin(directory: Path, name: str) -> None:
    """The text read as pprof reads it and named from its '#' lines equals, function for
    function and type for type, the protobuf Go wrote from the same records, once the
    protobuf's generic functions are named as the text prints them (name_as_printed)."""
    from labkit.profiles import Profile, load_profile

    text = load_profile(directory / f"{name}-debug1.txt")
    proto = load_profile(directory / f"{name}.pb.gz")
    assert text.sample_types == proto.sample_types
    for sample_type in proto.sample_types:
        printed: dict[tuple[str, ...], int] = {}
        for stack, value in proto.stacks(sample_type[0]).items():
            key = tuple(name_as_printed(f) for f in stack)
            printed[key] = printed.get(key, 0) + value
        twin = Profile.from_stacks(printed, [sample_type])
        assert text.top(None, sample_type[0]) == twin.top(None), sample_type[0]


def check_dump(directory: Path, name: str) -> None:
    """Every header the independent count finds is one goroutine with that state; nothing
    around the goroutines is taken for a skipped line; every goroutine has frames or says why
    not."""
    from labkit.profiles import load_profile

    text = (directory / name).read_text()
    p = load_profile(directory / name)
    assert p.format == "goroutine-debug2"
    assert Counter(g.state for g in p.goroutines) == counted_states(text)
    assert p.skipped_lines == 0, p.first_skipped_line
    assert all(g.frames or g.stack_unavailable for g in p.goroutines)


def load_script(name: str):
    """scripts/NAME.py as a module."""
    import importlib.util

    path = Path(__file__).parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: An access line of a race report, read independently ("main goroutine" is goroutine 1).
_COUNTED_ACCESS = re.compile(
    r"^(Previous )?(\w+) at (0x[0-9a-f]+) by (?:goroutine (\d+)|main goroutine):$", re.M
)
_COUNTED_CREATED = re.compile(r"^Goroutine (\d+) \((\w+)\) created at:$", re.M)


def check_race(directory: Path, name: str) -> None:
    """One goroutine per access line of the race reports, in order, with the access in its
    annotations, its stack, and the state its report's 'Goroutine N (state) created at' gives."""
    from labkit.profiles import load_profile

    text = (directory / name).read_text()
    p = load_profile(directory / name)
    assert p.format == "race-report"
    expected = [
        (int(gid or 1), f"{'previous ' if prev else ''}{op.lower()} at {addr}")
        for prev, op, addr, gid in _COUNTED_ACCESS.findall(text)
    ]
    assert [(g.id, g.annotations[0]) for g in p.goroutines] == expected
    states = {int(gid): state for gid, state in _COUNTED_CREATED.findall(text)}
    assert [g.state for g in p.goroutines] == [states.get(g.id, "unknown") for g in p.goroutines]
    assert all(g.frames for g in p.goroutines)
