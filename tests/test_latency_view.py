"""LatencyPercentiles: one curve per run, latency at each percentile, and a still without a
kernel; bad runs are refused with what to pass."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.widgets import LatencyPercentiles
from labkit.widgets.latency import PERCENTILES
from labkit.widgets.picture import picture


def test_each_curve_is_its_runs_latency_at_each_percentile():
    fast, slow = np.arange(1.0, 101.0), np.arange(1.0, 101.0) * 3
    view = LatencyPercentiles([("fast", fast, False), ("slow", slow, True)], pairs=True)
    lines = view.figure.marks
    assert np.allclose(lines[0].y, np.percentile(fast, PERCENTILES))
    assert np.allclose(lines[1].y, 3 * lines[0].y)
    assert lines[0].colors == lines[1].colors  # a pair shares its colour ...
    assert (lines[0].line_style, lines[1].line_style) == ("solid", "dashed")  # ... not its dash
    assert "slow: p50 151.5 ms" in view.summary()


def test_the_still_draws_every_curve():
    view = LatencyPercentiles([("a", [1.0, 2.0, 3.0], False), ("b", [2.0, 4.0, 9.0], True)])
    svg = picture(view)
    assert svg.count("stroke-dasharray") >= 1 and "latency (ms)" in svg and "percentile" in svg


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([], "runs is empty"),
        ([("x", [], False)], "run 'x' needs a non-empty list"),
        ([("x", [1.0, float("nan")], False)], "finite latencies"),
    ],
)
def test_bad_runs_are_refused_with_what_to_pass(runs, message):
    with pytest.raises(ParameterError, match=message):
        LatencyPercentiles(runs)
