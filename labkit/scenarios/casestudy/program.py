"""The incident as a ``labkit.models.scheduler`` program: handlers, the render loop, GC workers, a refresher.

Everything that happens at an absolute time is a goroutine parked until then, the way
``labkit.scenarios.blindspots`` writes a server: a request's goroutine waits in the netpoller (``io_wait``:
net/http's conn.serve blocked reading the next request on a keep-alive connection) until its
arrival; a frame's goroutine sleeps until its tick (time.Ticker, a timer on a P's heap); a GC
worker waits until its cycle's mark phase. Go's own names are used for every CPU step's stack,
so the simulated CPU profile and goroutine dump read like real ones.

A DB call has two waits, as in database/sql: waiting for a free connection is a ``select`` in
``(*DB).conn`` (src/database/sql/sql.go: the caller parks on its request channel and
ctx.Done(); dump state ``[select]``), modelled with ``wait(ms, reason="select")`` for the queue
time ``labkit.models.pool`` computed; only the query itself waits on the socket (``[IO wait]``, pure-Go
driver) or blocks its thread in a cgo call (``[syscall]``).

The connection goroutines are started by the accept loop, ``net/http.(*Server).Serve`` (one
goroutine per accepted connection, ``go c.serve(connCtx)``, src/net/http/server.go:3604), so a
dump says "created by net/http.(*Server).Serve"; the render loop and the cache refresher are
started by main. (In the real service, labkit/scenarios/casestudy/go/dashboard, main itself runs the
accept loop as goroutine 1; the program here gives it a goroutine of its own, which changes no
timing.) The stacks are go1.27.3's: each is a call chain a real dump of that service shows
(labkit/scenarios/casestudy/recorded), from main.handleMetrics down to the function the step is in.

Approximations, each stated where it matters: the GC's dedicated workers are ordinary
goroutines that start when the mark phase starts, where the runtime hands them a P directly
(findRunnableGCWorker in proc.go, before the run queues); idle-mode mark workers (which only use
otherwise idle Ps) and the two stop-the-world pauses (tens of microseconds, reported by the GC
view) are not in the scheduler program.
"""

from __future__ import annotations

import functools

from labkit.models.gcpacer import mark_worker_plan
from labkit.models.scheduler import (
    Chan,
    Go,
    Step,
    cpu,
    io_wait,
    mark,
    recv,
    send,
    sleep,
    spawn,
    syscall,
    wait,
)
from labkit.scenarios.casestudy.params import (
    DECODE_US_PER_KB,
    MARSHAL_US_PER_KB,
    PARSE_REQUEST_MS,
    IncidentParams,
)
from labkit.scenarios.casestudy.plan import QUERY_ISSUE_MS, Plan, worker_cpu_ms

