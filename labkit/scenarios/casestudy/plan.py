"""What each request, frame and cache refresh will need, computed before the scheduler runs.

Three of the course's models feed the scheduler program (``program.py``):

* arrivals: each dashboard polls every ``poll_ms`` from its own seeded phase, a little late each
  time (``jitter_ms``), like a browser's ``setInterval(fetch, 100)``;
* the database: ``labkit.models.pool.simulate_pool`` draws each DB call's query time
  (lognormal, median ``db_median_ms``, no CPU: ``cpu_bound=0``), and :func:`pool_with_timeout`
  runs the calls through database/sql's connection pool (``SetMaxOpenConns(db_pool)``,
  src/database/sql/sql.go ``(*DB).conn``): ``db_pool`` connections, and each one freed handed
  to a caller drawn at random among those waiting (``connRequests.TakeRandom``, sql.go:1554),
  not to the first to come. The callers are the handlers, or, with fix ``cache_json``, only the
  refresher goroutine (one call per refresh);
* the GC: ``labkit.models.gcpacer.GCEngine`` is fed every allocation in time order (each handler's decoded
  rows and JSON, each frame's geometry, each cache refresh) and answers, like gcAssistAlloc
  (src/runtime/mgcmark.go), how much mark-assist CPU each allocation pays, and when each cycle's
  mark phase runs (when the gcBgMarkWorker goroutines take Ps).

One pass, no feedback: allocations are placed where the handler would make them without
scheduler delay (arrival + parse + DB time); the scheduler then adds its own delays. At the
default load those delays are well under a millisecond, against cycles ~100 ms apart.

Fix ``cache_json`` is the article's "JSON serialization moved to an independent goroutine that
pre-computes and caches it": a refresher goroutine fetches from the DB, decodes and marshals once
every ``poll_ms`` (a time.Ticker) and stores the bytes (an atomic.Pointer); handlers only copy
the cached bytes into the response: no per-request query, decode or marshal. The cache is filled
once before the server starts listening (as a real service would before ListenAndServe), so its
data time at t=0 is 0.

With fix ``db_timeout`` every query runs under context.WithTimeout(ctx, timeout_ms) and the
caller falls back to the last good result: database/sql's ``(*DB).conn`` gives up waiting for a
connection when the context expires (the select on ``ctx.Done()``, src/database/sql/sql.go:1375;
the waiter leaves ``connRequests``). What happens to a query already running depends on the
driver, because database/sql hands the context to the driver and waits for it to return
(``ctxDriverQuery``, src/database/sql/ctxutil.go:46):

* the pure-Go driver (``db_driver="network"``) turns the deadline into the socket's
  (net.Conn.SetDeadline: the netpoller wakes the parked read when it expires,
  ``netpolldeadlineimpl`` in src/runtime/netpoll.go:622), so the query stops at the deadline and
  its connection is free again;
* the cgo driver (``db_driver="cgo"``) is one blocking C call: ``cgocall`` enters a system
  call and runs the C function until it returns (entersyscall then asmcgocall,
  src/runtime/cgocall.go:167 and :185); nothing in Go can interrupt C code, so the context is
  checked before the call and the call runs to its end, holding the connection and the
  handler. Rows that come back after the deadline are refused (``Rows.awaitDone`` records the
  context's error, sql.go:3015, and ``Next`` stops with it) and the handler falls back, after
  the whole query.
  (A cgo driver can do better only if its C library has an interrupt call and the driver
  watches ``ctx.Done()`` to make it; this model's cgo driver does not, like the course's
  ``labkit/scenarios/casestudy/go/dashboard/cgodb``.)

:func:`pool_with_timeout` replays the pool model's own query times through those rules (in FIFO
order and with no timeout it reproduces ``labkit.models.pool``'s static pool exactly, which the
tests check). The cancel's own round trip to the server is not modelled. A refresh that times
out keeps the old cache.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from labkit.models.gcpacer import GCCycle, GCEngine, mark_worker_plan
from labkit.models.pool import PoolResult, simulate_pool
from labkit.scenarios.casestudy.params import (
    COPY_US_PER_KB,
    DECODE_ALLOC_PER_BODY_BYTE,
    DECODE_US_PER_KB,
    ENCODER_ALLOC_BYTES,
    MARSHAL_ALLOC_PER_BODY_BYTE,
    MARSHAL_US_PER_KB,
    PARSE_REQUEST_MS,
    IncidentParams,
)

#: The streaming handler (fix ``stream`` without the cache) encodes the rows in batches of this
#: many bytes of JSON with ``enc.Encode(batch)``: each call marshals one batch into a pooled
#: buffer and writes it (Encoder.Encode, src/encoding/json/v2_stream.go:136), so the handler never
#: holds the whole body, and the send of one batch overlaps the encoding of the next; only the
#: last batch's send is left after the CPU work. The body becomes newline-delimited JSON, one array
#: of points per line.
STREAM_BATCH_BYTES = 32 * 1024

#: Issuing a query (building it, writing it to the connection) once a connection is held: a few
#: us. Also the cost of (*DB).conn finding a free connection.
QUERY_ISSUE_MS = 0.005


@dataclass(frozen=True)
class Plan:
    """Per-request, per-frame and per-refresh needs, and the GC's cycles. Times in ms."""

    arrival_ms: np.ndarray  # sorted
    client: np.ndarray
    db_wait_ms: np.ndarray  # waiting for a free connection: a select in (*DB).conn (0: cached)
    db_query_ms: np.ndarray  # the query on the wire (netpoller) or in the cgo call (syscall)
    timed_out: np.ndarray  # bool: the DB call outlived fix db_timeout's deadline; it falls back
    decode_ms: np.ndarray  # CPU: rows -> structs (0 with cache_json or a fallback)
    encode_ms: np.ndarray  # CPU: json.Marshal / batched Encoder / copy of cached bytes
    assist_ms: np.ndarray  # CPU: mark assists paid by this handler's allocation
    write_ms: np.ndarray  # network wait after the CPU work
    alloc_bytes: np.ndarray  # per request
    alloc_total_bytes: float  # handlers, frames and cache refreshes
    frame_tick_ms: np.ndarray
    frame_assist_ms: np.ndarray
    refresh_ms: np.ndarray  # cache_json: when each refresh starts (a ticker every poll_ms)
    refresh_db_wait_ms: np.ndarray  # the refresher's wait for a connection
    refresh_db_query_ms: np.ndarray  # the refresher's query
    refresh_timed_out: np.ndarray  # bool: the refresh timed out and kept the old cache
    refresh_cpu_ms: float  # decode + marshal of one refresh
    refresh_assist_ms: np.ndarray
    cycles: tuple[GCCycle, ...]
    gc_cpu_fraction: float
    gc_assist_cpu_ms: float
    gc_background_cpu_ms: float
    pool: PoolResult

    @property
    def db_calls(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(wait, query, timed_out) of every DB call in the run: the handlers' or, with the
        cache, the refresher's."""
        if self.refresh_ms.size:
            return self.refresh_db_wait_ms, self.refresh_db_query_ms, self.refresh_timed_out
        return self.db_wait_ms, self.db_query_ms, self.timed_out


def arrivals(params: IncidentParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Poll times (ms, sorted) and the client of each: phase + k * poll_ms + jitter."""
    n = params.polls_per_client
    phase = rng.uniform(0.0, params.poll_ms, params.clients)
    jitter = rng.uniform(0.0, params.jitter_ms, (params.clients, n))
    t = phase[:, None] + params.poll_ms * np.arange(n)[None, :] + jitter
    client = np.repeat(np.arange(params.clients), n)
    order = np.argsort(t.ravel(), kind="stable")
    return t.ravel()[order], client[order]


def db_times(
    params: IncidentParams, call_ms: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, PoolResult]:
    """Each DB call's wait for a connection and its query time, from the pool model."""
    sigma = params.db_sigma
    mean_ms = params.db_median_ms * math.exp(sigma * sigma / 2.0)  # lognormal mean from median
    pool = simulate_pool(
        arrivals=call_ms / 1000.0,
        duration_s=max(float(call_ms[-1]) / 1000.0, params.seconds),
        service_ms=mean_ms,
        service="lognormal" if sigma > 0 else "const",
        service_sigma=sigma if sigma > 0 else 0.5,
        policy="static",
        workers=params.db_pool,
        gomaxprocs=params.gomaxprocs,
        cpu_bound=0.0,
        seed=int(rng.integers(2**31)),
    )
    wait = np.asarray(pool.wait_ms, dtype=float)
    query = np.asarray(pool.latency_ms, dtype=float) - wait
    return wait, np.maximum(query, 0.0), pool


#: The order in which database/sql hands a freed connection to the callers waiting for one:
#: "random" is database/sql's (putConnDBLocked -> connRequests.TakeRandom, src/database/sql/
#: sql.go:1554 and 3716: rand.IntN over the waiters); "fifo" is the static pool of
#: labkit.models.pool, which the replay reproduces exactly (a test checks it).
HANDOFF_ORDERS = ("random", "fifo")


def pool_with_timeout(
    call_ms: np.ndarray,
    query_ms: np.ndarray,
    connections: int,
    timeout_ms: float,
    cancellable: bool = True,
    *,
    order: str = "fifo",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """database/sql's pool of ``connections`` connections, under a context deadline.

    A call that finds a connection idle takes it at once (``db.freeConn``, (*DB).conn, sql.go);
    otherwise it waits in ``db.connRequests`` until a connection is freed and handed to it: to a
    waiter drawn at random among those still waiting (``order="random"``, database/sql's
    ``TakeRandom``, drawn from ``rng``), or to the longest-waiting one (``"fifo"``). A waiter whose
    deadline comes first gives up (ctx.Err()) without a connection: its wait is ``timeout_ms``.
    A query still running at the deadline is cancelled and frees its connection then when the
    driver can cancel it (``cancellable``: the pure-Go driver); otherwise (a blocking cgo call)
    it runs to its end, holding the connection, and the call still counts as timed out. A
    connection freed at the instant a call arrives goes to the waiters first. Returns wait,
    query (cut at the deadline when cancellable) and a timed-out flag per call; ``timeout_ms=inf``
    is the plain pool.
    """
    if order not in HANDOFF_ORDERS:
        raise ValueError(f"order must be one of {HANDOFF_ORDERS}, got {order!r}")
    if order == "random" and rng is None:
        raise ValueError("order='random' needs rng, the run's seeded generator")
    n = call_ms.size
    wait = np.empty(n)
    query = np.empty(n)
    timed_out = np.zeros(n, dtype=bool)
    calls, queries = call_ms.tolist(), query_ms.tolist()
    frees = [0.0] * connections  # when each busy or idle connection is next free (a min-heap)
    waiting: list[int] = []  # calls in connRequests, in arrival order

    def start(i: int, at: float) -> None:
        w = at - calls[i]
        ran = min(queries[i], timeout_ms - w) if cancellable else queries[i]
        wait[i], query[i], timed_out[i] = w, ran, queries[i] > timeout_ms - w
        heapq.heappush(frees, at + ran)

    def hand_over(until: float) -> None:
        """Connections freed up to ``until`` (inclusive) go to waiters still waiting."""
        while waiting and frees[0] <= until:
            at = heapq.heappop(frees)
            while waiting and at - calls[waiting[0]] >= timeout_ms:  # (in arrival order)
                i = waiting.pop(0)  # gave up before this connection came back
                wait[i], query[i], timed_out[i] = timeout_ms, 0.0, True
            if not waiting:
                heapq.heappush(frees, at)  # idle: db.freeConn
                break
            k = int(rng.integers(len(waiting))) if order == "random" and len(waiting) > 1 else 0
            start(waiting.pop(k), at)

    for i, t in enumerate(calls):
        hand_over(t)
        if not waiting and frees[0] <= t:  # an idle connection
            heapq.heappop(frees)
            start(i, t)
        else:
            waiting.append(i)
    hand_over(math.inf)  # every waiter left is served or gives up: connections free in the end
    return wait, query, timed_out


def _assist_stream(
    engine: GCEngine, events: list[tuple[float, int, int, float, float]], end_ms: float
) -> dict[tuple[int, int], float]:
    """Feed (t_ms, kind, index, bytes, pointerful bytes) allocations in time order (mallocgc);
    return the assist ms each one pays (gcAssistAlloc)."""
    out: dict[tuple[int, int], float] = {}
    for t_ms, kind, index, nbytes, scan_bytes in sorted(events):
        t_s = t_ms / 1000.0
        if engine.now_s < t_s:
            engine.advance(t_s)
        if engine.stopped:  # allocation waits out a stop-the-world pause
            engine.advance(engine.phase_end_s)
        out[(kind, index)] = engine.allocate(nbytes, scan_bytes) * 1000.0
    if engine.now_s < end_ms / 1000.0:
        engine.advance(end_ms / 1000.0)
    return out


def _db_calls(
    params: IncidentParams, call_ms: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, PoolResult]:
    """Wait, query and timed-out flag of each DB call made at ``call_ms``: the pool model's query
    times (db_times), replayed through database/sql's pool as it hands connections out, to a
    waiter at random (pool_with_timeout)."""
    _, query, pool = db_times(params, call_ms, rng)
    timeout = params.timeout_ms if params.db_timeout else math.inf
    hand = np.random.default_rng(int(rng.integers(2**31)))  # TakeRandom's draws, apart
    wait, query, timed_out = pool_with_timeout(
        call_ms, query, params.db_pool, timeout, params.db_driver != "cgo", order="random", rng=hand
    )
    return wait, query, timed_out, pool


class _DbPlan(NamedTuple):
    """Every DB call of a run: the handlers' (zeros with the cache) and the refresher's."""

    wait: np.ndarray
    query: np.ndarray
    timed_out: np.ndarray
    refresh: np.ndarray  # when each refresh starts (empty without the cache)
    r_wait: np.ndarray
    r_query: np.ndarray
    r_out: np.ndarray
    pool: PoolResult


class _HandlerCosts(NamedTuple):
    """What each handler spends after its DB call: CPU, allocation and the send."""

    decode_ms: np.ndarray
    decode_alloc: np.ndarray
    encode: float  # ms, the same for every request
    alloc: np.ndarray
    write: float  # ms, the same for every request


def _db_plan(p: IncidentParams, arrive: np.ndarray, rng: np.random.Generator) -> _DbPlan:
    """The DB calls: the handlers' one per request or, with fix ``cache_json``, only the
    refresher's, once per tick (refresh k at k * poll_ms, k >= 1: the fill at t=0 happened
    before the listener opened)."""
    n = arrive.size
    if p.cache_json:
        refresh = np.arange(1, p.polls_per_client + 1) * p.poll_ms
        r_wait, r_query, r_out, pool = _db_calls(p, refresh + QUERY_ISSUE_MS, rng)
        return _DbPlan(
            np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool), refresh, r_wait, r_query, r_out, pool
        )
    call = arrive + PARSE_REQUEST_MS + p.hot_loop_ms + QUERY_ISSUE_MS
    wait, query, timed_out, pool = _db_calls(p, call, rng)
    refresh, r_wait, r_query = np.zeros(0), np.zeros(0), np.zeros(0)
    return _DbPlan(wait, query, timed_out, refresh, r_wait, r_query, np.zeros(0, dtype=bool), pool)


def _handler_costs(p: IncidentParams, timed_out: np.ndarray) -> _HandlerCosts:
    """Decode (rows -> structs, skipped with the cache or after a fallback), encode
    (json.Marshal, a batched Encoder or a copy of the cached bytes) and the send left after
    them."""
    kb = p.payload_kb
    body = p.body_bytes
    fetched = ~timed_out & (not p.cache_json)
    decode_ms = np.where(fetched, DECODE_US_PER_KB * kb / 1000.0, 0.0)
    decode_alloc = np.where(fetched, DECODE_ALLOC_PER_BODY_BYTE * body, 0.0)
    if p.cache_json:  # w.Write(cached) or io.Copy(w, bytes.NewReader(cached)): one Write
        encode, enc_alloc = COPY_US_PER_KB * kb / 1000.0, 0.0
    elif p.stream:  # one Encode per batch, each into a pooled buffer
        batches = math.ceil(body / STREAM_BATCH_BYTES)
        encode, enc_alloc = MARSHAL_US_PER_KB * kb / 1000.0, float(ENCODER_ALLOC_BYTES * batches)
    else:
        encode, enc_alloc = MARSHAL_US_PER_KB * kb / 1000.0, MARSHAL_ALLOC_PER_BODY_BYTE * body
    transfer = p.transfer_ms
    if p.stream and not p.cache_json:
        # Sending starts after the first batch is encoded: done at max(encode + last batch's
        # send, first batch's encoding + the whole send); what is left after the CPU work:
        frac = min(1.0, STREAM_BATCH_BYTES / body)
        write = max(transfer * frac, encode * frac + transfer - encode)
    else:
        write = transfer
    return _HandlerCosts(decode_ms, decode_alloc, encode, decode_alloc + enc_alloc, write)


def _gc_engine(
    p: IncidentParams,
    n: int,
    costs: _HandlerCosts,
    frames: int,
    refreshes: int,
    refresh_cpu: float,
) -> GCEngine:
    """The pacer for the run, told how many CPUs the mutator keeps busy on average (``n``
    handlers, ``frames`` frames, ``refreshes`` cache refreshes of ``refresh_cpu`` ms each):
    what is left is idle during mark and runs idle mark workers (gcMarkWorkerIdleMode), which
    is why marking is quick on an idle server."""
    busy_ms = (
        n * (PARSE_REQUEST_MS + p.hot_loop_ms + costs.encode) + costs.decode_ms.sum()
        + frames * p.draw_ms + refreshes * refresh_cpu
    )  # fmt: skip
    return GCEngine(
        gogc=p.gogc,
        gomaxprocs=p.gomaxprocs,
        live_bytes=p.live_mb * (1 << 20),
        mutator_cpus=min(busy_ms / (p.seconds * 1000.0), float(p.gomaxprocs)),
    )


def _allocations(
    p: IncidentParams,
    db_done: np.ndarray,
    costs: _HandlerCosts,
    ticks: np.ndarray,
    r_at: np.ndarray,
    refreshed: np.ndarray,
) -> list[tuple[float, int, int, float, float]]:
    """Every allocation of the run as (t_ms, kind, index, bytes, pointerful bytes): each
    handler's (kind 0) once its JSON exists, each frame's (1), each refresh's (2). Decoded rows
    hold pointers (strings) and are scanned; JSON bytes and chart geometry are pointer-free
    (noscan spans), so they add to the heap but not to the scan work."""
    body = p.body_bytes
    events: list[tuple[float, int, int, float, float]] = []
    at = db_done + costs.decode_ms + costs.encode  # the JSON exists once encoding is done
    for i, (t, a, d) in enumerate(
        zip(at.tolist(), costs.alloc.tolist(), costs.decode_alloc.tolist(), strict=True)
    ):
        events.append((t, 0, i, a, d))
    frame_bytes = p.frame_alloc_kb * 1024.0
    events += [(float(t), 1, i, frame_bytes, 0.0) for i, t in enumerate(ticks)]
    refresh_alloc = (DECODE_ALLOC_PER_BODY_BYTE + MARSHAL_ALLOC_PER_BODY_BYTE) * body
    scan = DECODE_ALLOC_PER_BODY_BYTE * body
    events += [
        (float(t), 2, i, refresh_alloc if ok else 0.0, scan if ok else 0.0)
        for i, (t, ok) in enumerate(zip(r_at.tolist(), refreshed.tolist(), strict=True))
    ]
    return events


def make_plan(params: IncidentParams, rng: np.random.Generator) -> Plan:
    """Everything the scheduler program needs, for one seeded run of ``params``."""
    p = params
    arrive, client = arrivals(p, rng)
    n = arrive.size
    refresh_cpu = (DECODE_US_PER_KB + MARSHAL_US_PER_KB) * p.payload_kb / 1000.0
    db = _db_plan(p, arrive, rng)
    db_done = arrive + PARSE_REQUEST_MS + p.hot_loop_ms + QUERY_ISSUE_MS + db.wait + db.query
    costs = _handler_costs(p, db.timed_out)
    ticks = np.arange(int(p.seconds * 1000.0 // p.frame_ms)) * p.frame_ms
    refreshed = ~db.r_out
    engine = _gc_engine(p, n, costs, ticks.size, refreshed.sum(), refresh_cpu)
    r_at = db.refresh + QUERY_ISSUE_MS + db.r_wait + db.r_query + refresh_cpu
    events = _allocations(p, db_done, costs, ticks, r_at, refreshed)
    assist = _assist_stream(engine, events, p.seconds * 1000.0)
    cycles = tuple(engine.cycles)
    return Plan(
        arrival_ms=arrive,
        client=client,
        db_wait_ms=db.wait,
        db_query_ms=db.query,
        timed_out=db.timed_out,
        decode_ms=costs.decode_ms,
        encode_ms=np.full(n, costs.encode),
        assist_ms=np.array([assist[(0, i)] for i in range(n)]),
        write_ms=np.full(n, costs.write),
        alloc_bytes=costs.alloc,
        alloc_total_bytes=float(sum(e[3] for e in events)),
        frame_tick_ms=ticks,
        frame_assist_ms=np.array([assist[(1, i)] for i in range(ticks.size)]),
        refresh_ms=db.refresh,
        refresh_db_wait_ms=db.r_wait,
        refresh_db_query_ms=db.r_query,
        refresh_timed_out=db.r_out,
        refresh_cpu_ms=refresh_cpu,
        refresh_assist_ms=np.array([assist[(2, i)] for i in range(db.refresh.size)]),
        cycles=cycles,
        gc_cpu_fraction=engine.gc_cpu_fraction(),
        gc_assist_cpu_ms=1000.0 * sum(c.assist_cpu_s for c in cycles),
        gc_background_cpu_ms=1000.0 * sum(c.background_cpu_s for c in cycles),
        pool=db.pool,
    )


def worker_cpu_ms(cycle: GCCycle) -> list[float]:
    """CPU of each background mark worker goroutine during one cycle's mark phase.

    Mirrors gcControllerState.startCycle (mgcpacer.go): round(0.25 * GOMAXPROCS) dedicated
    workers each hold a P for the whole mark phase; if that misses 25 % by more than 30 %, a
    fractional worker runs the rest (GOMAXPROCS <= 3: one worker at 25 % of one P per P).
    """
    plan = mark_worker_plan(cycle.gomaxprocs)
    mark_ms = cycle.mark_s * 1000.0
    out = [mark_ms] * plan.dedicated_workers
    if plan.fractional_utilization_goal > 0:
        out.append(plan.fractional_utilization_goal * cycle.gomaxprocs * mark_ms)
    return out
