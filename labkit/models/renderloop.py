"""A Go render loop under GC pressure: frame times, GC cycles and the heap, frame by frame.

The program modelled is the source article's dashboard: a render goroutine wakes on a 1/fps
ticker, gets a ``*image.RGBA`` (``image.NewRGBA``, ``width*height*4`` bytes of pixels: 1024x768
is 3 MiB, so 60 fps allocates 180 MiB/s), composes the frame and hands it to a display goroutine
over a channel; ``producers`` goroutines decode sensor data (allocating small objects and using
CPU) and draw their updates. The GC is ``labkit.models.gcpacer.GCEngine``, the same pacer as
``labkit.models.gcpacer.simulate_gc``, so the frame model and the pacer agree by construction.

Frame time = allocation (the runtime zeroes a fresh large object) + mark assist (the render
goroutine pays scan work for what it allocates during mark, gcAssistAlloc in mgcmark.go) +
stop-the-world overlap (every goroutine stops) + waiting for a P (background mark workers hold
25 % of GOMAXPROCS during mark, busy producers hold others; runnable goroutines share the
remaining Ps, a processor-sharing approximation of the scheduler's round robin) + lock wait +
compose work. A frame is janky when it takes longer than the 1000/fps ms budget. With one P a
mark is run through as the runtime schedules it (``labkit.models.gcpacer.wakeup.one_p_mark``):
the render goroutine and the producers sleep on timers only that P can run, so both wait for the
workers to give it back, and the idle worker marks with the CPU they lose.

sync.Pool (``pooled=True``) follows src/sync/pool.go: Get takes from this P's primary cache, then
other Ps', then the victim cache, and only calls New (an allocation) when all are empty; Put
returns to the primary cache; at the start of every GC cycle poolCleanup (registered with the
runtime, run by clearpools in gcStart) drops the victim cache and moves the primary cache into
it. So a buffer put back between frames survives one GC in the victim cache and is dropped only
if two cycles start before the next Get; ``pool_victim_cache=False`` gives Go <= 1.12, where each
GC emptied the pool.

The article claims GC "120+/s -> 3-5/s" from pooling; the model's numbers are its own. A cycle
starts only when an allocation finds the heap past the trigger, so 60 frames of 3 MiB a second
start at most 60 cycles; on a near-empty heap (goal about 4 MiB, heapMinimum) they start one
every second frame, 30/s (chapter 1b, section 8), and 120+/s needs other allocation on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from labkit.errors import ParameterError
from labkit.models.gcpacer import (
    MARK_BYTES_PER_CPU_S,
    GCCycle,
    GCEngine,
    GCEvent,
    format_gctrace,
    parse_gogc,
)
from labkit.models.gcpacer.pacer import mark_worker_plan
from labkit.models.gcpacer.wakeup import (
    OnePMark,
    first_scheduling_point,
    netpoll_wake_s,
    one_p_mark,
    sysmon_round_s,
)
from labkit.params import ModelParams, checked, choice, flag, number, whole
from labkit.validation import check_real

__all__ = [
    "ALLOC_ZERO_BYTES_PER_S",
    "COMPOSE_NS_PER_PIXEL",
    "DRAW_MODES",
    "FrameParams",
    "HANDOFFS",
    "NON_HEAP_MB",
    "RenderResult",
    "simulate_frames",
]

MIB = 1 << 20

# CPU cost of composing one pixel (a pass writing every pixel of an RGBA frame): measured on
# go1.27.3 linux/amd64, 2 cores: 0.89 ms median for 1024x768 with a pooled buffer, 600 frames.
COMPOSE_NS_PER_PIXEL = 0.89e-3 * 1e9 / (1024 * 768)

# Zeroing rate for a fresh large allocation (mallocgc clears a large object unless its pages are
# known to be zero). Same program: fresh image.NewRGBA per frame cost 0.34 ms more at the median
# than the pooled buffer, i.e. 3 MiB / 0.34 ms.
ALLOC_ZERO_BYTES_PER_S = 3 * MIB / 0.34e-3

DRAW_MODES = ("single", "concurrent_locked", "concurrent_racy")
HANDOFFS = ("channel", "reuse")
# Globals the GC scans, added to the heap goal (mgcpacer.go heapGoalInternal counts
# globalsScan). 150 KiB is /gc/scan/globals:bytes read from the course's gc_frames Go program
# (go1.27.3, runtime/metrics); it matters only when the live heap is tiny.
GLOBALS_BYTES = 150 * 1024

# Mapped memory that holds no heap object (goroutine stacks, runtime metadata, span
# fragmentation): what memoryLimitHeapGoal subtracts from GOMEMLIMIT before the heap may use it
# (mappedReady - heapFree - heapAlloc, src/runtime/mgcpacer.go). The course's gc_render program
# (64 MiB of pointer nodes, 1024x768 frames) reports it from runtime/metrics: 8.8 MiB, the
# median of labkit/golab/recorded/gc_render.json's non_heap_mb under GOMEMLIMIT=100MiB, where it
# sets the goal (8.80-8.82 MiB across the windows; 9.1 MiB without a limit).
NON_HEAP_MB = 8.8

# A producer of the course's gc_render program keeps its share of a CPU in slices of 10 ms:
# busy, then asleep until the slice is over (go/gc_render/main.go, producer: slice).
PRODUCER_SLICE_MS = 10.0

# How much of a one-P mark _OnePMarks simulates, and over how many sysmon phases.
MAX_MARK_SIMULATED_MS = 1000.0
_SYSMON_PHASES = 8

# The most a lock can be busy in the M/D/1 queue estimate below (at 100 % the queue is unbounded).
_MAX_LOCK_UTILIZATION = 0.99


class RenderConfigError(ParameterError):
    """An invalid simulate_frames argument (a ValueError naming the parameter and its range)."""


def _check_pooled(name: str, value: object, where: str, error: type[ParameterError]) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise error(f"{where}: {name} must be True or False; got {value!r}")
    return bool(value)


def _check_gogc(name: str, value: object, where: str, error: type[ParameterError]) -> object:
    """GOGC as Go reads it (parse_gogc: an int >= 0, "off" or None), kept as given."""
    if isinstance(value, Integral) and not isinstance(value, bool) and value < 0:
        raise error(f"{where}: {name} must be >= 0, 'off' or None (GC off), got {value!r}")
    try:
        parse_gogc(value)  # type: ignore[arg-type]
    except ParameterError as err:
        raise error(f"{where}: {err}") from None
    return value


def _check_limit(name: str, value: object, where: str, error: type[ParameterError]) -> float | None:
    """GOMEMLIMIT in MiB, or None for no limit."""
    if value is None:
        return None
    return check_real(
        name, value, 0.0, 1 << 30, low_open=True, where=where, error=error, unit="MiB"
    )


@dataclass(frozen=True)
class FrameParams(ModelParams):
    """The render loop's inputs (see :func:`simulate_frames` for what each means and why).

    Defaults and why: ``producer_alloc_mb_per_s=2`` *per producer* (four decoders of sensor
    messages, 8 MiB/s together: small next to the 180 MiB/s of frames, as in the article's
    dashboard; ``producers=0`` means nothing but the frames allocates);
    ``producer_cpu_fraction=0.5`` (each producer busy half the time); ``producer_draws_per_s=100``
    draws of ``draw_us=200`` us per producer (chart updates). ``gogc``: int >= 0, ``"off"`` or
    None; ``memory_limit_mb``: GOMEMLIMIT in MiB.
    """

    error: ClassVar[type[ParameterError]] = RenderConfigError

    width: int = whole(1024, 1, 16384, doc="frame width in pixels")
    height: int = whole(768, 1, 16384, doc="frame height in pixels")
    fps: float = number(60.0, 0.0, 1000.0, low_open=True, doc="frames per second", ui=(10, 240, 5))
    seconds: float = number(10.0, 0.0, 3600.0, low_open=True, unit="s", doc="simulated time")
    pooled: bool = checked(False, _check_pooled, doc="frame buffers from a sync.Pool")
    gogc: int | str | None = checked(100, _check_gogc, doc="GOGC", ui=(10, 800, 10))
    live_heap_mb: float = number(
        64.0, 0.0, float(1 << 20), unit="MiB", doc="live heap", ui=(0.0, 1024.0, 4.0)
    )
    producers: int = whole(4, 0, 1024, doc="producer goroutines", ui=(0, 32, 1))
    gomaxprocs: int = whole(4, 1, 1024, doc="GOMAXPROCS", ui=(1, 16, 1))
    memory_limit_mb: float | None = checked(
        None, _check_limit, doc="GOMEMLIMIT", ui=(16, 4096, 16), low=0, high=1 << 30
    )
    producer_alloc_mb_per_s: float = number(2.0, 0.0, 1e6, unit="MiB/s")
    producer_cpu_fraction: float = number(0.5, 0.0, 1.0)
    draw_mode: str = choice("single", DRAW_MODES)
    producer_draws_per_s: float = number(100.0, 0.0, 1e6)
    draw_us: float = number(200.0, 0.0, 1e6, unit="us")
    handoff: str = choice("channel", HANDOFFS)
    pool_victim_cache: bool = flag(True, doc="Go >= 1.13: a pooled buffer survives one GC")
    compose_ns_per_pixel: float = number(COMPOSE_NS_PER_PIXEL, 0.0, 1e6, unit="ns")
    compose_jitter: float = number(0.1, 0.0, 2.0)
    live_scan_fraction: float = number(1.0, 0.0, 1.0)
    mark_mb_per_cpu_s: float = number(MARK_BYTES_PER_CPU_S / MIB, 0.0, 1e7, low_open=True)
    non_heap_mb: float = number(NON_HEAP_MB, 0.0, float(1 << 20), unit="MiB")
    seed: int = whole(0, 0, 2**63 - 1, doc="the run's one seeded generator")

    @property
    def budget_ms(self) -> float:
        """The frame budget, 1000/fps ms (16.7 ms at 60 fps)."""
        return 1000.0 / self.fps

    @property
    def frame_bytes(self) -> int:
        """One ``*image.RGBA``'s pixels: width x height x 4 bytes."""
        return self.width * self.height * 4


