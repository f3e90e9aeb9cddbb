"""Speed of the frame pipeline and pacer models (the widget re-simulates on every slider move).

Run: .venv/bin/python -m pytest benchmarks/bench_render.py --benchmark-enable -p no:nbval
"""

from __future__ import annotations

import numpy as np

from labkit.models.gcpacer import simulate_gc
from labkit.models.renderloop import simulate_frames

MIB = 1 << 20


def test_default_call(benchmark):
    """The fixed call the frame lab makes: 10 s at 60 fps, allocation per frame."""
    r = benchmark(
        simulate_frames,
        width=1024,
        height=768,
        fps=60,
        seconds=10,
        pooled=False,
        gogc=100,
        live_heap_mb=64,
        producers=4,
        gomaxprocs=4,
        seed=0,
    )
    assert r.frame_ms.size == 600


def test_pooled(benchmark):
    """sync.Pool reuse: few GC cycles, so mostly the per-frame loop."""
    benchmark(simulate_frames, pooled=True)


def test_low_gogc(benchmark):
    """GOGC=10: about 20 cycles per second, marking much of the time (many revise steps)."""
    benchmark(simulate_frames, gogc=10)


def test_tight_memory_limit(benchmark):
    """GOMEMLIMIT just above the live heap: the slowest setting a slider can reach quickly."""
    benchmark(simulate_frames, memory_limit_mb=80)


def test_simulate_gc_20_s(benchmark):
    """The pacer alone: 20 s of 100 MiB/s in 10 ms steps."""
    benchmark(simulate_gc, np.full(2000, 100.0 * MIB), live_bytes=64 * MIB, gomaxprocs=8)
