"""The Go team's own scheduler benchmarks, written again as ``labkit.models.scheduler`` programs.

``labkit.golab.gobench`` runs these benchmarks as ``go test`` runs them, from the toolchain's
``src`` (the course did not write them); each function here is the same benchmark in the model,
with the same goroutines in the same order, and returns the model's ns/op for ``b.N = n``. The
model has the OS layer on (``cores=CORES``, the recording machine's 2 CPUs), as the other
fidelity rows do. Nothing here is fitted to these benchmarks: the model's constants come from
the course's own recordings (``labkit.golab.calibrate``), so each row is a prediction.

What a transcription leaves out is said beside it: the atomic counters that hand out work in
blocks of 1,000 (one atomic add per 1,000 operations) and the benchmark's own set-up, both a
few ns per 1,000 operations. Deterministic: same arguments, same ns/op.
"""

from __future__ import annotations

from typing import Any

from labkit.golab.predict_sched import CORES, _marks, _sched


def _ns_per_op(res: Any, n: int) -> float:
    """ns per operation between main's marks ``t0`` and ``t1``, for b.N = ``n``."""
    return (_marks(res, "t1")[0] - _marks(res, "t0")[0]) * 1e6 / n


def chan_sync(n: int, gomaxprocs: int, *, seed: int = 0) -> float:
    """BenchmarkChanSync (src/runtime/chan_test.go:963, benchmarkChanSync with work 0): two
    goroutines that take turns on one unbuffered channel, one receiving then sending, the other
    sending then receiving, ``n`` / 2 times each (the benchmark's blocks of CallsPerSched = 1000,
    handed out by an atomic counter, are one loop here). An operation is one goroutine's turn,
    so ns/op is one hop through the channel."""
    s = _sched()
    myc, c = s.Chan(capacity=0, name="myc"), s.Chan(capacity=2, name="c")
    half = n // 2
    sender = s.Go("sender", [s.repeat(half, [s.send(myc), s.recv(myc)]), s.send(c)])
    receiver = s.Go("receiver", [s.repeat(half, [s.recv(myc), s.send(myc)]), s.send(c)])
    main = s.Go(
        "main",
        [s.mark("t0"), s.spawn(sender), s.spawn(receiver), s.recv(c), s.recv(c), s.mark("t1")],
    )
    res = s.simulate(main, gomaxprocs=gomaxprocs, cores=CORES, seed=seed)
    return _ns_per_op(res, n)


def chan_prod_cons(n: int, gomaxprocs: int, chan_size: int, *, seed: int = 0) -> float:
    """BenchmarkChanProdCons0/10/100 (src/runtime/chan_test.go:1006, benchmarkChanProdCons
    with localWork 0): GOMAXPROCS producers and as many consumers on one channel of capacity
    ``chan_size``; the producers send ``n`` values between them and then a 0 each, and a
    consumer stops at a 0. Here each producer sends n / GOMAXPROCS values and each consumer
    takes as many plus its 0 (the real split between consumers varies; the total is the same)."""
    return _ns_per_op(chan_prod_cons_run(n, gomaxprocs, chan_size, seed=seed), n)


def chan_prod_cons_run(n: int, gomaxprocs: int, chan_size: int, *, seed: int = 0) -> Any:
    """The model's run of BenchmarkChanProdCons<chan_size> (``chan_prod_cons``; a
    labkit.models.scheduler Result)."""
    s = _sched()
    myc, c = s.Chan(capacity=chan_size, name="myc"), s.Chan(capacity=2 * gomaxprocs, name="c")
    each = n // gomaxprocs
    steps = []
    for k in range(gomaxprocs):
        prod = s.Go(f"producer{k}", [s.repeat(each, [s.send(myc)]), s.send(myc), s.send(c)])
        cons = s.Go(f"consumer{k}", [s.repeat(each + 1, [s.recv(myc)]), s.send(c)])
        steps += [s.spawn(prod), s.spawn(cons)]
    waits = [s.recv(c) for _ in range(2 * gomaxprocs)]
    main = s.Go("main", [s.mark("t0"), *steps, *waits, s.mark("t1")])
    return s.simulate(main, gomaxprocs=gomaxprocs, cores=CORES, seed=seed)


