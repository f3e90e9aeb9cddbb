"""Goroutine programs: what a G does, written as a list of steps.

A program is data, not Python code: ``Go("worker", [cpu(2), send(ch), sleep(1)])`` describes a
goroutine the way a learner would sketch it on a whiteboard. The scheduler (``runtime.py``) walks
the steps; nothing here knows about Ps or Ms. Each step mirrors one Go statement or runtime entry
point, named in its docstring, so a learner can look up what the real thing does.

Validation happens here, when a program is built, so a typo fails at the line that wrote it with a
message naming the parameter, not deep inside the simulation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from labkit.errors import LabkitError

# Step kinds, small ints so the scheduler's hot loop dispatches on an int compare.
CPU = 0
SYSCALL = 1
IO_WAIT = 2
SLEEP = 3
GOSCHED = 4
SEND = 5
RECV = 6
LOCK = 7
UNLOCK = 8
SPAWN = 9
REPEAT = 10
MARK = 11
WAIT = 12
# Control steps of a Go's compiled code (``Go.code``), never written in a program: the end of a
# loop body (``n`` is the index its body starts at) and the end of the goroutine's function.
LOOP_END = 13
EXIT = 14
# The primitives (primitives.py; kinds after the control steps, so that Scheduler.run tests them
# after every older kind and a program without them walks as fast as before).
MARK_VALUE = 15
MU_LOCK = 16
MU_UNLOCK = 17
WG_ADD = 18
WG_WAIT = 19
TICKER_START = 20
TICKER_STOP = 21
TICK_RECV = 22
SELECT = 23
FLAG_STORE = 24
FLAG_SPIN = 25
# The end of a select case's body (``n``: the index to go on at, after the select).
JUMP = 26
SLEEP_UNTIL = 27

# CPU cost of a call to time.Sleep(d) with d <= 0: the call returns at once (timeSleep,
# src/runtime/time.go:336-338: "if ns <= 0 { return }"). labkit/golab/recorded/yield.json
# (go1.27.3, GOMAXPROCS=1, ``ns_per_iter`` medians of 7 runs): a loop with Sleep(0) 1.63232
# ns/iter, the same loop without 0.8123: 0.82 ns per call (labkit.golab.calibrate.sleep_noop_ms).
SLEEP_NOOP_MS = 8.20e-7


class ProgramError(LabkitError):
    """A goroutine program or a simulate() argument is malformed; the message says how to fix it."""


def _check_ms(value: object, name: str, *, allow_negative: bool = False) -> float:
    if value.__class__ is float and (
        0.0 <= value < math.inf or allow_negative and -math.inf < value < 0.0
    ):
        return value  # the common case first (a program builder's floats): finite, in range
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProgramError(f"{name} must be a number of milliseconds, got {value!r}")
    ms = float(value)
    if ms != ms or ms in (float("inf"), float("-inf")):
        raise ProgramError(f"{name} must be a finite number of milliseconds, got {value!r}")
    if ms < 0 and not allow_negative:
        raise ProgramError(f"{name} must be >= 0 ms, got {value!r}; durations cannot be negative")
    return ms


@dataclass(frozen=True, slots=True, eq=False)
class Chan:
    """A Go channel, ``make(chan T, capacity)``; mirrors hchan in src/runtime/chan.go.

    The object is only an identity plus a capacity: its queue state lives in the simulation, so the
    same Chan can be used by any number of runs without leaking state from one into the next.
    Two ``Chan(0)`` are two channels: ``eq=False`` keeps object's identity equality and hash,
    which run in C where the model looks a channel up on every send and receive (chan.py).
    """

    capacity: int = 0
    name: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int):
            raise ProgramError(f"Chan capacity must be an int >= 0, got {self.capacity!r}")
        if self.capacity < 0:
            raise ProgramError(f"Chan capacity must be >= 0, got {self.capacity}")
        if self.name is not None and not isinstance(self.name, str):
            raise ProgramError(f"Chan name must be a str or None, got {self.name!r}")


@dataclass(frozen=True, slots=True, init=False)
class Step:
    """One step of a goroutine program. Build steps with the functions below, not directly.

    Frozen, with an ``__init__`` of its own (``_step_init``, below): the case study builds
    ~3,200 steps a run, and replacing dataclass's frozen ``__init__`` (object.__setattr__ for
    each of the twelve fields) cut its program's build from 114.0 to 88.2 M instructions
    (benchmarks/README.md)."""

    kind: int
    ms: float = 0.0
    #: What a CPU step calls, as written (``cpu``): True, False, "none", "leaf" or "functions".
    calls: bool | str = True
    stack: str | None = None
    chan: Chan | None = None
    go: Go | None = None
    n: int = 0
    steps: tuple[Step, ...] = ()
    label: str = ""
    #: What a primitive's step acts on (a Mutex, WaitGroup, Ticker, Flag; a select's cases).
    obj: object = None
    #: A mark's value (mark(label, value)).
    value: object = None
    #: CPU ms between the stack-check prologues of a CPU step (``cpu``): 0.0 a prologue at
    #: every instant (calls=True), math.inf none (calls=False, "none", "leaf"), else
    #: 1 / calls_per_ms.
    call_gap: float = 0.0

    def __repr__(self) -> str:
        return _STEP_REPR[self.kind](self)


def _step_init(
    self: Step,
    kind: int,
    ms: float = 0.0,
    calls: bool | str = True,
    stack: str | None = None,
    chan: Chan | None = None,
    go: Go | None = None,
    n: int = 0,
    steps: tuple[Step, ...] = (),
    label: str = "",
    obj: object = None,
    value: object = None,
    call_gap: float = 0.0,
    _set: tuple = tuple(Step.__dict__[name].__set__ for name in Step.__slots__),
) -> None:
    """Step's ``__init__``: each field stored through its slot's descriptor, which is what
    frozen dataclass's object.__setattr__ does, in 60 % of its instructions (11,608 against
    19,393 a Step; a Step stays frozen: its ``__setattr__`` raises)."""
    k, m, c, st, ch, g, nn, sp, lb, o, v, cg = _set
    k(self, kind)
    m(self, ms)
    c(self, calls)
    st(self, stack)
    ch(self, chan)
    g(self, go)
    nn(self, n)
    sp(self, steps)
    lb(self, label)
    o(self, obj)
    v(self, value)
    cg(self, call_gap)


Step.__init__ = _step_init  # type: ignore[method-assign]


_STEP_REPR = {
    CPU: lambda s: f"cpu({s.ms:g}{_calls_text(s)})",
    SYSCALL: lambda s: f"syscall({s.ms:g})",
    IO_WAIT: lambda s: f"io_wait({s.ms:g})",
    SLEEP: lambda s: f"sleep({s.ms:g})",
    GOSCHED: lambda s: "gosched()",
    SEND: lambda s: f"send({s.chan.name or 'chan'})",
    RECV: lambda s: f"recv({s.chan.name or 'chan'})",
    LOCK: lambda s: "lock_os_thread()",
    UNLOCK: lambda s: "unlock_os_thread()",
    SPAWN: lambda s: f"spawn(Go({s.go.name!r}, ...))",
    REPEAT: lambda s: f"repeat({s.n}, {list(s.steps)!r})",
    MARK: lambda s: f"mark({s.label!r})",
    MARK_VALUE: lambda s: f"mark({s.label!r}, {s.value!r})",
    MU_LOCK: lambda s: f"{_obj_name(s.obj)}.lock()",
    MU_UNLOCK: lambda s: f"{_obj_name(s.obj)}.unlock()",
    WG_ADD: lambda s: f"{_obj_name(s.obj)}." + ("done()" if s.n == -1 else f"add({s.n})"),
    WG_WAIT: lambda s: f"{_obj_name(s.obj)}.wait()",
    TICKER_START: lambda s: f"{_obj_name(s.obj)}.start()",
    TICKER_STOP: lambda s: f"{_obj_name(s.obj)}.stop()",
    TICK_RECV: lambda s: f"recv({_obj_name(s.obj)})",
    SELECT: lambda s: (s.obj.cases if hasattr(s.obj, "cases") else s.obj).describe(),
    FLAG_STORE: lambda s: f"{_obj_name(s.obj)}.{'set' if s.n else 'clear'}()",
    FLAG_SPIN: lambda s: f"{_obj_name(s.obj)}.spin({'calls=True' if s.calls else ''})",
    JUMP: lambda s: f"<end of select case: on at step {s.n}>",
    SLEEP_UNTIL: lambda s: f"sleep_until({s.ms:g})",
    WAIT: lambda s: f"wait({s.ms:g}, reason={s.label!r})",
    LOOP_END: lambda s: f"<end of loop: back to step {s.n}>",
    EXIT: lambda s: "<return>",
}
_EXIT = Step(EXIT)


def _calls_text(s: Step) -> str:
    """A CPU step's calls as cpu() takes them: nothing for the default (calls=True)."""
    if s.calls is True:
        return "" if s.call_gap == 0 else f", calls_per_ms={1 / s.call_gap:g}"
    return ", calls=False" if s.calls is False else f", calls={s.calls!r}"


