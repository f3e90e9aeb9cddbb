"""IncidentLab: the view re-runs the model on each change and shows before and after."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pytest

from labkit.scenarios.casestudy import run_incident
from labkit.widgets import IncidentLab
from labkit.widgets.incident_lab import LATENCY_BINS_PER_DECADE, latency_histogram, log_bin_edges


@pytest.fixture(scope="module")
def lab():
    return IncidentLab()


def test_starts_on_the_incident_with_before_equal_after(lab):
    """With no fix on, 'after' is the same run as 'before' (one run, not two)."""
    assert lab.result is lab.before
    assert lab.summary() == run_incident().summary()
    assert all(r["before"] == r["after"] for r in lab.table())


def test_toggling_a_fix_changes_table_and_latency_plot(lab):
    """Turning on the DB timeout changes the application row and the 'after' histogram."""
    old_bars = lab.latency_figure.marks[0].y.copy()
    lab.set(db_timeout=True)
    rows = {r["layer"]: r for r in lab.table()}
    assert rows["application"]["before"] != rows["application"]["after"]
    assert lab.result.metrics["p99_ms"] < lab.before.metrics["p99_ms"]
    assert (lab.latency_figure.marks[0].y != old_bars).any()
    assert "fixes: db_timeout" in lab.summary()
    lab.set(db_timeout=False)


def test_before_is_recomputed_only_when_other_knobs_move(lab):
    before = lab.before
    lab.set(cache_json=True)
    assert lab.before is before
    lab.set(clients=10)
    assert lab.before is not before and lab.before.params.clients == 10
    lab.set(cache_json=False, clients=20)


def test_unknown_control_is_named(lab):
    with pytest.raises(ValueError, match="nosuch"):
        lab.set(nosuch=1)


def test_latency_axis_labels_lie_on_its_log_scale(lab):
    """The latency histogram's x axis is a log scale over the bins' grid, labelled with the 1, 2
    and 5 of each decade inside it, all positive."""
    xs = lab.latency_figure.marks[0].scales["x"]
    ticks = lab.latency_figure.axes[0].tick_values
    assert isinstance(xs, bq.LogScale) and 0 < xs.min < xs.max
    assert len(ticks) >= 2 and (ticks >= xs.min).all() and (ticks <= xs.max).all()
    assert set(np.round(ticks / 10.0 ** np.floor(np.log10(ticks)), 9)) <= {1.0, 2.0, 5.0}


def test_latency_bins_are_a_fixed_log_grid_that_counts_every_finished_request():
    """Edges 10^(k/8) ms, the same grid whatever the runs (a bin keeps its place from one setting
    to the next); each run's counts add up to its finished requests, NaN (unfinished) left out,
    and a latency under the first edge counts in the first bin."""
    a = np.array([0.004, 3.0, 12.5, 990.0, np.nan])
    b = np.array([40.0, 41.0])
    edges, counts = latency_histogram(a, b)
    k = np.log10(edges) * LATENCY_BINS_PER_DECADE
    assert np.allclose(k, np.round(k)) and np.allclose(np.diff(k), 1.0)
    assert edges[0] <= 0.01 and edges[-1] > 990.0
    assert counts.shape == (2, edges.size - 1)
    assert counts[0].sum() == 4 and counts[1].sum() == 2 and counts[0][0] == 1
    assert np.array_equal(log_bin_edges(b), log_bin_edges(np.array([41.0, 40.0])))


def test_a_second_fix_shows_in_the_latency_histogram(lab):
    """With the DB timeout on (as chapter 5 leaves the lab), caching the JSON as well takes the
    median from ~41 to ~11 ms: the 'after' bars move. On a linear axis up to the unfixed run's
    ~2 s both runs sat in the first bin, and the histogram did not change at all."""
    lab.set(db_timeout=True)
    after_timeout = lab.latency_figure.marks[0].y[1].copy()
    centres_timeout = lab.latency_figure.marks[0].x.copy()
    lab.set(cache_json=True)
    after_both = lab.latency_figure.marks[0].y[1]
    centres_both = lab.latency_figure.marks[0].x

    def median_bin(centres, counts):
        return centres[np.searchsorted(np.cumsum(counts), counts.sum() / 2)]

    assert median_bin(centres_both, after_both) < 0.5 * median_bin(centres_timeout, after_timeout)
    assert (after_timeout > 0).sum() >= 3  # a spread, not one bar
    lab.set(cache_json=False, db_timeout=False)


def test_a_setting_revisited_is_not_run_again_and_is_the_same_run(lab):
    """The lab keeps its last runs by their parameters: toggling a fix back redraws the run it
    had, which is the run run_incident gives for those parameters, bit for bit."""
    lab.set(stream=True)
    with_stream = lab.result
    lab.set(stream=False)
    lab.set(stream=True)
    assert lab.result is with_stream
    fresh = run_incident(lab.params)
    assert np.array_equal(fresh.latency_ms, with_stream.latency_ms, equal_nan=True)
    assert fresh.metrics == with_stream.metrics
    lab.set(stream=False)


def test_the_kept_runs_are_bounded(lab):
    from labkit.widgets.incident_lab import RUN_CACHE

    for clients in range(11, 11 + RUN_CACHE + 2):
        lab.set(clients=clients)
    assert len(lab._runs) == RUN_CACHE
    assert lab.params in lab._runs
    lab.set(clients=20)


def test_a_new_setting_with_a_fix_on_draws_the_current_run_before_running_the_baseline(
    monkeypatch,
):
    """With a fix on, a new setting needs two runs: the current one and "before" (every fix
    off). The current run's summary, timeline and goroutine states are drawn as soon as it has
    run, before "before" runs, so a learner sees what they changed after one run, not two; the
    table and the latency histogram follow with the comparison."""
    import labkit.widgets.incident_lab as incident_lab

    lab = IncidentLab(db_timeout=True)
    seen = []

    def run(params):
        if not params.fixes():  # the baseline: what do the views show while it runs?
            current = lab._runs[lab.params]
            seen.append(
                (
                    lab._timeline._result is current.result,
                    f"{params.clients} dashboards" in lab._summary.value,
                )
            )
        return run_incident(params)

    monkeypatch.setattr(incident_lab, "run_incident", run)
    lab.set(clients=12)
    assert seen == [(True, True)]
    assert lab.before.params.clients == 12 and not lab.before.params.fixes()
    rows = {r["layer"]: r for r in lab.table()}
    assert rows["application"]["before"] != rows["application"]["after"]
    seen.clear()
    lab.set(db_timeout=False)  # "before" is kept: one run, nothing drawn twice
    lab.set(db_timeout=True)
    assert seen == []
