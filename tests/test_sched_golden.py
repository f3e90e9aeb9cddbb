"""Golden results of the scheduler model: optimising labkit.models.scheduler must not change one bit.

Notebooks, exercises and other tests read the model's results, so a speed-up of
``labkit/models/scheduler/runtime.py`` or ``result.py`` must give the same Result for the same inputs, bit
for bit. Each reference program below is simulated and every part of its Result (all arrays, the
event log, marks, stats, the deadlock text, goroutine dumps at several instants, CPU samples) is
hashed (sha256 of a canonical serialisation: arrays with their dtype and raw bytes, floats by
their IEEE bits, dicts sorted). The hashes in ``tests/data/sched_golden/hashes.json`` were made
by the model as it stands; the behaviour tests (test_sched*.py) say what it must do, so a
regenerated file cannot bless a wrong change.

The programs cover what the runtime does on different paths: run-queue overflow into the global
queue (runqputslow), the 61st-tick global check, work stealing (stealWork, runqgrab's runnext
back-off), sysmon's retake of syscalls and preemption of tight loops with async preemption on
and off (forcePreemptNS) and the requests a Sleep(1ns) loop loses, timers (time.Sleep;
(*timers).check), netpoll, channels (chansend / chanrecv), LockOSThread hand-offs
(startlockedm, stoplockedm), deadlock (checkdead), runs cut short by ``until_ms``, and
GOMAXPROCS 1..8 with different seeds.

Regenerate ONLY for an intended change of the model's behaviour (and say so in the commit):
``.venv/bin/python tests/test_sched_golden.py --regen``.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from labkit.models.scheduler import (
    Chan,
    Go,
    Result,
    cpu,
    gosched,
    io_wait,
    lock_os_thread,
    mark,
    recv,
    repeat,
    send,
    simulate,
    sleep,
    spawn,
    syscall,
    unlock_os_thread,
    wait,
)
from labkit.scenarios.blindspots import PRESETS, build_program

HASHES = Path(__file__).parent / "data" / "sched_golden" / "hashes.json"

# The benchmark's dashboard mix (compute, network, sleep, syscall, tight loop + Gosched, results
# on a buffered channel), used here at sizes a test can afford.
if __name__ == "__main__":  # run as a script (--regen): the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_sched import lab_scenario  # noqa: E402

# ---- reference programs -------------------------------------------------------------------------


def channels_program() -> Go:
    """An unbuffered ping-pong pair, a producer/consumer over a buffer of 2 and a fan-in."""
    ping, pong, buf, fan = Chan(0, "ping"), Chan(0, "pong"), Chan(2, "buf"), Chan(1, "fan")
    a = Go("pinger", [repeat(20, [cpu(0.01), send(ping), recv(pong)]), mark("pp")])
    b = Go("ponger", [repeat(20, [recv(ping), cpu(0.02), send(pong)])])
    prod = Go("producer", [repeat(30, [cpu(0.05), send(buf)])])
    cons = Go("consumer", [repeat(30, [recv(buf), cpu(0.2), sleep(0.1)]), mark("drained")])
    senders = [Go(f"fan{i}", [cpu(0.3 * i), send(fan)]) for i in range(6)]
    sink = Go("sink", [repeat(6, [recv(fan), cpu(0.01)])])
    return Go("main", [spawn(g) for g in (a, b, prod, cons, sink, *senders)])


def deadlock_program() -> Go:
    """Two goroutines each wait for the other's send: checkdead's fatal error."""
    x, y = Chan(0, "x"), Chan(0, "y")
    return Go(
        "main",
        [spawn(Go("left", [recv(x), send(y)])), spawn(Go("right", [recv(y), send(x)])), cpu(1)],
    )


def locked_program() -> Go:
    """A ticker locked to its thread (LockOSThread) among CPU workers, then unlocked."""
    ticker = Go(
        "ticker",
        [lock_os_thread(), repeat(15, [sleep(1.5), mark("tick"), cpu(0.3)]), unlock_os_thread()]
        + [sleep(1), cpu(0.5)],
    )
    exiting = Go("locked_exit", [lock_os_thread(), cpu(2), sleep(0.5), cpu(1)])
    workers = [Go(f"cpu{i}", [cpu(3.0 + i), sleep(0.7), cpu(2)]) for i in range(6)]
    return Go("main", [spawn(ticker), spawn(exiting), *[spawn(w) for w in workers]])


def syscall_program() -> Go:
    """Blocking syscalls long enough for sysmon's retake and hand-off, short ones that keep their P."""
    gs = []
    for i in range(10):
        ms = 25.0 if i % 3 == 0 else 0.01 * (i + 1)
        gs.append(Go(f"sc{i}", [cpu(0.2), syscall(ms), cpu(0.3), syscall(0.05), cpu(0.1)]))
    return Go("main", [*[spawn(g) for g in gs], syscall(12.0), cpu(1)])


