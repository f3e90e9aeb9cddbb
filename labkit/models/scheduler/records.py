"""What a run writes down for ``Result``: the state row, the event log, G and M stretches.

The state row
-------------
After every event that changed it, the run appends one *state row* (``note``): the counts of Gs per
status (columns RUNNABLE..SYSCALL), the global queue's length, the OS thread count, then one column
per P with its local queue's length (``P.runq_col``) and one with 1 if its runnext is taken
(``P.runnext_col``). ``Result.states``, ``.runq`` and ``.threads`` are its columns.

The row is kept up to date in place, so that recording it is one copy instead of a walk over every
queue (a walk costs more than the rest of an event). Who writes which columns, and nobody else:

- the status counts: ``set_status`` (casgstatus, src/runtime/proc.go:1290) and
  ``count_new_g`` (a G's birth), here;
- the thread count: ``add_threads``, here;
- the queue columns: the run-queue operations of ``runq.py``, the only code that moves a G into or
  out of a run queue.

The one exception is the hot path of a channel hand-off (#25 item 7): ``ready`` (runq.py) and
its copies in ``chansend`` / ``chanrecv`` (chan.py), ``park`` (goroutine.py), ``gogo`` and its
copy in ``on_sched`` (schedule.py), and ``on_sched``'s runnext path do set_status, runqget's
runnext case or m_state in line, each copy marked "in line" beside it and the same as the
function here; ``ready``'s docstring gives the time it saves. ``recount`` and the golden hashes
hold them to it.

``recount`` says what the row must be, computed from scratch; the property tests compare the two
after every event (``invariants.py``).

A G's history
-------------
``G.history`` (what ``Result.goroutine_dump`` reads) is flat: entries one after another, each
one of four shapes, told apart by its second item:

- ``t, HISTORY_FULL, status, reason, stack, locked``: written by ``count_new_g`` (a G's first
  entry) and by whatever changes g's stack or its locked flag (``begin_stretch``,
  ``lock_os_thread``, ``unlock_os_thread`` in goroutine.py);
- ``t, status`` (an int >= 0): a status change with no reason (``set_status``, ``flush_pending``);
- ``t, reason`` (a str): the G parked, WAITING for ``reason`` (``set_status``, ``park``);
- ``t_ready, HISTORY_HOP, t, reason``: a hand-off's three changes of one G, written by ``park``
  at once: RUNNABLE from ``t_ready`` (readied), RUNNING from ``t``, and at the same ``t``
  WAITING for ``reason`` (it ran and parked in one event, as a channel ping-pong's Gs do).

A short entry's (and a hop entry's) stack and locked flag are those of the entry before it: only
the writers of a full entry change them (``g.stack`` is set in ``begin_stretch`` alone,
``g.locked`` in ``lock_os_thread`` / ``unlock_os_thread``, and each writes a full entry when
``g.locked > 0`` changes); ``history_entries`` expands them, and the property tests check after
every event that a G's expanded history ends with the G as it is (``invariants.py``). A status
change is the commonest record of a ping-pong (three per event: ready, gogo, park); the short
form builds a 2-tuple instead of a 5-tuple and reads neither ``g.stack`` nor ``g.locked``: about
8 % of a 100,000-round ping-pong's CPU time (A/B medians of ``benchmarks/bench_sched.py
pingpong`` alternated with the old code, #25 item 7), and 3 list slots (24 bytes) fewer per
entry.

Pending entries
---------------
``ready`` and ``gogo`` (and their copies in line) do not write their short entries ``t,
RUNNABLE`` and ``t, RUNNING``: they keep ``t`` in ``g.ready_t`` / ``g.run_t``, and the G's next
history write puts them in first, in the order they happened (``flush_pending``). Every writer
of ``g.history`` does so: ``set_status``, ``begin_stretch``, ``lock_os_thread`` and
``unlock_os_thread`` flush them, and ``park`` writes them with its own entry in one extend (a
hop entry when the G ran from the instant it parks); ``Scheduler.close`` flushes what is left
before ``Result`` reads the histories. A G is readied, runs and parks in that order, so only a
runnable or running G has a pending entry, and the expanded history is the same entries in the
same order as when each was written at once. ``written_history`` is a history with its pending
entries after it: what the property tests expand and check after every event (``invariants.py``;
a pending entry left on a G that went on shows there as a history ending with the wrong status).

A hand-off's three history writes (the partner's ready, the G's gogo and park) are so one
list.extend of four items instead of three of two: the pending entries took a 100,000-round
ping-pong from 24,204 to 23,749 instructions per event (-1.9 %,
``benchmarks/instructions_sched.py``; CPU time 446 -> 432 ms, medians of 10 alternated rounds),
the hop entry (four items, not six) 131 more (#25 item 7, fourth pass; benchmarks/README.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.models.scheduler.state import (
    DEAD,
    HISTORY_FULL,
    HISTORY_HOP,
    M_DEAD,
    M_KIND_BY_STATE,
    M_RUN,
    RUNNABLE,
    RUNNING,
    STATUS_NAMES,
    SYSCALL,
    WAITING,
    G,
    M,
    P,
)

if TYPE_CHECKING:
    from labkit.models.scheduler.engine import Scheduler

# ---- the state row's layout (the one definition; Result reads its columns through these) --------

#: The status columns: one count per status a live G can have (RUNNABLE..SYSCALL).
ROW_STATUSES = STATUS_NAMES[: SYSCALL + 1]
ROW_GLOBAL = SYSCALL + 1
ROW_THREADS = ROW_GLOBAL + 1
#: The first per-P column: GOMAXPROCS local queue lengths, then GOMAXPROCS runnext flags.
ROW_RUNQ = ROW_THREADS + 1


def row_width(gomaxprocs: int) -> int:
    """The number of columns of a state row with ``gomaxprocs`` Ps."""
    return ROW_RUNQ + 2 * gomaxprocs


def p_columns(pid: int, gomaxprocs: int) -> tuple[int, int]:
    """P ``pid``'s columns in the state row: its local queue's length, its runnext flag."""
    return ROW_RUNQ + pid, ROW_RUNQ + gomaxprocs + pid


def recount(s: Scheduler) -> list[int]:
    """The state row computed from scratch: what the row kept in place must equal. The threads
    are the Ms that did not exit plus sysmon's (which never holds a P)."""
    row = [0] * row_width(s.gomaxprocs)
    for g in s.gs:
        if g.status != DEAD:
            row[g.status] += 1
    row[ROW_GLOBAL] = len(s.grunq)
    row[ROW_THREADS] = sum(m.state != M_DEAD for m in s.ms) + (1 if s.ms else 0)
    for p in s.ps:
        row[p.runq_col] = len(p.runq)
        row[p.runnext_col] = int(p.runnext is not None)
    return row


