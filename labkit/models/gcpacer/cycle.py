"""GC cycles through time: trigger, sweep-termination STW, concurrent mark with assists, mark
termination STW, and a gctrace-like record per cycle.

``GCEngine`` plays the part of gcStart, the background mark workers, gcAssistAlloc and
gcMarkTermination (src/runtime/mgc.go, mgcmark.go) around a ``Pacer`` (mgcpacer.go). Time is in
seconds from program start; mutators allocate either continuously (a rate, like many small
objects) or in discrete chunks (``allocate``, like one 3 MiB frame buffer). The mark phase is
advanced in steps of ``REVISE_PERIOD_S`` (longer for long marks, at least
``MIN_REVISES_PER_MARK`` per mark) with the assist ratio held between revisions, the same
idealisation the runtime's own pacer test uses (TestGcPacer in mgcpacer_test.go); within a step
the work is fluid: background workers bank scan credit, assists first steal that credit
(gcAssistAlloc's bgScanCredit) and scan only the rest.

CPU time is counted once, as it is spent, the way the runtime's cpuStats count it: a pause costs
its wall time on every P, accumulated as the pause elapses (gcStart and gcMarkTermination add
``now - stw.finishedStopping`` times maxprocs, src/runtime/mgc.go:926 and mgc.go:1450); an
assist costs the time its goroutine spends in gcDrainN on its own P (gcAssistAlloc1 reads the
clock around it, src/runtime/mgcmark.go:734 and mgcmark.go:768). So the GC's share of CPU can
reach 100 % (GOGC=off under a memory limit smaller than the live heap) but never exceed it.

Not modelled: the sweeper (its cost and sweep-credit), the GC CPU limiter, per-goroutine assist
credit and gcOverAssistWork's 64 KiB pre-payment (negligible against MiB-sized allocations), the
scavenger (assumed to keep mapped memory under GOMEMLIMIT). The limiter (src/runtime/
mgclimit.go) is a leaky bucket that fills with GC CPU time and drains with mutator time, with a
capacity of one second per P (capacityPerProc, mgclimit.go:194); once it is full, assists stop
(gcAssistAlloc, mgcmark.go:534; gcDrainN, mgcmark.go:1418) and the GC's share falls towards
50 %. It cannot engage before GOMAXPROCS CPU-seconds of GC time, so the model's share is the
runtime's only for the first second or so of a death spiral.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from labkit.errors import ParameterError
from labkit.models.gcpacer.goal import GCConfigError, parse_gogc, parse_memory_limit_bytes
from labkit.models.gcpacer.pacer import Pacer, mark_worker_plan
from labkit.params import ModelParams, checked, number, whole
from labkit.validation import check_real

__all__ = [
    "MARK_BYTES_PER_CPU_S",
    "MARK_MIB_PER_CPU_MS",
    "MARK_TERMINATION_STW_S",
    "REVISE_PERIOD_S",
    "SWEEP_TERMINATION_STW_S",
    "GCCycle",
    "GCEngine",
    "GCEvent",
    "GCParams",
    "GCRun",
    "simulate_gc",
]

# Marking throughput of one CPU, bytes of live pointer-dense heap per CPU-second: the recording
# labkit/golab/recorded/gc_live.json (labkit/golab/go/gc_live: go1.27.3 linux/amd64, 2 cores, a
# 72 MiB live heap of 64-byte pointer nodes, 3 MiB frames at 60 fps), marked_bytes_per_cpu_s: the
# median over 5 windows of heap marked / mark CPU (runtime/metrics /cpu/classes/gc/mark/...),
# 1.55 MiB per CPU-ms (windows 1.33-1.65; its gctrace lines give a median of 1.68 per cycle).
# It is a speed per marking CPU: labkit/golab/recorded/gc_parallel.json (go/gc_parallel, the same
# tree, forced cycles in pairs at GOMAXPROCS 1 and 2) has two workers marking at once each at
# one worker's speed (two over one 1.00, p10-p90 0.89-1.04), so the engine multiplies it by the
# CPUs that mark. Those forced cycles marked faster (1.79) than gc_live's in its recording: how
# fast this virtual machine marks moves from one spell to the next by up to 41 % (appendix,
# "Does a second worker mark as fast as the first?"), so the constant is one spell's.
# labkit.golab.calibrate derives MARK_MIB_PER_CPU_MS from the recording (python3 course.py
# calibrate: again on this machine).
MARK_MIB_PER_CPU_MS = 1.55
MARK_BYTES_PER_CPU_S = MARK_MIB_PER_CPU_MS * (1 << 20) * 1000

# Stop-the-world durations (the first and last "ms clock" fields of gctrace). Same measurement,
# median of 36 cycles: sweep termination 0.18 ms (it must preempt a goroutine busy drawing and
# finish sweeping), mark termination 0.008 ms. Typical servers report tens of microseconds.
SWEEP_TERMINATION_STW_S = 0.18e-3
MARK_TERMINATION_STW_S = 0.008e-3

# How often the assist ratio is revised in the model: TestGcPacer's revisePeriod (500 us). The
# runtime revises whenever heapLive moves, i.e. continuously; 0.5 ms keeps the fluid model close.
REVISE_PERIOD_S = 0.5e-3

# Long mark phases are revised at least this many times (in equal parts of what remains).
MIN_REVISES_PER_MARK = 16

_OFF, _STW_SWEEP, _MARK, _STW_MARK = "off", "sweep termination", "mark", "mark termination"


class GCEvent(tuple):
    """One GC interval for a timeline: ``(start_s, end_s, kind)``.

    ``kind`` is ``"stw_sweep_termination"``, ``"mark"`` or ``"stw_mark_termination"``.
    """

    __slots__ = ()

    def __new__(cls, start_s: float, end_s: float, kind: str) -> GCEvent:
        return super().__new__(cls, (start_s, end_s, kind))

    @property
    def start_s(self) -> float:
        return self[0]

    @property
    def end_s(self) -> float:
        return self[1]

    @property
    def kind(self) -> str:
        return self[2]


@dataclass(frozen=True)
class GCCycle:
    """One GC cycle, with the fields gcMarkTermination prints for GODEBUG=gctrace=1 (mgc.go).

    Times are seconds since program start: ``start_s`` is tSweepTerm, ``mark_start_s`` tMark,
    ``mark_end_s`` tMarkTerm, ``end_s`` tEnd. Heap sizes: ``heap_start_bytes`` (heap0, heapLive
    at the trigger), ``heap_end_bytes`` (heap1, at mark termination), ``heap_marked_bytes``
    (heap2, marked live including everything allocated black during mark). ``heap_goal_bytes``
    is this cycle's goal (lastHeapGoal). CPU times: assists, background dedicated + fractional
    workers, idle workers. ``gc_cpu_fraction`` is cumulative since program start, excluding idle
    marking (memstats.gc_cpu_fraction, the gctrace "%" field).
    """

    number: int
    start_s: float
    mark_start_s: float
    mark_end_s: float
    end_s: float
    trigger_bytes: float
    heap_goal_bytes: float
    heap_start_bytes: float
    heap_end_bytes: float
    heap_marked_bytes: float
    sweep_term_stw_s: float
    mark_term_stw_s: float
    assist_cpu_s: float
    background_cpu_s: float
    idle_cpu_s: float
    stacks_bytes: int
    globals_bytes: int
    gomaxprocs: int
    gc_cpu_fraction: float
    assist_work_per_byte: float  # assist ratio at the start of mark

    @property
    def mark_s(self) -> float:
        """Wall time of the concurrent mark phase (tMarkTerm - tMark)."""
        return self.mark_end_s - self.mark_start_s

    @property
    def stw_s(self) -> float:
        """Total stop-the-world time of this cycle."""
        return self.sweep_term_stw_s + self.mark_term_stw_s


@dataclass
class _CycleInProgress:
    start_s: float
    trigger_bytes: float
    heap_start_bytes: float
    live_bytes: float
    work_left: float
    heap_scan_work: float
    stack_scan_work: float
    mark_start_s: float = 0.0
    mark_end_s: float = 0.0
    credit: float = 0.0
    black_bytes: float = 0.0
    assist_cpu_s: float = 0.0
    background_cpu_s: float = 0.0
    idle_cpu_s: float = 0.0
    heap_end_bytes: float = 0.0
    heap_marked_bytes: float = 0.0
    heap_goal_bytes: float = 0.0
    assist_work_per_byte: float = 0.0


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise GCConfigError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise GCConfigError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


class GCEngine:
    """A program's GC over time: call ``advance`` and ``allocate`` in time order.

    ``live_bytes`` is the reachable heap (what a cycle marks), ``live_scan_bytes`` its scannable
    part (scan work; pointer-free data such as pixel buffers is not scanned); change both with
    ``set_live`` as the program's live set changes. ``mutator_cpus`` is how many Ps the program's
    goroutines keep busy on average; the rest are idle during mark and run idle mark workers
    (gcMarkWorkerIdleMode), which is why marking is fast on a mostly idle machine.
    """

    def __init__(
        self,
        *,
        gogc: int | str | None = 100,
        memory_limit: int | str | None = None,
        gomaxprocs: int = 4,
        live_bytes: float = 0,
        live_scan_bytes: float | None = None,
        stacks_bytes: int = 0,
        globals_bytes: int = 0,
        other_non_heap_bytes: int = 0,
        mutator_cpus: float = 1.0,
        mark_bytes_per_cpu_s: float = MARK_BYTES_PER_CPU_S,
        sweep_term_stw_s: float = SWEEP_TERMINATION_STW_S,
        mark_term_stw_s: float = MARK_TERMINATION_STW_S,
        revise_period_s: float = REVISE_PERIOD_S,
    ) -> None:
        if isinstance(gomaxprocs, bool) or not isinstance(gomaxprocs, int | np.integer):
            raise GCConfigError(f"gomaxprocs must be an int >= 1, got {gomaxprocs!r}")
        if gomaxprocs < 1:
            raise GCConfigError(f"gomaxprocs must be >= 1, got {gomaxprocs}")
        live = _check_positive("live_bytes", live_bytes, allow_zero=True)
        scan = live if live_scan_bytes is None else float(live_scan_bytes)
        if not 0 <= scan <= live:
            raise GCConfigError(f"live_scan_bytes must be between 0 and live_bytes, got {scan}")
        for name, v in (("stacks_bytes", stacks_bytes), ("globals_bytes", globals_bytes)):
            _check_positive(name, v, allow_zero=True)
        _check_positive("other_non_heap_bytes", other_non_heap_bytes, allow_zero=True)
        self.gomaxprocs = int(gomaxprocs)
        self.mutator_cpus = _check_positive("mutator_cpus", mutator_cpus, allow_zero=True)
        self.mark_bytes_per_cpu_s = _check_positive("mark_bytes_per_cpu_s", mark_bytes_per_cpu_s)
        self.sweep_term_stw_s = _check_positive("sweep_term_stw_s", sweep_term_stw_s, True)
        self.mark_term_stw_s = _check_positive("mark_term_stw_s", mark_term_stw_s, True)
        self.revise_period_s = _check_positive("revise_period_s", revise_period_s)
        self.stacks_bytes = int(stacks_bytes)
        self.globals_bytes = int(globals_bytes)
        self.pacer = Pacer(
            parse_gogc(gogc),
            parse_memory_limit_bytes(memory_limit),
            heap_marked_bytes=int(live),
            heap_scan_bytes=int(scan),
            stacks_bytes=self.stacks_bytes,
            globals_bytes=self.globals_bytes,
            other_non_heap_bytes=int(other_non_heap_bytes),
        )
        # The program starts just after a cycle that marked live_bytes (cons/mark not yet known).
        self.pacer.commit(sweep_done=True)
        self.plan = mark_worker_plan(self.gomaxprocs)
        self.worker_cpus = self.plan.worker_cpus
        idle = self.gomaxprocs - self.worker_cpus - self.mutator_cpus
        self.idle_cpus = min(max(idle, 0.0), float(self.gomaxprocs - self.plan.dedicated_workers))
        self._background_bytes_per_s = self.mark_bytes_per_cpu_s * (
            self.worker_cpus + self.idle_cpus
        )
        self.now_s = 0.0
        self.heap_live_bytes = float(live)
        self.live_bytes = float(live)
        self.live_scan_bytes = scan
        self.phase = _OFF
        self.phase_end_s = math.inf
        self._stopped = False
        self.gc_starts = 0
        self.stw_elapsed_s = 0.0  # total stop-the-world time so far
        self.cycles: list[GCCycle] = []
        self.events: list[GCEvent] = []
        self.heap_t_s: list[float] = [0.0]
        self.heap_bytes: list[float] = [float(live)]
        self._trigger = float(self.pacer.trigger())
        self._gc_cpu_s = 0.0  # STW * procs + assists + background workers (idle excluded)
        self._cycle: _CycleInProgress | None = None
        # CPU seconds still to run of each allocation's assist (allocate) in progress.
        self._assists: list[float] = []

    # --- queries ----------------------------------------------------------------------------

    @property
    def marking(self) -> bool:
        """True while the concurrent mark phase runs (assists on, workers holding Ps)."""
        return self.phase == _MARK

    @property
    def stopped(self) -> bool:
        """True during a stop-the-world phase: no goroutine runs."""
        return self._stopped

    @property
    def mark_start_s(self) -> float | None:
        """When the mark phase in progress started (tMark), None when not marking."""
        return self._cycle.mark_start_s if self.phase == _MARK and self._cycle else None

    @property
    def trigger_bytes(self) -> float:
        """Heap size that starts the next cycle (inf when the GC is off)."""
        return self._trigger

    def gc_cpu_fraction(self) -> float:
        """Share of all Ps' time spent in GC so far, idle marking excluded (gc_cpu_fraction)."""
        if self.now_s <= 0:
            return 0.0
        return self._gc_cpu_s / (self.now_s * self.gomaxprocs)

    # --- driving ----------------------------------------------------------------------------

    def set_live(self, live_bytes: float, live_scan_bytes: float | None = None) -> None:
        """Change the reachable heap (what the next mark finds live)."""
        self.live_bytes = float(live_bytes)
        self.live_scan_bytes = self.live_bytes if live_scan_bytes is None else live_scan_bytes

    def advance(
        self,
        t_s: float,
        alloc_bytes_per_s: float = 0.0,
        scan_fraction: float = 1.0,
        *,
        stop_at_mark_end: bool = False,
    ) -> None:
        """Run the program and its GC until ``t_s`` while mutators allocate at a steady rate.

        Allocation stops during stop-the-world phases; the heap is checked against the trigger
        continuously (the runtime checks it in mallocgc); marking is stepped by revise period.
        With ``stop_at_mark_end`` it stops earlier if the mark phase in progress ends: at the
        start of mark termination, ``now_s`` being the moment the mark ran out of work.
        """
        marking = self.phase == _MARK
        while self.now_s < t_s or (self._stopped and self.phase_end_s <= self.now_s):
            if stop_at_mark_end and marking and self.phase != _MARK:
                return
            if self._stopped:
                until = min(self.phase_end_s, t_s)
                self.stw_elapsed_s += until - self.now_s
                # Pause time is GC time on every P, counted as it elapses (mgc.go:926, :1450).
                self._gc_cpu_s += (until - self.now_s) * self.gomaxprocs
                self.now_s = until
                if until == self.phase_end_s:
                    self._end_stw()
                continue
            if self.phase == _OFF:
                if self.heap_live_bytes >= self._trigger:
                    self._start_gc()
                    continue
                if alloc_bytes_per_s <= 0 or math.isinf(self._trigger):
                    self.now_s = t_s
                    continue
                dt_to_trigger = (self._trigger - self.heap_live_bytes) / alloc_bytes_per_s
                if self.now_s + dt_to_trigger >= t_s:
                    self._grow(alloc_bytes_per_s * (t_s - self.now_s), scan_fraction)
                    self.now_s = t_s
                else:
                    self.now_s += dt_to_trigger
                    self._grow(self._trigger - self.heap_live_bytes, scan_fraction)
                    self._start_gc()
                continue
            # Revise every REVISE_PERIOD_S, or 1/MIN_REVISES_PER_MARK of the remaining
            # background-only mark time if that is longer (keeps long marks cheap to simulate).
            cyc = self._cycle
            assert cyc is not None
            rest_s = cyc.work_left / self._background_bytes_per_s / MIN_REVISES_PER_MARK
            step = min(t_s, self.now_s + max(self.revise_period_s, rest_s)) - self.now_s
            self._mark_step(step, alloc_bytes_per_s, scan_fraction)

    def allocate(self, nbytes: float, scan_bytes: float = 0.0) -> float:
        """One allocation by a mutator at ``now_s``; returns the CPU seconds it spends assisting.

        Mirrors mallocgc: during mark, the allocating goroutine first pays its assist debt
        (nbytes * assistWorkPerByte of scan work, gcAssistAlloc), stealing background credit
        before scanning itself; after the allocation, the heap is checked against the trigger
        and a cycle may start right away (gcStart's sweep-termination STW follows at once).
        Must not be called during a stop-the-world phase.

        The assist runs from ``now_s`` on the allocating goroutine's own P for the seconds
        returned (gcAssistAlloc1 drains on the system stack, src/runtime/mgcmark.go:711), while
        the background workers drain the same grey objects: gcDrainN stops when its debt is
        paid or no work is left (mgcmark.go:1418), so an assist owing more than the rest of the
        mark does only its share of the race to empty the queues. Its CPU is counted as the
        engine's clock passes it, and the mark cannot finish while it drains: gcIsMarkDone
        needs every worker, assists included, to have left (work.nwait == work.nproc,
        src/runtime/mgc.go:1944; gcAssistAlloc1 enters with gcBeginWork, mgcmark.go:737).
        """
        if self.stopped:
            raise RuntimeError("allocate() during stop-the-world: advance past phase_end_s first")
        assist_s = 0.0
        cyc = self._cycle
        if self.phase == _MARK and cyc is not None and nbytes > 0:
            debt = self.pacer.revise() * nbytes
            stolen = min(cyc.credit, debt)
            cyc.credit -= stolen
            cpus, workers, idle, _ = self._mark_cpus(len(self._assists) + 1)
            share = cyc.work_left * cpus / (cpus + workers + idle)
            work = min(debt - stolen, max(share, 0.0))
            cyc.work_left -= work
            self.pacer.scan_work_bytes += work
            assist_s = work / self.mark_bytes_per_cpu_s
            if assist_s > 0:
                self._assists.append(assist_s)
            cyc.black_bytes += nbytes
        self._grow(nbytes, 0.0)
        self.pacer.heap_scan_bytes += scan_bytes
        self._sample()
        if self.phase == _MARK and cyc is not None and cyc.work_left <= 0 and not self._assists:
            self._start_mark_termination()
        elif self.phase == _OFF and self.heap_live_bytes >= self._trigger:
            self._start_gc()
        return assist_s

    # --- internals --------------------------------------------------------------------------

    def _grow(self, nbytes: float, scan_fraction: float) -> None:
        self.heap_live_bytes += nbytes
        self.pacer.heap_live_bytes = self.heap_live_bytes
        self.pacer.heap_scan_bytes += nbytes * scan_fraction

    def sample(self) -> None:
        """Record the heap at the current time, e.g. to close a run's heap series at its end."""
        self._sample()

    def _sample(self) -> None:
        self.heap_t_s.append(self.now_s)
        self.heap_bytes.append(self.heap_live_bytes)

    def _start_gc(self) -> None:
        """gcStart: stop the world for sweep termination; sync.Pool's poolCleanup runs here."""
        self._sample()
        self.gc_starts += 1
        self._cycle = _CycleInProgress(
            start_s=self.now_s,
            trigger_bytes=self._trigger,
            heap_start_bytes=self.heap_live_bytes,
            live_bytes=self.live_bytes,
            work_left=self.live_scan_bytes + self.stacks_bytes + self.globals_bytes,
            heap_scan_work=self.live_scan_bytes,
            stack_scan_work=float(self.stacks_bytes),
        )
        self.phase, self.phase_end_s = _STW_SWEEP, self.now_s + self.sweep_term_stw_s
        self._stopped = True

    def _end_stw(self) -> None:
        cyc = self._cycle
        assert cyc is not None
        if self.phase == _STW_SWEEP:
            # gcStart -> startCycle: assists and workers begin as the world restarts.
            self.phase, self.phase_end_s = _MARK, math.inf
            self._stopped = False
            cyc.mark_start_s = self.now_s
            self.pacer.start_cycle()
            cyc.assist_work_per_byte = self.pacer.assist_work_per_byte
            self.events.append(GCEvent(cyc.start_s, self.now_s, "stw_sweep_termination"))
            if cyc.work_left <= 0:
                self._start_mark_termination()
            return
        self.events.append(GCEvent(cyc.mark_end_s, self.now_s, "stw_mark_termination"))
        self.cycles.append(
            GCCycle(
                number=len(self.cycles) + 1,
                start_s=cyc.start_s,
                mark_start_s=cyc.mark_start_s,
                mark_end_s=cyc.mark_end_s,
                end_s=self.now_s,
                trigger_bytes=cyc.trigger_bytes,
                heap_goal_bytes=cyc.heap_goal_bytes,
                heap_start_bytes=cyc.heap_start_bytes,
                heap_end_bytes=cyc.heap_end_bytes,
                heap_marked_bytes=cyc.heap_marked_bytes,
                sweep_term_stw_s=self.sweep_term_stw_s,
                mark_term_stw_s=self.mark_term_stw_s,
                assist_cpu_s=cyc.assist_cpu_s,
                background_cpu_s=cyc.background_cpu_s,
                idle_cpu_s=cyc.idle_cpu_s,
                stacks_bytes=self.stacks_bytes,
                globals_bytes=self.globals_bytes,
                gomaxprocs=self.gomaxprocs,
                gc_cpu_fraction=self.gc_cpu_fraction(),
                assist_work_per_byte=cyc.assist_work_per_byte,
            )
        )
        self._cycle = None
        self.phase, self.phase_end_s = _OFF, math.inf
        self._stopped = False

    def _mark_cpus(self, assists: int) -> tuple[float, float, float, float]:
        """How the Ps are shared during mark while ``assists`` allocations (``allocate``) drain
        their debt: CPUs for (each such assist, background workers, idle workers, the most the
        other mutators can spend assisting).

        Every P-second is spent once. An assisting goroutine holds its P while it drains
        (gcAssistAlloc1, src/runtime/mgcmark.go:711; more assists than the Ps the dedicated
        workers leave share them). The fractional worker runs only on a P that schedule()
        hands it (findRunnableGCWorker, src/runtime/mgcpacer.go:859), so it gets what the
        assists leave; an idle worker runs only on a P with nothing else to run (findRunnable,
        src/runtime/proc.go:3555) and gives it up as soon as there is (gcDrain polls pollWork
        in idle mode, mgcmark.go:1275), so assisting goroutines take the idle Ps first.
        """
        if assists == 0:
            return 0.0, self.worker_cpus, self.idle_cpus, self.gomaxprocs - self.worker_cpus
        dedicated = float(self.plan.dedicated_workers)
        held = min(float(assists), self.gomaxprocs - dedicated)
        workers = min(self.worker_cpus, self.gomaxprocs - held)
        idle = max(min(self.idle_cpus - held, self.gomaxprocs - held - workers), 0.0)
        return held / assists, workers, idle, self.gomaxprocs - held - workers

    def _mark_step(self, dt: float, alloc_bytes_per_s: float, scan_fraction: float) -> None:
        """Advance the mark phase by dt with the assist ratio fixed (one revise period), or to
        the end of the first allocation assist in progress if that comes sooner."""
        cyc = self._cycle
        assert cyc is not None
        ratio = self.pacer.revise()
        rate = self.mark_bytes_per_cpu_s
        per_assist, workers, idle, mutators = self._mark_cpus(len(self._assists))
        if self._assists:
            dt = min(dt, min(self._assists) / per_assist)
        if cyc.work_left <= 0:
            # Only assists in progress are left: a worker finds no work and is not scheduled
            # (gcShouldScheduleWorker, mgcpacer.go:771), and a mutator that owes an assist
            # finds none either and parks until the cycle ends (gcParkAssist, mgcmark.go:672).
            workers = idle = mutators = 0.0
        alloc = alloc_bytes_per_s * dt
        debt = ratio * alloc
        assist = max(debt - cyc.credit - rate * (workers + idle) * dt, 0.0)
        if assist > 0:
            # The background workers cannot keep up, so the mutators assist, on the Ps the idle
            # workers had (an idle worker yields a P as soon as a goroutine wants it).
            idle = 0.0
            assist = max(debt - cyc.credit - rate * workers * dt, 0.0)
        background = rate * (workers + idle) * dt
        available = cyc.credit + background
        assist_cap = mutators * rate * dt
        if assist > assist_cap:
            # The mutators' whole CPU share goes to assists: an assisting goroutine does not
            # allocate, so they allocate only what that work pays for (as TestGcPacer's
            # utilisation solves it: allocation is per mutator CPU-second).
            assist = assist_cap
            alloc = (assist_cap + available) / ratio
        done = background + assist
        frac = 1.0
        if cyc.work_left > 0 and done >= cyc.work_left:
            frac = cyc.work_left / done
            dt, alloc, background, assist = (
                dt * frac,
                alloc * frac,
                background * frac,
                assist * frac,
            )
            done = cyc.work_left
        cyc.credit = max(cyc.credit + background - ratio * alloc, 0.0)
        cyc.work_left -= done
        self.pacer.scan_work_bytes += done
        self._grow(alloc, scan_fraction)
        cyc.black_bytes += alloc
        # Allocation assists in progress run for dt on their Ps; one that ends leaves the list.
        assisted = per_assist * dt * len(self._assists)
        self._assists = [s - per_assist * dt for s in self._assists if s - per_assist * dt > 1e-15]
        cyc.background_cpu_s += workers * dt
        cyc.idle_cpu_s += idle * dt
        cyc.assist_cpu_s += assist / rate + assisted
        self._gc_cpu_s += workers * dt + assist / rate + assisted
        self.now_s += dt
        if cyc.work_left <= 0 and not self._assists:
            self._start_mark_termination()

    def _start_mark_termination(self) -> None:
        """gcMarkDone -> gcMarkTermination: endCycle, resetLive, commit, with the world stopped."""
        cyc = self._cycle
        assert cyc is not None
        cyc.mark_end_s = self.now_s
        self.events.append(GCEvent(cyc.mark_start_s, self.now_s, "mark"))
        cyc.heap_end_bytes = self.heap_live_bytes
        cyc.heap_marked_bytes = cyc.live_bytes + cyc.black_bytes
        self.pacer.end_cycle(
            cyc.assist_cpu_s, cyc.idle_cpu_s, cyc.mark_end_s - cyc.mark_start_s, self.gomaxprocs
        )
        cyc.heap_goal_bytes = float(self.pacer.last_heap_goal_bytes)
        self.pacer.reset_live(cyc.heap_marked_bytes, cyc.heap_scan_work, cyc.stack_scan_work)
        self.pacer.commit(sweep_done=False)
        self._sample()
        self.heap_live_bytes = float(self.pacer.heap_live_bytes)
        self._sample()
        self._trigger = float(self.pacer.trigger())
        self.phase, self.phase_end_s = _STW_MARK, self.now_s + self.mark_term_stw_s
        self._stopped = True


