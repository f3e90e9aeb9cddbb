"""What the course's models say each real-Go experiment will show: ``model_prediction``.

Each experiment's Go program is written again as a ``labkit.sched`` goroutine program (the same
goroutines, in the same order, with the same GOMAXPROCS) and simulated; the result has the same
keys as ``run_experiment`` with ``"source": "model"``. ``gc_frames`` runs the course's frame pipeline model
(``labkit.render``, paced by ``labkit.gc``). Where the model cannot measure a quantity, the result states what the
model's semantics say, and the docstring of that experiment's function says so:

- CPU affinity (``lockosthread``): the model has ``gomaxprocs`` CPUs and every thread may run on
  all of them; LockOSThread ties a G to its M and changes no affinity (runtime.dolockOSThread in
  src/runtime/proc.go), so ``affinity_locked`` equals ``affinity_before``.
- ``yield`` runs fewer iterations than the real program (``iters`` is what the model ran), and
  its ``ns_per_iter`` comes from the model's own costs, not from a measurement.

Deterministic: same parameters and seed, same numbers.
"""

from __future__ import annotations

import math
from typing import Any

from labkit.golab.errors import ExperimentParameterError
from labkit.golab.experiments import get_experiment

#: Iterations of the model's yield loop: enough for per-iteration figures, few enough that a
#: prediction takes milliseconds (a scheduling event per iteration in the gosched mode).
MODEL_YIELD_ITERS = 1_000

#: CPU of one iteration of the loop body without a yield, ms: the 1.1 ns/iter COURSE.md measured
#: for the no-yield loop (go1.27.3, linux/amd64).
LOOP_BODY_MS = 1.1e-6

#: CPU of one turn of the competing goroutine (an atomic add and the loop test), ms.
OTHER_TURN_MS = 2e-6

#: CPU for each spawn_order goroutine before it records its turn, ms: any positive amount keeps
#: the model's marks apart in time, so their order is the order the goroutines ran.
SPAWNED_WORK_MS = 1e-3

#: At most this many naps of the locked goroutine in the lockosthread model (each wake-up is a
#: few scheduler events; the default 40 x 10 ms on 2 Ps needs 401 naps of 1 ms).
MAX_MODEL_NAPS = 2_000

#: The model's version label: it follows the runtime of Go 1.26 / 1.27 (COURSE.md).
MODEL_GO_VERSION = "model of go1.27 (labkit.sched)"


def _sched():
    import labkit.sched as sched  # imported late: the model package is optional at import time

    return sched


def _meta(name: str, params: dict[str, Any], gomaxprocs: int, seed: int) -> dict[str, Any]:
    return {
        "experiment": name,
        "params": params,
        "source": "model",
        "seed": seed,
        "go_version": MODEL_GO_VERSION,
        "gomaxprocs": gomaxprocs,
        # The model runs each P on a CPU of its own: as many CPUs as Ps.
        "cpus": gomaxprocs,
    }


def _mark(res: Any, label: str) -> float:
    """Virtual ms at which a G reached ``mark(label)`` (``Result.marks``: label -> times)."""
    return float(res.marks[label][-1])


def _segments_of(res: Any, name: str) -> Any:
    """Rows of ``Result.segments`` (p, g, start_ms, end_ms, ...): the stretches G ``name`` ran."""
    return res.segments[res.segments["g"] == name]