@dataclass(frozen=True)
class RenderResult:
    """Everything the frame-lab widget draws, as numpy arrays with units in their names.

    Per frame (index i, started at ``frame_t_s[i]``): ``frame_ms`` and its parts ``alloc_ms``
    (zeroing a fresh buffer), ``assist_ms``, ``stw_ms``, ``wait_ms`` (waiting for a P or the
    lock), ``compose_ms`` (CPU work); ``allocated`` (a buffer was allocated), ``torn`` (a racy
    draw overlapped the frame). Heap: ``heap_mb`` over ``t_s``. GC: ``gc_events`` as
    ``(start_s, end_s, kind)`` and ``gc_cycles`` (for ``gctrace()``).
    """

    params: FrameParams
    frame_t_s: np.ndarray = field(repr=False)
    frame_ms: np.ndarray = field(repr=False)
    alloc_ms: np.ndarray = field(repr=False)
    assist_ms: np.ndarray = field(repr=False)
    stw_ms: np.ndarray = field(repr=False)
    wait_ms: np.ndarray = field(repr=False)
    compose_ms: np.ndarray = field(repr=False)
    allocated: np.ndarray = field(repr=False)
    torn: np.ndarray = field(repr=False)
    t_s: np.ndarray = field(repr=False)
    heap_mb: np.ndarray = field(repr=False)
    gc_events: tuple[GCEvent, ...] = field(repr=False)
    gc_cycles: tuple[GCCycle, ...] = field(repr=False)
    gc_starts: int = 0
    gc_cpu_fraction: float = 0.0
    alloc_mb_per_s: float = 0.0

    @property
    def seconds(self) -> float:
        return self.params.seconds

    @property
    def budget_ms(self) -> float:
        """The frame budget, 1000/fps ms (16.7 ms at 60 fps)."""
        return self.params.budget_ms

    @property
    def gc_cycles_per_s(self) -> float:
        """GC cycles started per simulated second."""
        return self.gc_starts / self.seconds

    @property
    def p50_frame_ms(self) -> float:
        return float(np.percentile(self.frame_ms, 50))

    @property
    def p99_frame_ms(self) -> float:
        return float(np.percentile(self.frame_ms, 99))

    @property
    def jank_fraction(self) -> float:
        """Share of frames that took longer than the 1000/fps budget."""
        return float(np.mean(self.frame_ms > self.budget_ms))

    @property
    def torn_frames(self) -> int:
        return int(np.count_nonzero(self.torn))

    @property
    def pool_allocations(self) -> int:
        """Frames that allocated a new buffer (every frame when neither pooled nor reused)."""
        return int(np.count_nonzero(self.allocated))

    def gctrace(self) -> str:
        """The run's GC cycles as GODEBUG=gctrace=1 lines."""
        return format_gctrace(self.gc_cycles)

    def summary(self) -> str:
        """One line: results first, then the inputs that produced them: the main ones always,
        the seed, and any other option only where it differs from its default."""
        p = self.params
        changed = p.changed()
        shown = [k for k in p.names() if k in _SUMMARY_ALWAYS or k == "seed" or k in changed]
        inputs = " ".join(f"{k}={_fmt(getattr(p, k))}" for k in shown)
        return (
            f"GC {self.gc_cycles_per_s:.2f}/s, frame p50 {self.p50_frame_ms:.2f} ms "
            f"p99 {self.p99_frame_ms:.2f} ms, jank {100 * self.jank_fraction:.1f}% "
            f"(>{self.budget_ms:.1f} ms), GC CPU {100 * self.gc_cpu_fraction:.1f}%, "
            f"torn {self.torn_frames} | {inputs}"
        )


