"""Where the stalls are: the windows of time a diagnosis explains.

A program that marks its own units of work (``runtime/trace`` regions: one per frame, one per
request) says where to look: a region is a stall when, inside it, the goroutine waited for a P,
a lock or a late timer for ``wait_ms`` or more (the doctor explains every region and keeps
those), or ran past a budget the caller gives. Comparing a region with the others of its name
would miss the case that matters most: every frame late. A program that marks nothing still
shows four kinds in its trace:

* **a long scheduling wait**: a goroutine runnable for ``wait_ms`` or more before a P ran it
  (findRunnable did not reach it: src/runtime/proc.go);
* **a long lock wait**: ``wait_ms`` or more parked on a sync.Mutex, RWMutex or Cond
  (semacquire, src/runtime/sema.go);
* **a late wake**: a goroutine asleep in ``time.Sleep``, or on a timer's channel (a Ticker, a
  ``time.After``: a receive that no goroutine ended, so a timer's send did), whose timer sat in
  the heap of a P that one goroutine held for ``late_ms`` or more without passing through the
  scheduler (running, or in a system call or cgo call that kept the P: entersyscall leaves the
  P to the call until it returns or sysmon's retake hands it off), and that woke only when
  that hold ended. A P runs its timers when it passes through the scheduler
  ((*timers).check from schedule -> findRunnable, proc.go), and another P steals them only when
  it has nothing to run (stealWork), so while every P is busy a timer waits for its own P.
  The trace does not record the deadline; the window starts where the timer could first have
  fired (the sleep's start, or the start of the hold if later: the P checked its timers then),
  so its length bounds the lateness from above;
* **thread hand-offs**: a goroutine locked to its thread (:mod:`labkit.stalls.threads`) whose
  P's trips to and from that thread add up to ``wait_ms`` or more between two of its own long
  waits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.stalls.facts import NETWORK_REASONS, SYSTEM_PREFIXES, TIMER_REASONS, Facts

#: A wake counts as caused by a run's end when it follows it within this many ms (the trace's
#: clock: the P went from the run to schedule() and readied the sleeper in microseconds).
WAKE_AFTER_RUN_MS = 0.1


@dataclass(frozen=True)
class Stall:
    """One window: ``g`` stalled from ``start_ms`` to ``end_ms``; ``kind`` is ``region``,
    ``sched_wait``, ``blocked``, ``late_wake`` or ``handoffs``; ``label`` says which (a
    region's name, the wait reason)."""

    g: int
    start_ms: float
    end_ms: float
    kind: str
    label: str

    @property
    def ms(self) -> float:
        return self.end_ms - self.start_ms


def is_system(facts: Facts, g: int) -> bool:
    return facts.names.get(int(g), "").startswith(SYSTEM_PREFIXES)


def regions(facts: Facts) -> list[Stall]:
    """Every region of the program as a candidate window (the doctor keeps those in which a
    stall explains ``wait_ms`` or more, or that ran past the budget it was given)."""
    return [
        Stall(int(r["g"]), float(r["start_ms"]), float(r["end_ms"]), "region", str(r["name"]))
        for r in facts.regions
    ]


def wait_stalls(facts: Facts, wait_ms: float) -> list[Stall]:
    """Runnable stretches of the program's goroutines of ``wait_ms`` or more."""
    st = facts.stretches
    long = st[(st["state"] == "runnable") & (st["end_ms"] - st["start_ms"] >= wait_ms)]
    return [
        Stall(int(s["g"]), float(s["start_ms"]), float(s["end_ms"]), "sched_wait", s["reason"])
        for s in long
        if not is_system(facts, s["g"])
    ]


def blocked_stalls(facts: Facts, wait_ms: float) -> list[Stall]:
    """Waits of ``wait_ms`` or more on a sync.Mutex, RWMutex or Cond: contention, never the
    program's idea of idle (a worker parked on an empty channel is idle, so channel waits
    count only inside a region)."""
    from labkit.stalls.causes import wait_cause

    st = facts.stretches
    long = st[(st["state"] == "waiting") & (st["end_ms"] - st["start_ms"] >= wait_ms)]
    return [
        Stall(int(s["g"]), float(s["start_ms"]), float(s["end_ms"]), "blocked", str(s["reason"]))
        for s in long
        if not is_system(facts, s["g"])
        and wait_cause(str(s["reason"]), str(s["stack"] or "")) in ("mutex", "cond")
    ]


def late_wakes(facts: Facts, late_ms: float) -> list[tuple[Stall, np.void]]:
    """Sleeps woken by the end of a run, or of a system call that kept the P, on the sleeper's
    P, the P having been held by one goroutine for ``late_ms`` or more before (see the module
    docstring), each with the last run that held the P (or the call, with no run after it)."""
    st = facts.stretches
    timer_channel = np.isin(st["reason"], ("chan receive", "select")) & (st["woken_by"] == "")
    sleeps = st[(st["state"] == "waiting") & (np.isin(st["reason"], TIMER_REASONS) | timer_channel)]
    out = []
    for s in sleeps:
        if is_system(facts, s["g"]) or s["end_ms"] >= facts.end_ms:
            continue
        wake = float(s["end_ms"])
        held = _held(facts, int(s["woken_on"]), wake, int(s["g"]))
        if held is None:
            continue
        since = max(float(s["start_ms"]), held[0])
        if wake - since >= late_ms:
            out.append((Stall(int(s["g"]), since, wake, "late_wake", str(s["reason"])), held[1]))
    return out


#: Two events this close (ms) are one moment: a run ends and its system call begins, or a call
#: returns and the run goes on, on the same event.
SAME_MS = 0.001


def _held(facts: Facts, p: int, wake: float, sleeper: int) -> tuple[float, np.void] | None:
    """Whether P ``p`` was held by one goroutine until just before ``wake`` (a run, or a system
    call that kept the P, ended at most WAKE_AFTER_RUN_MS before it), and if so since when:
    the start of that goroutine's run that last passed through the scheduler. A run that began
    as its system call returned kept the P through the call (entersyscall leaves the P to the
    call and exitsyscall takes it back when nobody took it: src/runtime/proc.go:4776, 4922; a
    cgo call enters the same way, cgocall in cgocall.go:134), and so did the run that entered
    it; a call the P was taken from (sysmon's retake, proc.go:6681, then handoffp) ends the
    hold where it was taken."""
    runs, calls = facts.runs, facts.syscalls
    on_p = runs[
        (runs["p"] == p)
        & (runs["end_ms"] <= wake)
        & (runs["end_ms"] >= wake - WAKE_AFTER_RUN_MS)
        & (runs["g"] != sleeper)
    ]
    if len(on_p):
        last = on_p[-1]
    else:
        held = calls[
            (calls["p"] == p)
            & (calls["end_ms"] <= wake)
            & (calls["end_ms"] >= wake - WAKE_AFTER_RUN_MS)
            & (calls["g"] != sleeper)
        ]
        if not len(held):
            return None
        last = held[-1]
    g, start = int(last["g"]), float(last["start_ms"])
    calls = calls[(calls["g"] == g) & (calls["p"] == p)]
    if not len(calls):
        return start, last
    mine = runs[(runs["g"] == g) & (runs["p"] == p)]
    while True:
        # the call this run (or this call) came out of, and the run that entered that call
        call = calls[np.abs(calls["end_ms"] - start) <= SAME_MS]
        if not len(call) or float(call[0]["start_ms"]) >= start:
            return start, last
        start = float(call[0]["start_ms"])
        entered = mine[np.abs(mine["end_ms"] - start) <= SAME_MS]
        if len(entered):
            start = float(entered[0]["start_ms"])


#: A P between two runs for longer than this was looking for work (findRunnable with nothing
#: queued polls the network; an idle M blocks in netpoll): ms.
IDLE_GAP_MS = 0.05


def _last_idle_ms(facts: Facts, before_ms: float) -> float:
    """The last moment before ``before_ms`` at which some P had nothing to run (a gap between
    its runs, or no run yet), so that it polled the network."""
    runs = facts.runs
    last = 0.0
    for p in np.unique(runs["p"]).tolist():
        mine = runs[(runs["p"] == p) & (runs["start_ms"] < before_ms)]
        if not len(mine):
            return before_ms  # a P that never ran was idle all along
        starts, ends = mine["start_ms"], mine["end_ms"]
        if ends[-1] < before_ms - IDLE_GAP_MS:
            return before_ms  # idle right up to the wake
        gaps = np.flatnonzero(starts[1:] - ends[:-1] > IDLE_GAP_MS)
        if len(gaps):
            last = max(last, float(starts[gaps[-1] + 1]))
    return last


def late_network(facts: Facts, late_ms: float) -> list[Stall]:
    """Network waits that sysmon's poll ended (readied with no P, by the one thread that runs
    no goroutines), no P having looked for work since the data can have arrived: an idle P blocks in netpoll and a P with nothing queued polls it
    (findRunnable), but a P that runs goroutine after goroutine never does, and sysmon polls
    only when nobody has for 10 ms (sysmon, src/runtime/proc.go). The trace does not say when
    the data arrived; after the last moment a P was idle bounds it, so the window's length
    bounds the lateness from above."""
    st = facts.stretches
    waits = st[
        (st["state"] == "waiting")
        & np.isin(st["reason"], NETWORK_REASONS)
        & (st["woken_by"] == "")
        & (st["woken_on"] == -1)  # readied with no P: by sysmon, or a poller M with no P
    ]
    out = []
    for s in waits:
        if is_system(facts, s["g"]) or s["end_ms"] >= facts.end_ms:
            continue
        if s["woken_m"] < 0 or int(s["woken_m"]) in facts.working_ms:
            continue  # a poller M (it ran goroutines before it blocked in netpoll): on time
        wake = float(s["end_ms"])
        since = max(float(s["start_ms"]), _last_idle_ms(facts, wake))
        if wake - since >= late_ms:
            out.append(Stall(int(s["g"]), since, wake, "late_wake", "network"))
    return out


def handoff_stalls(facts: Facts, wait_ms: float) -> list[Stall]:
    """Bursts of a locked goroutine's work that its thread's hand-offs held up for ``wait_ms``
    or more in all: each hand-off takes microseconds (a futex wake of the thread, startlockedm
    and stoplockedm, src/runtime/proc.go), so no single wait shows; a goroutine that trades
    with another many times between two of its own long waits (a sleep, a system call, a
    receive of ``wait_ms`` or more: those end a burst) pays them all."""
    out = []
    hs = facts.handoffs
    for g in sorted(facts.locked):
        mine = facts.of(g)
        if not len(mine):
            continue
        pause = (mine["state"] != "running") & (mine["end_ms"] - mine["start_ms"] >= wait_ms)
        pause &= mine["state"] != "runnable"  # a long wait for a P is a window of its own
        edges = np.flatnonzero(pause)
        starts = np.r_[float(mine["start_ms"][0]), mine["end_ms"][edges]]
        ends = np.r_[mine["start_ms"][edges], float(mine["end_ms"][-1])]
        held = hs[hs["locked"] == g]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            inside = _clipped_ms(held, a, b)
            if b > a and inside >= wait_ms:
                out.append(Stall(g, a, b, "handoffs", "thread hand-offs"))
    return out


def _clipped_ms(rows: np.ndarray, a: float, b: float) -> float:
    """How much of ``[a, b]`` the rows' intervals cover (counted once where they overlap: two
    Ps may be on their way at once)."""
    lo, hi = np.maximum(rows["start_ms"], a), np.minimum(rows["end_ms"], b)
    inside = hi > lo
    lo, hi = lo[inside], hi[inside]
    order = np.argsort(lo, kind="stable")
    covered, reach = 0.0, a
    for x, y in zip(lo[order].tolist(), hi[order].tolist(), strict=True):
        if y > reach:
            covered += y - max(x, reach)
            reach = y
    return covered


def merge(stalls: list[Stall]) -> list[Stall]:
    """One window per goroutine where windows of it overlap (the earlier kind and label)."""
    out: list[Stall] = []
    for s in sorted(stalls, key=lambda s: (s.g, s.start_ms, s.end_ms)):
        last = out[-1] if out else None
        if last is not None and last.g == s.g and s.start_ms <= last.end_ms:
            if s.end_ms > last.end_ms:
                out[-1] = Stall(last.g, last.start_ms, s.end_ms, last.kind, last.label)
        else:
            out.append(s)
    return sorted(out, key=lambda s: (s.start_ms, s.g))
