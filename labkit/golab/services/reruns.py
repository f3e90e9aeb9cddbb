"""Is a p99 difference real? The spread of reruns, recorded.

About 200 requests give a p99 from their two slowest; a bootstrap interval over one run's
requests (``compare.p99_interval``) measures only the sampling of *those* requests. Between runs
the p99 moves by more: GC cycles, collisions of slow queries and the machine's other work fall
differently. So chapter 5b reads a fix's effect against reruns: each setting run ``n`` times, the
settings interleaved so that the machine's drift falls on all of them alike. ``verdict`` is the
rule: a setting's p99 is lower (or higher) than another's when every one of its reruns is below
(or above) every one of the other's; when the ranges overlap, one run cannot tell them apart.

``record_reruns`` runs them live (``python3 scripts/record_reruns.py``) and writes
``recorded/reruns.json``; ``recorded_reruns`` reads what the course shipped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from labkit.golab.services.errors import RecordingError, ServiceParameterError

__all__ = ["FIX_SETTINGS", "RERUNS", "record_reruns", "recorded_reruns", "verdict"]

#: The settings chapter 5b compares: no fix, and each fix alone.
FIX_SETTINGS: dict[str, dict[str, bool]] = {
    "no fix": {},
    "cache_json": {"cache_json": True},
    "stream": {"stream": True},
    "db_timeout": {"db_timeout": True},
}
RERUNS = Path(__file__).resolve().parent / "recorded" / "reruns.json"


def verdict(a: Sequence[float], b: Sequence[float]) -> str:
    """``"lower"`` if every value of ``a`` is below every value of ``b``, ``"higher"`` if every
    one is above, else ``"same"`` (the reruns overlap: no run tells the two apart)."""
    if not a or not b:
        raise ServiceParameterError("each setting needs at least one rerun")
    if max(a) < min(b):
        return "lower"
    if min(a) > max(b):
        return "higher"
    return "same"


def record_reruns(
    n: int = 6,
    settings: Mapping[str, Mapping[str, bool]] = FIX_SETTINGS,
    *,
    path: Path = RERUNS,
    run: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Run each of ``settings`` ``n`` times live, interleaved (round by round), with the
    collection chapter 5b's fix table uses (no trace, no Prometheus), and write each run's p99
    and GC cycles per second, with the date, machine and load, to ``path``."""
    if n < 2:
        raise ServiceParameterError(f"n must be at least 2 to show a spread, got {n}")
    if run is None:
        from labkit.golab.services.run import run_service

        run = run_service
    p99: dict[str, list[float]] = {name: [] for name in settings}
    gc: dict[str, list[float]] = {name: [] for name in settings}
    meta: dict[str, Any] = {}
    load_before = [round(x, 2) for x in os.getloadavg()]
    for _ in range(n):
        for name, flags in settings.items():
            r = run("dashboard", source="live", trace_seconds=0, prometheus=False, **flags)
            f = r.figures()
            p99[name].append(round(float(f["p99_ms"]), 3))
            gc[name].append(round(f["gc_cycles"] / max(f["seconds"], 1e-9), 3))
            meta = r.meta
    data = {
        "recorded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recorded_on": meta.get("recorded_on", "?"),
        "load_avg_before": load_before,
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "n": n,
        "collect": {"trace_seconds": 0, "prometheus": False},
        "p99_ms": p99,
        "gc_per_s": gc,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return data


def recorded_reruns(path: Path = RERUNS) -> dict[str, Any]:
    """The reruns the course shipped (``record_reruns``'s file); RecordingError naming the file
    and what to do if it is missing or broken."""
    redo = "record them again with python3 scripts/record_reruns.py"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RecordingError(f"{path} is missing; {redo}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordingError(f"{path} cannot be read ({exc}); {redo}") from exc
    p99 = data.get("p99_ms") if isinstance(data, dict) else None
    if (
        not isinstance(p99, dict)
        or not p99
        or not all(isinstance(v, list) and len(v) >= 2 for v in p99.values())
    ):
        raise RecordingError(f"{path} holds no reruns of at least two runs each; {redo}")
    return data
