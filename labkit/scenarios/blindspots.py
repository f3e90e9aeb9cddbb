"""The scheduler lab's scenario: a small Go server written as a ``labkit.models.scheduler`` program.

Chapter 2's lab reproduces the source article's five "blind spots" (its sections 2.1-2.5) with
one program shape whose knobs are the lab's sliders:

* **requests**: ``goroutines`` connection goroutines, started at t=0 and parked in the netpoller
  (``io_wait``) until their request arrives, one every ``arrival_ms`` (with
  ``arrivals="timer"`` each sleeps until its arrival time instead, ``time.Sleep(time.Until(
  arrive))``, as the Go twins of ``labkit.golab.twins`` do); each then does
  ``work_ms`` of CPU, and a share of them also a blocking system call (``syscall``, e.g. a file
  read or a cgo call) or a network wait (``io_wait``, e.g. a database round trip) of
  ``block_ms``. Their latency is *finish time - arrival time*, what a client would see, so a
  stall that delays the netpoller or the scheduler shows up even when nothing "runs slowly".
* **hogs**: ``hogs`` goroutines that start 1 ms in (``HOG_START_MS``) and run a long CPU loop
  of ``hog_ms`` (``hog_calls=False`` is a
  tight loop without function calls, preemptible only asynchronously), optionally yielding every
  iteration with ``yield_mode`` (``time.Sleep(0)``, ``runtime.Gosched()``, ``time.Sleep(1ns)``).
* **tickers**: ``tickers`` render-like goroutines that sleep ``tick_ms`` and then draw for
  ``draw_ms``, ``frames`` times; ``locked`` of them call ``runtime.LockOSThread`` first. Their
  *lateness* (how much later than the ideal period each frame starts) measures timer wake-up
  delay.

``cores`` (None: a CPU for every thread) makes the operating system share that many CPUs
between the threads (``simulate(cores=n)``), as on the machine the twins were recorded on;
``sysmon_backoff`` starts the run in a process that has run a while, with sysmon in its 10 ms
rounds (``simulate(sysmon_backoff=True)``), as the twins' are after calibrating in ``init``.

A preset (:data:`PRESETS`) pairs a "stall" and a "fix" setting for each blind spot, with the
claim the chapter makes about the difference; tests/test_schedlab.py checks every claim.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from labkit.errors import ParameterError
from labkit.models.scheduler import (
    Go,
    cpu,
    gosched,
    io_wait,
    lock_os_thread,
    mark,
    repeat,
    simulate,
    sleep,
    sleep_until,
    spawn,
    syscall,
)
from labkit.models.scheduler.params import cores_field, sysmon_backoff_field
from labkit.params import ModelParams, choice, flag, number, whole
from labkit.validation import check_int, check_real

YIELD_MODES = ("none", "sleep0", "gosched", "sleep1ns")
ARRIVALS = ("network", "timer")
HOG_ITER_MS = 0.5  # one iteration of a hog's loop: where a yield call, if any, goes
# Hogs are woken (by a network event) this long after start, so that every connection goroutine
# has parked in the netpoller first: each request then arrives at its absolute time
# k * arrival_ms, whatever the hog does to the scheduler afterwards. With arrivals="timer" a hog
# sleeps instead, as the twins' does (time.Sleep(time.Millisecond)), and a request goroutine
# that first runs after its arrival time goes straight on (sleep_until).
HOG_START_MS = 1.0


@dataclass(frozen=True)
class LabParams(ModelParams):
    """The scheduler lab's controls. Times in virtual milliseconds."""

    gomaxprocs: int = whole(4, 1, 256, ui=(1, 8, 1))
    goroutines: int = whole(60, 0, 20_000, doc="request goroutines", ui=(0, 1000, 10))
    work_ms: float = number(1.0, 0.0, 1e9, unit="ms", doc="CPU of a request", ui=(0.1, 20.0, 0.1))
    arrival_ms: float = number(1.0, 0.0, 1e9, unit="ms", doc="request spacing", ui=(0, 10, 0.1))
    syscall_share: float = number(0.0, 0.0, 1.0, doc="share in syscalls", ui=(0, 1, 0.05))
    io_share: float = number(0.0, 0.0, 1.0, doc="share in net waits", ui=(0, 1, 0.05))
    block_ms: float = number(5.0, 0.0, 1e9, unit="ms", doc="each block", ui=(0, 50, 0.5))
    hogs: int = whole(1, 0, 64, doc="CPU-bound goroutines", ui=(0, 8, 1))
    hog_ms: float = number(100.0, 0.0, 1e9, unit="ms", doc="each hog's work", ui=(0, 500, 10))
    hog_calls: bool = flag(False, doc="the hog's loop makes function calls")
    yield_mode: str = choice("none", YIELD_MODES)
    async_preempt: bool = flag(True, doc="Go >= 1.14: sysmon can preempt a tight loop")
    tickers: int = whole(0, 0, 16, doc="render loops on a time.Ticker", ui=(0, 4, 1))
    locked: int = whole(0, 0, 16, doc="tickers that call LockOSThread", ui=(0, 4, 1))
    tick_ms: float = number(4.0, 0.0, 1e9, low_open=True, unit="ms", ui=(0.5, 20.0, 0.5))
    draw_ms: float = number(0.5, 0.0, 1e9, unit="ms", doc="each frame's drawing")
    frames: int = whole(20, 0, 10_000)
    seed: int = whole(0, 0, 2**63 - 1)
    arrivals: str = choice(
        "network", ARRIVALS, doc="requests readied by the netpoller, or each by its own timer"
    )
    cores: int | None = cores_field()
    sysmon_backoff: bool = sysmon_backoff_field()

    def check_together(self) -> None:
        """No more locked tickers than tickers; a request blocks at most once."""
        where = type(self).__name__
        check_int("locked", self.locked, 0, self.tickers, where=where)
        if self.syscall_share + self.io_share > 1 + 1e-9:
            raise ParameterError(
                f"{where}: syscall_share + io_share must be at most 1 (each request does at "
                f"most one of the two); got {self.syscall_share} + {self.io_share}"
            )