SERVE = "net/http.(*conn).serve"
#: conn.serve -> serverHandler.ServeHTTP -> the DefaultServeMux -> the registered HandlerFunc.
HANDLER = (
    f"{SERVE};net/http.serverHandler.ServeHTTP;net/http.(*ServeMux).ServeHTTP;"
    "net/http.HandlerFunc.ServeHTTP;main.handleMetrics"
)
FETCH = f"{HANDLER};main.fetchFromDB"
REFRESHER = "main.refreshJSONCache"
#: The accept loop (the real service's main calls srv.Serve).
ACCEPT_LOOP = "net/http.(*Server).Serve"
ASSIST = "runtime.mallocgc;runtime.gcAssistAlloc;runtime.gcAssistAlloc1;runtime.gcDrainN"
#: db.QueryContext down to the pool (database/sql's retry loop around (*DB).query, sql.go:1746).
QUERY = (
    "database/sql.(*DB).QueryContext;database/sql.(*DB).retry;"
    "database/sql.(*DB).QueryContext.func1;database/sql.(*DB).query"
)
#: ... and from the connection to the driver (queryDC under the connection's lock).
QUERY_DC = (
    f"{QUERY};database/sql.(*DB).queryDC;database/sql.withLock;database/sql.(*DB).queryDC.func1;"
    "database/sql.ctxDriverQuery"
)
#: json.Marshal in go1.27 is json/v2's (encoding/json/v2_encode.go:185: jsonv2.Marshal with the
#: v1 options; GOEXPERIMENT=jsonv2 is on by default, src/internal/buildcfg/exp.go:87).
MARSHAL = "encoding/json.Marshal;encoding/json/v2.Marshal;encoding/json/v2.marshalEncode"
#: ResponseWriter.Write down to the socket: the response's bufio.Writer, the chunkWriter (which
#: writes the header first), the connection's bufio.Writer (large writes pass straight through).
WRITE_PATH = (
    "net/http.(*response).Write;net/http.(*response).write;bufio.(*Writer).Write;"
    "net/http.(*chunkWriter).Write;bufio.(*Writer).Write;net/http.checkConnErrorWriter.Write;"
    "net.(*conn).Write"
)
#: Where the handler writes its body, by how it encodes (:func:`encode_kind`): a big body is
#: still being written when the client is slow, so its wait is inside the handler's Write.
WRITE_STACKS = {
    "marshal": f"{HANDLER};{WRITE_PATH}",
    "stream": f"{HANDLER};encoding/json.(*Encoder).Encode;{WRITE_PATH}",
    "copy": f"{HANDLER};{WRITE_PATH}",
    "copy_stream": f"{HANDLER};io.Copy;io.copyBuffer;bytes.(*Reader).WriteTo;{WRITE_PATH}",
}
STACKS = {
    "parse": f"{SERVE};net/http.(*conn).readRequest",
    "conn": f"{FETCH};{QUERY};database/sql.(*DB).conn",
    "query": f"{FETCH};{QUERY_DC}",
    "decode": f"{FETCH};database/sql.(*Rows).Scan",
    "hot": f"{HANDLER};main.downsample",
    "marshal": f"{HANDLER};{MARSHAL}",
    "stream": (
        f"{HANDLER};encoding/json.(*Encoder).Encode;encoding/json/v2.MarshalEncode;"
        "encoding/json/v2.marshalEncode"
    ),
    # copying cached bytes is the write(2) of the response: its CPU is in the write path
    "copy": WRITE_STACKS["copy"],
    "copy_stream": WRITE_STACKS["copy_stream"],
    "render": "main.renderLoop;main.drawFrame",
    "refresh_conn": f"{REFRESHER};main.fetchFromDB;{QUERY};database/sql.(*DB).conn",
    "refresh_query": f"{REFRESHER};main.fetchFromDB;{QUERY_DC}",
    "refresh_decode": f"{REFRESHER};main.fetchFromDB;database/sql.(*Rows).Scan",
    "refresh": f"{REFRESHER};{MARSHAL}",
    "gc_dedicated": (
        "runtime.gcBgMarkWorker;runtime.gcDrainMarkWorkerDedicated;runtime.gcDrain;"
        "runtime.scanObject"
    ),
    "gc_fractional": (
        "runtime.gcBgMarkWorker;runtime.gcDrainMarkWorkerFractional;runtime.gcDrain;"
        "runtime.scanObject"
    ),
}


def encode_kind(params: IncidentParams) -> str:
    """How a handler produces its body: ``copy`` / ``copy_stream`` (cached bytes, written or
    io.Copy'd), ``stream`` (enc.Encode per batch) or ``marshal`` (json.Marshal, one Write)."""
    if params.cache_json:
        return "copy_stream" if params.stream else "copy"
    return "stream" if params.stream else "marshal"


#: Goroutine name prefixes, one per role; ``run.py`` reads roles back from these.
REQ, FRAME, GCW, REFRESH, SERVER = "req", "frame", "gcBgMarkWorker", "refresher", "server"
#: ``Result.marks`` labels: a handler has the data it will send (``GOT`` + request index); a
#: handler's own query returned rows (``DB_READ``); the refresher stored new bytes (``STORED``).
GOT, DB_READ, STORED = "got:", "db_read", "cache_stored"


