"""How long labkit.golab takes: model predictions (must feel live, well within 100 ms), the
fidelity table against recorded runs, and the overhead of one live run with a warm build cache.

    .venv/bin/python -m pytest benchmarks/bench_golab.py --benchmark-enable
"""

from __future__ import annotations

import pytest

import labkit.golab as golab
from labkit.golab.experiments import VARIANTS

pytest.importorskip("labkit.models.scheduler")


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=lambda v: str(v))
def test_model_prediction(benchmark, name, params):
    """One model prediction with the experiment's recorded parameters."""
    result = benchmark(golab.model_prediction, name, **params)
    assert result["source"] == "model"


def test_fidelity_table_recorded(benchmark):
    """The whole table against the recorded runs: every model prediction plus the rules."""
    rows = benchmark.pedantic(golab.fidelity_table, kwargs={"source": "recorded"}, rounds=3)
    assert rows


def test_live_run_overhead(benchmark):
    """run_experiment("spawn_order") live once the binary is built: process start and JSON."""
    if golab.go_toolchain() is None:
        pytest.skip("no Go toolchain")
    golab.run_experiment("spawn_order", source="live")  # build outside the timing
    result = benchmark.pedantic(
        golab.run_experiment, args=("spawn_order",), kwargs={"source": "live"}, rounds=5
    )
    assert result["source"] == "live"
