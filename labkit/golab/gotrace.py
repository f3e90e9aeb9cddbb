"""Read an execution trace (runtime/trace) through ``go tool trace -d=parsed``.

The retake_keep program traces its blocking system calls; this module turns the tool's text dump
into the one figure the experiment reports: how long after a goroutine entered a system call its
P was taken by another thread (sysmon's retake -> takeP, which the tracer records as a ProcSteal:
``trace.ProcSteal`` in ``syscallingThread.releaseP``, src/runtime/proc.go, shown by the tool as
the P's ``Running->Idle`` transition on another M).

The dump has one event a line, ``M=<m> P=<p> G=<g> <Kind> Time=<ns> ...``, with stacks on indented
lines after it (ignored here). The lines used:

    M=7 P=0 G=6 Log Time=... Task=0 Category="retake_keep" Message="enter"
    M=7 P=0 G=6 StateTransition Time=... GoID=6 Running->Syscall Reason=""
    M=3 P=-1 G=-1 StateTransition Time=... ProcID=0 Running->Idle Reason=""
    M=7 P=0 G=6 StateTransition Time=... GoID=6 Syscall->Runnable Reason=""

Beside each call it reports the lead-in: how long before it another goroutine last came back
from a system call (in retake_keep, main's return from its own, which wakes sysmon).

The prodcons program traces one window of a consumer that empties a buffered channel and parks;
``parked_receives`` follows each of its parks to the send that readied it, the thread that ran
it again and the moment the thread that parked it had a P again:

    M=5 P=1 G=18 StateTransition Time=... GoID=18 Running->Waiting Reason="chan receive"
    M=3 P=0 G=1 StateTransition Time=... GoID=18 Waiting->Runnable Reason=""
    M=5 P=-1 G=-1 StateTransition Time=... ProcID=1 Idle->Running Reason=""
    M=5 P=1 G=-1 StateTransition Time=... GoID=18 Runnable->Running Reason=""

The handoff_churn program traces one window of two goroutines that take turns over an
unbuffered channel on two Ps; ``proc_churn`` counts the Ps' churn in it (or in any trace: pass
no category): the ``ProcID=<p> Idle->Running`` lines (a thread took an idle P), the stretches
from there to ``Running->Idle`` with no goroutine run, and goroutines that ran on another P than
the last time.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import median
from typing import Any

from labkit.golab.errors import GoRunError

_EVENT = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) (\w+) Time=(\d+)(.*)$")
_GO_TRANSITION = re.compile(r"GoID=(\d+) (\w+)->(\w+)")
_PROC_TRANSITION = re.compile(r"ProcID=(\d+) (\w+)->(\w+)")
_LOG = re.compile(r'Category="([^"]*)" Message="([^"]*)"')

#: ``go tool trace -d=parsed`` reads a few MB of trace in well under a second.
TOOL_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Event:
    """One event line: the thread, P and G it was emitted on, its kind, time (ns) and text."""

    m: int
    p: int
    g: int
    kind: str
    time_ns: int
    rest: str


@dataclass(frozen=True)
class BlockedCall:
    """One logged system call: when it began and ended, the P it held, and when (if) that P was
    taken by another thread before the call returned."""

    goid: int
    p: int
    enter_ns: int
    exit_ns: int | None
    steal_ns: int | None
    #: When another goroutine last came back from a system call before this one began (its
    #: Syscall->Runnable or Syscall->Running), if any: in retake_keep, main's return from its
    #: own call, which wakes sysmon (exitsyscall -> notewakeup(&sched.sysmonnote)).
    prior_exit_ns: int | None = None

    @property
    def kept_ms(self) -> float | None:
        """ms from entering the call until its P was taken; None if the P was never taken."""
        return None if self.steal_ns is None else (self.steal_ns - self.enter_ns) / 1e6

    @property
    def call_ms(self) -> float | None:
        return None if self.exit_ns is None else (self.exit_ns - self.enter_ns) / 1e6

    @property
    def lead_ms(self) -> float | None:
        """ms from another goroutine's last return from a system call until this call began
        (None if none came before it)."""
        return None if self.prior_exit_ns is None else (self.enter_ns - self.prior_exit_ns) / 1e6


@dataclass(frozen=True)
class ParkedReceive:
    """One park of a goroutine in a channel receive (gopark in chanrecv, src/runtime/chan.go:667)
    and what followed: the send that readied it (goready -> ready, on the sender's thread), the
    thread that parked it getting a P again, and the goroutine running again."""

    goid: int
    m: int
    park_ns: int
    ready_ns: int | None
    ready_m: int | None
    run_ns: int | None
    run_m: int | None
    p_back_ns: int | None

    def _us(self, t: int | None) -> float | None:
        return None if t is None else (t - self.park_ns) / 1e3

    @property
    def ready_us(self) -> float | None:
        """us from the park until a send readied it."""
        return self._us(self.ready_ns)

    @property
    def run_us(self) -> float | None:
        """us from the park until it ran again."""
        return self._us(self.run_ns)

    @property
    def p_back_us(self) -> float | None:
        """us from the park until the thread that parked it held a P again."""
        return self._us(self.p_back_ns)


def parked_receives(events: list[Event], goid: int) -> list[ParkedReceive]:
    """Each time goroutine ``goid`` parked in a channel receive, followed until it ran again."""
    out = []
    for i, ev in enumerate(events):
        if ev.kind != "StateTransition" or ev.g != goid:
            continue
        gm = _GO_TRANSITION.search(ev.rest)
        if (
            gm
            and int(gm[1]) == goid
            and (gm[2], gm[3]) == ("Running", "Waiting")
            and 'Reason="chan receive"' in ev.rest
        ):
            out.append(_follow_park(events, i, goid))
    return out


def _follow_park(events: list[Event], start: int, goid: int) -> ParkedReceive:
    park = events[start]
    ready = run = back = None
    for ev in events[start + 1 :]:
        if ev.kind != "StateTransition":
            continue
        pm = _PROC_TRANSITION.search(ev.rest)
        if pm:
            if back is None and ev.m == park.m and (pm[2], pm[3]) == ("Idle", "Running"):
                back = ev
            continue
        gm = _GO_TRANSITION.search(ev.rest)
        if gm is None or int(gm[1]) != goid:
            continue
        if gm[3] == "Runnable" and ready is None:
            ready = ev
        elif gm[3] == "Running":
            run = ev
            break
    return ParkedReceive(
        goid,
        park.m,
        park.time_ns,
        None if ready is None else ready.time_ns,
        None if ready is None else ready.m,
        None if run is None else run.time_ns,
        None if run is None else run.m,
        None if back is None or (run is not None and back.time_ns > run.time_ns) else back.time_ns,
    )


@dataclass(frozen=True)
class ProcChurn:
    """What the Ps did between two user logs (go/handoff_churn's window): how often an idle P was
    started (a thread took it: startm's woken M, or one that re-checked the queues after
    dropping it, src/runtime/proc.go:3689-3714), how long each P was held without running a
    goroutine, how soon the thread that dropped a P took one again, and how often a
    goroutine ran on another P than the last time (all in the window)."""

    window_ns: int
    p_starts: int
    #: Each stretch a P was held (Idle->Running to Running->Idle) with no goroutine run in it, us.
    idle_holds_us: tuple[float, ...]
    #: Stretches a P was held that ran at least one goroutine.
    busy_holds: int
    #: From a thread's Running->Idle of a P to its next Idle->Running of one, us.
    regain_us: tuple[float, ...]
    goroutine_runs: int
    migrations: int


def proc_churn(events: list[Event], category: str | None = None) -> ProcChurn:
    """The Ps' churn between the user logs ``category``/"start" and ``category``/"end"
    (``trace.Log(ctx, category, "start")``), or over the whole trace when ``category`` is None
    (a trace of your own program); a GoRunError if the trace has no such window."""
    t0, t1 = _window(events, category)
    held: dict[int, tuple[int, int]] = {}  # P -> (since, goroutines run)
    dropped: dict[int, int] = {}  # M -> when it last made a P idle
    last_p: dict[int, int] = {}  # goroutine -> the P it last ran on
    p_starts = busy = runs = migrations = 0
    idle_us: list[float] = []
    regain_us: list[float] = []
    for ev in events:
        if ev.kind != "StateTransition":
            continue
        inside = t0 <= ev.time_ns <= t1
        pm = _PROC_TRANSITION.search(ev.rest)
        if pm:
            pid, edge = int(pm[1]), (pm[2], pm[3])
            if edge == ("Idle", "Running"):
                held[pid] = (ev.time_ns, 0)
                if inside:
                    p_starts += 1
                    if ev.m in dropped:
                        regain_us.append((ev.time_ns - dropped.pop(ev.m)) / 1e3)
            elif edge == ("Running", "Idle"):
                since, ran = held.pop(pid, (None, 0))
                dropped[ev.m] = ev.time_ns
                if since is not None and since >= t0 and inside:
                    if ran:
                        busy += 1
                    else:
                        idle_us.append((ev.time_ns - since) / 1e3)
            continue
        gm = _GO_TRANSITION.search(ev.rest)
        if gm is None or gm[3] != "Running" or ev.p < 0:
            continue
        goid = int(gm[1])
        if ev.p in held:
            since, ran = held[ev.p]
            held[ev.p] = (since, ran + 1)
        if inside:
            runs += 1
            migrations += goid in last_p and last_p[goid] != ev.p
        last_p[goid] = ev.p
    return ProcChurn(
        t1 - t0, p_starts, tuple(idle_us), busy, tuple(regain_us), runs, int(migrations)
    )


@dataclass(frozen=True)
class ThreadWakeups:
    """How the threads of idle Ps were woken in a trace (``thread_wakeups``): each wake-up's
    two sides, the woken thread's and the waker's."""

    #: (parked_us, wake_us) for each P start by a thread that had dropped a P: from the drop to
    #: the ready that woke it, and from that ready to the start.
    wakeups: tuple[tuple[float, float], ...]
    #: For each ready that found a P idle (its wakep started a thread), us from it to the
    #: readying thread's next event.
    waker_gaps_us: tuple[float, ...]
    #: The same gap after a ready that found no P idle (no wakep), median, us: what the waker's
    #: gaps are compared with.
    ready_gap_us: float


def thread_wakeups(events: list[Event], category: str | None = None) -> ThreadWakeups:
    """The wake-ups of idle Ps' threads in the ``category`` window (as ``proc_churn``; the whole
    trace when None). The trace has no wakep event, so a wake-up is read from what surrounds
    it: a thread drops its P (``ProcID=<p> Running->Idle``, stopm follows, src/runtime/
    proc.go:3007); the first goroutine another thread readies while a P is idle
    (``Waiting->Runnable``) calls wakep -> startm (proc.go:1151, 3227, 3050), which wakes the
    thread that parked last; that thread starts the P (``Idle->Running``). A P start by another
    thread in between voids the ready (it woke that thread). The waker's side: futexwakeup is a
    futex(2) system call on the readying thread (os_linux.go:85), so its next event comes later
    than after a ready that woke nobody."""
    t0, t1 = _window(events, category)
    moves = [e for e in events if e.kind == "StateTransition"]
    following: dict[int, int] = {}  # index in moves -> the same thread's next one
    last: dict[int, int] = {}
    for i in range(len(moves) - 1, -1, -1):
        if moves[i].m in last:
            following[i] = last[moves[i].m]
        last[moves[i].m] = i
    parked: dict[int, int] = {}  # thread -> when it dropped its P, until it starts one
    readied: dict[int, int] = {}  # thread in ``parked`` -> the ready that woke it
    idle: set[int] = set()
    fresh = False  # a P went idle and no ready has found it yet
    wakeups: list[tuple[float, float]] = []
    waker_gaps: list[float] = []
    plain_gaps: list[float] = []
    for i, ev in enumerate(moves):
        inside = t0 <= ev.time_ns <= t1
        pm = _PROC_TRANSITION.search(ev.rest)
        if pm:
            pid, edge = int(pm[1]), (pm[2], pm[3])
            if edge == ("Running", "Idle"):
                parked[ev.m] = ev.time_ns
                readied.pop(ev.m, None)
                idle.add(pid)
                fresh = True
            elif edge == ("Idle", "Running"):
                idle.discard(pid)
                drop, ready = parked.pop(ev.m, None), readied.pop(ev.m, None)
                readied.clear()  # whatever a ready would have woken, this start took
                if inside and drop is not None and ready is not None:
                    wakeups.append(((ready - drop) / 1e3, (ev.time_ns - ready) / 1e3))
            continue
        gm = _GO_TRANSITION.search(ev.rest)
        if gm is None or (gm[2], gm[3]) != ("Waiting", "Runnable") or ev.g <= 0:
            continue
        if idle:
            for m in parked.keys() - readied.keys() - {ev.m}:
                readied[m] = ev.time_ns
        if inside and i in following:
            gap = (moves[following[i]].time_ns - ev.time_ns) / 1e3
            if idle and fresh:
                waker_gaps.append(gap)
            elif not idle:
                plain_gaps.append(gap)
        fresh = fresh and not idle
    return ThreadWakeups(
        tuple(wakeups), tuple(waker_gaps), median(plain_gaps) if plain_gaps else float("nan")
    )


def _window(events: list[Event], category: str | None) -> tuple[int, int]:
    """The times of the ``category`` window's start and end logs, or the whole trace's first and
    last event when ``category`` is None; a GoRunError for a trace with no events."""
    if not events:
        raise GoRunError("the execution trace has no events")
    if category is None:
        return events[0].time_ns, events[-1].time_ns
    return _logged_window(events, category)


def _logged_window(events: list[Event], category: str) -> tuple[int, int]:
    """The times of the first ``category``/"start" and "end" user logs."""
    marks = {}
    for i, ev in enumerate(events):
        lm = _LOG.search(ev.rest) if ev.kind == "Log" else None
        if lm and lm[1] == category and lm[2] in ("start", "end"):
            marks.setdefault(lm[2], i)
    if "start" not in marks or "end" not in marks or marks["end"] < marks["start"]:
        raise GoRunError(f"the execution trace has no {category!r} window (start and end logs)")
    return events[marks["start"]].time_ns, events[marks["end"]].time_ns


def parse_events(text: str) -> list[Event]:
    """The event lines of a ``-d=parsed`` dump, in order (stack lines are skipped)."""
    out = []
    for line in text.splitlines():
        m = _EVENT.match(line)
        if m:
            out.append(Event(int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5]), m[6].strip()))
    return out


def blocked_calls(events: list[Event], category: str, message: str) -> list[BlockedCall]:
    """Each system call entered right after a user log ``category``/``message`` by the same
    goroutine, with the time its P was taken by another M (None if it never was)."""
    calls = []
    pending: dict[int, int] = {}  # goid -> index of the log event
    exits: dict[int, int] = {}  # goid -> time of its last return from a system call
    for i, ev in enumerate(events):
        if ev.kind == "Log":
            lm = _LOG.search(ev.rest)
            if lm and (lm[1], lm[2]) == (category, message):
                pending[ev.g] = i
            continue
        if ev.kind != "StateTransition":
            continue
        gm = _GO_TRANSITION.search(ev.rest)
        if gm is None:
            continue
        goid = int(gm[1])
        if gm[2] == "Syscall":
            exits[goid] = ev.time_ns
        elif goid in pending and (gm[2], gm[3]) == ("Running", "Syscall"):
            del pending[goid]
            prior = max((t for g, t in exits.items() if g != goid), default=None)
            calls.append(replace(_follow(events, i, goid), prior_exit_ns=prior))
    return calls


def _follow(events: list[Event], start: int, goid: int) -> BlockedCall:
    """From the Running->Syscall event at ``start``: the P's steal and the call's end."""
    enter = events[start]
    steal_ns = exit_ns = None
    for ev in events[start + 1 :]:
        if ev.kind != "StateTransition":
            continue
        pm = _PROC_TRANSITION.search(ev.rest)
        if (
            steal_ns is None
            and pm
            and int(pm[1]) == enter.p
            and (pm[2], pm[3]) == ("Running", "Idle")
            and ev.m != enter.m
        ):
            steal_ns = ev.time_ns
            continue
        gm = _GO_TRANSITION.search(ev.rest)
        if gm and int(gm[1]) == goid and gm[2] == "Syscall":
            exit_ns = ev.time_ns
            break
    return BlockedCall(goid, enter.p, enter.time_ns, exit_ns, steal_ns)


def parsed_dump(go: str, trace_file: Path, env: dict[str, str]) -> str:
    """``go tool trace -d=parsed trace_file``; GoRunError if the tool fails."""
    try:
        proc = subprocess.run(
            [go, "tool", "trace", "-d=parsed", str(trace_file)],
            env=env,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GoRunError(f"`go tool trace -d=parsed` failed: {exc}") from exc
    if proc.returncode != 0:
        raise GoRunError(f"`go tool trace -d=parsed` failed: {proc.stderr.strip()[-800:]}")
    return proc.stdout


def receive_parks(trace: bytes) -> list[ParkedReceive]:
    """The parks of the goroutine that parked most often in a channel receive, in a Go
    execution trace (the consumer, in go/prodcons's traced window), followed by
    ``parked_receives``. The dump is labkit.traces' own (the text ``go tool trace -d=parsed``
    prints), so no toolchain is needed."""
    from collections import Counter

    from labkit.traces import parsed_dump as dump_of

    events = parse_events(dump_of(trace))
    parks = Counter(
        ev.g
        for ev in events
        if ev.kind == "StateTransition" and 'Running->Waiting Reason="chan receive"' in ev.rest
    )
    if not parks:
        return []
    return parked_receives(events, parks.most_common(1)[0][0])


# ---- what the runner adds to a traced experiment's result (Experiment.trace_summary) ----------


def blocked_call_summary(out: dict[str, Any], name: str, dump: str) -> None:
    """retake_keep: for each logged blocking call, how long its P stayed with it (until another
    thread took it, or the whole call if none did), and its lead-in from another goroutine's
    return from a system call (BlockedCall.lead_ms)."""
    calls = blocked_calls(parse_events(dump), name, "enter")
    if not calls:
        raise GoRunError(f"{name}: the execution trace shows no logged system call")
    kept = [c.kept_ms if c.kept_ms is not None else c.call_ms for c in calls]
    if any(k is None for k in kept):
        raise GoRunError(f"{name}: a traced system call has no end in the trace")
    out["kept_ms"] = median(kept)
    out["kept_ms_runs"] = kept
    out["taken_runs"] = [c.kept_ms is not None for c in calls]
    out["call_ms_runs"] = [c.call_ms for c in calls]
    leads = [c.lead_ms for c in calls]
    if None not in leads:  # from main's return from its own call (its first wakes sysmon)
        out["lead_ms"] = median(leads)
        out["lead_ms_runs"] = leads


#: A goroutine parking on a channel (gopark's reason, waitReasonChanSend / ChanReceive,
#: src/runtime/runtime2.go), as the trace names it.
_CHAN_PARK = re.compile(r'GoID=\d+ Running->Waiting Reason="chan (?:send|receive)"')


def chan_parks(events: list[Event]) -> int:
    """How many times a goroutine parked on a channel (a send that found no receiver and no room,
    a receive that found nothing) over the whole trace."""
    return sum(1 for ev in events if ev.kind == "StateTransition" and _CHAN_PARK.search(ev.rest))


def churn_summary(out: dict[str, Any], name: str, dump: str) -> None:
    """handoff_churn: what its traced window shows of the Ps (``proc_churn``), per thousand
    items: P starts and goroutine migrations; and the stretches a P was held without running a
    goroutine (their count and median, us) and how soon a thread that dropped a P had one
    again (median, us)."""
    churn = proc_churn(parse_events(dump), name)
    per_kitem = 1000.0 / out["items"]
    values = {
        "p_starts_per_kitem": churn.p_starts * per_kitem,
        "migrations_per_kitem": churn.migrations * per_kitem,
        "idle_holds_per_kitem": len(churn.idle_holds_us) * per_kitem,
        "idle_hold_us": median(churn.idle_holds_us) if churn.idle_holds_us else 0.0,
        "regain_us": median(churn.regain_us) if churn.regain_us else 0.0,
        "traced_item_ns": churn.window_ns / out["items"],
    }
    for key, value in values.items():  # one traced window a process: its runs are the processes
        out[key] = value
        out[f"{key}_runs"] = [value]
    out.update(wakeup_summary(parse_events(dump), name))


def wakeup_summary(events: list[Event], category: str | None) -> dict[str, Any]:
    """What ``thread_wakeups`` reads, as a result's lists (joined over processes when pooled):
    each wake-up's ``wakeup_parked_us_runs`` and ``wakeup_us_runs``, each waker's
    ``waker_gap_us_runs``, and ``ready_gap_us`` (labkit.golab.calibrate derives the OS layer's
    THREAD_REWAKE_QUANTILES_MS and FUTEX_WAKE_QUANTILES_MS from them)."""
    w = thread_wakeups(events, category)
    return {
        "wakeup_parked_us_runs": [round(parked, 3) for parked, _ in w.wakeups],
        "wakeup_us_runs": [round(wake, 3) for _, wake in w.wakeups],
        "waker_gap_us_runs": [round(gap, 3) for gap in w.waker_gaps_us],
        "ready_gap_us": round(w.ready_gap_us, 3),
        "ready_gap_us_runs": [round(w.ready_gap_us, 3)],
    }
