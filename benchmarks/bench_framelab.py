"""Speed of the frame lab: a control change re-simulates and redraws (target: well under 100 ms).

Run: .venv/bin/python -m pytest benchmarks/bench_framelab.py --benchmark-enable -p no:nbval

The widget's own Python side is measured (simulate_frames + data for all marks + summary); the
browser's part (key press -> redrawn SVG) is timed by tests/browser/test_ch01b.py and appended to
test-artifacts/browser/timings.jsonl.
"""

from __future__ import annotations

import pytest

from labkit.widgets.framelab import FrameLab


@pytest.fixture(scope="module")
def lab() -> FrameLab:
    return FrameLab()


def _toggle(lab: FrameLab, name: str, a, b):
    state = {"v": a}

    def move():
        state["v"] = b if state["v"] == a else a
        lab.controls[name].value = state["v"]

    return move


def test_gogc_slider_default_scenario(benchmark, lab):
    """Defaults (1024x768, 60 fps, 10 s, 64 MiB live, GOMAXPROCS=4): GOGC 100 <-> 110."""
    benchmark(_toggle(lab, "gogc", 100, 110))
    assert lab.error == ""


def test_pooling_toggle(benchmark, lab):
    """The pooling toggle: allocate per frame <-> sync.Pool (alternating)."""
    benchmark(_toggle(lab, "pooled", False, True))


def test_stall_scenario_gomaxprocs_2(benchmark):
    """The chapter's stall: GOMAXPROCS=2 (the fractional mark worker and heavy assists)."""
    lab = FrameLab(gomaxprocs=2)
    benchmark(_toggle(lab, "gogc", 100, 110))


def test_small_heap_many_cycles(benchmark):
    """Worst default-length case the chapter shows: a near-empty heap, a GC cycle per frame."""
    lab = FrameLab(live_heap_mb=0.0)
    benchmark(_toggle(lab, "gogc", 100, 110))
