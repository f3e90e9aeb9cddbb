"""Speed of the scheduler model (pytest-benchmark; not collected by the test suite).

Run: .venv/bin/python -m pytest benchmarks/bench_sched.py --benchmark-enable
(``-p no:nbval`` clashes with the repo's ``--nbval-lax`` addopt; add ``-o addopts=""`` with it.)
Or ``.venv/bin/python benchmarks/bench_sched.py [names]`` for CPU-time medians and events/s,
which are steadier than wall time on a shared machine (names: default, large, switch, pingpong,
buffered; all if none).
Targets: the default lab scenario (4 Ps, 1,000 goroutines, mixed steps, 1 s virtual) under
50 ms, and 300,000 events/s. "Events" are the model's processed events: heap events plus the
sysmon rounds on_sysmon runs inline.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from labkit.models.scheduler import (
    Chan,
    Go,
    cpu,
    gosched,
    io_wait,
    recv,
    repeat,
    send,
    simulate,
    sleep,
    spawn,
    syscall,
)


def lab_scenario(n_goroutines: int = 1000, rounds: int = 1, seed: int = 0) -> Go:
    """A dashboard-like mix: handlers that compute, wait on the network, sleep, make a syscall,
    and report on a buffered channel that a collector drains."""
    rng = np.random.default_rng(seed)
    results = Chan(64, name="results")
    workers = []
    for i in range(n_goroutines):
        kind = i % 4
        body = [cpu(float(rng.uniform(0.2, 1.5)))]
        if kind == 0:
            body += [io_wait(float(rng.uniform(0.5, 5.0))), cpu(0.1)]
        elif kind == 1:
            body += [sleep(float(rng.uniform(0.1, 2.0))), cpu(0.05)]
        elif kind == 2:
            body += [syscall(float(rng.uniform(0.05, 1.0)))]
        else:
            body += [cpu(float(rng.uniform(0.5, 3.0)), calls=False), gosched()]
        workers.append(Go(f"w{i}", [repeat(rounds, body), send(results)]))
    collector = Go("collector", [repeat(n_goroutines, [recv(results)])])
    return Go("main", [spawn(collector), *[spawn(w) for w in workers]])


def switch_heavy(n: int = 20_000) -> Go:
    """Two goroutines yielding to each other on one P: every event is a full context switch."""
    a = Go("A", [repeat(n, [cpu(1.1e-6), gosched()])])
    b = Go("B", [repeat(n, [gosched()])])
    return Go("main", [spawn(b), spawn(a)])


def pingpong(n: int = 100_000, hog: bool = False) -> Go:
    """Two goroutines passing a value back and forth over two unbuffered channels, n round
    trips (#25 item 7): every step is a direct hand-off to a parked partner (chan.go's send /
    recv, goready into runnext). ``hog`` adds a third goroutine computing for 1 s."""
    a, b = Chan(0, name="a"), Chan(0, name="b")
    ping = Go("ping", [repeat(n, [send(a), recv(b)])])
    pong = Go("pong", [repeat(n, [recv(a), send(b)])])
    hogs = [spawn(Go("hog", [cpu(1000)]))] if hog else []
    return Go("main", [spawn(pong), spawn(ping), *hogs])


def buffered(n: int = 100_000, capacity: int = 100) -> Go:
    """A producer and a consumer on one buffered channel, n values (BenchmarkChanProdCons100's
    shape): most operations take the fast path, a burst of CHAN_OP_MS each (chan.op_burst), and
    a switch comes once the buffer fills or empties."""
    ch = Chan(capacity, name="ch")
    producer = Go("producer", [repeat(n, [send(ch)])])
    consumer = Go("consumer", [repeat(n, [recv(ch)])])
    return Go("main", [spawn(consumer), spawn(producer)])


DEFAULT = lab_scenario()
LARGE = lab_scenario(n_goroutines=5000, rounds=4)


def test_default_lab_scenario(benchmark):
    res = benchmark(simulate, DEFAULT, gomaxprocs=4, until_ms=1_000, seed=0)
    assert res.deadlock is None
    benchmark.extra_info["events"] = res.stats["events"]
    benchmark.extra_info["events_per_s"] = res.stats["events"] / benchmark.stats.stats.median


def test_large_scenario(benchmark):
    res = benchmark.pedantic(
        simulate, args=(LARGE,), kwargs=dict(gomaxprocs=8, until_ms=10_000, seed=0), rounds=3
    )
    benchmark.extra_info["events"] = res.stats["events"]
    benchmark.extra_info["events_per_s"] = res.stats["events"] / benchmark.stats.stats.median


@pytest.mark.parametrize("n", [20_000])
def test_switch_heavy(benchmark, n):
    """Two goroutines yielding to each other: every event is a full context switch."""
    main = switch_heavy(n)
    res = benchmark.pedantic(simulate, args=(main,), kwargs=dict(gomaxprocs=1), rounds=3)
    benchmark.extra_info["events"] = res.stats["events"]
    benchmark.extra_info["events_per_s"] = res.stats["events"] / benchmark.stats.stats.median


@pytest.mark.parametrize(
    "procs, hog, until_ms", [(1, False, None), (2, False, None), (1, True, 100.0)]
)
def test_pingpong(benchmark, procs, hog, until_ms):
    """100,000 round trips over unbuffered channels (target: 0.4 s CPU on one P, #25 item 7)."""
    main = pingpong(100_000, hog)
    kw = dict(gomaxprocs=procs, seed=0) | ({} if until_ms is None else dict(until_ms=until_ms))
    res = benchmark.pedantic(simulate, args=(main,), kwargs=kw, rounds=3)
    benchmark.extra_info["events"] = res.stats["events"]
    benchmark.extra_info["events_per_s"] = res.stats["events"] / benchmark.stats.stats.median


def test_buffered(benchmark):
    """100,000 values through a channel of capacity 100 on one P."""
    res = benchmark.pedantic(simulate, args=(buffered(),), kwargs=dict(gomaxprocs=1), rounds=3)
    benchmark.extra_info["events"] = res.stats["events"]
    benchmark.extra_info["events_per_s"] = res.stats["events"] / benchmark.stats.stats.median


if __name__ == "__main__":  # quick look without pytest: CPU-time median (and min) of N runs
    only = sys.argv[1:]  # scenario names to run (default, large, switch, pingpong ...); all if none
    for name, main, kw, runs in [
        ("default", DEFAULT, dict(gomaxprocs=4, until_ms=1_000), 21),
        ("large", LARGE, dict(gomaxprocs=8, until_ms=10_000), 7),
        ("switch", switch_heavy(), dict(gomaxprocs=1), 7),
        ("pingpong", pingpong(), dict(gomaxprocs=1), 7),
        ("pingpong P=2", pingpong(), dict(gomaxprocs=2), 7),
        ("pingpong+hog", pingpong(hog=True), dict(gomaxprocs=1, until_ms=100), 7),
        ("buffered", buffered(), dict(gomaxprocs=1), 7),
        ("buffered P=2", buffered(), dict(gomaxprocs=2), 7),
    ]:
        if only and name.split()[0].split("+")[0] not in only and name not in only:
            continue
        times = []
        for _ in range(runs):
            t0 = time.process_time()
            res = simulate(main, seed=0, **kw)
            times.append(time.process_time() - t0)
        times.sort()
        med, best = times[len(times) // 2], times[0]
        ev = res.stats["events"]
        print(
            f"{name}: median {med * 1000:.1f} ms CPU (min {best * 1000:.1f}) over {runs} runs, "
            f"{ev} events, {ev / med:,.0f} events/s"
        )
        print("  ", res.summary())
