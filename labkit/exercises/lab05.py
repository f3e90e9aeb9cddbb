"""Exercises of labs/lab05-capstone.ipynb: diagnose a stalled dashboard, fix it, meet a target.

Every answer comes from the case-study model (``labkit.scenarios.casestudy``): the mystery run is drawn
from the exercise's seed, and the worked answer quotes that run's own numbers, layer by layer.
tests/test_exercises_lab05.py checks the keys against what the runs show (each cause's
signature read from the observations, each fix applied and run) and against Little's law, and
that every wrong option and the named wrong pool sizes are rejected for seeds 0-19.

Eight exercises, five of them predictions (issue #17): the four warm-up questions
(timeout_and_driver, threads_in_flight, one_p_frames, gogc_on_payload) each change one thing on a
named service, not the mystery, and after Check draw the incident lab at the question's settings;
smallest_pool draws the model's p99 by pool size. With which_cause, which_fix and the graded
change (:meth:`Mystery.try_changes`) that makes eight.

Real mode (#23 item 5, the lab's section 7): the cause hides in the real dashboard
(labkit.golab.services.capstone: three of the five causes, each measured causal there; the two
the real service cannot have are left out, with the measurements). :class:`RealMystery` gives
the evidence of the hidden service, live or its recording, and no setting;
real_which_cause (the stall doctor reads the recorded trace after Check) and real_which_fix ask
about it, answered from the recordings; :func:`grade_real_changes` grades a change by the same
rules on a live run of the service or on the recorded run of that change.
tests/test_capstone_real.py and tests/test_capstone_real_live.py check them.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import ParameterError
from labkit.exercises.seeded import Variant, choice, numeric
from labkit.golab.errors import GolabWarning
from labkit.golab.services import (
    CollectParams,
    DashboardParams,
    RecordingError,
    ServiceRun,
    ServicesMissingError,
    run_service,
)
from labkit.golab.services import capstone as real
from labkit.golab.services.prometheus import Series
from labkit.models.gcpacer import format_gctrace
from labkit.profiles import Profile
from labkit.scenarios.casestudy import IncidentParams, IncidentRun, run_incident
from labkit.scenarios.casestudy.causes import (
    CAUSES,
    HEALTHY,
    TARGET_FPS,
    TARGET_P99_MS,
    meets_targets,
    run_cause,
)
from labkit.scenarios.casestudy.diagnosis import DiagnosisTable
from labkit.scenarios.casestudy.params import DECODE_US_PER_KB, MARSHAL_US_PER_KB
from labkit.traces import Trace

_KEYS = list(CAUSES)


def mystery_number(seed: int) -> int:
    """The mystery run's number for an exercise ``seed`` (what the lab draws beside it)."""
    return int(np.random.default_rng(seed).integers(0, 1000))


def _check_number(number: object) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ParameterError(
            f"number must be an int >= 0 (the mystery run's number), got {number!r}"
        )
    return number


def _cause_key(number: int) -> str:
    """The cause hidden in run ``number``: drawn from the number by a hash, so that no rule a
    learner could spot (such as ``number % 5``) gives it away."""
    digest = hashlib.sha256(f"capstone mystery {number}".encode()).digest()
    return _KEYS[digest[0] % len(_KEYS)]


def _mystery_run(number: int, fixed: bool = False) -> tuple[str, IncidentRun]:
    """Mystery run ``number``: (cause key, run), seed ``number``. For the exercises and tests:
    the notebook holds a :class:`Mystery`, which shows the evidence and not this.

    The run is kept (the model is deterministic: the same number gives the same run), so the
    lab's cells and its exercises, which each ask for it, run it once; it is a record, not to be
    modified."""
    key = _cause_key(_check_number(number))
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
    key, run = _mystery_run(number)
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


def _fix_runs_of(number: int) -> dict[str, IncidentRun]:
    """For mystery run ``number``: cause key -> the run with that cause's fix applied.

    Kept like :func:`_mystery_run`'s run (the last two numbers asked for): the question and its
    tests read the same five runs."""
    return dict(_fix_runs(_check_number(number)))


@functools.lru_cache(maxsize=2)
def _fix_runs(number: int) -> dict[str, IncidentRun]:
    _, run = _mystery_run(number)
    return {k: run_incident(run.params, **dict(c.fix)) for k, c in CAUSES.items()}


def _fixes_that_meet_targets(number: int) -> dict[str, bool]:
    """For mystery run ``number``: cause key -> whether that cause's fix, applied to this run,
    meets the capstone's targets (the model runs each one)."""
    return {k: meets_targets(r) for k, r in _fix_runs_of(number).items()}


def which_fix(rng: np.random.Generator) -> Variant:
    """Pick the change that brings a mystery run back within the targets.

    The options are the cause's own fix and the other causes' fixes that the model shows do
    *not* meet the targets on this run; fixes that would also work (the cache takes the DB off the
    request path, so it rescues several causes) are left out of the options and named in the
    worked answer, so exactly one option is right. Each wrong option's hint gives the p99 and
    frame rate it leaves."""
    number = int(rng.integers(0, 1000))
    key, run = _mystery_run(number)
    cause = CAUSES[key]
    runs = _fix_runs_of(number)
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
        f"{cause.fix_text[0].upper()}{cause.fix_text[1:]}"
        + (f" ({cause.fix_why})" if cause.fix_why else "")
        + f": p99 {run.metrics['p99_ms']:.0f} -> "
        f"{fixed.metrics['p99_ms']:.0f} ms, dashboard {run.metrics['dashboard_fps']:.1f} -> "
        f"{fixed.metrics['dashboard_fps']:.1f} fps (the model's run, seed {number}).{also_text}",
        hints=hints,
        params={"number": number, "options": tuple(order)},
    )


# ---------------------------------------------------------------- the mystery the lab shows

