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
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import ParameterError
from labkit.exercises.seeded import Variant, choice, numeric
from labkit.models.gcpacer import format_gctrace
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
        f"{cause.fix_text[0].upper()}{cause.fix_text[1:]}: p99 {run.metrics['p99_ms']:.0f} -> "
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
    cause = CAUSES[key]
    broken = dict(cause.changes)
    fixed = all(changes.get(name) == value for name, value in cause.fix)
    moved = all(name in changes and changes[name] != broken[name] for name in cause.culprit)
    return fixed or moved


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
    "cgo": "a cgo driver (each query is one blocking C call)",
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
        "the netpoller (netpollblock, src/runtime/netpoll.go:548); the context's deadline "
        "wakes it, the query is abandoned and the handler serves the cache: p99 is the timeout "
        "plus the handler's own work. A cgo driver runs the query as one C call (cgocall -> "
        "entersyscall, src/runtime/cgocall.go:134): nothing in Go can interrupt it, so the "
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
        params = CAUSES["few_procs"].params(seed).replace(gomaxprocs=procs, payload_kb=payload)
        m = run_incident(params).metrics
        if not _near_edge(m["dashboard_fps"], FPS_EDGES, margin=0.03):
            break
    right = band(m["dashboard_fps"], FPS_EDGES)
    return choice(
        f"The healthy service (enough DB connections) sends {payload:g} KiB of JSON per poll, "
        f"200 polls a second, and draws the dashboard at 60 fps, 4 ms of CPU a frame; "
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
        "Encoding the responses is CPU work; with one P the render goroutine waits in the run "
        "queue behind every handler that is encoding (runqput, schedule in "
        "src/runtime/proc.go), and a handler is taken off the P only at its 10 ms slice "
        "(sysmon's retake, forcePreemptNS, proc.go:6679). With a second P the frames find an "
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
        "globals) x GOGC/100, heapGoalInternal, src/runtime/mgcpacer.go:1000), so the same "
        "allocation fills the runway less often; with a small live heap the 4 MiB x GOGC/100 "
        "floor and the stacks weigh, so cycles do not fall in proportion. But the GC was not "
        "the work: decoding and marshalling the payload still fill the CPUs, and the assists "
        "(gcAssistAlloc, src/runtime/mgcmark.go:499) were only a share of it. Caching the "
        "JSON removes the work itself.",
        hints=_wrong_hints(
            "GOGC sets the heap goal (heapGoalInternal), so it changes how often a cycle "
            "starts; does it change how much CPU decoding and encoding take? And how far does a "
            "goal of live x (1 + GOGC/100) move for a small GOGC step?",
            3,
            right,
        ),
        params={"gogc": gogc, "payload_kb": payload, "seed": seed, "ratio": ratio},
        figure=_incident_lab(base.replace(gogc=gogc)),
        predict=True,
    )
