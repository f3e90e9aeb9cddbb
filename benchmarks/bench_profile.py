"""How long labkit.profiles takes on a big profile (the brief: a 1 MB gzipped profile in < 1 s).

Run: .venv/bin/python -m pytest benchmarks/bench_profile.py --benchmark-enable -p no:nbval
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit.profiles import Profile, load_profile

#: About the size of a busy server's 30 s CPU profile: many distinct, deep stacks.
N_FUNCTIONS = 3000
N_STACKS = 40_000
SEED = 6


def big_profile_bytes(target_bytes: int = 1 << 20) -> bytes:
    """A gzip pprof profile of about target_bytes (seeded: the same bytes every run).

    Stacks are random walks down a fixed call tree (each function calls one of a few others), so
    they share prefixes and compress about as well as a real CPU profile does (4-6x): 1 MB of gzip
    is several MB of protobuf and tens of thousands of samples.
    """
    rng = np.random.default_rng(SEED)
    names = [f"pkg{i % 40}.(*Type{i % 7}).method{i}" for i in range(N_FUNCTIONS)]
    stacks: dict[tuple[str, ...], tuple[int, int]] = {}
    data = b""
    while len(data) < target_bytes:
        for _ in range(N_STACKS // 4):
            depth = int(rng.integers(8, 48))
            steps = rng.integers(1, 4, size=depth)
            node, frames = 0, []
            for step in steps:
                node = (node * 3 + int(step)) % N_FUNCTIONS
                frames.append(names[node])
            count = int(rng.integers(1, 50))
            stacks[tuple(frames)] = (count, count * 10_000_000)
        profile = Profile.from_stacks(
            stacks, [("samples", "count"), ("cpu", "nanoseconds")], period=10_000_000
        )
        data = profile.to_pprof()
    return data


@pytest.fixture(scope="module")
def big() -> bytes:
    return big_profile_bytes()


def test_load_1mb_gzipped_pprof(benchmark, big):
    """Decode + validate a ~1 MB gzip profile (target: well under 1 s)."""
    profile = benchmark(load_profile, big)
    assert len(big) >= 1 << 20
    assert profile.total("samples") > 0


def test_top_of_big_profile(benchmark, big):
    """top() over every stack of the big profile."""
    profile = load_profile(big)
    rows = benchmark(profile.top, 20)
    assert len(rows) == 20


def test_load_recorded_cpu_profile(benchmark):
    """The small real CPU profile the course ships: what a notebook cell pays."""
    from pathlib import Path

    path = Path(__file__).parent.parent / "tests" / "data" / "profiles" / "cpu.pb.gz"
    profile = benchmark(load_profile, path)
    assert profile.total() > 0
