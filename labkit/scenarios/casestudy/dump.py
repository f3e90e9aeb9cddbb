"""The incident's goroutine dump, made of a real go1.27.3 dump of the same service.

``/debug/pprof/goroutine?debug=2`` is runtime.Stack(buf, true) (runtime/pprof.writeGoroutineStacks,
src/runtime/pprof/pprof.go:816): it stops the world (src/runtime/mprof.go:1693), prints the
calling goroutine, then every other one that is not a system goroutine (tracebackothers and
isSystemGoroutine, src/runtime/traceback.go:1490: no gcBgMarkWorker, bgsweep, forcegchelper),
each with its frames, hiding the runtime's unexported ones (runtime.Stack forces traceback level
1, mprof.go:1706; showfuncinfo in traceback.go), so no gopark, selectgo or netpollblock.

The model knows, for each of its goroutines at an instant, its state and where in the handler it
is (``labkit.models.scheduler``'s own dump, whose frames are the model's step names). This module replaces
each of those by the block a real dump printed for a goroutine in the same place:
``recorded/dump_*.txt``, recorded by ``recording.py`` from ``go/dashboard``, the course's
miniature of chapter 5's service (the article's handler behind database/sql with
SetMaxOpenConns, a pure-Go driver and a cgo one, a 60 Hz render loop, the three fixes). So every
frame, file:line and offset in the dump is one a real go1.27.3 binary printed, including the
frames a model would leave out: database/sql's ``(*DB).retry`` and ``QueryContext.func1`` around
the pool's ``select`` (sql.go:1374), the driver's reads under ``queryDC``, the goroutine that
serves the dump itself, database/sql's ``connectionOpener``, and the
``net/http.(*connReader).backgroundRead`` goroutine that net/http starts for every request whose
handler is running (startBackgroundRead, src/net/http/server.go:742).

What stays the model's: which goroutines exist and their states, and the goroutine ids. Argument
words are the recorded goroutine's (one recorded goroutine stands for every goroutine in the same
place, so they repeat). A goroutine on a CPU is shown as a real dump shows it, ``[runnable]``
(the world was stopped for the dump), with a stack recorded from a real goroutine caught in the
same step; one caught in a step shorter than a millisecond (parsing the request, issuing the
query, copying cached bytes) is shown where that step meets its next wait.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

from labkit.scenarios.casestudy.params import IncidentParams
from labkit.scenarios.casestudy.program import (
    ASSIST,
    REFRESHER,
    SERVE,
    STACKS,
    WRITE_STACKS,
    encode_kind,
)

RECORDED = Path(__file__).resolve().parent / "recorded"

_HEADER = re.compile(r"^goroutine (\d+) \[([^\]]*)\]:$")
_CREATED_IN = re.compile(r" in goroutine \d+$")


@dataclass(frozen=True)
class Block:
    """One goroutine of a dump: its state, its frames (function line, file:line line; leaf
    first) and its ``created by`` pair."""

    goid: int
    state: str
    frames: tuple[tuple[str, str], ...]
    created: tuple[str, str] | None

    @property
    def funcs(self) -> tuple[str, ...]:
        """Function names, leaf first (a frame's argument list dropped: it never holds '(')."""
        return tuple(f[: f.rfind("(")] if f.endswith(")") else f for f, _ in self.frames)

    def has(self, *funcs: str) -> bool:
        return all(f in self.funcs for f in funcs)

    def text(self, goid: int, state: str, parent: int | None = None) -> str:
        """The block as a dump prints it, for goroutine ``goid`` in ``state``; ``parent`` sets
        the goroutine in its ``created by ... in goroutine N`` line."""
        lines = [f"goroutine {goid} [{state}]:"]
        for pair in self.frames:
            lines += pair
        if self.created is not None:
            head, where = self.created
            if parent is not None:
                head = _CREATED_IN.sub(f" in goroutine {parent}", head)
            lines += [head, where]
        return "\n".join(lines)


def parse_blocks(text: str) -> list[Block]:
    """The goroutine blocks of a ``?debug=2`` dump (lines outside blocks, such as the
    recordings' ``==== dump N`` separators, are skipped)."""
    out = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [ln for ln in chunk.splitlines() if ln.strip() and not ln.startswith("====")]
        if not lines or not _HEADER.match(lines[0]):
            continue
        head = _HEADER.match(lines[0])
        assert head is not None
        pairs = [(lines[i], lines[i + 1]) for i in range(1, len(lines) - 1, 2)]
        created = pairs.pop() if pairs and pairs[-1][0].startswith("created by ") else None
        out.append(Block(int(head.group(1)), head.group(2), tuple(pairs), created))
    return out


def splice(inner: Block, outer: Block, at: str) -> Block:
    """``inner``'s frames up to and including function ``at``, then ``outer``'s frames below
    ``at`` and its ``created by``: a stack that reaches the same call site from another caller.
    Exact when both frames of ``at`` show the same file:line and offset (the same call site of
    the same binary); anything else raises."""
    i, o = inner.funcs.index(at), outer.funcs.index(at)
    if inner.frames[i][1] != outer.frames[o][1]:
        raise ValueError(f"{at} is at {inner.frames[i][1]!r} in one and {outer.frames[o][1]!r}")
    return replace(
        inner, frames=inner.frames[: i + 1] + outer.frames[o + 1 :], created=outer.created
    )


# ---- the recorded situations -----------------------------------------------------------------

HANDLER = "main.handleMetrics"
FETCH = "main.fetchFromDB"
WIRE_QUERY = "labkit.local/dashboard/wiredb.(*conn).QueryContext"
CGO_QUERY = "labkit.local/dashboard/cgodb._Cfunc_cgodb_query"
RESPONSE_WRITE = "net/http.(*response).Write"
ENCODE = "encoding/json.(*Encoder).Encode"


def _is(state: str, *funcs: str, without: tuple[str, ...] = ()):
    return lambda b: b.state == state and b.has(*funcs) and not any(f in b.funcs for f in without)


#: situation -> (recording, the first block in it that is one). Blocked goroutines come from the
#: ``blocked`` runs; CPU steps (:data:`CPU_STEPS`) from the ``busy`` runs, wherever a dump caught
#: a goroutine in that step.
SITUATIONS = {
    "dumper": ("blocked", _is("running", "runtime/pprof.writeGoroutineStacks")),
    "dumper_bg": (
        "blocked",
        _is("runnable", "net/http.(*connReader).startBackgroundRead.gowrap2"),
    ),
    "accept": ("blocked", _is("IO wait", "net.(*TCPListener).Accept", "net/http.(*Server).Serve")),
    "opener": ("blocked", _is("select", "database/sql.(*DB).connectionOpener")),
    "render_wait": ("blocked", _is("chan receive", "main.renderLoop", without=("main.drawFrame",))),
    "idle": ("blocked", _is("IO wait", "bufio.(*Reader).Peek", SERVE, without=(HANDLER,))),
    "background_read": ("blocked", _is("IO wait", "net/http.(*connReader).backgroundRead")),
    "pool_wait": ("blocked", _is("select", "database/sql.(*DB).conn", HANDLER)),
    "query_network": ("blocked", _is("IO wait", WIRE_QUERY, HANDLER)),
    "query_cgo": ("blocked_cgo", _is("syscall", CGO_QUERY, HANDLER)),
    "write_marshal": ("blocked", _is("IO wait", RESPONSE_WRITE, HANDLER, without=(ENCODE,))),
    "write_stream": ("blocked_stream", _is("IO wait", ENCODE, RESPONSE_WRITE, HANDLER)),
    "write_copy": ("blocked_cache", _is("IO wait", RESPONSE_WRITE, HANDLER, without=("io.Copy",))),
    "write_copy_stream": ("blocked_cache_stream", _is("IO wait", "io.Copy", HANDLER)),
    "refresh_sleep": ("blocked_cache", _is("sleep", REFRESHER)),
    "refresh_query_network": ("blocked_cache_stream", _is("IO wait", WIRE_QUERY, REFRESHER)),
    "hot": ("blocked", _is("runnable", "main.downsample", HANDLER)),
    "decode": ("busy", _is("runnable", "database/sql.(*Rows).Scan", FETCH, HANDLER)),
    "marshal": ("busy", _is("runnable", "encoding/json.Marshal", HANDLER)),
    "render": ("busy", _is("runnable", "main.drawFrame")),
    "stream": ("busy_stream", _is("runnable", ENCODE, HANDLER, without=(RESPONSE_WRITE,))),
    "refresh_decode": ("busy_cache", _is("runnable", "database/sql.(*Rows).Scan", REFRESHER)),
    "refresh": ("busy_cache", _is("runnable", "encoding/json.Marshal", REFRESHER)),
}
CPU_STEPS = ("decode", "marshal", "render", "stream", "refresh_decode", "refresh")


def _find(texts: dict[str, str], situation: str) -> Block | None:
    run, pick = SITUATIONS[situation]
    return next((b for b in parse_blocks(texts.get(run, "")) if pick(b)), None)


def missing_cpu_steps(texts: dict[str, str]) -> list[str]:
    """The CPU steps no recorded dump caught (``recording.py`` runs the busy runs again)."""
    return [s for s in CPU_STEPS if _find(texts, s) is None]


@functools.cache
def recorded_blocks() -> dict[str, Block]:
    """Every situation's real block, and the two that join recorded pieces: the refresher
    waiting for a connection, and the refresher's query in a cgo call (each the handler's
    frames down to main.fetchFromDB, then the refresher's)."""
    texts = {p.stem.removeprefix("dump_"): p.read_text() for p in RECORDED.glob("dump_*.txt")}
    blocks = {}
    for name in SITUATIONS:
        found = _find(texts, name)
        if found is None:
            raise RuntimeError(f"no recorded goroutine for {name!r} in {RECORDED}; re-record")
        blocks[name] = found
    refresher = blocks["refresh_query_network"]
    blocks["refresh_pool_wait"] = splice(blocks["pool_wait"], refresher, FETCH)
    blocks["refresh_query_cgo"] = splice(blocks["query_cgo"], refresher, FETCH)
    return blocks


# ---- from the model's goroutines to the recorded ones ---------------------------------------


def _model_stacks() -> list[tuple[str, tuple[str, ...]]]:
    """(step, the model's stack leaf first), longest first: what labkit.models.scheduler's dump ends with.
    Every write stack is step ``write`` (copying cached bytes is the write itself): which one is
    recorded depends on how the handler encodes (``situation``)."""
    cpu = {k: s for k, s in STACKS.items() if not k.startswith("gc_") and not k.startswith("copy")}
    known = [(k, s) for k, s in cpu.items()] + [(k, f"{s};{ASSIST}") for k, s in cpu.items()]
    known += [("write", s) for s in WRITE_STACKS.values()]
    known += [("serve", SERVE), ("render_wait", "main.renderLoop"), ("refresh_sleep", REFRESHER)]
    pairs = [(k, tuple(reversed(s.split(";")))) for k, s in known]
    return sorted(pairs, key=lambda p: -len(p[1]))


_STACKS = _model_stacks()


def model_step(funcs: tuple[str, ...]) -> str:
    """The model's step for a goroutine of labkit.models.scheduler's dump (frames leaf first): the longest
    of the program's stacks its frames end with."""
    for step, stack in _STACKS:
        if funcs[len(funcs) - len(stack) :] == stack:
            return step
    raise ValueError(f"no step of the case-study program has the stack {funcs!r}")


#: A step too short to be caught on a CPU by a real dump: where it meets its next wait.
_SHORT_STEPS = {"parse": "idle", "conn": "pool_wait", "refresh_conn": "refresh_pool_wait"}


def situation(step: str, params: IncidentParams) -> str:
    """The recorded situation of a goroutine at model step ``step``."""
    name = _SHORT_STEPS.get(step, step)
    if name == "serve":  # waiting for the next request on a keep-alive connection
        return "idle"
    if name == "write":
        return f"write_{encode_kind(params)}"
    if name in ("query", "refresh_query"):
        return f"{name}_{'cgo' if params.db_driver == 'cgo' else 'network'}"
    return name


def incident_dump(
    model_dump: str, keep: set[int], params: IncidentParams, idle_connections: int = 0
) -> str:
    """The ``?debug=2`` dump of the incident: the goroutines ``keep`` of labkit.models.scheduler's dump
    ``model_dump``, each as the recorded real goroutine in the same place and state, with the
    goroutines a real server has besides: the one serving the dump (and its background read),
    main in the accept loop (goroutine 1), database/sql's connectionOpener, one backgroundRead
    per handler in flight, ``idle_connections`` keep-alive connections the model has no
    goroutine for (clients with no poll left), and the render loop and refresher once the
    model's goroutines for them have ended."""
    real = recorded_blocks()
    every = parse_blocks(model_dump)
    ids = iter(range(max((b.goid for b in every), default=1) + 1, 1 << 62))
    dumper = next(ids)
    first = real["dumper"].text(dumper, "running")
    rest = [(1, real["accept"].text(1, "IO wait"))]  # main, in srv.Serve: the accept loop
    extra: list[tuple[str, int | None]] = [("opener", None), ("dumper_bg", dumper)]
    for b in every:
        if b.goid not in keep:
            continue
        block = real[situation(model_step(b.funcs), params)]
        state = "runnable" if b.state in ("running", "runnable") else block.state
        rest.append((b.goid, block.text(b.goid, state)))
        if HANDLER in block.funcs:  # net/http reads ahead while a handler runs
            extra.append(("background_read", b.goid))
    shown = {f for _, text in rest for f in ("main.renderLoop", REFRESHER) if f in text}
    # the render loop and the refresher loop for as long as the process lives; the model's
    # goroutines for them end with the run
    extra += [(name, None) for name, f in [("render_wait", "main.renderLoop")] if f not in shown]
    if params.cache_json and REFRESHER not in shown:
        extra.append(("refresh_sleep", None))
    extra += [("idle", None)] * idle_connections
    for name, parent in extra:
        goid = next(ids)
        rest.append((goid, real[name].text(goid, real[name].state, parent)))
    return "\n\n".join([first, *(text for _, text in sorted(rest))]) + "\n"
