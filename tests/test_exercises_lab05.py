"""Lab 5's answer keys, each checked against what does not produce it, and the wrong answers a
learner gives, each rejected, for seeds 0-19.

* which_cause: the key is the cause _mystery_run drew; here it is read back from the run's
  observations alone, by the signature each cause leaves in the layer the lab teaches (one
  timeline row, a flame graph topped by the hot loop, GC cycles, threads, a dump of handlers in
  the pool's select), and exactly one signature must hold;
* which_fix: every offered change's run is checked to be the mystery run with that change
  applied, and the targets are checked on it by hand (p99 <= 200 ms, dashboard >= 55 fps); the
  runs are the ones the question made (lab05._fix_runs_of keeps them), and for three seeds every
  fix is run again here with run_incident and must give the same numbers;
* smallest_pool: the key must exceed the offered load worked by hand with Little's law
  (200 polls/s x the lognormal mean, median x e^0.5), and for three seeds the key and the pool
  below it are run again from scratch; the pool one off either way, the pool
  sized from the median (forgetting the lognormal mean) and the pool just above the load
  (forgetting that it still queues) are rejected;
* the four predictions (timeout_and_driver, threads_in_flight, one_p_frames, gogc_on_payload)
  and smallest_pool hide their figure until Check; each key is the band of the run the figure
  then draws (the incident lab at the question's settings), and the plausible mistake of each
  (a deadline bounds a cgo query; a thread per goroutine; frames safe on one P; GOGC fixes a
  service that allocates too much) is rejected.
"""

from __future__ import annotations

import math
from functools import cache

import pytest

from labkit.exercises import lab05
from labkit.exercises.seeded import Exercise
from labkit.profiles import load_profile
from labkit.scenarios.casestudy import run_incident
from labkit.scenarios.casestudy.causes import CAUSES, HEALTHY

SEEDS = range(20)
P99_TARGET_MS, FPS_TARGET = 200.0, 55.0  # the lab's targets, as the notebook states them
QPS = 20 * 1000.0 / 100.0  # 20 dashboards polling every 100 ms


@cache
def ex(make, seed: int) -> Exercise:
    return Exercise(make, seed=seed)


@cache
def mystery(seed: int):
    number = lab05.mystery_number(seed)
    _, run = lab05._mystery_run(number)
    return number, run, run_incident(HEALTHY, seed=number)


# ---- which_cause -----------------------------------------------------------------------------


