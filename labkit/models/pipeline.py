"""A channel pipeline: stages of worker goroutines joined by bounded channels (chapter 4.1).

The article's section 4.1 splits drawing into a pipeline: a frame producer sends draw commands on
an input channel, a fixed pool of workers draws them, and an output channel hands the results to
the render loop. This module asks what such a pipeline delivers, and what the channel buffers do:

* **Throughput is bounded by the slowest stage**: a stage of ``w`` workers needing ``s`` ms per
  item finishes at most ``w * 1000 / s`` items per second, and all CPU work together can use at
  most GOMAXPROCS Ps, so never more than ``gomaxprocs * 1000 / sum(cpu_ms)`` items per second.
* **Back-pressure**: ``ch <- v`` on a full channel parks the sender (runtime.chansend in
  src/runtime/chan.go: no receiver waiting and ``qcount == dataqsiz`` -> gopark on the channel's
  sendq). A full buffer therefore blocks the stage before it, and so on up to the producer, which
  is slowed to the bottleneck's pace instead of piling up work in memory.
* **Buffers absorb jitter, not overload**: with variable service times a small buffer lets a fast
  stage run ahead while its neighbour is slow, which raises throughput; once a stage is saturated,
  a bigger buffer only holds more items waiting, so latency grows and throughput does not
  (Little's law: items in the pipeline = throughput x latency).

Why it is built on :mod:`labkit.models.scheduler`, not :mod:`labkit.models.pool`
--------------------------------------------------------------
``labkit.models.pool`` models one queue in front of one pool, with a formula-level FIFO. A pipeline is
about what happens *between* stages, which is the channel code itself: a send to a waiting receiver
hands the value over directly and readies the receiver into the sender's P's ``runnext``
(send -> goready), a send to a full buffer parks the sender on the sendq, and a receive from a full
buffer takes the head and moves the first blocked sender's value in (chanrecv). ``labkit.models.scheduler``
already implements exactly that (``Scheduler.chanop``) together with the Ps the CPU work competes
for, so each stage here is a real goroutine program and back-pressure is the runtime's own
mechanism, not an assumption of this module.

The program
-----------
``producer``: ``for k := 0; k < items; k++ { time.Sleep(interval); in <- cmd }``; each stage's
worker: ``for v := range prev { netWait(io_ms); compute(cpu_ms); next <- v }``; ``sink`` (the
render loop): ``for v := range out { show(v) }``. The model's programs are fixed lists of steps,
so each worker is written with ``items`` loop iterations (as many as it could ever get); when the
last item has reached the sink every worker is parked in a receive nobody will satisfy, which
ends the run (checkdead; real code would ``close`` the channels instead).

Service times (io_ms + cpu_ms of each stage) are ``"const"`` or ``"exp"`` (exponential with that
mean), drawn per worker iteration from one ``numpy.random.default_rng(seed)``: for independent
identically distributed times that is the same as drawing per item, and it lets the draws be made
before the run. Same arguments, same result, bit for bit.

Latency is measured *in order*: the k-th item to reach the sink against the k-th item offered.
Channels are FIFO, but a stage with several workers may finish items out of order; a render loop
that shows frames in order sees exactly this latency. Its mean equals the per-item mean exactly
(both are sum(done) - sum(offer) over the same items).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from labkit.errors import ParameterError
from labkit.models.scheduler import (
    Chan,
    Go,
    Result,
    cpu,
    io_wait,
    mark,
    recv,
    send,
    simulate,
    sleep,
    spawn,
)
from labkit.params import ModelParams, checked, choice, number, whole
from labkit.validation import check_int, check_real

SERVICE_KINDS = ("const", "exp")

# A guard, not a runtime constant: every worker is written out with ``items`` iterations, so the
# program has items x (total workers) loop bodies; past this a run takes seconds, not milliseconds.
MAX_WORKER_ITERATIONS = 200_000

# The model's horizon. A pipeline always drains (every worker can take every item), so this is
# only a bound against a runaway run: 10^7 ms of virtual time is about 2.8 hours.
UNTIL_MS = 1e7

# Points in the time series (queue depths, items in the pipeline) when sample_ms is not given.
DEFAULT_SAMPLES = 400


class PipelineParameterError(ParameterError):
    """A pipeline argument is out of range; the message names it and says what to pass."""


@dataclass(frozen=True)
class Stage:
    """One stage: ``workers`` goroutines ranging over the previous channel.

    Each item costs ``io_ms`` of network wait first (the G parks in the netpoller and holds no P,
    netpollblock in src/runtime/netpoll.go), then ``cpu_ms`` of computation on a P.
    """

    name: str
    workers: int = 1
    cpu_ms: float = 1.0
    io_ms: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not self.name.isidentifier():
            raise PipelineParameterError(
                f"Stage name must be a short identifier such as 'draw', got {self.name!r}"
            )
        where, kw = f"Stage({self.name!r})", {"error": PipelineParameterError}
        object.__setattr__(
            self, "workers", check_int("workers", self.workers, 1, 256, where=where, **kw)
        )
        for name in ("cpu_ms", "io_ms"):
            ms = check_real(name, getattr(self, name), 0.0, where=where, unit="ms", **kw)
            object.__setattr__(self, name, ms)
        if self.cpu_ms + self.io_ms <= 0:
            raise PipelineParameterError(
                f"Stage({self.name!r}) does no work (cpu_ms + io_ms == 0); give it cpu_ms > 0"
            )

    @property
    def service_ms(self) -> float:
        return self.cpu_ms + self.io_ms

    @property
    def capacity_per_s(self) -> float:
        """Items per second the stage finishes at most: workers / mean service time."""
        return self.workers * 1000.0 / self.service_ms


# The article's figure 4.1 with numbers: decode a draw command, draw it (the SafeDrawImage worker
# pool, the slow part), upload the result (a short copy plus a wait for the device).
DEFAULT_STAGES = (
    Stage("decode", workers=1, cpu_ms=1.0),
    Stage("draw", workers=2, cpu_ms=4.0),
    Stage("upload", workers=1, cpu_ms=0.5, io_ms=1.0),
)


def _check_stages(name: str, value: Any, where: str, error: type[ParameterError]) -> tuple:
    if isinstance(value, Stage) or not isinstance(value, Sequence) or not value:
        raise error(
            f"{where}: {name} must be a non-empty list of Stage(name, workers, cpu_ms, io_ms), "
            f"got {value!r}"
        )
    for i, s in enumerate(value):
        if not isinstance(s, Stage):
            raise error(
                f"{name}[{i}] is {s!r}; build each stage with Stage(name, workers, cpu_ms, io_ms)"
            )
    names = [s.name for s in value]
    if len(set(names)) != len(names):
        raise error(f"stage names must be unique, got {names}")
    if len(value) > 8:
        raise error(f"at most 8 stages, got {len(value)}")
    return tuple(value)


def _check_buffer(name: str, value: Any, where: str, error: type[ParameterError]) -> Any:
    """One capacity for every channel (an int >= 0), or one per channel (a tuple of them)."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        return check_int(name, value, 0, 100_000, where=where, error=error)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return tuple(
            check_int(f"{name}[{i}]", b, 0, 100_000, where=where, error=error)
            for i, b in enumerate(value)
        )
    raise error(f"{name} must be a channel capacity (int >= 0) or a list of them, got {value!r}")


