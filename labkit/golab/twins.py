"""Real twins of the model's scenarios: the same program in Go, run with an execution trace.

A twin is a Go program under ``labkit/golab/go/<name>/`` that does what one of the model's
scenarios does, at the same parameters; its package-level settings (``var hogs = 2``) are the
scenario's variants. :func:`run_twin` sets them, builds and runs the program with ``run_go``
(execution trace on) and returns what the program printed (one JSON object) beside its
:class:`labkit.traces.Trace`, so a notebook can put Go's own timeline next to the model's
(``labkit.widgets.TimelinePair``) and compare the numbers the program measured itself.

Without a Go toolchain, or with ``source="recorded"``, it returns the recording shipped in
``labkit/golab/recorded/twins/`` (``scripts/record_twins.py`` makes them: the trace and the
output, with the Go version and when and where it ran).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.golab.errors import (
    ExperimentParameterError,
    GolabWarning,
    GoRunError,
    RecordedResultError,
    UnknownExperimentError,
)
from labkit.validation import check_choice, check_int

__all__ = ["TWINS", "Twin", "TwinRun", "record_twin", "run_twin", "twin_source"]

GO_DIR = Path(__file__).parent / "go"
RECORDED_DIR = Path(__file__).parent / "recorded" / "twins"


@dataclass(frozen=True)
class Twin:
    """A twin program: its directory under go/, GOMAXPROCS, its settings and their defaults
    (each a whole-number ``var`` in main.go, or a GODEBUG setting: ``godebug`` maps such a
    setting's value to GODEBUG's text), and the model scenario it mirrors."""

    name: str
    gomaxprocs: int
    params: Mapping[str, int]
    scenario: str
    limits: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: The model's colour group of each goroutine, by the entry function a trace names (run_go
    #: renames the program's main to labkitUserMain).
    kinds: Mapping[str, str] = field(default_factory=dict)
    godebug: Mapping[str, Callable[[int], str]] = field(default_factory=dict)
    #: Values for main.go's ``var name = ...`` lines, by name: the model's own workload, so
    #: that both serve the same requests; or None.
    data: Callable[[], Mapping[str, str]] | None = None


#: Chapter 4's pool twin: 120 requests/s bursting to 250/s for 0.5 s in every 2 s, 4 s of
#: arrivals, 10 ms of CPU each (exponential), on 2 Ps; the model runs 2 s longer so that it,
#: like the program, serves every request.
POOL_TWIN_LOAD: dict[str, Any] = {
    "arrival_rate": 120.0,
    "service_ms": 10.0,
    "service": "exp",
    "gomaxprocs": 2,
    "seed": 0,
}
POOL_TWIN_BURST = (250.0, 0.5, 1.5)
POOL_TWIN_ARRIVALS_S, POOL_TWIN_DRAIN_S = 4.0, 2.0


def pool_twin_arrivals_s() -> Any:
    """The pool twin's arrival times (s): the model's Poisson arrivals with bursts, seed 0."""
    import numpy as np

    from labkit.models.pool.params import PoolParams
    from labkit.models.pool.workload import poisson_arrivals_s

    params = PoolParams.make(
        duration_s=POOL_TWIN_ARRIVALS_S, burst=POOL_TWIN_BURST, **POOL_TWIN_LOAD
    )
    return poisson_arrivals_s(params, np.random.default_rng(params.seed))


def pool_twin_model(policy: str, workers: int) -> Any:
    """The pool model's run of the twin's workload (labkit.models.pool.simulate_pool, replayed
    arrivals): ``policy`` "static" or "per_request"."""
    from labkit.models.pool import simulate_pool

    return simulate_pool(
        arrivals=pool_twin_arrivals_s(),
        duration_s=POOL_TWIN_ARRIVALS_S + POOL_TWIN_DRAIN_S,
        policy=policy,
        workers=workers,
        sample_ms=1.0,
        **POOL_TWIN_LOAD,
    )


def pipeline_twin_model(buffer: int, draw: int) -> Any:
    """The pipeline model's run of the twin's settings (labkit.models.pipeline.simulate_pipeline):
    the chapter's three stages with ``draw`` draw workers, constant work, 200 items, 2 Ps."""
    from labkit.models.pipeline import DEFAULT_STAGES, simulate_pipeline

    decode, drawing, upload = DEFAULT_STAGES
    return simulate_pipeline(
        stages=(decode, replace(drawing, workers=draw), upload),
        buffer=buffer,
        items=200,
        service="const",
        gomaxprocs=2,
    )


