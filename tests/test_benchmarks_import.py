"""Every benchmark script still imports: benchmarks are not run by the suite (timing is never
asserted there), so a rename in labkit would otherwise break them silently (browser_timings.py
imported ``labkit.schedlab`` for a week after the package's layout changed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def test_there_are_benchmarks():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_benchmark_imports(script: Path, monkeypatch):
    # As `python benchmarks/x.py` runs it: its folder on the path (opcodes_sched imports
    # bench_sched), and the module registered while it runs (dataclasses look it up).
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    name = f"_bench_{script.stem}"
    spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)  # module level only: the __main__ parts do not run
    # What it measures is said, and something runs it: pytest-benchmark tests, or a main.
    assert module.__doc__ and module.__doc__.strip(), f"{script.name} says nothing of itself"
    runs = [n for n in vars(module) if n.startswith("test_")] or [
        n for n in ("main",) if callable(getattr(module, n, None))
    ]
    assert runs or "__main__" in script.read_text(), f"{script.name} has nothing to run"
