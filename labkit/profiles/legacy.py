"""What pprof's legacy parsers build, and how it becomes a Profile.

Each legacy format (legacy_text: Go's ``?debug=1`` heap, block, mutex and count profiles,
gperftools' heap, growth, contention and threadz text; legacy_cpu: the binary CPU profile;
legacy_java: Java's) is parsed into a :class:`Legacy`: samples of addresses, leaf first, with
their values, and the memory map. :func:`build` then names every frame as ``go tool pprof -top``
shows it without the binaries, and removes the frames pprof calls uninteresting.

Names. Go's ``?debug=1`` text prints each record's frames as ``#\\tPC\\tFUNCTION+OFF\\tFILE:LINE``
lines (runtime/pprof printStackRecord); pprof skips them as comments and, without the binary,
shows every address as ``<unknown>``. labkit reads the names from those lines instead, which is
what ``go tool pprof BINARY FILE`` shows once it symbolizes the addresses, except that Go hides
the leading runtime frames and runtime.goexit of heap, goroutine and threadcreate records
(printStackRecord's ``allFrames == false``) where pprof would show them. A frame printed without a
name (``#\\t0x0``) is ``<unknown>``. Samples without such lines are named per mapping
(legacy_maps.name_addresses).

Uninteresting frames. pprof's addLegacyFrameInfo sets drop_frames by the sample types (the
allocators for heap profiles, the lock functions for contention profiles, the signal handler for
the rest) and fetch.go calls RemoveUninteresting -> prune.go ``Prune``, which cuts a sample's
stack at the first matching named frame below a non-matching one. :func:`prune` does the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from labkit.profiles.legacy_maps import Mapping, name_addresses
from labkit.profiles.model import Profile, Stack, _Meta

# legacy_profile.go allocRxStr, allocSkipRxStr, lockRxStr, cpuProfilerRxStr.
_ALLOC_RX = "|".join(
    [
        r"calloc",
        r"cfree",
        r"malloc",
        r"free",
        r"memalign",
        r"do_memalign",
        r"(__)?posix_memalign",
        r"pvalloc",
        r"valloc",
        r"realloc",
        r"tcmalloc::.*",
        r"tc_calloc",
        r"tc_cfree",
        r"tc_malloc",
        r"tc_free",
        r"tc_memalign",
        r"tc_posix_memalign",
        r"tc_pvalloc",
        r"tc_valloc",
        r"tc_realloc",
        r"tc_new",
        r"tc_delete",
        r"tc_newarray",
        r"tc_deletearray",
        r"tc_new_nothrow",
        r"tc_newarray_nothrow",
        r"malloc_zone_malloc",
        r"malloc_zone_calloc",
        r"malloc_zone_valloc",
        r"malloc_zone_realloc",
        r"malloc_zone_memalign",
        r"malloc_zone_free",
        r"runtime\..*",
        r"BaseArena::.*",
        r"(::)?do_malloc_no_errno",
        r"(::)?do_malloc_pages",
        r"(::)?do_malloc",
        r"DoSampledAllocation",
        r"MallocedMemBlock::MallocedMemBlock",
        r"_M_allocate",
        r"__builtin_(vec_)?delete",
        r"__builtin_(vec_)?new",
        r"__gnu_cxx::new_allocator::allocate",
        r"__libc_malloc",
        r"__malloc_alloc_template::allocate",
        r"allocate",
        r"cpp_alloc",
        r"operator new(\[\])?",
        r"simple_alloc::allocate",
    ]
)
_ALLOC_SKIP_RX = r"runtime\.panic|runtime\.reflectcall|runtime\.call[0-9]*"
_CPU_PROFILER_RX = (
    r"ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|"
    r"__pthread_sighandler|__restore"
)
_LOCK_RX = "|".join(
    [
        r"RecordLockProfileData",
        r"(base::)?RecordLockProfileData.*",
        r"(base::)?SubmitMutexProfileData.*",
        r"(base::)?SubmitSpinLockProfileData.*",
        r"(base::Mutex::)?AwaitCommon.*",
        r"(base::Mutex::)?Unlock.*",
        r"(base::Mutex::)?UnlockSlow.*",
        r"(base::Mutex::)?ReaderUnlock.*",
        r"(base::MutexLock::)?~MutexLock.*",
        r"(Mutex::)?AwaitCommon.*",
        r"(Mutex::)?Unlock.*",
        r"(Mutex::)?UnlockSlow.*",
        r"(Mutex::)?ReaderUnlock.*",
        r"(MutexLock::)?~MutexLock.*",
        r"(SpinLock::)?Unlock.*",
        r"(SpinLock::)?SlowUnlock.*",
        r"(SpinLockHolder::)?~SpinLockHolder.*",
    ]
)
_HEAP_TYPES = (
    ("allocations", "size"),
    ("objects", "space"),
    ("inuse_objects", "inuse_space"),
    ("alloc_objects", "alloc_space"),
    ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space"),
)
_CONTENTION_TYPES = (("contentions", "delay"),)
_BRACKET = re.compile(r"\(anonymous namespace\)|operator\(\)|\(")


class Unrecognized(Exception):  # noqa: N818  (pprof's errUnrecognized)
    """Not this parser's format; ``reason`` says why when the header matched but the rest not."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class Malformed(Exception):  # noqa: N818  (pprof's errMalformed and the like)
    """The format is recognised but a line is wrong: pprof refuses the file too."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass
class Sample:
    """One sample: addresses leaf first (pprof's Location addresses), its values, and the frame
    names, leaf first, when the file gives them (Go's ``#`` lines; Java's location section)."""

    addresses: list[int]
    values: list[int]
    names: list[str] | None = None


@dataclass
class Legacy:
    """A legacy profile as pprof's parser leaves it (profile.Profile before symbolization)."""

    format: str
    sample_types: list[tuple[str, str]]
    period_type: tuple[str, str]
    period: int
    samples: list[Sample] = field(default_factory=list)
    mappings: list[Mapping] = field(default_factory=list)
    duration_ns: int | None = None
    #: ``{address: function name}`` for formats that name their locations (Java).
    functions: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def frame_rules(sample_types: list[tuple[str, str]]) -> tuple[str, str]:
    """addLegacyFrameInfo: (drop_frames, keep_frames) by the profile's sample types."""
    names = tuple(t for t, _ in sample_types)
    if names in _HEAP_TYPES:
        return _ALLOC_RX, _ALLOC_SKIP_RX
    if names in _CONTENTION_TYPES:
        return _LOCK_RX, ""
    return _CPU_PROFILER_RX, ""


def simplify(name: str) -> str:
    """prune.go simplifyFunc: drop a leading '.', and the argument list from the first '('
    that does not open a reserved name."""
    name = name.removeprefix(".")
    for match in _BRACKET.finditer(name):
        if match.group() not in ("(anonymous namespace)", "operator()"):
            return name[: match.start()]
    return name


def prune(stack: Stack, named: frozenset[int] | range, drop: re.Pattern, keep: re.Pattern | None):
    """prune.go Prune on one root-first stack: from the root, past the first frame that does not
    match ``drop`` (or matches ``keep``), cut the stack before the first frame that does.
    Only frames whose index is in ``named`` (a function name, not an address) can match."""
    found_user = False
    for i, name in enumerate(stack):
        hit = False
        if i in named:
            simple = simplify(name)
            hit = bool(drop.fullmatch(simple)) and not (keep and keep.fullmatch(simple))
        if not hit:
            found_user = True
        elif found_user:
            return stack[:i]
    return stack


def build(legacy: Legacy, source: str) -> Profile:
    """Name every frame as pprof does (module docstring), prune, and sum samples per stack."""
    unnamed = (
        a
        for s in legacy.samples
        if s.names is None
        for a in s.addresses
        if a not in legacy.functions
    )
    objfiles = name_addresses(unnamed, legacy.mappings)
    drop_text, keep_text = frame_rules(legacy.sample_types)
    drop = re.compile(drop_text)
    keep = re.compile(keep_text) if keep_text else None
    stacks: dict[Stack, list[int]] = {}
    for index, sample in enumerate(legacy.samples):
        if len(sample.values) != len(legacy.sample_types):
            raise Malformed(
                f"sample {index} has {len(sample.values)} values but the profile declares "
                f"{len(legacy.sample_types)} sample types"
            )
        if sample.names is not None:
            stack = tuple(reversed(sample.names))
            named: frozenset[int] | range = range(len(stack))
        else:
            names = [legacy.functions.get(a) or objfiles[a] for a in reversed(sample.addresses)]
            stack = tuple(names)
            named = frozenset(
                i for i, a in enumerate(reversed(sample.addresses)) if a in legacy.functions
            )
        stack = prune(stack, named, drop, keep)
        row = stacks.get(stack)
        if row is None:
            stacks[stack] = list(sample.values)
        else:
            for k, v in enumerate(sample.values):
                row[k] += v
    meta = _Meta(
        source=source,
        format=legacy.format,
        period=legacy.period,
        period_type=legacy.period_type if all(legacy.period_type) else None,
        duration_ns=legacy.duration_ns,
        notes=tuple(legacy.notes),
    )
    return Profile({s: tuple(v) for s, v in stacks.items()}, legacy.sample_types, None, meta)