def signatures(run, healthy) -> dict[str, bool]:
    """Each cause's giveaway, read from what the lab shows (no parameter of the run)."""
    m, h = run.metrics, healthy.metrics
    dump = load_profile(run.goroutine_dump(1900.0).encode())
    handlers = [g for g in dump.goroutines if "main.handleMetrics" in g.stack]
    in_pool = [g for g in handlers if g.state == "select"]
    return {
        "slow_db": m["goroutines_peak"] > 3 * h["goroutines_peak"]
        and len(in_pool) > len(handlers) / 2,
        "huge_payload": m["gc_cycles_per_s"] > 10 * h["gc_cycles_per_s"],
        "cgo_driver": m["threads_peak"] > 3 * h["threads_peak"] and m["db_timeouts"] > 0,
        "few_procs": len(set(run.result.segments["p"].tolist())) == 1,  # one timeline row
        "hot_loop": run.cpu_profile().top(1)[0][0] == "main.downsample",
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_which_cause_key_is_the_one_signature_the_run_shows(seed):
    _, run, healthy = mystery(seed)
    shown = [k for k, hit in signatures(run, healthy).items() if hit]
    v = ex(lab05.which_cause, seed).variant
    assert shown == [list(CAUSES)[int(v.answer)]]


@pytest.mark.parametrize("seed", SEEDS)
def test_which_cause_rejects_every_other_cause_with_a_hint(seed):
    e = ex(lab05.which_cause, seed)
    v = e.variant
    assert e.check(v.answer) and e.check(chr(65 + int(v.answer)))
    for i, title in enumerate(v.choices):
        if i != v.answer:
            assert not e.check(i) and not e.check(title)
            assert "Check the layer" in e.feedback(i)


def test_signatures_can_tell_a_wrong_key():
    """The signature check is not a rubber stamp: a healthy run shows none of them."""
    healthy = run_incident(HEALTHY, seed=3)
    assert not any(signatures(healthy, healthy).values())


# ---- which_fix ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_which_fix_key_is_the_only_offered_change_that_meets_the_targets(seed):
    number, run, _ = mystery(seed)
    e = ex(lab05.which_fix, seed)
    v = e.variant
    runs = lab05._fix_runs_of(
        number
    )  # the question's own runs, kept: checked to be what they claim
    for i, key in enumerate(v.params["options"]):
        assert v.choices[i] == CAUSES[key].fix_text
        assert runs[key].params == run.params.replace(**dict(CAUSES[key].fix))
        after = runs[key].metrics
        met = after["p99_ms"] <= P99_TARGET_MS and after["dashboard_fps"] >= FPS_TARGET
        assert met == (i == v.answer), (key, after["p99_ms"], after["dashboard_fps"])
        if i != v.answer:
            assert not e.check(i) and f"{after['p99_ms']:.0f} ms" in e.feedback(i)
    assert e.check(v.answer) and v.params["number"] == number


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_kept_fix_runs_are_the_models_runs(seed):
    """The which_fix test reads the runs lab05._fix_runs_of keeps; here every fix is run again from
    scratch, so that a kept run that is not the model's run of its params fails."""
    number, run, _ = mystery(seed)
    kept = lab05._fix_runs_of(number)
    for key, cause in CAUSES.items():
        fresh = run_incident(run.params, **dict(cause.fix))
        assert kept[key].params == fresh.params
        assert kept[key].metrics == fresh.metrics, key


def test_kept_runs_follow_their_number():
    """A kept run answers for its own number only (a cache keyed wrongly would hand one
    mystery's runs to another)."""
    a, b = lab05.mystery_number(0), lab05.mystery_number(1)
    assert a != b
    assert lab05._mystery_run(a)[1].params.seed == a and lab05._mystery_run(b)[1].params.seed == b
    assert lab05._mystery_run(a, fixed=True)[1].params != lab05._mystery_run(a)[1].params
    assert {r.params.seed for r in lab05._fix_runs_of(b).values()} == {b}


# ---- smallest_pool -----------------------------------------------------------------------------


def load_by_hand(median_ms: float) -> float:
    """Little's law: busy connections = arrivals/s x mean query time (s); a lognormal with
    sigma 1 has mean = median x e^0.5 (e^0.5 = 1.6487)."""
    return QPS * median_ms * 1.6487 / 1000.0


def test_little_law_by_hand():
    # 200/s x 8 ms x 1.6487 = 2.64 connections; 200/s x 12 ms x 1.6487 = 3.96
    assert load_by_hand(8.0) == pytest.approx(2.638, abs=1e-3)
    assert load_by_hand(12.0) == pytest.approx(3.957, abs=1e-3)
    assert lab05.offered_load(12.0, 1.0, QPS) == pytest.approx(load_by_hand(12.0), rel=1e-4)


@pytest.mark.parametrize("seed", SEEDS)
def test_smallest_pool_key_is_above_the_load_and_meets_p99(seed):
    v = ex(lab05.smallest_pool, seed).variant
    median = v.params["median_ms"]
    assert v.params["sigma"] == 1.0 and v.params["qps"] == QPS
    assert v.answer > load_by_hand(median)  # at or below the load the queue grows for good
    p99 = v.params["p99_by_pool"]
    assert p99[int(v.answer)] <= P99_TARGET_MS
    assert all(ms > P99_TARGET_MS for c, ms in p99.items() if c < v.answer)


def test_smallest_pool_key_is_what_most_runs_of_that_service_give():
    """One 10-second run's luck does not decide the key: a question's key is the smallest pool
    most runs of its service give (lab05.POOL_SEEDS seeds), so every question at one median
    has one key. (Drawn from one run alone, a median of 10 ms gave 5 for one seed and 4 for
    another: 4 connections gave p99 251 ms in one run and 156 in the next.)"""
    keys: dict[float, set[float]] = {}
    for seed in SEEDS:
        v = ex(lab05.smallest_pool, seed).variant
        assert v.answer == lab05.typical_smallest_pool(v.params["median_ms"])
        keys.setdefault(v.params["median_ms"], set()).add(v.answer)
    assert all(len(k) == 1 for k in keys.values()), keys


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smallest_pool_key_run_again_from_scratch(seed):
    """The question keeps each pool's p99 (lab05.pool_p99); here the key and the pool one
    smaller are run from scratch for the question's 10 seconds: the key meets p99, one
    connection fewer does not."""
    v = ex(lab05.smallest_pool, seed).variant
    assert v.params["seconds"] == 10.0
    kw = dict(db_median_ms=v.params["median_ms"], seed=v.params["seed"], seconds=10.0)
    key = int(v.answer)
    assert run_incident(HEALTHY, db_pool=key, **kw).metrics["p99_ms"] <= P99_TARGET_MS
    assert run_incident(HEALTHY, db_pool=key - 1, **kw).metrics["p99_ms"] > P99_TARGET_MS


@pytest.mark.parametrize("seed", SEEDS)
def test_smallest_pool_rejects_the_named_mistakes(seed):
    e = ex(lab05.smallest_pool, seed)
    v = e.variant
    key, median = int(v.answer), v.params["median_ms"]
    assert e.check(key) and e.check(str(key))
    assert not e.check(key - 1) and not e.check(key + 1)
    from_median = math.floor(QPS * median / 1000.0) + 1  # forgets the lognormal's mean
    assert from_median != key and not e.check(from_median)
    just_above = math.floor(load_by_hand(median)) + 1  # forgets that it still queues
    assert e.check(just_above) == (just_above == key)


def test_a_pool_just_above_the_load_is_too_small_in_many_seeds():
    """The lesson the question is about: in many seeds the smallest pool above the load still
    misses p99, so the answer that stops at the load's capacity is wrong."""
    short = [
        s
        for s in SEEDS
        if ex(lab05.smallest_pool, s).variant.answer
        > math.floor(load_by_hand(ex(lab05.smallest_pool, s).variant.params["median_ms"])) + 1
    ]
    assert len(short) >= 7


def test_a_two_second_run_would_pass_an_overloaded_pool():
    """Why the question runs 10 s: three connections at a 10 ms median serve 3 / 16.5 ms = 182
    queries/s against 200/s (load 3.3), yet a 2-second run can end before the queue has grown
    past the target (seed 999; with database/sql's random hand-off about one seed in 28 does,
    where with FIFO most did); 10 seconds show it."""
    assert load_by_hand(10.0) > 3
    kw = dict(db_median_ms=10.0, seed=999, db_pool=3)
    assert run_incident(HEALTHY, **kw).metrics["p99_ms"] <= P99_TARGET_MS
    assert run_incident(HEALTHY, seconds=lab05.POOL_SECONDS, **kw).metrics["p99_ms"] > 1000


# ---- predictions: the incident lab draws the question's own run (#17 item 1) ----------------

#: Each prediction, the metric its key bands, and the band edges.
PREDICTIONS = {
    "timeout_and_driver": "p99_ms",
    "threads_in_flight": "threads_peak",
    "one_p_frames": "dashboard_fps",
    "gogc_on_payload": None,  # keyed on the targets and the GC rate: its own test
}


def test_lab_5_has_eight_exercises_and_at_least_half_predict():
    """Seven seeded exercises and the graded change (Mystery.try_changes)."""
    import inspect

    from labkit.exercises.seeded import Variant

    made = [
        name
        for name, fn in inspect.getmembers(lab05, inspect.isfunction)
        if fn.__module__ == lab05.__name__
        and inspect.get_annotations(fn, eval_str=True).get("return") is Variant
    ]
    total = len(made) + 1  # + the graded change
    predicting = [n for n in made if ex(getattr(lab05, n), 0).variant.predict]
    assert total >= 8 and 2 * len(predicting) >= total
    assert set(predicting) == {*PREDICTIONS, "smallest_pool"}


@pytest.mark.parametrize("name", [*PREDICTIONS, "smallest_pool"])
def test_a_prediction_hides_its_figure_until_check(name):
    e = Exercise(getattr(lab05, name), seed=4)
    view = e.widget()
    assert e.variant.predict and view.figure is None
    view.answer(0 if e.variant.is_choice else 1)
    assert view.figure is not None and "labkit-truth" in view._truth.value


def _band_of_the_drawn_run(e, metric: str, edges) -> tuple:
    lab = e.variant.figure()
    return lab05.band(lab.result.metrics[metric], edges), lab


@pytest.mark.parametrize("seed", SEEDS)
def test_timeout_and_driver_key_is_the_band_of_the_drawn_run(seed):
    e = ex(lab05.timeout_and_driver, seed)
    v, p = e.variant, e.variant.params
    t = p["timeout_ms"]
    right, lab = _band_of_the_drawn_run(e, "p99_ms", (t, 2 * t))
    assert lab.params.db_driver == p["driver"] and lab.params.timeout_ms == t
    assert lab.params.db_timeout and lab.params.seed == p["seed"]
    assert v.answer == right and e.check(right)
    # the plausible mistakes: "the timeout bounds every query" behind a cgo driver, and "a
    # deadline never helps" behind the pure-Go one
    mistake = 1 if p["driver"] == "cgo" else 2
    assert right != mistake and not e.check(mistake)
    assert all("entersyscall" in e.feedback(i) for i in range(3) if i != right)


def test_a_cgo_query_outlives_its_deadline_and_a_pure_go_one_does_not():
    answers = {
        ex(lab05.timeout_and_driver, s).variant.params["driver"]: ex(
            lab05.timeout_and_driver, s
        ).variant.answer
        for s in SEEDS
    }
    assert answers == {"cgo": 2, "network": 1}


@pytest.mark.parametrize("seed", SEEDS)
def test_threads_in_flight_key_is_the_band_of_the_drawn_run(seed):
    e = ex(lab05.threads_in_flight, seed)
    v, p = e.variant, e.variant.params
    right, lab = _band_of_the_drawn_run(e, "threads_peak", lab05.THREAD_EDGES)
    assert lab.params.db_driver == p["driver"] and lab.params.seed == p["seed"]
    assert v.answer == right and e.check(right)
    threads = lab.result.metrics["threads_peak"]
    if p["driver"] == "cgo":  # a thread per query in flight: at least Little's law's mean
        assert threads >= p["load"] and not e.check(0)
    else:  # the netpoller holds no thread: about GOMAXPROCS
        assert threads <= lab.params.gomaxprocs + 2 and not e.check(1)
    assert not e.check(2)  # one thread per goroutine: never
    assert all("entersyscall" in e.feedback(i) for i in range(3) if i != right)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_p_frames_key_is_the_band_of_the_drawn_run(seed):
    e = ex(lab05.one_p_frames, seed)
    v, p = e.variant, e.variant.params
    right, lab = _band_of_the_drawn_run(e, "dashboard_fps", lab05.FPS_EDGES)
    assert lab.params.gomaxprocs == p["gomaxprocs"] and lab.params.payload_kb == p["payload_kb"]
    assert v.answer == right and e.check(right)
    # "the render loop has its own goroutine, so its frames are safe" is wrong on one P
    assert (p["gomaxprocs"] == 1) == (right == 0)
    assert all("run queue" in e.feedback(i) for i in range(3) if i != right)


@pytest.mark.parametrize("seed", SEEDS)
def test_gogc_on_payload_key_follows_the_drawn_run(seed):
    from labkit.scenarios.casestudy.causes import meets_targets

    e = ex(lab05.gogc_on_payload, seed)
    v, p = e.variant, e.variant.params
    lab = v.figure()
    base = CAUSES["huge_payload"].params(p["seed"]).replace(payload_kb=p["payload_kb"])
    assert lab.params == base.replace(gogc=p["gogc"])
    before = run_incident(base).metrics["gc_cycles_per_s"]
    ratio = lab.result.metrics["gc_cycles_per_s"] / before
    assert ratio == pytest.approx(p["ratio"]) and ratio < 1  # a higher GOGC: fewer cycles
    right = 0 if meets_targets(lab.result) else 1 if ratio < lab05.BARELY else 2
    said = ("both targets met", "far fewer GC cycles", "barely fewer GC cycles")  # as written
    assert v.choices[v.answer].startswith(said[right])  # (the choices are shuffled by seed)
    met = next(i for i, text in enumerate(v.choices) if text.startswith(said[0]))
    assert not e.check(met)  # the plausible mistake: GOGC fixes a service that allocates too much
    assert all("heapGoalInternal" in e.feedback(i) for i in range(3) if i != v.answer)


def test_band_can_say_each_thing():
    assert [lab05.band(x, (10.0, 20.0)) for x in (5.0, 10.0, 15.0, 25.0)] == [0, 1, 1, 2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_smallest_pool_figure_draws_the_p99_of_each_pool_tried(seed):
    v = ex(lab05.smallest_pool, seed).variant
    panel = v.figure()
    for pool, ms in v.params["p99_by_pool"].items():
        assert f"{pool}: {ms:.0f} ms" in panel.summary()
