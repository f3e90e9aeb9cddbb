"""Real twins: the model scenario's program in Go, run with an execution trace, and the
recording shipped for machines without Go. Chapter 2 puts blind spot 2.5's twin beside the
model; here the recorded twin pins what real Go did, and the model must do the same."""

from __future__ import annotations

import numpy as np
import pytest

import labkit.sched.runtime as rt
from labkit.errors import LabkitError
from labkit.golab import run_twin, twin_source
from labkit.golab.twins import TWINS
from labkit.schedlab import PRESETS, run_lab


def test_a_twin_source_sets_its_scenario_variables():
    assert "var hogs = 1 " in twin_source("timer_stall", hogs=1)
    assert "var hogs = 2 " in twin_source("timer_stall")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("timer_stall", {"producers": 2}, "unknown setting"),
        ("timer_stall", {"hogs": 2.5}, "hogs must be a whole number"),
        ("timer_stall", {"hogs": 99}, "hogs must be between 0 and 8"),
        ("render_stall", {}, "unknown twin"),
    ],
)
def test_a_bad_twin_request_names_what_is_wrong(name, params, message):
    with pytest.raises(LabkitError, match=message):
        run_twin(name, source="recorded", **params)


def late_frames(late_ms, over_ms: float = 1.0) -> int:
    return int(np.sum(np.asarray(late_ms) > over_ms))


def test_the_recorded_stall_shows_the_timer_waiting_for_a_preemption():
    """Two hogs on two Ps: the first frames wake 10-20 ms late (a hog's preemption by sysmon);
    one hog: the idle P's thread wakes the timer on time."""
    stall = run_twin("timer_stall", source="recorded", hogs=2)
    fix = run_twin("timer_stall", source="recorded", hogs=1)
    late, on_time = stall.output["late_ms"], fix.output["late_ms"]
    assert len(late) == len(on_time) == 30
    assert late_frames(late) >= 8 and 10 < max(late) < 20
    assert late_frames(on_time) <= 1
    assert stall.trace.gomaxprocs == 2 and stall.source == "recorded"
    assert "recorded on" in stall.note


def _model_late(hogs: int) -> list[float]:
    preset = PRESETS["2.5"]
    params = preset.stall if hogs == 2 else preset.fix
    return list(run_lab(params).tick_lateness_ms)


def test_the_model_misses_as_many_frames_as_real_go():
    """The model's late frames (over 1 ms) are the recording's, within one frame: the stall's
    first ten, and none with a P free (the model's first fix frame is late for its own reason,
    a hog woken by a network event at start-up: chapter 2 says so)."""
    for hogs in (2, 1):
        real = run_twin("timer_stall", source="recorded", hogs=hogs).output["late_ms"]
        assert abs(late_frames(_model_late(hogs)) - late_frames(real)) <= 1


def test_a_model_with_a_longer_time_slice_misses_the_real_frame_lateness(monkeypatch):
    """forcePreemptNS at 30 ms: the model's frames wait ~2x longer than real Go's."""
    real = run_twin("timer_stall", source="recorded", hogs=2).output["late_ms"]
    monkeypatch.setattr(rt, "FORCE_PREEMPT_MS", 30.0)
    wrong = _model_late(2)
    assert max(wrong) > 1.5 * max(real)


@pytest.mark.go
def test_a_twin_runs_live_with_its_trace():
    from labkit.golab import go_toolchain

    if go_toolchain() is None:
        pytest.skip("no Go toolchain")
    run = run_twin("timer_stall", source="live", hogs=1)
    assert run.source == "live" and len(run.output["late_ms"]) == 30
    assert run.trace.gomaxprocs == TWINS["timer_stall"].gomaxprocs
    assert run.output["hogs"] == 1


def test_the_recorded_long_loop_starves_requests_only_without_async_preemption():
    stall = run_twin("long_loop", source="recorded", async_preempt=0).output["latency_ms"]
    fix = run_twin("long_loop", source="recorded", async_preempt=1).output["latency_ms"]
    assert len(stall) == len(fix) == 40
    assert np.percentile(stall, 50) > 150 and np.percentile(fix, 50) < 30


def test_the_models_long_loop_stall_has_real_gos_median_latency():
    """Preset 2.3's stall: the model's median request latency is real Go's within 10 %; a model
    that preempted the loop anyway (async preemption on) would be ten times off."""
    real = np.percentile(
        run_twin("long_loop", source="recorded", async_preempt=0).output["latency_ms"], 50
    )
    model = run_lab(PRESETS["2.3"].stall).metrics["p50_ms"]
    wrong = run_lab(PRESETS["2.3"].fix).metrics["p50_ms"]
    assert abs(model - real) <= 0.1 * real
    assert abs(wrong - real) > 0.5 * real


def test_a_twin_passes_its_godebug_setting():
    from labkit.golab.twins import TWINS

    twin = TWINS["long_loop"]
    assert twin.godebug["async_preempt"](0) == "asyncpreemptoff=1"
    assert twin.godebug["async_preempt"](1) == "asyncpreemptoff=0"
    assert "var async_preempt" not in twin_source("long_loop")
