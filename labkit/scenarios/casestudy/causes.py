"""The capstone's hidden causes: five ways the same dashboard can stall, each with its fix.

Each cause is a set of parameter changes from a *healthy* service (enough DB connections, a
modest payload, the pure-Go driver, GOMAXPROCS=4, no hot loop) and the change that fixes it. The
lab draws a cause from a seed; the learner reads the five layers, the timeline, the flame graph
and the GC view, names the cause, then applies a fix and meets a latency and frame-rate target.

Every cause is *causal*: its ``culprit``, the parameter its title blames, turned back to the
healthy value alone, restores the targets, and so does its fix alone; and the cause alone breaks
the p99 target. tests/test_casestudy_causes.py checks all three for several seeds, and that each
cause shows its own signature in the layer the chapter says.

The cgo cause is built on what a cgo driver really changes in Go. Each query in flight is one
blocking C call that holds its thread (cgocall -> entersyscall, src/runtime/cgocall.go:167;
sysmon's retake hands the P to another thread, src/runtime/proc.go:6681), so the thread count
climbs with the queries in flight; but threads blocked in C use no CPU and no P, so the count
is a *symptom*, not what makes requests slow: the same slow queries through the pure-Go driver
are as slow, each parked on the netpoller instead. Nor does Go's thread limit add latency: past
10,000 threads (sched.maxmcount, proc.go:876) checkmcount throws "thread exhaustion" and the
process dies (proc.go:990). What a cgo driver does take away is cancellation: nothing in Go can
interrupt a C call, so the service's context.WithTimeout stops bounding its queries
(plan.py's module docstring). The cause is therefore a service that relies on a query timeout
(db_timeout on, a database with a slow tail) behind a cgo driver: with the pure-Go driver alone
the timeout works again and p99 meets the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.scenarios.casestudy.params import IncidentParams
from labkit.scenarios.casestudy.run import IncidentRun, run_incident

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
    culprit: tuple[str, ...]  # the changed parameters the title blames
    #: The culprit counts as removed only at the healthy service's value or beyond it, not
    #: merely moved: a shorter loop is still a loop in the handler, a smaller huge payload still
    #: huge. (Otherwise any value but the broken one removes it: 3 connections instead of 2.)
    whole: bool = False
    #: Why the fix works, for the answer's explanation: ``fix_text`` is also a choice beside
    #: the other causes' fixes, so it must not describe this cause's service.
    fix_why: str = ""

    def __post_init__(self) -> None:
        changed = dict(self.changes)
        if not self.culprit or not set(self.culprit) <= set(changed):
            raise ValueError(f"cause {self.key}: culprit {self.culprit} must name its changes")

    def params(self, seed: int = 0) -> IncidentParams:
        return HEALTHY.replace(seed=seed, **dict(self.changes))

    def fixed_params(self, seed: int = 0) -> IncidentParams:
        return self.params(seed).replace(**dict(self.fix))

    def without_culprit(self, seed: int = 0) -> IncidentParams:
        """The cause with only its culprit turned back to the healthy service's value."""
        healthy = {name: getattr(HEALTHY, name) for name in self.culprit}
        return self.params(seed).replace(**healthy)


CAUSES: dict[str, Cause] = {
    c.key: c
    for c in [
        Cause(
            "slow_db",
            "slow database, too few connections",
            (("db_pool", 2), ("db_median_ms", 10.0)),
            (("db_pool", 8),),
            "give the pool the connections its load needs (db_pool=8, the healthy service's)",
            "goroutines pile up parked in fetchFromDB (the dump shows [select] in "
            "database/sql.(*DB).conn: waiting for a connection); CPU, GC and threads look fine",
            ("db_pool",),
            fix_why="by Little's law 200 polls a second of queries averaging 16.5 ms (a median "
            "of 10 with sigma 1) keep 3.3 connections busy, so two never keep up. A timeout with "
            "a fallback (db_timeout) meets the targets around the cause, answering many polls "
            "with old data",
        ),
        Cause(
            "huge_payload",
            "huge JSON payload: decoding, marshalling and the GC they drive fill the CPUs",
            (("payload_kb", 1152.0), ("bandwidth_mbit_s", 1000.0), ("live_mb", 8.0)),
            (("cache_json", True),),
            "fetch and marshal once per refresh in a background goroutine, serve the cached bytes "
            "(cache_json)",
            "GC layer: tens of cycles per second (the healthy service runs about 3), writes of "
            "a MiB or more, CPU near 100 % of every P; the flame graph shows encoding/json and "
            "database/sql.(*Rows).Scan with gcAssistAlloc on top",
            ("payload_kb",),
            whole=True,
        ),
        Cause(
            "cgo_driver",
            "a cgo database driver: the query timeout cannot cut its blocking C call short",
            (("db_driver", "cgo"), ("db_pool", 64), ("db_median_ms", 40.0), ("db_timeout", True)),
            (("db_driver", "network"),),
            "switch to the pure-Go driver, whose queries the context's deadline cancels "
            "(db_driver='network')",
            "the DB timeouts fire, yet p99 is several times the timeout: each cgo query runs to "
            "its end, holding a thread, so the kernel-thread layer climbs with the queries in "
            "flight and the dump shows handlers [syscall] in the driver's C call",
            ("db_driver",),
        ),
        Cause(
            "few_procs",
            "GOMAXPROCS=1: handlers and the render loop share one P",
            # One P, and a load that needs more than one CPU: 36 dashboards (the healthy service
            # has 20). Load is not a service setting (lab 5 refuses a change to it), so GOMAXPROCS
            # is the one cause here; a bigger payload instead would make it two (a 128 KiB
            # payload alone met the targets then, and the huge-payload choice fit the evidence).
            (("gomaxprocs", 1), ("clients", 36)),
            (("gomaxprocs", 4),),
            "give the process its CPUs back (GOMAXPROCS=4)",
            "the timeline has one row, always busy; frames miss their 16.7 ms slot",
            ("gomaxprocs",),
        ),
        Cause(
            "hot_loop",
            "a loop without function calls in the handler",
            (("hot_loop_ms", 17.0),),
            (("hot_loop_ms", 0.0),),
            "take the loop out of the request path (or precompute its result)",
            "the flame graph is dominated by main.downsample; CPU near 100 %, preemptions",
            ("hot_loop_ms",),
            whole=True,
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
