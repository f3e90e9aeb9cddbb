"""The scheduler experiments' programs, written again as ``labkit.models.scheduler`` goroutine programs.

Each function mirrors one program in ``go/<name>/main.go``: the same goroutines, started in the
same order, the same GOMAXPROCS, and the program's warm-up (the CPU loop calibration of
``measure.NsPerIter``) and repeats where they decide the state sysmon is in when the measured
thing happens (sysmon backs off to 10 ms rounds while it has nothing to retake, and retake
compares each P's schedtick with what it saw on its last round). Every figure returned is read
off the model run (marks, segments, the event log, the thread count); the program's parameters
are the model's only inputs.

Deterministic: same parameters and seed, same numbers.
"""

from __future__ import annotations

import math
from statistics import median
from typing import Any

#: The model's version label: it follows the runtime of Go 1.26 / 1.27.
MODEL_GO_VERSION = "model of go1.27 (labkit.models.scheduler)"

#: CPU the programs spend calibrating their work loop before measuring (measure.NsPerIter runs
#: measure.Burn for 9 x 2^22 iterations, at ~1.48 ns each: ns_per_iter_calibrated in
#: labkit/golab/recorded/lockosthread.json), ms. A loop without calls: during it sysmon finds
#: nothing to retake and backs off to its longest sleep.
CALIBRATION_MS = 9 * 2**22 * 1.48e-6

#: CPUs of the recording machine (recorded/*.json: "2 CPUs"). The model runs of the experiments
#: that time sysmon's rounds against a real run (retake_keep, and predict_gaps' programs) have
#: the OS layer with this many CPUs (simulate(cores=...), labkit/models/scheduler/cpus.py), whose
#: sysmon rounds end late by the recorded nanosleep overshoot, as the real ones do.
CORES = 2

#: CPU of one iteration of the yield program's loop body without a yield (acc = acc*31 + i), ms:
#: 0.81 ns (labkit/golab/recorded/yield.json, mode none, ns_per_iter 0.8123; tests/
#: test_sched_costs.py holds it to the recording). An input of the model (this machine's speed at
#: arithmetic); the model's cost of the yields themselves comes from labkit.models.scheduler's
#: own constants.
LOOP_BODY_MS = 8.1e-7

#: CPU of one turn of the yield program's competing goroutine (an atomic add and the loop
#: test, before its Gosched), ms.
OTHER_TURN_MS = 2e-6

#: At most this many iterations of the yield loop are simulated (the model spends a few
#: scheduler events per iteration: 200,000 Sleep(1ns) iterations are 43 ms of loop and ~1 s to
#: simulate, the program's 1,000,000 ~6 s); longer loops are compared per iteration or per ms
#: of loop. A loop of 43 ms holds too few of sysmon's preemption requests to pin down the rate
#: at which a Sleep(1ns) loop's requests survive: that fidelity row says it does not
#: discriminate (fidelity._cut_short_loop).
MODEL_YIELD_ITERS = 200_000

#: The yield model's competing goroutine takes at most one turn per preemption of the loop when
#: the loop does not yield, and sysmon preempts at most every FORCE_PREEMPT_MS: a bound on its
#: turns, so that it can be given a finite loop (it would otherwise run past the measurement).
_PREEMPT_FLOOR_MS = 5.0

#: CPU for each spawn_order goroutine before it records its turn, ms: any positive amount keeps
#: the model's marks apart in time, so their order is the order the goroutines ran.
SPAWNED_WORK_MS = 1e-3

#: CPU of the path from main's return from its own call to the blocker's call in retake_keep,
#: ms: exitsyscall, a Gosched, three go statements, the goroutine ahead of the blocker and the
#: blocker's trace.Log, with the tracer on and after 20 ms asleep (cold caches): 17.2 us, the
#: median lead-in of the queued case's recorded calls (labkit/golab/recorded/retake_keep.json,
#: lead_ms, 21 calls in three processes whose medians were 16.7-22.6 us; a recording of a day
#: earlier gave 27.8; one P, so the whole path is this CPU; tests/test_golab_fidelity.py holds it
#: to the recording). The model's own costs of that path are a few hundred ns.
RETAKE_LEAD_MS = 0.0172

