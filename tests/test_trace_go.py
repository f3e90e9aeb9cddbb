"""labkit.traces against the Go toolchain's own parser, on fresh traces and on Go's test cases.

Builds and runs each program of tests/data/trace_programs (CPU-bound hogs with a ticker,
channel ping-pong, timers, blocking syscalls, network waits, GC-heavy), then compares
``parsed_dump`` with ``go tool trace -d=parsed`` character for character and
``Trace.to_profile(kind).top()`` with ``go tool pprof -top`` of ``go tool trace -pprof=kind``.
Go's own trace format test cases (src/internal/trace/testdata/tests, formats 1.22 to 1.25, with
the tricky orderings: syscalls whose P is stolen across generations, coroutine switches ...) are
turned into bytes (tests/trace_textformat.py) and compared the same way.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest
from go_toolchain import require_go
from trace_textformat import cases_dir, encode, read_case

from labkit.traces import TraceError, load_trace, parsed_dump

pytestmark = [pytest.mark.go, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("record_traces", ROOT / "scripts/record_traces.py")
REC = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(REC)
CASES = sorted(cases_dir().glob("*.test")) if cases_dir() else []


@pytest.fixture(scope="module")
def go() -> str:
    return require_go()


@pytest.fixture(scope="module")
def fresh(go, tmp_path_factory) -> Path:
    """A fresh trace of every program, recorded now with GOMAXPROCS=2."""
    work = tmp_path_factory.mktemp("traces")
    for program in REC.PROGRAMS:
        REC.record(REC.build(go, program, work), work / f"{program}.trace")
    return work


@pytest.mark.parametrize("program", REC.PROGRAMS)
def test_parsed_dump_is_what_go_tool_trace_prints(go, fresh, program):
    trace = fresh / f"{program}.trace"
    expected = REC.go_parsed(go, trace)
    assert expected.count("\n") > 50
    assert parsed_dump(trace) == expected


@pytest.mark.parametrize("kind", REC.KINDS)
@pytest.mark.parametrize("program", REC.PROGRAMS)
def test_profile_top_is_what_go_tool_pprof_prints(go, fresh, program, kind, tmp_path):
    trace = fresh / f"{program}.trace"
    profile = load_trace(trace).to_profile(kind)
    for sample_type in REC.SAMPLE_INDEXES:
        expected = REC.go_pprof_top(go, trace, kind, tmp_path, sample_type)
        assert profile.top(None, sample_type) == expected, sample_type


def test_every_kind_of_wait_appears_in_some_program(go, fresh, tmp_path):
    """The programs exercise each profile: none of the comparisons above is vacuous."""
    for kind, program in (
        ("sched", "cpuhogs"),
        ("sync", "pingpong"),
        ("syscall", "syscalls"),
        ("net", "netwait"),
    ):
        assert REC.go_pprof_top(go, fresh / f"{program}.trace", kind, tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_go_format_test_cases(go, case, tmp_path):
    """SUCCESS cases: the same events as Go's parser; FAILURE cases: a TraceError whose message
    has Go's own reason, where Go's parser fails too."""
    expect, text = read_case(case)
    trace = tmp_path / "case.trace"
    trace.write_bytes(encode(text))
    proc = subprocess.run(
        [go, "tool", "trace", "-d=parsed", str(trace)],
        capture_output=True,
        text=True,
        env=REC._env(go),
        timeout=120,
    )
    if expect == "SUCCESS":
        assert proc.returncode == 0, proc.stderr
        assert parsed_dump(trace) == proc.stdout
    else:
        assert proc.returncode != 0
        reason = expect.split('"')[1].strip(".*")
        with pytest.raises(TraceError, match=reason):
            load_trace(trace)
