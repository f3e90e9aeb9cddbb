"""A runtime/metrics histogram as Prometheus's Go collector exports it and histogram_quantile
reads it (labkit.golab.services.promhist)."""

from __future__ import annotations

import math

import pytest

from labkit.golab.services import recorded_run
from labkit.golab.services.errors import ServiceParameterError
from labkit.golab.services.promhist import exported_buckets, prometheus_quantile, rebucket_exp
from labkit.golab.services.result import histogram_delta, histogram_quantile


def test_rebucketing_keeps_edges_a_factor_apart():
    edges = [-math.inf, 0.0, 1.0, 2.0, 5.0, 9.0, 10.0, 30.0, 120.0, math.inf]
    assert rebucket_exp(edges, 10) == [-math.inf, 0.0, 1.0, 10.0, 120.0, math.inf]
    # Every edge above 1 s merges into +Inf: 6 s is the first kept, so it becomes +Inf.
    assert exported_buckets([0.5, 1.0, 6.0, 11.0, 200.0], "seconds") == [0.5, math.inf]
    assert exported_buckets([1.0, 2.0, 3.0, 4.0, 8.0], "bytes") == [1.0, 2.0, 4.0, 8.0]


def test_the_quantile_is_a_straight_line_across_its_bucket():
    edges, counts = [0.0, 1.0, 2.0, 4.0, 8.0], [10, 10, 10, 10]
    assert prometheus_quantile(0.5, edges, counts, [0.0, 2.0, 8.0]) == pytest.approx(2.0)
    assert prometheus_quantile(0.75, edges, counts, [0.0, 2.0, 8.0]) == pytest.approx(5.0)
    # With every edge kept, the same reading on the fine buckets: 3 inside [2, 4).
    assert prometheus_quantile(0.625, edges, counts, edges) == pytest.approx(3.0)
    # In the +Inf bucket histogram_quantile gives the highest finite bound.
    assert prometheus_quantile(0.99, [0.0, 1.0, math.inf], [1, 99], [0.0, 1.0, math.inf]) == 1.0
    assert math.isnan(prometheus_quantile(0.5, [0.0, 1.0], [0], [0.0, 1.0]))


def test_bad_histograms_are_refused_by_name():
    with pytest.raises(ServiceParameterError, match="must be some of the histogram's own"):
        prometheus_quantile(0.5, [0.0, 1.0, 2.0], [1, 1], [0.0, 1.5])
    with pytest.raises(ServiceParameterError, match="one edge more than its buckets"):
        prometheus_quantile(0.5, [0.0, 1.0], [1, 1], [0.0, 1.0])
    with pytest.raises(ServiceParameterError, match="q must be within 0-1"):
        prometheus_quantile(1.5, [0.0, 1.0], [1], [0.0, 1.0])


def test_the_collectors_buckets_alone_triple_the_render_loops_scheduling_p99():
    """The recorded render run's /sched/latencies: the runtime's own buckets bound its p99 by
    1.31 ms; the Go collector's edges (0.92 ms, 10.5 ms: powers of ten of the runtime's) and
    histogram_quantile's interpolation read the same counts as ~4.9 ms."""
    run = recorded_run("render")
    edges, counts = histogram_delta(
        run.metrics_before, run.metrics_after, "/sched/latencies:seconds"
    )
    new = exported_buckets(edges, "seconds")
    assert [round(e * 1e3, 2) for e in new if 1e-4 < e < 1] == [0.92, 10.49, 117.44]
    fine = histogram_quantile(edges, counts, 0.99)
    coarse = prometheus_quantile(0.99, edges, counts, new)
    assert fine * 1e3 == pytest.approx(1.31, abs=0.01)
    assert 3 * fine < coarse < 10.5e-3