#: At most this many naps of the locked goroutine in the lockosthread model (each wake-up is a
#: few scheduler events; the default 40 x 10 ms on 2 Ps needs 401 naps of 1 ms).
MAX_MODEL_NAPS = 2_000

#: Samples of the sleep_resolution model: sleeps in one run, and runs of sysmon's first rounds
#: (each is a few events; with the OS layer each draws how late it ends).
MODEL_SLEEP_SAMPLES = 20


def _sched():
    import labkit.models.scheduler as sched  # imported late: the model package is optional at import time

    return sched


def _marks(res: Any, label: str) -> list[float]:
    """Virtual ms at which Gs reached ``mark(label)``, in order."""
    if label not in res.marks:
        raise AssertionError(f"the model run never reached mark {label!r}: {res.summary()}")
    return [float(t) for t in res.marks[label]]


def _mark(res: Any, label: str) -> float:
    return _marks(res, label)[-1]


def _gaps(res: Any, start: str, end: str) -> list[float]:
    """end - start for each pair of marks, in order."""
    return [b - a for a, b in zip(_marks(res, start), _marks(res, end), strict=True)]


def _calibration() -> list[Any]:
    s = _sched()
    return [s.cpu(CALIBRATION_MS, calls=False)]


def _timed(name: str, start: str, step: Any, end: str, done: Any) -> Any:
    """A goroutine that marks ``start``, does ``step``, marks ``end`` and signals ``done``: the
    shape of the programs' measured goroutines."""
    s = _sched()
    return s.Go(name, [s.mark(start), step, s.mark(end), s.send(done)])


def _beside_spinners(steps: list[Any], p: dict[str, Any], seed: int) -> Any:
    """The run of a main whose ``steps`` start ``repeats`` spinners of ``loop_ms`` each, on one P
    (preempt, call_kinds)."""
    s = _sched()
    return s.simulate(
        s.Go("main", steps),
        gomaxprocs=1,
        async_preempt=p["async_preempt"],
        until_ms=CALIBRATION_MS + p["repeats"] * (2 * p["loop_ms"] + 1_000),
        seed=seed,
    )


