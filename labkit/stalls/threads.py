"""Goroutines locked to their thread (``runtime.LockOSThread``), read from where they ran, and
the hand-offs of a P to and from those threads.

A trace does not say that a goroutine is locked; it shows what locking does. A locked
goroutine runs only on its own thread (M), and that thread runs nothing else: when the
goroutine blocks, schedule() on its thread (src/runtime/proc.go:4150) calls stoplockedm
(proc.go:3265), which hands the P to another thread (handoffp -> startm, proc.go:3146, 3050)
and parks; when it is readied, the thread whose schedule() finds it hands its own P over
(startlockedm, proc.go:3293: "directly handoff current P to the locked m", a futex wake) and
stops. ``go tool trace -d=parsed`` shows each trip as a ProcStop
(``ProcID=0 Running->Idle``) on one M and a ProcStart of the P (``Idle->Running``) on the other
a few microseconds later, with nothing run on the P between. So a goroutine is read as locked
when

* all its runs (``MIN_RUNS`` or more) were on one M, which ran no other goroutine; and
* ``MIN_HANDOFFS`` or more times, and for at least half of the wakes another thread made, it
  ran on the very P it was readied on, but on another thread than the one that readied it: the
  P changed threads without running anything in between, which an unlocked goroutine's P does
  only when a system call hands it off.

A model run (labkit.models.scheduler) records which G is locked (dolockOSThread), so
``labkit.stalls.facts.from_result`` reads it there; the hand-offs are found the same way.

A hand-off is the part of a P's gap between two runs, one of them a locked goroutine's, during
which the goroutine that ran next was already runnable: it waited for nothing but a thread to
take the P, which the next run's thread then did (``ProcID=p Idle->Running`` on that M in
``go tool trace -d=parsed``). Before a locked goroutine's run, that is its own thread woken by
startlockedm; after one, its thread gave the P up (stoplockedm) and another thread had to be
woken for the goroutine it readied, which, with several Ps, a spinning thread may take from the
locked thread's P to an idle one (stealWork, proc.go:3843). Where a goroutine readied on one P ran on another,
the trace does not show when that P set off; the hand-off is then bounded from above by the
goroutine's wait on that P.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

#: A goroutine with fewer runs than this is not read as locked (too little evidence).
MIN_RUNS = 3
#: How many times it must have run on the P it was readied on, on another thread.
MIN_HANDOFFS = 2

#: One hand-off: P ``p`` without a thread from ``start_ms`` to ``end_ms`` while ``waiting``
#: was runnable, on its way to (``to``) or from (``from``) the thread of goroutine ``locked``;
#: the threads it left and reached.
HANDOFF = [
    ("p", "i4"),
    ("start_ms", "f8"),
    ("end_ms", "f8"),
    ("locked", "i8"),
    ("waiting", "i8"),
    ("direction", "U4"),
    ("m_from", "i8"),
    ("m_to", "i8"),
]


def locked_threads(
    stretches: np.ndarray, runs: np.ndarray, names: dict[int, str], system: tuple[str, ...]
) -> dict[int, int]:
    """The goroutines that behave as locked to a thread (see the module docstring): goroutine
    -> its thread. ``stretches`` are by goroutine, then time; ``system``: entry-function
    prefixes of the runtime's own goroutines, which are never the program's locked ones. A
    thread may have run other goroutines before its goroutine locked it, or after it exited.

    A goroutine that only ever trades with a locked one can look the same: its partner's
    thread cannot run it, so each time it is readied the P goes to another thread, and the
    runtime may pick the same idle thread every time (mget, proc.go:7264). So a wake by another such
    candidate is no evidence; a wake by a timer, the poller or any other goroutine is."""
    n = len(runs)
    if not n:
        return {}
    # on each thread, by time: a locked goroutine's runs are one unbroken stretch of its runs
    order = np.lexsort((runs["start_ms"], runs["m"]))
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    gs, inv, counts = np.unique(runs["g"], return_inverse=True, return_counts=True)
    first = np.full(len(gs), n, dtype=np.int64)
    last = np.full(len(gs), -1, dtype=np.int64)
    np.minimum.at(first, inv, pos)
    np.maximum.at(last, inv, pos)
    threads = runs["m"][order][first.clip(0, n - 1)]
    one = (last - first + 1 == counts) & (counts >= MIN_RUNS) & (threads >= 0)
    candidates = {
        g: m
        for g, m in zip(gs[one].tolist(), threads[one].tolist(), strict=True)
        if not names.get(g, "").startswith(system)
    }
    if not candidates:
        return {}
    running = _runner(runs)
    # each goroutine's stretches and runs by binary search, not a scan per goroutine (a trace
    # may have thousands of candidates: a database driver's goroutine per row)
    stretch_gs = np.ascontiguousarray(stretches["g"])
    by_g = np.argsort(runs["g"], kind="stable")  # stable: each goroutine's runs in table order
    run_gs = runs["g"][by_g]
    out = {}
    for g, m in candidates.items():
        lo, hi = np.searchsorted(stretch_gs, [g, g + 1])
        mine = stretches[lo:hi]
        first_run, end_run = np.searchsorted(run_gs, [g, g + 1])
        handed, wakes = _handed_runs(mine, runs[by_g[first_run:end_run]], m, running, candidates)
        if handed >= MIN_HANDOFFS and 2 * handed >= wakes:
            out[g] = m
    return out


def _runner(runs: np.ndarray) -> Callable[[int, float], int | None]:
    """``running(p, t)``: the goroutine whose run on P ``p`` covers ``t_ms`` (None: none)."""
    by_p = {}
    for p in np.unique(runs["p"]).tolist():
        mine = runs[runs["p"] == p]
        mine = mine[np.argsort(mine["start_ms"], kind="stable")]
        by_p[p] = tuple(np.ascontiguousarray(mine[c]) for c in ("start_ms", "end_ms", "g"))

    def running(p: int, t: float) -> int | None:
        if p not in by_p:
            return None
        starts, ends, gs = by_p[p]
        k = int(np.searchsorted(starts, t, side="right")) - 1
        return int(gs[k]) if k >= 0 and ends[k] >= t else None

    return running


def _handed_runs(
    mine: np.ndarray,
    runs: np.ndarray,
    m: int,
    running: Callable[[int, float], int | None],
    candidates: dict[int, int],
) -> tuple[int, int]:
    """Of a goroutine's runs after a wake by another thread (``mine``: its stretches, in time
    order; ``runs``: its runs, all on thread ``m``), leaving out wakes by another candidate
    (``running(p, t)``: who ran on P p at t): how many ran on the P of the wake, and how many
    such wakes there were."""
    if len(mine) < 3:
        return 0, 0
    # a wait, then runnable, then a run, the wait ended by another thread: found for all the
    # goroutine's stretches at once, then each looked at
    state, woken_m = mine["state"], mine["woken_m"]
    trips = np.flatnonzero(
        (state[:-2] == "waiting")
        & (state[1:-1] == "runnable")
        & (state[2:] == "running")
        & (woken_m[:-2] >= 0)
        & (woken_m[:-2] != m)
    )
    if not len(trips):
        return 0, 0
    starts = {round(float(t), 9): int(p) for t, p in zip(runs["start_ms"], runs["p"], strict=True)}
    g = int(mine["g"][0])
    handed = wakes = 0
    for k in trips.tolist():
        wait, run = mine[k], mine[k + 2]
        if wait["woken_by"]:  # readied by a goroutine: the one running where it happened
            waker = running(int(wait["woken_on"]), float(wait["end_ms"]))
            if waker is not None and waker != g and waker in candidates:
                continue
        wakes += 1
        if starts.get(round(float(run["start_ms"]), 9)) == int(wait["woken_on"]):
            handed += 1
    return handed, wakes


def handoffs(stretches: np.ndarray, runs: np.ndarray, locked: dict[int, int]) -> np.ndarray:
    """Every hand-off of a P to or from a locked goroutine's thread (HANDOFF rows, by the
    goroutine that waited, then time): on each P, each gap between two runs one of which is a locked goroutine's, from
    when the next goroutine was runnable (or the gap began, if later) to its run."""
    if not locked or not len(runs):
        return np.zeros(0, dtype=HANDOFF)
    by_p = runs[np.lexsort((runs["start_ms"], runs["p"]))]
    owners = np.array(sorted(locked), dtype=np.int64)
    before, after = by_p[:-1], by_p[1:]
    pick = (before["p"] == after["p"]) & (
        np.isin(after["g"], owners) | np.isin(before["g"], owners)
    )
    runnable = stretches[
        (stretches["state"] == "runnable") & np.isin(stretches["g"], after["g"][pick])
    ]
    since = {
        (int(g), round(float(e), 9)): float(s)
        for g, s, e in zip(runnable["g"], runnable["start_ms"], runnable["end_ms"], strict=True)
    }
    rows = []
    for b, a in zip(before[pick], after[pick], strict=True):
        g0, g1 = int(b["g"]), int(a["g"])
        direction, owner = ("to", g1) if g1 in locked else ("from", g0)
        ready = since.get((g1, round(float(a["start_ms"]), 9)))
        if ready is None:
            continue  # it did not wait runnable: the P had nothing to hand over
        start, end = max(float(b["end_ms"]), ready), float(a["start_ms"])
        if end > start:
            rows.append((int(a["p"]), start, end, owner, g1, direction, b["m"], a["m"]))
    out = np.zeros(len(rows), dtype=HANDOFF)
    if rows:
        for (name, _), col in zip(HANDOFF, zip(*rows, strict=True), strict=True):
            out[name] = col
    return out[np.lexsort((out["start_ms"], out["waiting"]))]


def waited_through(rows: np.ndarray, g: int, a: float, b: float) -> np.ndarray:
    """The hand-offs goroutine ``g`` waited through that overlap ``[a, b]``: ``rows`` as
    ``handoffs`` returns them (by the goroutine that waited, then time; one goroutine's do not
    overlap, each ending where it ran)."""
    index = _index(rows)
    lo, hi = np.searchsorted(index["waiting"], [g, g + 1])
    first = lo + np.searchsorted(index["end_ms"][lo:hi], a, side="right")
    last = lo + np.searchsorted(index["start_ms"][lo:hi], b, side="left")
    return rows[first:last]


def overlapping(rows: np.ndarray, a: float, b: float) -> np.ndarray:
    """The rows (with ``start_ms`` and ``end_ms``, in any order) that overlap ``[a, b]``, in
    start order: binary searches, not a scan (a diagnosis asks this once per stretch, and a
    trace has millions). Each class of rows by length (see ``_length_classes``) is searched
    for the starts that can reach ``a``; the few candidates are then checked one by one."""
    index = _index(rows)
    found = []
    for starts, positions, reach in index["classes"]:
        lo = starts.searchsorted(a - reach, side="left")
        hi = starts.searchsorted(b, side="left")
        if hi > lo:
            found.append(positions[lo:hi])
    if not found:
        return rows[index["order"][:0]]
    near = found[0] if len(found) == 1 else np.concatenate(found)
    # the rows of [a - longest, b) that end after a: the one longest row bounds how far back a
    # start can reach (the classes only narrow where to look); then in start order
    near = near[(index["by_start"][near] >= a - index["longest"]) & (index["ends"][near] > a)]
    if len(found) > 1:
        near.sort()
    return rows[index["order"][near]]


#: How many rows a search in ``overlapping`` may look at, per class of rows, beyond those that
#: overlap: a class holds rows short enough that the starts within its longest row's length
#: of a moment are about this many.
SCAN_ROWS = 256
#: Added to a class's longest row (ms): the rounding of ``end - start`` cannot hide a row.
REACH_MARGIN_MS = 1e-6


def _length_classes(
    by_start: np.ndarray, lengths: np.ndarray, longest: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """The rows (positions in start order, with their ``lengths``) in classes by length, the
    shortest first, each as (its starts, its positions, how far back a start can reach): a
    class takes rows while its count times its longest row stays within SCAN_ROWS rows' worth
    of the table's span, so a search looks at few rows that end before the moment asked, where
    one long row would otherwise make every search look back its whole length."""
    n = len(lengths)
    span = max(float(by_start[-1] - by_start[0]), longest, 1e-9) if n else 1.0
    by_length = np.argsort(lengths, kind="stable")
    ordered = np.maximum(lengths[by_length], 0.0)
    limit = SCAN_ROWS * span
    classes = []
    i = 0
    while i < n:
        # the most rows from the i-th shortest on whose count times longest fits (that product
        # grows with each row taken, so a binary search finds where it stops fitting)
        lo, hi = i + 1, n
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if (mid - i) * float(ordered[mid - 1]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        j = lo
        positions = np.sort(by_length[i:j])
        classes.append((by_start[positions], positions, float(ordered[j - 1]) + REACH_MARGIN_MS))
        i = j
    return classes


#: Per table (by identity, while it lives) and kind: what was built from it, for the searches
#: above and for labkit.stalls.facts.Facts.of.
_INDEXES: dict[tuple[int, str], tuple[weakref.ref, Any]] = {}


def table_index(rows: np.ndarray, kind: str, build: Callable[[np.ndarray], Any]) -> Any:
    """``build(rows)``, built once per table while it lives: a table does not change (a
    diagnosis's tables are its own), so neither does what is built from it."""
    hit = _INDEXES.get((id(rows), kind))
    if hit is not None and hit[0]() is rows:
        return hit[1]
    index = build(rows)
    if len(_INDEXES) > 64:  # tables come and go with their diagnoses
        _INDEXES.clear()
    _INDEXES[id(rows), kind] = (weakref.ref(rows), index)
    return index


def _index(rows: np.ndarray) -> dict[str, Any]:
    return table_index(rows, "intervals", _intervals)


def _intervals(rows: np.ndarray) -> dict[str, Any]:
    """A table's columns as contiguous arrays, its start order, its longest row and its
    classes by length."""
    order = np.argsort(rows["start_ms"], kind="stable")
    index = {name: np.ascontiguousarray(rows[name]) for name in rows.dtype.names}
    index["order"] = order
    index["by_start"] = index["start_ms"][order]
    index["ends"] = index["end_ms"][order]
    lengths = index["ends"] - index["by_start"]
    index["longest"] = float(np.max(lengths)) if len(rows) else 0.0
    index["classes"] = _length_classes(index["by_start"], lengths, index["longest"])
    return index
