"""The spread of reruns chapter 5b reads its fixes against (labkit.golab.services.reruns)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from labkit.golab.services.errors import RecordingError, ServiceParameterError
from labkit.golab.services.reruns import (
    FIX_SETTINGS,
    record_reruns,
    recorded_reruns,
    verdict,
)


def test_a_difference_is_real_only_when_the_reruns_do_not_overlap():
    assert verdict([4, 5, 6], [60, 90, 160]) == "lower"
    assert verdict([60, 90, 160], [4, 5, 6]) == "higher"
    # one run of each could look apart (64 < 88); their reruns overlap
    assert verdict([64, 100, 129], [88, 120, 166]) == "same"
    with pytest.raises(ServiceParameterError, match="at least one rerun"):
        verdict([], [1.0])


def test_recording_interleaves_the_settings_and_keeps_every_runs_p99(tmp_path):
    calls = []

    def fake_run(service, **kw):
        calls.append(tuple(sorted(k for k, v in kw.items() if v is True)))
        p99 = 5.0 if kw.get("cache_json") else 100.0 + len(calls)
        figures = {"p99_ms": p99, "gc_cycles": 40, "seconds": 5.0}
        return SimpleNamespace(figures=lambda: figures, meta={"recorded_on": "test"})

    data = record_reruns(3, path=tmp_path / "r.json", run=fake_run)
    assert len(calls) == 3 * len(FIX_SETTINGS)
    # round by round: each setting once before any setting twice
    assert calls[: len(FIX_SETTINGS)] == calls[len(FIX_SETTINGS) : 2 * len(FIX_SETTINGS)]
    assert data["p99_ms"]["cache_json"] == [5.0, 5.0, 5.0]
    assert data["gc_per_s"]["stream"] == [8.0, 8.0, 8.0]
    assert recorded_reruns(tmp_path / "r.json")["p99_ms"] == data["p99_ms"]
    with pytest.raises(ServiceParameterError, match="at least 2"):
        record_reruns(1, path=tmp_path / "x.json", run=fake_run)


def test_a_missing_or_broken_recording_is_refused_by_name(tmp_path):
    with pytest.raises(RecordingError, match="missing; record them again"):
        recorded_reruns(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(RecordingError, match="cannot be read"):
        recorded_reruns(bad)
    bad.write_text(json.dumps({"p99_ms": {"no fix": [1.0]}}), encoding="utf-8")
    with pytest.raises(RecordingError, match="at least two runs"):
        recorded_reruns(bad)


def test_the_shipped_reruns_tell_the_cache_from_no_fix_and_not_streaming():
    """Recorded on the course's machine: the cache's reruns all lie below no fix's; streaming's
    overlap them (it does not touch the queue for the pool)."""
    p99 = recorded_reruns()["p99_ms"]
    assert set(p99) == set(FIX_SETTINGS)
    assert verdict(p99["cache_json"], p99["no fix"]) == "lower"
    assert verdict(p99["stream"], p99["no fix"]) == "same"