def preempt(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main calibrates, then, each repeat, starts a spinner (a loop without calls) and calls
    Gosched; mirrors go/preempt. resume_ms: from the spawn until main runs again."""
    s = _sched()
    done = s.Chan(capacity=1, name="done")
    steps = _calibration()
    for r in range(p["repeats"]):
        spin = _timed(f"spin{r}", "spin_start", s.cpu(p["loop_ms"], calls=False), "spin_end", done)
        steps += [s.gosched(), s.mark("t0"), s.spawn(spin), s.gosched(), s.mark("back")]
        steps += [s.recv(done)]
    res = _beside_spinners(steps, p, seed)
    resume = _gaps(res, "t0", "back")
    loop = _gaps(res, "spin_start", "spin_end")
    return {
        "resume_ms": median(resume),
        "loop_ms": median(loop),
        "async_preempt": p["async_preempt"],
        "resume_ms_runs": resume,
        "loop_ms_runs": loop,
    }


def _yield_run(p: dict[str, Any], iters: int, other_turns: int, seed: int) -> Any:
    s = _sched()
    body_ms = p["body_us"] / 1000 if p["body_us"] > 0 else LOOP_BODY_MS
    step = {
        "none": [],
        "sleep0": [s.sleep(0)],
        "gosched": [s.gosched()],
        "sleep1ns": [s.sleep(1e-6)],
    }[p["mode"]]
    other = s.Go("other", [s.repeat(other_turns, [s.cpu(OTHER_TURN_MS), s.gosched()])])
    warmup = _calibration() if p["body_us"] > 0 else []
    main = s.Go(
        "main",
        [
            *warmup,
            s.spawn(other),
            s.gosched(),  # as in the program: let the other goroutine start first
            s.mark("loop_start"),
            s.repeat(iters, [s.cpu(body_ms, calls=False), *step]),
            s.mark("loop_end"),
        ],
    )
    return s.simulate(main, gomaxprocs=1, until_ms=1e7, seed=seed)


def yield_loop(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A loop with none / Sleep(0) / Gosched / Sleep(1ns) beside a goroutine that counts its
    turns (one run of its body between two of its Gosched calls); mirrors go/yield.

    The competing goroutine is given a finite number of turns (every iteration's with Gosched,
    else one per possible preemption, doubled until it outlasts the loop), so that the model
    run ends. At most MODEL_YIELD_ITERS iterations are simulated: ``iters`` is what the model
    ran, and ``loop_ms`` its length.
    """
    iters = min(p["iters"], MODEL_YIELD_ITERS)
    body_ms = p["body_us"] / 1000 if p["body_us"] > 0 else LOOP_BODY_MS
    if p["mode"] == "gosched":
        turns_bound = iters + 16
    else:  # at most one turn per preemption, and a generous cost per iteration
        turns_bound = math.ceil(iters * (body_ms + 0.002) / _PREEMPT_FLOOR_MS) + 16
    while True:
        res = _yield_run(p, iters, turns_bound, seed)
        start, end = _mark(res, "loop_start"), _mark(res, "loop_end")
        other_end = res.finished_ms.get("other")
        if other_end is None or other_end > end:
            break
        turns_bound *= 4  # the competing goroutine ran out of turns before the loop ended
    seg = res.segments[res.segments["g"] == "other"]
    turns = int(((seg["start_ms"] >= start) & (seg["start_ms"] < end)).sum())
    return {
        "mode": p["mode"],
        "ns_per_iter": (end - start) * 1e6 / iters,
        "iters": iters,
        "other_turns": turns,
        "loop_ms": end - start,
        "body_us": p["body_us"],
        "note": f"the model ran {iters} iterations (the program runs {p['iters']})",
    }


def syscall_handoff(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main calibrates, then, each repeat, starts a CPU goroutine (queued) and a syscall
    goroutine (in runnext) and waits for both; mirrors go/syscall_handoff."""
    s = _sched()
    done = s.Chan(capacity=2, name="done")
    steps = _calibration()
    for r in range(p["repeats"]):
        cpu_g = _timed(f"cpu{r}", "cpu_start", s.cpu(p["cpu_ms"], calls=False), "cpu_done", done)
        sys_g = _timed(f"sys{r}", "syscall_start", s.syscall(p["syscall_ms"]), "syscall_done", done)
        steps += [s.mark("t0"), s.spawn(cpu_g), s.spawn(sys_g), s.recv(done), s.recv(done)]
    per_repeat = p["syscall_ms"] + p["cpu_ms"] + 1_000
    res = s.simulate(
        s.Go("main", steps),
        gomaxprocs=1,
        until_ms=CALIBRATION_MS + p["repeats"] * per_repeat,
        seed=seed,
    )
    out: dict[str, Any] = {}
    for key in ("cpu_done", "syscall_done", "cpu_start", "syscall_start"):
        runs = _gaps(res, "t0", key)
        out[f"{key}_ms"] = median(runs)
        out[f"{key}_ms_runs"] = runs
    return out


def _cpu_list(cpus: int) -> str:
    """A CPU set in the Cpus_allowed_list format of /proc/<pid>/status ("0-1")."""
    return "0" if cpus == 1 else f"0-{cpus - 1}"


def lockosthread(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Makespan of goroutines x work_ms of CPU on 2 Ps, without and with a goroutine locked to its
    thread that naps nap_ms at a time; mirrors go/lockosthread (one pair: the model has no
    noise to take the median of).

    The model has no CPU affinity: it has gomaxprocs CPUs and every thread may run on all of
    them. The affinity keys state that (LockOSThread, runtime.dolockOSThread, only wires g and m
    together); they are not a prediction, and labkit.golab.fidelity does not compare them.
    """
    s = _sched()
    gomaxprocs = 2
    out: dict[str, Any] = {
        "affinity_before": _cpu_list(gomaxprocs),
        "affinity_locked": _cpu_list(gomaxprocs),
    }
    # The locker naps for as long as the work could take, with room for scheduling overheads;
    # past MAX_MODEL_NAPS naps each nap is made longer, to bound the simulation's cost.
    ideal_ms = p["goroutines"] * p["work_ms"] / gomaxprocs
    naps = min(math.ceil(2 * ideal_ms / p["nap_ms"]) + 1, MAX_MODEL_NAPS)
    nap_ms = max(p["nap_ms"], 2 * ideal_ms / MAX_MODEL_NAPS)
    for locked in (False, True):
        done = s.Chan(capacity=p["goroutines"], name="done")
        ready = s.Chan(capacity=1, name="ready")
        workers = [
            s.spawn(s.Go(f"w{i}", [s.cpu(p["work_ms"], calls=False), s.send(done)]))
            for i in range(p["goroutines"])
        ]
        steps = []
        if locked:
            locker = s.Go(
                "locker",
                [s.lock_os_thread(), s.send(ready), s.repeat(naps, [s.sleep(nap_ms)])],
            )
            steps = [s.spawn(locker), s.recv(ready)]
        main = s.Go(
            "main",
            [
                *steps,
                s.mark("t0"),
                *workers,
                s.repeat(p["goroutines"], [s.recv(done)]),
                s.mark("all_done"),
            ],
        )
        res = s.simulate(main, gomaxprocs=gomaxprocs, until_ms=4 * ideal_ms + 1_000, seed=seed)
        key = "makespan_ms_locked" if locked else "makespan_ms_unlocked"
        out[key] = _mark(res, "all_done") - _mark(res, "t0")
    out["makespan_ratio"] = out["makespan_ms_locked"] / out["makespan_ms_unlocked"]
    return out


def spawn_order(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main starts n goroutines and blocks on a channel; mirrors go/spawn_order."""
    s = _sched()
    done = s.Chan(capacity=p["n"], name="done")
    gs = [
        s.Go(f"g{i}", [s.cpu(SPAWNED_WORK_MS), s.mark(f"ran{i}"), s.send(done)])
        for i in range(1, p["n"] + 1)
    ]
    main = s.Go("main", [*[s.spawn(g) for g in gs], s.repeat(p["n"], [s.recv(done)])])
    res = s.simulate(main, gomaxprocs=1, until_ms=1_000, seed=seed)
    order = sorted(range(1, p["n"] + 1), key=lambda i: _mark(res, f"ran{i}"))
    return {"order": order, "all_same": True}


def _threads_at(res: Any, t_ms: float) -> int:
    """The model's OS thread count (sysmon's included) at time t_ms."""
    th = res.threads
    i = max(int((th["t_ms"] <= t_ms).sum()) - 1, 0)
    return int(th["count"][i])


def syscall_threads(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main starts netwaits goroutines that wait on the netpoller and syscalls goroutines that
    block in a system call, sleeps half the block and counts threads; mirrors go/syscall_threads.
    """
    s = _sched()
    n = p["syscalls"] + p["netwaits"]
    done = s.Chan(capacity=max(n, 1), name="done")
    gs = [s.Go(f"net{i}", [s.io_wait(p["block_ms"]), s.send(done)]) for i in range(p["netwaits"])]
    gs += [s.Go(f"sys{i}", [s.syscall(p["block_ms"]), s.send(done)]) for i in range(p["syscalls"])]
    main = s.Go(
        "main",
        [
            s.mark("before"),
            *[s.spawn(g) for g in gs],
            s.sleep(p["block_ms"] / 2),
            s.mark("count"),
            s.repeat(n, [s.recv(done)]),
        ],
    )
    res = s.simulate(
        main, gomaxprocs=p["gomaxprocs"], until_ms=2 * p["block_ms"] + 1_000, seed=seed
    )
    return {
        "threads_peak": _threads_at(res, _mark(res, "count")),
        "threads_before": _threads_at(res, _mark(res, "before")),
        "syscalls": p["syscalls"],
        "netwaits": p["netwaits"],
    }


def retake_keep(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Each repeat: main blocks in a system call itself, computes the recorded lead-in
    (RETAKE_LEAD_MS: its path to the blocker's call, which the model's own costs leave at a few
    hundred ns), yields (a fresh time slice), then starts the blocker (queued behind a goroutine
    that returns at once, so that it starts a fresh time slice too), in the queued case a
    goroutine queued behind it, and in the busy case keeps its own P busy; mirrors
    go/retake_keep, with the OS layer's sysmon rounds (CORES). kept_ms: from the blocker's
    syscall until the model's retake took its P (the "handoff" event), or the whole call if it
    never did."""
    from labkit.golab.experiments import RETAKE_CASE_PROCS

    s = _sched()
    case = p["case"]
    done = s.Chan(capacity=1, name="done")
    steps = _calibration()
    blockers = []
    for r in range(p["repeats"]):
        blocker = s.Go(f"blocker{r}", [s.mark("enter"), s.syscall(p["block_ms"]), s.send(done)])
        blockers.append(blocker.name)
        steps += [s.syscall(p["pre_ms"]), s.cpu(RETAKE_LEAD_MS), s.gosched(), s.spawn(blocker)]
        if case == "queued":
            steps.append(s.spawn(s.Go(f"queued{r}", [s.cpu(SPAWNED_WORK_MS)])))
        steps.append(s.spawn(s.Go(f"dummy{r}", [])))
        if case == "busy":
            steps.append(s.cpu(1.5 * p["block_ms"], calls=False))
        steps.append(s.recv(done))
    res = s.simulate(
        s.Go("main", steps),
        gomaxprocs=RETAKE_CASE_PROCS[case],
        cores=CORES,
        until_ms=CALIBRATION_MS + p["repeats"] * (p["pre_ms"] + 2 * p["block_ms"] + 100),
        seed=seed,
    )
    log = res.event_log
    kept = []
    for name, enter in zip(blockers, _marks(res, "enter"), strict=True):
        taken = log["t_ms"][(log["kind"] == "handoff") & (log["g"] == name)]
        taken = taken[(taken >= enter) & (taken <= enter + p["block_ms"])]
        kept.append(float(taken[0] - enter) if len(taken) else p["block_ms"])
    return {"case": case, "kept_ms": median(kept), "kept_ms_runs": kept}


def sysmon_round_ms(seed: int = 0, cores: int | None = CORES) -> float:
    """Length of one of sysmon's first rounds as the model times it (usleep(20) and how late it
    ends: with the OS layer, ``cores``, a draw from the recorded nanosleeps; without, the timer
    slack): a goroutine enters a system call at t=0 with another queued, on one P; retake records
    the syscall on its first round and hands the P off on its second, so the hand-off is at two
    rounds."""
    s = _sched()
    main = s.Go("main", [s.spawn(s.Go("queued", [s.cpu(SPAWNED_WORK_MS)])), s.syscall(5.0)])
    res = s.simulate(main, gomaxprocs=1, until_ms=100, seed=seed, cores=cores)
    log = res.event_log
    taken = log["t_ms"][(log["kind"] == "handoff") & (log["g"] == "main")]
    return float(taken[0]) / 2


def sleep_resolution(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main sleeps ``sleep_us`` again and again with nothing else to run; mirrors
    go/sleep_resolution, on the recording machine's CPUs (the OS layer, ``CORES``: each epoll
    wait ends late by a seeded draw, netpoll.block_in_netpoll). ``sleep_ms`` is the median of
    MODEL_SLEEP_SAMPLES sleeps; ``nanosleep20_ms`` the median of as many of sysmon's rounds
    (sysmon_round_ms), one run each, as the program reports medians."""
    s = _sched()
    n = min(p["samples"], MODEL_SLEEP_SAMPLES)
    main = s.Go("main", [s.repeat(n, [s.mark("s"), s.sleep(p["sleep_us"] / 1000), s.mark("e")])])
    res = s.simulate(
        main,
        gomaxprocs=1,
        cores=CORES,
        until_ms=n * (p["sleep_us"] / 1000 + 5) + 100,
        seed=seed,
    )
    sleeps = _gaps(res, "s", "e")
    rounds = [sysmon_round_ms(seed * MODEL_SLEEP_SAMPLES + k) for k in range(n)]
    return {
        "sleep_ms": median(sleeps),
        "nanosleep20_ms": median(rounds),
        "sleep_us": p["sleep_us"],
        "samples": n,
    }


def locked_pingpong(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A channel ping-pong on one P, the echoing goroutine locked to its thread or not; mirrors
    go/locked_pingpong (one warm-up round trip, then ``rounds`` timed)."""
    s = _sched()
    ping, pong = s.Chan(capacity=0, name="ping"), s.Chan(capacity=0, name="pong")
    rounds = p["rounds"]
    lock = [s.lock_os_thread()] if p["locked"] else []
    echo = s.Go("echo", [*lock, s.repeat(rounds + 1, [s.recv(ping), s.send(pong)])])
    main = s.Go(
        "main",
        [
            s.spawn(echo),
            s.send(ping),
            s.recv(pong),
            s.mark("t0"),
            s.repeat(rounds, [s.send(ping), s.recv(pong)]),
            s.mark("t1"),
        ],
    )
    res = s.simulate(main, gomaxprocs=1, until_ms=rounds * 10 + 100, seed=seed)
    us = (_mark(res, "t1") - _mark(res, "t0")) * 1000 / rounds
    return {"round_trip_us": us, "locked": p["locked"], "rounds": rounds}


#: What each call_kinds loop calls, as ``cpu(calls=...)`` says it: go/call_kinds' leaf has no
#: frame and calls nothing (NOSPLIT, no prologue); framed has a 512-byte frame (a prologue).
CALL_KIND_STEPS = {"leaf": {"calls": "leaf"}, "frame": {"calls": "functions"}}


def call_kinds(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main calibrates, then, each repeat, yields (a fresh time slice), starts a spinner whose
    loop calls a leaf, a framed function, or the framed one every gap_ms (``calls_per_ms``), and
    sleeps sleep_ms; mirrors go/call_kinds. late_ms: from main's due time until it ran;
    after_loop_ms: from the loop's end until main ran. (The program calibrates each kind's loop
    for ~9 x 2^22 iterations; the model's CALIBRATION_MS is the shortest of them, enough to back
    sysmon off to its 10 ms rounds, as every calibration does.)"""
    s = _sched()
    done = s.Chan(capacity=1, name="done")
    calls = CALL_KIND_STEPS.get(p["kind"]) or {"calls_per_ms": 1 / p["gap_ms"]}
    steps = _calibration()
    for r in range(p["repeats"]):
        spin = _timed(f"spin{r}", "spin_start", s.cpu(p["loop_ms"], **calls), "spin_end", done)
        steps += [s.gosched(), s.mark("t0"), s.spawn(spin), s.sleep(p["sleep_ms"])]
        steps += [s.mark("back"), s.recv(done)]
    res = _beside_spinners(steps, p, seed)
    late = [x - p["sleep_ms"] for x in _gaps(res, "t0", "back")]
    after = [b - e for b, e in zip(_marks(res, "back"), _marks(res, "spin_end"), strict=True)]
    loop = _gaps(res, "spin_start", "spin_end")
    return {
        "kind": p["kind"],
        "async_preempt": p["async_preempt"],
        "late_ms": median(late),
        "after_loop_ms": median(after),
        "loop_ms": median(loop),
        "late_ms_runs": late,
        "after_loop_ms_runs": after,
        "loop_ms_runs": loop,
    }


def oversubscribe(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Each repeat: one goroutine of work_ms alone, then GOMAXPROCS of them together, waited
    for with a WaitGroup, on ``cores`` CPUs that the model's OS layer time-shares
    (``simulate(cores=...)``, labkit/models/scheduler/cpus.py); mirrors go/oversubscribe."""
    s = _sched()
    n, work = p["gomaxprocs"], p["work_ms"]
    steps = _calibration()
    for r in range(p["repeats"]):
        for label, count in (("solo", 1), ("all", n)):
            wg = s.WaitGroup(f"{label}{r}")
            workers = [
                s.spawn(s.Go(f"{label}{r}w{i}", [s.cpu(work, calls=False), wg.done()]))
                for i in range(count)
            ]
            steps += [s.mark(f"{label}_t0"), wg.add(count), *workers, wg.wait()]
            steps += [s.mark(f"{label}_t1")]
    res = s.simulate(
        s.Go("main", steps),
        gomaxprocs=n,
        cores=p["cores"],
        until_ms=CALIBRATION_MS + p["repeats"] * (n + 2) * work * 4 + 1_000,
        seed=seed,
    )
    solo, span = _gaps(res, "solo_t0", "solo_t1"), _gaps(res, "all_t0", "all_t1")
    ratio = [m / x for m, x in zip(span, solo, strict=True)]
    return {
        "makespan_ratio": median(ratio),
        "makespan_ms": median(span),
        "solo_ms": median(solo),
        "makespan_ratio_runs": ratio,
        "makespan_ms_runs": span,
        "solo_ms_runs": solo,
        "goroutines": n,
        "cores": p["cores"],
        # the model's CPUs are the program's: the cores it confines itself to
        "cpus": p["cores"],
    }
