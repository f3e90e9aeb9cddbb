"""Speed of the scheduler lab: what a slider move costs (simulate + redraw of the three plots).

Run: python3 course.py bench -k schedlab
The browser tests add the in-browser time from key press to redrawn SVG to
test-artifacts/browser/timings.jsonl; benchmarks/README.md records both.
"""

from __future__ import annotations

import pytest

from labkit.scenarios.blindspots import PRESETS, LabParams, run_lab
from labkit.widgets.scheduler_lab import SchedulerLab


def test_default_scenario_simulate_only(benchmark):
    """The lab's default program: 4 Ps, 60 requests, one 100 ms tight loop."""
    run = benchmark(run_lab, LabParams())
    assert run.metrics["unfinished"] == 0


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_preset_stall_simulate_only(benchmark, key):
    benchmark(run_lab, PRESETS[key].stall)


def test_slider_move_simulate_and_redraw(benchmark):
    """What one GOMAXPROCS key press costs in the kernel: re-run + update all marks."""
    lab = SchedulerLab()
    values = iter([2, 3, 4, 5] * 1000)
    benchmark(lambda: lab.set(gomaxprocs=next(values)))
