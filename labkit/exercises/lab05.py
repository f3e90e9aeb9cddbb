"""Exercises of labs/lab05-capstone.ipynb: diagnose a stalled dashboard, fix it, meet a target.

Every answer comes from the case-study model (``labkit.casestudy``): the mystery run is drawn
from the exercise's seed, and the worked answer quotes that run's own numbers, layer by layer.
tests/test_exercises_lab05.py checks the keys against what the runs show (each cause's
signature read from the observations, each fix applied and run) and against Little's law, and
that every wrong option and the named wrong pool sizes are rejected for seeds 0-19.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from labkit.casestudy import IncidentParams, IncidentRun, run_incident
from labkit.casestudy.causes import (
    CAUSES,
    HEALTHY,
    TARGET_FPS,
    TARGET_P99_MS,
    meets_targets,
    run_cause,
)
from labkit.exercise import Variant, choice, numeric

_KEYS = list(CAUSES)


def mystery_number(seed: int) -> int:
    """The mystery run's number for an exercise ``seed`` (what the lab draws beside it)."""
    return int(np.random.default_rng(seed).integers(0, 1000))


def _check_number(number: object) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"number must be an int >= 0 (the mystery run's number), got {number!r}")
    return number


def mystery_run(number: int, fixed: bool = False) -> tuple[str, IncidentRun]:
    """Mystery run ``number``: (cause key, run). The cause is ``number % 5``, the seed ``number``.

    The run is kept (the model is deterministic: the same number gives the same run), so the
    lab's cells and its exercises, which each ask for it, run it once; it is a record, not to be
    modified."""
    key = _KEYS[_check_number(number) % len(_KEYS)]
    return key, _cause_run(key, number, bool(fixed))


@functools.lru_cache(maxsize=8)  # ~4 MiB a run
def _cause_run(key: str, number: int, fixed: bool) -> IncidentRun:
    return run_cause(key, seed=number, fixed=fixed)


def evidence(run: IncidentRun) -> str:
    """The five layers of a run in one paragraph (used in worked answers)."""
    m = run.metrics
    return (
        f"p99 {m['p99_ms']:.0f} ms and {m['dashboard_fps']:.1f} fps; goroutines peak "
        f"{m['goroutines_peak']:.0f}; GC {m['gc_cycles_per_s']:.1f} cycles/s with assists "
        f"{100 * m['assist_share']:.0f} % of GC CPU; {m['syscall_ms_per_s']:.0f} ms/s in blocking "
        f"calls; {m['db_timeouts']:.0f} DB timeouts; threads peak {m['threads_peak']:.0f}; CPU "
        f"{100 * m['cpu_share']:.0f} % of GOMAXPROCS={run.params.gomaxprocs}"
    )


def which_cause(rng: np.random.Generator) -> Variant:
    """Name the hidden cause of a mystery run from its five layers."""
    number = int(rng.integers(0, 1000))
    key, run = mystery_run(number)
    cause = CAUSES[key]
    return choice(
        f"Mystery run #{number} stalls the dashboard. Read its five layers, the timeline and "
        "the flame graph above. Which cause is it?",
        [CAUSES[k].title for k in _KEYS],
        _KEYS.index(key),
        f"It is **{cause.title}**. The giveaway: {cause.evidence}. This run: {evidence(run)}.",
        hints={
            i: f"Check the layer that would show it: {CAUSES[k].evidence}."
            for i, k in enumerate(_KEYS)
            if k != key
        },
    )


def fix_runs(number: int) -> dict[str, IncidentRun]:
    """For mystery run ``number``: cause key -> the run with that cause's fix applied.

    Kept like :func:`mystery_run`'s run (the last two numbers asked for): the question and its
    tests read the same five runs."""
    return dict(_fix_runs(_check_number(number)))


@functools.lru_cache(maxsize=2)
def _fix_runs(number: int) -> dict[str, IncidentRun]:
    _, run = mystery_run(number)
    return {k: run_incident(run.params, **dict(c.fix)) for k, c in CAUSES.items()}


def fixes_that_meet_targets(number: int) -> dict[str, bool]:
    """For mystery run ``number``: cause key -> whether that cause's fix, applied to this run,
    meets the capstone's targets (the model runs each one)."""
    return {k: meets_targets(r) for k, r in fix_runs(number).items()}