#: Changes that leave the service as it was: they change the load, the observation, the dice,
#: or someone else's system. An incident is fixed in the service; each gets its reason.
NOT_THE_SERVICE = {
    "clients": "fewer dashboards is less load, not a faster service",
    "poll_ms": "slower polling is less load, not a faster service",
    "jitter_ms": "the dashboards' timing is the load, not the service",
    "seconds": "watching for a different time changes the measurement, not the service",
    "seed": "another seed is another roll of the dice, not a fix",
    "db_median_ms": "the database's speed belongs to the database, not to this service",
    "db_sigma": "the database's tail belongs to the database, not to this service",
    "bandwidth_mbit_s": "the network's bandwidth is not this service's to change",
}


@dataclass(frozen=True)
class Verdict:
    """How :meth:`Mystery.try_changes` grades a set of changes: ``accepted`` only when the
    changes touch the service, meet both targets, and remove the hidden cause; a change that
    meets the targets while the cause stays (a cache in front of everything) is accepted with
    ``note`` saying what it hides."""

    accepted: bool
    message: str
    observed: str = ""
    note: str = ""

    def __str__(self) -> str:
        parts = [self.observed, self.message, self.note]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class Revealed:
    """What the Reveal shows: the cause, its fix and the hidden service's settings."""

    number: int
    cause: str
    fix: str
    params: IncidentParams

    def __str__(self) -> str:
        changed = {
            f.name: getattr(self.params, f.name)
            for f in dataclasses.fields(self.params)
            if getattr(self.params, f.name) != getattr(HEALTHY, f.name) and f.name != "seed"
        }
        settings = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return (
            f"mystery run #{self.number}\ncause: {self.cause}\nits fix: {self.fix}\n"
            f"settings that differ from the healthy service: {settings}"
        )


class Mystery:
    """The capstone's hidden service: the evidence an on-call engineer would have, and a way to
    try changes on it, with neither its cause nor its settings in any public name.

    It keeps only the run's ``number``; each method asks the kept run for what a tool would
    show (its metrics line, goroutine states, scheduler timeline, CPU profile, goroutine dump,
    GC trace). Python hides nothing from a determined reader (``lab05._mystery_run`` is one
    call away); what this guards against is the answer sitting in the notebook's variables."""

    __slots__ = ("number",)

    def __init__(self, seed: int) -> None:
        self.number = mystery_number(seed)

    def __repr__(self) -> str:
        return f"Mystery(run #{self.number}: hidden until reveal())"

    def _run(self) -> IncidentRun:
        return _mystery_run(self.number)[1]

    def observed(self) -> str:
        return self._run().observed()

    def diagnosis(self, healthy: IncidentRun) -> DiagnosisTable:
        return DiagnosisTable(healthy, self._run(), before_label="healthy", after_label="mystery")

    def state_view(self):
        return self._run().state_view()

    def scheduler_run(self):
        """The run's scheduler record, for the timeline (what an execution trace would show)."""
        return self._run().result

    def cpu_profile(self):
        return self._run().cpu_profile()

    def goroutine_dump(self, at_ms: float) -> str:
        return self._run().goroutine_dump(at_ms)

    def gctrace(self, cycles: int = 5) -> str:
        return format_gctrace(self._run().plan.cycles[:cycles]) or "no GC cycle in this run"

    def try_changes(self, changes: dict[str, Any]) -> Verdict:
        """Apply ``changes`` (IncidentParams names) to the hidden service and grade them."""
        return grade_changes(self.number, changes)

    def reveal(self) -> Revealed:
        key, run = _mystery_run(self.number)
        return Revealed(self.number, CAUSES[key].title, CAUSES[key].fix_text, run.params)


def removes_cause(key: str, changes: dict[str, Any]) -> bool:
    """Whether ``changes`` take cause ``key`` out of the service: its fix applied whole, or
    every parameter its title blames moved off the value that broke the service."""
    return _removes(CAUSES[key], changes)


def grade_changes(number: int, changes: dict[str, Any]) -> Verdict:
    """The capstone's Check: load, measurement and other systems' changes are refused with the
    reason; the rest run on the hidden service; accepted when both targets are met *and* the
    cause is removed, with a note when the targets are met with the cause still there."""
    if not isinstance(changes, dict) or not changes:
        return Verdict(False, "Give the changes you would ship as a dict, e.g. {'gogc': 200}.")
    refused = [f"{k}: {NOT_THE_SERVICE[k]}" for k in changes if k in NOT_THE_SERVICE]
    if refused:
        return Verdict(False, "Not a fix of the service: " + "; ".join(refused) + ".")
    key, run = _mystery_run(number)
    after = run_incident(run.params, **changes)
    m = after.metrics
    targets = f"p99 {m['p99_ms']:.0f} ms (target <= {TARGET_P99_MS:g}), dashboard "
    targets += f"{m['dashboard_fps']:.1f} fps (target >= {TARGET_FPS:g})"
    if not meets_targets(after):
        return Verdict(False, f"Misses the targets: {targets}.", after.observed())
    if removes_cause(key, changes):
        return Verdict(True, f"Accepted: the cause is gone and {targets}.", after.observed())
    return Verdict(
        True,
        f"Accepted with a note: {targets}.",
        after.observed(),
        "Note: the cause is still in the service. Your change meets the targets around it "
        "(a cache, more CPUs or a timeout can absorb several causes), so the next change in "
        "load or data brings the stall back. Reveal, then find the change that removes it.",
    )


#: The pool question's run length: long enough that a pool at or beyond its capacity shows its
#: growing queue (in the lab's 2-second runs a pool serving 99 % of the load, or even 110 %,
#: can still show a p99 under 200 ms now and then, because the queue has not had time to grow).
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


#: Runs of the same service (seeds 0 .. POOL_SEEDS - 1) whose most common smallest pool the
#: question's own run must give: in a 10-second run a pool's p99 still moves with the seed (at
#: a median of 10 ms, 4 connections give 156 ms on one seed and 251 on another), and a key that
#: one run's luck decides is not one a learner can predict from the load.
POOL_SEEDS = 5