def _yield_step(mode: str):
    return {
        "none": None,
        "sleep0": sleep(0),  # time.Sleep(0): returns at once, no yield (time.go: d <= 0)
        "gosched": gosched(),  # runtime.Gosched: to the global queue (goschedImpl)
        "sleep1ns": sleep(1e-6),  # time.Sleep(1ns): parks on a timer, woken into runnext
    }[mode]


def build_program(params: LabParams) -> Go:
    """The lab's program for ``params``: main spawns hogs, tickers and request goroutines."""
    rng = np.random.default_rng(params.seed)
    steps = []
    if params.hogs and params.hog_ms > 0:
        extra = _yield_step(params.yield_mode)
        if extra is None:
            # One loop with no yield: a single step, so no call boundary appears between
            # iterations (a tight loop has none; cooperative preemption cannot stop it).
            hog = [cpu(params.hog_ms, calls=params.hog_calls, stack="main.hog;main.spin")]
        else:
            iters = max(1, int(round(params.hog_ms / HOG_ITER_MS)))
            chunk = cpu(params.hog_ms / iters, calls=params.hog_calls, stack="main.hog;main.spin")
            hog = [repeat(iters, [chunk, extra])]
        start = io_wait(HOG_START_MS) if params.arrivals == "network" else sleep(HOG_START_MS)
        for i in range(params.hogs):
            steps.append(spawn(Go(f"hog{i}", [start, *hog])))
    for i in range(params.tickers):
        frame = [
            sleep(params.tick_ms),
            mark(f"tick{i}"),
            cpu(params.draw_ms, stack="main.render;main.drawFrame"),
        ]
        prologue = [lock_os_thread()] if i < params.locked else []
        steps.append(
            spawn(Go(f"ticker{i}", [*prologue, mark(f"tick{i}"), repeat(params.frames, frame)]))
        )
    kinds = rng.random(params.goroutines)
    timer = params.arrivals == "timer" and params.arrival_ms > 0
    for k in range(params.goroutines):
        arrive_ms = k * params.arrival_ms
        body = []
        if timer:  # time.Sleep(time.Until(arrive)): no wait at all once arrive has passed
            body.append(sleep_until(arrive_ms))
        elif arrive_ms > 0:
            body.append(io_wait(arrive_ms))
        body.append(cpu(params.work_ms, stack="main.handle;main.compute"))
        if kinds[k] < params.syscall_share:
            body.append(syscall(params.block_ms))
        elif kinds[k] < params.syscall_share + params.io_share:
            body.append(io_wait(params.block_ms))
        steps.append(spawn(Go(f"req{k}", body)))
    return Go("main", steps)


