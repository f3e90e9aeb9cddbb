"""Results of the Go programs recorded on a real machine, shipped with the course.

One JSON file per experiment in ``recorded/<name>.json``::

    {"experiment": "yield", "recorded_at": "2026-11-27T11:40:00Z",
     "recorded_on": "linux/amd64, 2 CPUs, go1.27.3",
     "go_version": "go1.27.3", "goos": "linux", "goarch": "amd64", "cpus": 2,
     "runs": [{"params": {...all parameters...}, "result": {...as run_experiment returns...}}]}

An experiment recorded in several processes (``Experiment.processes``) has one result per
parameter set with their runs pooled (``pool_processes``), ``processes`` and each process's own
figures in ``process_medians``.

Each run may carry its own ``recorded_at`` and load average (``load_avg_before`` / ``_after``)
when a file mixes recordings made at different times. ``scripts/record_go_results.py`` writes
them; the runner falls back to them when no Go toolchain
is usable, saying so in the result (``"source": "recorded"``, ``recorded_at``, ``recorded_on``,
and a ``note`` when the recorded parameters differ from the ones asked for).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from labkit.golab.errors import RecordedResultError
from labkit.golab.experiments import Experiment

RECORDED_DIR = Path(__file__).resolve().parent / "recorded"

#: Top-level keys every recorded file has.
FILE_KEYS = (
    "experiment",
    "recorded_at",
    "recorded_on",
    "go_version",
    "goos",
    "goarch",
    "cpus",
    "runs",
)


def recorded_path(name: str) -> Path:
    return RECORDED_DIR / f"{name}.json"


def load_recorded(name: str) -> dict[str, Any]:
    """The recorded file of experiment ``name``, checked for its metadata keys."""
    path = recorded_path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RecordedResultError(
            f"no recorded result for {name!r} ({path} is missing); run "
            "scripts/record_go_results.py on a machine with Go"
        ) from exc
    except json.JSONDecodeError as exc:
        raise RecordedResultError(f"{path} is not valid JSON: {exc}") from exc
    missing = [k for k in FILE_KEYS if k not in data]
    if missing or data.get("experiment") != name or not isinstance(data["runs"], list):
        raise RecordedResultError(f"{path} is malformed (missing {missing or 'a valid runs list'})")
    return data


def recorded_result(experiment: Experiment, params: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded result for ``params`` (already normalised).

    An exact parameter match is preferred; otherwise the closest run (the most variant
    parameters in common: ``mode``, ``async_preempt``, ``pooled``, ``gogc`` ...) is used and a
    ``note`` names the parameters it was recorded with instead.
    """
    data = load_recorded(experiment.name)
    runs = data["runs"]
    if not runs:
        raise RecordedResultError(f"{recorded_path(experiment.name)} has no runs")
    chosen = next((r for r in runs if r["params"] == dict(params)), None)
    note = None
    if chosen is None:
        # The closest run: most variant parameters in common (earlier parameters weigh more),
        # then most parameters in common.
        variant = [p.name for p in experiment.params if p.variant]

        def closeness(run: dict[str, Any]) -> tuple[int, ...]:
            same = [run["params"].get(k) == params[k] for k in variant]
            return (*same, sum(run["params"].get(k) == v for k, v in params.items()))

        chosen = max(runs, key=closeness)
        diff = {k: v for k, v in chosen["params"].items() if params.get(k) != v}
        note = f"recorded with {diff}, not the parameters asked for"
    result = dict(chosen["result"])
    result["source"] = "recorded"
    # Runs recorded at another time than the rest of the file say so themselves.
    result["recorded_at"] = chosen.get("recorded_at", data["recorded_at"])
    result["recorded_on"] = data["recorded_on"]
    if note:
        result["note"] = note
    return result


def pool_processes(
    results: Sequence[Mapping[str, Any]], per_run: Sequence[str] = ()
) -> dict[str, Any]:
    """One result from the results of several processes of one experiment and parameter set
    (``Experiment.processes``): every ``K_runs`` list is the processes' lists joined, and a
    figure ``K`` that each process gave as the median of its ``K_runs`` is the median of the
    joined runs; ``process_medians`` keeps each process's own ``K``. Anything else is the first
    process's. A figure that is not the median of its runs (the programs' own summaries) is the
    median of the processes' figures. ``per_run`` names more lists of one value per run or
    window (``Experiment.per_run_lists``), joined as the ``*_runs`` are."""
    if not results:
        raise RecordedResultError("pool_processes needs at least one process's result")
    first = results[0]
    out = dict(first)
    medians: dict[str, list[Any]] = {}
    for key, value in first.items():
        runs_key = f"{key}_runs"
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if not all(isinstance(r.get(runs_key), list) for r in results):
            continue
        medians[key] = [r[key] for r in results]
        joined = [x for r in results for x in r[runs_key]]
        own = all(
            r[runs_key]
            and abs(statistics.median(r[runs_key]) - r[key]) <= 1e-9 * max(1, abs(r[key]))
            for r in results
        )
        out[key] = statistics.median(joined) if own else statistics.median(medians[key])
    for key in first:
        joined_list = key.endswith("_runs") or key in per_run
        if joined_list and all(isinstance(r.get(key), list) for r in results):
            out[key] = [x for r in results for x in r[key]]
    out["processes"] = len(results)
    out["process_medians"] = medians
    return out
