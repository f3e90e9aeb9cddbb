"""The capstone's hidden causes: five ways the same dashboard can stall, each with its fix.

Each cause is a set of parameter changes from a *healthy* service (enough DB connections, a
modest payload, the pure-Go driver, GOMAXPROCS=4, no hot loop) and the change that fixes it. The
lab draws a cause from a seed; the learner reads the five layers, the timeline, the flame graph
and the GC view, names the cause, then applies a fix and meets a latency and frame-rate target.
tests/test_casestudy_causes.py checks that every cause breaks a target its fix restores, and
that each cause shows its own signature in the layer the chapter says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.casestudy.params import IncidentParams, make_params
from labkit.casestudy.run import IncidentRun, run_incident

#: The healthy service the causes are applied to.
HEALTHY = IncidentParams(db_pool=8)

#: The capstone's targets: a p99 a dashboard tolerates (two poll periods) and a frame rate.
TARGET_P99_MS = 200.0
TARGET_FPS = 55.0


@dataclass(frozen=True)
class Cause:
    """A hidden cause: what changes, where it shows, and what fixes it."""

    key: str
    title: str
    changes: tuple[tuple[str, Any], ...]
    fix: tuple[tuple[str, Any], ...]
    fix_text: str
    evidence: str  # the layer and signal that gives it away

    def params(self, seed: int = 0) -> IncidentParams:
        return make_params(HEALTHY, seed=seed, **dict(self.changes))

    def fixed_params(self, seed: int = 0) -> IncidentParams:
        return make_params(self.params(seed), **dict(self.fix))


CAUSES: dict[str, Cause] = {
    c.key: c
    for c in [
        Cause(
            "slow_db",
            "slow database, too few connections",
            (("db_pool", 2), ("db_median_ms", 10.0)),
            (("db_timeout", True),),
            "bound the query with context.WithTimeout and fall back to the cache (db_timeout)",
            "goroutines pile up parked in fetchFromDB (the dump shows [select] in "
            "database/sql.(*DB).conn: waiting for a connection); CPU, GC and threads look fine",
        ),
        Cause(
            "huge_payload",
            "huge JSON payload: allocation drives the GC and its assists",
            (("payload_kb", 1024.0), ("bandwidth_mbit_s", 1000.0), ("live_mb", 8.0)),
            (("cache_json", True),),
            "fetch and marshal once per refresh in a background goroutine, serve the cached bytes "
            "(cache_json)",
            "GC layer: many cycles per second, a large share paid as mark assists; the flame "
            "graph shows encoding/json and database/sql.(*Rows).Scan with gcAssistAlloc on top",
        ),
        Cause(
            "cgo_driver",
            "a cgo database driver: every query blocks a thread",
            (("db_driver", "cgo"), ("db_pool", 64), ("db_median_ms", 40.0)),
            (("db_driver", "network"), ("db_timeout", True)),
            "use the pure-Go driver and bound the query (db_driver='network', db_timeout)",
            "kernel-thread layer: the thread count climbs with concurrent queries (each cgo call "
            "holds an M; sysmon hands its P to a new one)",
        ),
        Cause(
            "few_procs",
            "GOMAXPROCS=1: handlers and the render loop share one P",
            (("gomaxprocs", 1), ("payload_kb", 256.0)),
            (("gomaxprocs", 4),),
            "give the process its CPUs back (GOMAXPROCS=4)",
            "the timeline has one row, always busy; frames miss their 16.7 ms slot",
        ),
        Cause(
            "hot_loop",
            "a loop without function calls in the handler",
            (("hot_loop_ms", 15.0),),
            (("hot_loop_ms", 0.0),),
            "take the loop out of the request path (or precompute its result)",
            "the flame graph is dominated by main.downsample; CPU near 100 %, preemptions",
        ),
    ]
}


def run_cause(key: str, seed: int = 0, fixed: bool = False) -> IncidentRun:
    """Run cause ``key`` (one of CAUSES) with ``seed``, before or after its fix."""
    if key not in CAUSES:
        raise ValueError(f"cause must be one of {list(CAUSES)}, got {key!r}")
    c = CAUSES[key]
    return run_incident(c.fixed_params(seed) if fixed else c.params(seed))


def meets_targets(run: IncidentRun) -> bool:
    """p99 at most TARGET_P99_MS and the dashboard at TARGET_FPS or better."""
    m = run.metrics
    return m["p99_ms"] <= TARGET_P99_MS and m["dashboard_fps"] >= TARGET_FPS