_SUMMARY_ALWAYS = (
    "width",
    "height",
    "fps",
    "seconds",
    "pooled",
    "gogc",
    "live_heap_mb",
    "producers",
    "gomaxprocs",
    "memory_limit_mb",
)


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def simulate_frames(params: FrameParams | None = None, /, **overrides: Any) -> RenderResult:
    """Simulate ``seconds`` of a ``fps`` render loop and its GC; deterministic for a ``seed``.

    ``params`` is a :class:`FrameParams` (default: its defaults); ``overrides`` change fields by
    name, e.g. ``simulate_frames(gogc=50, pooled=True)``.

    ``draw_mode``: ``"single"`` - the render goroutine draws the producers' updates itself (no
    sharing, longer compose); ``"concurrent_locked"`` - producers draw into the shared buffer
    under a sync.Mutex that the render goroutine also holds while composing (the frame waits for
    the current holder and the queue, an M/D/1 estimate: Lq = rho^2 / (2 (1 - rho)));
    ``"concurrent_racy"`` - no lock: no waiting, but a frame is torn when a producer's draw
    overlaps it (Poisson arrivals; also a data race ``go test -race`` reports). ``handoff``:
    ``"channel"`` - a new ``*image.RGBA`` per frame is sent to the display goroutine (the
    article's pattern), ``"reuse"`` - one buffer for the whole run.

    Raises :class:`RenderConfigError` (a :class:`labkit.ParameterError`) naming a bad parameter.
    """
    p = FrameParams.make(params, **overrides)
    draws = _FrameDraws.draw(p)
    marks = _OnePMarks(p, draws) if p.gomaxprocs == 1 else None
    loop = _RenderLoop(p, draws, _gc_engine(p, draws, marks), marks)
    for i in range(draws.frames):
        loop.frame(i)
    return loop.result()


