"""docs/field-guide.md says only what is true of the course's toolchain and services: its PromQL
is the runner's own (labkit.golab.services.queries), its runtime/metrics names exist in the
toolchain's runtime/metrics, its Go source citations point at the declarations they name, every
`go tool` command in it runs on the course's recorded artefacts, and (live, where the packages
are) every URL it fetches is served by the real dashboard service. Each check is fed a guide with
one thing wrong, and fails."""

from __future__ import annotations

import gzip
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from labkit.golab.services import queries
from labkit.golab.services.run import RECORDED_DIR

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "field-guide.md"
GO_SRC = ROOT / ".venv/lib/python3.11/site-packages/go/src"
GO = ROOT / ".venv/bin/go"

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
METRIC = re.compile(r"`(/[a-z][a-z0-9/_-]*:[a-z-]+)`")
CITE = re.compile(r"src/([\w/.]+\.go):(\d+(?:, \d+)*)")


def blocks(text: str, lang: str) -> list[str]:
    """The lines of the guide's fenced blocks of ``lang``, comments dropped."""
    out = []
    for kind, body in BLOCK.findall(text):
        if kind == lang:
            out += [ln.split("  #")[0].strip() for ln in body.splitlines() if ln.strip()]
    return out


def promql_problems(text: str) -> list[str]:
    known = {q for s in ("dashboard", "render") for q in queries(s, 0.2).values()}
    inline = re.findall(r"`((?:rate|avg_over_time|histogram_quantile)\(.*?)`(?!`)", text)
    return [
        f"PromQL not the runner's: {q}" for q in blocks(text, "promql") + inline if q not in known
    ]


def metric_problems(text: str) -> list[str]:
    described = (GO_SRC / "runtime/metrics/description.go").read_text()
    return [f"no runtime/metrics {m}" for m in METRIC.findall(text) if f'"{m}"' not in described]


def citation_problems(text: str) -> list[str]:
    out = []
    for path, lines in CITE.findall(text):
        src = GO_SRC / path
        if not src.is_file():
            out.append(f"no file src/{path}")
            continue
        content = src.read_text().splitlines()
        for n in map(int, lines.split(", ")):
            if n > len(content) or not content[n - 1].startswith(("func ", "type ")):
                out.append(f"src/{path}:{n} is not a declaration")
    return out


def urls(text: str) -> list[str]:
    return [m for ln in blocks(text, "sh") for m in re.findall(r"'http://HOST(/[^']+)'", ln)]


def go_commands(text: str) -> list[list[str]]:
    cmds = []
    for ln in blocks(text, "sh"):
        if ln.startswith("go tool "):
            cmds.append(shlex.split(ln.split(" > ")[0]))
    return cmds


def test_the_guide_is_checked_as_it_is():
    text = GUIDE.read_text()
    assert promql_problems(text) == []
    assert metric_problems(text) == []
    assert citation_problems(text) == []
    assert len(blocks(text, "promql")) >= 5 and len(urls(text)) >= 7 and len(go_commands(text)) >= 9


@pytest.mark.parametrize(
    ("old", "new", "problems"),
    [
        ("[1000ms])))\nrate(go_sql", "[5m])))\nrate(go_sql", promql_problems),
        ("(go_sched_latencies_seconds_bucket", "(go_sched_latency_seconds_bucket", promql_problems),
        ("`/sched/latencies:seconds`", "`/sched/latency:seconds`", metric_problems),
        ("mprof.go:483", "mprof.go:484", citation_problems),
        ("flightrecorder.go:48, 68", "flightrecorder.go:48, 69", citation_problems),
    ],
)
def test_a_wrong_guide_fails(old, new, problems):
    text = GUIDE.read_text()
    assert old in text
    assert problems(text.replace(old, new, 1)) != []


# ---- the commands, on the course's recorded artefacts ---------------------------------------------


def _artefacts(tmp: Path) -> Path:
    """The guide's file names in ``tmp``, as the course recorded them (the render loop's trace:
    small); returns ``tmp``."""
    rec = {
        "goroutine.pb.gz": "dashboard/goroutine-0.pb.gz",
        "block.pb.gz": "dashboard/block.pb.gz",
        "mutex.pb.gz": "dashboard/mutex.pb.gz",
        "cpu.pb.gz": "dashboard/cpu.pb.gz",
        "block_before.pb.gz": "dashboard/block.pb.gz",
        "block_after.pb.gz": "dashboard-all-fixes/block.pb.gz",
        "cpu_before.pb.gz": "dashboard/cpu.pb.gz",
        "cpu_after.pb.gz": "dashboard-all-fixes/cpu.pb.gz",
    }
    for name, path in rec.items():
        (tmp / name).write_bytes((RECORDED_DIR / path).read_bytes())
    trace = gzip.decompress((RECORDED_DIR / "render/trace.trace.gz").read_bytes())
    (tmp / "trace.out").write_bytes(trace)
    return tmp


@pytest.mark.go
def test_every_go_tool_command_runs_on_the_recordings(tmp_path):
    if not GO.exists():
        pytest.skip("the course's Go toolchain is not installed (python3 course.py setup)")
    here = _artefacts(tmp_path)
    env = {**os.environ, "GOFLAGS": "", "HOME": str(tmp_path), "PPROF_TMPDIR": str(tmp_path)}
    ran = 0
    for cmd in go_commands(GUIDE.read_text()):
        if cmd == ["go", "tool", "trace", "trace.out"]:
            continue  # the viewer serves a web page until stopped: the -pprof forms parse it
        argv = [str(GO), *cmd[1:]]
        done = subprocess.run(argv, capture_output=True, timeout=120, env=env, cwd=here)
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr.decode()[-500:]}"
        assert done.stdout, f"{' '.join(cmd)} printed nothing"
        ran += 1
    assert ran >= 9


def test_the_stall_doctor_command_runs(tmp_path):
    here = _artefacts(tmp_path)
    line = next(ln for ln in blocks(GUIDE.read_text(), "sh") if ln.startswith("python -m"))
    argv = [sys.executable, *shlex.split(line)[1:]]
    done = subprocess.run(argv, capture_output=True, timeout=300, text=True, cwd=here)
    assert done.returncode == 0, done.stderr[-500:]
    assert "stall doctor" in done.stdout


# ---- the URLs, on the real service -----------------------------------------------------------------


def _kind(body: bytes) -> str:
    if body[:2] == b"\x1f\x8b":
        return "gzip protobuf"
    if body.startswith(b"go 1."):
        return "trace"
    if body.startswith(b"goroutine"):
        return "text"
    return repr(body[:40])


@pytest.mark.go
def test_every_url_is_served_by_the_real_service(tmp_path):
    from services_env import bare_dashboard

    want = {"goroutine?debug=1": "text", "goroutine?debug=2": "text", "trace": "trace"}
    with bare_dashboard(tmp_path, "-block-rate=10000", "-mutex-fraction=5") as base:
        for path in urls(GUIDE.read_text()):
            quick = re.sub(r"seconds=\d+", "seconds=1", path)  # the same handler, sooner
            body = urllib.request.urlopen(base + quick, timeout=30).read()
            name = path.split("/debug/pprof/")[1].split("?seconds")[0]
            assert _kind(body) == want.get(name, "gzip protobuf"), path