def timers_program() -> Go:
    """time.Sleep of every flavour (0, 1 ns, sub-ms, ms), wait() reasons and network waits."""
    gs = [
        Go("s0", [repeat(50, [cpu(0.01), sleep(0)]), mark("s0")]),
        Go("s1ns", [repeat(40, [cpu(0.02), sleep(1e-6)]), mark("s1ns")]),
        Go("sub", [repeat(10, [sleep(0.1), cpu(0.01)]), mark("sub")]),
        Go("long", [sleep(15), cpu(1), sleep(3.3), mark("long")]),
        Go("waiter", [wait(2.5, "sync.Mutex.Lock"), cpu(0.1), wait(1.0), mark("waiter")]),
        Go("net", [io_wait(4), cpu(0.2), io_wait(11), cpu(0.2), mark("net")]),
    ]
    return Go("main", [spawn(g) for g in gs])


def gosched_program() -> Go:
    """Two goroutines yielding to each other through the global queue (goschedImpl)."""
    a = Go("A", [repeat(400, [cpu(1.1e-6), gosched()])])
    b = Go("B", [repeat(400, [gosched()])])
    return Go("main", [spawn(b), spawn(a)])


def sleep_1ns_program() -> Go:
    """A loop that sleeps 1 ns per iteration beside a goroutine that yields: sysmon's preemption
    requests mostly land while the loop parks and are lost (execute clears gp.preempt); the seed
    decides which one stands."""
    other = Go("other", [repeat(10**6, [cpu(2e-6), mark("turn"), gosched()])])
    return Go("main", [spawn(other), gosched(), repeat(10**6, [cpu(1e-6), sleep(1e-6)])])


def tight_loop_program() -> Go:
    """Tight loops (calls=False) and calling code competing with short requests."""
    loops = [Go(f"loop{i}", [cpu(40 + 5 * i, calls=False)]) for i in range(3)]
    caller = Go("caller", [cpu(35, stack="main.work;main.hot")])
    reqs = [Go(f"req{i}", [io_wait(1 + 2 * i), cpu(0.5), mark("req")]) for i in range(10)]
    return Go("main", [*[spawn(g) for g in loops], spawn(caller), *[spawn(g) for g in reqs]])


def _random_step(kind: int, ms: float):
    """One of the nine plain step kinds, with a duration derived from ``ms``."""
    if kind == 0:
        return cpu(ms)
    if kind == 1:
        return cpu(ms, calls=False)
    if kind == 2:
        return syscall(ms / 3)
    if kind == 3:
        return io_wait(ms / 3)
    if kind == 4:
        return sleep(ms / 4)
    if kind == 5:
        return sleep(0)
    if kind == 6:
        return wait(ms / 4, "select")
    if kind == 7:
        return gosched()
    return mark("m")


