"""Why a window stalled: its time, split among the causes the course teaches.

Within a window the stalled goroutine is, at each moment, in one state, and each state has its
own question:

* **runnable** (it wanted a P): who held the Ps meanwhile? The P-time of the stretch is split
  among what ran: a goroutine that ran ``hog_ms`` (forcePreemptNS, 10 ms: sysmon's retake,
  src/runtime/proc.go) or more without leaving its P is a ``cpu_hog``; the GC's background
  mark workers (runtime.gcBgMarkWorker) are ``gc_workers``; a stop-the-world is a
  ``gc_pause``; a P kept by a goroutine in a system call is ``syscall``; shorter runs of other
  goroutines, and a P that stayed idle, are ``runqueue_delay`` (the queue itself: the stalled
  goroutine was behind others, or no M was looking for work yet); a P on its way to or from
  the thread of a goroutine locked to it (LockOSThread: startlockedm, stoplockedm, proc.go;
  :mod:`labkit.stalls.threads`) is ``locked_thread``, and so is the end of the wait of a
  locked goroutine whose P was travelling to its thread;
* **waiting**: why it parked (the runtime's wait reason): ``channel`` (chan send / receive),
  ``select``, ``mutex`` (sync.Mutex / RWMutex: reason "sync" with their frames on the stack),
  ``cond`` (sync.Cond.Wait), ``gc_assist`` (an assist waiting for mark work); a late wake's
  excess is ``late_timer`` (:mod:`labkit.stalls.windows`); a sleep that was on time, a
  network wait, a WaitGroup are the program's own waiting and explain no stall; the part of a
  late wake during which the timer's P sat in another goroutine's system call (a P in a call
  runs no scheduler until the call returns or sysmon's retake hands it off: 20 us to 10 ms
  later, more when sysmon sleeps long) is ``syscall`` (``cgo`` for a call into C); the part of
  a wait for another goroutine (a channel, a lock) during which that goroutine waited for a
  P's trip to or from a locked thread is ``locked_thread``;
* **syscall**: a system call (``cgo`` when the stack is in a cgo call: cgo's ``_Cfunc_``
  wrapper, runtime.cgocall);
* **running**: its own work, except the mark assists the GC charged to it (``gc_assist``:
  gcAssistAlloc, src/runtime/mgcmark.go).

Each piece of explained time goes to a cause and to the goroutines to blame, with the evidence a
reader can find in ``go tool trace``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from labkit.stalls.facts import NETWORK_REASONS, TIMER_REASONS, Facts
from labkit.stalls.threads import overlapping, waited_through
from labkit.stalls.windows import SAME_MS, Stall

#: The fixed vocabulary of causes (the stall doctor issue's list, in its order).
CAUSES = (
    "cpu_hog",
    "runqueue_delay",
    "late_timer",
    "late_network",
    "syscall",
    "cgo",
    "locked_thread",
    "gc_pause",
    "gc_assist",
    "gc_workers",
    "channel",
    "mutex",
    "select",
    "cond",
)

#: forcePreemptNS (src/runtime/proc.go): sysmon preempts a goroutine that has run this long.
HOG_MS = 10.0

GC_WORKER = "runtime.gcBgMarkWorker"


@dataclass(frozen=True)
class Piece:
    """Explained time: ``ms`` of window ``stall`` went to ``cause``, blamed on ``culprits``
    (goroutine IDs), with one line of ``evidence``."""

    cause: str
    ms: float
    stall: Stall
    culprits: tuple[int, ...]
    evidence: str
    #: A hand-off's row (labkit.stalls.threads.HANDOFF) and the goroutine that waited through
    #: it, whose evidence is written only for the longest of a window's (there are thousands).
    handoff: tuple[np.void, int] | None = None


def wait_cause(reason: str, stack: str) -> str | None:
    """The cause of a wait, from the runtime's reason and the goroutine's stack (None: the
    program's own waiting, no stall cause)."""
    if reason in ("chan receive", "chan send"):
        return "channel"
    if reason == "select":
        return "select"
    if reason == "sync.(*Cond).Wait":
        return "cond"
    if reason == "GC mark assist wait for work":
        return "gc_assist"
    if reason == "sync" and ("sync.(*Mutex)" in stack or "sync.(*RWMutex)" in stack):
        return "mutex"
    return None


def call_kind(stack: str) -> str:
    """``cgo`` for a call into C (cgo's generated ``_Cfunc_`` wrapper, as a trace's stack shows
    it, or runtime.cgocall), else ``syscall``: both enter the runtime the same way
    (entersyscall, src/runtime/proc.go)."""
    return "cgo" if "._Cfunc_" in stack or "runtime.cgocall" in stack else "syscall"


def explain(
    facts: Facts,
    stall: Stall,
    hog_ms: float = HOG_MS,
    late: dict[tuple[int, float], float] | None = None,
) -> Iterator[Piece]:
    """The pieces of ``stall``'s time, stretch by stretch of the stalled goroutine. ``late``:
    the late wakes, (goroutine, wake ms) -> where the timer could first have fired. A window's
    thread hand-offs (many, microseconds each) come as one piece."""
    late = late or {}
    name = facts.name
    handed: list[Piece] = []
    mine = facts.of(stall.g)  # in time order: only those that overlap the window
    first = np.searchsorted(mine["end_ms"], stall.start_ms, side="right")
    last = np.searchsorted(mine["start_ms"], stall.end_ms, side="left")
    for s in mine[first:last]:
        a, b = max(float(s["start_ms"]), stall.start_ms), min(float(s["end_ms"]), stall.end_ms)
        if b <= a:
            continue
        state = s["state"]
        if state == "runnable":
            pieces = _runnable(facts, stall, a, b, hog_ms)
        elif state == "waiting":
            pieces = _waiting(facts, stall, s, a, b, late)
        elif state == "syscall":
            stack = str(s["stack"] or "")
            pieces = [
                Piece(
                    call_kind(stack),
                    b - a,
                    stall,
                    (stall.g,),
                    f"{name(stall.g)} in a system call from {a:.3f} to {b:.3f} ms "
                    f"({stack.split(';')[-1]})",
                )
            ]
        elif state == "running":
            pieces = _assists(facts, stall, a, b)
        else:
            continue
        for piece in pieces:
            if piece.cause == "locked_thread":
                handed.append(piece)
            else:
                yield piece
    if handed:
        yield _handoffs_piece(facts, stall, handed)


def _handoffs_piece(facts: Facts, stall: Stall, handed: list[Piece]) -> Piece:
    """A window's hand-offs as one piece: how many, how long in all, the longest."""
    ms = sum(p.ms for p in handed)
    culprits = tuple(dict.fromkeys(g for p in handed for g in p.culprits))
    longest = max(handed, key=lambda p: p.ms)
    evidence = longest.evidence or _handoff_evidence(facts, *longest.handoff)
    if len(handed) > 1:
        evidence = (
            f"{len(handed)} trips of a P to or from a locked thread held up "
            f"{facts.name(stall.g)} for {ms:.3f} ms between {stall.start_ms:.3f} and "
            f"{stall.end_ms:.3f} ms; the longest: {evidence}"
        )
    return Piece("locked_thread", ms, stall, culprits, evidence)


def _handoff_evidence(facts: Facts, h: np.void, waiter: int) -> str:
    """One hand-off in words a reader can check in ``go tool trace -d=parsed``: the goroutine's
    wait runnable, the P that ran nothing meanwhile, and the thread that ran it (its
    ``Runnable->Running`` on that M); before a locked goroutine's run, its thread starting
    the P (``ProcID=p Idle->Running``)."""
    name = facts.name
    owner = int(h["locked"])
    p, lo, hi, m_to = int(h["p"]), float(h["start_ms"]), float(h["end_ms"]), int(h["m_to"])
    thread = facts.locked.get(owner, m_to)
    runs = int(np.count_nonzero(facts.runs["g"] == owner))
    locked = (
        f"{name(owner)} is locked to thread M{thread} (its {runs} runs all there, the thread "
        "running nothing else meanwhile)"
    )
    if h["direction"] == "to":
        return (
            f"{name(waiter)} waited runnable from {lo:.3f} to {hi:.3f} ms while P{p} ran "
            f"nothing, until its own thread M{m_to} started the P and ran it (ProcID={p} "
            f"Idle->Running): startlockedm hands the P over with a futex wake, since only that "
            f"thread may run it. {locked}"
        )
    return (
        f"{name(waiter)} waited runnable from {lo:.3f} to {hi:.3f} ms, readied by a goroutine "
        f"whose thread may run nothing else, until thread M{m_to} ran it on P{p} "
        f"(stoplockedm: the locked thread gives its P up and another must be woken). {locked}"
    )


def _runnable(facts: Facts, stall: Stall, a: float, b: float, hog_ms: float) -> list[Piece]:
    """A runnable stretch: the P's trips to the stalled goroutine's own locked thread (or from
    a locked thread it waited behind) are ``locked_thread``; the rest is split by what held
    the Ps (see the module docstring)."""
    out, at = [], a
    trips = waited_through(facts.handoffs, stall.g, a, b) if len(facts.handoffs) else ()
    for h in trips:
        lo, hi = max(a, float(h["start_ms"])), min(b, float(h["end_ms"]))
        if hi <= at:
            continue
        if lo > at:
            out.extend(_shared(facts, stall, at, lo, hog_ms))
        lo = max(lo, at)
        out.append(Piece("locked_thread", hi - lo, stall, (int(h["locked"]),), "", (h, stall.g)))
        at = hi
    if at < b:
        out.extend(_shared(facts, stall, at, b, hog_ms))
    return out


def _who_held(
    facts: Facts, stall: Stall, a: float, b: float, hog_ms: float
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], tuple[int, float, float, str]]]:
    """The P-ms of ``[a, b]`` each (cause, goroutine) held the Ps for while ``stall.g`` waited
    runnable (other goroutines' runs, system and cgo calls that kept a P, Ps travelling to or from
    locked threads, stop-the-world pauses), and the first or longest stretch of each, for the
    evidence."""
    share: dict[tuple[str, int], float] = {}
    first: dict[tuple[str, int], tuple[int, float, float, str]] = {}
    for r in overlapping(facts.runs, a, b):
        if int(r["g"]) == stall.g:
            continue
        lo, hi = max(a, float(r["start_ms"])), min(b, float(r["end_ms"]))
        g = int(r["g"])
        length = float(r["end_ms"] - r["start_ms"])
        assisting = _assisting_ms(facts, g, lo, hi) if len(facts.assists) else 0.0
        if assisting > 0:  # the part of the run the GC made it spend marking
            key = ("gc_assist", g)
            share[key] = share.get(key, 0.0) + assisting
            first.setdefault(key, (int(r["p"]), lo, hi, "assisting"))
            lo += assisting  # the rest of the overlap is classified below
        if facts.names.get(g, "").startswith(GC_WORKER):
            cause = "gc_workers"
        elif length >= hog_ms:
            cause = "cpu_hog"
        else:
            cause, g = "runqueue_delay", -1
        key = (cause, g)
        share[key] = share.get(key, 0.0) + (hi - lo)
        if key not in first or length > first[key][2] - first[key][1]:
            first[key] = (int(r["p"]), float(r["start_ms"]), float(r["end_ms"]), str(r["ended"]))
    for sy in overlapping(facts.syscalls, a, b):
        if sy["p"] < 0:
            continue
        key = (call_kind(_call_stack(facts, int(sy["g"]), float(sy["start_ms"]))), int(sy["g"]))
        lo, hi = max(a, float(sy["start_ms"])), min(b, float(sy["end_ms"]))
        share[key] = share.get(key, 0.0) + (hi - lo)
        first.setdefault(key, (int(sy["p"]), float(sy["start_ms"]), float(sy["end_ms"]), "syscall"))
    trips = overlapping(facts.handoffs, a, b) if len(facts.handoffs) else ()
    for h in trips:  # Ps on their way to or from locked threads
        key = ("locked_thread", int(h["locked"]))
        lo, hi = max(a, float(h["start_ms"])), min(b, float(h["end_ms"]))
        share[key] = share.get(key, 0.0) + (hi - lo)
        first.setdefault(key, (int(h["p"]), float(h["start_ms"]), float(h["end_ms"]), "handoff"))
    for pause in facts.stw:
        lo, hi = max(a, float(pause["start_ms"])), min(b, float(pause["end_ms"]))
        if hi > lo:
            key = ("gc_pause", -1)
            share[key] = share.get(key, 0.0) + (hi - lo) * facts.gomaxprocs
            first.setdefault(key, (-1, float(pause["start_ms"]), float(pause["end_ms"]), "stw"))
    return share, first