def _check_gogc(name: str, value: object, where: str, error: type[ParameterError]) -> object:
    """GOGC as Go reads it (an int, "off", a decimal string or None), kept as given."""
    parse_gogc(value)  # type: ignore[arg-type]
    return value


def _check_limit(name: str, value: object, where: str, error: type[ParameterError]) -> object:
    """GOMEMLIMIT as Go reads it (bytes, "100MiB", "off" or None), kept as given."""
    parse_memory_limit_bytes(value)  # type: ignore[arg-type]
    return value


def _byte_count(default: float, *, doc: str = "") -> object:
    """A number of bytes >= 0, kept as given (an int stays an int in the record)."""

    def check(name: str, value: object, where: str, error: type[ParameterError]) -> object:
        check_real(name, value, 0.0, where=where, error=error, unit="bytes")
        return value

    return checked(default, check, doc=doc, low=0.0)


@dataclass(frozen=True)
class GCParams(ModelParams):
    """The GC run's inputs besides the allocation stream (see :func:`simulate_gc`)."""

    error: ClassVar[type[ParameterError]] = GCConfigError

    step_s: float = number(0.01, 0.0, low_open=True, unit="s", doc="each rate holds this long")
    live_bytes: float = _byte_count(64 << 20, doc="the live heap (all new objects die young)")
    live_scan_fraction: float = number(1.0, 0.0, 1.0, doc="share of the live heap with pointers")
    alloc_scan_fraction: float = number(1.0, 0.0, 1.0, doc="share of new objects with pointers")
    gogc: int | str | None = checked(100, _check_gogc, doc="GOGC", ui=(10, 800, 10))
    memory_limit: int | str | None = checked(None, _check_limit, doc="GOMEMLIMIT")
    gomaxprocs: int = whole(4, 1, ui=(1, 16, 1))
    stacks_bytes: int = _byte_count(0, doc="goroutine stacks the GC scans")
    globals_bytes: int = _byte_count(0, doc="globals the GC scans")
    mutator_cpus: float = number(1.0, 0.0, doc="CPUs the program keeps busy")
    mark_bytes_per_cpu_s: float = number(MARK_BYTES_PER_CPU_S, 0.0, low_open=True)


