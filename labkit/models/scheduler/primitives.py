"""The primitives a Go program synchronises with, as program steps: sync.Mutex, sync.WaitGroup,
time.Ticker, select, and an atomic flag a goroutine spins on.

Like ``Chan``, each object here is only an identity (and, for a ticker, its period): its state
lives in the simulation (``sema.py``, ``mutex.py``, ``waitgroup.py``, ``timerchan.py``,
``selectgo.py``, ``atomics.py``), so one object can serve any number of runs. Its methods build
the steps, named as the Go calls they stand for::

    mu, wg = Mutex("mu"), WaitGroup("wg")
    worker = Go("worker", [mu.lock(), cpu(0.1), mu.unlock(), wg.done()])
    main = Go("main", [wg.add(8), repeat(8, [spawn(worker)]), wg.wait()])

Misuse that Go itself refuses at run time (unlocking an unlocked mutex, a WaitGroup counter below
zero) raises ProgramError from ``simulate`` when the step runs, naming the goroutine, the step
and what Go does; misuse visible when the program is written (a ticker period <= 0) raises it
here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from labkit.models.scheduler import programs as pg
from labkit.models.scheduler.programs import ProgramError, Step

__all__ = ["Flag", "Mutex", "Ticker", "WaitGroup", "select", "ticker"]


def _check_name(kind: str, name: object) -> None:
    if name is not None and (not isinstance(name, str) or not name):
        raise ProgramError(f"{kind} name must be a non-empty str or None, got {name!r}")


class _Identity:
    """Identity semantics, as Chan: two Mutex() are two mutexes (and hashing is cheap)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass(frozen=True, slots=True, eq=False)
class Mutex(_Identity):
    """A ``sync.Mutex`` (internal/sync/mutex.go in go1.27: sync.Mutex wraps internal/sync's).

    ``lock()`` and ``unlock()`` are its steps. Contended, it spins (at most 4 times, only with
    other Ps running and an empty local run queue), then parks on its semaphore ("sync.Mutex.Lock");
    a waiter that has waited more than 1 ms switches it to starvation mode, where Unlock hands
    it straight to the first waiter (see ``mutex.py``).
    """

    name: str | None = None

    def __post_init__(self) -> None:
        _check_name("Mutex", self.name)

    def lock(self) -> Step:
        """``mu.Lock()``: the fast path's CAS, else lockSlow (spin, queue, park)."""
        return Step(pg.MU_LOCK, obj=self)

    def unlock(self) -> Step:
        """``mu.Unlock()``: wakes a waiter (normal mode) or hands the mutex over and yields
        (starvation mode). Unlocking an unlocked mutex is Go's fatal error."""
        return Step(pg.MU_UNLOCK, obj=self)


@dataclass(frozen=True, slots=True, eq=False)
class WaitGroup(_Identity):
    """A ``sync.WaitGroup`` (src/sync/waitgroup.go): a counter and the goroutines waiting for it
    to reach zero, parked on its semaphore ("sync.WaitGroup.Wait")."""

    name: str | None = None

    def __post_init__(self) -> None:
        _check_name("WaitGroup", self.name)

    def add(self, delta: int) -> Step:
        """``wg.Add(delta)``; when the counter reaches 0 every waiter is released."""
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise ProgramError(f"WaitGroup.add(delta) needs an int, got {delta!r}")
        return Step(pg.WG_ADD, obj=self, n=delta)

    def done(self) -> Step:
        """``wg.Done()``, which is ``wg.Add(-1)``."""
        return Step(pg.WG_ADD, obj=self, n=-1)

    def wait(self) -> Step:
        """``wg.Wait()``: returns at once if the counter is 0, else parks until it is."""
        return Step(pg.WG_WAIT, obj=self)


@dataclass(frozen=True, slots=True, eq=False)
class Ticker(_Identity):
    """A ``time.Ticker`` of ``period_ms`` (src/time/tick.go): ``start()`` is ``time.NewTicker``,
    ``recv(ticker)`` is ``<-t.C``, ``stop()`` is ``t.Stop()``.

    Its channel holds one tick; the runtime fires the timer only while a goroutine waits on the
    channel, and a late fire skips the periods it missed, so a loop slower than the period
    loses ticks (``timerchan.py``). Build one with ``ticker(period_ms)``.
    """

    period_ms: float
    name: str | None = None

    def __post_init__(self) -> None:
        ms = self.period_ms
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms != ms:
            raise ProgramError(f"ticker(period_ms) must be a number of ms, got {ms!r}")
        if not 0 < ms < float("inf"):
            raise ProgramError(
                f"ticker(period_ms) must be > 0 and finite, got {ms!r}: Go's time.NewTicker "
                'panics "non-positive interval for NewTicker" (src/time/tick.go:38)'
            )
        _check_name("Ticker", self.name)

    def start(self) -> Step:
        """``t := time.NewTicker(period)``: the first tick is due one period from now. Started
        again, it is a new ticker in the same variable (a goroutine blocked on the old one's
        channel keeps waiting on that one)."""
        return Step(pg.TICKER_START, obj=self)

    def stop(self) -> Step:
        """``t.Stop()``: no more ticks; a tick waiting in the channel is drained."""
        return Step(pg.TICKER_STOP, obj=self)


def ticker(period_ms: float, name: str | None = None) -> Ticker:
    """A ``time.Ticker`` of ``period_ms`` ms; a period <= 0 raises ProgramError (Go panics)."""
    return Ticker(period_ms, name)