def _smallest_pool_of(base: IncidentParams, largest: int) -> tuple[int | None, dict[int, float]]:
    """The fewest connections, from just above the offered load up, whose p99 meets the target
    in ``base``'s run, and the p99 of each pool tried (None if none up to ``largest`` does)."""
    qps = base.clients * 1000.0 / base.poll_ms
    load = offered_load(base.db_median_ms, base.db_sigma, qps)
    p99 = {}
    for pool in range(math.floor(load) + 1, largest + 1):
        p99[pool] = pool_p99(base, pool)
        if p99[pool] <= TARGET_P99_MS:
            return pool, p99
    return None, p99


@functools.lru_cache(maxsize=16)
def typical_smallest_pool(median_ms: float, largest: int = 16) -> int | None:
    """The smallest pool most of POOL_SEEDS runs of the service at ``median_ms`` give (the
    smaller on a tie)."""
    got = [
        _smallest_pool_of(
            HEALTHY.replace(db_median_ms=median_ms, seed=s, seconds=POOL_SECONDS), largest
        )[0]
        for s in range(POOL_SEEDS)
    ]
    counts = collections.Counter(got)
    return max(sorted(counts, key=lambda k: (k is None, k)), key=counts.__getitem__)


def smallest_pool(rng: np.random.Generator, largest: int = 16) -> Variant:
    """The fewest DB connections that meet the p99 target without the timeout fix, in a run
    long enough to show a queue that grows.

    A pool of c connections serves c / (mean query time) queries per second; at or below the
    offered load (:func:`offered_load`) its queue grows without end, however a short run looks,
    so the search starts just above it; from there the model's 10-second run decides. A drawn
    run whose smallest pool is not the one most runs of that service give
    (:func:`typical_smallest_pool`) is drawn again."""
    for _ in range(50):
        median = float(rng.choice([6.0, 8.0, 10.0, 12.0]))
        seed = int(rng.integers(0, 1000))  # drawn second: not the mystery run's number
        base = HEALTHY.replace(db_median_ms=median, seed=seed, seconds=POOL_SECONDS)
        answer, p99 = _smallest_pool_of(base, largest)
        if answer is not None and answer == typical_smallest_pool(median, largest):
            break
    if answer is None:
        raise ValueError(f"no pool up to {largest} meets the target; raise largest")
    qps = base.clients * 1000.0 / base.poll_ms
    load = offered_load(median, base.db_sigma, qps)
    tried = ", ".join(f"{k}: {v:.0f} ms" for k, v in p99.items())
    mean_ms = median * math.exp(base.db_sigma**2 / 2.0)
    return numeric(
        f"The healthy service with a slower database (DB median {median:g} ms, sigma "
        f"{base.db_sigma:g}, {qps:g} QPS, seed {seed}) and none of chapter 5's three fixes "
        "(cache_json, stream, db_timeout): what is the smallest "
        f"`db_pool` (SetMaxOpenConns) whose p99 is at most {TARGET_P99_MS:g} ms over "
        f"{POOL_SECONDS:g} s? Predict, then check: the model's p99 for each pool size from the "
        "load up is drawn (a 10-second run: the lab's widget runs 2 s, too short for a pool at "
        "its limit to show its queue).",
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
        "lognormal with sigma 1 is median x e^0.5, and a pool just above the load still queues: "
        "a handler waits in database/sql's (*DB).conn for a free connection (a select on the "
        "request channel, parked like any channel wait).",
        params={
            "median_ms": median,
            "sigma": base.db_sigma,
            "qps": qps,
            "seed": seed,
            "seconds": POOL_SECONDS,
            "p99_by_pool": p99,
        },
        figure=_pool_figure(p99, load),
        predict=True,
    )


def _pool_figure(p99_by_pool: dict[int, float], load: float) -> Callable[[], object]:
    """A prediction's figure: the model's p99 against the pool size, with the target."""

    def figure():
        import bqplot as bq
        import ipywidgets as widgets

        from labkit.widgets import Panel
        from labkit.widgets._style import OKABE_ITO, legend_html

        pools = sorted(p99_by_pool)
        ys = [p99_by_pool[k] for k in pools]
        sx, sy = bq.LinearScale(min=float(math.floor(load)), max=pools[-1] + 1.0), bq.LogScale()
        blue, red = OKABE_ITO[0], OKABE_ITO[5]
        scales = {"x": sx, "y": sy}
        span = [float(math.floor(load)), pools[-1] + 1.0]
        fig = bq.Figure(
            marks=[
                bq.Lines(x=pools, y=ys, colors=[blue], marker="circle", scales=scales),
                bq.Lines(
                    x=span, y=[TARGET_P99_MS] * 2, colors=[red], line_style="dashed", scales=scales
                ),
            ],
            axes=[
                bq.Axis(scale=sx, label="db_pool (connections)", tick_format="d"),
                bq.Axis(scale=sy, orientation="vertical", label="p99 (ms)"),
            ],
            title=f"p99 by pool size, {POOL_SECONDS:g} s runs (load {load:.2f} connections)",
            layout=widgets.Layout(width="100%", height="260px"),
        )
        legend = widgets.HTML(
            legend_html([("the model's p99", blue), (f"target {TARGET_P99_MS:g} ms", red)])
        )
        runs = ", ".join(f"{k}: {v:.0f} ms" for k, v in zip(pools, ys, strict=True))
        return Panel([fig, legend], summary=f"figure: p99 by db_pool ({runs})")

    return figure


# ------------------------------------------------ predictions: what each mechanism does
#
# Each question changes one thing on a named service (not the mystery: its run is drawn from
# the exercise's own seed), asks for a prediction, and after Check draws the incident lab at the
# question's settings, so the learner sees the run that confirms or refutes it. The key is that
# run's metric, put in a band; a question whose run lands within a tenth of a band's edge is
# drawn again, so a run's noise cannot decide it.


def _incident_lab(params: IncidentParams) -> Callable[[], object]:
    """A prediction's figure: the incident lab at the question's settings, built when shown."""

    def figure():
        from labkit.widgets import IncidentLab

        return IncidentLab(params)

    return figure


