"""docs/field-guide.md says only what is true of the course's toolchain and services.

Each check is a function of the guide's text, so a test can feed it a guide with one thing wrong
and see it fail:

- its PromQL is the runner's own (labkit.golab.services.queries, one source of truth) and, on the
  real Prometheus, returned series, except the one query the guide says "returns nothing", which
  returned none (the recorded runs' ``series``; live, a short run of each service);
- its runtime/metrics names are in the toolchain's src/runtime/metrics/description.go;
- each src/ citation is a declaration of a name the guide gives just before it;
- its start-up Go code is what the course's services run (internal/obs/obs.go);
- every ``go tool`` command runs on the course's recorded artefacts and exits 0 (``-http=...``
  forms are run as ``-top`` with the same other flags: that parses the flags and the profiles
  without serving a page; ``go tool trace trace.out``, the viewer, is the one not run); what
  ``go tool trace -pprof`` writes opens with ``go tool pprof``;
- what it says the artefacts show (gopark on top of the goroutine profile, who parked them, no
  gopark in the CPU profile) is what the recorded dashboard's artefacts show;
- (live, where the packages are) every URL it fetches is served by the real dashboard service
  with the kind of body the guide expects.
"""

from __future__ import annotations

import functools
import gzip
import os
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import pytest

from labkit.golab.services import queries, run_service
from labkit.golab.services.run import RECORDED_DIR

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "field-guide.md"
GO_SRC = ROOT / ".venv/lib/python3.11/site-packages/go/src"
GO = ROOT / ".venv/bin/go"
OBS = ROOT / "labkit/golab/go/services/internal/obs/obs.go"

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
METRIC = re.compile(r"`(/[a-z][a-z0-9/_-]*:[a-z-]+)`")
CITE = re.compile(r"src/([\w/.]+\.go):(\d+(?:, \d+)*)")
DECL = re.compile(r"(?:func (?:\([^)]*\) )?|type |var )(\w+)")
INLINE_PROMQL = re.compile(r"`((?:rate|avg_over_time|histogram_quantile)\(.*?)`(?!`)", re.S)
SAYS_EMPTY = "returns nothing"
SERVICES = ("dashboard", "render")


def blocks(text: str, lang: str) -> list[str]:
    """The lines of the guide's fenced blocks of ``lang``, trailing ``#`` comments dropped."""
    out = []
    for kind, body in BLOCK.findall(text):
        if kind == lang:
            out += [ln.split("  #")[0].strip() for ln in body.splitlines() if ln.strip()]
    return out


def promql(text: str) -> list[str]:
    return blocks(text, "promql") + [" ".join(q.split()) for q in INLINE_PROMQL.findall(text)]


def promql_problems(text: str, series: Mapping[str, list]) -> list[str]:
    """``series``: what the real Prometheus returned, by query string."""
    known = {q for s in SERVICES for q in queries(s, 0.2).values()}
    flat = " ".join(text.split())
    out = []
    for q in promql(text):
        if q not in known:
            out.append(f"PromQL not the runner's: {q}")
            continue
        end = flat.index(q) + len(q)
        says_empty = SAYS_EMPTY in flat[end : end + 30]
        if bool(series[q]) == says_empty:
            got = f"{len(series[q])} series" if series[q] else "no series"
            out.append(f"{q} returned {got}, the guide says {'none' if says_empty else 'some'}")
    return out


def metric_problems(text: str) -> list[str]:
    described = (GO_SRC / "runtime/metrics/description.go").read_text()
    return [f"no runtime/metrics {m}" for m in METRIC.findall(text) if f'"{m}"' not in described]


def citation_problems(text: str) -> list[str]:
    out = []
    for m in CITE.finditer(text):
        path, lines = m.groups()
        src = GO_SRC / path
        if not src.is_file():
            out.append(f"no file src/{path}")
            continue
        content = src.read_text().splitlines()
        before = text[max(0, m.start() - 60) : m.start()]
        for n in map(int, lines.split(", ")):
            decl = DECL.match(content[n - 1]) if n <= len(content) else None
            if decl is None:
                out.append(f"src/{path}:{n} is not a declaration")
            elif decl[1] not in before:
                out.append(f"src/{path}:{n} declares {decl[1]}, not named before the citation")
    return out