@dataclass(frozen=True, slots=True, eq=False)
class Flag(_Identity):
    """An atomic flag (``atomic.Bool``): ``set()`` stores true, ``clear()`` false, and
    ``spin()`` is ``for !f.Load() {}``, a goroutine burning its CPU until another one sets the
    flag. Atomics are not scheduling points and wake nobody (``atomics.py``)."""

    name: str | None = None

    def __post_init__(self) -> None:
        _check_name("Flag", self.name)

    def set(self) -> Step:
        """``f.Store(true)``."""
        return Step(pg.FLAG_STORE, obj=self, n=1)

    def clear(self) -> Step:
        """``f.Store(false)``."""
        return Step(pg.FLAG_STORE, obj=self, n=0)

    def spin(self, calls: bool = False, stack: str | None = None) -> Step:
        """``for !f.Load() {}``: on the CPU until the flag is set. ``calls=False`` (a loop of
        loads alone) is stopped only by asynchronous preemption, ``calls=True`` (the loop calls
        a function) also at its next call, as ``cpu(calls=...)``."""
        if not isinstance(calls, bool):
            raise ProgramError(f"Flag.spin(calls=...) must be True or False, got {calls!r}")
        if stack is not None:
            pg._check_stack(stack, "Flag.spin(stack=...)")
        gap = 0.0 if calls else math.inf
        return Step(pg.FLAG_SPIN, obj=self, calls=calls, stack=stack, call_gap=gap)


@dataclass(frozen=True, slots=True)
class SelectCases:
    """A select statement as written: its channel cases (each a send, recv or ticker-receive
    step and its body), an optional default body and an optional timeout (``case
    <-time.After(ms)``) with its body. ``bodies`` lists the bodies in the order their code is
    laid out: the cases, then default, then the timeout's."""

    ops: tuple[Step, ...]
    case_bodies: tuple[tuple[Step, ...], ...]
    default: tuple[Step, ...] | None
    timeout_ms: float | None
    timeout_body: tuple[Step, ...]

    @property
    def bodies(self) -> tuple[tuple[Step, ...], ...]:
        out = list(self.case_bodies)
        if self.default is not None:
            out.append(self.default)
        if self.timeout_ms is not None:
            out.append(self.timeout_body)
        return tuple(out)

    def describe(self) -> str:
        """What a goroutine dump or a deadlock report says the select waits on."""
        parts = [repr(op) for op in self.ops]
        if self.timeout_ms is not None:
            parts.append(f"time.After({self.timeout_ms:g} ms)")
        if self.default is not None:
            parts.append("default")
        return f"select({', '.join(parts)})" if parts else "select {}"


@dataclass(frozen=True, slots=True)
class CompiledSelect:
    """A select as the scheduler runs it (``programs.compile_steps``): the cases and where each
    body starts in the goroutine's code (``targets``: the cases', then default's, then the
    timeout's, as ``SelectCases.bodies``)."""

    cases: SelectCases
    targets: tuple[int, ...]

    @property
    def default_target(self) -> int | None:
        return None if self.cases.default is None else self.targets[len(self.cases.ops)]

    @property
    def timeout_target_case(self) -> int:
        """The timeout's case index: its body is the last one (``targets[-1]``)."""
        return len(self.targets) - 1


_CASE_KINDS = (pg.SEND, pg.RECV, pg.TICK_RECV)


def _case(c: object, i: int) -> tuple[Step, tuple[Step, ...]]:
    if isinstance(c, Step):
        op, body = c, ()
    elif isinstance(c, tuple) and len(c) == 2 and isinstance(c[0], Step):
        op, body = c[0], pg._check_steps(c[1], f"select case {i} body")
    else:
        raise ProgramError(
            f"select case {i} is {c!r}; a case is send(ch), recv(ch) or recv(ticker), alone or "
            "as (op, [steps]) with the case's body"
        )
    if op.kind not in _CASE_KINDS:
        raise ProgramError(
            f"select case {i} is {op!r}; select's cases are channel operations: send(ch), "
            "recv(ch) or recv(ticker)"
        )
    return op, body


def select(
    *cases: Step | tuple[Step, Sequence[Step]],
    default: Sequence[Step] | None = None,
    timeout: float | tuple[float, Sequence[Step]] | None = None,
) -> Step:
    """A ``select`` statement; mirrors selectgo in src/runtime/select.go.

    ``cases``: channel operations, each ``send(ch)``, ``recv(ch)`` or ``recv(ticker)``, alone or
    as ``(op, [steps])`` with the body that runs when that case is chosen. ``default``: the body
    of ``default:`` (``[]`` for an empty one); with it the select never blocks. ``timeout``:
    ``case <-time.After(ms):`` as ``ms`` or ``(ms, [steps])``: a timer channel made when the
    select starts. Of the cases ready at once one is chosen in a random poll order (the run's
    generator); with none ready and no default the goroutine waits on every channel ("select")
    until one is ready. No cases and no default is ``select {}``: blocked forever ("select (no
    cases)").
    """
    ops, bodies = [], []
    for i, c in enumerate(cases):
        op, body = _case(c, i)
        ops.append(op)
        bodies.append(body)
    if default is not None:
        default = pg._check_steps(default, "select default")
    timeout_ms, timeout_body = None, ()
    if timeout is not None:
        if isinstance(timeout, tuple):
            if len(timeout) != 2:
                raise ProgramError(f"select(timeout=...) is ms or (ms, [steps]), got {timeout!r}")
            timeout, timeout_body = timeout[0], pg._check_steps(timeout[1], "select timeout")
        timeout_ms = pg._check_ms(timeout, "select(timeout=ms)", allow_negative=True)
    sel = SelectCases(tuple(ops), tuple(bodies), default, timeout_ms, tuple(timeout_body))
    return Step(pg.SELECT, obj=sel)
