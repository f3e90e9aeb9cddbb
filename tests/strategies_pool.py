"""Hypothesis strategies for labkit.models.pool: random but small scenarios (a few thousand requests)."""

from __future__ import annotations

from hypothesis import strategies as st

from labkit.models.pool import POLICIES, SERVICE_KINDS


def _rate(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


cpu_bound = st.one_of(st.just(1.0), st.just(0.0), _rate(0.0, 1.0))
burst = st.one_of(
    st.none(),
    st.tuples(_rate(0.0, 600.0), _rate(0.05, 1.5), _rate(0.0, 2.0)),
)


@st.composite
def scenarios(draw, policies=POLICIES) -> dict:
    """Keyword arguments for simulate_pool: any policy, load from idle to overloaded."""
    workers = draw(st.integers(1, 10))
    kwargs = {
        "arrival_rate": draw(_rate(0.0, 400.0)),
        "service_ms": draw(_rate(0.2, 40.0)),
        "service": draw(st.sampled_from(SERVICE_KINDS)),
        "policy": draw(st.sampled_from(policies)),
        "workers": workers,
        "gomaxprocs": draw(st.integers(1, 8)),
        "duration_s": draw(_rate(0.3, 4.0)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "burst": draw(burst),
        "service_sigma": draw(_rate(0.1, 1.5)),
        "cpu_bound": draw(cpu_bound),
        "time_slice_ms": draw(_rate(0.5, 20.0)),
        "spawn_us": draw(_rate(0.0, 5.0)),
        "interval_ms": draw(_rate(5.0, 200.0)),
        "high_samples": draw(st.integers(1, 4)),
        "high_factor": draw(_rate(0.0, 3.0)),
        "grow_step": draw(st.integers(1, 3)),
        "shrink_step": draw(st.integers(1, 2)),
        "min_workers": draw(st.integers(1, workers)),
        "max_workers": draw(st.one_of(st.none(), st.integers(workers, workers + 12))),
        "sample_ms": draw(_rate(5.0, 250.0)),
    }
    return kwargs


def replayed_arrivals(max_size: int = 40, horizon_s: float = 2.0):
    """Sorted arrival times in seconds, possibly with several requests at one instant."""
    times = st.lists(st.one_of(st.just(0.0), _rate(0.0, horizon_s)), min_size=1, max_size=max_size)
    return times.map(sorted)