def _preempt(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """main spawns a spinner (a loop without calls) and calls Gosched; mirrors go/preempt."""
    s = _sched()
    spin = s.Go(
        "spin", [s.mark("spin_start"), s.cpu(p["loop_ms"], calls=False), s.mark("spin_end")]
    )
    main = s.Go("main", [s.mark("t0"), s.spawn(spin), s.gosched(), s.mark("back")])
    res = s.simulate(
        main,
        gomaxprocs=1,
        async_preempt=p["async_preempt"],
        until_ms=2 * p["loop_ms"] + 1_000,
        seed=seed,
    )
    return {
        "resume_ms": _mark(res, "back") - _mark(res, "t0"),
        "loop_ms": _mark(res, "spin_end") - _mark(res, "spin_start"),
        "async_preempt": p["async_preempt"],
    }


def _yield(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A loop with none / Sleep(0) / Gosched / Sleep(1ns) beside a goroutine that counts its turns
    (one run of its body between two of its Gosched calls); mirrors go/yield.
    """
    s = _sched()
    iters = min(p["iters"], MODEL_YIELD_ITERS)
    step = {
        "none": [],
        "sleep0": [s.sleep(0)],
        "gosched": [s.gosched()],
        "sleep1ns": [s.sleep(1e-6)],
    }[p["mode"]]
    other = s.Go("other", [s.repeat(iters + 2, [s.cpu(OTHER_TURN_MS), s.gosched()])])
    main = s.Go(
        "main",
        [
            s.spawn(other),
            s.gosched(),  # as in the program: let the other goroutine start first
            s.mark("loop_start"),
            s.repeat(iters, [s.cpu(LOOP_BODY_MS), *step]),
            s.mark("loop_end"),
        ],
    )
    res = s.simulate(main, gomaxprocs=1, until_ms=10_000, seed=seed)
    start, end = _mark(res, "loop_start"), _mark(res, "loop_end")
    seg = _segments_of(res, "other")
    turns = int(((seg["start_ms"] >= start) & (seg["start_ms"] < end)).sum())
    return {
        "mode": p["mode"],
        "ns_per_iter": (end - start) * 1e6 / iters,
        "iters": iters,
        "other_turns": turns,
        "note": f"the model ran {iters} iterations (the program runs {p['iters']}); ns_per_iter "
        "is the model's own cost per iteration, not a measurement",
    }


def _syscall_handoff(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """A CPU goroutine queued first, a syscall goroutine in runnext; mirrors go/syscall_handoff."""
    s = _sched()
    done = s.Chan(capacity=2, name="done")
    cpu_g = s.Go(
        "cpu",
        [s.mark("cpu_start"), s.cpu(p["cpu_ms"]), s.mark("cpu_done"), s.send(done)],
    )
    sys_g = s.Go(
        "sys",
        [s.mark("syscall_start"), s.syscall(p["syscall_ms"]), s.mark("syscall_done"), s.send(done)],
    )
    main = s.Go("main", [s.mark("t0"), s.spawn(cpu_g), s.spawn(sys_g), s.recv(done), s.recv(done)])
    res = s.simulate(main, gomaxprocs=1, until_ms=p["syscall_ms"] + p["cpu_ms"] + 1_000, seed=seed)
    t0 = _mark(res, "t0")
    return {
        "cpu_done_ms": _mark(res, "cpu_done") - t0,
        "syscall_done_ms": _mark(res, "syscall_done") - t0,
        "cpu_start_ms": _mark(res, "cpu_start") - t0,
        "syscall_start_ms": _mark(res, "syscall_start") - t0,
    }


def _cpu_list(cpus: int) -> str:
    """A CPU set in the Cpus_allowed_list format of /proc/<pid>/status ("0-1")."""
    return "0" if cpus == 1 else f"0-{cpus - 1}"


def _lockosthread(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """Makespan of goroutines x work_ms of CPU on 2 Ps, without and with a goroutine locked to its
    thread that naps nap_ms at a time; mirrors go/lockosthread.

    Affinity is not something the model measures: it has gomaxprocs CPUs, every thread may run on
    all of them, and LockOSThread (runtime.dolockOSThread: sets g.lockedm / m.lockedg only)
    changes nothing about that, so both affinity keys are the full CPU list.
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
            s.spawn(s.Go(f"w{i}", [s.cpu(p["work_ms"]), s.send(done)]))
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


def _spawn_order(p: dict[str, Any], seed: int) -> dict[str, Any]:
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


#: The runtime's own live heap in the gc_frames program (type data, os.Args, fmt, ...): about
#: 80 KiB (runtime/metrics /gc/heap/live:bytes with -frames=1, go1.27.3).
BASE_HEAP_MB = 80 / 1024
#: "As fast as possible" (fps=0) is taken as 1 ms a frame, the order of one real frame's drawing.
UNPACED_FPS = 1000.0


def _gc_frames(p: dict[str, Any], seed: int) -> dict[str, Any]:
    """The course's frame pipeline model (labkit.render.simulate_frames, paced by labkit.gc) set
    up as the Go program runs: only the frames allocate (producers=0), the live heap is the
    runtime's own ~80 KiB, GOMAXPROCS 2."""
    from labkit.render import simulate_frames

    fps = p["fps"] if p["fps"] > 0 else UNPACED_FPS
    seconds = p["frames"] / fps
    r = simulate_frames(
        width=p["width"],
        height=p["height"],
        fps=fps,
        seconds=seconds,
        pooled=p["pooled"],
        gogc=p["gogc"],
        live_heap_mb=BASE_HEAP_MB,
        producers=0,
        gomaxprocs=2,
        seed=seed,
    )
    last = r.gc_cycles[-1] if r.gc_cycles else None
    return {
        "gc_cycles": len(r.gc_cycles),
        "gc_per_s": len(r.gc_cycles) / seconds,
        "seconds": seconds,
        "pooled": p["pooled"],
        "gctrace_lines": r.gctrace().splitlines()[:3],
        "heap_live_mb": (last.heap_marked_bytes if last else BASE_HEAP_MB * 2**20) / 2**20,
        "frame_bytes": 4 * p["width"] * p["height"],
        "heap_goal_mb": (last.heap_goal_bytes / 2**20) if last else None,
    }


_MODELS = {
    "preempt": (_preempt, 1),
    "yield": (_yield, 1),
    "syscall_handoff": (_syscall_handoff, 1),
    "lockosthread": (_lockosthread, 2),
    "spawn_order": (_spawn_order, 1),
    "gc_frames": (_gc_frames, 2),
}


def model_prediction(name: str, *, seed: int = 0, **params: Any) -> dict[str, Any]:
    """What the model says experiment ``name`` shows: the keys of ``run_experiment``, plus
    ``"source": "model"`` and the ``seed``.

    Parameters are checked exactly as for ``run_experiment``; ``repeats`` is accepted and has no
    effect (a model run is deterministic). ``gc_frames`` reports ``gomaxprocs`` 2, the machine the
    recorded run came from.
    """
    experiment = get_experiment(name)
    full = experiment.normalize(params)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ExperimentParameterError(f"seed must be an int, got {seed!r}")
    model, gomaxprocs = _MODELS[name]
    out = _meta(name, full, gomaxprocs, seed)
    out.update(model(full, seed))
    return out