def go_code_problems(text: str) -> list[str]:
    """The start-up code is the course's services' own: the same calls, rule and rates."""
    obs = OBS.read_text()
    code = "\n".join(ln.split(" //")[0] for ln in blocks(text, "go"))
    out = [f"{c} is not in obs.go" for c in re.findall(r"\b\w+\.\w+\(", code) if c not in obs]
    out += [
        f"import {i} is not obs.go's" for i in re.findall(r"import (_ \S+)", code) if i not in obs
    ]
    out += [f"rule {r} is not obs.go's" for r in re.findall(r"`(\^[^`]*)`", code) if r not in obs]
    for call, flag in (
        ("SetBlockProfileRate", "block-rate"),
        ("SetMutexProfileFraction", "mutex-fraction"),
    ):
        ours = re.search(rf"{call}\(([\d_]+)\)", code)
        theirs = re.search(rf'"{flag}", (\d+)', obs)
        if ours is None or theirs is None or int(ours[1].replace("_", "")) != int(theirs[1]):
            out.append(f"{call}: not the services' -{flag} default")
    return out


def urls(text: str) -> list[str]:
    return [m for ln in blocks(text, "sh") for m in re.findall(r"'http://HOST(/[^']+)'", ln)]


def go_commands(text: str) -> list[tuple[list[str], str | None]]:
    """Each ``go tool`` line as argv, with the file its stdout goes to (``> file``) if any."""
    cmds = []
    for ln in blocks(text, "sh"):
        if ln.startswith("go tool "):
            cmd, _, out = ln.partition(" > ")
            cmds.append((shlex.split(cmd), out.strip() or None))
    return cmds


# ---- what needs no toolchain ------------------------------------------------------------------------


@functools.cache
def recorded_series() -> dict[str, list]:
    out = {}
    for s in SERVICES:
        run = run_service(s, source="recorded")
        out.update({run.queries[name]: got for name, got in run.series.items()})
    return out


def test_the_guide_is_checked_as_it_is():
    text = GUIDE.read_text()
    assert promql_problems(text, recorded_series()) == []
    assert metric_problems(text) == []
    assert citation_problems(text) == []
    assert go_code_problems(text) == []
    assert len(promql(text)) >= 9 and len(urls(text)) >= 7 and len(go_commands(text)) >= 14
    assert len(CITE.findall(text)) >= 11 and len(METRIC.findall(text)) >= 4


@pytest.mark.parametrize(
    ("old", "new", "check"),
    [
        ("[1000ms])))\nrate(go_sql", "[5m])))\nrate(go_sql", "promql"),  # not the runner's
        ("(go_sched_latencies_seconds_bucket", "(go_sched_latency_seconds_bucket", "promql"),
        (f"{SAYS_EMPTY}:", "returns the ratio:", "promql"),  # it returned no series
        ("`/sched/latencies:seconds`", "`/sched/latency:seconds`", "metric"),
        ("pprof.go:95", "pprof.go:96", "citation"),  # not a declaration
        ("mprof.go:527", "mprof.go:513", "citation"),  # blocksampled, not named there
        ("flightrecorder.go:48, 68", "flightrecorder.go:48, 88", "citation"),  # Stop
        ("SetBlockProfileRate(10_000)", "SetBlockProfileRate(1)", "go"),
        ("`^/(sched|gc)/.*`", "`^/(sched)/.*`", "go"),
        ("collectors.NewGoCollector(", "collectors.NewGoCollectorV2(", "go"),
    ],
)
def test_a_wrong_guide_fails(old, new, check):
    text = GUIDE.read_text()
    assert old in text
    wrong = text.replace(old, new, 1)
    problems = {
        "promql": lambda t: promql_problems(t, recorded_series()),
        "metric": metric_problems,
        "citation": citation_problems,
        "go": go_code_problems,
    }[check](wrong)
    assert problems != []


def test_the_stall_doctor_command_runs(tmp_path):
    here = _artefacts(tmp_path)
    line = next(ln for ln in blocks(GUIDE.read_text(), "sh") if ln.startswith("python -m"))
    argv = [sys.executable, *shlex.split(line)[1:]]
    done = subprocess.run(argv, capture_output=True, timeout=300, text=True, cwd=here)
    assert done.returncode == 0, done.stderr[-500:]
    assert "stall doctor" in done.stdout and "region 'frame'" in done.stdout


def test_the_cpu_profile_is_silent_about_waiting():
    """Step 5: the recorded dashboard had 28 of 34 goroutines in gopark (next test), and its CPU
    profile has no sample in gopark; its database time shows as runtime.cgocall."""
    stacks = run_service("dashboard", source="recorded").cpu.stacks()
    assert stacks and not any("runtime.gopark" in st for st in stacks)
    assert any("runtime.cgocall" in st for st in stacks)


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