@dataclass(frozen=True)
class GCRun:
    """Result of ``simulate_gc``: the cycles, the heap over time and the inputs."""

    params: GCParams
    steps: int
    duration_s: float
    cycles: tuple[GCCycle, ...]
    events: tuple[GCEvent, ...]
    t_s: np.ndarray = field(repr=False)
    heap_bytes: np.ndarray = field(repr=False)
    gc_cpu_fraction: float = 0.0

    @property
    def gc_cycles_per_s(self) -> float:
        """Completed cycles per second of simulated time."""
        return len(self.cycles) / self.duration_s

    def column(self, name: str) -> np.ndarray:
        """One GCCycle field (or property) for all cycles, as a float array."""
        return np.array([getattr(c, name) for c in self.cycles], dtype=float)

    def gctrace(self) -> str:
        """The cycles as GODEBUG=gctrace=1 lines."""
        from labkit.models.gcpacer.gctrace import format_gctrace

        return format_gctrace(self.cycles)

    def summary(self) -> str:
        """One line: cycles per second and GC CPU, then the inputs that differ from defaults."""
        changed = " ".join(f"{k}={v}" for k, v in self.params.changed().items())
        return (
            f"GC {len(self.cycles)} cycles in {self.duration_s:g} s ({self.gc_cycles_per_s:.2f}/s), "
            f"GC CPU {100 * self.gc_cpu_fraction:.1f}% | {self.steps} steps"
            + (f" {changed}" if changed else "")
        )


