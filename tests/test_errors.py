"""One error family: every bad input to a public function or widget raises a LabkitError (a
ValueError) at the call, naming the parameter, instead of a TypeError from deep inside numpy or
traitlets, or a silently different value."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import labkit
from labkit.errors import EvidenceError, LabkitError, ParameterError
from labkit.validation import check_choice, check_flag, check_int, check_real

# Exceptions that never leave labkit: a decoder raises them and its caller turns them into a
# ProfileError / TraceError with the source's name (tests/test_profile_errors.py and
# tests/test_trace_errors.py feed the decoders broken input).
INTERNAL = {
    "labkit.profiles.pprof.WireError",
    "labkit.profiles.legacy.Malformed",
    "labkit.profiles.legacy.Unrecognized",
    "labkit.traces.wire.Malformed",
}


def _labkit_exceptions() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(labkit.__path__, "labkit."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Exception)
                and not issubclass(obj, Warning)
                and obj.__module__ == info.name
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_exception_labkit_raises_is_a_labkit_error():
    exceptions = _labkit_exceptions()
    assert "labkit.models.renderloop.RenderConfigError" in exceptions  # the walk finds them
    outside = sorted(n for n, cls in exceptions.items() if not issubclass(cls, LabkitError))
    assert set(outside) <= INTERNAL, outside


def test_the_family_is_a_value_error_and_the_artefact_errors_share_one_shape():
    from labkit.profiles import ProfileError
    from labkit.traces import TraceError

    assert issubclass(LabkitError, ValueError)
    for cls in (ProfileError, TraceError):
        e = cls("trace.out", "is truncated", "record it again")
        assert isinstance(e, EvidenceError)
        assert str(e) == "trace.out: is truncated. record it again"
        assert (e.source, e.problem, e.hint) == ("trace.out", "is truncated", "record it again")


def test_a_go_run_failure_is_also_a_runtime_error():
    from labkit.golab import GoRunError

    assert issubclass(GoRunError, LabkitError) and issubclass(GoRunError, RuntimeError)


# ---- the checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["4", 2.5, True, None, 4 + 0j])
def test_an_int_parameter_refuses_what_is_not_a_whole_number(bad):
    with pytest.raises(ParameterError, match=r"gomaxprocs must be a whole number"):
        check_int("gomaxprocs", bad, 1, 256)


@pytest.mark.parametrize("bad", ["1.5", True, float("nan"), float("inf"), None])
def test_a_real_parameter_refuses_what_is_not_a_finite_number(bad):
    with pytest.raises(ParameterError, match=r"work_ms must be a (finite )?number"):
        check_real("work_ms", bad, 0, 10)


def test_the_checks_return_the_value_and_state_the_range():
    import numpy as np

    assert check_int("n", np.int64(3), 0, 5) == 3 and type(check_int("n", 3, 0, 5)) is int
    assert check_real("x", 2, 0, 5) == 2.0
    assert check_choice("mode", "a", ("a", "b")) == "a" and check_flag("f", False) is False
    with pytest.raises(ParameterError, match=r"run_lab: n must be between 0 and 5; got 6"):
        check_int("n", 6, 0, 5, where="run_lab")
    with pytest.raises(ParameterError, match=r"x must be > 0 ms and <= 5 ms; got 0"):
        check_real("x", 0, 0, 5, low_open=True, unit="ms")
    with pytest.raises(ParameterError, match=r"mode must be one of 'a', 'b'; got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(ParameterError, match=r"f must be True or False; got 1"):
        check_flag("f", 1)


# ---- the bad inputs issue 14 lists, and their kind elsewhere -----------------------------------


def _run_lab(**kw):
    from labkit.scenarios.blindspots import run_lab

    return run_lab(**kw)


def _scheduler_lab(**kw):
    from labkit.widgets import SchedulerLab

    return SchedulerLab(**kw)


def _pool_tuner(**kw):
    from labkit.widgets import PoolTuner

    return PoolTuner(**kw)


def _incident_lab(**kw):
    from labkit.widgets import IncidentLab

    return IncidentLab(**kw)


def _pacer_warmup(**kw):
    from labkit.widgets import PacerWarmup

    return PacerWarmup(**kw)


def _lab_params(**kw):
    from labkit.scenarios.blindspots import LabParams

    return LabParams(**kw)


def _simulate_frames(**kw):
    from labkit.models.renderloop import simulate_frames

    return simulate_frames(**kw)


BAD_INPUTS = [
    (_run_lab, {"gomaxprocs": "4"}, "gomaxprocs must be a whole number"),
    (_run_lab, {"goroutines": 2.5}, "goroutines must be a whole number"),
    (_run_lab, {"seed": -1}, "seed must be between 0"),
    (_run_lab, {"until_ms": 0}, "until_ms must be > 0"),
    (_run_lab, {"gomaxprocs": 2, "bogus": 1}, "unknown LabParams parameter"),
    (_run_lab, {"yield_mode": "sleep"}, "yield_mode must be one of"),
    (_run_lab, {"hog_calls": "yes"}, "hog_calls must be True or False"),
    (_lab_params, {"tick_ms": 0}, "tick_ms must be > 0"),
    (_scheduler_lab, {"preset": "9.9"}, "preset must be one of"),
    (_scheduler_lab, {"params": {"gomaxprocs": 2}}, "params must be a LabParams"),
    (_scheduler_lab, {"params": "lab"}, "params must be a LabParams"),
    (_pool_tuner, {"policy": "x"}, "policy must be one of"),
    (_pool_tuner, {"workers": 0}, "workers goes from 1 to 64"),
    (_pool_tuner, {"workers": 1000}, "workers goes from 1 to 64"),
    (_pool_tuner, {"arrival_rate": -5}, "arrival_rate goes from 0"),
    (_pool_tuner, {"workers": 2.5}, "workers must be a whole number"),
    (_pool_tuner, {"bogus": 1}, "unknown control"),
    (_incident_lab, {"params": {"clients": 3}}, "params must be an IncidentParams"),
    (_pacer_warmup, {"width": "x"}, "width must be a whole number"),
    (_pacer_warmup, {"height": 0}, "height must be between 1"),
    (_simulate_frames, {"fps": "60"}, "fps must be a number"),
    (_simulate_frames, {"gomaxprocs": 1.5}, "gomaxprocs must be a whole number"),
    (_simulate_frames, {"draw_mode": "fast"}, "draw_mode must be one of"),
]


@pytest.mark.parametrize(
    ("call", "kwargs", "message"),
    BAD_INPUTS,
    ids=[f"{c.__name__.strip('_')}-{k}" for c, k, _ in BAD_INPUTS],
)
def test_a_bad_input_is_a_labkit_error_that_names_the_parameter(call, kwargs, message):
    with pytest.raises(LabkitError, match=message):
        call(**kwargs)


def test_a_scheduler_lab_value_its_slider_cannot_show_is_refused_not_clamped():
    """LabParams accepts 64 Ps; the lab's slider ends at 8: refuse 64 rather than run 8."""
    from labkit.scenarios.blindspots import LabParams
    from labkit.widgets import SchedulerLab

    with pytest.raises(ParameterError, match=r"gomaxprocs goes from 1 to 8 in this lab; got 64"):
        SchedulerLab(LabParams(gomaxprocs=64))
    lab = SchedulerLab(LabParams(gomaxprocs=2, goroutines=20))
    with pytest.raises(ParameterError, match=r"gomaxprocs goes from 1 to 8"):
        lab.set(gomaxprocs=64)
    assert lab.params.gomaxprocs == 2  # nothing changed


def test_every_preset_fits_the_scheduler_labs_controls():
    from labkit.scenarios.blindspots import PRESETS
    from labkit.widgets import SchedulerLab

    lab = SchedulerLab()
    for key in PRESETS:
        for variant in ("stall", "fix"):
            lab.choose(key, variant)  # raises if a preset holds a value a control cannot show


def test_the_package_lists_its_parts_and_the_error_family():
    """dir(labkit) (tab completion) shows the lazily loaded submodules and the error family; the
    package has no ``version`` function beside ``__version__`` to confuse with it."""
    names = dir(labkit)
    for part in ("models", "scenarios", "traces", "widgets", "LabkitError", "ParameterError"):
        assert part in names
    assert labkit.LabkitError is LabkitError
    assert not hasattr(labkit, "version")