def history_entries(history: list) -> list[list]:
    """A G's flat history (see "A G's history" above) as entries ``[t_ms, status, reason,
    stack, locked]``."""
    out = []
    stack, locked = "", False
    i, n = 0, len(history)
    while i < n:
        t, code = history[i], history[i + 1]
        if code.__class__ is str:
            out.append([t, WAITING, code, stack, locked])
            i += 2
        elif code == HISTORY_FULL:
            status, reason, stack, locked = history[i + 2 : i + 6]
            out.append([t, status, reason, stack, locked])
            i += 6
        elif code == HISTORY_HOP:
            run_t, reason = history[i + 2], history[i + 3]
            out.append([t, RUNNABLE, "", stack, locked])
            out.append([run_t, RUNNING, "", stack, locked])
            out.append([run_t, WAITING, reason, stack, locked])
            i += 4
        else:
            out.append([t, code, "", stack, locked])
            i += 2
    return out


def flush_pending(g: G) -> None:
    """Write g's pending short entries into its history (see "Pending entries" above): ready's
    ``t, RUNNABLE``, then gogo's ``t, RUNNING`` (the order they happened in)."""
    ready_t, run_t = g.ready_t, g.run_t
    if ready_t is not None:
        g.history.extend((ready_t, RUNNABLE))
        g.ready_t = None
    if run_t is not None:
        g.history.extend((run_t, RUNNING))
        g.run_t = None


def written_history(g: G) -> list:
    """g's flat history as it will be written: ``g.history`` and its pending entries after it
    (``flush_pending`` without writing them)."""
    pending = [] if g.ready_t is None else [g.ready_t, RUNNABLE]
    if g.run_t is not None:
        pending += [g.run_t, RUNNING]
    return g.history + pending


