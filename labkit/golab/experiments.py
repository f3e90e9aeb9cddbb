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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.golab.errors import ExperimentParameterError, UnknownExperimentError

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

    @property
    def program_dir(self) -> str:
        return self.program or self.name

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


REPEATS_HELP = "measurements inside the program; the medians are reported"

_EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        name="preempt",
        summary="GOMAXPROCS=1: when does main get the CPU back from a tight loop without calls?",
        params=(
            Param(
                "async_preempt",
                True,
                "signal-based preemption on (Go 1.14+) or off",
                via="env",
                variant=True,
            ),
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
            Param("repeats", 7, REPEATS_HELP, minimum=1, maximum=50),
        ),
        result_keys=("mode", "ns_per_iter", "iters", "other_turns"),
        gomaxprocs=1,
        run_timeout_s=120.0,
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
    ),
    Experiment(
        name="gc_frames",
        summary="render frames into *image.RGBA with or without sync.Pool; GC cycles per second "
        "(GODEBUG=gctrace=1)",
        params=(
            Param("pooled", False, "reuse frame buffers through a sync.Pool", variant=True),
            Param(
                "gogc",
                100,
                "GOGC: heap growth percent before the next cycle",
                minimum=10,
                maximum=10_000,
                via="env",
                variant=True,
            ),
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
    ("gc_frames", {"pooled": False}),
    ("gc_frames", {"pooled": True}),
    ("gc_frames", {"pooled": False, "gogc": 400}),
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
