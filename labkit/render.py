"""A Go render loop under GC pressure: frame times, GC cycles and the heap, frame by frame.

The program modelled is the source article's dashboard: a render goroutine wakes on a 1/fps
ticker, gets a ``*image.RGBA`` (``image.NewRGBA``, ``width*height*4`` bytes of pixels: 1024x768
is 3 MiB, so 60 fps allocates 180 MiB/s), composes the frame and hands it to a display goroutine
over a channel; ``producers`` goroutines decode sensor data (allocating small objects and using
CPU) and draw their updates. The GC is ``labkit.gc.GCEngine``, the same pacer as
``labkit.gc.simulate_gc``, so the frame model and the pacer agree by construction.

Frame time = allocation (the runtime zeroes a fresh large object) + mark assist (the render
goroutine pays scan work for what it allocates during mark, gcAssistAlloc in mgcmark.go) +
stop-the-world overlap (every goroutine stops) + waiting for a P (background mark workers hold
25 % of GOMAXPROCS during mark, busy producers hold others; runnable goroutines share the
remaining Ps, a processor-sharing approximation of the scheduler's round robin) + lock wait +
compose work. A frame is janky when it takes longer than the 1000/fps ms budget.

sync.Pool (``pooled=True``) follows src/sync/pool.go: Get takes from this P's primary cache, then
other Ps', then the victim cache, and only calls New (an allocation) when all are empty; Put
returns to the primary cache; at the start of every GC cycle poolCleanup (registered with the
runtime, run by clearpools in gcStart) drops the victim cache and moves the primary cache into
it. So a buffer put back between frames survives one GC in the victim cache and is dropped only
if two cycles start before the next Get; ``pool_victim_cache=False`` gives Go <= 1.12, where each
GC emptied the pool.

The article claims GC "120+/s -> 3-5/s" from pooling; the model's numbers are its own: 120 cycles
per second at 180 MiB/s needs only ~1.5 MiB of runway per cycle, i.e. a heap goal of about
4 MiB (heapMinimum) with almost no live heap, or GOGC of a few percent on a 64 MiB heap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from labkit.errors import ParameterError
from labkit.gc import (
    MARK_BYTES_PER_CPU_S,
    GCCycle,
    GCEngine,
    GCEvent,
    format_gctrace,
    parse_gogc,
)
from labkit.gc.wakeup import first_scheduling_point, netpoll_wake_s, sysmon_round_s
from labkit.validation import check_choice, check_int, check_real

__all__ = [
    "ALLOC_ZERO_BYTES_PER_S",
    "COMPOSE_NS_PER_PIXEL",
    "DRAW_MODES",
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

# The most a lock can be busy in the M/D/1 queue estimate below (at 100 % the queue is unbounded).
_MAX_LOCK_UTILIZATION = 0.99


class RenderConfigError(ParameterError):
    """An invalid simulate_frames argument (a ValueError naming the parameter and its range)."""


@dataclass(frozen=True)
class RenderResult:
    """Everything the frame-lab widget draws, as numpy arrays with units in their names.

    Per frame (index i, started at ``frame_t_s[i]``): ``frame_ms`` and its parts ``alloc_ms``
    (zeroing a fresh buffer), ``assist_ms``, ``stw_ms``, ``wait_ms`` (waiting for a P or the
    lock), ``compose_ms`` (CPU work); ``allocated`` (a buffer was allocated), ``torn`` (a racy
    draw overlapped the frame). Heap: ``heap_mb`` over ``t_s``. GC: ``gc_events`` as
    ``(start_s, end_s, kind)`` and ``gc_cycles`` (for ``gctrace()``).
    """

    params: dict
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
        return float(self.params["seconds"])

    @property
    def budget_ms(self) -> float:
        """The frame budget, 1000/fps ms (16.7 ms at 60 fps)."""
        return 1000.0 / self.params["fps"]

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
        defaults = _summary_defaults()
        shown = [
            k
            for k in p
            if k in _SUMMARY_ALWAYS or k == "seed" or (k in defaults and p[k] != defaults[k])
        ]
        inputs = " ".join(f"{k}={_fmt(p[k])}" for k in shown)
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


def _summary_defaults() -> dict[str, object]:
    import inspect

    sig = inspect.signature(simulate_frames)
    return {k: v.default for k, v in sig.parameters.items() if v.default is not v.empty}


def _int_param(name: str, value: object, low: int, high: int) -> int:
    return check_int(name, value, low, high, error=RenderConfigError, where="simulate_frames")


def _real_param(name: str, value: object, low: float, high: float, low_open: bool = False) -> float:
    return check_real(
        name, value, low, high, low_open=low_open, error=RenderConfigError, where="simulate_frames"
    )


def _choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    return check_choice(name, value, choices, error=RenderConfigError, where="simulate_frames")


def simulate_frames(
    width: int = 1024,
    height: int = 768,
    fps: float = 60,
    seconds: float = 10,
    pooled: bool = False,
    gogc: int | str | None = 100,
    live_heap_mb: float = 64,
    producers: int = 4,
    gomaxprocs: int = 4,
    seed: int = 0,
    *,
    memory_limit_mb: float | None = None,
    producer_alloc_mb_per_s: float = 2.0,
    producer_cpu_fraction: float = 0.5,
    draw_mode: str = "single",
    producer_draws_per_s: float = 100.0,
    draw_us: float = 200.0,
    handoff: str = "channel",
    pool_victim_cache: bool = True,
    compose_ns_per_pixel: float = COMPOSE_NS_PER_PIXEL,
    compose_jitter: float = 0.1,
    live_scan_fraction: float = 1.0,
    mark_mb_per_cpu_s: float = MARK_BYTES_PER_CPU_S / MIB,
    non_heap_mb: float = NON_HEAP_MB,
) -> RenderResult:
    """Simulate ``seconds`` of a ``fps`` render loop and its GC; deterministic for a ``seed``.

    Defaults and why: ``producer_alloc_mb_per_s=2`` *per producer* (four decoders of sensor
    messages, 8 MiB/s together: small next to the 180 MiB/s of frames, as in the article's
    dashboard; ``producers=0`` means nothing but the frames allocates);
    ``producer_cpu_fraction=0.5`` (each producer busy half the time); ``producer_draws_per_s=100``
    draws of ``draw_us=200`` us per producer (chart updates). ``draw_mode``: ``"single"`` - the
    render goroutine draws the producers' updates itself (no sharing, longer compose);
    ``"concurrent_locked"`` - producers draw into the shared buffer under a sync.Mutex that the
    render goroutine also holds while composing (the frame waits for the current holder and the
    queue, an M/D/1 estimate: Lq = rho^2 / (2 (1 - rho))); ``"concurrent_racy"`` - no lock: no
    waiting, but a frame is torn when a producer's draw overlaps it (Poisson arrivals; also a
    data race ``go test -race`` reports). ``handoff``: ``"channel"`` - a new ``*image.RGBA`` per
    frame is sent to the display goroutine (the article's pattern), ``"reuse"`` - one buffer for
    the whole run. ``gogc``: int >= 0, ``"off"`` or None; ``memory_limit_mb``: GOMEMLIMIT in MiB.
    """
    width = _int_param("width", width, 1, 16384)
    height = _int_param("height", height, 1, 16384)
    fps = _real_param("fps", fps, 0.0, 1000.0, low_open=True)
    seconds = _real_param("seconds", seconds, 0.0, 3600.0, low_open=True)
    if not isinstance(pooled, bool | np.bool_):
        raise RenderConfigError(f"pooled must be True or False, got {pooled!r}")
    if isinstance(gogc, Integral) and not isinstance(gogc, bool) and gogc < 0:
        raise RenderConfigError(f"gogc must be >= 0, 'off' or None (GC off), got {gogc!r}")
    gc_percent = parse_gogc(gogc)
    live_heap_mb = _real_param("live_heap_mb", live_heap_mb, 0.0, 1 << 20)
    producers = _int_param("producers", producers, 0, 1024)
    gomaxprocs = _int_param("gomaxprocs", gomaxprocs, 1, 1024)
    seed = _int_param("seed", seed, 0, 2**63 - 1)
    if memory_limit_mb is not None:
        memory_limit_mb = _real_param("memory_limit_mb", memory_limit_mb, 0.0, 1 << 30, True)
    producer_alloc_mb_per_s = _real_param(
        "producer_alloc_mb_per_s", producer_alloc_mb_per_s, 0, 1e6
    )
    producer_cpu_fraction = _real_param("producer_cpu_fraction", producer_cpu_fraction, 0, 1)
    draw_mode = _choice("draw_mode", draw_mode, DRAW_MODES)
    producer_draws_per_s = _real_param("producer_draws_per_s", producer_draws_per_s, 0, 1e6)
    draw_us = _real_param("draw_us", draw_us, 0, 1e6)
    handoff = _choice("handoff", handoff, HANDOFFS)
    compose_ns_per_pixel = _real_param("compose_ns_per_pixel", compose_ns_per_pixel, 0, 1e6)
    compose_jitter = _real_param("compose_jitter", compose_jitter, 0, 2)
    live_scan_fraction = _real_param("live_scan_fraction", live_scan_fraction, 0, 1)
    mark_mb_per_cpu_s = _real_param("mark_mb_per_cpu_s", mark_mb_per_cpu_s, 0, 1e7, True)
    non_heap_mb = _real_param("non_heap_mb", non_heap_mb, 0, 1 << 20)

    params = {
        "width": width,
        "height": height,
        "fps": fps,
        "seconds": seconds,
        "pooled": bool(pooled),
        "gogc": gogc,
        "live_heap_mb": live_heap_mb,
        "producers": producers,
        "gomaxprocs": gomaxprocs,
        "memory_limit_mb": memory_limit_mb,
        "producer_alloc_mb_per_s": producer_alloc_mb_per_s,
        "producer_cpu_fraction": producer_cpu_fraction,
        "draw_mode": draw_mode,
        "producer_draws_per_s": producer_draws_per_s,
        "draw_us": draw_us,
        "handoff": handoff,
        "pool_victim_cache": bool(pool_victim_cache),
        "compose_ns_per_pixel": compose_ns_per_pixel,
        "compose_jitter": compose_jitter,
        "live_scan_fraction": live_scan_fraction,
        "mark_mb_per_cpu_s": mark_mb_per_cpu_s,
        "non_heap_mb": non_heap_mb,
        "seed": seed,
    }

    # --- per-frame inputs, drawn up front from the one seeded generator -----------------------
    rng = np.random.default_rng(seed)
    period_s = 1.0 / fps
    n = max(int(round(seconds * fps)), 1)
    frame_bytes = width * height * 4
    sigma = compose_jitter
    compose_s = (
        width
        * height
        * compose_ns_per_pixel
        * 1e-9
        * np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
    )
    busy_producers = rng.binomial(producers, producer_cpu_fraction, n)
    draw_s = draw_us * 1e-6
    draws_per_s = producers * producer_draws_per_s
    lock_wait_s = np.zeros(n)
    if draw_mode == "single":
        compose_s = compose_s + rng.poisson(draws_per_s * period_s, n) * draw_s
    elif draw_mode == "concurrent_locked":
        rho = min(draws_per_s * draw_s, _MAX_LOCK_UTILIZATION)
        holder_busy = rng.random(n) < rho
        residual = rng.random(n) * draw_s
        queued = rng.poisson(rho * rho / (2 * (1 - rho)), n)
        lock_wait_s = holder_busy * residual + queued * draw_s
    tear_u = rng.random(n)
    # Where sysmon's 10 ms rounds fall in each GC cycle (labkit.gc.wakeup): drawn last, so the
    # draws above are the same as before it was added.
    sysmon_phase = rng.random(n) * sysmon_round_s()

    # --- the program's GC -------------------------------------------------------------------
    live_bytes = live_heap_mb * MIB
    mutator_cpus = producers * producer_cpu_fraction + min(float(np.mean(compose_s)) / period_s, 1)
    engine = GCEngine(
        gogc=gc_percent,
        memory_limit=None if memory_limit_mb is None else int(memory_limit_mb * MIB),
        gomaxprocs=gomaxprocs,
        live_bytes=live_bytes,
        live_scan_bytes=live_bytes * live_scan_fraction,
        globals_bytes=GLOBALS_BYTES,
        other_non_heap_bytes=int(non_heap_mb * MIB),
        mutator_cpus=min(mutator_cpus, gomaxprocs),
        mark_bytes_per_cpu_s=mark_mb_per_cpu_s * MIB,
    )
    producer_rate = producers * producer_alloc_mb_per_s * MIB
    free_ps_marking = gomaxprocs - engine.worker_cpus
    live_scan = live_bytes * live_scan_fraction

    # Buffer bookkeeping: pool primary / victim caches (counts of buffers), or the reused buffer.
    primary = victim = 0
    gc_starts_at_put = 0
    owns_buffer = False  # handoff="reuse": the one buffer, allocated by the first frame

    out = np.zeros((7, n))  # start, frame, alloc, assist, stw, wait, compose (seconds)
    allocated = np.zeros(n, dtype=bool)
    torn = np.zeros(n, dtype=bool)
    worker_ps = max(gomaxprocs - engine.plan.dedicated_workers, 1)
    prev_end = 0.0
    for i in range(n):
        due = i * period_s
        start = max(due, prev_end)
        engine.advance(start, producer_rate)
        while engine.stopped:
            engine.advance(engine.phase_end_s, producer_rate)
        # The render goroutine slept since its last frame: its timer fires when a P schedules.
        wake_s = 0.0
        if due > prev_end and busy_producers[i] == 0:
            if engine.marking:  # every P is running a mark worker (labkit.gc.wakeup)
                point = first_scheduling_point(
                    due,
                    mark_start_s=engine.mark_start_s,
                    asleep_since_s=prev_end,
                    sysmon_phase_s=sysmon_phase[engine.gc_starts % n],
                    worker_ps=worker_ps,
                )
                engine.advance(point, producer_rate, stop_at_mark_end=True)
            else:  # every P idle: the timer fires when netpoll's wait ends
                engine.advance(netpoll_wake_s(prev_end, due), producer_rate)
            while engine.stopped:
                engine.advance(engine.phase_end_s, producer_rate)
            wake_s = engine.now_s - start
        stw0 = engine.stw_elapsed_s

        # Get a buffer: sync.Pool (poolCleanup at each GC start since the last Put), reuse, or new.
        need_alloc = True
        if handoff == "reuse":
            need_alloc = not owns_buffer
            owns_buffer = True
        elif pooled:
            for _ in range(engine.gc_starts - gc_starts_at_put):
                victim, primary = (primary if pool_victim_cache else 0), 0
            if primary:
                primary, need_alloc = primary - 1, False
            elif victim:
                victim, need_alloc = victim - 1, False
        # During the frame its buffer and whatever the pool holds are reachable.
        engine.set_live(live_bytes + (primary + victim + 1) * frame_bytes, live_scan)
        assist_s = zero_s = 0.0
        if need_alloc:
            allocated[i] = True
            assist_s = engine.allocate(frame_bytes)  # pixel buffers hold no pointers: noscan
            zero_s = frame_bytes / ALLOC_ZERO_BYTES_PER_S
            while engine.stopped:  # this allocation crossed the trigger: gcStart stops the world
                engine.advance(engine.phase_end_s, producer_rate)

        free_ps = free_ps_marking if engine.marking else gomaxprocs
        share = min(1.0, free_ps / (busy_producers[i] + 1))
        compose_wall = compose_s[i] / share
        work_s = wake_s + assist_s + zero_s + lock_wait_s[i] + compose_wall
        end = start + work_s + (engine.stw_elapsed_s - stw0)
        while True:  # stop-the-world pauses during the frame push its end back
            engine.advance(end, producer_rate)
            pushed = start + work_s + (engine.stw_elapsed_s - stw0)
            if pushed <= end:
                break
            end = pushed
        stw_s = engine.stw_elapsed_s - stw0

        # Present: hand the buffer on; it is Put back (pooled), kept (reuse) or garbage.
        if handoff != "reuse":
            if pooled:
                primary += 1
                gc_starts_at_put = engine.gc_starts
            engine.set_live(live_bytes + (primary + victim) * frame_bytes, live_scan)
        else:
            engine.set_live(live_bytes + frame_bytes, live_scan)
        if draw_mode == "concurrent_racy":
            torn[i] = tear_u[i] < 1.0 - math.exp(-draws_per_s * (end - start + draw_s))
        wait_s = wake_s + compose_wall - compose_s[i] + lock_wait_s[i]
        out[:, i] = (start, end - start, zero_s, assist_s, stw_s, wait_s, compose_s[i])
        prev_end = end

    engine.advance(max(seconds, prev_end), producer_rate)
    engine.sample()  # close the heap series at the end of the run, not at the last event
    to_ms = 1000.0
    allocated_bytes = allocated.sum() * frame_bytes + producer_rate * engine.now_s
    return RenderResult(
        params=params,
        frame_t_s=out[0],
        frame_ms=out[1] * to_ms,
        alloc_ms=out[2] * to_ms,
        assist_ms=out[3] * to_ms,
        stw_ms=out[4] * to_ms,
        wait_ms=out[5] * to_ms,
        compose_ms=out[6] * to_ms,
        allocated=allocated,
        torn=torn,
        t_s=np.array(engine.heap_t_s),
        heap_mb=np.array(engine.heap_bytes) / MIB,
        gc_events=tuple(engine.events),
        gc_cycles=tuple(engine.cycles),
        gc_starts=engine.gc_starts,
        gc_cpu_fraction=engine.gc_cpu_fraction(),
        alloc_mb_per_s=allocated_bytes / MIB / engine.now_s,
    )
