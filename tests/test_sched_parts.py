"""The scheduler model's parts (labkit/models/scheduler/*.py, one per part of proc.go) and their contracts.

The split of the model into modules gave names to what was encoded before: a steal's outcome
(``schedule.Steal``), a hand-over to a locked thread (its own event kind, ``EV_STARTLOCKEDM``), a
channel's state (``chan.ChanState``), and one place that counts the state row (``records.py``,
checked against a count from scratch by ``invariants.py``). These tests pin each contract and show
that each check can fail. tests/test_sched_golden.py guards the results themselves.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import labkit.models.scheduler
from labkit.models.scheduler import (
    Chan,
    Go,
    cpu,
    lock_os_thread,
    recv,
    repeat,
    send,
    sleep,
    spawn,
    syscall,
)
from labkit.models.scheduler.chan import ChanState
from labkit.models.scheduler.engine import Scheduler
from labkit.models.scheduler.events import EV_STARTLOCKEDM, EV_STARTM, EVENT_NAMES
from labkit.models.scheduler.records import (
    ROW_GLOBAL,
    ROW_RUNQ,
    ROW_THREADS,
    history_entries,
    recount,
)
from labkit.models.scheduler.schedule import Steal
from labkit.models.scheduler.state import (
    DEAD,
    HISTORY_FULL,
    HISTORY_HOP,
    RUNNABLE,
    RUNNING,
    WAITING,
)

SCHED_DIR = Path(labkit.models.scheduler.__file__).parent
GO_RUNTIME = Path(__file__).parents[1] / ".venv/lib/python3.11/site-packages/go/src/runtime"


class Recorder(Scheduler):
    """The model, keeping what stealWork returned and the kind of every event it scheduled."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.steal_results = []
        self.kinds = []

    def steal_work(self, p, t):
        got = super().steal_work(p, t)
        self.steal_results.append(got)
        return got

    def push(self, t, kind, obj=None, token=0):
        self.kinds.append(kind)
        super().push(t, kind, obj, token)


def test_a_thief_that_backs_off_says_retry_and_keeps_its_p():
    """A thief that finds only a running P's runnext backs off usleep(3) first (runqgrab,
    src/runtime/proc.go:7746): stealWork returns Steal.RETRY, findRunnable keeps the P, and the
    retry takes the G. (Before the split this outcome was p.backoff_done = None.)"""
    w = Go("W", [cpu(0.1)])
    s = Recorder(Go("main", [spawn(w), cpu(1)]), 2, True, 100.0, 0)
    s.simulate()
    taken = [r for r in s.steal_results if not isinstance(r, Steal)]
    assert s.steal_results[0] is Steal.RETRY
    assert [g.name for g in taken] == ["W"]
    assert s.steal_results.index(taken[0]) == 1  # the retry right after the back-off


def test_a_thief_that_finds_nothing_says_nothing_and_drops_its_p():
    """With nothing anywhere (main sleeps on P0; wakeNetPoller -> wakep starts P1's spinning M),
    stealWork returns Steal.NOTHING and the thief's P goes idle again."""
    s = Recorder(Go("main", [sleep(1)]), 2, True, 100.0, 0)
    s.simulate()
    assert s.steal_results and set(s.steal_results) == {Steal.NOTHING}
    assert s.stats["wakeps"] >= 1


def test_a_locked_goroutine_is_handed_over_by_its_own_event_kind():
    """startlockedm (src/runtime/proc.go:3293) wakes the locked M with EV_STARTLOCKEDM, never a
    plain startm's EV_STARTM with a special token; one per hand-over to the locked M."""
    a, b = Chan(0, "a"), Chan(0, "b")
    echo = Go("echo", [lock_os_thread(), repeat(5, [recv(a), send(b)])])
    s = Recorder(Go("main", [spawn(echo), repeat(5, [send(a), recv(b)])]), 1, True, 100.0, 0)
    s.simulate()
    assert s.kinds.count(EV_STARTLOCKEDM) == 5
    assert EVENT_NAMES[EV_STARTLOCKEDM] == "startlockedm"
    assert EVENT_NAMES[EV_STARTM] == "startm"
    unlocked = Recorder(Go("main", [spawn(Go("e", [cpu(1)])), cpu(1)]), 1, True, 100.0, 0)
    unlocked.simulate()
    assert EV_STARTLOCKEDM not in unlocked.kinds


