"""labkit.params: every model's parameters are a frozen record that checks itself."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from labkit.errors import LabkitError, ParameterError
from labkit.models.gcpacer import GCParams, simulate_gc
from labkit.models.pipeline import PipelineParams
from labkit.models.pool import PoolParams
from labkit.models.renderloop import FrameParams, RenderConfigError, simulate_frames
from labkit.params import ModelParams, checked, choice, flag, number, whole
from labkit.scenarios.blindspots import LabParams
from labkit.scenarios.casestudy import IncidentParams

#: Every model's parameters record.
MODEL_PARAMS = (FrameParams, PoolParams, PipelineParams, GCParams, IncidentParams, LabParams)


class ToyError(ParameterError):
    """The toy model's own error."""


def _even(name, value, where, error):
    if value % 2:
        raise error(f"{where}: {name} must be even; got {value}")
    return value


@dataclasses.dataclass(frozen=True)
class Toy(ModelParams):
    error: ClassVar[type[ParameterError]] = ToyError

    procs: int = whole(4, 1, 64, ui=(1, 16, 1))
    rate: float = number(2.0, 0.0, 10.0, low_open=True, unit="ms")
    mode: str = choice("fifo", ("fifo", "lifo"))
    on: bool = flag(False)
    pair: int = checked(2, _even)

    def check_together(self) -> None:
        if self.on and self.mode == "lifo":
            raise self.error("Toy: on=True needs mode='fifo'")


def test_fields_are_checked_and_normalised_when_built():
    toy = Toy(procs=8, rate=3)
    assert toy.rate == 3.0 and isinstance(toy.rate, float)
    with pytest.raises(ToyError, match=r"Toy: procs must be between 1 and 64; got 65"):
        Toy(procs=65)
    with pytest.raises(ToyError, match=r"procs must be a whole number .* got '4' \(str\)"):
        Toy(procs="4")
    with pytest.raises(ToyError, match=r"rate must be > 0 ms"):
        Toy(rate=0)
    with pytest.raises(ToyError, match=r"mode must be one of 'fifo', 'lifo'; got 'random'"):
        Toy(mode="random")
    with pytest.raises(ToyError, match=r"on must be True or False; got 1"):
        Toy(on=1)
    with pytest.raises(ToyError, match=r"pair must be even; got 3"):
        Toy(pair=3)
    with pytest.raises(ToyError, match=r"on=True needs mode='fifo'"):
        Toy(on=True, mode="lifo")


def test_a_record_is_frozen_and_replace_checks_again():
    toy = Toy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        toy.procs = 2  # type: ignore[misc]
    assert toy.replace(procs=2).procs == 2 and toy.procs == 4
    with pytest.raises(ToyError, match="procs"):
        toy.replace(procs=0)


def test_make_takes_a_record_or_defaults_and_names_unknown_parameters():
    assert Toy.make() == Toy()
    assert Toy.make(Toy(procs=2), rate=1.0) == Toy(procs=2, rate=1.0)
    with pytest.raises(ToyError, match=r"unknown Toy parameter\(s\) 'proc'; the parameters are "):
        Toy.make(proc=2)
    with pytest.raises(ToyError, match=r"params must be a Toy, got dict"):
        Toy.make({"procs": 2})  # type: ignore[arg-type]


def test_every_parameter_error_is_a_labkit_error():
    with pytest.raises(LabkitError):
        Toy(procs=0)
    assert issubclass(RenderConfigError, ParameterError) and issubclass(ToyError, ValueError)


def test_declared_ranges_give_the_widgets_their_bounds():
    assert Toy.bounds("procs") == (1, 64)
    assert Toy.slider("procs") == (1, 16, 1)  # the declared ui range
    assert Toy.slider("rate") == (0.0, 10.0, 1)  # no ui range: the accepted one
    assert Toy.options("mode") == ("fifo", "lifo")
    with pytest.raises(ToyError, match="no parameter 'speed'"):
        Toy.spec("speed")
    with pytest.raises(ToyError, match="not a choice"):
        Toy.options("procs")
    with pytest.raises(ToyError, match="no declared range"):
        Toy.bounds("mode")


def test_every_control_range_lies_inside_what_the_model_accepts():
    """A slider must never offer a value its model refuses: every declared ui range of every
    model's parameters sits inside the accepted range."""
    for cls in (*MODEL_PARAMS, Toy):
        for f in dataclasses.fields(cls):
            ui = f.metadata.get("ui")
            if ui is None:
                continue
            low, high, step = ui
            spec = cls.spec(f.name)
            assert step > 0
            if spec.get("low") is not None:
                assert spec["low"] <= low, f.name
            if spec.get("high") is not None:
                assert high <= spec["high"], f.name
            for end in (low, high):  # both ends pass the field's own check
                f.metadata["check"](f.name, end, cls.__name__, cls.error)


def test_as_dict_and_changed_describe_a_run():
    toy = Toy(procs=2, mode="lifo")
    assert toy.as_dict() == {"procs": 2, "rate": 2.0, "mode": "lifo", "on": False, "pair": 2}
    assert toy.changed() == {"procs": 2, "mode": "lifo"}
    assert toy.changed(Toy(procs=2)) == {"mode": "lifo"}


def test_a_model_takes_its_record_or_overrides_and_returns_it():
    """simulate_x(params=None, **overrides): the record, overrides on top, and the result carries
    the record it ran with."""
    p = FrameParams(seconds=1.0, gogc=50)
    by_record = simulate_frames(p)
    by_override = simulate_frames(seconds=1.0, gogc=50)
    both = simulate_frames(FrameParams(seconds=1.0), gogc=50)
    assert by_record.params == p == by_override.params == both.params
    assert (by_record.frame_ms == by_override.frame_ms).all()
    with pytest.raises(RenderConfigError, match="unknown FrameParams parameter"):
        simulate_frames(frame_rate=30)


@pytest.mark.parametrize("cls", MODEL_PARAMS, ids=lambda c: c.__name__)
def test_every_model_record_refuses_a_wrong_type_by_name(cls):
    """Each model's record refuses a string where a number goes, naming the field, with the
    model's own ParameterError; and lists its fields for an unknown one."""
    for f in dataclasses.fields(cls):
        if f.metadata.get("kind") in ("int", "real"):
            with pytest.raises(cls.error, match=f.name):
                cls.make(**{f.name: "4"})
    with pytest.raises(cls.error, match="the parameters are"):
        cls.make(no_such_parameter=1)


def test_the_gc_model_takes_its_input_then_its_record():
    """simulate_gc(stream, params=None, **overrides): the allocation stream is the input, the
    rest is a GCParams the run carries; its summary is one line naming what differs."""
    stream = [200.0 * (1 << 20)] * 300
    run = simulate_gc(stream, GCParams(gogc=50), gomaxprocs=2)
    assert run.params == GCParams(gogc=50, gomaxprocs=2) and run.steps == 300
    line = run.summary()
    assert "\n" not in line and "gogc=50" in line and "gomaxprocs=2" in line
    assert line.startswith(f"GC {len(run.cycles)} cycles in 3 s")