def _go(argv: list[str], here: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOFLAGS": "", "HOME": str(here), "PPROF_TMPDIR": str(here)}
    return subprocess.run([str(GO), *argv[1:]], capture_output=True, timeout=120, env=env, cwd=here)


def command_problems(text: str, here: Path) -> list[str]:
    """Runs each of the guide's ``go tool`` commands in ``here``; what failed or printed nothing."""
    out = []
    for argv, dest in go_commands(text):
        if argv == ["go", "tool", "trace", "trace.out"]:
            continue  # the viewer serves a web page until stopped: the -pprof forms parse it
        argv = ["-top" if a.startswith("-http=") else a for a in argv]
        done = _go(argv, here)
        if done.returncode != 0 or not done.stdout:
            out.append(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()[-300:]}")
            continue
        if dest:  # what it wrote opens with go tool pprof
            (here / dest).write_bytes(done.stdout)
            opened = _go(["go", "tool", "pprof", "-top", dest], here)
            if opened.returncode != 0:
                out.append(f"go tool pprof cannot read {dest}: {opened.stderr.decode()[-300:]}")
    return out


def _require_go() -> None:
    if not GO.exists():
        pytest.skip("the course's Go toolchain is not installed (python3 course.py setup)")


@pytest.mark.go
def test_every_go_tool_command_runs_on_the_recordings(tmp_path):
    _require_go()
    here = _artefacts(tmp_path)
    assert command_problems(GUIDE.read_text(), here) == []
    wrong = "```sh\ngo tool trace -pprof=schedule trace.out > sched.pprof\n```\n"
    assert command_problems(wrong, here) != []


@pytest.mark.go
def test_the_goroutine_profile_shows_what_the_guide_says(tmp_path):
    """Step 3 on the recorded dashboard: gopark is the first row of -top, runtime.selectgo and
    runtime.netpollblock are among its callers, (*DB).conn is among selectgo's, and the debug=2
    dump has goroutines in [select] and [IO wait] and in connReader.backgroundRead."""
    _require_go()
    here = _artefacts(tmp_path)
    top = _go(["go", "tool", "pprof", "-top", "goroutine.pb.gz"], here).stdout.decode()
    first = top.split("cum%\n")[1].splitlines()[0]
    assert first.split()[-1] == "runtime.gopark"
    peek = _go(["go", "tool", "pprof", "-peek", r"runtime\.gopark$", "goroutine.pb.gz"], here)
    assert {"runtime.selectgo", "runtime.netpollblock"} <= set(peek.stdout.decode().split())
    peek = _go(["go", "tool", "pprof", "-peek", r"runtime\.selectgo$", "goroutine.pb.gz"], here)
    assert "database/sql.(*DB).conn" in peek.stdout.decode().split()
    dump = (RECORDED_DIR / "dashboard/goroutine-2.txt").read_text()
    assert "[select]:" in dump and "[IO wait]:" in dump
    assert "net/http.(*connReader).backgroundRead" in dump


# ---- live: the URLs and the PromQL on the real services -------------------------------------------


def _kind(body: bytes) -> str:
    if body[:2] == b"\x1f\x8b":
        return "gzip protobuf"
    if body.startswith(b"go 1."):
        return "trace"
    if body.startswith(b"goroutine"):
        return "text"
    return repr(body[:40])


def url_problems(text: str, base: str) -> list[str]:
    """Fetches each of the guide's URLs from the service at ``base`` (``seconds=N`` as 1: the
    same handler, sooner); the paths not served or not with the body the guide expects."""
    want = {"goroutine?debug=1": "text", "goroutine?debug=2": "text", "trace": "trace"}
    out = []
    for path in urls(text):
        quick = re.sub(r"seconds=\d+", "seconds=1", path)
        try:
            body = urllib.request.urlopen(base + quick, timeout=30).read()
        except urllib.error.HTTPError as exc:
            out.append(f"{path}: HTTP {exc.code}")
            continue
        name = path.split("/debug/pprof/")[-1].split("?seconds")[0]
        if _kind(body) != want.get(name, "gzip protobuf"):
            out.append(f"{path}: {_kind(body)}")
    return out


@pytest.mark.go
def test_every_url_is_served_by_the_real_service(tmp_path):
    from services_env import bare_dashboard

    text = GUIDE.read_text()
    line = next(ln for ln in text.splitlines() if "goroutine?debug=1" in ln)
    wrong = "```sh\n" + line.replace("goroutine?debug=1", "goroutines?debug=1") + "\n```\n"
    with bare_dashboard(tmp_path, "-block-rate=10000", "-mutex-fraction=5") as base:
        assert url_problems(text, base) == []
        assert url_problems(wrong, base) != []


@pytest.mark.go
def test_the_guides_promql_returns_series_on_a_live_prometheus():
    """A short live run of each service (about 20 s in all): every query of the guide returns
    series, except the article's ratio, which returns none, as the guide says."""
    from services_env import require_services

    require_services(prometheus=True)
    live = {}
    for s in SERVICES:
        run = run_service(s, source="live", seconds=2, trace_seconds=0)
        live.update({run.queries[name]: got for name, got in run.series.items()})
    assert promql_problems(GUIDE.read_text(), live) == []