def test_a_channels_state_is_named_fields():
    """A buffered channel that received three sends and one receive holds two values; its state
    in the run is a ChanState (hchan's qcount, sendq, recvq), named as the dump shows it."""
    ch = Chan(4, "jobs")
    main = Go("main", [send(ch), send(ch), send(ch), recv(ch)])
    s = Scheduler(main, 1, True, 100.0, 0)
    s.simulate()
    (st,) = s.chans.values()
    assert isinstance(st, ChanState)
    assert (st.buffered, list(st.sendq), list(st.recvq), st.name) == (2, [], [], "jobs")


def test_the_state_row_kept_in_place_equals_the_row_counted_from_scratch():
    """records.py keeps the row up to date in place; after every event it equals recount()."""
    checked = []

    class Checked(Scheduler):
        def after_event(self, t):
            assert self.row == recount(self), t
            checked.append(t)

    main = Go("main", [spawn(Go(f"g{i}", [cpu(1), syscall(0.5), cpu(1)])) for i in range(20)])
    Checked(main, 4, True, 1_000.0, 0).simulate()
    assert len(checked) > 50


@pytest.mark.parametrize(
    "column, what",
    [(RUNNABLE, "a status count"), (ROW_GLOBAL, "the global queue"), (ROW_THREADS, "threads")],
)
def test_the_invariant_check_fails_on_a_row_that_is_off(column, what):
    """check_invariants can fail: one column of the row off by one (a copy of the counting that
    forgot a case) is reported, naming the time and both rows."""

    class Broken(Scheduler):
        def after_event(self, t):
            if t > 0.5 and not getattr(self, "broken", False):
                self.broken = True
                self.row[column] += 1
            self.check_invariants()

    main = Go("main", [spawn(Go(f"g{i}", [cpu(1)])) for i in range(4)])
    with pytest.raises(AssertionError, match="counted from scratch"):
        Broken(main, 2, True, 100.0, 0).simulate()


def test_the_invariant_check_fails_on_a_local_queue_column_that_is_off():
    """The same for a P's local-queue column (written only by runq.py)."""

    class Broken(Scheduler):
        def after_event(self, t):
            self.row[ROW_RUNQ] += 1
            self.check_invariants()

    with pytest.raises(AssertionError, match="counted from scratch"):
        Broken(Go("main", [cpu(1)]), 1, True, 100.0, 0).simulate()


def test_the_invariant_check_fails_on_a_stack_change_without_a_full_history_entry():
    """A G's short history entries take their stack from the entry before them (records.py):
    a writer that changed g.stack and wrote no full entry is reported."""

    class Broken(Scheduler):
        def after_event(self, t):
            for g in self.gs:
                if g.status != DEAD:
                    g.stack = "main.elsewhere"
            self.check_invariants()

    with pytest.raises(AssertionError, match="history ends with"):
        Broken(Go("main", [cpu(1)]), 1, True, 100.0, 0).simulate()


def test_the_invariant_check_fails_on_a_pending_history_entry_left_behind():
    """ready's and gogo's history entries wait in g.ready_t / g.run_t for the G's next history
    write (records.py, "Pending entries"); one left on a G that went on (a parked G with a
    pending "running") is reported: its history, written out, ends with the wrong status."""

    class Broken(Scheduler):
        def after_event(self, t):
            for g in self.gs:
                if g.status == WAITING:
                    g.run_t = t
            self.check_invariants()

    a, b = Chan(0, "a"), Chan(0, "b")
    pong = Go("pong", [repeat(3, [recv(a), send(b)])])
    main = Go("main", [spawn(pong), repeat(3, [send(a), recv(b)])])
    with pytest.raises(AssertionError, match="history ends with"):
        Broken(main, 1, True, 100.0, 0).simulate()