@dataclass(frozen=True)
class _FrameDraws:
    """Every random input of a run, per frame, drawn up front from the one seeded generator (in
    a fixed order: adding a draw goes last, so earlier draws stay the same)."""

    frames: int
    period_s: float
    compose_s: np.ndarray  # CPU work of composing the frame
    busy_producers: np.ndarray  # producers holding a P while the frame is drawn
    lock_wait_s: np.ndarray  # concurrent_locked: waiting for the mutex
    tear_u: np.ndarray  # concurrent_racy: uniform draws deciding a torn frame
    sysmon_phase_s: np.ndarray  # where sysmon's 10 ms rounds fall in each GC cycle
    draws_per_s: float
    draw_s: float

    @classmethod
    def draw(cls, p: FrameParams) -> _FrameDraws:
        rng = np.random.default_rng(p.seed)
        period_s = 1.0 / p.fps
        n = max(int(round(p.seconds * p.fps)), 1)
        sigma = p.compose_jitter
        compose_s = (
            p.width
            * p.height
            * p.compose_ns_per_pixel
            * 1e-9
            * np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
        )
        busy_producers = rng.binomial(p.producers, p.producer_cpu_fraction, n)
        draw_s = p.draw_us * 1e-6
        draws_per_s = p.producers * p.producer_draws_per_s
        lock_wait_s = np.zeros(n)
        if p.draw_mode == "single":
            compose_s = compose_s + rng.poisson(draws_per_s * period_s, n) * draw_s
        elif p.draw_mode == "concurrent_locked":
            rho = min(draws_per_s * draw_s, _MAX_LOCK_UTILIZATION)
            holder_busy = rng.random(n) < rho
            residual = rng.random(n) * draw_s
            queued = rng.poisson(rho * rho / (2 * (1 - rho)), n)
            lock_wait_s = holder_busy * residual + queued * draw_s
        tear_u = rng.random(n)
        # labkit.models.gcpacer.wakeup: drawn last, so the draws above are the same as before it was added.
        sysmon_phase_s = rng.random(n) * sysmon_round_s()
        return cls(
            n, period_s, compose_s, busy_producers, lock_wait_s, tear_u, sysmon_phase_s,
            draws_per_s, draw_s,
        )  # fmt: skip


