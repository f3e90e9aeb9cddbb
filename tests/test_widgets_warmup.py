"""The start page's warm-up figure: the cycle rate is proportional to the frame rate, so the
figure only shows a change if its y axis stays put; a grey curve keeps the defaults for
comparison."""

from __future__ import annotations

import numpy as np

from labkit.widgets.warmup import PacerWarmup, gc_cycles_per_s


def test_a_slider_moves_the_curve_against_a_fixed_axis_and_reference():
    warm = PacerWarmup()
    scale = warm._curve.scales["y"]
    reference = np.asarray(warm._reference.y).copy()
    np.testing.assert_allclose(warm.curve_y, reference)  # the defaults: on the reference
    warm.set(gogc=200)
    assert np.all(warm.curve_y < reference)  # a longer runway: fewer cycles at every fps
    np.testing.assert_array_equal(warm._reference.y, reference)
    assert (scale.min, scale.max) == (0.01, 1000.0)


def test_the_fixed_axis_holds_every_slider_setting():
    warm = PacerWarmup()
    fps = PacerWarmup.FPS
    lowest = gc_cycles_per_s(fps, 1024, 768, warm._live.max, warm._gogc.max)
    highest = gc_cycles_per_s(fps, 1024, 768, warm._live.min, warm._gogc.min)
    scale = warm._curve.scales["y"]
    assert scale.min <= lowest.min() and highest.max() <= scale.max
