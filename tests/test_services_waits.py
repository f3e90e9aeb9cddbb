"""Who waited in a block profile or a trace's sync profile, and which waits are the collector's
own (labkit.golab.services.waits), on the course's recorded dashboard run."""

from __future__ import annotations

import pytest

from labkit.golab.services import recorded_run
from labkit.golab.services.waits import is_observer, waits_by_caller
from labkit.profiles import Profile
from labkit.profiles.errors import ProfileError


@pytest.fixture(scope="module")
def run():
    return recorded_run("dashboard")


def test_most_of_the_block_profile_is_the_profiler_waiting_for_its_own_timers(run):
    """Three 4 s delta and CPU profiles wait in a select on their timers (net/http/pprof's
    serveDeltaProfile and sleep): over half the block profile's delay is theirs."""
    w = waits_by_caller(run.block)
    assert w.total == run.block.total("delay")
    assert 0.5 < w.observer_share < 0.9
    assert w.service + w.observer == w.total


def test_the_services_waits_are_credited_to_who_waited_not_to_selectgo(run):
    """By own delay the block profile names only runtime.selectgo; by caller it names the pool
    (database/sql.(*DB).conn: the requests waiting for one of two connections), go-sqlite3's
    row fetch, and database/sql's watcher goroutine per query (awaitDone)."""
    fn, _flat, _cum = run.block.top(1, "delay")[0]
    assert fn == "runtime.selectgo"
    callers = dict(waits_by_caller(run.block).callers)
    assert "runtime.selectgo" not in callers
    for who in (
        "database/sql.(*DB).conn",
        "database/sql.(*Rows).awaitDone",
        "github.com/mattn/go-sqlite3.(*SQLiteRows).Next",
    ):
        assert callers[who] > 0, who
    assert not any(c.startswith("net/http/pprof.") for c in callers)


def test_a_services_own_trace_regions_are_not_the_collector(run):
    """runtime/trace.WithRegion around a query is the service's instrumentation: its waits stay
    the service's; the tracer's reader and its goroutines in the runtime are the collector."""
    assert not is_observer(("main.handler", "runtime/trace.WithRegion", "runtime.selectgo"))
    assert is_observer(("runtime.(*traceAdvancerState).start.func1", "runtime.chanrecv1"))
    assert is_observer(("net/http.(*conn).serve", "net/http/pprof.sleep", "runtime.selectgo"))
    w = waits_by_caller(run.trace.to_profile("sync"))
    assert 0 < w.observer < w.total
    assert dict(w.callers)["database/sql.(*DB).conn"] > 0


def test_a_profile_with_no_collector_frames_is_all_the_services():
    prof = Profile.from_stacks(
        {("main.a", "sync.(*Mutex).Lock"): 5, ("main.b", "runtime.chanrecv1"): 3, (): 1},
        sample_types=[("delay", "nanoseconds")],
    )
    w = waits_by_caller(prof)
    assert (w.total, w.observer) == (9, 0)
    assert w.callers == (("main.a", 5), ("main.b", 3), ("(no frames)", 1))


def test_a_profile_without_delays_is_refused_by_name(run):
    with pytest.raises(ProfileError, match="no 'delay' values.*block or mutex profile"):
        waits_by_caller(run.cpu)