@functools.lru_cache(maxsize=4096)
def _cpu(ms: float, calls: bool = True, stack: str | None = None) -> Step:
    """``cpu(ms, calls, stack)``, built once per distinct step. A run's handlers share a handful
    of (time, stack) pairs (every request parses, marshals and writes the same payload), and
    checking a 15-frame stack for each of a run's ~2,500 CPU steps took a quarter of the
    program's build time (benchmarks/README.md). A Step is frozen, so sharing one is safe."""
    return cpu(ms, calls=calls, stack=stack)


def _db_call(wait_ms: float, query_ms: float, driver: str, conn: str, query: str) -> list[Step]:
    """One QueryContext: find a connection ((*DB).conn; a select while the pool is exhausted),
    then the query: parked on the socket (pure-Go driver) or a blocking cgo call."""
    steps = [_cpu(QUERY_ISSUE_MS, stack=conn)]
    if wait_ms > 0:
        steps.append(wait(wait_ms, reason="select"))
    if query_ms > 0:
        steps.append(_cpu(0.0, stack=query))  # the connection is ours: queryDC writes the query
        steps.append(syscall(query_ms) if driver == "cgo" else io_wait(query_ms))
    return steps


def _request(i: int, params: IncidentParams, cols: dict[str, list]) -> Go:
    """Handler i's goroutine; ``cols``: the plan's per-request columns as lists (Python floats:
    reading a numpy array one element at a time makes a numpy scalar each time)."""
    steps: list[Step] = []
    arrive = cols["arrival_ms"][i]
    if arrive > 0:
        steps.append(io_wait(arrive))
    steps.append(_cpu(PARSE_REQUEST_MS, stack=STACKS["parse"]))
    if params.hot_loop_ms > 0:  # a loop without function calls: only async preemption stops it
        steps.append(_cpu(params.hot_loop_ms, calls=False, stack=STACKS["hot"]))
    if not params.cache_json:
        out = cols["timed_out"][i]
        steps += _db_call(
            cols["db_wait_ms"][i], cols["db_query_ms"][i], params.db_driver,
            STACKS["conn"], STACKS["query"],
        )  # fmt: skip
        if not out:
            steps.append(mark(DB_READ))
    steps.append(mark(f"{GOT}{i}"))  # rows, the fallback result, or the cached bytes
    decode_ms = cols["decode_ms"][i]
    if decode_ms > 0:
        steps.append(_cpu(decode_ms, stack=STACKS["decode"]))
    kind = encode_kind(params)
    steps.append(_cpu(cols["encode_ms"][i], stack=STACKS[kind]))
    assist_ms = cols["assist_ms"][i]
    if assist_ms > 0:
        steps.append(_cpu(assist_ms, stack=f"{STACKS[kind]};{ASSIST}"))
    write_ms = cols["write_ms"][i]
    if write_ms > 0:  # the handler's Write parked until the client takes the bytes
        steps += [_cpu(0.0, stack=WRITE_STACKS[kind]), io_wait(write_ms)]
    return Go(f"{REQ}{i}", steps, stack=SERVE)


#: The plan's per-request columns a handler's program reads (``_request``).
_REQUEST_COLUMNS = (
    "arrival_ms", "timed_out", "db_wait_ms", "db_query_ms", "decode_ms", "encode_ms",
    "assist_ms", "write_ms",
)  # fmt: skip


def _frame(k: int, params: IncidentParams, plan: Plan, token: Chan) -> Go:
    steps: list[Step] = []
    tick = float(plan.frame_tick_ms[k])
    if tick > 0:
        steps.append(sleep(tick))
    steps += [recv(token), _cpu(params.draw_ms, stack=STACKS["render"])]
    if plan.frame_assist_ms[k] > 0:
        steps.append(_cpu(float(plan.frame_assist_ms[k]), stack=f"{STACKS['render']};{ASSIST}"))
    steps.append(send(token))
    return Go(f"{FRAME}{k}", steps, stack="main.renderLoop")


