"""Chapter 5b's prediction: one fix alone on the real service, before its run is shown.

The key is the course's recorded runs of the real dashboard (labkit/golab/services/recorded:
the no-fix run and the run with that fix, scripts/record_services.py), not a live run: a live
p99 moves from run to run, and an answer must not. Only the cache and the timeout are asked:
their effect is larger than the spread of reruns; streaming's is not (chapter 5b, section 5).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises.seeded import Variant, choice
from labkit.golab.services import ServiceRun, recorded_run

FIXES = {
    "cache_json": "cache the JSON (a refresher goroutine queries and encodes the dashboards, "
    "then sleeps 100 ms)",
    "db_timeout": "context.WithTimeout(ctx, 50 ms) on the query, the last good answer after it",
}
#: p99 below this is "the database is off the request path": what is left is the handler, the
#: write of ~70 KB on loopback and sharing two cores with the frame loop and the GC (the recorded
#: cache run: p50 1 ms, p99 4 ms).
FAST_MS = 20.0
#: p99 above this share of the no-fix p99 is "about the same".
SAME_SHARE = 0.75
BANDS = (
    f"under {FAST_MS:g} ms",
    f"lower, but above {FAST_MS:g} ms",
    f"about the same as without the fix (over {SAME_SHARE:.0%} of it)",
)


def band(p99_ms: float, before_ms: float) -> int:
    """Which of BANDS a p99 falls in, given the no-fix p99."""
    if p99_ms < FAST_MS:
        return 0
    return 1 if p99_ms < SAME_SHARE * before_ms else 2


def _p99(run: ServiceRun) -> float:
    return float(np.quantile(run.records[:, 1], 0.99, method="higher"))  # type: ignore[index]


def _figure(before: ServiceRun, after: ServiceRun, fix: str) -> Callable[[], object]:
    def figure():
        from labkit.golab.services.compare import incident_params
        from labkit.scenarios.casestudy import run_incident
        from labkit.widgets import LatencyPercentiles

        runs = []
        for label, run in (("no fix", before), (fix, after)):
            model = run_incident(incident_params(run))
            runs.append((f"{label}, real", run.records[:, 1], False))  # type: ignore[index]
            runs.append((f"{label}, model", model.latency_ms, True))
        return LatencyPercentiles(runs, pairs=True, title="The recorded runs, and the model's")

    return figure


_WAITED = (
    "What did the requests wait for: a CPU, the GC, or one of two database connections? Does "
    "this fix take that wait away, or bound it?"
)
#: Hints for a wrong band, by (fix, the band chosen): what the fix does to the wait.
_HINTS = {
    ("cache_json", 1): "With the cache no request queries the database: with that wait gone, "
    "what is left in a request's time?",
    ("db_timeout", 0): "The timeout lets a request wait up to 50 ms for its database connection "
    "and query before it answers from the last good result: can the slowest 1 % finish under "
    f"{FAST_MS:g} ms?",
    ("db_timeout", 2): "The requests waited for one of two database connections; the timeout "
    "cuts that wait at 50 ms: do the slowest requests still wait as long as before?",
}


def real_fix_p99(rng: np.random.Generator) -> Variant:
    """The real service's p99 with one fix alone, from the course's recordings."""
    fix = list(FIXES)[int(rng.integers(len(FIXES)))]
    before, after = recorded_run("dashboard"), recorded_run("dashboard", **{fix: True})
    was, p99 = _p99(before), _p99(after)
    right = band(p99, was)
    why = {
        "cache_json": "no request queries the database any more; a handler copies bytes "
        "made in the background, so what is left is the handler, the write and sharing two "
        "cores with the frame loop and the GC: a few ms",
        "db_timeout": "a request waits at most 50 ms for its connection and query, then "
        "answers with that dashboard's last good body (kept in an LRU): the wait is capped, "
        "the queue is not gone",
    }[fix]
    return choice(
        f"The real dashboard (40 requests/s, a pool of 2, SQLite) had a p99 of {was:.0f} ms in "
        f"the course's recorded run. Apply one fix alone: {FIXES[fix]}. Its p99?",
        list(BANDS),
        right,
        f"The recorded runs: p99 {was:.0f} -> {p99:.0f} ms, {after.figures()['fallbacks']} "
        f"fallbacks: {why}.",
        hints={i: _HINTS.get((fix, i), _WAITED) for i in range(len(BANDS)) if i != right},
        params={"variant": fix, "fix": fix, "p99_ms": p99, "before_p99_ms": was},
        figure=_figure(before, after, fix),
        predict=True,
        shows="a plot of the recorded runs' latency percentiles (real and model)",
    )
