"""Every lab widget has one shape (issue #14): built from a parameters record and overrides as
its model is, it shows ``.params`` (that record), ``.result`` (the run on screen), ``.error``,
``.controls`` and ``summary()``; ``set(**values)`` re-runs once; a bad value raises a
ParameterError at the call and changes nothing; every slider over a parameters field offers the
range that field declares for controls, so a control can never offer what the model refuses.
"""

from __future__ import annotations

import ipywidgets as w
import pytest

from labkit.errors import ParameterError
from labkit.models.renderloop import FrameParams
from labkit.scenarios.blindspots import LabParams
from labkit.scenarios.casestudy import IncidentParams
from labkit.widgets import FrameLab, IncidentLab, PoolTuner, SchedulerLab
from labkit.widgets._controls import param_slider

# (widget class, its parameters record, a small setting that runs fast, one field to change)
LABS = [
    (FrameLab, FrameParams, {"seconds": 1}, ("gomaxprocs", 2)),
    (SchedulerLab, LabParams, {"goroutines": 10, "hog_ms": 20.0}, ("gomaxprocs", 2)),
    (IncidentLab, IncidentParams, {"clients": 4}, ("gomaxprocs", 2)),
]


@pytest.fixture(params=LABS, ids=[cls.__name__ for cls, *_ in LABS])
def lab(request):
    cls, params_cls, small, change = request.param
    return cls(**small), params_cls, small, change


def test_a_lab_shows_its_record_its_run_and_its_controls(lab):
    widget, params_cls, small, _ = lab
    assert isinstance(widget.params, params_cls)
    assert widget.params.as_dict().items() >= small.items()
    assert widget.result is not None and widget.summary() == widget.result.summary()
    assert widget.error == ""
    assert all(isinstance(c, w.ValueWidget) for c in widget.controls.values())


def test_a_lab_takes_a_record_and_overrides_as_its_model_does(lab):
    widget, params_cls, small, (name, value) = lab
    record = params_cls.make(**small)
    again = type(widget)(record, **{name: value})
    assert again.params == record.replace(**{name: value})
    assert again.controls[name].value == value


def test_set_reruns_with_the_new_value_and_moves_its_control(lab):
    widget, _, _, (name, value) = lab
    widget.set(**{name: value})
    assert getattr(widget.params, name) == value and widget.controls[name].value == value


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"bogus": 1}, "bogus"),
        ({"gomaxprocs": "4"}, "gomaxprocs must be a whole number"),
        ({"gomaxprocs": 2.5}, "gomaxprocs must be a whole number"),
        ({"gomaxprocs": 0}, "gomaxprocs"),
    ],
    ids=["unknown-name", "a-string", "a-fraction", "out-of-range"],
)
def test_a_bad_value_raises_at_the_call_and_changes_nothing(lab, bad, message):
    widget, params_cls, small, _ = lab
    with pytest.raises(ParameterError, match=message):
        type(widget)(**small, **bad)
    shown, before = widget.result, widget.params
    with pytest.raises(ParameterError, match=message):
        widget.set(**bad)
    assert widget.result is shown and widget.params == before


def test_a_record_of_the_wrong_kind_is_refused_by_name(lab):
    widget, params_cls, *_ = lab
    with pytest.raises(ParameterError, match=f"params must be an? {params_cls.__name__}, got dict"):
        type(widget)({"gomaxprocs": 2})


def test_every_slider_over_a_field_offers_the_range_the_field_declares(lab):
    widget, params_cls, *_ = lab
    names = [n for n in params_cls.names() if params_cls.spec(n).get("ui") and n in widget.controls]
    assert len(names) >= 5, "most of the lab's sliders are over its record's fields"
    for name in names:
        lo, hi, step = params_cls.slider(name)
        control = widget.controls[name]
        assert (control.min, control.max, control.step) == (lo, hi, step), name
        spec = params_cls.spec(name)
        if spec.get("low") is not None:  # never more than the model takes
            assert spec["low"] <= lo and hi <= spec["high"], name
        else:  # a field with its own check (GOGC: a number or "off"): the ends must pass it
            params_cls.make(**{name: type(control.value)(lo)})
            params_cls.make(**{name: type(control.value)(hi)})


def test_the_slider_check_fails_on_a_slider_wider_than_its_field():
    """The comparison above can fail: a slider built by hand past LabParams' declared end is
    told apart from the one the lab builds."""
    built = param_slider(LabParams, "gomaxprocs", "GOMAXPROCS", label_em=11, width_em=26)
    by_hand = w.IntSlider(min=1, max=64, step=1)
    declared = LabParams.slider("gomaxprocs")
    assert (built.min, built.max, built.step) == declared
    assert (by_hand.min, by_hand.max, by_hand.step) != declared


def test_pool_tuner_controls_over_pool_params_fields_offer_their_declared_range():
    """The pool tuner's controls are named for the article's knobs (a burst in three parts, a
    floor and a ceiling where 0 means none); those named as a PoolParams field take its range."""
    from labkit.models.pool import PoolParams

    tuner = PoolTuner(duration_s=5.0)
    fields = [n for n in tuner.controls if n in PoolParams.names() and PoolParams.spec(n).get("ui")]
    assert len(fields) >= 10, "the tuner's sliders are over PoolParams fields"
    for name in fields:
        lo, hi, step = PoolParams.slider(name)
        c = tuner.controls[name]
        assert (c.min, c.max, c.step) == (lo, hi, step), name