def which_fix(rng: np.random.Generator) -> Variant:
    """Pick the change that brings a mystery run back within the targets.

    The options are the cause's own fix and the other causes' fixes that the model shows do
    *not* meet the targets on this run; fixes that would also work (the cache takes the DB off the
    request path, so it rescues several causes) are left out of the options and named in the
    worked answer, so exactly one option is right. Each wrong option's hint gives the p99 and
    frame rate it leaves."""
    number = int(rng.integers(0, 1000))
    key, run = mystery_run(number)
    cause = CAUSES[key]
    runs = fix_runs(number)
    fixed = runs[key]
    works = {k: meets_targets(r) for k, r in runs.items()}
    order = [_KEYS[i] for i in rng.permutation(len(_KEYS))]  # not in the cause question's order
    order = [k for k in order if k == key or not works[k]]
    also = [CAUSES[k].fix_text for k in _KEYS if k != key and works[k]]
    also_text = (
        " Also within the targets on this run, so not offered: " + "; ".join(also) + "."
        if also
        else ""
    )
    hints = {
        i: f"On this run that change leaves p99 at {runs[k].metrics['p99_ms']:.0f} ms and the "
        f"dashboard at {runs[k].metrics['dashboard_fps']:.1f} fps: it does not touch what this run "
        "is short of."
        for i, k in enumerate(order)
        if k != key
    }
    return choice(
        f"Mystery run #{number}: which change brings p99 to {TARGET_P99_MS:g} ms or less and the "
        f"dashboard to {TARGET_FPS:g} fps or more?",
        [CAUSES[k].fix_text for k in order],
        order.index(key),
        f"{cause.fix_text[0].upper()}{cause.fix_text[1:]}: p99 {run.metrics['p99_ms']:.0f} -> "
        f"{fixed.metrics['p99_ms']:.0f} ms, dashboard {run.metrics['dashboard_fps']:.1f} -> "
        f"{fixed.metrics['dashboard_fps']:.1f} fps (the model's run, seed {number}).{also_text}",
        hints=hints,
        params={"number": number, "options": tuple(order)},
    )


#: The pool question's run length: long enough that a pool at or beyond its capacity shows its
#: growing queue (in the lab's 2-second runs a pool serving 99 % of the load, or even 110 %,
#: can still show a p99 under 200 ms, because the queue has not had time to grow).
POOL_SECONDS = 10.0


def offered_load(median_ms: float, sigma: float, qps: float) -> float:
    """Connections busy on average (Little's law: arrival rate x mean query time); the mean of
    a lognormal query time is its median x e^(sigma^2 / 2)."""
    return qps * median_ms * math.exp(sigma * sigma / 2.0) / 1000.0


@functools.lru_cache(maxsize=256)
def pool_p99(base: IncidentParams, pool: int) -> float:
    """p99 (ms) of ``base`` run with ``pool`` DB connections. Kept per (params, pool), the number
    only (a 10-second run holds ~20 MiB): every question and check that sizes the same service
    runs each pool once."""
    return float(run_incident(base, db_pool=pool).metrics["p99_ms"])


def smallest_pool(rng: np.random.Generator, largest: int = 16) -> Variant:
    """The fewest DB connections that meet the p99 target without the timeout fix, in a run
    long enough to show a queue that grows.

    A pool of c connections serves c / (mean query time) queries per second; at or below the
    offered load (:func:`offered_load`) its queue grows without end, however a short run looks,
    so the search starts just above it; from there the model's 10-second run decides."""
    median = float(rng.choice([6.0, 8.0, 10.0, 12.0]))
    seed = int(rng.integers(0, 1000))  # drawn second: not the mystery run's number
    base = HEALTHY.replace(db_median_ms=median, seed=seed, seconds=POOL_SECONDS)
    qps = base.clients * 1000.0 / base.poll_ms
    load = offered_load(median, base.db_sigma, qps)
    p99 = {}
    answer = None
    for pool in range(math.floor(load) + 1, largest + 1):
        p99[pool] = pool_p99(base, pool)
        if p99[pool] <= TARGET_P99_MS:
            answer = pool
            break
    if answer is None:
        raise ValueError(f"no pool up to {largest} meets the target; raise largest")
    tried = ", ".join(f"{k}: {v:.0f} ms" for k, v in p99.items())
    mean_ms = median * math.exp(base.db_sigma**2 / 2.0)
    return numeric(
        f"The healthy service with a slower database (DB median {median:g} ms, sigma "
        f"{base.db_sigma:g}, {qps:g} QPS, seed {seed}) and none of the three fixes: what is the "
        f"smallest `db_pool` (SetMaxOpenConns) whose p99 is at most {TARGET_P99_MS:g} ms over "
        f"{POOL_SECONDS:g} s? Check with `run_incident(HEALTHY, db_median_ms={median:g}, "
        f"seed={seed}, seconds={POOL_SECONDS:g}, db_pool=...)` (the lab's widget runs 2 s, too "
        "short for a pool at its limit to show its queue).",
        answer,
        f"The mean query is {median:g} x e^{base.db_sigma**2 / 2:g} = {mean_ms:.1f} ms, so "
        f"{qps:g} queries/s keep {load:.2f} connections busy on average (Little's law): a pool "
        f"of {math.floor(load)} or fewer falls behind for good. Above that, the model's "
        f"{POOL_SECONDS:g}-second run gives p99 by pool size: {tried}. A pool just above the "
        "load still queues: the lognormal tail's slow queries hold connections while polls "
        "keep arriving.",
        abs_tol=0.0,
        rel_tol=0.0,
        hint="Each connection serves 1 / (mean query time) queries per second; the mean of a "
        "lognormal with sigma 1 is median x e^0.5, and a pool just above the load still queues.",
        params={
            "median_ms": median,
            "sigma": base.db_sigma,
            "qps": qps,
            "seed": seed,
            "seconds": POOL_SECONDS,
            "p99_by_pool": p99,
        },
    )
