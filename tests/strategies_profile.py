"""Builders and hypothesis strategies for the labkit.profile tests.

The protobuf writer here is deliberately separate from labkit.profile (export.to_pprof has its
own): tests build their inputs byte by byte, so a mistake shared by encoder and decoder cannot
hide. Field numbers are profile.proto's (google/pprof proto/profile.proto).
"""

from __future__ import annotations

import gzip
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
    from labkit.profile import load_profile

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