def _gc_engine(p: FrameParams, draws: _FrameDraws, marks: _OnePMarks | None) -> GCEngine:
    """The program's GC: the pacer of labkit.models.gcpacer, with the frames' and producers' CPU
    as the mutator's (what the idle workers take the rest of the Ps from while it marks).

    With GOMAXPROCS > 1 the program keeps its CPU through a mark: gc_render.json's two-P runs
    marked 24-28 ms with 34-40 ms of GC CPU, leaving the program 0.6 of a CPU (its demand,
    0.55). With one P the workers hold the only P and the program's timers wait for it to
    schedule (:class:`_OnePMarks`)."""
    live_bytes = p.live_heap_mb * MIB
    mutator_cpus = p.producers * p.producer_cpu_fraction + min(
        float(np.mean(draws.compose_s)) / draws.period_s, 1
    )
    if marks is not None:
        mutator_cpus = min(mutator_cpus, marks.mutator_cpus())
    return GCEngine(
        gogc=parse_gogc(p.gogc),  # type: ignore[arg-type]
        memory_limit=None if p.memory_limit_mb is None else int(p.memory_limit_mb * MIB),
        gomaxprocs=p.gomaxprocs,
        live_bytes=live_bytes,
        live_scan_bytes=live_bytes * p.live_scan_fraction,
        globals_bytes=GLOBALS_BYTES,
        other_non_heap_bytes=int(p.non_heap_mb * MIB),
        mutator_cpus=min(mutator_cpus, p.gomaxprocs),
        mark_bytes_per_cpu_s=p.mark_mb_per_cpu_s * MIB,
    )


class _OnePMarks:
    """The one P's schedule through a mark (labkit.models.gcpacer.wakeup.one_p_mark) for this
    program: producers that sleep between bursts of ``producer_cpu_fraction`` x
    PRODUCER_SLICE_MS, a render goroutine that sleeps between frames, and a mark of the live
    heap's scan work (one longer than MAX_MARK_SIMULATED_MS is simulated that far: past the
    first few worker slices the schedule repeats). One schedule per sysmon phase, kept."""

    def __init__(self, p: FrameParams, draws: _FrameDraws) -> None:
        scan_bytes = p.live_heap_mb * MIB * p.live_scan_fraction + GLOBALS_BYTES
        frame_ms = 1000 * float(np.mean(draws.compose_s))
        if not p.pooled and p.handoff == "channel":
            frame_ms += 1000 * p.frame_bytes / ALLOC_ZERO_BYTES_PER_S
        self.settings = dict(
            sleepers=p.producers,
            burst_ms=p.producer_cpu_fraction * PRODUCER_SLICE_MS,
            slice_ms=PRODUCER_SLICE_MS,
            frame_ms=frame_ms,
            period_ms=1000 * draws.period_s,
            fractional_goal=mark_worker_plan(1).fractional_utilization_goal,
        )
        self.mark_cpu_ms = min(
            1000 * scan_bytes / (p.mark_mb_per_cpu_s * MIB), MAX_MARK_SIMULATED_MS
        )
        self._kept: dict[float, OnePMark] = {}

    def at(self, sysmon_phase_s: float) -> OnePMark:
        """The schedule with sysmon's rounds at ``sysmon_phase_s`` + k rounds from the mark's
        start."""
        mark = self._kept.get(sysmon_phase_s)
        if mark is None:
            mark = one_p_mark(self.mark_cpu_ms, sysmon_phase_ms=1000 * sysmon_phase_s,
                              **self.settings)  # fmt: skip
            self._kept[sysmon_phase_s] = mark
        return mark

    def mutator_cpus(self) -> float:
        """The program's share of the P while it marks, the mean over sysmon phases spread
        evenly over a round (GCEngine takes one figure for every cycle). Chapter 1's traced
        twin (frame_loop) shows why it is lower than the program's demand: its producers ran
        0.11-0.19 of the P through its marks, against 0.36 outside them."""
        round_s = sysmon_round_s()
        phases = (round_s * k / _SYSMON_PHASES for k in range(_SYSMON_PHASES))
        return float(np.mean([self.at(phase).mutator_share for phase in phases]))

    def wake_s(self, due_s: float, mark_start_s: float, sysmon_phase_s: float) -> float | None:
        """When the render goroutine, asleep for a frame due at ``due_s`` in the mark that
        began at ``mark_start_s``, gets the P: its first run at or after the due time in the
        mark's schedule, or the mark's end (inf) if the schedule has none. None when the frame
        falls due past the schedule (a mark longer than MAX_MARK_SIMULATED_MS of work)."""
        mark = self.at(sysmon_phase_s)
        rel_ms = 1000 * (due_s - mark_start_s)
        if self.mark_cpu_ms >= MAX_MARK_SIMULATED_MS and rel_ms > mark.mark_ms:
            return None
        for run_ms in mark.render_runs_ms:
            if run_ms >= rel_ms - 1e-9:
                return mark_start_s + run_ms / 1000
        return math.inf