def _pool_workload() -> dict[str, str]:
    """The pool twin's requests as Go values: arrival and CPU time of each, in microseconds,
    the very workload :func:`pool_twin_model` serves (the policy does not change the draws)."""
    from labkit.models.pool.simulate import prepare

    _, work = prepare(
        arrivals=pool_twin_arrivals_s(),
        duration_s=POOL_TWIN_ARRIVALS_S + POOL_TWIN_DRAIN_S,
        **POOL_TWIN_LOAD,
    )
    us = lambda values: ", ".join(str(round(v)) for v in values)  # noqa: E731
    return {
        "arrivalUs": f"[]int64{{{us(work.arrival_s * 1e6)}}}",
        "serviceUs": f"[]int64{{{us(work.service_ms * 1e3)}}}",
    }


TWINS: dict[str, Twin] = {
    "timer_stall": Twin(
        "timer_stall",
        gomaxprocs=2,
        params={"hogs": 2},
        scenario='labkit.scenarios.blindspots.PRESETS["2.5"]: a 4 ms render ticker beside CPU hogs',
        limits={"hogs": (0, 8)},
        kinds={"main.labkitUserMain.func1": "ticker", "main.labkitUserMain.func2": "hog"},
    ),
    "long_loop": Twin(
        "long_loop",
        gomaxprocs=1,
        params={"async_preempt": 0},
        scenario='labkit.scenarios.blindspots.PRESETS["2.3"]: 40 requests beside a 200 ms loop without calls',
        limits={"async_preempt": (0, 1)},
        kinds={"main.labkitUserMain.func1": "hog", "main.labkitUserMain.func2": "req"},
        # Go 1.13's cooperative-only preemption: GODEBUG=asyncpreemptoff=1 (src/runtime/
        # runtime1.go, debug.asyncpreemptoff; preemptM does nothing then, preempt.go).
        godebug={"async_preempt": lambda on: f"asyncpreemptoff={0 if on else 1}"},
    ),
    "locked_ticker": Twin(
        "locked_ticker",
        gomaxprocs=2,
        params={"locked": 1},
        scenario='labkit.scenarios.blindspots.PRESETS["2.1"]: 200 requests beside a render loop that calls '
        "LockOSThread (locked=1) or not (locked=0)",
        limits={"locked": (0, 1)},
        kinds={"main.request": "req", "main.render": "ticker"},
    ),
    "blocking_calls": Twin(
        "blocking_calls",
        gomaxprocs=2,
        params={"syscalls": 1},
        scenario='labkit.scenarios.blindspots.PRESETS["2.2"]: 120 requests, four in five wait 20 ms in a '
        "blocking system call (syscalls=1) or on the netpoller (syscalls=0)",
        limits={"syscalls": (0, 1)},
        kinds={"main.request": "req"},
    ),
    "pipeline": Twin(
        "pipeline",
        gomaxprocs=2,
        params={"buffer": 4, "draw": 2},
        scenario="labkit.models.pipeline.simulate_pipeline: decode x1 (1 ms) -> draw x`draw` (4 ms) -> "
        "upload x1 (0.5 ms + 1 ms device wait), channels of capacity `buffer`, 200 items, "
        "constant work, GOMAXPROCS=2",
        limits={"buffer": (0, 64), "draw": (1, 8)},
        kinds={
            "main.producer": "producer",
            "main.decode": "decode",
            "main.drawer": "draw",
            "main.upload": "upload",
            "main.main": "sink",
        },
    ),
    "pool": Twin(
        "pool",
        gomaxprocs=2,
        params={"policy": 0, "workers": 2},
        scenario="labkit.models.pool.simulate_pool: a static pool of `workers` (policy=0) or a "
        "goroutine per request (policy=1), 120/s bursting to 250/s, 10 ms of CPU each "
        "(exponential), GOMAXPROCS=2; the same requests as pool_twin_model",
        limits={"policy": (0, 1), "workers": (1, 64)},
        kinds={"main.worker": "req", "main.handle": "req"},
        data=_pool_workload,
    ),
    "frame_loop": Twin(
        "frame_loop",
        gomaxprocs=1,
        params={"pooled": 0},
        scenario="labkit.models.renderloop.simulate_frames, chapter 1's stall: 60 fps of 1024x768 frames, "
        "a fresh buffer each (pooled=0) or a sync.Pool's (pooled=1), beside 64 MiB of live "
        "pointer nodes and four producers at a tenth of a CPU, GOMAXPROCS=1; 0.5 s of warm-up, "
        "2 s measured (labkit.golab.frame_twin)",
        limits={"pooled": (0, 1)},
        kinds={
            "main.render": "ticker",
            "main.producer": "producer",
            "main.display": "sink",
            "runtime.gcBgMarkWorker": "gc",
        },
    ),
    "run_queues": Twin(
        "run_queues",
        gomaxprocs=1,  # the program's init sets GOMAXPROCS to its procs setting
        params={"procs": 1},
        scenario='labkit.scenarios.blindspots.PRESETS["2.4"]: 400 goroutines of 1 ms started at once',
        limits={"procs": (1, 8)},
        kinds={"main.request": "req"},
    ),
}


