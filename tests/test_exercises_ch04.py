"""Chapter 4's predictions (issue #17: predict, then see), answered by real Go: each key is what
the twin measured (its shipped recording), and the figure drawn after Check is that run beside
the model's."""

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


@pytest.mark.parametrize(
    ("before", "after", "move"),
    [
        ((30, 150), (20, 210), 1),
        ((30, 150), (20, 100), 0),
        ((30, 150), (40, 100), 2),
        ((30, 150), (40, 200), 3),
        ((30, 150), (31, 155), 4),
        ((30, 150), (30, 200), 1),
    ],
)
def test_a_move_of_p50_and_p99_has_its_choice(before, after, move):
    assert ch04.move_of(*before, *after) == move


@pytest.mark.parametrize("variant", ["8 workers", "a goroutine per request"])
def test_the_pool_key_is_real_gos_move_and_every_other_choice_is_refused(variant):
    ex = Exercise(ch04.pool_prediction, seed=seeds_for(ch04.pool_prediction, variant))
    v = ex.variant
    assert v.choices[v.answer] == "p50 falls, p99 rises"
    assert all(not ex.check(i) for i in range(len(v.choices)) if i != v.answer)
    assert all("10 ms" in v.hints[i] for i in v.hints)
    view = ex.widget()
    assert view.figure is None
    view.answer((v.answer + 1) % len(v.choices))
    curves = view.figure
    assert len(curves.figure.marks) == 4  # real and model, pool of 2 and the other


def test_the_pool_key_follows_the_recording(monkeypatch):
    """Were real Go's tail not to grow (a recording of FIFO service), the key would change."""
    real = ch04._real

    def fifo_like(name, **settings):
        run = real(name, **settings)
        if settings.get("workers") == 2 and settings.get("policy") == 0:
            return run
        lat = np.sort(run.output["latency_ms"])[::-1] * 0.5
        return type(run)(**{**run.__dict__, "output": {**run.output, "latency_ms": lat}})

    monkeypatch.setattr(ch04, "_real", fifo_like)
    v = Exercise(ch04.pool_prediction, seed=0).variant
    assert v.choices[v.answer] == "both p50 and p99 fall"