def _shared(facts: Facts, stall: Stall, a: float, b: float, hog_ms: float) -> Iterator[Piece]:
    """Split ``[a, b]``, in which ``stall.g`` waited runnable, by what held the Ps."""
    span = b - a
    share, first = _who_held(facts, stall, a, b, hog_ms)
    busy = sum(share.values())
    capacity = span * facts.gomaxprocs
    idle = max(0.0, capacity - busy)
    if idle > 0:
        share[("runqueue_delay", -1)] = share.get(("runqueue_delay", -1), 0.0) + idle
    total = max(capacity, busy)
    name = facts.name
    for (cause, g), p_ms in sorted(share.items(), key=lambda kv: -kv[1]):
        ms = span * p_ms / total
        if ms <= 0:
            continue
        if cause == "runqueue_delay":
            evidence = (
                f"{name(stall.g)} runnable from {a:.3f} to {b:.3f} ms while the Ps ran other "
                f"goroutines in short turns or sat idle ({p_ms:.3f} P-ms of {capacity:.3f})"
            )
            culprits: tuple[int, ...] = ()
        elif cause == "gc_pause":
            _, lo, hi, _ = first[(cause, g)]
            evidence = f"stop-the-world from {lo:.3f} to {hi:.3f} ms"
            culprits = ()
        else:
            p, lo, hi, ended = first[(cause, g)]
            how = {
                "cpu_hog": f"ran on P{p} from {lo:.3f} to {hi:.3f} ms ({hi - lo:.1f} ms, then "
                f"{ended})",
                "gc_workers": f"marked on P{p} from {lo:.3f} to {hi:.3f} ms",
                "syscall": f"held P{p} in a system call from {lo:.3f} to {hi:.3f} ms",
                "cgo": f"held P{p} in a cgo call from {lo:.3f} to {hi:.3f} ms",
                "gc_assist": f"assisted the GC's marking on P{p} (gcAssistAlloc) between "
                f"{lo:.3f} and {hi:.3f} ms",
                "locked_thread": f"is locked to its thread: P{p} travelled to or from it, "
                f"running nothing, from {lo:.3f} to {hi:.3f} ms",
            }[cause]
            evidence = f"{name(g)} {how} while {name(stall.g)} was runnable ({a:.3f}-{b:.3f} ms)"
            culprits = (g,)
        yield Piece(cause, ms, stall, culprits, evidence)