@dataclass(frozen=True)
class TwinRun:
    """One run of a twin: ``output`` (the program's JSON), ``trace`` (a labkit.traces.Trace),
    ``source`` ("live" or "recorded") and ``note`` (when and where a recording was made, or why
    there was no live run)."""

    name: str
    params: Mapping[str, int]
    output: Mapping[str, Any]
    trace: Any = field(repr=False)
    source: str
    go_version: str
    note: str = ""
    #: CPUs of the machine it ran on (the recording's ``recorded_on``, or this machine's).
    cpus: int | None = None

    @property
    def kinds(self) -> Mapping[str, str]:
        """The model's colour group of the trace's goroutines (Twin.kinds), for the widgets."""
        return TWINS[self.name].kinds

    def summary(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} ({settings}), {self.source}, {self.go_version}: {self.trace.summary()}"


def _twin(name: str) -> Twin:
    if name not in TWINS:
        raise UnknownExperimentError(f"unknown twin {name!r}; the twins are {', '.join(TWINS)}")
    return TWINS[name]


def _params(twin: Twin, params: Mapping[str, Any]) -> dict[str, int]:
    unknown = sorted(set(params) - set(twin.params))
    if unknown:
        raise ExperimentParameterError(
            f"{twin.name}: unknown setting(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(twin.params)}"
        )
    out = dict(twin.params)
    for key, value in params.items():
        low, high = twin.limits.get(key, (0, 1 << 20))
        out[key] = check_int(key, value, low, high, error=ExperimentParameterError, where=twin.name)
    return out


def twin_source(name: str, **params: int) -> str:
    """The twin's main.go with its settings set (``var hogs = 1``)."""
    twin = _twin(name)
    source = (GO_DIR / twin.name / "main.go").read_text()
    for key, value in _params(twin, params).items():
        if key in twin.godebug:
            continue
        source, n = re.subn(
            rf"^var {key} = \d+", f"var {key} = {value}", source, count=1, flags=re.M
        )
        if n != 1:  # the program and TWINS disagree: a bug in the course, not in the call
            raise RecordedResultError(f"{twin.name}/main.go has no 'var {key} = <int>' line")
    for key, value in (twin.data() if twin.data else {}).items():
        line = f"var {key} = {value}"
        source, n = re.subn(
            rf"^var {key} = .*$", lambda _, line=line: line, source, count=1, flags=re.M
        )
        if n != 1:
            raise RecordedResultError(f"{twin.name}/main.go has no 'var {key} = ...' line")
    return source


