"""Chapter 4b's prediction (issue #17: predict, then see), answered by real Go: the key is how
p50 and p99 moved in the pool twin's shipped recording, and the figure drawn after Check is real
Go's latency curves beside the model's."""

from __future__ import annotations

import numpy as np
import pytest
from test_exercises_ch04 import seeds_for

from labkit.exercises import ch04b
from labkit.exercises.seeded import Exercise


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
    assert ch04b.move_of(*before, *after) == move


@pytest.mark.parametrize("variant", ["8 workers", "a goroutine per request"])
def test_the_pool_key_is_real_gos_move_and_every_other_choice_is_refused(variant):
    ex = Exercise(ch04b.pool_prediction, seed=seeds_for(ch04b.pool_prediction, variant))
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
    real = ch04b._real

    def fifo_like(name, **settings):
        run = real(name, **settings)
        if settings.get("workers") == 2 and settings.get("policy") == 0:
            return run
        lat = np.sort(run.output["latency_ms"])[::-1] * 0.5
        return type(run)(**{**run.__dict__, "output": {**run.output, "latency_ms": lat}})

    monkeypatch.setattr(ch04b, "_real", fifo_like)
    v = Exercise(ch04b.pool_prediction, seed=0).variant
    assert v.choices[v.answer] == "both p50 and p99 fall"