def _check_sample_ms(name: str, value: Any, where: str, error: type[ParameterError]) -> Any:
    if value is None:
        return None
    return check_real(name, value, 0.0, low_open=True, unit="ms", where=where, error=error)


@dataclass(frozen=True)
class PipelineParams(ModelParams):
    """Everything one run depends on, validated. ``buffer`` is one capacity for every channel or
    one per channel (``len(stages) + 1``: producer -> first stage, ..., last stage -> sink);
    ``buffers[i]`` is channel i's capacity either way. ``interval_ms``: the producer sleeps this
    long before each item (0: it offers as fast as the pipeline takes them). ``service``:
    ``"exp"`` (jittery) or ``"const"`` work per item. ``sample_ms``: the time series' step
    (None: the run's length / 400)."""

    error: ClassVar[type[ParameterError]] = PipelineParameterError

    stages: tuple[Stage, ...] = checked(DEFAULT_STAGES, _check_stages)
    buffer: int | tuple[int, ...] = checked(4, _check_buffer, ui=(0, 64, 1), low=0, high=100_000)
    items: int = whole(400, 1, 100_000)
    interval_ms: float = number(0.0, 0.0, unit="ms")
    service: str = choice("exp", SERVICE_KINDS)
    gomaxprocs: int = whole(4, 1, 256, ui=(1, 16, 1))
    seed: int = whole(0, 0, 2**63 - 1)
    sample_ms: float | None = checked(None, _check_sample_ms)

    def check_together(self) -> None:
        """One capacity per channel, and a guard against a program too long to run."""
        n_chans = len(self.stages) + 1
        if isinstance(self.buffer, tuple) and len(self.buffer) != n_chans:
            raise self.error(
                f"buffer lists one capacity per channel: {n_chans} for {len(self.stages)} "
                f"stages (producer -> first stage ... last stage -> sink), got {len(self.buffer)}"
            )
        total_workers = sum(s.workers for s in self.stages)
        if self.items * total_workers > MAX_WORKER_ITERATIONS:
            raise self.error(
                f"items x total workers = {self.items} x {total_workers} = "
                f"{self.items * total_workers:,} worker iterations, more than the model's "
                f"{MAX_WORKER_ITERATIONS:,}; use fewer items or fewer workers"
            )

    @property
    def buffers(self) -> tuple[int, ...]:
        """Each channel's capacity: channel 0 feeds the first stage, the last feeds the sink."""
        if isinstance(self.buffer, tuple):
            return self.buffer
        return (self.buffer,) * (len(self.stages) + 1)

    @property
    def channel_names(self) -> tuple[str, ...]:
        """``in -> decode``, ``decode -> draw``, ..., ``upload -> sink``."""
        ends = ["producer", *(s.name for s in self.stages), "sink"]
        return tuple(f"{a} -> {b}" for a, b in zip(ends, ends[1:], strict=False))

    @property
    def producer_rate_per_s(self) -> float:
        """The most the producer offers: one item per ``interval_ms`` (inf when 0)."""
        return math.inf if self.interval_ms == 0 else 1000.0 / self.interval_ms

    @property
    def cpu_limit_per_s(self) -> float:
        """Items per second the Ps can carry: gomaxprocs / total CPU per item.

        Only a G holding a P runs Go code (runtime.execute in src/runtime/proc.go), so however many
        workers there are, the stages' CPU work shares ``gomaxprocs`` Ps.
        """
        cpu_ms = sum(s.cpu_ms for s in self.stages)
        return math.inf if cpu_ms == 0 else self.gomaxprocs * 1000.0 / cpu_ms

    def capacity_per_s(self) -> float:
        """The long-run bound on throughput: min over the producer, every stage and the Ps."""
        return min(
            self.producer_rate_per_s,
            self.cpu_limit_per_s,
            *(s.capacity_per_s for s in self.stages),
        )

    def bottleneck(self) -> str:
        """What sets :meth:`capacity_per_s`: a stage's name, ``"producer"`` or ``"Ps"``."""
        limits = [("producer", self.producer_rate_per_s)]
        limits += [(s.name, s.capacity_per_s) for s in self.stages]
        limits.append(("Ps", self.cpu_limit_per_s))
        return min(limits, key=lambda kv: kv[1])[0]