def _obj_name(obj: object) -> str:
    """A primitive object as a step names it: its name, else its type in lower case."""
    return getattr(obj, "name", None) or type(obj).__name__.lower()


@dataclass(frozen=True, slots=True)
class Go:
    """A goroutine program: a name (unique within a run; the copies of a Go spawned more than
    once are numbered, see ``spawn``) and its steps.

    Mirrors the function a ``go`` statement starts (newproc in src/runtime/proc.go creates the G;
    see ``spawn``). ``stack`` is the default call stack, root first ("pkg.F;pkg.G"), used by
    profiles and goroutine dumps for steps that do not give their own.
    """

    name: str
    steps: Sequence[Step] = field(default_factory=tuple)
    stack: str | None = None
    #: The steps compiled for the scheduler, see ``compile_steps``.
    code: tuple[Step, ...] = field(init=False, repr=False, compare=False)
    #: Its spawn steps in code order, each with how many times it runs per run of this Go (the
    #: product of the repeat counts around it): ``spawn_counts`` adds them up.
    spawns: tuple[tuple[Go, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name or ";" in name or "#" in name:
            raise ProgramError(
                f"Go name must be a non-empty str without ';' or '#' (the copies of a Go spawned "
                f"more than once are named name#1, name#2 ...), got {self.name!r}"
            )
        steps = self.steps
        if steps.__class__ in (list, tuple) and all(x.__class__ is Step for x in steps):
            steps = tuple(steps)  # (the common case, without formatting a message per Go)
        else:
            steps = _check_steps(steps, f"Go({self.name!r})")
        object.__setattr__(self, "steps", steps)
        if self.stack is not None and not _stack_ok(self.stack):
            _check_stack(self.stack, f"Go({self.name!r}) stack")
        object.__setattr__(self, "code", compile_steps(steps))
        sites: list[tuple[Go, int]] = []
        if not _NESTING.isdisjoint([s.kind for s in steps]):
            _spawn_sites(steps, 1, sites)
        object.__setattr__(self, "spawns", tuple(sites))

    def default_stack(self, is_main: bool) -> str:
        """The stack shown for this G's CPU time: its own, else "main.main" / "main.<name>"."""
        if self.stack is not None:
            return self.stack
        return "main.main" if is_main else f"main.{self.name}"


def _spawn_sites(steps: Sequence[Step], times: int, out: list[tuple[Go, int]]) -> None:
    """The spawn steps of ``steps`` in code order, each with how often it runs (``times`` for
    the steps themselves; loops multiply it; a spawn in any select case's body may run)."""
    for s in steps:
        if s.kind == SPAWN:
            out.append((s.go, times))
        elif s.kind == REPEAT and s.n:
            _spawn_sites(s.steps, times * s.n, out)
        elif s.kind == SELECT:
            for body in s.obj.bodies:
                _spawn_sites(body, times, out)


def _check_steps(steps: object, what: str) -> tuple[Step, ...]:
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
        raise ProgramError(f"{what} steps must be a list of steps, got {steps!r}")
    steps = tuple(steps)
    for i, s in enumerate(steps):
        if not isinstance(s, Step):
            raise ProgramError(
                f"{what} step {i} is {s!r}, not a step; build steps with cpu(), "
                "syscall(), io_wait(), sleep(), gosched(), send(), recv(), spawn(), repeat(), "
                "mark(), lock_os_thread(), unlock_os_thread(), select() or the methods of "
                "Mutex, WaitGroup, Ticker and Flag"
            )
    return steps


def compile_steps(steps: Sequence[Step]) -> tuple[Step, ...]:
    """The steps as one flat sequence the scheduler walks with a program counter, as a CPU walks
    machine code: a ``repeat(n, body)`` with n > 1 becomes its own step (the loop's header, which
    starts a counter at n), the body, and a LOOP_END step that jumps back to the body until the
    counter runs out; ``repeat(1, body)`` is just the body, ``repeat(0, ...)`` nothing. An EXIT
    step ends the code (the G returns: goexit). ``sleep(d <= 0)`` becomes the CPU time of the
    call (see ``_compiled``).

    A Go is compiled once, when it is built, so a run pays nothing to walk nested loops. A
    program of plain steps (no loop, select or sleep) compiles to itself and EXIT at once: the
    case study builds ~550 of them per run (benchmarks/README.md).
    """
    if _COMPILED.isdisjoint([s.kind for s in steps]):
        return (*steps, _EXIT)
    code: list[Step] = []

    def emit(steps: Sequence[Step]) -> None:
        for s in steps:
            if s.kind == SELECT:
                emit_select(s)
            elif s.kind == SLEEP_UNTIL:  # the deadline, then the call's cost if it has passed
                code.append(s)
                code.append(_sleep_noop())
            elif s.kind != REPEAT:
                code.append(_compiled(s))
            elif s.n == 1:
                emit(s.steps)
            elif s.n > 1:
                header = len(code)
                code.append(s)
                emit(s.steps)
                if len(code) == header + 1:  # an empty body: no loop at all
                    code.pop()
                else:
                    code.append(Step(LOOP_END, n=header + 1))

    def emit_select(s: Step) -> None:
        # The header, then each body ending in a JUMP past the last one (selectgo returns the
        # chosen case's index; the compiler's switch on it jumps to the body).
        from labkit.models.scheduler.primitives import CompiledSelect

        header = len(code)
        code.append(s)  # replaced below, once the bodies' places are known
        targets, jumps = [], []
        for body in s.obj.bodies:
            targets.append(len(code))
            emit(body)
            jumps.append(len(code))
            code.append(s)
        end = len(code)
        for j in jumps:
            code[j] = Step(JUMP, n=end)
        code[header] = Step(SELECT, obj=CompiledSelect(s.obj, tuple(targets)))

    emit(steps)
    code.append(_EXIT)
    return tuple(code)


#: Step kinds ``compile_steps`` rewrites (every other step is its own code), and the kinds
#: ``_spawn_sites`` looks into.
_COMPILED = frozenset({REPEAT, SELECT, SLEEP, SLEEP_UNTIL})
_NESTING = frozenset({SPAWN, REPEAT, SELECT})


def _compiled(s: Step) -> Step:
    """A step as the scheduler runs it: ``sleep(d <= 0)`` is the call and nothing else, the
    SLEEP_NOOP_MS of CPU that a ``cpu()`` step takes (timeSleep returns before any timer)."""
    if s.kind == SLEEP and s.ms <= 0:
        return _sleep_noop()
    return s


def _sleep_noop() -> Step:
    """A call to time.Sleep(d <= 0) as the scheduler runs it: its CPU time and nothing else
    (SLEEP_NOOP_MS read when the program is built, so a test can set it)."""
    return Step(CPU, ms=SLEEP_NOOP_MS)


def _stack_ok(stack: object) -> bool:
    """A call stack as a profile names it: 'pkg.F;pkg.G', root first, no empty frame."""
    return isinstance(stack, str) and bool(stack) and all(stack.split(";"))


def _check_stack(stack: object, what: str) -> str:
    if not _stack_ok(stack):
        raise ProgramError(
            f"{what} must be 'pkg.F;pkg.G' (root first, no empty frames), got {stack!r}"
        )
    return stack


#: What ``cpu(calls=...)`` accepts, and the CPU ms between stack-check prologues of each.
CALL_KINDS: dict[bool | str, float] = {
    True: 0.0,
    "functions": 0.0,
    False: math.inf,
    "none": math.inf,
    "leaf": math.inf,
}


def cpu(
    ms: float,
    calls: bool | str = True,
    stack: str | None = None,
    *,
    calls_per_ms: float | None = None,
) -> Step:
    """Run on the CPU for ``ms`` milliseconds.

    ``calls`` says what the code calls, which decides where it can be preempted without a
    signal. sysmon's request (preemptone, src/runtime/proc.go:6917) sets gp.stackguard0 to
    stackPreempt; the stack-check prologue of the next function called compares SP with it, goes
    to morestack -> newstack, which sees the request (src/runtime/stack.go:1122) and acts like
    Gosched (gopreempt_m, stack.go:1174). Only functions with a prologue check:

    - ``True`` or ``"functions"`` (the default): ordinary code calling ordinary functions; the
      model treats the next prologue as immediate.
    - ``False`` or ``"none"``: a loop without calls.
    - ``"leaf"``: a loop that calls only small leaf functions. The compiler marks a function
      NOSPLIT, with no prologue at all, when it calls nothing (zero-argument runtime calls such
      as panicIndex aside) and its frame is below abi.StackSmall = 128 bytes
      (src/cmd/internal/obj/x86/obj6.go:663-691 on amd64; src/internal/abi/stack.go:26), so
      such a loop is as unpreemptible without signals as one with no call at all (an inlined
      call is no call either).
    - ``calls_per_ms=r`` (with ``calls`` left True): an ordinary call every 1/r ms of the
      step's CPU, the first 1/r ms into it: a request waits for the next one (a preempted step
      keeps its place, so the calls stay where they are in the loop).

    With asynchronous preemption on (``async_preempt=True``, Go >= 1.14) a signal stops any of
    them at once (preemptM, src/runtime/signal_unix.go:369 -> asyncPreempt,
    src/runtime/preempt.go:305); off (GODEBUG=asyncpreemptoff=1) code without prologues runs
    until the step ends. ``stack``: the call stack profiles show for this step.
    """
    ms = _check_ms(ms, "cpu(ms)")
    if not isinstance(calls, bool | str) or calls not in CALL_KINDS:
        raise ProgramError(
            f"cpu(calls=...) must be one of True, False, 'none', 'leaf' or 'functions' (what "
            f"the code calls), got {calls!r}"
        )
    gap = CALL_KINDS[calls]
    if calls_per_ms is not None:
        if isinstance(calls_per_ms, bool) or not isinstance(calls_per_ms, int | float):
            raise ProgramError(f"cpu(calls_per_ms=...) must be a number > 0, got {calls_per_ms!r}")
        if not 0 < calls_per_ms < math.inf:
            raise ProgramError(
                f"cpu(calls_per_ms=...) must be a finite number > 0 (calls per ms of CPU), got "
                f"{calls_per_ms!r}; for no calls at all write calls='none'"
            )
        if calls not in (True, "functions"):
            raise ProgramError(
                f"cpu(calls={calls!r}, calls_per_ms={calls_per_ms!r}): a call rate counts "
                "ordinary functions; leave calls at True (or 'functions') when you give one"
            )
        calls, gap = True, 1.0 / calls_per_ms
        if gap == math.inf:
            raise ProgramError(
                f"cpu(calls_per_ms=...) is too small to take its inverse, got {calls_per_ms!r}; "
                "for no calls at all write calls='none'"
            )
    if stack is not None:
        _check_stack(stack, "cpu(stack=...)")
    return Step(CPU, ms=ms, calls=calls, stack=stack, call_gap=gap)


def syscall(ms: float) -> Step:
    """A blocking system call of ``ms`` ms; mirrors entersyscall / exitsyscall in proc.go.

    The G keeps its M for the whole call; sysmon's retake hands its P to another M.
    """
    return Step(SYSCALL, ms=_check_ms(ms, "syscall(ms)"))


def io_wait(ms: float) -> Step:
    """Wait ``ms`` ms for a network fd through the netpoller; mirrors netpollblock in netpoll.go.

    The G parks ("IO wait") and holds no M; netpoll readies it when the fd is ready.
    """
    return Step(IO_WAIT, ms=_check_ms(ms, "io_wait(ms)"))


def sleep(ms: float) -> Step:
    """``time.Sleep``; mirrors timeSleep in src/runtime/time.go.

    ``ms <= 0`` returns at once, without parking or yielding (it costs one call, SLEEP_NOOP_MS).
    Otherwise the G parks ("sleep") on its P's timer heap; the fired timer readies it into runnext.
    """
    return Step(SLEEP, ms=_check_ms(ms, "sleep(ms)", allow_negative=True))


def sleep_until(deadline_ms: float) -> Step:
    """``time.Sleep(time.Until(deadline))``: sleep until the run's virtual clock reads
    ``deadline_ms``, as a program does that starts work at fixed times (``arrive :=
    start.Add(k * every)``) whenever its goroutine gets to run.

    A deadline still ahead parks the G on its P's timer heap for the time left, as ``sleep``
    does (timeSleep, src/runtime/time.go:335). A deadline already past, because the G started
    late, is ``time.Sleep(d <= 0)``: the call returns at once (time.go:336-338), costing
    SLEEP_NOOP_MS, and the G goes on without parking or yielding; so does a deadline before
    the run began (a negative one).
    """
    return Step(
        SLEEP_UNTIL, ms=_check_ms(deadline_ms, "sleep_until(deadline_ms)", allow_negative=True)
    )


def wait(ms: float, reason: str = "select") -> Step:
    """Block for ``ms`` ms on something the model does not simulate itself, shown in goroutine
    dumps with Go's wait ``reason`` (waitReasonStrings in runtime2.go: "select",
    "sync.Mutex.Lock", "semacquire", "sync.WaitGroup.Wait" ...).

    For waits whose length comes from outside the scheduler (e.g. a database/sql connection-pool
    queue computed with labkit.models.pool): the G parks (gopark) without an M and is readied into runnext
    after ``ms``, as a timer or the goroutine that releases the resource would ready it.
    ``ms <= 0`` does not park.
    """
    ms = _check_ms(ms, "wait(ms)")
    if not isinstance(reason, str) or not reason or any(c in reason for c in "[]\n"):
        raise ProgramError(f"wait(reason=...) must be a non-empty wait reason, got {reason!r}")
    return Step(WAIT, ms=ms, label=reason)


def gosched() -> Step:
    """``runtime.Gosched``; mirrors goschedImpl in proc.go: the G goes to the *global* queue."""
    return Step(GOSCHED)


def send(ch: Chan) -> Step:
    """``ch <- v``; mirrors chansend in src/runtime/chan.go."""
    if not isinstance(ch, Chan):
        raise ProgramError(f"send(ch) needs a Chan, got {ch!r}")
    return Step(SEND, chan=ch)


def recv(ch: Chan) -> Step:
    """``<-ch``; mirrors chanrecv in src/runtime/chan.go. ``recv(ticker)`` is ``<-t.C`` of a
    ``time.Ticker`` (primitives.Ticker; its timer channel, timerchan.py)."""
    from labkit.models.scheduler.primitives import Ticker

    if isinstance(ch, Ticker):
        return Step(TICK_RECV, obj=ch)
    if not isinstance(ch, Chan):
        raise ProgramError(f"recv(ch) needs a Chan or a Ticker, got {ch!r}")
    return Step(RECV, chan=ch)


def lock_os_thread() -> Step:
    """``runtime.LockOSThread``; mirrors dolockOSThread in proc.go: wires this G to its M."""
    return Step(LOCK)


def unlock_os_thread() -> Step:
    """``runtime.UnlockOSThread``; mirrors dounlockOSThread in proc.go."""
    return Step(UNLOCK)


def spawn(go: Go) -> Step:
    """A ``go`` statement; mirrors newproc in proc.go (new G into runnext, then wakep).

    The same Go may be spawned any number of times (in a ``repeat``, or from several places):
    each spawn starts a new goroutine, numbered in the order the run creates them
    (``"worker#1"``, ``"worker#2"`` ..., see ``goroutine_names``), as ``for i := range n { go
    worker() }`` starts n goroutines of one function."""
    if not isinstance(go, Go):
        raise ProgramError(f"spawn(go) needs a Go(name, steps), got {go!r}")
    return Step(SPAWN, go=go)


def repeat(n: int, steps: Sequence[Step]) -> Step:
    """A ``for i := 0; i < n; i++ { steps }`` loop, walked without expanding n copies."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ProgramError(f"repeat(n, steps) needs an int n >= 0, got {n!r}")
    body = _check_steps(steps, f"repeat({n}, ...)")
    return Step(REPEAT, n=n, steps=tuple(body))


def mark(label: str, value: float | str | None = None) -> Step:
    """Record the virtual time at which this G reaches this point (``Result.marks[label]``),
    and with it ``value`` if one is given (``Result.mark_values[label]``, in the same order as
    the times; None for a mark without a value), as a program logs a number it reached
    (``log.Printf("depth %d", n)``) beside the time.

    ``value``: a finite number or a str, fixed when the program is written.
    """
    if not isinstance(label, str) or not label:
        raise ProgramError(f"mark(label) needs a non-empty str, got {label!r}")
    if value is None:
        return Step(MARK, label=label)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ProgramError(f"mark({label!r}, value) needs a finite value, got {value!r}")
    elif not isinstance(value, str):
        raise ProgramError(
            f"mark({label!r}, value) takes a number or a str (or no value), got {value!r}"
        )
    return Step(MARK_VALUE, label=label, value=value)


def iter_goroutines(main: Go) -> list[Go]:
    """Every Go a run can create, main first, in spawn order of appearance (depth first), each
    Go object once however many times it is spawned (see ``goroutine_names``).

    Raises ProgramError when two different Go objects share a name, as the run could not tell
    them apart.
    """
    return _walk_goroutines(main)[0]


def _walk_goroutines(main: Go) -> tuple[list[Go], bool]:
    """iter_goroutines' list, and whether every Go in it is spawned once (one spawn step, in no
    loop): then each goroutine's name is its Go's."""
    found: list[Go] = []
    names: dict[str, Go] = {}
    once = True
    # depth first, in code order; iterative (a recursive closure would leave a reference cycle
    # for the garbage collector on every run)
    stack = [iter(((main, 1),))]
    while stack:
        for go, times in stack[-1]:
            once = once and times == 1
            seen = names.get(go.name)
            if seen is go:
                once = False
                continue
            if seen is not None:
                raise ProgramError(
                    f"two different goroutines are named {go.name!r}; names must be unique (one "
                    "Go object may be spawned any number of times: its copies are numbered)"
                )
            names[go.name] = go
            found.append(go)
            stack.append(iter(go.spawns))
            break
        else:
            stack.pop()
    return found, once


def spawn_counts(main: Go) -> dict[int, int]:
    """How many goroutines of each Go a run to completion creates, by ``id(go)``: main once, and
    a spawn step as many times as the loops around it run, times the copies of the Go it is in.

    Counted over the program as written (repeat counts are fixed), so it is known before the
    run: a Go counted more than once runs as numbered copies (``goroutine_names``).
    """
    return _spawn_counts(iter_goroutines(main))


def _spawn_counts(gos: list[Go]) -> dict[int, int]:
    """spawn_counts over ``gos`` (iter_goroutines' list, main first): each Go's count is final
    once every Go that spawns it has passed it on (the spawn graph has no cycles: a Go's steps
    exist before it does)."""
    waiting = dict.fromkeys(map(id, gos), 0)  # spawn sites not yet counted, per Go
    for go in gos:
        for child, _ in go.spawns:
            waiting[id(child)] += 1
    counts = {id(gos[0]): 1}
    ready = [gos[0]]
    while ready:
        go = ready.pop()
        copies = counts[id(go)]
        for child, times in go.spawns:
            counts[id(child)] = counts.get(id(child), 0) + copies * times
            waiting[id(child)] -= 1
            if not waiting[id(child)]:
                ready.append(child)
    return counts


def copy_name(name: str, k: int) -> str:
    """The name of the k-th goroutine (1-based, in the order the run creates them) of a Go
    spawned more than once: "worker#3". Its stack is still its function's (main.worker), so
    goroutine dumps and profiles show it as Go's do."""
    return f"{name}#{k}"


def goroutine_names(main: Go) -> list[tuple[str, Go]]:
    """Every goroutine a run can create, as (name, Go), in ``iter_goroutines`` order. A Go that
    ``spawn_counts`` counts more than once gets numbered names ``copy_name(name, 1..n)``, given in
    the order the run creates them; a Go spawned once keeps its own name."""
    gos, once = _walk_goroutines(main)
    if once:
        return [(go.name, go) for go in gos]
    counts = _spawn_counts(gos)
    out: list[tuple[str, Go]] = []
    for go in gos:
        n = counts.get(id(go), 0)
        if n > 1:
            out += [(copy_name(go.name, k), go) for k in range(1, n + 1)]
        else:
            out.append((go.name, go))
    return out


def cpu_demand_ms(main: Go) -> dict[str, float]:
    """The CPU time each goroutine's steps ask for: what its rows in ``Result.segments`` add up to.

    cpu(ms) steps count their ms; sleep(ms <= 0) counts SLEEP_NOOP_MS (the call runs on the G).
    Scheduler costs (schedule, timer arm/fire, thread hand-offs) are P time outside any G's
    segments, so they are not part of a goroutine's demand. Neither is CPU time that depends on
    the run: a contended Mutex's spinning and a ``Flag.spin`` loop add to the segments; a program
    with a ``select`` or a ``sleep_until`` raises ProgramError (which body runs, and whether the
    deadline has passed, is decided by the run).
    """

    def total(steps: Sequence[Step]) -> float:
        ms = 0.0
        for s in steps:
            if s.kind == CPU:
                ms += s.ms
            elif s.kind == SLEEP and s.ms <= 0:
                ms += SLEEP_NOOP_MS
            elif s.kind == REPEAT:
                ms += s.n * total(s.steps)
            elif s.kind == SELECT:
                raise ProgramError(
                    "cpu_demand_ms() cannot count a program with select(): the run decides "
                    "which case's body runs; read Result.cpu_ms() instead"
                )
            elif s.kind == SLEEP_UNTIL:
                raise ProgramError(
                    "cpu_demand_ms() cannot count a program with sleep_until(): the run "
                    "decides whether the deadline has passed, and so whether the call costs "
                    "SLEEP_NOOP_MS; read Result.cpu_ms() instead"
                )
        return ms

    return {name: total(go.steps) for name, go in goroutine_names(main)}