def random_program(seed: int) -> Go:
    """A seeded mix of every step kind over a few channels, like strategies_sched.programs but
    fixed by a numpy seed so the golden file does not depend on hypothesis' generator."""
    rng = np.random.default_rng(seed)
    chans = [Chan(int(rng.integers(0, 3)), name=f"c{i}") for i in range(2)]
    workers = []
    for _ in range(int(rng.integers(4, 12))):
        steps = []
        for _ in range(int(rng.integers(1, 7))):
            steps.append(_random_step(int(rng.integers(0, 9)), float(rng.uniform(0, 8))))
        if rng.random() < 0.4:
            steps = [repeat(int(rng.integers(0, 4)), steps)]
        if rng.random() < 0.2:
            steps = [lock_os_thread(), *steps, unlock_os_thread()]
        workers.append(steps)
    for c in chans:  # equal sends and receives per channel, in random goroutines
        for _ in range(int(rng.integers(1, 4))):
            workers[int(rng.integers(len(workers)))].append(send(c))
            workers[int(rng.integers(len(workers)))].insert(0, recv(c))
    gos = [Go(f"r{i}", steps) for i, steps in enumerate(workers)]
    return Go("main", [*[spawn(g) for g in gos], cpu(float(rng.uniform(0, 2)))])


def _preset(key: str, which: str) -> tuple[Callable[[], Go], dict]:
    lp = getattr(PRESETS[key], which)
    kw = dict(gomaxprocs=lp.gomaxprocs, async_preempt=lp.async_preempt, until_ms=10_000.0)
    return (lambda: build_program(lp)), dict(kw, seed=lp.seed)


def _k(gomaxprocs: int, seed: int = 0, until_ms: float = 10_000.0, async_preempt: bool = True):
    return dict(gomaxprocs=gomaxprocs, async_preempt=async_preempt, until_ms=until_ms, seed=seed)


CASES: dict[str, tuple[Callable[[], Go], dict]] = {
    "lab_default_p4": (lambda: lab_scenario(1000, 1), _k(4, until_ms=1_000.0)),
    "lab_small_p4": (lambda: lab_scenario(300, 1), _k(4, until_ms=1_000.0)),
    "lab_small_p8_rounds": (lambda: lab_scenario(400, 2, seed=3), _k(8, seed=5)),
    "lab_cut_short_p3": (lambda: lab_scenario(200, 2, seed=1), _k(3, seed=2, until_ms=40.0)),
    **{
        f"preset_{key}_{which}": _preset(key, which)
        for key in sorted(PRESETS)
        for which in ("stall", "fix")
    },
    "channels_p2": (channels_program, _k(2, seed=1)),
    "channels_p1": (channels_program, _k(1)),
    "deadlock_p2": (deadlock_program, _k(2)),
    "locked_p2": (locked_program, _k(2, seed=4)),
    "syscalls_p2": (syscall_program, _k(2)),
    "syscalls_p5": (syscall_program, _k(5, seed=9)),
    "timers_p1": (timers_program, _k(1)),
    "timers_p6": (timers_program, _k(6, seed=6)),
    "gosched_p1": (gosched_program, _k(1)),
    "sleep_1ns_p1": (sleep_1ns_program, _k(1, seed=11, until_ms=16.0)),
    "tight_async_p2": (tight_loop_program, _k(2)),
    "tight_noasync_p2": (tight_loop_program, _k(2, async_preempt=False)),
    "tight_noasync_p1_cut": (tight_loop_program, _k(1, async_preempt=False, until_ms=60.0)),
    **{
        f"random_{seed}_p{procs}": (lambda seed=seed: random_program(seed), _k(procs, seed=seed))
        for seed, procs in [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 7), (7, 8), (8, 2)]
        + [(9, 2), (42, 1), (45, 2)]
    },
}


# ---- canonical serialisation --------------------------------------------------------------------


