"""Chapter 5b's prediction, answered by the real service's recorded runs: the key is the band
the recorded p99 with the fix falls in, every other band is refused with a hint that names the
wait, and the figure drawn after Check is the runs' latency by percentile, real and model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_exercises_ch04 import seeds_for

from labkit.exercises import ch05b
from labkit.exercises.seeded import Exercise


@pytest.mark.parametrize(
    ("p99", "before", "band"),
    [(4.0, 166.0, 0), (19.9, 30.0, 0), (20.0, 166.0, 1), (124.0, 166.0, 1), (125.0, 166.0, 2)],
)
def test_a_p99_falls_in_its_band(p99, before, band):
    assert ch05b.band(p99, before) == band


@pytest.mark.parametrize(("fix", "answer"), [("cache_json", 0), ("db_timeout", 1)])
def test_the_key_is_the_recorded_runs_band_and_other_bands_are_refused(fix, answer):
    ex = Exercise(ch05b.real_fix_p99, seed=seeds_for(ch05b.real_fix_p99, fix))
    v = ex.variant
    assert v.answer == answer
    assert v.params["p99_ms"] < v.params["before_p99_ms"]
    assert all(not ex.check(i) for i in range(len(v.choices)) if i != v.answer)
    assert all("database" in v.hints[i] for i in v.hints)
    view = ex.widget()
    assert view.figure is None  # predict first: nothing drawn before Check
    view.answer((v.answer + 1) % len(v.choices))
    assert len(view.figure.figure.marks) == 4  # no fix and the fix, real and model


def test_the_key_follows_the_recording(monkeypatch):
    """Were the recorded cache run as slow as the run without it, the key would change."""
    real = ch05b.recorded_run

    def slow_cache(service, **flags):
        run = real(service, **flags)
        if flags.get("cache_json"):
            records = run.records.copy()
            records[:, 1] = np.sort(real("dashboard").records[:, 1])[: len(records)]
            run = dataclasses.replace(run, records=records)
        return run

    monkeypatch.setattr(ch05b, "recorded_run", slow_cache)
    v = Exercise(ch05b.real_fix_p99, seed=seeds_for(ch05b.real_fix_p99, "cache_json")).variant
    assert v.answer == 2