def _call_stack(facts: Facts, g: int, t_ms: float) -> str:
    """The stack of goroutine ``g``'s system call that began at ``t_ms`` ("" if none)."""
    mine = facts.of(g)
    on = mine[(mine["state"] == "syscall") & (np.abs(mine["start_ms"] - t_ms) <= SAME_MS)]
    return str(on[0]["stack"] or "") if len(on) else ""


def _waiting(
    facts: Facts, stall: Stall, s: np.void, a: float, b: float, late: dict
) -> Iterator[Piece]:
    name = facts.name
    reason, stack = str(s["reason"]), str(s["stack"] or "")
    since = late.get((stall.g, float(s["end_ms"])))
    if since is not None and b >= float(s["end_ms"]) and reason in NETWORK_REASONS:
        a = max(a, since)
        yield Piece(
            "late_network",
            b - a,
            stall,
            (),
            f"{name(stall.g)} waited on the network from {float(s['start_ms']):.3f} ms; no P "
            f"looked for work after {since:.3f} ms (every P ran goroutines back to back), and "
            f"sysmon's poll readied it at {b:.3f} ms: up to {b - a:.1f} ms late",
        )
        return
    if since is not None and b >= float(s["end_ms"]):
        yield from _late_timer(facts, stall, s, max(a, since), b)
        return
    if reason in TIMER_REASONS:
        return
    cause = wait_cause(reason, stack)
    if cause is None:
        return
    # whoever readied it was running on the P the wake happened on (an Unlock, a send)
    on = int(s["woken_on"])
    runner = _running_at(facts, on, float(s["end_ms"])) if on >= 0 else None
    waker = runner if s["woken_by"] else None
    released = (
        f" until {name(waker)} released it ({str(s['woken_by']).split(';')[-1]})"
        if waker is not None
        else ""
    )
    handed = 0.0
    if runner is not None and len(facts.handoffs):
        # the goroutine that ran where the wait ended first waited for that P's trip to or
        # from a locked thread (a model run does not name its waker: the runner stands in)
        mine = waited_through(facts.handoffs, runner, a, b)
        for h in mine[mine["p"] == on]:
            lo, hi = max(a, float(h["start_ms"])), min(b, float(h["end_ms"]))
            handed += hi - lo
            yield Piece("locked_thread", hi - lo, stall, (int(h["locked"]),), "", (h, runner))
    if b - a - handed <= 0:
        return
    yield Piece(
        cause,
        b - a - handed,
        stall,
        (waker,) if waker is not None else (),
        f"{name(stall.g)} blocked ({reason}) at {stack.split(';')[-1] if stack else '?'} "
        f"from {a:.3f} to {b:.3f} ms{released}",
    )