@dataclass(frozen=True)
class LabRun:
    """One run of the lab: the simulation result and the measures the lab reports."""

    params: LabParams
    result: Any  # labkit.models.scheduler Result
    request_latency_ms: np.ndarray
    tick_lateness_ms: np.ndarray
    makespan_ms: float
    metrics: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        m, p = self.metrics, self.params
        go = "Go>=1.14 async preemption" if p.async_preempt else "Go<=1.13 cooperative"
        lines = [
            f"GOMAXPROCS={p.gomaxprocs}, {p.goroutines} requests x {p.work_ms:g} ms every "
            f"{p.arrival_ms:g} ms, "
            + (
                f"{p.hogs} hog(s) x {p.hog_ms:g} ms{' tight loop' if not p.hog_calls else ''}"
                f" (yield={p.yield_mode})"
                if p.hogs
                else "no hogs"
            )
            + f", {go}, "
            f"syscall share {p.syscall_share:g}, net-wait share {p.io_share:g} x {p.block_ms:g} ms, "
            f"tickers={p.tickers} (locked {p.locked}) every {p.tick_ms:g} ms, seed={p.seed}"
            + (", requests woken by their own timers" if p.arrivals == "timer" else "")
            + (f", on {p.cores} CPU(s)" if p.cores is not None else "")
            + (", sysmon backed off" if p.sysmon_backoff else ""),
            f"makespan {m['makespan_ms']:.1f} ms; "
            + (
                f"request latency p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms"
                if p.goroutines
                else "no requests"
            )
            + (f"; tick lateness p99 {m['tick_p99_ms']:.2f} ms" if p.tickers else ""),
            f"preemptions {m['preemptions']:.0f}, steals {m['steals']:.0f}, handoffs "
            f"{m['handoffs']:.0f} (syscall) + {m['locked_handoffs']:.0f} (locked thread), "
            f"peak threads {m['threads_peak']:.0f}"
            + (f"; DEADLOCK: {self.result.deadlock}" if self.result.deadlock else ""),
        ]
        return "\n".join(lines)


def lab_params(params: LabParams | None = None, **overrides: Any) -> LabParams:
    """``params`` (or the defaults) with ``overrides``, checked: ``LabParams.make``."""
    return LabParams.make(params, **overrides)


def run_lab(params: LabParams | None = None, *, until_ms: float = 10_000.0, **overrides) -> LabRun:
    """Simulate the lab's program and compute its measures."""
    params = lab_params(params, **overrides)
    check_real("until_ms", until_ms, 0, 1e9, low_open=True, where="run_lab", unit="ms")
    result = simulate(
        build_program(params),
        gomaxprocs=params.gomaxprocs,
        async_preempt=params.async_preempt,
        until_ms=until_ms,
        seed=params.seed,
        cores=params.cores,
        sysmon_backoff=params.sysmon_backoff,
    )
    latency = []
    for k in range(params.goroutines):
        done = result.finished_ms.get(f"req{k}")
        latency.append(np.nan if done is None else done - k * params.arrival_ms)
    latency = np.asarray(latency, dtype=float)
    lateness = []
    for i in range(params.tickers):
        starts = np.asarray(result.marks.get(f"tick{i}", []), dtype=float)
        if len(starts) > 1:
            # Ideal: each frame starts tick_ms after the previous frame's drawing ended.
            lateness.extend(np.diff(starts) - params.tick_ms - params.draw_ms)
    lateness = np.maximum(np.asarray(lateness, dtype=float), 0.0)
    finished = [t for t in result.finished_ms.values() if t is not None]
    makespan = float(max(finished)) if finished else float("nan")
    done = latency[~np.isnan(latency)]
    stats = result.stats
    metrics = {
        "makespan_ms": makespan,
        "p50_ms": float(np.percentile(done, 50)) if done.size else float("nan"),
        "p99_ms": float(np.percentile(done, 99)) if done.size else float("nan"),
        "tick_p99_ms": float(np.percentile(lateness, 99)) if lateness.size else 0.0,
        "unfinished": float(np.isnan(latency).sum()),
        **{
            k: float(stats[k])
            for k in ("preemptions", "steals", "handoffs", "locked_handoffs", "threads_peak")
        },
    }
    return LabRun(params, result, latency, lateness, makespan, metrics)


@dataclass(frozen=True)
class Preset:
    """One blind spot: the article's claim, the stall and the fix, and what should differ."""

    key: str
    title: str
    claim: str
    truth: str
    stall: LabParams
    fix: LabParams
    expect: tuple[tuple[str, str], ...]  # (metric, "lower" | "higher" | "same") in the fix

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stall": asdict(self.stall), "fix": asdict(self.fix)}