class Records:
    """The recording part of the Scheduler (a mixin: the state is the Scheduler's slots)."""

    __slots__ = ()

    def set_status(self: Scheduler, g: G, status: int, t: float, reason: str = "") -> None:
        """casgstatus (src/runtime/proc.go:1290): g's new status, kept in the state row's counts
        and in g's history, after g's pending entries (see "Pending entries"). (Copied in line in
        ready, park and gogo and in their copies (chansend, chanrecv, on_sched), the hot path of
        a channel hand-off: a change here is a change there.)"""
        c = self.row
        old = g.status
        if old != DEAD:
            c[old] -= 1
        if status != DEAD:
            c[status] += 1
        g.status = status
        g.reason = reason
        if g.ready_t is not None:  # the pending entries go first (see "Pending entries")
            flush_pending(g)
        elif g.run_t is not None:  # (flush_pending's commonest case, in line: g stops running)
            g.history.extend((g.run_t, RUNNING))
            g.run_t = None
        if status == WAITING:  # a short entry (see "A G's history")
            g.history.extend((t, reason))
        elif not reason:
            g.history.extend((t, status))
        else:
            g.history.extend((t, HISTORY_FULL, status, reason, g.stack, g.locked > 0))
        self.dirty = True

    def count_new_g(self: Scheduler, g: G, t: float) -> None:
        """A G is born runnable (newproc1, src/runtime/proc.go:5352): counted, its history begun."""
        self.row[RUNNABLE] += 1
        self.dirty = True
        g.history.extend((t, HISTORY_FULL, RUNNABLE, "", g.stack, False))

    def add_threads(self: Scheduler, n: int) -> None:
        """The OS thread count changes by ``n`` (newm: +1; mexit: -1); the peak is kept."""
        threads = self.row[ROW_THREADS] + n
        self.row[ROW_THREADS] = threads
        self.dirty = True
        if threads > self.stats["threads_peak"]:
            self.stats["threads_peak"] = threads

    def note(self: Scheduler, t: float) -> None:
        """Append the state row at time t, unless it is the same as the last one (one row per
        time: a later row at the same time replaces it).

        The event loop does this after every event that marked the row ``dirty`` (in line:
        most events leave the row as it was); the row is kept up to date in place by every
        change, so recording it is one copy, compared with the last row before it is stored.
        """
        self.dirty = False
        if self.row != self.last_row:
            self.store_row(t)

    def store_row(self: Scheduler, t: float) -> None:
        """note's second half: the row, not the same as the last one, appended at t."""
        row = self.row
        if self.series_t and self.series_t[-1] == t:
            self.series_rows[-len(row) :] = row
        else:
            self.series_rows.extend(row)
            self.series_t.append(t)
        self.last_row = row.copy()

    def log(self: Scheduler, t: float, kind: str, p: P | None, g: G | None) -> None:
        """One row of the event log (Result.events): time, what happened, on which P, to which
        G (-1 and "" when there is none). (Copied in line in ready and park, the hot path.)"""
        self.events.extend((t, kind, -1 if p is None else p.id, "" if g is None else g.name))

    def end_segment(self: Scheduler, g: G, p: P, t: float) -> None:
        """Close g's stretch on p's M in the timeline (Result.segments). (Copied in line in
        park, the hot path.)"""
        if t > g.seg_start:
            self.segments.extend((p.id, g.name, g.seg_start, t, p.m.id, g.seg_stack))

    def m_state(self: Scheduler, m: M, t: float, state: int, g: G | None = None) -> None:
        """Close m's current thread-view stretch (Result.thread_segments) and open the next.
        (Copied in line for M_RUN in gogo, the hot path: a change here is a change there.)"""
        kind = M_KIND_BY_STATE[m.state]
        if kind is not None and t > m.seg_start:
            self.thread_segments.extend((m.id, m.seg_g, m.seg_start, t, kind))
        m.state = state
        m.seg_start = t
        m.seg_g = "" if g is None else g.name
        if state != M_RUN and (m.on_cpu or m.cpu_waiting):  # (only with cores: cpus.py)
            self.cpu_release(m, t)