def simulate_gc(
    alloc_bytes_per_s: Sequence[float] | np.ndarray,
    params: GCParams | None = None,
    **overrides: Any,
) -> GCRun:
    """Run the GC against an allocation stream: ``alloc_bytes_per_s[k]`` holds for step k.

    ``params`` is a :class:`GCParams` (default: its defaults); ``overrides`` change its fields by
    name, e.g. ``simulate_gc(stream, gogc=50)``. The live heap stays ``live_bytes`` (all new
    objects die young, as in a steady server); the stream shapes the table in
    ``tests/test_gc_cycle.py`` (constant, ramp, oscillating, random) after TestGcPacer.
    Deterministic: no randomness inside; pass a seeded stream for noise.
    """
    rates = np.asarray(alloc_bytes_per_s, dtype=float)
    if rates.ndim != 1 or rates.size == 0:
        raise GCConfigError("alloc_bytes_per_s must be a non-empty 1-D sequence of rates")
    if not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise GCConfigError("alloc_bytes_per_s must hold finite rates >= 0 (bytes per second)")
    p = GCParams.make(params, **overrides)
    engine = GCEngine(
        gogc=p.gogc,
        memory_limit=p.memory_limit,
        gomaxprocs=p.gomaxprocs,
        live_bytes=p.live_bytes,
        live_scan_bytes=float(p.live_bytes) * p.live_scan_fraction,
        stacks_bytes=p.stacks_bytes,
        globals_bytes=p.globals_bytes,
        mutator_cpus=p.mutator_cpus,
        mark_bytes_per_cpu_s=p.mark_bytes_per_cpu_s,
    )
    for k, rate in enumerate(rates.tolist()):
        engine.advance((k + 1) * p.step_s, rate, p.alloc_scan_fraction)
    engine._sample()
    return GCRun(
        params=p,
        steps=int(rates.size),
        duration_s=rates.size * p.step_s,
        cycles=tuple(engine.cycles),
        events=tuple(engine.events),
        t_s=np.array(engine.heap_t_s),
        heap_bytes=np.array(engine.heap_bytes),
        gc_cpu_fraction=engine.gc_cpu_fraction(),
    )