def test_a_hop_entry_expands_to_its_three_status_changes():
    """A hop entry (records.py: readied at t_ready, ran and parked at t) is three entries, with
    the stack and locked flag of the entry before it."""
    history = [0.0, HISTORY_FULL, RUNNABLE, "", "main.f", True, 1.5, HISTORY_HOP, 2.5, "chan send"]
    assert history_entries(history) == [
        [0.0, RUNNABLE, "", "main.f", True],
        [1.5, RUNNABLE, "", "main.f", True],
        [2.5, RUNNING, "", "main.f", True],
        [2.5, WAITING, "chan send", "main.f", True],
    ]


def test_the_runtime_module_has_no_module_getattr():
    """The model reads ``rt.X`` (runtime.py's constants) on every event, and CPython 3.11 does
    not specialise an attribute load on a module that defines ``__getattr__``: the one that
    imported runtime.Scheduler on first use cost 4.6 % of a ping-pong's instructions (#25 item
    7). engine.py sets runtime.Scheduler instead."""
    from labkit.models.scheduler import runtime as rt

    assert "__getattr__" not in vars(rt)


CITATION = re.compile(
    r"``(?:\w+\.)?(\w+)``\s+\((?:src/runtime/)?(proc|time|chan|netpoll)\.go:(\d+)"
)


def cited_functions() -> list[tuple[str, str, str, int]]:
    """Every ``name`` (src/runtime/file.go:line) in the model's module docstrings."""
    out = []
    for path in sorted(SCHED_DIR.glob("*.py")):
        text = path.read_text()
        doc = text[: text.find('"""', 3)]
        for name, file, line in CITATION.findall(doc.replace("\n", " ")):
            out.append((path.name, name, f"{file}.go", int(line)))
    return out


def miscited(cited: list[tuple[str, str, str, int]]) -> list[str]:
    """The citations whose line of the Go source does not name the function."""
    wrong = []
    for module, name, file, line in cited:
        source = (GO_RUNTIME / file).read_text().splitlines()[line - 1]
        if name not in source:
            wrong.append(f"{module}: {name} at {file}:{line} is {source.strip()!r}")
    return wrong


needs_go_source = pytest.mark.skipif(
    not GO_RUNTIME.is_dir(), reason="the Go source is not installed (.venv go package)"
)


@needs_go_source
def test_the_parts_docstrings_cite_the_runtime_functions_they_mirror():
    """Each part's docstring names the runtime functions it mirrors with file:line; each such
    line of go1.27.3's source is where that function is declared (or, for a call site, where
    the name is used)."""
    cited = cited_functions()
    assert len(cited) >= 40
    assert {m for m, *_ in cited} >= {
        "runq.py", "timers.py", "netpoll.py", "sysmon.py", "threads.py", "chan.py",
        "syscalls.py", "goroutine.py", "schedule.py",
    }  # fmt: skip
    assert miscited(cited) == []


@needs_go_source
def test_the_citation_check_fails_on_a_wrong_line(tmp_path, monkeypatch):
    """The check can fail: a docstring citing runqput one line off is reported."""
    (tmp_path / "runq.py").write_text('"""Mirrors ``runqput`` (src/runtime/proc.go:7530)."""\n')
    monkeypatch.setattr(sys.modules[__name__], "SCHED_DIR", tmp_path)
    cited = cited_functions()
    assert cited == [("runq.py", "runqput", "proc.go", 7530)]
    assert len(miscited(cited)) == 1


def test_the_old_import_paths_still_work():
    """Notebooks and other models read the constants and the records from labkit.models.scheduler.runtime:
    they are still there, and the Scheduler is the one of engine.py."""
    from labkit.models.scheduler import runtime as rt
    from labkit.models.scheduler.state import G

    assert rt.Scheduler is Scheduler and rt.G is G and rt.RUNNABLE == RUNNABLE
    assert rt.netpoll_wait_ms(0.5) == 1.0
    with pytest.raises(AttributeError, match="no attribute 'Schedular'"):
        rt.Schedular  # noqa: B018 - a misspelt name fails as on any module