#: The CPU hog of BenchmarkPingPongHog loops until the pair is done; its loop is a select with a
#: default (a call to selectnbrecv: a prologue, so a synchronous preemption point, each turn).
HOG_MS = 60_000.0


def ping_pong_hog(n: int, gomaxprocs: int = 1, *, seed: int = 0) -> float:
    """BenchmarkPingPongHog (src/runtime/proc_test.go:499): on one P, a CPU hog (a loop of a
    select with a default) beside two goroutines that ping-pong ``n`` times on two unbuffered
    channels; main starts the pair with one send and waits for ``stop``. ns/op is a round trip
    (two hops) with the hog taking its share of the P: sysmon preempts the pair's inherited
    time slice and the hog's (retake -> preemptone, src/runtime/proc.go)."""
    s = _sched()
    stop = s.Chan(capacity=0, name="stop")
    ping, pong = s.Chan(capacity=0, name="ping"), s.Chan(capacity=0, name="pong")
    hog = s.Go("hog", [s.cpu(HOG_MS, calls=True)])
    ponger = s.Go("ponger", [s.repeat(n, [s.recv(ping), s.send(pong)]), s.mark("t1"), s.send(stop)])
    pinger = s.Go("pinger", [s.repeat(n, [s.recv(pong), s.send(ping)])])
    main = s.Go(
        "main",
        [s.spawn(hog), s.spawn(ponger), s.spawn(pinger), s.mark("t0"), s.send(ping), s.recv(stop)],
    )
    res = s.simulate(main, gomaxprocs=gomaxprocs, cores=CORES, seed=seed, until_ms=HOG_MS)
    return _ns_per_op(res, n)


#: benchmarkWakeupParallel's wakeDelay: the sender spins this much longer than the receiver, so
#: the receiver is more likely parked when the send comes (src/runtime/proc_test.go:781).
WAKE_DELAY_MS = 0.005


def wakeup_parallel_spinning(n: int, gomaxprocs: int, delay_us: float, *, seed: int = 0) -> float:
    """BenchmarkWakeupParallelSpinning/<delay> in the model (``wakeup_parallel_run``): ns/op,
    an op being one round (each goroutine sends once and receives once)."""
    return _ns_per_op(wakeup_parallel_run(n, gomaxprocs, delay_us, seed=seed), n)


def wakeup_parallel_run(n: int, gomaxprocs: int, delay_us: float, *, seed: int = 0) -> Any:
    """The model's run of BenchmarkWakeupParallelSpinning/<delay> (src/runtime/proc_test.go:776
    and 862; a labkit.models.scheduler Result): two goroutines that take turns as sender and
    receiver on two unbuffered channels, the sender spinning delay + wakeDelay (5 us) before it
    sends, the receiver spinning delay before it receives; the spin reads time.Now in a loop
    (calls: a preemption point each turn). Two goroutines on one core serialise the four spins
    (4 x delay a round); on two, the woken receiver's thread must be started (wakep -> startm,
    the OS layer's wake-up) to overlap them."""
    s = _sched()
    d = delay_us / 1000.0
    ping, pong = s.Chan(capacity=0, name="ping"), s.Chan(capacity=0, name="pong")
    start, done = s.Chan(capacity=0, name="start"), s.Chan(capacity=0, name="done")

    def spin(ms: float) -> list:
        return [s.cpu(ms, calls=True)] if ms > 0 else []

    first = [*spin(d + WAKE_DELAY_MS), s.send(ping), *spin(d), s.recv(pong)]
    second = [*spin(d), s.recv(ping), *spin(d + WAKE_DELAY_MS), s.send(pong)]
    a = s.Go("a", [s.recv(start), s.repeat(n, first), s.send(done)])
    b = s.Go("b", [s.repeat(n, second), s.send(done)])
    main = s.Go(
        "main",
        [s.spawn(a), s.spawn(b), s.mark("t0"), s.send(start), s.recv(done), s.recv(done)]
        + [s.mark("t1")],
    )
    return s.simulate(main, gomaxprocs=gomaxprocs, cores=CORES, seed=seed)