class _BufferSource:
    """Where each frame's ``*image.RGBA`` comes from: ``sync.Pool`` (src/sync/pool.go), the one
    reused buffer, or a fresh allocation; counts the buffers the pool's caches hold."""

    def __init__(self, p: FrameParams) -> None:
        self.pooled, self.reuse, self.victim_cache = (
            p.pooled,
            p.handoff == "reuse",
            p.pool_victim_cache,
        )
        self.primary = self.victim = 0  # buffers in the pool's primary / victim caches
        self.gc_starts_at_put = 0
        self.owns_buffer = False  # handoff="reuse": the one buffer, allocated by the first frame

    def get(self, gc_starts: int) -> bool:
        """Take a buffer; True when it must be allocated. poolCleanup runs at every GC start
        since the last Put: the victim cache is dropped and the primary cache becomes it."""
        if self.reuse:
            need = not self.owns_buffer
            self.owns_buffer = True
            return need
        if not self.pooled:
            return True
        for _ in range(gc_starts - self.gc_starts_at_put):
            self.victim, self.primary = (self.primary if self.victim_cache else 0), 0
        if self.primary:
            self.primary -= 1
            return False
        if self.victim:
            self.victim -= 1
            return False
        return True

    def put(self, gc_starts: int) -> None:
        """Present the frame: the buffer goes back to the pool (pooled), or becomes garbage."""
        if self.pooled and not self.reuse:
            self.primary += 1
            self.gc_starts_at_put = gc_starts

    def held(self) -> int:
        """Buffers reachable between frames (the pool's, or the reused one)."""
        return 1 if self.reuse else self.primary + self.victim


