"""The case study (chapter 5): each fix moves the layers the chapter says, and the model holds
together (determinism, validation, invariants, the five-layer table, profiles and dumps)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings

from labkit.profiles import load_profile
from labkit.scenarios.casestudy import (
    IncidentParamError,
    IncidentParams,
    fix_variants,
    run_incident,
)
from labkit.scenarios.casestudy.diagnosis import LAYERS, diagnosis_html, diagnosis_table
from labkit.scenarios.casestudy.params import PARSE_REQUEST_MS, TARGET_FPS
from labkit.scenarios.casestudy.plan import arrivals, db_times, pool_with_timeout
from labkit.scenarios.casestudy.program import DB_READ
from labkit.scenarios.casestudy.run import SERVICE_GOROUTINES, step_values
from tests.strategies_casestudy import incidents


@pytest.fixture(scope="module")
def runs():
    return {name: run_incident(p) for name, p in fix_variants().items()}


def m(runs, name, key):
    return runs[name].metrics[key]


# ---- the incident and each fix -------------------------------------------------------------


def test_incident_looks_idle_but_stalls(runs):
    """The article's symptom: the service looks idle (low CPU, GC pauses well under a ms) while
    p99 is hundreds of ms and the dashboard runs far below 60 fps: the time goes to waiting, not
    to running (goroutines parked in fetchFromDB, in database/sql's (*DB).conn select)."""
    base = runs["no fix"].metrics
    assert base["cpu_share"] < 0.25
    assert base["stw_max_ms"] < 1.0
    assert base["p99_ms"] > 300
    assert base["dashboard_fps"] < 30
    assert base["goroutines_peak"] > 3 * runs["all three"].metrics["goroutines_peak"]


def test_cache_json_takes_the_db_and_marshal_off_the_request_path(runs):
    """Fix 1 as the article states it: JSON serialization moves to an independent goroutine that
    pre-computes and caches it. One DB fetch + marshal per refresh (every poll_ms) instead of one
    per request: 20 DB calls instead of 400, the handlers stop allocating (mallocgc) so the GC
    runs less often, and, with no query in the handler, requests stop queueing for the pool."""
    base, cache = runs["no fix"], runs["cache_json only"]
    assert base.metrics["db_calls"] == base.params.requests == 400
    assert cache.metrics["db_calls"] == cache.params.polls_per_client == 20
    assert not cache.plan.db_wait_ms.any() and not cache.plan.decode_ms.any()
    assert m(runs, "cache_json only", "alloc_mb_per_s") < 0.2 * m(runs, "no fix", "alloc_mb_per_s")
    assert m(runs, "cache_json only", "gc_cycles_per_s") < m(runs, "no fix", "gc_cycles_per_s")
    assert m(runs, "cache_json only", "cpu_share") < 0.7 * m(runs, "no fix", "cpu_share")
    assert m(runs, "cache_json only", "p99_ms") < 0.1 * m(runs, "no fix", "p99_ms")


def test_cache_json_serves_data_up_to_one_refresh_old(runs):
    """The cache's price: an answer carries the refresher's last snapshot, up to one refresh
    period (plus the refresh's own query) older than a fresh query's rows."""
    p = runs["cache_json only"].params
    age = m(runs, "cache_json only", "data_age_p99_ms")
    assert age > 5 * m(runs, "no fix", "data_age_p99_ms")
    assert p.poll_ms * 0.5 < age < p.poll_ms + 60.0


def test_cached_handler_only_copies_bytes(runs):
    """With the cache the CPU profile has the refresher's Scan and Marshal, and the handlers'
    only work is parsing and the copy into the response (net/http.(*response).Write)."""
    prof = runs["cache_json only"].cpu_profile(hz=100_000)  # handlers run ~15 us each
    handler = [s for s in prof.stacks() if "main.handleMetrics" in s]
    assert handler and all("database/sql.(*Rows).Scan" not in s for s in handler)
    assert all("encoding/json.Marshal" not in s for s in handler)
    funcs = {f for s in prof.stacks() for f in s}
    assert {"main.refreshJSONCache", "database/sql.(*Rows).Scan"} <= funcs


def test_stream_cuts_allocation_and_write_size(runs):
    """Fix 2 without the cache: the handler encodes the rows in batches with enc.Encode(batch),
    each into a pooled encodeState and written at once (Encoder.Encode in stream.go), so there is
    no body-sized []byte per request: less allocation, smaller writes, no slower. The rows are
    still fetched and decoded per request, so the DB queue and latency stay."""
    assert m(runs, "stream only", "alloc_mb_per_s") < 0.9 * m(runs, "no fix", "alloc_mb_per_s")
    assert m(runs, "stream only", "gc_cycles_per_s") <= m(runs, "no fix", "gc_cycles_per_s")
    assert m(runs, "stream only", "write_bytes") < m(runs, "no fix", "write_bytes")
    assert m(runs, "stream only", "p50_ms") <= m(runs, "no fix", "p50_ms")
    assert m(runs, "stream only", "p99_ms") > 0.9 * m(runs, "no fix", "p99_ms")


def test_stream_adds_nothing_on_top_of_the_cache():
    """With the cache, fix 2 is the article's io.Copy(w, bytes.NewReader(cached)): io.Copy uses
    bytes.Reader.WriteTo, which makes the same single w.Write(cached) as the plain handler, so
    the run is the same to the microsecond; only the profile's stack names differ."""
    a = run_incident(cache_json=True, seconds=1.0)
    b = run_incident(cache_json=True, stream=True, seconds=1.0)
    np.testing.assert_array_equal(a.latency_ms, b.latency_ms)
    assert a.metrics["alloc_mb_per_s"] == b.metrics["alloc_mb_per_s"]
    assert "io.Copy" in {f for s in b.cpu_profile(hz=100_000).stacks() for f in s}


def test_db_timeout_bounds_latency_and_goroutines(runs):
    """Fix 3: context.WithTimeout bounds the DB wait; database/sql drops waiters whose context
    expired, so the pool's queue cannot grow and parked goroutines stop piling up. The handlers
    still query and marshal per request, and timed-out ones answer with the last good result."""
    assert m(runs, "db_timeout only", "p99_ms") < 0.2 * m(runs, "no fix", "p99_ms")
    assert m(runs, "db_timeout only", "goroutines_peak") < m(runs, "no fix", "goroutines_peak")
    assert m(runs, "db_timeout only", "dashboard_fps") > 2 * m(runs, "no fix", "dashboard_fps")
    assert m(runs, "db_timeout only", "db_timeouts") > 0
    assert m(runs, "db_timeout only", "db_calls") == m(runs, "no fix", "db_calls")


def test_all_three_do_most(runs):
    """Together the fixes give the lowest p99, the least allocation and a 60 fps dashboard."""
    best = runs["all three"].metrics
    for name in ("no fix", "cache_json only", "stream only", "db_timeout only"):
        assert best["p99_ms"] <= m(runs, name, "p99_ms")
        assert best["alloc_mb_per_s"] <= m(runs, name, "alloc_mb_per_s")
    assert best["dashboard_fps"] >= 0.98 * TARGET_FPS


def test_cgo_driver_grows_threads():
    """A cgo driver's query is a blocking call: the G keeps its M and sysmon's retake hands the
    P to another M (handoffp), so threads grow with concurrent queries; the pure-Go driver parks
    the G in the netpoller and holds no thread (netpollblock)."""
    kw = dict(db_pool=32, db_median_ms=40.0, seconds=1.0)
    cgo = run_incident(db_driver="cgo", **kw).metrics
    net = run_incident(db_driver="network", **kw).metrics
    assert cgo["threads_peak"] > net["threads_peak"] + 5
    assert cgo["syscall_ms_per_s"] > 0 and net["syscall_ms_per_s"] == 0


def test_render_loop_misses_frames_on_one_busy_p():
    """With GOMAXPROCS=1 the render loop shares its only P with every handler: a woken frame
    waits in runnext until the running handler's CPU step ends, so frames miss their slot."""
    one = run_incident(gomaxprocs=1, payload_kb=256.0, db_pool=8, seconds=1.0).metrics
    four = run_incident(gomaxprocs=4, payload_kb=256.0, db_pool=8, seconds=1.0).metrics
    assert one["fps_on_time"] < four["fps_on_time"]
    assert four["fps_on_time"] > 0.95 * TARGET_FPS


# ---- model checks -------------------------------------------------------------------------


def test_same_seed_same_run_bit_for_bit():
    """One seeded Generator per run: same parameters and seed, identical arrays and metrics."""
    a, b = run_incident(seed=7, seconds=0.5), run_incident(seed=7, seconds=0.5)
    assert a.metrics == b.metrics
    assert np.array_equal(a.latency_ms, b.latency_ms, equal_nan=True)
    assert np.array_equal(a.result.segments, b.result.segments)
    c = run_incident(seed=8, seconds=0.5)
    assert not np.array_equal(a.latency_ms, c.latency_ms, equal_nan=True)


@pytest.mark.parametrize(
    "name, value",
    [
        ("clients", 0),
        ("clients", 2.5),
        ("poll_ms", -1),
        ("payload_kb", 0),
        ("db_pool", 0),
        ("db_driver", "odbc"),
        ("gomaxprocs", 0),
        ("gogc", True),
        ("cache_json", "yes"),
        ("timeout_ms", float("nan")),
        ("seed", -1),
    ],
)
def test_bad_parameters_name_themselves(name, value):
    """Bad input raises a ValueError that names the parameter, before anything runs."""
    with pytest.raises(ValueError, match=name):
        run_incident(**{name: value})


def test_unknown_parameter_is_named():
    with pytest.raises(IncidentParamError, match="db_pool_size"):
        IncidentParams.make(db_pool_size=3)


def test_arrivals_follow_each_clients_poll_period():
    """Each dashboard polls every poll_ms from its own phase, at most jitter_ms late."""
    p = IncidentParams(clients=5, poll_ms=100.0, jitter_ms=5.0, seconds=1.0)
    t, client = arrivals(p, np.random.default_rng(0))
    assert t.size == 50 and np.all(np.diff(t) >= 0)
    for c in range(5):
        gaps = np.diff(t[client == c])
        assert np.all(gaps > 95.0) and np.all(gaps < 105.0)


def test_timeout_pool_without_deadline_is_the_pool_models_fifo():
    """pool_with_timeout(inf) reproduces labkit.models.pool's static FIFO pool exactly: the same
    database/sql pool, only with the deadline rule added."""
    p = IncidentParams(db_pool=2)
    rng = np.random.default_rng(3)
    t, _ = arrivals(p, rng)
    call = t + PARSE_REQUEST_MS
    wait, query, pool = db_times(p, call, rng)
    w2, q2, out = pool_with_timeout(call, query, p.db_pool, math.inf)
    assert not out.any()
    np.testing.assert_allclose(w2, wait, atol=1e-9)
    np.testing.assert_allclose(w2 + q2, np.asarray(pool.latency_ms), atol=1e-9)


def test_database_sql_hands_a_freed_connection_to_a_random_waiter():
    """One connection, busy 10 ms, and three callers waiting for it: database/sql hands each
    freed connection to a waiter drawn at random (connRequests.TakeRandom, sql.go:1554), so the
    last to come is sometimes served first; the pool stays busy all the same (starts at 0, 10,
    20, 30 whoever runs), and FIFO serves them in the order they came."""
    call = np.array([0.0, 1.0, 2.0, 3.0])
    query = np.full(4, 10.0)
    fifo, _, _ = pool_with_timeout(call, query, 1, math.inf)
    assert (call + fifo).tolist() == [0.0, 10.0, 20.0, 30.0]
    orders = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        wait, q, out = pool_with_timeout(call, query, 1, math.inf, order="random", rng=rng)
        starts = call + wait
        assert sorted(starts.tolist()) == [0.0, 10.0, 20.0, 30.0] and not out.any()
        assert np.all(wait >= 0) and q.tolist() == query.tolist()
        orders.add(tuple(np.argsort(starts).tolist()))
    assert (0, 1, 2, 3) in orders and len(orders) > 2


def test_random_hand_off_keeps_the_pool_and_the_deadline():
    """Under the incident's load and a 50 ms deadline, random hand-off still never runs more
    queries at once than there are connections, never waits past the deadline, gives an idle
    connection at once, and is reproducible from its seed."""
    p = IncidentParams(db_pool=2)
    t, _ = arrivals(p, np.random.default_rng(5))
    call = t + PARSE_REQUEST_MS
    _, query, _ = db_times(p, call, np.random.default_rng(6))
    for timeout in (math.inf, 50.0):
        runs = [
            pool_with_timeout(call, query, 2, timeout, order="random", rng=np.random.default_rng(7))
            for _ in range(2)
        ]
        wait, ran, out = runs[0]
        assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
        assert np.all(wait >= 0) and np.all(wait <= timeout)
        served = ~out | (ran > 0)
        begin, end = (call + wait)[served], (call + wait + ran)[served]
        # (ends first at a tie, and to within rounding: start = call + (free - call))
        edges = sorted([(b, 1) for b in begin] + [(e - 1e-9, -1) for e in end])
        running = np.cumsum([d for _, d in edges])
        assert running.max() <= 2


def test_random_hand_off_lengthens_the_wait_tail_fifo_would_hide():
    """Random hand-off is as busy as FIFO but lets an unlucky caller wait on while later ones
    are served: at the incident's load (2 connections, queries of ~12 ms, 2.7 connections'
    worth of work offered) the p99 wait is longer than FIFO's and the median shorter. A pool
    put back to FIFO fails this."""
    p = IncidentParams(db_pool=2)
    t, _ = arrivals(p, np.random.default_rng(3))
    call = t + PARSE_REQUEST_MS
    _, query, _ = db_times(p, call, np.random.default_rng(4))
    fifo, _, _ = pool_with_timeout(call, query, 2, math.inf)
    rand, _, _ = pool_with_timeout(
        call, query, 2, math.inf, order="random", rng=np.random.default_rng(5)
    )
    assert np.percentile(rand, 99) > 1.3 * np.percentile(fifo, 99)
    assert np.median(rand) < np.median(fifo)


def test_the_pool_replay_refuses_an_unknown_order():
    call, query = np.zeros(2), np.ones(2)
    with pytest.raises(ValueError, match="order must be one of"):
        pool_with_timeout(call, query, 1, math.inf, order="lifo")
    with pytest.raises(ValueError, match="needs rng"):
        pool_with_timeout(call, query, 1, math.inf, order="random")


def test_timeout_pool_never_waits_past_the_deadline():
    """A waiter gives up at the deadline (ctx.Err()); a running query is cut at it."""
    call = np.array([0.0, 0.0, 0.0, 1.0])
    query = np.array([100.0, 10.0, 10.0, 10.0])
    wait, q, out = pool_with_timeout(call, query, 1, 50.0)
    assert wait.tolist() == [0.0, 50.0, 50.0, 49.0]
    assert q.tolist() == [50.0, 0.0, 0.0, 1.0]
    assert out.tolist() == [True, True, True, True]


def test_timeout_pool_cannot_cut_a_blocking_cgo_query():
    """With a driver that cannot cancel (one blocking C call), the deadline still ends the wait
    for a connection (a select on ctx.Done() in (*DB).conn), but a query that has started runs
    to its end, holding its connection: the next caller waits behind all of it."""
    call = np.array([0.0, 0.0, 1.0])
    query = np.array([100.0, 10.0, 10.0])
    wait, q, out = pool_with_timeout(call, query, 1, 50.0, cancellable=False)
    assert wait.tolist() == [0.0, 50.0, 50.0]  # the others give up waiting at their deadline
    assert q.tolist() == [100.0, 0.0, 0.0]  # the running query is not cut at 50 ms
    assert out.tolist() == [True, True, True]
    late = pool_with_timeout(np.array([0.0, 120.0]), np.array([100.0, 10.0]), 1, 50.0, False)
    assert late[0].tolist() == [0.0, 0.0] and late[1].tolist() == [100.0, 10.0]
    assert late[2].tolist() == [True, False]


def test_cgo_queries_outlive_the_timeout_that_network_ones_obey():
    """The same slow database under a 50 ms timeout: the pure-Go driver's queries stop at the
    deadline (p99 near the timeout); the cgo driver's run to their end (p99 in the hundreds)."""
    kw = dict(db_pool=64, db_median_ms=40.0, db_timeout=True, seconds=1.0)
    net = run_incident(db_driver="network", **kw)
    cgo = run_incident(db_driver="cgo", **kw)
    assert net.metrics["db_timeouts"] == cgo.metrics["db_timeouts"] > 0
    assert (net.plan.db_wait_ms + net.plan.db_query_ms).max() <= 50.0 + 1e-9
    assert (cgo.plan.db_wait_ms + cgo.plan.db_query_ms).max() > 200.0
    assert cgo.metrics["p99_ms"] > 3 * net.metrics["p99_ms"]


def test_diagnosis_table_has_the_five_layers(runs):
    """The article's matrix: application, goroutines, GC, syscalls/network, kernel threads."""
    rows = diagnosis_table(runs["no fix"], runs["all three"])
    assert [r["layer"] for r in rows] == list(LAYERS)
    assert all(r["before"] != r["after"] for r in rows[:2])
    page = diagnosis_html(rows)
    assert page.count("<tr>") == 6 and "kernel threads" in page


def test_kernel_thread_row_names_what_the_model_counts(runs):
    """The model has no kernel, so the row must not claim the kernel's context switches: it
    shows the thread count and the model's schedule() calls per second, named as such."""
    run = runs["no fix"]
    row = next(r for r in diagnosis_table(run, run) if r["layer"] == "kernel threads")
    assert "ctxt" not in row["tool"] and "ctxt" not in row["before"]
    per_s = run.result.stats["schedules"] / run.params.seconds
    assert f"{per_s:.0f} schedule() calls/s" in row["before"]
    assert f"peak {run.result.stats['threads_peak']:.0f} threads" in row["before"]


def test_cpu_profile_has_go_stacks_and_round_trips(runs):
    """The simulated CPU profile carries Go's frame names (json.Marshal under the handler,
    gcBgMarkWorker -> gcDrain for the GC) and survives pprof encoding (to_pprof/load_profile)."""
    prof = runs["no fix"].cpu_profile()
    funcs = {f for stack in prof.stacks() for f in stack}
    assert {"main.handleMetrics", "encoding/json.Marshal", "runtime.gcBgMarkWorker"} <= funcs
    assert {"runtime.gcDrain", "main.drawFrame"} <= funcs
    back = load_profile(prof.to_pprof())
    assert back.total() == prof.total() > 0


def test_request_program_is_the_handler_step_by_step():
    """One request without fixes, as its goroutine's steps: parked until the poll arrives (the
    keep-alive read), parse, (*DB).conn then a select for the pool's queue time, the query on the
    socket, decode, marshal, the write (the handler's w.Write, parked until the client takes
    the bytes). With the cache: parse, copy, write; no DB at all."""
    from labkit.scenarios.casestudy.program import build_program

    p = IncidentParams(clients=3, seconds=0.3, db_pool=1, db_median_ms=30.0, db_sigma=0.0)
    plan = make_plan_for(p)
    _, names = build_program(p, plan)
    req = _program_of(p, plan, "req2")
    kinds = [repr(s).split("(")[0] for s in req.steps]
    assert plan.db_wait_ms[2] > 0  # three polls, one connection: the third waits
    assert kinds == ["io_wait", "cpu", "cpu", "wait", "cpu", "io_wait", "mark", "mark", "cpu",
                     "cpu", "cpu", "io_wait"]  # fmt: skip
    assert req.steps[-2].stack.endswith(
        "main.handleMetrics;net/http.(*response).Write;net/http.(*response).write;"
        "bufio.(*Writer).Write;net/http.(*chunkWriter).Write;bufio.(*Writer).Write;"
        "net/http.checkConnErrorWriter.Write;net.(*conn).Write"
    )
    assert "reason='select'" in repr(req.steps[3])
    assert names.index("server") < names.index("req0")
    pc = p.replace(cache_json=True)
    cached = _program_of(pc, make_plan_for(pc), "req2")
    assert [repr(s).split("(")[0] for s in cached.steps] == ["io_wait", "cpu", "mark", "cpu",
                                                              "cpu", "io_wait"]  # fmt: skip


def make_plan_for(p: IncidentParams):
    from labkit.scenarios.casestudy.plan import make_plan

    return make_plan(p, np.random.default_rng(p.seed))


def _program_of(p: IncidentParams, plan, name: str):
    from labkit.models.scheduler.programs import iter_goroutines
    from labkit.scenarios.casestudy.program import build_program

    main, _ = build_program(p, plan)
    return next(g for g in iter_goroutines(main) if g.name == name)


def test_diagnosis_table_has_a_text_form(runs):
    """The notebook object shows HTML in a browser and plain text everywhere else."""
    from labkit.scenarios.casestudy.diagnosis import DiagnosisTable

    t = DiagnosisTable(runs["no fix"], runs["all three"], after_label="all three")
    text = repr(t)
    assert all(layer in text for layer in LAYERS) and "all three:" in text
    assert "<table" in t._repr_html_() and "<table" not in text


def test_every_query_timing_out_dates_answers_from_the_warm_start():
    """With a 5 ms timeout on 100 ms queries every DB call times out, so no handler ever reads
    fresh rows: every answer is the fallback, the warm-start data of t=0, and its age is the
    time since then (run.py data_times once indexed the empty list of reads: IndexError)."""
    run = run_incident(clients=1, db_timeout=True, timeout_ms=5, db_median_ms=100)
    assert run.metrics["db_timeouts"] == run.metrics["db_calls"] == run.params.requests
    assert not run.result.marks.get(DB_READ)
    done = run.plan.arrival_ms + run.latency_ms
    assert run.metrics["data_age_p99_ms"] == pytest.approx(np.percentile(done, 99))


def test_step_values_reads_a_step_function_even_with_no_steps():
    """The helper behind data ages, panel freshness and the state view: the last value at or
    before each instant, ``before`` ahead of the first event and when there is none."""
    at = np.array([-1.0, 0.0, 5.0, 10.0, 99.0])
    got = step_values(np.array([0.0, 10.0]), np.array([3.0, 7.0]), at, before=-2.0)
    assert got.tolist() == [-2.0, 3.0, 3.0, 7.0, 7.0]
    assert step_values(np.array([]), np.array([]), at, before=0.5).tolist() == [0.5] * 5


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incidents())
@example(  # found by the property: every DB call timed out, data_times indexed an empty array
    IncidentParams(clients=1, db_timeout=True, timeout_ms=5.0, db_median_ms=100.0, seconds=0.4)
)
@example(  # found by exploring: 132 slow queries through one connection outlast a fixed drain
    IncidentParams(
        clients=11,
        poll_ms=50.0,
        seconds=0.6,
        db_median_ms=100.0,
        db_sigma=1.0,
        db_pool=1,
        gomaxprocs=1,
        gogc=50,
        seed=0,
    )
)
def test_invariants_hold_in_random_incidents(p):
    """Across random incidents: every request finishes, none faster than its own work, frames
    never exceed 60 fps, the goroutine count never drops below the fixed ones, a timeout bounds
    every DB call, the cache leaves the handlers without DB calls, and GC shares are
    fractions."""
    run = run_incident(p)
    mt, plan = run.metrics, run.plan
    assert mt["unfinished"] == 0
    floor = PARSE_REQUEST_MS + plan.decode_ms + plan.encode_ms + plan.write_ms
    assert np.all(run.latency_ms >= floor - 1e-6)
    assert 0 <= mt["dashboard_fps"] <= mt["fps_on_time"] <= TARGET_FPS + 1e-9
    assert mt["goroutines_peak"] >= p.clients + SERVICE_GOROUTINES
    assert 0 <= mt["assist_share"] <= 1 and 0 <= mt["gc_cpu_share"] <= 1
    assert mt["cpu_share"] <= 1 + 1e-9
    if p.db_timeout:  # the pool wait is bounded; a cgo query runs on past the deadline
        wait, query, _ = plan.db_calls
        assert np.all(wait <= p.timeout_ms + 1e-9) and np.all(plan.db_wait_ms <= p.timeout_ms)
        if p.db_driver == "network":
            assert np.all(plan.db_wait_ms + plan.db_query_ms <= p.timeout_ms + 1e-9)
            assert np.all(wait + query <= p.timeout_ms + 1e-9)
    if p.cache_json:  # the handlers never query; the refresher queries once per poll period
        assert not plan.db_wait_ms.any() and not plan.db_query_ms.any()
        assert mt["db_calls"] == plan.refresh_ms.size == p.polls_per_client
    else:
        assert mt["db_calls"] == p.requests
    assert mt["data_age_p99_ms"] >= 0