def band(value: float, edges: tuple[float, ...]) -> int:
    """The index of the band ``value`` falls in: 0 below ``edges[0]``, 1 up to ``edges[1]`` ..."""
    return next((i for i, edge in enumerate(edges) if value < edge), len(edges))


def _near_edge(value: float, edges: tuple[float, ...], margin: float = 0.1) -> bool:
    return any(abs(value - edge) <= margin * edge for edge in edges)


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _wrong_hints(hint: str, count: int, right: int) -> dict[int, str]:
    """The same hint (naming the mechanism) for each of ``count`` choices but the ``right`` one."""
    return {i: hint for i in range(count) if i != right}


DRIVERS = {
    "network": "the pure-Go driver (its reads park on the netpoller)",
    "cgo": "a cgo driver (each query is one blocking C call, which the driver does not "
    "interrupt when the context ends)",
}


def timeout_and_driver(rng: np.random.Generator) -> Variant:
    """p99 of a service whose queries are bounded by context.WithTimeout, per driver."""
    for _ in range(100):
        driver = str(_pick(rng, tuple(DRIVERS)))
        timeout = float(_pick(rng, (20.0, 30.0, 50.0)))
        median = float(_pick(rng, (30.0, 40.0, 60.0)))
        seed = int(rng.integers(0, 1000))
        params = (
            CAUSES["cgo_driver"]
            .params(seed)
            .replace(db_driver=driver, timeout_ms=timeout, db_median_ms=median)
        )
        m = run_incident(params).metrics
        edges = (timeout, 2 * timeout)
        if not _near_edge(m["p99_ms"], edges):
            break
    right = band(m["p99_ms"], edges)
    t = f"{timeout:g}"
    return choice(
        f"A service bounds every query with `context.WithTimeout` ({t} ms) and serves its "
        f"cached JSON when the deadline passes. Its database is slow in the tail (median "
        f"{median:g} ms, lognormal sigma 1), the pool has {params.db_pool} connections, and it "
        f"talks to the database through {DRIVERS[driver]}; 200 polls a second, seed {seed}. "
        "Predict the p99 latency, then check: the incident lab's run is drawn.",
        [
            f"under the timeout (< {t} ms)",
            f"the timeout plus a little ({t} to {2 * timeout:g} ms)",
            f"several times the timeout (> {2 * timeout:g} ms)",
        ],  # fmt: skip
        right,
        f"The model: p99 {m['p99_ms']:.0f} ms, {m['db_timeouts']:.0f} deadlines passed, threads "
        f"peak {m['threads_peak']:.0f}. The pure-Go driver waits for the database's reply on "
        "the netpoller (netpollblock, src/runtime/netpoll.go:548); the driver sets the "
        "context's deadline on the socket, and the netpoller wakes the read when it expires: "
        "the query is abandoned and the handler answers with the last good result, so p99 is "
        "the timeout "
        "plus the handler's own work. A cgo driver runs the query as one C call (cgocall -> "
        "entersyscall, src/runtime/cgocall.go:134): Go cannot preempt a C call, and this "
        "driver does not interrupt it, so the "
        "deadline passes, the call runs to its end and the request waits for it: p99 is the "
        "database's own tail, whatever the timeout says.",
        hints=_wrong_hints(
            "Can a deadline interrupt what the goroutine is waiting in? A read parked on "
            "the netpoller (netpollblock) is woken by it; a C call entered through cgocall -> "
            "entersyscall runs until it returns.",
            3,
            right,
        ),
        params={"driver": driver, "timeout_ms": timeout, "median_ms": median, "seed": seed},
        figure=_incident_lab(params),
        predict=True,
    )


THREAD_EDGES = (9.0, 41.0)


def threads_in_flight(rng: np.random.Generator) -> Variant:
    """The peak count of OS threads, per database driver: Little's law or GOMAXPROCS."""
    for _ in range(100):
        driver = str(_pick(rng, tuple(DRIVERS)))
        median = float(_pick(rng, (10.0, 20.0, 40.0)))
        seed = int(rng.integers(0, 1000))
        params = CAUSES["cgo_driver"].params(seed).replace(db_driver=driver, db_median_ms=median)
        m = run_incident(params).metrics
        if not _near_edge(m["threads_peak"], THREAD_EDGES):
            break
    right = band(m["threads_peak"], THREAD_EDGES)
    qps = params.clients * 1000.0 / params.poll_ms
    load = offered_load(median, params.db_sigma, qps)
    return choice(
        f"GOMAXPROCS={params.gomaxprocs}, {qps:g} polls a second, each one query (median "
        f"{median:g} ms, lognormal sigma {params.db_sigma:g}) through {DRIVERS[driver]}, a pool of "
        f"{params.db_pool} connections, seed {seed}. How many OS threads does the process have "
        "at its peak? Predict, then check: the incident lab's run is drawn (threads peak in its "
        "summary).",
        [
            "at most 8: about GOMAXPROCS, plus sysmon and a spare",
            "9 to 40: it grows with the queries in flight",
            "more than 40: about one per goroutine",
        ],  # fmt: skip
        right,
        f"The model: {m['threads_peak']:.0f} threads at the peak, {m['goroutines_peak']:.0f} "
        f"goroutines. Little's law: {qps:g} queries/s x a mean query of {median:g} x e^"
        f"{params.db_sigma**2 / 2:g} ms keeps {load:.1f} queries in flight on average, more at the "
        "peaks. A query in a C call holds its thread (cgocall -> entersyscall, "
        "src/runtime/cgocall.go:134); sysmon's retake hands the P to another thread "
        "(handoffp, src/runtime/proc.go:3146), so the threads climb with the queries in flight. "
        "A pure-Go query parks its goroutine on the netpoller and frees the thread: the count "
        "stays near GOMAXPROCS, however many queries wait.",
        hints=_wrong_hints(
            "What does a goroutine waiting for the database hold: a C call keeps its M "
            "(entersyscall, and retake/handoffp give the P to another M); a netpoller wait "
            "(gopark) keeps nothing.",
            3,
            right,
        ),
        params={"driver": driver, "median_ms": median, "seed": seed, "load": load},
        figure=_incident_lab(params),
        predict=True,
    )


