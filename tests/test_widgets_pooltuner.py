"""The pool tuner is a thin view: its marks hold the PoolResult's arrays, set() re-runs once,
and the comparison lists every policy on the same seeded requests."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.models.pool import POLICIES, compare_policies, simulate_pool
from labkit.widgets import PoolTuner
from labkit.widgets.pooltuner import CDF_LEVELS, DEFAULTS, cdf_points, decade_ticks, latency_bins


@pytest.fixture(scope="module")
def tuner() -> PoolTuner:
    return PoolTuner(duration_s=10.0)


def test_the_widget_runs_the_model_with_its_controls(tuner):
    """What the widget shows is simulate_pool with the controls' values, nothing added."""
    tuner.set(policy="static", workers=4, arrival="bursty", seed=0)
    expected = simulate_pool(tuner.params)
    r = tuner.result
    assert r.summary() == expected.summary() == tuner.summary()
    np.testing.assert_array_equal(r.latency_ms, expected.latency_ms)
    assert r.params.burst is not None and r.params.burst.rate == DEFAULTS["burst_rate"]


def test_marks_hold_the_result_arrays(tuner):
    """Time series are drawn as they are; the CDF is the latency quantiles; p50/p99 markers sit
    at the result's percentiles."""
    r = tuner.result
    np.testing.assert_array_equal(tuner._queue_line.x, r.t_s)
    np.testing.assert_array_equal(tuner._queue_line.y, r.queue_depth)
    np.testing.assert_array_equal(tuner._runq_line.y, r.run_queue_depth)
    np.testing.assert_array_equal(tuner._workers_line.y, r.workers)
    np.testing.assert_array_equal(tuner._busy_line.y, r.busy_workers)
    np.testing.assert_array_equal(tuner._procs_line.y, [r.params.gomaxprocs] * 2)
    lo = tuner._cdf_scale.min
    np.testing.assert_allclose(tuner._cdf.x, np.maximum(np.quantile(r.latency_ms, CDF_LEVELS), lo))
    np.testing.assert_array_equal(tuner._cdf.y, CDF_LEVELS)
    assert lo <= np.quantile(r.latency_ms, 0.01) and tuner._cdf_scale.max >= r.max_latency_ms
    assert list(tuner._p50_mark.x) == [r.p50_ms] * 2
    assert list(tuner._p99_mark.x) == [r.p99_ms] * 2
    mid, p50, p99 = latency_bins(r)
    np.testing.assert_array_equal(tuner._lat_p99.x, mid)
    np.testing.assert_array_equal(tuner._lat_p99.y, p99)
    assert "p99 = " in tuner._legend_cdf.value


def test_set_reruns_once_with_the_new_values(tuner):
    """set() changes several controls and re-runs once; the summary names the new inputs."""
    calls = []
    original = tuner._update
    tuner._update = lambda: (calls.append(1), original())
    try:
        tuner.set(policy="adaptive", workers=2, max_workers=32, seed=5)
    finally:
        tuner._update = original
    assert calls == [1]
    r = tuner.result
    assert (r.params.policy, r.params.workers, r.params.max_workers, r.params.seed) == (
        "adaptive",
        2,
        32,
        5,
    )
    assert "adaptive pool 2..32 (start 2)" in tuner.summary()
    assert "seed 5" in tuner.summary()
    np.testing.assert_array_equal(tuner._workers_line.y, r.workers)
    assert r.workers.max() > 2  # the watchdog grew the pool in the bursts


def test_a_moved_control_reruns(tuner):
    """A control change (as from a slider release) re-runs and redraws."""
    tuner.set(policy="static", workers=4)
    before = tuner.result
    tuner._controls["workers"].value = 6
    assert tuner.result is not before
    assert tuner.result.params.workers == 6
    np.testing.assert_array_equal(tuner._workers_line.y, tuner.result.workers)


def test_compare_lists_every_policy_on_the_same_requests(tuner):
    """The comparison is compare_policies on the controls' arguments: same seed, same arrivals,
    one row per policy, also shown as an HTML table."""
    tuner.set(policy="static", workers=4, seed=1)
    rows = tuner.compare()
    assert [row["policy"] for row in rows] == list(POLICIES)
    kwargs = tuner.params.as_dict()
    del kwargs["policy"]
    assert rows == compare_policies(POLICIES, **kwargs)
    assert len({row["arrivals"] for row in rows}) == 1
    table = tuner._compare_html.value
    for name in ("static pool", "goroutine per request", "adaptive (watchdog)"):
        assert name in table
    assert f"{rows[0]['p99_ms']:.1f}" in table
    tuner.set(seed=2)  # the table is marked stale, not silently wrong
    assert "Settings changed" in tuner._compare_html.value


def test_controls_outside_the_models_rules_are_explained():
    """A floor above the start size is capped and a ceiling below it raised, with a note; 0 means
    the start size (floor) and no ceiling."""
    t = PoolTuner(policy="adaptive", workers=4, min_workers=8, max_workers=2, duration_s=5.0)
    assert (t.params.min_workers, t.params.max_workers) == (4, 4)
    assert "floor capped" in t._note.value and "ceiling raised" in t._note.value
    t.set(min_workers=0, max_workers=0)
    assert (t.params.min_workers, t.params.max_workers) == (4, None)


def test_poisson_hides_the_burst_controls_and_drops_the_burst():
    t = PoolTuner(arrival="poisson", duration_s=5.0)
    assert t.params.burst is None
    assert t._burst_box.layout.display == "none"
    assert t._adaptive_box.layout.display == "none"
    t.set(policy="adaptive")
    assert t._adaptive_box.layout.display == ""


def test_unknown_controls_are_refused():
    with pytest.raises(ValueError, match="unknown control"):
        PoolTuner(wokers=4)
    t = PoolTuner(duration_s=5.0)
    with pytest.raises(ValueError, match="unknown control"):
        t.set(polcy="static")


def test_a_model_error_is_shown_not_raised():
    """The model refuses a run (here: more requests than it will simulate); the widget says why
    in the summary instead of leaving a stale picture."""
    t = PoolTuner(duration_s=5.0)
    t.set(arrival="poisson", arrival_rate=1000.0, duration_s=60.0)
    assert t.result is not None
    from labkit.models.pool import params as pool_params

    limit = pool_params.MAX_REQUESTS
    try:
        pool_params.MAX_REQUESTS = 1000
        t.set(seed=3)
    finally:
        pool_params.MAX_REQUESTS = limit
    assert t.result is None
    assert "no run" in t._summary.value and "duration_s" in t._summary.value


def test_latency_bins_are_nearest_rank_percentiles_per_bin():
    r = simulate_pool(duration_s=4.0, seed=3)
    mid, p50, p99 = latency_bins(r, bins=4)
    np.testing.assert_allclose(mid, [0.5, 1.5, 2.5, 3.5])
    first = np.sort(r.latency_ms[r.arrival_s < 1.0])
    assert p50[0] == first[int(np.floor(0.5 * (first.size - 1)))]
    assert p99[0] == first[int(np.floor(0.99 * (first.size - 1)))]


def test_the_cdf_axis_spans_whole_decades_from_the_first_percentile():
    """A few near-zero latencies (exponential service) must not stretch the log axis."""
    lat = np.array([0.0001, 3.0, 5.0, 8.0, 40.0, 250.0] * 50)
    x, lo, hi = cdf_points(lat)
    assert (lo, hi) == (0.01, 1000.0)
    assert x.min() == lo and x.max() == 250.0
    assert decade_ticks(lo, hi) == pytest.approx([0.01, 0.1, 1.0, 10.0, 100.0, 1000.0])
