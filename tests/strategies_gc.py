"""Hypothesis strategies shared by the labkit.models.gcpacer and labkit.models.renderloop tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

MIB = 1 << 20

#: GOGC settings as a user may write them: a percentage, "off", None, or a negative number (off).
gogc_values = st.one_of(
    st.integers(min_value=0, max_value=1000),
    st.sampled_from(["off", None, -1, "100", "50"]),
)

#: GOGC percentages with the GC on.
gc_percents = st.integers(min_value=0, max_value=1000)

#: Heap-ish byte counts from empty to 4 GiB.
heap_sizes_bytes = st.integers(min_value=0, max_value=4 << 30)

#: GOMAXPROCS values a laptop or server may have.
gomaxprocs_values = st.integers(min_value=1, max_value=64)


@st.composite
def alloc_streams(draw) -> np.ndarray:
    """An allocation-rate stream (bytes/s per 10 ms step) of one of TestGcPacer's shapes."""
    steps = draw(st.integers(min_value=20, max_value=300))
    base = draw(st.floats(min_value=1.0, max_value=400.0)) * MIB
    shape = draw(st.sampled_from(["constant", "ramp", "oscillating", "random", "step"]))
    k = np.arange(steps, dtype=float)
    if shape == "constant":
        rates = np.full(steps, base)
    elif shape == "ramp":
        rates = base * (0.2 + k / steps)
    elif shape == "oscillating":
        rates = base * (1.0 + 0.8 * np.sin(2 * np.pi * k / 37.0))
    elif shape == "random":
        seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
        rates = base * np.random.default_rng(seed).uniform(0.0, 2.0, steps)
    else:
        rates = np.where(k < steps // 2, base, 3 * base)
    return rates


@st.composite
def gc_scenarios(draw) -> dict:
    """Keyword arguments for labkit.models.gcpacer.simulate_gc: a stream plus heap and machine settings."""
    return {
        "alloc_bytes_per_s": draw(alloc_streams()),
        "live_bytes": draw(st.integers(min_value=0, max_value=512 * MIB)),
        "gogc": draw(st.one_of(st.integers(min_value=0, max_value=400), st.just("off"))),
        "memory_limit": draw(
            st.one_of(st.none(), st.integers(min_value=8 * MIB, max_value=2 << 30))
        ),
        "gomaxprocs": draw(st.integers(min_value=1, max_value=16)),
        "stacks_bytes": draw(st.integers(min_value=0, max_value=8 * MIB)),
        "globals_bytes": draw(st.integers(min_value=0, max_value=4 * MIB)),
        "mutator_cpus": draw(st.floats(min_value=0.0, max_value=16.0)),
    }


@st.composite
def render_scenarios(draw) -> dict:
    """Small, fast keyword arguments for labkit.models.renderloop.simulate_frames."""
    return {
        "width": draw(st.integers(min_value=16, max_value=1920)),
        "height": draw(st.integers(min_value=16, max_value=1080)),
        "fps": draw(st.sampled_from([24, 30, 60, 120])),
        "seconds": draw(st.sampled_from([0.5, 1.0, 2.0])),
        "pooled": draw(st.booleans()),
        "gogc": draw(st.one_of(st.integers(min_value=0, max_value=400), st.just("off"))),
        "live_heap_mb": draw(st.floats(min_value=0.0, max_value=256.0)),
        "producers": draw(st.integers(min_value=0, max_value=8)),
        "gomaxprocs": draw(st.integers(min_value=1, max_value=8)),
        "seed": draw(st.integers(min_value=0, max_value=2**32)),
        "memory_limit_mb": draw(st.one_of(st.none(), st.floats(min_value=16.0, max_value=1024.0))),
        "draw_mode": draw(st.sampled_from(["single", "concurrent_locked", "concurrent_racy"])),
        "handoff": draw(st.sampled_from(["channel", "reuse"])),
    }