def canon(obj: object) -> bytes:
    """Bytes that are equal exactly when two values are equal bit for bit (type tags, lengths
    and IEEE float bits; dict items sorted by their key's bytes)."""
    if obj is None:
        return b"N"
    if isinstance(obj, bool | np.bool_):
        return b"T" if obj else b"F"
    if isinstance(obj, int | np.integer):
        return b"I" + str(int(obj)).encode() + b";"
    if isinstance(obj, float | np.floating):
        return b"D" + struct.pack("<d", float(obj))
    if isinstance(obj, str):
        raw = obj.encode()
        return b"S" + str(len(raw)).encode() + b":" + raw
    if isinstance(obj, np.ndarray):
        head = f"{obj.dtype.descr!r}|{obj.shape!r}|".encode()
        return b"A" + canon(head.decode()) + canon(np.ascontiguousarray(obj).tobytes().hex())
    if isinstance(obj, list | tuple):
        return b"L" + str(len(obj)).encode() + b"[" + b"".join(map(canon, obj)) + b"]"
    if isinstance(obj, dict):
        items = sorted((canon(k), canon(v)) for k, v in obj.items())
        return b"M" + str(len(items)).encode() + b"{" + b"".join(k + v for k, v in items) + b"}"
    raise TypeError(f"canon() does not know {type(obj).__name__}")


def digest(obj: object) -> str:
    return hashlib.sha256(canon(obj)).hexdigest()


def result_parts(res: Result) -> dict[str, object]:
    """Everything a reader of a Result can see, by name."""
    end = res.end_ms
    dump_at = sorted({0.0, 0.5, end / 7, end / 3, end / 2, 2 * end / 3, end})
    return {
        # The inputs as the golden file recorded them (a dict with main's name), from the record;
        # ``cores`` (added later) only when it is set, so the runs without it hash as before.
        "params": {
            "main": res.program,
            **{k: v for k, v in res.params.as_dict().items() if k != "cores" or v is not None},
        },
        "finished_ms": res.finished_ms,
        "created_ms": res.created_ms,
        "marks": res.marks,
        "stats": res.stats,
        "deadlock": res.deadlock,
        "end_ms": res.end_ms,
        "segments": res.segments,
        "states": res.states,
        "runq": res.runq,
        "threads": res.threads,
        "event_log": res.event_log,
        "thread_segments": res.thread_segments,
        "goroutines": res._goroutines,
        "goroutine_dumps": [res.goroutine_dump(t) for t in dump_at],
        "cpu_samples": [res.cpu_samples(), res.cpu_samples(hz=1000)],
        "cpu_ms": res.cpu_ms(),
        "summary": res.summary(),
    }


def case_hashes(name: str) -> dict[str, str]:
    build, kw = CASES[name]
    return {part: digest(v) for part, v in result_parts(simulate(build(), **kw)).items()}


def regen() -> None:
    """Write the golden hashes from the current model (only for an intended change)."""
    HASHES.parent.mkdir(parents=True, exist_ok=True)
    table = {name: case_hashes(name) for name in CASES}
    HASHES.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(table)} cases to {HASHES}")


# ---- tests --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden() -> dict[str, dict[str, str]]:
    return json.loads(HASHES.read_text())


def test_golden_file_covers_every_case(golden):
    """Every reference program has stored hashes and no stale entries remain."""
    assert sorted(golden) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_result_is_bit_for_bit_the_golden_one(name, golden):
    """Same program, arguments and seed give the Result the model gave before any optimisation:
    the model is deterministic (one seeded generator, a sequence number for heap ties), so a
    faster hot loop has to reproduce every array, log line and dump exactly."""
    got = case_hashes(name)
    changed = sorted(part for part in got if got[part] != golden[name].get(part))
    assert not changed, f"{name}: these parts of the Result changed: {changed}"


def test_canon_tells_apart_what_differs():
    """The serialisation distinguishes float bits, types, dtypes and dict contents (a hash that
    cannot fail would make the golden test worthless)."""
    assert canon(0.1 + 0.2) != canon(0.3)
    assert canon(1) != canon(1.0) != canon("1")
    assert canon(np.zeros(2, "f8")) != canon(np.zeros(2, "f4"))
    assert canon(np.zeros(2, "f8")) != canon(np.zeros((1, 2), "f8"))
    assert canon({"a": 1, "b": 2}) == canon({"b": 2, "a": 1})
    assert canon({"a": 1}) != canon({"a": 2})
    assert canon(["ab", "c"]) != canon(["a", "bc"])
    assert canon(-0.0) != canon(0.0) and not math.isnan(struct.unpack("<d", canon(1.5)[1:])[0])


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen()
    else:
        print(__doc__.strip().splitlines()[-1])
