"""Chapter 5's prediction: one of the article's three fixes alone, before the lab shows it.

Asked before the chapter's incident lab (issue #17: predict, then see). The key is the case
study's own run of the incident with that fix, the run the exercise then draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labkit.exercises.seeded import Variant, choice
from labkit.scenarios.casestudy import IncidentParams, run_incident

FIX_TITLES = {
    "cache_json": "cache the JSON (a refresher goroutine marshals once per poll period)",
    "stream": "stream the response (encode and write the rows in batches, no body-sized []byte)",
    "db_timeout": "bound the query with context.WithTimeout and answer with the last good result",
}
BANDS = ("under 100 ms: the dashboards are fed", "roughly halved", "about the same: hundreds of ms")


def _incident_lab(fix: str) -> Callable[[], object]:
    def figure():
        from labkit.widgets import IncidentLab

        return IncidentLab(**{fix: True})

    return figure


def one_fix_p99(rng: np.random.Generator) -> Variant:
    """The incident's p99 with one fix alone. The fix follows the seed round the three, so
    *New variant* (the next seed) always asks about another."""
    fix = list(FIX_TITLES)[int(rng.bit_generator.seed_seq.entropy) % len(FIX_TITLES)]
    base = run_incident(IncidentParams())
    after = run_incident(IncidentParams(), **{fix: True})
    p99, was = after.metrics["p99_ms"], base.metrics["p99_ms"]
    right = 0 if p99 < 100 else 1 if p99 < 0.7 * was else 2
    why = {
        "cache_json": "the handler no longer queries at all: one refresher query per poll "
        "period instead of 200 a second, so the two connections are never the queue",
        "stream": "streaming overlaps encoding with sending, but every poll still waits for "
        "one of two connections: the queue in front of the pool is untouched",
        "db_timeout": "the deadline counts from the call, so it bounds the wait for a "
        "connection as well as the query: it works mostly by shedding load, as polls that "
        "waited too long give up (database/sql drops a waiter whose context ends) and, with "
        "the pure-Go driver, a query still running at the deadline is cut off and its "
        "connection freed at once; the wait is bounded at 50 ms instead of growing, and each "
        "cut poll answers with the last good result",
    }[fix]
    return choice(
        f"Chapter 5's incident has a p99 of {was:.0f} ms. Apply one fix alone: {FIX_TITLES[fix]}. "
        "What happens to p99?",
        list(BANDS),
        right,
        f"The model: p99 {was:.0f} -> {p99:.0f} ms, dashboard "
        f"{base.metrics['dashboard_fps']:.1f} -> {after.metrics['dashboard_fps']:.1f} fps: {why}.",
        hints={
            i: "Which layer held the requests: CPU, GC, or the two database connections? "
            "Does this fix change that layer?"
            for i in range(len(BANDS))
            if i != right
        },
        params={"fix": fix, "p99_ms": p99},
        figure=_incident_lab(fix),
        predict=True,
    )
