"""The catalogue of real-Go experiments: parameters, how they reach the program, result keys.

Each experiment is one small program in ``go/<program>/main.go`` that prints one JSON object.
Parameters reach it as command-line flags (``-iters=100000``) or, where the runtime reads them,
as environment variables (``GODEBUG=asyncpreemptoff=1``, ``GOGC``); ``GOMAXPROCS`` is fixed per
experiment because each one is about a particular number of Ps. Programs that time something
repeat the measurement and report the median, so results hold on a loaded 2-core machine.

``VARIANTS`` lists the parameter sets that ``scripts/record_go_results.py`` records and that
``fidelity_table`` compares with the model.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.golab.errors import ExperimentParameterError, GoRunError, UnknownExperimentError
from labkit.golab.gotrace import blocked_call_summary, churn_summary

#: Keys every result has, live, recorded or model.
META_KEYS = ("experiment", "source", "params", "go_version", "gomaxprocs", "cpus")


@dataclass(frozen=True)
class Param:
    """One parameter: its type, default, allowed range or choices, and where it goes."""

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: "flag" -> ``-name=value``; "env" -> read by ``Experiment.env``; a categorical switch
    #: whose every value has a recorded result is a ``variant``.
    via: str = "flag"
    variant: bool = False

    def check(self, value: Any, experiment: str) -> Any:
        """The value, normalised to the parameter's type; ExperimentParameterError if invalid."""
        kind = type(self.default)
        where = f"{experiment}: parameter {self.name!r}"
        if kind is bool:
            if not isinstance(value, bool):
                raise ExperimentParameterError(f"{where} must be True or False, got {value!r}")
        elif kind in (int, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ExperimentParameterError(f"{where} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ExperimentParameterError(f"{where} must be finite, got {value!r}")
            if kind is int and value != int(value):
                raise ExperimentParameterError(f"{where} must be a whole number, got {value!r}")
            value = kind(value)
            if self.minimum is not None and value < self.minimum:
                raise ExperimentParameterError(
                    f"{where} must be >= {self.minimum:g}, got {value!r}"
                )
            if self.maximum is not None and value > self.maximum:
                raise ExperimentParameterError(
                    f"{where} must be <= {self.maximum:g}, got {value!r}"
                )
        elif not isinstance(value, kind):
            raise ExperimentParameterError(
                f"{where} must be a {kind.__name__}, got {value!r} ({self.help})"
            )
        if self.choices is not None and value not in self.choices:
            raise ExperimentParameterError(
                f"{where} must be one of {', '.join(map(repr, self.choices))}, got {value!r}"
            )
        return value


@dataclass(frozen=True)
class Experiment:
    """An experiment: its program, parameters, GOMAXPROCS, result keys and time bound."""

    name: str
    summary: str
    params: tuple[Param, ...]
    result_keys: tuple[str, ...]
    gomaxprocs: int | None
    run_timeout_s: float
    env: Callable[[Mapping[str, Any]], dict[str, str]] = field(default=lambda p: {})
    program: str = ""
    #: Also run with GODEBUG=gctrace=1 and keep this many raw trace lines (gc_frames).
    gctrace_lines: int = 0
    #: The program writes an execution trace to ``-trace=<file>``, which the runner reads with
    #: ``go tool trace -d=parsed``; this adds what it shows to the result, called with the
    #: program's JSON object, the experiment's name and the dump (labkit.golab.gotrace:
    #: retake_keep's blocked calls, handoff_churn's Ps).
    trace_summary: Callable[[dict[str, Any], str, str], None] | None = None
    #: What it measures is a wall-clock time, which other processes on the machine stretch:
    #: record it on a quiet machine (scripts/record_go_results.py --timed redoes these).
    timed: bool = True
    #: Adds what the run's gctrace cycle lines show to its result: called with the program's
    #: JSON object and every cycle line of its stderr (gc_render: which janky frames overlap a
    #: GC cycle).
    gctrace_analysis: Callable[[Mapping[str, Any], list[str]], dict[str, Any]] | None = None
    #: Parameters of a quick live run (``run_experiment(..., quick=True)``): fewer repeats or a
    #: shorter loop, so that a notebook cell runs it live in a few seconds. Parameters the
    #: caller gives are kept.
    quick: Mapping[str, Any] = field(default_factory=dict)
    #: How many processes a recording runs (scripts/record_go_results.py), their runs pooled
    #: (recorded.pool_processes). Some figures move more from one process to the next than
    #: between one process's repeats: where the kernel puts its threads, sysmon's phase against
    #: the program. One process's spread then understates the real one, and a fidelity
    #: tolerance made from it (fidelity.py) says DIFFER for a model inside the real range.
    processes: int = 1
    #: Lists in the result that hold one value per run or window but are not named ``*_runs``
    #: (pingpong_hog's per-window medians): joined too when processes are pooled.
    per_run_lists: tuple[str, ...] = ()
    #: Called on every result, live or recorded (``run_experiment``): returns it with the
    #: values the program cannot have measured set aside and a ``note`` saying which and why
    #: (idle_wake: a sleep that ended before its time).
    check_result: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    @property
    def program_dir(self) -> str:
        return self.program or self.name

    def quick_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with the quick run's settings for every parameter not given."""
        return {**self.quick, **params}

    def normalize(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """All parameters, defaults filled in, checked; ExperimentParameterError if not valid."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ExperimentParameterError(
                f"{self.name}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                f"it takes {', '.join(known) or 'no parameters'}"
            )
        return {
            name: p.check(params[name], self.name) if name in params else p.default
            for name, p in known.items()
        }

    def args(self, params: Mapping[str, Any]) -> list[str]:
        """Command-line flags for the program (Go's flag package syntax)."""
        out = []
        for p in self.params:
            if p.via == "flag":
                value = params[p.name]
                text = str(value).lower() if isinstance(value, bool) else f"{value}"
                out.append(f"-{p.name}={text}")
        return out

    def run_env(self, params: Mapping[str, Any]) -> dict[str, str]:
        """Environment variables the runtime reads: GOMAXPROCS, GODEBUG, GOGC as needed."""
        env = {"GODEBUG": "", "GOGC": "100"}
        if self.gomaxprocs is not None:
            env["GOMAXPROCS"] = str(self.gomaxprocs)
        env.update(self.env(params))
        if self.gctrace_lines:
            env["GODEBUG"] = ",".join(x for x in (env["GODEBUG"], "gctrace=1") if x)
        return env


def _preempt_env(params: Mapping[str, Any]) -> dict[str, str]:
    # asyncpreemptoff=1 turns off signal-based preemption (runtime.preemptM / SIGURG), leaving only
    # the cooperative check in function prologues: the Go <= 1.13 behaviour.
    return {} if params["async_preempt"] else {"GODEBUG": "asyncpreemptoff=1"}


def _gc_env(params: Mapping[str, Any]) -> dict[str, str]:
    return {"GOGC": str(params["gogc"])}


def _procs_env(params: Mapping[str, Any]) -> dict[str, str]:
    return {"GOMAXPROCS": str(params["gomaxprocs"])}


def _render_env(params: Mapping[str, Any]) -> dict[str, str]:
    # GOMEMLIMIT in MiB (readGOMEMLIMIT parses "100MiB"); 0 leaves it unset (no limit).
    env = {**_gc_env(params), **_procs_env(params)}
    if params["memory_limit_mb"]:
        env["GOMEMLIMIT"] = f"{params['memory_limit_mb']}MiB"
    return env


#: GOMAXPROCS of each retake_keep case: the queued case has one P, the others two.
RETAKE_CASE_PROCS = {"idle": 2, "busy": 2, "queued": 1}


def _retake_env(params: Mapping[str, Any]) -> dict[str, str]:
    return {"GOMAXPROCS": str(RETAKE_CASE_PROCS[params["case"]])}


#: GOMAXPROCS of each handoff_costs case: rounds on one P; a channel shared by two Ps and a
#: wake-up of the other P's thread on two.
HANDOFF_CASE_PROCS = {"rounds": 1, "buffered": 1, "shared": 2, "wake": 2}


def _handoff_env(params: Mapping[str, Any]) -> dict[str, str]:
    return {"GOMAXPROCS": str(HANDOFF_CASE_PROCS[params["case"]])}


def _janky_frames_in_cycles(out: Mapping[str, Any], lines: list[str]) -> dict[str, Any]:
    """How many of gc_render's janky frames overlap a GC cycle (from sweep termination to the
    end of mark termination, as gctrace times it), and how many overlap none."""
    from labkit.golab.gctrace import frames_in_cycles

    janky = out.get("janky_frames") or []
    fields = list(out.get("janky_frames_fields") or ())
    start, total = fields.index("start_s"), fields.index("total_ms")
    inside = frames_in_cycles([(f[start], f[total]) for f in janky], lines)
    return {"janky_in_gc": sum(inside), "janky_outside_gc": len(inside) - sum(inside)}


def _sleeps_cut_short(out: Mapping[str, Any]) -> dict[str, Any]:
    """idle_wake's check: a nanosleep(2) cannot end before its time, so a negative lateness is
    no wake-up but a sleep that was cut short. nanosleep returns EINTR as soon as a signal
    handler has run on its thread, and is never restarted after one, whatever SA_RESTART says
    (signal(7)); the Go runtime handles signals on every thread it runs. The program now sleeps
    again after an EINTR; a recording made before it did holds such values. They are left out
    of ``late_us_runs``, ``late_us`` and ``process_medians``, kept in ``cut_short_us`` (how
    long each of those sleeps lasted) and named in the ``note``."""
    out = dict(out)
    runs = [float(x) for x in out.get("late_us_runs") or []]
    if not any(x < 0 for x in runs):
        return out
    kept = [x for x in runs if x >= 0]
    if not kept:
        raise GoRunError(
            f"idle_wake: every one of the {len(runs)} sleeps ended before its time "
            "(a negative lateness): none measures a wake-up"
        )
    sleep_us = float(out["sleep_us"])
    cut = [sleep_us + x for x in runs if x < 0]
    processes = int(out.get("processes") or 1)
    medians = out.get("process_medians")
    if processes > 1 and isinstance(medians, Mapping) and len(runs) % processes == 0:
        size = len(runs) // processes
        chunks = [runs[i : i + size] for i in range(0, len(runs), size)]
        out["process_medians"] = {
            **medians,
            "late_us": [statistics.median([x for x in c if x >= 0] or c) for c in chunks],
        }
    out["late_us_runs"] = kept
    out["late_us"] = statistics.median(kept)
    out["cut_short_us"] = cut
    lasted = ", ".join(f"{x:.0f} us" for x in cut)
    note = (
        f"{len(cut)} of the {len(runs)} sleeps of {sleep_us:g} us ended before their time "
        f"(after {lasted}): cut short by a signal (nanosleep(2) returns EINTR), not a "
        "wake-up; left out of late_us and late_us_runs"
    )
    out["note"] = f"{out['note']} {note}" if out.get("note") else note
    return out


REPEATS_HELP = "measurements inside the program; the medians are reported"

# GODEBUG=asyncpreemptoff=1 or not (preempt, call_kinds).
_ASYNC_PREEMPT = Param(
    "async_preempt",
    True,
    "signal-based preemption on (Go 1.14+) or off",
    via="env",
    variant=True,
)
# Parameters shared by the frame programs (gc_frames, gc_render).
_POOLED = Param("pooled", False, "reuse frame buffers through a sync.Pool", variant=True)
_GOGC = Param(
    "gogc",
    100,
    "GOGC: heap growth percent before the next cycle",
    minimum=10,
    maximum=10_000,
    via="env",
    variant=True,
)

_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        name="preempt",
        summary="GOMAXPROCS=1: when does main get the CPU back from a tight loop without calls?",
        params=(
            _ASYNC_PREEMPT,
            Param(
                "loop_ms",
                600.0,
                "target length of the spinner's loop, ms",
                minimum=20,
                maximum=5_000,
            ),
            Param("repeats", 3, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("resume_ms", "loop_ms", "async_preempt"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        env=_preempt_env,
        quick={"loop_ms": 150.0, "repeats": 3},
    ),
    Experiment(
        name="yield",
        summary="GOMAXPROCS=1: cost of none / Sleep(0) / Gosched / Sleep(1ns) in a loop, and "
        "whether another goroutine gets turns",
        params=(
            Param(
                "mode",
                "none",
                "none | sleep0 | gosched | sleep1ns",
                choices=("none", "sleep0", "gosched", "sleep1ns"),
                variant=True,
            ),
            Param("iters", 100_000, "loop iterations", minimum=1, maximum=10_000_000),
            Param(
                "body_us",
                0.0,
                "CPU work per iteration without calls, us (0: one multiply-add)",
                minimum=0,
                maximum=100_000,
            ),
            Param("repeats", 7, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("mode", "ns_per_iter", "iters", "other_turns", "loop_ms"),
        gomaxprocs=1,
        run_timeout_s=180.0,
        quick={"iters": 20_000, "repeats": 3},
    ),
    Experiment(
        name="syscall_handoff",
        summary="GOMAXPROCS=1: a goroutine in a blocking syscall does not hold up CPU work",
        params=(
            Param(
                "syscall_ms",
                100.0,
                "length of the blocking nanosleep syscall, ms",
                minimum=1,
                maximum=5_000,
            ),
            Param("cpu_ms", 20.0, "CPU work of the other goroutine, ms", minimum=1, maximum=5_000),
            Param("repeats", 5, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("cpu_done_ms", "syscall_done_ms", "cpu_start_ms", "syscall_start_ms"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        quick={"syscall_ms": 60.0, "cpu_ms": 10.0, "repeats": 3},
    ),
    Experiment(
        name="lockosthread",
        summary="GOMAXPROCS=2: LockOSThread changes neither CPU affinity nor the makespan of "
        "CPU-bound goroutines",
        params=(
            Param("goroutines", 40, "CPU-bound goroutines", minimum=1, maximum=1_000),
            Param("work_ms", 10.0, "CPU work per goroutine, ms", minimum=0.1, maximum=1_000),
            Param(
                "nap_ms",
                1.0,
                "the locked goroutine sleeps this long at a time, ms",
                minimum=0.01,
                maximum=1_000,
            ),
            Param("repeats", 5, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=(
            "affinity_before",
            "affinity_locked",
            "makespan_ms_unlocked",
            "makespan_ms_locked",
            "makespan_ratio",
        ),
        gomaxprocs=2,
        run_timeout_s=180.0,
        quick={"goroutines": 20, "work_ms": 5.0, "repeats": 3},
    ),
    Experiment(
        name="spawn_order",
        summary="GOMAXPROCS=1: main starts n goroutines and blocks; in which order do they run?",
        params=(
            Param("n", 5, "goroutines to start", minimum=1, maximum=200),
            Param(
                "repeats",
                5,
                "runs; the program reports whether all orders agree",
                minimum=1,
                maximum=50,
            ),
        ),
        result_keys=("order", "all_same"),
        gomaxprocs=1,
        run_timeout_s=60.0,
        timed=False,
        quick={"repeats": 3},
    ),
    Experiment(
        name="gc_frames",
        summary="render frames into *image.RGBA with or without sync.Pool; GC cycles per second "
        "(GODEBUG=gctrace=1)",
        params=(
            _POOLED,
            _GOGC,
            Param("width", 1024, "frame width, pixels", minimum=1, maximum=8_192),
            Param("height", 768, "frame height, pixels", minimum=1, maximum=8_192),
            Param("frames", 60, "frames to render", minimum=1, maximum=10_000),
            Param(
                "fps",
                60.0,
                "target frame rate; 0 renders as fast as possible",
                minimum=0,
                maximum=1_000,
            ),
            Param("repeats", 1, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=(
            "gc_cycles",
            "gc_per_s",
            "seconds",
            "pooled",
            "gctrace_lines",
            "heap_live_mb",
            "frame_bytes",
        ),
        gomaxprocs=None,
        run_timeout_s=180.0,
        env=_gc_env,
        gctrace_lines=4,
        timed=False,
        quick={"frames": 30},
    ),
    Experiment(
        name="gc_live",
        summary="a 72 MiB live heap of 64-byte pointer nodes and 3 MiB frames at 60 fps: GC "
        "cycles per second and marking speed (GODEBUG=gctrace=1)",
        params=(
            Param(
                "live_mb", 72.0, "live heap of 64-byte pointer nodes, MiB", minimum=1, maximum=1_024
            ),
            Param("frame_mb", 3.0, "bytes allocated per frame, MiB", minimum=0.01, maximum=256),
            Param("fps", 60.0, "frames per second", minimum=1, maximum=1_000),
            Param("seconds", 4.0, "length of one measured window, s", minimum=0.2, maximum=60),
            Param("repeats", 5, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=(
            "gc_per_s",
            "marked_bytes_per_cpu_s",
            "mark_cpu_s",
            "heap_live_mb",
            "gctrace_lines",
        ),
        gomaxprocs=2,
        run_timeout_s=600.0,
        gctrace_lines=6,
        quick={"seconds": 1.5, "repeats": 2},
    ),
    Experiment(
        name="gc_parallel",
        summary="gc_live's 72 MiB heap of pointer nodes marked by forced cycles, in pairs: one "
        "mark worker alone (GOMAXPROCS=1) and two at once (GOMAXPROCS=2), marked bytes per mark "
        "CPU-second of each and their ratio",
        params=(
            Param(
                "live_mb", 72.0, "live heap of 64-byte pointer nodes, MiB", minimum=1, maximum=1_024
            ),
            Param("pairs", 40, "pairs of cycles, one at each GOMAXPROCS", minimum=1, maximum=500),
        ),
        result_keys=(
            "one_worker_bytes_per_cpu_s",
            "two_workers_bytes_per_cpu_s",
            "two_over_one",
            "heap_live_mb",
        ),
        gomaxprocs=2,
        run_timeout_s=300.0,
        processes=3,
        quick={"pairs": 8},
    ),
    Experiment(
        name="gc_render",
        summary="a 60 fps render loop drawing into *image.RGBA with image/draw beside 64 MiB of "
        "live pointer nodes and producer goroutines: frame times, missed frames, GC cycles and "
        "assists, with a new buffer per frame or a sync.Pool (GODEBUG=gctrace=1)",
        params=(
            _POOLED,
            _GOGC,
            Param(
                "memory_limit_mb",
                0,
                "GOMEMLIMIT in MiB (0: no limit)",
                minimum=0,
                maximum=1 << 20,
                via="env",
                variant=True,
            ),
            Param("gomaxprocs", 2, "GOMAXPROCS", choices=(1, 2), via="env", variant=True),
            Param("producers", 4, "producer goroutines beside the renderer", minimum=0, maximum=64),
            Param(
                "producer_cpu",
                0.1,
                "share of a CPU each producer keeps busy",
                minimum=0,
                maximum=1,
                variant=True,
            ),
            Param(
                "live_mb", 64.0, "live heap of 64-byte pointer nodes, MiB", minimum=1, maximum=1_024
            ),
            Param("fps", 60.0, "frames per second", minimum=1, maximum=1_000),
            Param("seconds", 10.0, "length of one measured window, s", minimum=0.5, maximum=60),
            Param("repeats", 5, "measured windows", minimum=1, maximum=50),
            Param(
                "warmup_s", 2.0, "unmeasured frames before the windows, s", minimum=0, maximum=30
            ),
        ),
        result_keys=(
            "frame_ms_p50",
            "frame_ms_p99",
            "jank_share",
            "gc_per_s",
            "assist_ms_per_s",
            "gc_cpu_share",
            "gctrace_lines",
        ),
        gomaxprocs=None,
        run_timeout_s=900.0,
        env=_render_env,
        gctrace_lines=6,
        gctrace_analysis=_janky_frames_in_cycles,
        quick={"seconds": 2.0, "repeats": 2, "warmup_s": 1.0},
    ),
    Experiment(
        name="syscall_threads",
        summary="OS threads while goroutines block in system calls (and on the netpoller), "
        "GOMAXPROCS 1 or 2",
        params=(
            Param("gomaxprocs", 2, "GOMAXPROCS", choices=(1, 2), via="env", variant=True),
            Param("syscalls", 9, "goroutines blocked in nanosleep(2)", minimum=0, maximum=500),
            Param(
                "netwaits",
                0,
                "goroutines blocked reading a pipe (netpoller)",
                minimum=0,
                maximum=500,
                variant=True,
            ),
            Param("block_ms", 200.0, "how long each blocks, ms", minimum=10, maximum=5_000),
            Param("repeats", 5, "fresh processes; the median is reported", minimum=1, maximum=50),
        ),
        result_keys=("threads_peak", "threads_before", "syscalls", "netwaits"),
        gomaxprocs=None,
        run_timeout_s=180.0,
        env=_procs_env,
        timed=False,
        quick={"repeats": 3, "block_ms": 100.0},
    ),
    Experiment(
        name="retake_keep",
        summary="how long a goroutine in a blocking syscall keeps its P: with an idle P and "
        "nothing queued, with no idle P, with queued work (execution trace)",
        params=(
            Param(
                "case",
                "idle",
                "idle | busy | queued",
                choices=tuple(RETAKE_CASE_PROCS),
                via="flag",
                variant=True,
            ),
            Param(
                "block_ms", 30.0, "length of the blocking nanosleep, ms", minimum=12, maximum=1_000
            ),
            Param(
                "pre_ms",
                20.0,
                "main's own nanosleep before each repeat, ms",
                minimum=12,
                maximum=1_000,
            ),
            Param("repeats", 7, "blocking calls traced", minimum=1, maximum=50),
        ),
        result_keys=("case", "kept_ms", "kept_ms_runs"),
        gomaxprocs=None,
        run_timeout_s=120.0,
        env=_retake_env,
        trace_summary=blocked_call_summary,
        quick={"repeats": 3},
        processes=3,
    ),
    Experiment(
        name="json_allocs",
        summary="allocations per json.Marshal call, by payload (testing.AllocsPerRun)",
        params=(
            Param(
                "payload",
                "points",
                "points | numbers | tagged",
                choices=("points", "numbers", "tagged"),
                variant=True,
            ),
            Param(
                "rows",
                4_000,
                "rows in the marshalled slice",
                minimum=1,
                maximum=1_000_000,
                variant=True,
            ),
            Param("runs", 50, "json.Marshal calls averaged", minimum=1, maximum=10_000),
        ),
        result_keys=("allocs_per_call", "allocs_per_row", "bytes_per_call", "body_bytes"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        timed=False,
        quick={"runs": 10},
    ),
    Experiment(
        name="sleep_resolution",
        summary="GOMAXPROCS=1, nothing else to run: how long time.Sleep(d) and a 20 us "
        "nanosleep(2) really take",
        params=(
            Param(
                "sleep_us",
                100.0,
                "time.Sleep duration, us",
                minimum=1,
                maximum=100_000,
                variant=True,
            ),
            Param("samples", 200, "sleeps timed", minimum=5, maximum=10_000),
        ),
        result_keys=("sleep_ms", "nanosleep20_ms"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        quick={"samples": 50},
    ),
    Experiment(
        name="idle_wake",
        summary="a nanosleep(2) of d on a locked thread, nothing else to run: how much later "
        "than asked it ends (timer slack, then the wake-up from an idle CPU, longer after a "
        "longer idle)",
        params=(
            Param(
                "sleep_us",
                20.0,
                "nanosleep duration, us",
                minimum=1,
                maximum=1_000_000,
                variant=True,
            ),
            Param("samples", 40, "sleeps timed", minimum=5, maximum=10_000),
        ),
        result_keys=("late_us",),
        gomaxprocs=1,
        run_timeout_s=120.0,
        quick={"samples": 10},
        processes=3,
        check_result=_sleeps_cut_short,
    ),
    Experiment(
        name="locked_pingpong",
        summary="GOMAXPROCS=1: a channel ping-pong round trip with and without one side "
        "locked to its thread (two thread hand-offs a trip)",
        params=(
            Param("locked", True, "lock the echoing goroutine to its thread", variant=True),
            Param("rounds", 500, "round trips per measurement", minimum=1, maximum=1_000_000),
            Param("repeats", 15, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("round_trip_us", "locked"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        quick={"repeats": 5},
    ),
    Experiment(
        name="mutex_spin",
        summary="one spin of a contended sync.Mutex: runtime_doSpin, procyield(30), on the "
        "thread's CPU clock (the scheduler model's MUTEX_SPIN_MS)",
        params=(
            Param("calls", 200_000, "doSpin calls per measurement", minimum=1, maximum=10**8),
            Param("repeats", 15, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("spin_ns",),
        gomaxprocs=1,
        run_timeout_s=60.0,
        quick={"calls": 50_000, "repeats": 5},
    ),
    Experiment(
        name="call_kinds",
        summary="GOMAXPROCS=1: how late a sleeping main wakes beside a loop that calls a small "
        "leaf function (no stack-check prologue), a function with a big frame (a prologue), or "
        "such a function now and then",
        params=(
            Param(
                "kind",
                "leaf",
                "leaf | frame | sparse: what the spinner's loop calls",
                choices=("leaf", "frame", "sparse"),
                variant=True,
            ),
            _ASYNC_PREEMPT,
            Param(
                "loop_ms",
                200.0,
                "target length of the spinner's loop, ms",
                minimum=20,
                maximum=5_000,
            ),
            Param("sleep_ms", 1.0, "main's sleep, ms", minimum=0.1, maximum=100),
            Param(
                "gap_ms",
                30.0,
                "sparse: loop time between calls of the function with a prologue, ms",
                minimum=1,
                maximum=1_000,
            ),
            Param("repeats", 15, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("late_ms", "after_loop_ms", "loop_ms", "kind", "async_preempt"),
        gomaxprocs=1,
        run_timeout_s=240.0,
        env=_preempt_env,
        quick={"loop_ms": 100.0, "repeats": 3},
    ),
    Experiment(
        name="oversubscribe",
        summary="GOMAXPROCS above the CPU count: GOMAXPROCS goroutines of equal CPU work on 2 "
        "CPUs, against one of them alone",
        params=(
            Param(
                "gomaxprocs",
                4,
                "GOMAXPROCS, one busy goroutine per P",
                minimum=1,
                maximum=64,
                via="env",
                variant=True,
            ),
            Param(
                "cores",
                2,
                "CPUs the process confines itself to (sched_setaffinity)",
                minimum=1,
                maximum=64,
            ),
            Param("work_ms", 200.0, "CPU work of each goroutine, ms", minimum=5, maximum=5_000),
            Param("repeats", 5, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("makespan_ratio", "makespan_ms", "solo_ms", "goroutines", "cores"),
        gomaxprocs=None,
        run_timeout_s=300.0,
        env=_procs_env,
        quick={"work_ms": 100.0, "repeats": 3},
        processes=3,
    ),
    Experiment(
        name="handoff_costs",
        summary="what a hand-off costs: a channel round trip against a Gosched round on one P, "
        "a buffered channel's operations alone and shared by two Ps, and how long a goroutine "
        "readied on a busy P waits for the other P's parked thread (quantiles; "
        "labkit.golab.calibrate)",
        params=(
            Param(
                "case",
                "rounds",
                "rounds | buffered (GOMAXPROCS=1) | shared | wake (GOMAXPROCS=2)",
                choices=tuple(HANDOFF_CASE_PROCS),
                variant=True,
            ),
            Param("rounds", 100_000, "rounds per measurement", minimum=100, maximum=10_000_000),
            Param("samples", 300, "wake-ups per measurement", minimum=10, maximum=100_000),
            Param("gap_ms", 2.0, "sleep before each wake-up, ms", minimum=0.1, maximum=100),
            Param("lead_ms", 5.0, "computing before each wake-up, ms", minimum=0, maximum=100),
            Param("repeats", 7, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("case", "repeats"),
        gomaxprocs=None,
        run_timeout_s=300.0,
        env=_handoff_env,
        quick={"rounds": 20_000, "samples": 100, "repeats": 3},
    ),
    # The gaps of #25 (item 6): a pair that hands the P back and forth beside a hog, a ticker
    # whose receiver cannot keep up, and the primitives (mutex, WaitGroup, atomic flag).
    Experiment(
        name="pingpong_hog",
        summary="GOMAXPROCS=1: a pair ping-ponging on an unbuffered channel with no work per "
        "hop beside a CPU-bound goroutine: the hog's share and how long the pair runs between "
        "its preemptions",
        params=(
            Param(
                "window_ms", 300.0, "length of one measured window, ms", minimum=50, maximum=5_000
            ),
            Param("repeats", 7, "measured windows", minimum=1, maximum=50),
        ),
        result_keys=("hog_share", "pair_run_ms", "hog_run_ms"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        quick={"window_ms": 150.0, "repeats": 3},
        processes=3,
        per_run_lists=("pair_run_medians", "pair_runs_per_window"),
    ),
    Experiment(
        name="ticker_load",
        summary="GOMAXPROCS=1: ticks a 1 ms time.Ticker's receiver gets when it computes after "
        "every 5th tick, or shares the P with a hog (late ticks are dropped, not queued)",
        params=(
            Param("case", "work", "work | hog", choices=("work", "hog"), variant=True),
            Param("period_ms", 1.0, "the ticker's period, ms", minimum=0.1, maximum=100),
            Param(
                "window_ms", 300.0, "length of one measured window, ms", minimum=20, maximum=5_000
            ),
            Param(
                "every", 5, "work: compute after every this many ticks", minimum=1, maximum=1_000
            ),
            Param("work_ms", 2.0, "work: how long it computes, ms", minimum=0.01, maximum=1_000),
            Param("repeats", 7, "measured windows", minimum=1, maximum=50),
        ),
        result_keys=("case", "tick_ratio"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        quick={"window_ms": 100.0, "repeats": 3},
        processes=3,
    ),
    Experiment(
        name="mutex_starve",
        summary="GOMAXPROCS=2: how long a goroutine waits for a sync.Mutex its holder releases "
        "and takes again in a loop (starvation mode after 1 ms)",
        params=(
            Param(
                "hold_us", 100.0, "the holder's CPU inside the lock, us", minimum=1, maximum=10_000
            ),
            Param("gap_us", 200.0, "the waiter's CPU between locks, us", minimum=1, maximum=10_000),
            Param("locks", 50, "locks the waiter takes per measurement", minimum=1, maximum=10_000),
            Param("repeats", 7, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("wait_ms", "max_wait_ms"),
        gomaxprocs=2,
        run_timeout_s=120.0,
        quick={"locks": 20, "repeats": 3},
    ),
    Experiment(
        name="wg_order",
        summary="GOMAXPROCS=1: in which order goroutines waiting in WaitGroup.Wait run once the "
        "counter reaches zero",
        params=(
            Param("n", 5, "goroutines waiting", minimum=1, maximum=200),
            Param(
                "repeats",
                7,
                "runs; the program reports whether all orders agree",
                minimum=1,
                maximum=50,
            ),
        ),
        result_keys=("order", "all_same"),
        gomaxprocs=1,
        run_timeout_s=60.0,
        timed=False,
        quick={"repeats": 3},
    ),
    Experiment(
        name="spin_flag",
        summary="GOMAXPROCS=1: how long a goroutine spinning on an atomic flag keeps the one "
        "that would set it off the P, its loop calling a function or not, signals on or off",
        params=(
            Param("calls", False, "the spin loop calls a function with a prologue", variant=True),
            _ASYNC_PREEMPT,
            Param("repeats", 7, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("set_ms", "calls"),
        gomaxprocs=1,
        run_timeout_s=120.0,
        env=_preempt_env,
        quick={"repeats": 3},
    ),
    Experiment(
        name="handoff_churn",
        summary="two goroutines that hand work to each other over an unbuffered channel, never "
        "running at once: the time per item on one P and on two, and what the idle P's thread "
        "does meanwhile (an execution trace: P starts, goroutines moved between Ps)",
        params=(
            Param(
                "gomaxprocs",
                2,
                "GOMAXPROCS: 1 (they take turns on one P) or more (idle Ps look for work)",
                minimum=1,
                maximum=64,
                via="env",
                variant=True,
            ),
            Param("work_us", 1.0, "each side's CPU per item, us", minimum=0.05, maximum=100),
            Param("items", 20_000, "items per window", minimum=100, maximum=1_000_000),
            Param("repeats", 7, "measured windows", minimum=1, maximum=50),
        ),
        result_keys=("item_ns", "p_starts_per_kitem", "migrations_per_kitem"),
        gomaxprocs=None,
        run_timeout_s=120.0,
        env=_procs_env,
        trace_summary=churn_summary,
        quick={"items": 5_000, "repeats": 3},
        processes=3,
    ),
    Experiment(
        name="prodcons",
        summary="GOMAXPROCS=2: a consumer faster than its producer empties a buffered channel "
        "and parks; how long until another thread runs it again, and how many items wait by then",
        params=(
            Param("work_us", 0.5, "the producer's CPU per item, us", minimum=0.05, maximum=100),
            Param("items", 20_000, "items per window", minimum=100, maximum=1_000_000),
            Param("buffer", 4096, "the channel's capacity", minimum=1, maximum=1_000_000),
            Param("repeats", 7, "measured windows", minimum=1, maximum=50),
        ),
        result_keys=("cycle_us", "cycle_items"),
        gomaxprocs=2,
        run_timeout_s=120.0,
        quick={"items": 5_000, "repeats": 3},
        processes=3,
    ),
)

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _EXPERIMENTS}

#: Parameter sets recorded by scripts/record_go_results.py and compared by fidelity_table.
VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("preempt", {"async_preempt": True}),
    ("preempt", {"async_preempt": False}),
    ("yield", {"mode": "none"}),
    ("yield", {"mode": "sleep0"}),
    ("yield", {"mode": "gosched"}),
    ("yield", {"mode": "sleep1ns"}),
    ("syscall_handoff", {}),
    ("lockosthread", {}),
    ("spawn_order", {}),
    ("yield", {"mode": "sleep1ns", "iters": 1_000_000}),
    ("yield", {"mode": "none", "iters": 1_000, "body_us": 320.0}),
    ("yield", {"mode": "sleep1ns", "iters": 640, "body_us": 500.0}),
    ("gc_frames", {"pooled": False, "repeats": 5}),
    ("gc_frames", {"pooled": True, "repeats": 5}),
    ("gc_frames", {"pooled": False, "gogc": 400, "repeats": 5}),
    # Chapter 1b, section 8: frames alone at 120 fps on the near-empty heap.
    ("gc_frames", {"pooled": False, "fps": 120.0, "frames": 120, "repeats": 5}),
    ("gc_live", {}),
    ("gc_parallel", {}),
    # Chapter 1's scenarios, each with a new buffer per frame and with a sync.Pool: spare CPU at
    # GOGC=100; a short runway (GOGC=25; GOMEMLIMIT near the live heap); one P; producers that
    # keep both CPUs busy.
    *(
        ("gc_render", {**scenario, "pooled": pooled})
        for scenario in (
            {},
            {"gogc": 25},
            {"memory_limit_mb": 100},
            {"gomaxprocs": 1},
            {"producer_cpu": 0.5},
        )
        for pooled in (False, True)
    ),
    ("syscall_threads", {"gomaxprocs": 1}),
    ("syscall_threads", {"gomaxprocs": 2}),
    ("syscall_threads", {"gomaxprocs": 2, "netwaits": 16}),
    ("retake_keep", {"case": "idle"}),
    ("retake_keep", {"case": "busy"}),
    ("retake_keep", {"case": "queued"}),
    ("json_allocs", {"payload": "points"}),
    ("json_allocs", {"payload": "numbers"}),
    ("json_allocs", {"payload": "tagged"}),
    ("json_allocs", {"payload": "tagged", "rows": 1}),
    ("sleep_resolution", {"sleep_us": 100.0}),
    ("sleep_resolution", {"sleep_us": 1500.0}),
    # Longer sleeps: a 20 ms one is two epoll waits (19 ms, then 1 ms: the delay is a little
    # under 20 ms when the poller blocks), a 100 ms one a 99 ms wait whose timer slack is the
    # kernel's 0.1 % of the timeout rather than 50 us.
    ("sleep_resolution", {"sleep_us": 20_000.0, "samples": 50}),
    ("sleep_resolution", {"sleep_us": 100_000.0, "samples": 30}),
    ("idle_wake", {"sleep_us": 20.0, "samples": 100}),
    ("idle_wake", {"sleep_us": 1_000.0, "samples": 100}),
    ("idle_wake", {"sleep_us": 5_000.0, "samples": 100}),
    ("idle_wake", {"sleep_us": 19_000.0, "samples": 50}),
    ("idle_wake", {"sleep_us": 99_000.0, "samples": 30}),
    ("locked_pingpong", {"locked": True}),
    ("locked_pingpong", {"locked": False}),
    ("mutex_spin", {}),
    # Preemption points by call kind (#25 item 2): without signals only a call with a
    # stack-check prologue stops a loop.
    ("call_kinds", {"kind": "leaf", "async_preempt": False}),
    ("call_kinds", {"kind": "frame", "async_preempt": False}),
    ("call_kinds", {"kind": "sparse", "async_preempt": False}),
    ("call_kinds", {"kind": "leaf", "async_preempt": True}),
    ("call_kinds", {"kind": "frame", "async_preempt": True}),
    # GOMAXPROCS above the CPU count (#25 item 4): the OS time-shares the CPUs.
    ("oversubscribe", {"gomaxprocs": 2}),
    ("oversubscribe", {"gomaxprocs": 3}),
    ("oversubscribe", {"gomaxprocs": 4}),
    # Costs the model calibrates from (#25 items 3 and 4): labkit.golab.calibrate.
    ("handoff_costs", {"case": "rounds"}),
    ("handoff_costs", {"case": "buffered"}),
    ("handoff_costs", {"case": "shared"}),
    ("handoff_costs", {"case": "wake"}),
    # The gaps of #25 (item 6): preemption of a hand-off pair, a ticker under load, primitives.
    ("pingpong_hog", {}),
    ("ticker_load", {"case": "work"}),
    ("ticker_load", {"case": "hog"}),
    ("mutex_starve", {}),
    ("wg_order", {}),
    ("spin_flag", {"calls": False, "async_preempt": True}),
    ("spin_flag", {"calls": True, "async_preempt": False}),
    ("prodcons", {}),
    # stopm/startm churn (#25 item 3): a hand-off pair on one P and on two.
    ("handoff_churn", {"gomaxprocs": 1}),
    ("handoff_churn", {"gomaxprocs": 2}),
)


def experiments() -> list[str]:
    """Names of the real-Go experiments, in the order the course meets them."""
    return list(EXPERIMENTS)


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; UnknownExperimentError (a ValueError) listing the names."""
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise UnknownExperimentError(
            f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}"
        )
    return EXPERIMENTS[name]
