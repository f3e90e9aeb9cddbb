"""The incident as a ``labkit.sched`` program: handlers, the render loop, GC workers, a refresher.

Everything that happens at an absolute time is a goroutine parked until then, the way
``labkit.schedlab`` writes a server: a request's goroutine waits in the netpoller (``io_wait``:
net/http's conn.serve blocked reading the next request on a keep-alive connection) until its
arrival; a frame's goroutine sleeps until its tick (time.Ticker, a timer on a P's heap); a GC
worker waits until its cycle's mark phase. Go's own names are used for every CPU step's stack,
so the simulated CPU profile and goroutine dump read like real ones.

Approximations, each stated where it matters: the GC's dedicated workers are ordinary
goroutines that start when the mark phase starts, where the runtime hands them a P directly
(findRunnableGCWorker in proc.go, before the run queues); idle-mode mark workers (which only use
otherwise idle Ps) and the two stop-the-world pauses (tens of microseconds, reported by the GC
view) are not in the scheduler program; a wait for a free DB connection is a netpoller park
here, a ``select`` in database/sql's ``(*DB).conn``.
"""

from __future__ import annotations

from labkit.casestudy.params import PARSE_REQUEST_MS, IncidentParams
from labkit.casestudy.plan import Plan, worker_cpu_ms
from labkit.gc import mark_worker_plan
from labkit.sched import Chan, Go, Step, cpu, io_wait, recv, send, sleep, spawn, syscall

SERVE = "net/http.(*conn).serve"
HANDLER = f"{SERVE};net/http.HandlerFunc.ServeHTTP;main.handleMetrics"
ASSIST = "runtime.mallocgc;runtime.gcAssistAlloc;runtime.gcAssistAlloc1;runtime.gcDrainN"
STACKS = {
    "parse": f"{SERVE};net/http.(*conn).readRequest",
    "query": f"{HANDLER};main.fetchFromDB;database/sql.(*DB).QueryContext",
    "decode": f"{HANDLER};main.fetchFromDB;database/sql.(*Rows).Scan",
    "hot": f"{HANDLER};main.downsample",
    "marshal": f"{HANDLER};encoding/json.Marshal;encoding/json.(*encodeState).marshal",
    "stream": f"{HANDLER};encoding/json.(*Encoder).Encode;encoding/json.(*encodeState).marshal",
    "copy": f"{HANDLER};net/http.(*response).Write;runtime.memmove",
    "render": "main.renderLoop;main.drawFrame",
    "refresh": "main.refreshJSONCache;encoding/json.Marshal;encoding/json.(*encodeState).marshal",
    "gc_dedicated": (
        "runtime.gcBgMarkWorker;runtime.gcDrainMarkWorkerDedicated;runtime.gcDrain;"
        "runtime.scanobject"
    ),
    "gc_fractional": (
        "runtime.gcBgMarkWorker;runtime.gcDrainMarkWorkerFractional;runtime.gcDrain;"
        "runtime.scanobject"
    ),
}
#: Issuing the query (building it, writing it to the connection) before the wait: a few us.
QUERY_ISSUE_MS = 0.005

#: Goroutine name prefixes, one per role; ``run.py`` reads roles back from these.
REQ, FRAME, GCW, REFRESH = "req", "frame", "gcBgMarkWorker", "refresher"


def _request(i: int, params: IncidentParams, plan: Plan) -> Go:
    steps: list[Step] = []
    arrive = float(plan.arrival_ms[i])
    if arrive > 0:
        steps.append(io_wait(arrive))
    steps.append(cpu(PARSE_REQUEST_MS, stack=STACKS["parse"]))
    if params.hot_loop_ms > 0:  # a loop without function calls: only async preemption stops it
        steps.append(cpu(params.hot_loop_ms, calls=False, stack=STACKS["hot"]))
    steps.append(cpu(QUERY_ISSUE_MS, stack=STACKS["query"]))
    if plan.db_wait_ms[i] > 0:
        steps.append(io_wait(float(plan.db_wait_ms[i])))
    q = float(plan.db_query_ms[i])
    if q > 0:
        # pure-Go driver: the G parks on the socket; cgo driver: the call blocks its thread.
        steps.append(syscall(q) if params.db_driver == "cgo" else io_wait(q))
    if plan.decode_ms[i] > 0:
        steps.append(cpu(float(plan.decode_ms[i]), stack=STACKS["decode"]))
    kind = "copy" if params.cache_json else "stream" if params.stream else "marshal"
    steps.append(cpu(float(plan.encode_ms[i]), stack=STACKS[kind]))
    if plan.assist_ms[i] > 0:
        steps.append(cpu(float(plan.assist_ms[i]), stack=f"{STACKS[kind]};{ASSIST}"))
    if plan.write_ms[i] > 0:
        steps.append(io_wait(float(plan.write_ms[i])))  # conn.Write parked until sent
    return Go(f"{REQ}{i}", steps, stack=SERVE)


def _frame(k: int, params: IncidentParams, plan: Plan, token: Chan) -> Go:
    steps: list[Step] = []
    tick = float(plan.frame_tick_ms[k])
    if tick > 0:
        steps.append(sleep(tick))
    steps += [recv(token), cpu(params.draw_ms, stack=STACKS["render"])]
    if plan.frame_assist_ms[k] > 0:
        steps.append(cpu(float(plan.frame_assist_ms[k]), stack=f"{STACKS['render']};{ASSIST}"))
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
            steps = ([io_wait(start)] if start > 0 else []) + [cpu(ms, stack=STACKS[kind])]
            out.append(Go(f"{GCW}{c.number}.{j}", steps, stack="runtime.gcBgMarkWorker"))
    return out


def _refresher(params: IncidentParams, plan: Plan) -> Go:
    """fix cache_json: one goroutine re-encodes the dashboard JSON once per poll period."""
    steps: list[Step] = []
    for k in range(plan.refresh_ms.size):
        steps += [sleep(params.poll_ms), cpu(plan.refresh_cpu_ms, stack=STACKS["refresh"])]
        if plan.refresh_assist_ms[k] > 0:
            steps.append(
                cpu(float(plan.refresh_assist_ms[k]), stack=f"{STACKS['refresh']};{ASSIST}")
            )
    return Go(REFRESH, steps, stack="main.refreshJSONCache")


def build_program(params: IncidentParams, plan: Plan) -> tuple[Go, list[str]]:
    """The main goroutine and the names it spawns, in order (goid = 2 + index: main is 1 and
    newproc numbers goroutines in creation order)."""
    token = Chan(1, "frameToken")  # one frame draws at a time: the render loop is sequential
    gs: list[Go] = [_frame(k, params, plan, token) for k in range(plan.frame_tick_ms.size)]
    gs += _gc_workers(plan)
    if params.cache_json:
        gs.append(_refresher(params, plan))
    gs += [_request(i, params, plan) for i in range(plan.arrival_ms.size)]
    main = Go("main", [send(token), *[spawn(g) for g in gs]], stack="main.main")
    return main, [g.name for g in gs]