def _late_timer(facts: Facts, stall: Stall, s: np.void, a: float, b: float) -> Iterator[Piece]:
    """A late wake from ``a`` (where the timer could first have fired) to ``b``: the time its P
    sat in another goroutine's system call (or cgo call) is that call's; the rest is the run
    that held the P without a scheduling point (late_timer, or the GC's when a mark worker or
    an assist held it)."""
    name = facts.name
    reason = str(s["reason"])
    p = int(s["woken_on"])
    held = 0.0
    sy = facts.syscalls
    for call in overlapping(sy, a, b):
        if call["p"] != p or call["g"] == stall.g:
            continue
        lo, hi = max(a, float(call["start_ms"])), min(b, float(call["end_ms"]))
        g = int(call["g"])
        stack = _call_stack(facts, g, float(call["start_ms"]))
        held += hi - lo
        yield Piece(
            call_kind(stack),
            hi - lo,
            stall,
            (g,),
            f"{name(stall.g)} waited on a timer ({reason}) from {float(s['start_ms']):.3f} ms "
            f"on P{p}, which {name(g)} held in a "
            f"{'cgo' if call_kind(stack) == 'cgo' else 'system'} call "
            f"({stack.split(';')[-1] or '?'}) from {lo:.3f} to {hi:.3f} ms: a P in a call runs "
            "no timers until the call returns or sysmon's retake hands the P off (retake, "
            f"proc.go); woken at {b:.3f} ms",
        )
    if b - a - held <= 0:
        return
    holder = _holder(facts, s)
    # a GC mark worker that held the P, or a goroutine that spent the time assisting the
    # GC's marking (gcAssistAlloc), is the GC's doing, not a program's hog
    cause, whose = "late_timer", ""
    if holder is not None and facts.names.get(holder, "").startswith(GC_WORKER):
        cause, whose = "gc_workers", " (a GC mark worker: the GC's, not the program's)"
    elif holder is not None and (assisting := _assisting_ms(facts, holder, a, b)) > 0.5 * (b - a):
        cause = "gc_assist"
        whose = f" ({assisting:.1f} ms of it assisting the GC's marking, gcAssistAlloc)"
    yield Piece(
        cause,
        b - a - held,
        stall,
        (holder,) if holder is not None else (),
        f"{name(stall.g)} waited on a timer ({reason}) from {float(s['start_ms']):.3f} ms; "
        f"it fired on P{p}, which "
        + (f"ran {name(holder)} " if holder is not None else "ran one goroutine ")
        + f"without a scheduling point from {a:.3f} ms{whose}; woken at {b:.3f} ms, up to "
        f"{b - a:.1f} ms late"
        + (f" ({held:.1f} ms of it the P sat in a call)" if held > 0 else ""),
    )