FPS_EDGES = (20.0, TARGET_FPS)


def one_p_frames(rng: np.random.Generator) -> Variant:
    """The dashboard's frame rate when handlers and the render loop share GOMAXPROCS Ps."""
    for _ in range(100):
        procs = int(_pick(rng, (1, 2)))
        payload = float(_pick(rng, (256.0, 384.0)))
        seed = int(rng.integers(0, 1000))
        params = (
            CAUSES["few_procs"]
            .params(seed)
            .replace(gomaxprocs=procs, payload_kb=payload, clients=HEALTHY.clients)
        )
        m = run_incident(params).metrics
        if not _near_edge(m["dashboard_fps"], FPS_EDGES, margin=0.03):
            break
    right = band(m["dashboard_fps"], FPS_EDGES)
    return choice(
        f"The healthy service (enough DB connections) sends {payload:g} KiB of JSON per poll, "
        f"200 polls a second (decoding the rows and marshalling them take "
        f"{DECODE_US_PER_KB + MARSHAL_US_PER_KB:g} us of CPU per KiB of JSON, measured on "
        f"go1.27.3), and draws the dashboard at 60 fps, 4 ms of CPU a frame; "
        f"GOMAXPROCS={procs}, seed {seed}. What frame rate does the dashboard keep? Predict, "
        "then check: the incident lab's run is drawn.",
        [
            "under 20 fps: most frames miss their slot",
            f"20 to {TARGET_FPS:g} fps",
            f"{TARGET_FPS:g} fps or more: the target holds",
        ],  # fmt: skip
        right,
        f"The model: {m['dashboard_fps']:.1f} fps, p99 {m['p99_ms']:.0f} ms, CPU "
        f"{100 * m['cpu_share']:.0f} % of {procs} P(s), GC {m['gc_cycles_per_s']:.1f} cycles/s. "
        "Encoding the responses is CPU work; with one P a frame that falls due waits until the "
        "handler on the P blocks or is preempted, which sysmon does only at its 10 ms slice "
        "(retake, forcePreemptNS, proc.go:6679); the woken render goroutine then goes into "
        "runnext (ready -> runqput, src/runtime/proc.go:1150), ahead of the queued handlers. "
        "With a second P the frames find an "
        "idle P, and the same work fits.",
        hints=_wrong_hints(
            "Add up the CPU a second asks for (encoding each poll, the GC it drives, 60 "
            "frames x 4 ms) against the Ps; a runnable goroutine waits in the run queue until "
            "a P runs schedule(), and a busy handler keeps its P up to its 10 ms slice.",
            3,
            right,
        ),
        params={"gomaxprocs": procs, "payload_kb": payload, "seed": seed},
        figure=_incident_lab(params),
        predict=True,
    )


#: GC cycles after a GOGC change count as "barely changed" above this share of before.
BARELY = 2 / 3


def gogc_on_payload(rng: np.random.Generator) -> Variant:
    """What raising GOGC does to a service that allocates too much: fewer cycles, same work."""
    for _ in range(100):
        gogc = int(_pick(rng, (125, 400, 800)))
        payload = float(_pick(rng, (1152.0, 1536.0)))
        seed = int(rng.integers(0, 1000))
        base = CAUSES["huge_payload"].params(seed).replace(payload_kb=payload)
        before = run_incident(base).metrics
        after_run = run_incident(base, gogc=gogc)
        after = after_run.metrics
        ratio = after["gc_cycles_per_s"] / before["gc_cycles_per_s"]
        if abs(ratio - BARELY) > 0.1 * BARELY:
            break
    right = 0 if meets_targets(after_run) else 1 if ratio < BARELY else 2
    return choice(
        f"A service sends {payload:g} KiB of JSON per poll, 200 polls a second, with "
        f"{base.live_mb:g} MiB live heap: the GC runs {before['gc_cycles_per_s']:.0f} cycles a "
        f"second, p99 is {before['p99_ms']:.0f} ms and the dashboard {before['dashboard_fps']:.0f} "
        f"fps (seed {seed}). Someone sets GOGC={gogc}. Predict, then check: the incident lab's "
        "run with that GOGC is drawn.",
        [
            f"both targets met (p99 <= {TARGET_P99_MS:g} ms, dashboard >= {TARGET_FPS:g} fps)",
            "far fewer GC cycles, but a target is still missed",
            "barely fewer GC cycles (more than two thirds of them remain)",
        ],  # fmt: skip
        right,
        f"The model: GC {before['gc_cycles_per_s']:.0f} -> {after['gc_cycles_per_s']:.0f} "
        f"cycles/s, p99 {before['p99_ms']:.0f} -> {after['p99_ms']:.0f} ms, dashboard "
        f"{before['dashboard_fps']:.1f} -> {after['dashboard_fps']:.1f} fps, CPU "
        f"{100 * after['cpu_share']:.0f} %. GOGC moves the heap goal (live + (live + stacks + "
        "globals) x GOGC/100, gcControllerState.commit, src/runtime/mgcpacer.go:1295), so the "
        "same allocation fills the runway less often. "
        + (
            "Here that was enough: with the GC's share of the CPUs gone, they keep up. It is "
            "the most fragile fix, though: the heap grows with GOGC, and more load or a bigger "
            "payload brings the stall back; caching the JSON removes the work itself."
            if right == 0
            else "What it cannot remove is the work: decoding and marshalling the payload still "
            "take the CPUs, and the assists (gcAssistAlloc, src/runtime/mgcmark.go:499) were "
            "only a share of the GC's cost. Caching the JSON removes the work itself."
        ),
        hints=_wrong_hints(
            f"GOGC={gogc} makes the runway (goal - live, heapGoalInternal) {gogc / 100:g} times "
            "what GOGC=100 gives, so it changes how often a cycle starts; does it change how much "
            "CPU decoding and encoding take?",
            3,
            right,
        ),
        params={"gogc": gogc, "payload_kb": payload, "seed": seed, "ratio": ratio},
        figure=_incident_lab(base.replace(gogc=gogc)),
        predict=True,
        shuffle=rng,
    )