_BASE = LabParams()


def _preset(
    key: str,
    title: str,
    claim: str,
    truth: str,
    stall: LabParams,
    fix: dict[str, Any],
    expect: tuple[tuple[str, str], ...],
) -> Preset:
    """A Preset whose fix is the stall with a few settings changed (written as only those, so a
    reader sees exactly what the fix changes)."""
    return Preset(key, title, claim, truth, stall, replace(stall, **fix), expect)


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in [
        _preset(
            "2.1",
            "LockOSThread",
            "LockOSThread makes the locked goroutine 'occupy a P' that other goroutines cannot "
            "use or steal from, and pins a CPU core.",
            "LockOSThread ties a goroutine to its M, not to a P, and does not change CPU "
            "affinity. When the locked goroutine sleeps its P is handed to other work; the cost "
            "is an extra thread and a thread hand-over each time it wakes.",
            replace(
                _BASE,
                gomaxprocs=2,
                hogs=0,
                goroutines=200,
                work_ms=1.0,
                arrival_ms=0.5,
                tickers=1,
                locked=1,
                tick_ms=2.0,
            ),
            dict(locked=0),
            (("threads_peak", "lower"), ("makespan_ms", "same")),
        ),
        _preset(
            "2.2",
            "Blocking system calls",
            "A goroutine stuck in epoll_wait starves the Ms; goroutines pile up waiting for one.",
            "Only an idle M ever blocks in netpoll. A blocking system call keeps its M; sysmon "
            "(retake) hands its P to another M at its next round if work is queued, or if no "
            "other P is idle and no M spins; else once the call is 10 ms old. So the thread count "
            "grows with concurrent blocking calls. Network waits park the goroutine without an M.",
            replace(
                _BASE,
                gomaxprocs=2,
                hogs=0,
                goroutines=120,
                arrival_ms=0.2,
                syscall_share=0.8,
                block_ms=20.0,
            ),
            dict(syscall_share=0.0, io_share=0.8),
            (("threads_peak", "lower"),),
        ),
        _preset(
            "2.3",
            "Long loops and preemption",
            "A loop without function calls holds its P until it ends.",
            "True only before Go 1.14 (or with GODEBUG=asyncpreemptoff=1). Since Go 1.14 sysmon "
            "preempts a goroutine that has run 10 ms (retake, forcePreemptNS) with a signal, "
            "and the goroutine goes to the global queue.",
            replace(
                _BASE,
                gomaxprocs=1,
                hogs=1,
                hog_ms=200.0,
                hog_calls=False,
                async_preempt=False,
                goroutines=40,
                arrival_ms=2.0,
            ),
            dict(async_preempt=True),
            (("p99_ms", "lower"), ("preemptions", "higher")),
        ),
        _preset(
            "2.4",
            "Run queues and work stealing",
            "With GOMAXPROCS=1 everything queues on the global run queue and stealing is "
            "impossible; a global queue longer than 256 forces migration.",
            "New goroutines go to the creating P's local queue (256 slots + runnext); only "
            "overflow goes to the global queue, and there is no 'global queue > 256' rule. With "
            "more Ps, idle Ps steal half of a busy P's queue (stealWork, runqsteal).",
            replace(_BASE, gomaxprocs=1, hogs=0, goroutines=400, work_ms=1.0, arrival_ms=0.0),
            dict(gomaxprocs=4),
            (("makespan_ms", "lower"), ("steals", "higher")),
        ),
        _preset(
            "2.5",
            "Timers and netpoller wake-ups",
            "A timerproc goroutine fires timers; time.Sleep-based loops are always scheduling "
            "friendly.",
            "There is no timerproc since Go 1.14: timers live in per-P heaps and run when their "
            "P passes through the scheduler ((*timers).check, src/runtime/time.go:982, called by "
            "findRunnable), or when a thread out of work steals them (stealWork). If every P is "
            "busy with long-running goroutines, an expired timer waits for the next schedule "
            "point, up to a 10 ms time slice. Leaving a P free (fewer CPU hogs than Ps) fixes it.",
            replace(
                _BASE,
                gomaxprocs=2,
                hogs=2,
                hog_ms=200.0,
                hog_calls=True,
                goroutines=0,
                tickers=1,
                tick_ms=4.0,
                frames=30,
            ),
            dict(hogs=1),
            (("tick_p99_ms", "lower"),),
        ),
    ]
}
