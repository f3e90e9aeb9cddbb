"""Profile: one profile, whatever file it came from, as stacks of function names and their values.

Every loader (pprof protobuf, folded text, goroutine dumps) and the scheduler model end in the same
object, so the flame-graph widget, the exercises and the tests read one shape:

* a stack is a tuple of function names, **root first** (``("runtime.main", "main.main",
  "main.work")``); a pprof Location with several Lines (inlining) becomes several names, the caller
  before the inlined callee;
* each stack carries one integer per sample type (``[("samples", "count"), ("cpu",
  "nanoseconds")]`` for a Go CPU profile), summed over the samples that share the stack;
* ``top()`` is ``go tool pprof -top`` at its default "functions" granularity: flat is the value of
  the samples whose leaf is the function, cum the value of the samples whose stack holds it,
  counted once per sample even under recursion (google/pprof internal/graph/graph.go newGraph,
  ``seenNode``), sorted by |flat| descending, then name (graph.go ``FlatNameOrder``). On a
  difference of two profiles (values after - before, as ``-diff_base`` makes) the largest change
  comes first whatever its sign, and a function whose changes cancel (flat and cum both 0) is left
  out, as pprof leaves it out.

Like pprof's graph (graph.go newGraph skips a sample when its value is 0), ``stacks()``, ``top()``
and the exports leave out stacks whose value is 0 for the chosen sample type: a heap profile is
full of freed allocations whose ``inuse_space`` is 0.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from labkit.profiles.errors import ProfileError

Value = TypeVar("Value", int, float)

Stack = tuple[str, ...]

#: What a sample type is called when a format has no types of its own (folded text, the model).
SAMPLES_COUNT: tuple[str, str] = ("samples", "count")

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def flat_by_function(stacks: Mapping[tuple[str, ...], Value]) -> dict[str, Value]:
    """Each function's flat (self) value: the sum over the stacks whose leaf it is, as pprof's
    ``flat`` column (graph.go:385-388, newGraph: "Add flat weight to leaf node").
    A stack with no frame left (every frame hidden) credits no function. The one place this sum
    is made: ``Profile.top`` and the flame graph's ``top_self`` and diff summary read it."""
    flat: dict[str, Value] = {}
    for stack, value in stacks.items():
        if stack:
            flat[stack[-1]] = flat.get(stack[-1], 0) + value
    return flat


@dataclass(frozen=True)
class Frame:
    """One frame of a goroutine dump: function name, source file and line (0 when unknown)."""

    function: str
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Goroutine:
    """One goroutine of a ``?debug=2`` dump, as runtime.goroutineheader (src/runtime/traceback.go)
    prints it: ``goroutine 7 [chan receive, 3 minutes, locked to thread]:``.

    ``state`` is the wait reason when the goroutine waits (runtime.waitReasonStrings in
    src/runtime/runtime2.go: "chan receive", "IO wait", "sync.Mutex.Lock", ...), otherwise its
    status ("running", "runnable", "syscall"). ``wait_minutes`` is 0 when the dump shows none (Go
    prints it only from one minute on). ``frames`` are root first, like every stack in this
    package (the dump prints them leaf first). ``created_by`` is the ``go`` statement's function,
    ``created_by_goroutine`` the goroutine that ran it (Go >= 1.21 prints it). ``annotations`` keeps
    the header's other parts ("synctest bubble 1", and ``gp=``, ``m=``, ``mp=`` under
    GOTRACEBACK=system or crash); ``labels`` the ``{...}`` label text, if any.
    ``stack_unavailable`` is set when the runtime printed "goroutine running on other thread;
    stack unavailable" instead of frames (traceback.go tracebackothers); ``frames_elided`` is the
    N of "...N frames elided..." (a stack over 100 frames), -1 for the older "...additional
    frames elided..." that gives no number.
    """

    id: int
    state: str
    wait_minutes: int = 0
    locked_to_thread: bool = False
    frames: tuple[Frame, ...] = ()
    created_by: Frame | None = None
    created_by_goroutine: int | None = None
    annotations: tuple[str, ...] = ()
    labels: str = ""
    stack_unavailable: bool = False
    frames_elided: int = 0

    @property
    def stack(self) -> Stack:
        """The function names, root first."""
        return tuple(f.function for f in self.frames)


@dataclass(frozen=True)
class _Meta:
    """What a profile says about itself besides its samples."""

    source: str
    format: str
    period: int | None = None
    period_type: tuple[str, str] | None = None
    time_ns: int | None = None
    duration_ns: int | None = None
    comments: tuple[str, ...] = ()
    goroutines: tuple[Goroutine, ...] = field(default=())
    notes: tuple[str, ...] = ()
    skipped_lines: int = 0
    first_skipped_line: str = ""