class _RenderLoop:
    """The render goroutine, frame by frame, against the GC engine; collects the per-frame parts."""

    def __init__(
        self, p: FrameParams, draws: _FrameDraws, engine: GCEngine, marks: _OnePMarks | None
    ) -> None:
        self.p, self.d, self.engine, self.marks = p, draws, engine, marks
        self.buffers = _BufferSource(p)
        self.live_bytes = p.live_heap_mb * MIB
        self.live_scan = self.live_bytes * p.live_scan_fraction
        self.producer_rate = p.producers * p.producer_alloc_mb_per_s * MIB
        self.free_ps_marking = p.gomaxprocs - engine.worker_cpus
        self.worker_ps = max(p.gomaxprocs - engine.plan.dedicated_workers, 1)
        n = draws.frames
        self.out = np.zeros((7, n))  # start, frame, alloc, assist, stw, wait, compose (seconds)
        self.allocated = np.zeros(n, dtype=bool)
        self.torn = np.zeros(n, dtype=bool)
        self.prev_end = 0.0

    def _run_to(self, t_s: float, **kw: bool) -> None:
        """Advance the GC to ``t_s``, and past any stop-the-world it ends inside."""
        self.engine.advance(t_s, self.producer_rate, **kw)
        self._past_stw()

    def _past_stw(self) -> None:
        e = self.engine
        while e.stopped:
            e.advance(e.phase_end_s, self.producer_rate)

    def _wake_s(self, i: int, start: float) -> float:
        """The sleeping render goroutine's timer fires when a P schedules (labkit.models.gcpacer.wakeup):
        during a mark at a worker's preemption, and it runs after the fractional worker's turn
        there; otherwise when netpoll's wait ends. 0 when the frame was already late or a
        producer kept a P scheduling."""
        due, e = i * self.d.period_s, self.engine
        if not (due > self.prev_end and self.d.busy_producers[i] == 0):
            return 0.0
        if e.marking:  # every P is running a mark worker
            phase_s = self.d.sysmon_phase_s[e.gc_starts % self.d.frames]
            point = None
            if self.marks is not None:  # one P: the mark's own schedule
                point = self.marks.wake_s(due, e.mark_start_s, phase_s)
            if point is None:
                point = first_scheduling_point(
                    due,
                    mark_start_s=e.mark_start_s,
                    asleep_since_s=self.prev_end,
                    sysmon_phase_s=phase_s,
                    worker_ps=self.worker_ps,
                    fractional_goal=e.plan.fractional_utilization_goal,
                )
            self._run_to(point, stop_at_mark_end=True)
        else:  # every P idle
            self._run_to(netpoll_wake_s(self.prev_end, due))
        return e.now_s - start

    def frame(self, i: int) -> None:
        """Frame ``i``: wake, get a buffer (allocating: zeroing and mark assist), wait for a P
        and the lock, compose, stretched by any stop-the-world; then present it."""
        p, d, e = self.p, self.d, self.engine
        start = max(i * d.period_s, self.prev_end)
        self._run_to(start)
        wake_s = self._wake_s(i, start)
        stw0 = e.stw_elapsed_s
        need_alloc = self.buffers.get(e.gc_starts)
        # During the frame its buffer and whatever the pool holds are reachable.
        e.set_live(
            self.live_bytes + (self.buffers.primary + self.buffers.victim + 1) * p.frame_bytes,
            self.live_scan,
        )
        assist_s = zero_s = 0.0
        if need_alloc:
            self.allocated[i] = True
            assist_s = e.allocate(p.frame_bytes)  # pixel buffers hold no pointers: noscan
            zero_s = p.frame_bytes / ALLOC_ZERO_BYTES_PER_S
            self._past_stw()  # an allocation that crossed the trigger: gcStart stops the world
        free_ps = self.free_ps_marking if e.marking else p.gomaxprocs
        share = min(1.0, free_ps / (d.busy_producers[i] + 1))
        compose_wall = d.compose_s[i] / share
        work_s = wake_s + assist_s + zero_s + d.lock_wait_s[i] + compose_wall
        end = start + work_s + (e.stw_elapsed_s - stw0)
        while True:  # stop-the-world pauses during the frame push its end back
            e.advance(end, self.producer_rate)
            pushed = start + work_s + (e.stw_elapsed_s - stw0)
            if pushed <= end:
                break
            end = pushed
        stw_s = e.stw_elapsed_s - stw0
        self.buffers.put(e.gc_starts)
        e.set_live(self.live_bytes + self.buffers.held() * p.frame_bytes, self.live_scan)
        if p.draw_mode == "concurrent_racy":
            self.torn[i] = d.tear_u[i] < 1.0 - math.exp(-d.draws_per_s * (end - start + d.draw_s))
        wait_s = wake_s + compose_wall - d.compose_s[i] + d.lock_wait_s[i]
        self.out[:, i] = (start, end - start, zero_s, assist_s, stw_s, wait_s, d.compose_s[i])
        self.prev_end = end

    def result(self) -> RenderResult:
        e, p = self.engine, self.p
        e.advance(max(p.seconds, self.prev_end), self.producer_rate)
        e.sample()  # close the heap series at the end of the run, not at the last event
        to_ms = 1000.0
        allocated_bytes = self.allocated.sum() * p.frame_bytes + self.producer_rate * e.now_s
        out = self.out
        return RenderResult(
            params=p,
            frame_t_s=out[0],
            frame_ms=out[1] * to_ms,
            alloc_ms=out[2] * to_ms,
            assist_ms=out[3] * to_ms,
            stw_ms=out[4] * to_ms,
            wait_ms=out[5] * to_ms,
            compose_ms=out[6] * to_ms,
            allocated=self.allocated,
            torn=self.torn,
            t_s=np.array(e.heap_t_s),
            heap_mb=np.array(e.heap_bytes) / MIB,
            gc_events=tuple(e.events),
            gc_cycles=tuple(e.cycles),
            gc_starts=e.gc_starts,
            gc_cpu_fraction=e.gc_cpu_fraction(),
            alloc_mb_per_s=allocated_bytes / MIB / e.now_s,
        )