def _running_at(facts: Facts, p: int, t_ms: float) -> int | None:
    """The goroutine that was running on P ``p`` at ``t_ms`` (None: none was)."""
    on = overlapping(facts.runs, t_ms - SAME_MS, t_ms + SAME_MS)
    on = on[(on["p"] == p) & (on["start_ms"] <= t_ms) & (on["end_ms"] >= t_ms)]
    return int(on[-1]["g"]) if len(on) else None


def _assisting_ms(facts: Facts, g: int, a: float, b: float) -> float:
    """How long goroutine ``g`` was assisting the GC's marking within ``[a, b]``."""
    mine = facts.assists[facts.assists["g"] == g]
    lo, hi = np.maximum(mine["start_ms"], a), np.minimum(mine["end_ms"], b)
    return float(np.sum(np.clip(hi - lo, 0.0, None)))


def _holder(facts: Facts, sleep: np.void) -> int | None:
    """The goroutine whose run on the sleeper's P ended just before the wake."""
    runs = facts.runs
    wake = float(sleep["end_ms"])
    on_p = runs[
        (runs["p"] == sleep["woken_on"]) & (runs["end_ms"] <= wake) & (runs["g"] != sleep["g"])
    ]
    return int(on_p[np.argmax(on_p["end_ms"])]["g"]) if len(on_p) else None


def _assists(facts: Facts, stall: Stall, a: float, b: float) -> Iterator[Piece]:
    mine = facts.assists[facts.assists["g"] == stall.g]
    for x in mine:
        lo, hi = max(a, float(x["start_ms"])), min(b, float(x["end_ms"]))
        if hi > lo:
            yield Piece(
                "gc_assist",
                hi - lo,
                stall,
                (stall.g,),
                f"{facts.name(stall.g)} assisted the GC's marking from {lo:.3f} to {hi:.3f} ms "
                "(gcAssistAlloc: it allocated while a cycle ran)",
            )