# ---------------------------------------------------------------- real mode (#23 item 5)
#
# The same hunt on the real dashboard (labkit/golab/go/services/dashboard): the hidden cause is
# one of labkit.golab.services.capstone.CAUSES, the service runs live (LIVE = True in the lab)
# or the recording of that cause is shown, and a change is graded on the real service, live or
# against the recorded runs of capstone.MENU.

#: Changes that do not touch the real service: the load, the database, the observation.
NOT_THE_REAL_SERVICE = {
    "rate": "fewer requests a second is less load, not a faster service",
    "arrivals": "the clients' timing is the load, not the service",
    "dashboards": "fewer distinct dashboards changes the load, not the service",
    "db_median_ms": "the database's speed belongs to the database, not to this service",
    "db_sigma": "the database's tail belongs to the database, not to this service",
    "slow": "how the database spends a query's time is the database's business",
    "db": "another database engine is another system, not a change to this service",
    "stop_db_at_s": "stopping the database is an experiment on the database, not a fix",
    "seed": "another seed is another roll of the dice, not a fix",
    **{
        name: "how the run is observed changes the measurement, not the service"
        for name in CollectParams.names()
    },
}
#: A live graded change: 6 s of load, no trace, no Prometheus (the latency and the counters).
REAL_CHANGE_RUN = {"seconds": 6.0, "trace_seconds": 0.0, "prometheus": False}
#: A live mystery or healthy run: 6 s of load with every artefact and a 0.2 s trace.
REAL_EVIDENCE_RUN = {"seconds": 6.0, "trace_seconds": 0.2}

_REAL_KEYS = list(real.CAUSES)
#: Live runs of this session: ("mystery", number) or ("healthy", 0) -> the run (a kernel keeps
#: them, so that the lab's cells read one run of each).
_REAL_LIVE: dict[tuple[str, int], ServiceRun] = {}


def _real_key(number: int) -> str:
    """The real service's hidden cause for mystery ``number`` (a hash, like the model's)."""
    digest = hashlib.sha256(f"capstone real mystery {number}".encode()).digest()
    return _REAL_KEYS[digest[0] % len(_REAL_KEYS)]


def _services_wanted_recorded() -> bool:
    """LABKIT_SERVICES=recorded (a workshop hub): never start a service."""
    return os.environ.get("LABKIT_SERVICES", "auto").strip() == "recorded"


def _real_run(
    params: DashboardParams, *, live: bool, evidence: bool, progress: Any = None
) -> ServiceRun:
    """The real service with ``params``: live (falling back to the recording, with a note, when
    the services cannot run here) or recorded."""
    if live and not _services_wanted_recorded():
        collect = REAL_EVIDENCE_RUN if evidence else REAL_CHANGE_RUN
        try:
            return run_service("dashboard", params, source="live", progress=progress, **collect)
        except ServicesMissingError as exc:
            run = real.recorded_capstone_run(params)
            note = f"live run not possible ({exc}); showing the recording"
            warnings.warn(note, GolabWarning, stacklevel=3)
            return dataclasses.replace(run, note=note)
    return real.recorded_capstone_run(params)


def _real_mystery_run(number: int, live: bool, progress: Any = None) -> tuple[str, ServiceRun]:
    """(cause key, run) of real mystery ``number``; a live run is made once per session."""
    key = _real_key(_check_number(number))
    params = real.CAUSES[key].params()
    if not live:
        run = _real_run(params, live=False, evidence=True)
        if progress is not None:
            progress("the recorded run loaded", 1.0)
        return key, run
    if ("mystery", number) not in _REAL_LIVE:
        _REAL_LIVE["mystery", number] = _real_run(
            params, live=True, evidence=True, progress=progress
        )
    return key, _REAL_LIVE["mystery", number]


def _real_healthy_run(live: bool, progress: Any = None) -> ServiceRun:
    if not live:
        return _real_run(real.HEALTHY, live=False, evidence=True)
    if ("healthy", 0) not in _REAL_LIVE:
        _REAL_LIVE["healthy", 0] = _real_run(
            real.HEALTHY, live=True, evidence=True, progress=progress
        )
    return _REAL_LIVE["healthy", 0]


def _where(run: ServiceRun) -> str:
    """Where and when a run ran, and the machine's load: no command line, no setting."""
    m = run.meta
    how = "live" if run.source == "live" else "recorded"
    text = (
        f"{how} on {m['recorded_on']} at {m['recorded_at']}, 1-minute load average "
        f"{m['load_avg_before']:.2f}"
    )
    return f"{text}; {run.note}" if run.note else text


def real_observed(figures: dict[str, float]) -> str:
    """One line of what a graded change showed (target_figures): no setting."""
    return (
        f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, "
        f"{figures['throughput_rps']:.1f} req/s, {figures['failed']:.0f} of "
        f"{figures['sent']:.0f} requests failed, {figures['fallbacks']:.0f} stale fallbacks, "
        f"render {figures['fps']:.1f} fps, GC {figures['gc_per_s']:.0f} cycles/s"
    )