def _draws_ms(params: PipelineParams, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """Per stage, per worker: a factor per iteration (1.0 for const, Exp(1) for exp)."""
    out = []
    for s in params.stages:
        if params.service == "const":
            out.append([np.ones(params.items) for _ in range(s.workers)])
        else:
            out.append([rng.exponential(1.0, params.items) for _ in range(s.workers)])
    return out


def build_program(params: PipelineParams, factors: list[list[np.ndarray]]) -> Go:
    """The pipeline as a ``labkit.models.scheduler`` program; marks record when each item passes each point.

    Marks: ``offer`` (the producer has an item), ``offered`` (its send completed), per worker
    ``got{s}.{w}`` / ``put{s}.{w}`` / ``sent{s}.{w}`` (received, finished work, send completed),
    ``done`` (the sink received an item). Step objects without parameters are shared between
    iterations (steps are immutable), which keeps building a few-thousand-item program fast.
    """
    chans = [
        Chan(cap, name=f"ch{i}")
        for i, cap in enumerate(params.buffers)  # ch0 feeds stage 0
    ]
    offer, offered, done = mark("offer"), mark("offered"), mark("done")
    prod: list = []
    pause = sleep(params.interval_ms) if params.interval_ms > 0 else None
    send0 = send(chans[0])
    for _ in range(params.items):
        if pause is not None:
            prod.append(pause)
        prod += (offer, send0, offered)
    goroutines = [Go("producer", prod, stack="main.producer")]
    for si, stage in enumerate(params.stages):
        rx, tx = recv(chans[si]), send(chans[si + 1])
        for wi in range(stage.workers):
            got, put, sent = mark(f"got{si}.{wi}"), mark(f"put{si}.{wi}"), mark(f"sent{si}.{wi}")
            steps: list = []
            stack = f"main.{stage.name}Worker"
            for f in factors[si][wi].tolist():
                steps += (rx, got)
                if stage.io_ms > 0:
                    steps.append(io_wait(stage.io_ms * f))
                if stage.cpu_ms > 0:
                    steps.append(cpu(stage.cpu_ms * f, stack=stack))
                steps += (put, tx, sent)
            goroutines.append(Go(f"{stage.name}{wi}", steps, stack=stack))
    rx = recv(chans[-1])
    sink = Go("sink", [x for _ in range(params.items) for x in (rx, done)], stack="main.render")
    goroutines.append(sink)
    return Go("main", [spawn(g) for g in goroutines])


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """The outcome of :func:`simulate_pipeline`. Times in virtual ms; arrays are read-only.

    Per item (in order): ``offer_ms`` (the producer had it), ``producer_blocked_ms`` (how long its
    send blocked: back-pressure reaching the producer), ``done_ms`` (the k-th arrival at the
    sink), ``latency_ms`` (done - offer, in order).
    Time series at ``t_ms``: ``queued[i]`` items between the two ends of channel i (in its buffer
    or held by a sender parked on it), ``in_system`` items offered but not yet at the sink.
    Per stage: ``stage_busy`` (share of worker time serving), ``stage_blocked`` (share of worker
    time parked in a send: held back by the next stage), ``stage_items`` (items it handled).
    ``sched`` is the scheduler model's own :class:`labkit.models.scheduler.Result` (timeline views).
    """

    params: PipelineParams
    offer_ms: np.ndarray = field(repr=False)
    producer_blocked_ms: np.ndarray = field(repr=False)
    done_ms: np.ndarray = field(repr=False)
    latency_ms: np.ndarray = field(repr=False)
    t_ms: np.ndarray = field(repr=False)
    queued: np.ndarray = field(repr=False)
    in_system: np.ndarray = field(repr=False)
    stage_busy: tuple[float, ...]
    stage_blocked: tuple[float, ...]
    stage_items: tuple[int, ...]
    throughput_per_s: float
    mean_latency_ms: float
    p50_ms: float
    p99_ms: float
    max_latency_ms: float
    makespan_ms: float
    mean_in_system: float
    producer_blocked_share: float
    sched: Result = field(repr=False)

    @property
    def capacity_per_s(self) -> float:
        return self.params.capacity_per_s()

    @property
    def offered_per_s(self) -> float:
        """The rate the producer actually offered items at: below 1000 / interval_ms when its
        sends block, and also because ``time.Sleep(d)`` sleeps at least d plus a wake-up (an idle
        P waits in netpoll, whose epoll_wait timeout has whole-ms resolution: netpoll in
        src/runtime/netpoll_epoll.go)."""
        n = self.offer_ms.size
        span = float(self.offer_ms[-1] - self.offer_ms[0]) if n > 1 else 0.0
        return (n - 1) * 1000.0 / span if span > 0 else math.inf

    @property
    def bottleneck(self) -> str:
        return self.params.bottleneck()

    def summary(self) -> str:
        """One line: the pipeline and its inputs, then throughput, latency and back-pressure."""
        p = self.params
        shape = " -> ".join(
            f"{s.name} x{s.workers} ({s.cpu_ms:g}" + (f"+{s.io_ms:g} io" if s.io_ms else "") + ")"
            for s in p.stages
        )
        buffers = (
            f"buffer {p.buffers[0]}"
            if len(set(p.buffers)) == 1
            else "buffers " + "/".join(map(str, p.buffers))
        )
        pace = "as fast as possible" if p.interval_ms == 0 else f"every {p.interval_ms:g} ms"
        return (
            f"pipeline {shape} ms, {buffers}, {p.items} items {pace}, {p.service} service, "
            f"GOMAXPROCS={p.gomaxprocs}, seed {p.seed}: throughput {self.throughput_per_s:.0f}/s "
            f"(bound {self.capacity_per_s:.0f}/s, {self.bottleneck}), latency mean "
            f"{self.mean_latency_ms:.1f} ms p99 {self.p99_ms:.1f} ms, producer blocked "
            f"{self.producer_blocked_share:.0%} of the time"
        )

    def stage_table(self) -> list[dict[str, Any]]:
        """One row per stage: workers, capacity, busy and blocked shares, items handled."""
        return [
            {
                "stage": s.name,
                "workers": s.workers,
                "capacity_per_s": s.capacity_per_s,
                "busy": busy,
                "blocked_on_send": blocked,
                "items": n,
            }
            for s, busy, blocked, n in zip(
                self.params.stages,
                self.stage_busy,
                self.stage_blocked,
                self.stage_items,
                strict=True,
            )
        ]


def _readonly(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    a.setflags(write=False)
    return a


def _marks(res: Result, label: str) -> np.ndarray:
    return np.sort(np.asarray(res.marks.get(label, []), dtype=float))


def simulate_pipeline(params: PipelineParams | None = None, /, **overrides: Any) -> PipelineResult:
    """Run ``items`` through ``stages`` joined by channels of capacity ``buffer``; measure it.

    ``params`` is a :class:`PipelineParams` (default: its defaults, the article's three stages);
    ``overrides`` change its fields by name, e.g. ``simulate_pipeline(buffer=0, gomaxprocs=2)``.
    Raises :class:`PipelineParameterError` (a :class:`labkit.ParameterError`) naming any bad one.
    """
    params = PipelineParams.make(params, **overrides)
    factors = _draws_ms(params, np.random.default_rng(params.seed))
    res = simulate(
        build_program(params, factors),
        gomaxprocs=params.gomaxprocs,
        until_ms=UNTIL_MS,
        seed=params.seed,
    )
    offer, offered, done = _marks(res, "offer"), _marks(res, "offered"), _marks(res, "done")
    if done.size != params.items:  # pragma: no cover - every worker can take every item
        raise RuntimeError(
            f"the pipeline delivered {done.size} of {params.items} items by {UNTIL_MS:g} ms; "
            "this is a bug in labkit.models.pipeline, please report it with the arguments"
        )
    start, end = float(offer[0]), float(done[-1])
    span = max(end - start, 1e-12)
    latency = done - offer
    stages = _stage_measures(params, res, factors, end, span)
    ups, downs = [offer, *stages.puts], [*stages.gots, done]

    step = params.sample_ms if params.sample_ms is not None else max(end / DEFAULT_SAMPLES, 1e-3)
    t = np.arange(0.0, end + step, step)
    count = lambda times: np.searchsorted(times, t, side="right")  # noqa: E731
    queued = np.stack([count(u) - count(d) for u, d in zip(ups, downs, strict=True)])
    in_system = count(offer) - count(done)
    queued.setflags(write=False)

    return PipelineResult(
        params=params,
        offer_ms=_readonly(offer),
        producer_blocked_ms=_readonly(offered - offer),
        done_ms=_readonly(done),
        latency_ms=_readonly(latency),
        t_ms=_readonly(t),
        queued=queued,
        in_system=_readonly(in_system),
        stage_busy=stages.busy,
        stage_blocked=stages.blocked,
        stage_items=stages.handled,
        throughput_per_s=(done.size - 1) * 1000.0 / (end - float(done[0]))
        if done.size > 1 and end > done[0]
        else math.nan,
        mean_latency_ms=float(latency.mean()),
        p50_ms=float(np.percentile(latency, 50)),
        p99_ms=float(np.percentile(latency, 99)),
        max_latency_ms=float(latency.max()),
        makespan_ms=span,
        mean_in_system=float(latency.sum() / span),
        producer_blocked_share=float((offered - offer).sum() / span),
        sched=res,
    )


@dataclass(frozen=True)
class _StageMeasures:
    busy: tuple[float, ...]  # share of worker time serving
    blocked: tuple[float, ...]  # share of worker time parked in a send
    handled: tuple[int, ...]  # items each stage took
    gots: tuple[np.ndarray, ...]  # per stage: when its workers received an item (sorted)
    puts: tuple[np.ndarray, ...]  # per stage: when its workers began sending one on (sorted)


def _stage_measures(
    params: PipelineParams, res: Result, factors: list[list[np.ndarray]], end: float, span: float
) -> _StageMeasures:
    """Per stage: items handled, serving time, time parked in the send to the next stage."""
    busy, blocked, handled, gots_all, puts_all = [], [], [], [], []
    for si, stage in enumerate(params.stages):
        serve_ms = blocked_ms = 0.0
        n_stage = 0
        gots, puts = [], []
        for wi in range(stage.workers):
            got = _marks(res, f"got{si}.{wi}")
            put = _marks(res, f"put{si}.{wi}")
            sent = _marks(res, f"sent{si}.{wi}")
            n = got.size
            n_stage += n
            serve_ms += stage.service_ms * float(factors[si][wi][:n].sum())
            # Shares are of the window [first offer, last arrival]: a worker whose last send
            # completed may run its next step (the "sent" mark) only after the sink has the last
            # item, so each put -> sent interval counts only inside the window.
            blocked_ms += float((np.minimum(sent, end) - np.minimum(put[: sent.size], end)).sum())
            gots.append(got)
            puts.append(put)
        worker_ms = stage.workers * span
        busy.append(serve_ms / worker_ms)
        blocked.append(blocked_ms / worker_ms)
        handled.append(n_stage)
        gots_all.append(np.sort(np.concatenate(gots)))
        puts_all.append(np.sort(np.concatenate(puts)))
    return _StageMeasures(
        tuple(busy), tuple(blocked), tuple(handled), tuple(gots_all), tuple(puts_all)
    )


def _rows(results: list[PipelineResult], key: str, values: list) -> list[dict[str, Any]]:
    return [
        {
            key: v,
            "throughput_per_s": r.throughput_per_s,
            "capacity_per_s": r.capacity_per_s,
            "bottleneck": r.bottleneck,
            "mean_latency_ms": r.mean_latency_ms,
            "p99_ms": r.p99_ms,
            "mean_in_system": r.mean_in_system,
            "producer_blocked_share": r.producer_blocked_share,
        }
        for v, r in zip(values, results, strict=True)
    ]


def sweep_buffers(buffers: Sequence[int], **kwargs: Any) -> list[dict[str, Any]]:
    """One row per channel capacity (the same for every channel), same seeded service times.

    ``kwargs`` are :func:`simulate_pipeline`'s other arguments. Rows: buffer, throughput_per_s,
    capacity_per_s, bottleneck, mean_latency_ms, p99_ms, mean_in_system, producer_blocked_share.
    """
    if "buffer" in kwargs:
        raise PipelineParameterError("pass the capacities to try in buffers, not buffer=")
    values = list(buffers)
    return _rows([simulate_pipeline(buffer=b, **kwargs) for b in values], "buffer", values)


def sweep_workers(stage: str, counts: Sequence[int], **kwargs: Any) -> list[dict[str, Any]]:
    """One row per worker count of the stage named ``stage`` (the other stages unchanged)."""
    stages = tuple(kwargs.pop("stages", DEFAULT_STAGES))
    names = [s.name for s in stages if isinstance(s, Stage)]
    if stage not in names:
        raise PipelineParameterError(f"no stage named {stage!r}; the stages are {names}")
    values = list(counts)
    results = []
    for c in values:
        changed = tuple(
            Stage(s.name, c, s.cpu_ms, s.io_ms) if s.name == stage else s for s in stages
        )
        results.append(simulate_pipeline(stages=changed, **kwargs))
    return _rows(results, "workers", values)