def _gc_workers(plan: Plan) -> list[Go]:
    """One goroutine per background mark worker per cycle, holding a P through the mark phase
    (gcBgMarkWorker in mgc.go; the fractional one, if any, is the last of each cycle)."""
    out = []
    for c in plan.cycles:
        start = c.mark_start_s * 1000.0
        work = worker_cpu_ms(c)
        fractional = mark_worker_plan(c.gomaxprocs).fractional_utilization_goal > 0
        for j, ms in enumerate(work):
            kind = "gc_fractional" if fractional and j == len(work) - 1 else "gc_dedicated"
            steps = ([io_wait(start)] if start > 0 else []) + [_cpu(ms, stack=STACKS[kind])]
            out.append(Go(f"{GCW}{c.number}.{j}", steps, stack="runtime.gcBgMarkWorker"))
    return out


def _refresher(params: IncidentParams, plan: Plan) -> Go:
    """fix cache_json: one goroutine fetches, decodes and marshals the dashboard JSON once per
    ``poll_ms`` and stores the bytes (``for { time.Sleep(period - elapsed); refresh() }``, each
    sleep the period minus the last refresh's planned work, so refresh k starts near
    k * poll_ms); a refresh whose query times out keeps the old bytes."""
    steps: list[Step] = []
    busy = 0.0
    decode_ms = plan.refresh_cpu_ms * DECODE_US_PER_KB / (DECODE_US_PER_KB + MARSHAL_US_PER_KB)
    marshal_ms, marshal = plan.refresh_cpu_ms - decode_ms, STACKS["refresh"]
    for k in range(plan.refresh_ms.size):
        steps += [_cpu(0.0, stack=REFRESHER), sleep(params.poll_ms - busy)]
        w, q = float(plan.refresh_db_wait_ms[k]), float(plan.refresh_db_query_ms[k])
        out = bool(plan.refresh_timed_out[k])
        steps += _db_call(w, q, params.db_driver, STACKS["refresh_conn"], STACKS["refresh_query"])
        busy = QUERY_ISSUE_MS + w + q
        if out:
            continue
        steps += [_cpu(decode_ms, stack=STACKS["refresh_decode"]), _cpu(marshal_ms, stack=marshal)]
        busy += plan.refresh_cpu_ms
        if plan.refresh_assist_ms[k] > 0:
            assist = float(plan.refresh_assist_ms[k])
            steps.append(_cpu(assist, stack=f"{STACKS['refresh']};{ASSIST}"))
            busy += assist
        steps.append(mark(STORED))  # atomic.Pointer.Store of the new bytes
    return Go(REFRESH, steps, stack=REFRESHER)


def build_program(params: IncidentParams, plan: Plan) -> tuple[Go, list[str]]:
    """The main goroutine and the names of every goroutine it starts, in creation order (goid =
    2 + index: main is 1 and newproc numbers goroutines in creation order). main starts the
    render loop's frames, the GC workers, the refresher (with the cache) and last the accept
    loop, which starts one goroutine per connection."""
    token = Chan(1, "frameToken")  # one frame draws at a time: the render loop is sequential
    gs: list[Go] = [_frame(k, params, plan, token) for k in range(plan.frame_tick_ms.size)]
    gs += _gc_workers(plan)
    if params.cache_json:
        gs.append(_refresher(params, plan))
    cols = {name: getattr(plan, name).tolist() for name in _REQUEST_COLUMNS}
    reqs = [_request(i, params, cols) for i in range(plan.arrival_ms.size)]
    server = Go(SERVER, [spawn(g) for g in reqs], stack=ACCEPT_LOOP)
    main = Go("main", [send(token), *[spawn(g) for g in [*gs, server]]], stack="main.main")
    return main, [g.name for g in [*gs, server, *reqs]]