def _metric_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A runtime/metrics snapshot as the service served it (a copy: the run stays as it was)."""
    return json.loads(json.dumps(snapshot))


class RealMystery:
    """The capstone's hidden cause in the real dashboard: the evidence a tool fetches from the
    running service (latency, the five layers, profiles, the goroutine dump, the trace and the
    stall doctor's reading of it, runtime/metrics, Prometheus), and a way to try changes on it.

    Neither the cause nor the settings are in a public name, nor in anything a method returns:
    no parameters, no command line (the meta of a run holds the flags; only where, when and the
    load are passed on), and not the service's /debug/stats, whose ``config`` echoes its flags.
    What the tools themselves show about the settings (GOMAXPROCS in runtime/metrics, the
    connections in use in Prometheus) is evidence, as it is for an on-call engineer. ``live``:
    run the service here (the first call runs it, ~15 s; LABKIT_SERVICES=recorded or missing
    packages give the recording, with a note), else the shipped recording of the cause."""

    __slots__ = ("live", "number")

    def __init__(self, seed: int, live: bool = False, progress: Any = None) -> None:
        if not isinstance(live, bool):
            raise ParameterError(f"live must be True or False, got {live!r}")
        self.number = mystery_number(seed)
        self.live = live
        _real_mystery_run(self.number, live, progress)  # run it now: the cells below read it

    def __repr__(self) -> str:
        return f"RealMystery(run #{self.number}, {'live' if self.live else 'recorded'}: hidden)"

    def _run(self) -> ServiceRun:
        return _real_mystery_run(self.number, self.live)[1]

    def where(self) -> str:
        """Where, when and under what load the evidence was collected."""
        return _where(self._run())

    def summary(self) -> str:
        """The headline figures: what the targets read, and the run's threads and goroutines."""
        run = self._run()
        f = run.figures()
        return (
            f"{real_observed(real.target_figures(run))}; {f['threads']:.0f} threads, "
            f"{f['goroutines']:.0f} goroutines at the end"
        )

    def layers(self, progress: Any = None) -> real.RealLayers:
        """The five layers, the healthy service beside the mystery (live: the healthy service
        runs here too, once)."""
        healthy = _real_healthy_run(self.live, progress)
        return real.RealLayers(healthy, self._run(), ("healthy", f"mystery #{self.number}"))

    def cpu_profile(self) -> Profile:
        return self._run().cpu  # type: ignore[return-value]

    def goroutine_profile(self) -> Profile:
        """/debug/pprof/goroutine (debug=0) at the middle of the load."""
        return self._run().goroutines[0]

    def goroutine_dump(self) -> str:
        """/debug/pprof/goroutine?debug=2 at the middle of the load, as Go served it."""
        return self._run().artefacts["goroutine-2"].decode()

    def block_profile(self) -> Profile:
        return self._run().block  # type: ignore[return-value]

    def mutex_profile(self) -> Profile:
        return self._run().mutex  # type: ignore[return-value]

    def trace(self) -> Trace:
        """The execution trace (/debug/pprof/trace) around the middle of the load."""
        return self._run().trace  # type: ignore[return-value]

    def diagnose(self) -> Any:
        """The stall doctor's reading of the trace (labkit.stalls.diagnose)."""
        from labkit.stalls import diagnose

        return diagnose(self.trace())

    def runtime_metrics(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """runtime/metrics (/debug/metrics) before and after the load."""
        run = self._run()
        return _metric_snapshot(run.metrics_before), _metric_snapshot(run.metrics_after)

    def prometheus(self) -> dict[str, tuple[str, list[Series]]]:
        """Each PromQL query the run evaluated over the load -> (query, series it returned)."""
        run = self._run()
        return {name: (run.queries[name], list(run.series[name])) for name in run.series}

    def fps_states(self) -> tuple[real.Series2, dict[str, real.Series2]]:
        """The render loop's fps gauge and the goroutines by state, as Prometheus scraped them
        (seconds since the load began, values): what FpsStatesPlot draws."""
        return real.fps_and_states(self._run())

    def try_changes(self, changes: dict[str, Any], progress: Any = None) -> Verdict:
        """Apply ``changes`` (DashboardParams names) to the hidden service and grade them: live,
        a 6 s run of the real service; recorded, the recording of that change (capstone.MENU)."""
        return grade_real_changes(self.number, changes, live=self.live, progress=progress)

    def reveal(self) -> RealRevealed:
        key = _real_key(self.number)
        cause = real.CAUSES[key]
        return RealRevealed(self.number, cause.title, cause.fix_text, cause.params())


@dataclass(frozen=True)
class RealRevealed:
    """The real mystery's Reveal: its cause, the cause's fix and the settings that differ from
    the healthy service."""

    number: int
    cause: str
    fix: str
    params: DashboardParams

    def __str__(self) -> str:
        changed = {k: v for k, v in self.params.changed(real.HEALTHY).items()}
        settings = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return (
            f"real mystery #{self.number}\ncause: {self.cause}\nits fix: {self.fix}\n"
            f"settings that differ from the healthy service: {settings}"
        )


def _removes(cause: Any, changes: dict[str, Any]) -> bool:
    """Whether ``changes`` take ``cause`` (a model Cause or a RealCause) out of the service:
    its fix applied whole, or every parameter its title blames moved off the broken value (for
    a cause marked ``whole``, to the healthy service's value or past it, away from the broken
    one)."""
    broken = dict(cause.changes)
    fixed = all(changes.get(name) == value for name, value in cause.fix)
    if getattr(cause, "whole", False):
        healthy = cause.without_culprit()  # the cause's parameters, its culprit as healthy
        moved = all(
            name in changes and _past_healthy(changes[name], broken[name], getattr(healthy, name))
            for name in cause.culprit
        )
    else:
        moved = all(name in changes and changes[name] != broken[name] for name in cause.culprit)
    return fixed or moved


def _past_healthy(value: Any, broken: Any, healthy: Any) -> bool:
    """``value`` is the healthy one, or beyond it on the side away from the broken one."""
    if value == healthy:
        return True
    numbers = (value, broken, healthy)
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in numbers):
        return False
    return (value - healthy) * (broken - healthy) < 0


def grade_real_changes(
    number: int, changes: dict[str, Any], *, live: bool = False, progress: Any = None
) -> Verdict:
    """The real capstone's Check, by the model's rules (:func:`grade_changes`): changes to the
    load, the database or the observation are refused with the reason; the rest run on the
    hidden real service (live, or the recording of that change); accepted when the targets
    (capstone.meets_targets) are met *and* the cause is removed, with a note when the targets
    are met with the cause still there."""
    if not isinstance(changes, dict) or not changes:
        return Verdict(False, "Give the changes you would ship as a dict, e.g. {'gogc': 200}.")
    refused = [f"{k}: {NOT_THE_REAL_SERVICE[k]}" for k in changes if k in NOT_THE_REAL_SERVICE]
    if refused:
        return Verdict(False, "Not a fix of the service: " + "; ".join(refused) + ".")
    unknown = sorted(set(changes) - set(DashboardParams.names()))
    if unknown:
        settable = [n for n in DashboardParams.names() if n not in NOT_THE_REAL_SERVICE]
        return Verdict(
            False,
            f"The real service has no setting {', '.join(map(repr, unknown))}; its settings are "
            f"{', '.join(settable)}.",
        )
    key = _real_key(_check_number(number))
    cause = real.CAUSES[key]
    after = cause.params().replace(**changes)  # a wrong value raises ServiceParameterError
    try:
        run = _real_run(after, live=live, evidence=False, progress=progress)
    except RecordingError:
        menu = "; ".join(f"{name}: {c!r}" for name, c in real.MENU.items())
        return Verdict(
            False,
            "Recorded mode grades only the changes recorded with the course (one at a time): "
            f"{menu}. Set LIVE = True to run any change on the real service.",
        )
    figures = real.target_figures(run)
    observed = real_observed(figures) + ("" if run.source == "live" else " (recorded run)")
    missed = real.missed_targets(figures)
    if missed:
        return Verdict(False, "Misses the targets: " + "; ".join(missed) + ".", observed)
    met = "all three targets met"
    if _removes(cause, changes):
        return Verdict(True, f"Accepted: the cause is gone and {met}.", observed)
    stale = ""
    if figures["fallbacks"]:
        share = figures["fallbacks"] / max(figures["sent"], 1.0)
        stale = f" {100 * share:.0f} % of the answers were stale fallbacks from the LRU."
    return Verdict(
        True,
        f"Accepted with a note: {met}.",
        observed,
        "Note: the cause is still in the service. Your change meets the targets around it "
        f"(a cache or a timeout can absorb several causes), so the next change in load or data "
        f"brings the stall back.{stale} Reveal, then find the change that removes it.",
    )


def _real_recorded(key: str) -> ServiceRun:
    return real.recorded_capstone_run(real.CAUSES[key].params())


def _real_doctor_view(key: str) -> Callable[[], object]:
    def figure():
        from labkit.stalls import diagnose
        from labkit.widgets import StallDoctor

        return StallDoctor(diagnose(_real_recorded(key).trace), height_px=200)

    return figure


@functools.cache
def _real_doctor_summary(key: str) -> str:
    """The stall doctor's summary of cause ``key``'s recorded trace (read once: seconds)."""
    from labkit.stalls import diagnose

    return diagnose(_real_recorded(key).trace).summary()


def real_which_cause(rng: np.random.Generator) -> Variant:
    """Name the hidden cause of a real mystery from its evidence; after Check, the stall
    doctor's reading of its recorded trace is drawn (predict, then check)."""
    number = int(rng.integers(0, 1000))
    key = _real_key(number)
    cause = real.CAUSES[key]
    run = _real_recorded(key)
    return choice(
        f"Real mystery #{number} (the one above when the seed in this exercise's title is your "
        "SEED). Read its layers, profiles, dump and Prometheus series: which cause is it? "
        "Commit first: after Check the stall doctor reads its trace.",
        [real.CAUSES[k].title for k in _REAL_KEYS],
        _REAL_KEYS.index(key),
        f"It is **{cause.title}**. The giveaway: {cause.evidence}. The recorded run: "
        f"{real_observed(real.target_figures(run))}. The stall doctor on its trace: "
        f"{_real_doctor_summary(key)}.",
        hints={
            i: f"Look at the evidence that would show it: {real.CAUSES[k].evidence}."
            for i, k in enumerate(_REAL_KEYS)
            if k != key
        },
        params={"number": number},
        answer_figure=_real_doctor_view(key),
        shows="the stall doctor's reading of the recorded trace",
    )


def _real_menu_figures(key: str) -> dict[str, dict[str, float]]:
    """For cause ``key``: each MENU change -> the target figures of its recorded run."""
    return {
        name: real.target_figures(real.recorded_capstone_run(p))
        for name, p in real.menu_params(key).items()
    }


def _real_fix_name(key: str) -> str:
    """The MENU entry that is cause ``key``'s own fix."""
    fix = dict(real.CAUSES[key].fix)
    return next(name for name, c in real.MENU.items() if c == fix)


def real_which_fix(rng: np.random.Generator) -> Variant:
    """Pick the change that brings a real mystery back within the targets, graded on the
    recorded runs of capstone.MENU: the options are the cause's own fix and the changes the
    recordings show missing the targets; the others that meet them are named in the answer."""
    number = int(rng.integers(0, 1000))
    key = _real_key(number)
    cause = real.CAUSES[key]
    figures = _real_menu_figures(key)
    right = _real_fix_name(key)
    works = {name: real.meets_targets(f) for name, f in figures.items()}
    order = [list(real.MENU)[i] for i in rng.permutation(len(real.MENU))]
    order = [n for n in order if n == right or not works[n]]
    also = [
        f"{n} ({'removes the cause too' if _removes(cause, real.MENU[n]) else 'around the cause'})"
        for n in real.MENU
        if n != right and works[n]
    ]
    also_text = (
        " Also within the targets on the recordings, so not offered: " + "; ".join(also) + "."
        if also
        else ""
    )
    hints = {
        i: "On the recorded run that change leaves "
        + "; ".join(real.missed_targets(figures[n]))
        + ": it does not touch what this service is short of."
        for i, n in enumerate(order)
        if n != right
    }
    fixed = figures[right]
    return choice(
        f"Real mystery #{number}: which change brings p99 to {real.TARGET_P99_MS:g} ms or less, "
        f"the render loop to {real.TARGET_FPS:g} fps or more, with at most "
        f"{100 * real.MAX_FAILED_SHARE:g} % of requests failing? (Each was recorded on the real "
        "service.)",
        order,
        order.index(right),
        f"{right[:1].upper()}{right[1:]}: {cause.fix_text}. Its recorded run: "
        f"{real_observed(fixed)}.{also_text}",
        hints=hints,
        params={"number": number, "options": tuple(order)},
    )
