"""HockeyStickPlot draws what it is given: the model's rows as dots, the formulas as dashes,
the caption from the rows; wrong input is refused with what it needs."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.models.pool.queueing import hockey_stick
from labkit.widgets import HockeyStickPlot


@pytest.fixture(scope="module")
def rows():
    return hockey_stick([0.5, 0.8], duration_s=20.0, seed=1)


def test_the_dots_are_the_rows_and_the_dashes_the_curves(rows):
    rho = np.linspace(0.1, 0.9, 9)
    view = HockeyStickPlot(rows, rho, wait_curve_ms=rho * 2, p99_curve_ms=rho * 10)
    p99_line, wait_line, p99_dots, wait_dots = view.figure.marks
    assert list(p99_dots.x) == [r["utilisation"] for r in rows]
    assert list(p99_dots.y) == [r["p99_ms"] for r in rows]
    assert list(wait_dots.y) == [r["mean_wait_ms"] for r in rows]
    assert np.allclose(p99_line.y, rho * 10) and np.allclose(wait_line.y, rho * 2)
    assert view.summary().count("rho ") == 2


def test_wrong_input_is_refused(rows):
    with pytest.raises(ParameterError, match="hockey_stick"):
        HockeyStickPlot([], [0.5], [1.0], [2.0])
    with pytest.raises(ParameterError, match="missing"):
        HockeyStickPlot([{"utilisation": 0.5}], [0.5], [1.0], [2.0])
    with pytest.raises(ParameterError, match="as long as each other"):
        HockeyStickPlot(rows, [0.5, 0.6], [1.0], [2.0])