def test_state_view_counts_real_goroutines_not_prespawned_ones(runs):
    """The state view adds up to go_goroutines (connections + fixed goroutines), not to the
    scheduler program's pre-spawned, parked-until-their-time goroutines."""
    run = runs["no fix"]
    st = run.state_view().states
    total = st["running"] + st["runnable"] + st["syscall"] + st["waiting"]
    assert total.max() <= run.metrics["goroutines_peak"] + 4  # +4: Ps briefly over the count
    assert total[0] < 40 and total.max() > 100  # grows from the idle connections to the pile-up


def test_the_incident_hands_connections_out_as_database_sql_does(monkeypatch):
    """Every DB call of a run goes through the replay in database/sql's order, random, drawn from
    the run's own generator: an incident put back to FIFO fails here (the tail test above shows
    what that would hide)."""
    import labkit.scenarios.casestudy.plan as plan

    seen = []
    real = plan.pool_with_timeout

    def spy(*args, **kw):
        seen.append((kw.get("order"), kw.get("rng") is not None))
        return real(*args, **kw)

    monkeypatch.setattr(plan, "pool_with_timeout", spy)
    run_incident(IncidentParams(seconds=0.5))
    run_incident(IncidentParams(seconds=0.5, cache_json=True, db_timeout=True))
    assert seen and all(s == ("random", True) for s in seen)
