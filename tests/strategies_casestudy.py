"""Hypothesis strategies for the case study: small random incidents that run in ~50 ms.

The DB times and timeouts include a query far slower than the timeout (100 ms against 5 ms), so
that a run where every DB call times out, and no answer carries freshly read data, is drawn."""

from hypothesis import strategies as st

from labkit.scenarios.casestudy import IncidentParams


@st.composite
def incidents(draw) -> IncidentParams:
    return IncidentParams(
        clients=draw(st.integers(1, 12)),
        poll_ms=draw(st.sampled_from([50.0, 100.0, 200.0])),
        seconds=draw(st.sampled_from([0.4, 0.6])),
        payload_kb=draw(st.sampled_from([16.0, 64.0, 256.0])),
        db_median_ms=draw(st.sampled_from([2.0, 8.0, 20.0, 100.0])),
        db_sigma=draw(st.sampled_from([0.0, 0.5, 1.0])),
        db_pool=draw(st.integers(1, 6)),
        db_driver=draw(st.sampled_from(["network", "cgo"])),
        gomaxprocs=draw(st.integers(1, 4)),
        gogc=draw(st.sampled_from([50, 100, 200])),
        hot_loop_ms=draw(st.sampled_from([0.0, 0.0, 3.0])),
        cache_json=draw(st.booleans()),
        stream=draw(st.booleans()),
        db_timeout=draw(st.booleans()),
        timeout_ms=draw(st.sampled_from([5.0, 20.0, 50.0])),
        seed=draw(st.integers(0, 2**16)),
    )
