"""Chapter 4's prediction (issue #17: predict, then see), answered by real Go: the key is what
the pipeline twin measured (its shipped recording), and the figure drawn after Check is that run
beside the model's. Chapter 4b's pool question: tests/test_exercises_ch04b.py."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.exercises import ch04
from labkit.exercises.seeded import Exercise
from labkit.golab.twins import run_twin


def seeds_for(function, variant: str) -> int:
    return next(
        s for s in range(20) if Exercise(function, seed=s).variant.params["variant"] == variant
    )


@pytest.mark.parametrize("variant", ["buffer 64", "one drawer"])
def test_the_pipeline_key_is_what_real_go_measured_and_the_pair_appears_after_check(variant):
    ex = Exercise(ch04.pipeline_prediction, seed=seeds_for(ch04.pipeline_prediction, variant))
    v = ex.variant
    settings = {"buffer 64": {"buffer": 64, "draw": 2}, "one drawer": {"buffer": 4, "draw": 1}}
    out = run_twin("pipeline", source="recorded", **settings[variant]).output
    real = np.mean(out["latency_ms"]) if variant == "buffer 64" else out["throughput_per_s"]
    assert v.answer == pytest.approx(real)
    view = ex.widget()
    assert view.figure is None
    view.answer(v.answer)
    assert view.figure.trace_view.box_count > 0 and view.figure.model_view.box_count > 0


def test_the_pipeline_rejects_the_plausible_mistakes():
    """Buffer 64: the latency unchanged (a bigger buffer does nothing), or every channel full
    (4 x 65 items at the same pace, ~800 ms). One drawer: the Ps' bound (364/s) or draw's
    old rate (500/s)."""
    big = Exercise(ch04.pipeline_prediction, seed=seeds_for(ch04.pipeline_prediction, "buffer 64"))
    p = big.variant.params
    assert big.check(big.variant.answer) and big.check(0.9 * big.variant.answer)
    for wrong in (p["base_ms"], 4 * 65 / p["throughput_per_s"] * 1000, 64 * 4.0):
        assert not big.check(wrong), wrong
    one = Exercise(ch04.pipeline_prediction, seed=seeds_for(ch04.pipeline_prediction, "one drawer"))
    assert one.check(250)
    for wrong in (364, 500, 2 * 1000 / 5.5, 125):
        assert not one.check(wrong), wrong
