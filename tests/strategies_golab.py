"""Hypothesis strategies shared by the labkit.golab tests."""

from __future__ import annotations

from hypothesis import strategies as st

from labkit.golab.experiments import EXPERIMENTS, Param


def valid_value(p: Param) -> st.SearchStrategy:
    """Values ``p.check`` must accept."""
    if p.choices is not None:
        return st.sampled_from(p.choices)
    if isinstance(p.default, bool):
        return st.booleans()
    lo = p.minimum if p.minimum is not None else -1e6
    hi = p.maximum if p.maximum is not None else 1e6
    if isinstance(p.default, int):
        return st.integers(int(lo), int(hi))
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def invalid_value(p: Param) -> st.SearchStrategy:
    """Values ``p.check`` must reject: wrong type, out of range, not a choice."""
    wrong_type = st.sampled_from([None, [1], {"a": 1}, object()])
    options = [wrong_type]
    if isinstance(p.default, bool):
        options.append(st.sampled_from([0, 1, "yes", 1.0]))
    elif isinstance(p.default, int | float):
        options.append(st.sampled_from([float("nan"), float("inf"), "3", True]))
        if p.minimum is not None:
            options.append(st.floats(-1e9, p.minimum, exclude_max=True, allow_nan=False))
        if p.maximum is not None:
            options.append(st.floats(p.maximum, 1e12, exclude_min=True, allow_nan=False))
        if isinstance(p.default, int):
            options.append(st.sampled_from([1.5, 2.25]))
    if p.choices is not None:
        options.append(st.text(max_size=8).filter(lambda s: s not in p.choices))
    return st.one_of(options)


@st.composite
def experiment_params(draw) -> tuple[str, dict]:
    """An experiment name and a valid subset of its parameters."""
    name = draw(st.sampled_from(sorted(EXPERIMENTS)))
    exp = EXPERIMENTS[name]
    chosen = draw(st.lists(st.sampled_from(exp.params), unique_by=lambda p: p.name))
    return name, {p.name: draw(valid_value(p)) for p in chosen}


@st.composite
def bad_param(draw) -> tuple[str, str, object]:
    """An experiment, one of its parameters, and a value it must reject."""
    name = draw(st.sampled_from(sorted(EXPERIMENTS)))
    p = draw(st.sampled_from(EXPERIMENTS[name].params))
    return name, p.name, draw(invalid_value(p))