class Profile:
    """A loaded profile: sample types, and per stack (root first) one value per sample type.

    Build one with :func:`labkit.profiles.load_profile` (files and bytes) or
    :meth:`Profile.from_stacks` (the scheduler model's samples). Instances are immutable; every
    method returns new objects.
    """

    def __init__(
        self,
        stacks: dict[Stack, tuple[int, ...]],
        sample_types: Sequence[tuple[str, str]],
        default_sample_type: str | None,
        meta: _Meta,
    ) -> None:
        # Internal constructor: the loaders hand over validated data (see from_stacks for the
        # checked public way in).
        self._stacks = stacks
        self._sample_types = tuple(sample_types)
        self._meta = meta
        names = [t for t, _ in self._sample_types]
        if default_sample_type is None or default_sample_type == "":
            # pprof's rule (profile.proto default_sample_type): unset means the last type.
            default_sample_type = names[-1]
        elif default_sample_type not in names:
            raise ProfileError(
                meta.source,
                f"default sample type {default_sample_type!r} is not one of the sample types "
                f"({_describe_types(self._sample_types)})",
                "Name one of them, or leave it unset to use the last",
            )
        self._default = default_sample_type

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_stacks(
        cls,
        stacks: Mapping[Sequence[str], int | Sequence[int]],
        sample_types: Sequence[tuple[str, str]] = (SAMPLES_COUNT,),
        *,
        default_sample_type: str | None = None,
        period: int | None = None,
        period_type: tuple[str, str] | None = None,
        source: str = "model",
    ) -> Profile:
        """A profile from ``{stack (root first): value or one value per sample type}``.

        This is how the scheduler model hands its samples to the flame graph. A plain int value
        is allowed when there is one sample type. Stacks given twice (a list and a tuple of the
        same names) are summed. The empty stack ``()`` is allowed: a sample with no frames, as
        pprof allows. Values must fit in int64, the type of profile.proto's Sample.value.
        """
        src = str(source)
        types = _check_sample_types(sample_types, src)
        if not isinstance(stacks, Mapping):
            raise ProfileError(
                src,
                f"stacks must be a mapping of stack -> value, got {type(stacks).__name__}",
                "Pass a dict such as {('main.main', 'main.work'): 12}",
            )
        out: dict[Stack, tuple[int, ...]] = {}
        for key, value in stacks.items():
            stack = _check_stack(key, src)
            values = _check_values(value, len(types), stack, src)
            old = out.get(stack)
            out[stack] = (
                values if old is None else tuple(a + b for a, b in zip(old, values, strict=True))
            )
        if period is not None:
            period = _check_int(period, "period", src)
        if period_type is not None:
            period_type = _check_sample_types([period_type], src, what="period_type")[0]
        meta = _Meta(source=src, format="stacks", period=period, period_type=period_type)
        return cls(out, types, default_sample_type, meta)

    # -- what the profile says about itself -----------------------------------------------------

    @property
    def source(self) -> str:
        """Where it came from: the path, ``"<bytes>"``, or the name given."""
        return self._meta.source

    @property
    def format(self) -> str:
        """One of :data:`labkit.profiles.FORMATS` (``"pprof"``, ``"folded"``,
        ``"goroutine-debug2"``, ``"heap-debug1"``, ``"legacy-cpu"`` ...), or ``"stacks"`` (built by
        :meth:`from_stacks`)."""
        return self._meta.format

    @property
    def sample_types(self) -> list[tuple[str, str]]:
        """``[(type, unit), ...]`` in the file's order, e.g. ``[("samples", "count"), ("cpu",
        "nanoseconds")]``."""
        return list(self._sample_types)

    @property
    def default_sample_type(self) -> str:
        """The type used when a method gets ``sample_type=None`` (pprof: the last if unset)."""
        return self._default

    @property
    def period(self) -> int | None:
        """Sampling period in units of :attr:`period_type` (10 ms = 10,000,000 ns for a Go CPU
        profile at 100 Hz), or None when the format does not say."""
        return self._meta.period

    @property
    def period_type(self) -> tuple[str, str] | None:
        """``(type, unit)`` of :attr:`period`, e.g. ``("cpu", "nanoseconds")``, or None."""
        return self._meta.period_type

    @property
    def time_ns(self) -> int | None:
        """When the profile was taken (ns since the Unix epoch), if the file says."""
        return self._meta.time_ns

    @property
    def duration_ns(self) -> int | None:
        """How long the profile ran (ns), if the file says."""
        return self._meta.duration_ns

    @property
    def comments(self) -> list[str]:
        """profile.proto's free-text comments."""
        return list(self._meta.comments)

    @property
    def goroutines(self) -> list[Goroutine]:
        """The goroutines of a ``?debug=2`` dump, in the dump's order (for a race report, one per
        access); empty for other formats."""
        return list(self._meta.goroutines)

    @property
    def skipped_lines(self) -> int:
        """How many lines of a goroutine dump looked like part of it but could not be read."""
        return self._meta.skipped_lines

    @property
    def first_skipped_line(self) -> str:
        """The first of :attr:`skipped_lines`, as it stood in the text ("" if none)."""
        return self._meta.first_skipped_line

    @property
    def notes(self) -> list[str]:
        """What the reader noticed but did not refuse (a header total the records do not add up
        to, a dump cut short), one sentence each."""
        return list(self._meta.notes)

    def __repr__(self) -> str:
        types = _describe_types(self._sample_types)
        return (
            f"<Profile {self.format} from {self.source!r}: {types}; {len(self._stacks)} stacks; "
            f"total {self._default} = {self.total()}>"
        )

    # -- reading values -------------------------------------------------------------------------

    def sample_type_index(self, sample_type: str | int | None = None) -> int:
        """Index of a sample type given by name (as ``go tool pprof -sample_index=cpu`` takes it),
        by index, or None for the default."""
        names = [t for t, _ in self._sample_types]
        if sample_type is None:
            return names.index(self._default)
        if isinstance(sample_type, bool) or not isinstance(sample_type, (str, int)):
            raise ProfileError(
                self.source,
                f"sample_type must be a name or an index, got {sample_type!r}",
                f"Use one of: {', '.join(names)}",
            )
        if isinstance(sample_type, int):
            if 0 <= sample_type < len(names):
                return sample_type
        elif sample_type in names:
            return names.index(sample_type)
        raise ProfileError(
            self.source,
            f"this profile has no sample type {sample_type!r}",
            f"Use one of: {', '.join(names)} (or an index 0..{len(names) - 1})",
        )

    def stacks(self, sample_type: str | int | None = None) -> dict[Stack, int]:
        """``{stack (root first): value}`` for one sample type, stacks valued 0 left out."""
        i = self.sample_type_index(sample_type)
        return {stack: values[i] for stack, values in self._stacks.items() if values[i] != 0}

    def total(self, sample_type: str | int | None = None) -> int:
        """Sum of all samples' values of one sample type (pprof's "total" in ``-top``)."""
        i = self.sample_type_index(sample_type)
        return sum(values[i] for values in self._stacks.values())

    def top(
        self, n: int | None = 10, sample_type: str | int | None = None
    ) -> list[tuple[str, int, int]]:
        """``[(function, flat, cum), ...]``, the first ``n`` (all if None) like ``go tool pprof
        -top -nodefraction=0``.

        Mirrors pprof as the Go toolchain vendors it, src/cmd/vendor/github.com/google/pprof/
        internal/graph/graph.go: newGraph (:341, cum counts a function once per sample,
        ``seenNode``), selectNodesForGraph (:394-410, a function with flat 0 and cum 0 is not
        listed: in a diff profile, one whose growth and shrinkage cancel) and Nodes.Sort's
        FlatNameOrder (:962-977): |flat| descending (``abs64``, so in a diff the largest change
        first, growth or shrinkage), then name; its further |cum| tie-break never applies, as a
        name is listed once.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise ProfileError(self.source, f"n must be None or an int >= 0, got {n!r}")
        stacks = self.stacks(sample_type)
        flat = flat_by_function(stacks)
        cum: dict[str, int] = {}
        for stack, value in stacks.items():
            for fn in set(stack):
                cum[fn] = cum.get(fn, 0) + value
        rows = [(fn, flat.get(fn, 0), c) for fn, c in cum.items() if c or flat.get(fn, 0)]
        rows.sort(key=lambda r: (-abs(r[1]), r[0]))
        return rows if n is None else rows[:n]

    def goroutine_states(self) -> dict[str, int]:
        """``{state: goroutines}`` of a ``?debug=2`` dump, most common first (ties by name).

        Only ``?debug=2`` records a state per goroutine (runtime.goroutineheader); ``?debug=1``
        and the protobuf goroutine profile group goroutines by stack only
        (runtime/pprof.printCountProfile), so for them this raises ProfileError.
        """
        if self.format != "goroutine-debug2":
            raise ProfileError(
                self.source,
                f"a {self.format} profile records no goroutine states",
                "Only a ?debug=2 goroutine dump does: fetch /debug/pprof/goroutine?debug=2 or "
                'write pprof.Lookup("goroutine").WriteTo(w, 2)',
            )
        counts: dict[str, int] = {}
        for g in self._meta.goroutines:
            counts[g.state] = counts.get(g.state, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def diff(
        self, base: Profile, sample_type: str | int | None = None
    ) -> dict[Stack, tuple[int, int]]:
        """``{stack: (value in base, value in self)}`` over the stacks of either profile.

        For the flame graph's before/after mode (``go tool pprof -diff_base=base``): the delta of a
        stack is ``after - before``. Both profiles must have the sample type (by name, default:
        this profile's default) with the same unit. Stacks of this profile come first, in its
        order, then those only in ``base``.
        """
        if not isinstance(base, Profile):
            raise ProfileError(self.source, f"diff needs a Profile as base, got {type(base)!r}")
        i = self.sample_type_index(sample_type)
        name, unit = self._sample_types[i]
        j = base.sample_type_index(name)
        if base._sample_types[j][1] != unit:
            raise ProfileError(
                self.source,
                f"sample type {name!r} is in {unit} here but in {base._sample_types[j][1]} "
                f"in the base {base.source}",
                "Compare profiles of the same kind",
            )
        after, before = self.stacks(i), base.stacks(j)
        out = {stack: (before.get(stack, 0), value) for stack, value in after.items()}
        for stack, value in before.items():
            if stack not in out:
                out[stack] = (value, 0)
        return out

    # -- exports --------------------------------------------------------------------------------

    def to_folded(self, sample_type: str | int | None = None) -> str:
        """Brendan Gregg's folded text (``root;...;leaf value`` per line); see export.to_folded."""
        from labkit.profiles.export import to_folded

        return to_folded(self, sample_type)

    def to_pprof(self) -> bytes:
        """gzip-compressed profile.proto bytes for ``go tool pprof``; see export.to_pprof."""
        from labkit.profiles.export import to_pprof

        return to_pprof(self)

    def to_speedscope(self, sample_type: str | int | None = None) -> dict[str, Any]:
        """A speedscope file as a dict (``json.dumps`` it to save); see export.to_speedscope."""
        from labkit.profiles.export import to_speedscope

        return to_speedscope(self, sample_type)


def _describe_types(types: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{t}/{u}" for t, u in types)


def _check_int(value: Any, what: str, source: str) -> int:
    if isinstance(value, bool):
        raise ProfileError(source, f"{what} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ProfileError(
            source, f"{what} must be an integer, got {type(value).__name__} {value!r}"
        ) from None
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ProfileError(
            source, f"{what} = {number} does not fit in int64", "profile.proto values are int64"
        )
    return number


def _check_sample_types(
    sample_types: Any, source: str, what: str = "sample_types"
) -> tuple[tuple[str, str], ...]:
    example = 'Pass pairs such as [("samples", "count"), ("cpu", "nanoseconds")]'
    if isinstance(sample_types, (str, bytes)) or not isinstance(sample_types, Sequence):
        raise ProfileError(source, f"{what} must be a list of (type, unit) pairs", example)
    out = []
    for pair in sample_types:
        if (
            isinstance(pair, (str, bytes))
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(s, str) and s for s in pair)
        ):
            raise ProfileError(
                source, f"{what} has {pair!r}, not a (type, unit) pair of non-empty str", example
            )
        out.append((pair[0], pair[1]))
    if not out:
        raise ProfileError(source, f"{what} is empty", example)
    names = [t for t, _ in out]
    if len(set(names)) != len(names):
        raise ProfileError(source, f"{what} names a type twice: {names}", "Use distinct names")
    return tuple(out)


def _check_stack(key: Any, source: str) -> Stack:
    if isinstance(key, (str, bytes)) or not isinstance(key, Sequence):
        raise ProfileError(
            source,
            f"a stack must be a tuple of function names (root first), got {key!r}",
            "Write ('main.main', 'main.work'), not 'main.main;main.work'",
        )
    for name in key:
        if not isinstance(name, str) or not name:
            raise ProfileError(
                source, f"stack {key!r} has {name!r}; frame names must be non-empty str"
            )
    return tuple(key)


def _check_values(value: Any, n_types: int, stack: Stack, source: str) -> tuple[int, ...]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        values = tuple(_check_int(v, f"value of stack {stack!r}", source) for v in value)
    else:
        values = (_check_int(value, f"value of stack {stack!r}", source),)
    if len(values) != n_types:
        raise ProfileError(
            source,
            f"stack {stack!r} has {len(values)} value(s) but there are {n_types} sample types",
            "Give one value per sample type",
        )
    return values