def _recorded_path(twin: Twin, params: Mapping[str, int]) -> Path:
    settings = "-".join(f"{k}={v}" for k, v in sorted(params.items()))
    return RECORDED_DIR / f"{twin.name}-{settings}"


def _recorded(twin: Twin, params: dict[str, int], why: str = "") -> TwinRun:
    from labkit.traces import load_trace

    base = _recorded_path(twin, params)
    meta_path, trace_path = base.with_suffix(".json"), base.with_suffix(".trace")
    if not meta_path.exists() or not trace_path.exists():
        raise RecordedResultError(
            f"no recording of {twin.name} with {params}; record it with "
            f"scripts/record_twins.py, or run it live (a Go toolchain: python3 course.py setup)"
        )
    meta = json.loads(meta_path.read_text())
    note = f"recorded on {meta['recorded_on']} at {meta['recorded_at']}"
    cpus = re.search(r"(\d+) CPUs", meta["recorded_on"])
    if why:
        note += f"; no live run here: {why}"
    return TwinRun(
        twin.name,
        params,
        meta["output"],
        load_trace(trace_path, name=f"recorded/twins/{trace_path.name}"),
        "recorded",
        meta["go_version"],
        note,
        int(cpus.group(1)) if cpus else None,
    )


def _run(twin: Twin, settings: Mapping[str, int]):
    """Build and run the twin with its settings: vars in the source, GODEBUG for the rest."""
    from labkit.golab.snippet import run_go

    godebug = ",".join(f(settings[k]) for k, f in twin.godebug.items()) or None
    source = twin_source(twin.name, **settings)
    return run_go(source, gomaxprocs=twin.gomaxprocs, godebug=godebug, timeout_s=60)


def run_twin(name: str, *, source: str = "auto", **params: int) -> TwinRun:
    """Run twin ``name`` with its settings ``params``: live (``source="live"``: raises
    GoRunError without a toolchain), from the recording (``"recorded"``), or live where a
    toolchain is found and otherwise recorded, with a GolabWarning saying why (``"auto"``)."""
    twin = _twin(name)
    check_choice("source", source, ("auto", "live", "recorded"), error=ExperimentParameterError)
    settings = _params(twin, params)
    if source == "recorded":
        return _recorded(twin, settings)
    try:
        run = _run(twin, settings)
        if not run.ok or run.trace is None:
            raise GoRunError(
                f"{twin.name} did not run to the end (exit {run.exit_code}, "
                f"timed out: {run.timed_out}): {run.stderr.strip()[-300:]} {run.note}".strip()
            )
        output = json.loads(run.stdout)
    except GoRunError as exc:
        if source == "live":
            raise
        warnings.warn(f"{twin.name}: {exc}; showing the recording", GolabWarning, stacklevel=2)
        return _recorded(twin, settings, why=str(exc).split("\n", 1)[0])
    return TwinRun(
        twin.name, settings, output, run.trace, "live", run.go_version, cpus=_machine_cpus()
    )


def _machine_cpus() -> int:
    """The CPUs this process may run on (runtime.NumCPU reads the same affinity mask)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def record_twin(name: str, **params: int) -> Path:
    """Run twin ``name`` live and write its trace and output to recorded/twins/ (for
    scripts/record_twins.py); returns the recording's path without suffix."""
    import platform

    twin = _twin(name)
    settings = _params(twin, params)
    run = _run(twin, settings)
    if not run.ok or run.trace is None:
        raise GoRunError(f"{twin.name} failed: exit {run.exit_code}; {run.stderr[-300:]}")
    base = _recorded_path(twin, settings)
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".trace").write_bytes(run.trace_bytes)
    meta = {
        "twin": twin.name,
        "params": settings,
        "output": json.loads(run.stdout),
        "go_version": run.go_version,
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recorded_on": f"{platform.system().lower()}/{platform.machine()}, {_machine_cpus()} CPUs",
    }
    base.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    return base
