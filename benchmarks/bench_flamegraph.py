"""Flame-graph speed: build, zoom re-layout (target: under 50 ms, benchmarks/README.md) and a
widget redraw.

    .venv/bin/python -m pytest benchmarks/bench_flamegraph.py --benchmark-enable -p no:nbval

The large profile is generated here (94,000 stacks, 2,000 functions, depth 5-40): far more
boxes than the widget draws (labkit.profiles.flamelayout.DEFAULT_MAX_RECTS), so it times the cap at work.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labkit.profiles.flamelayout import FlameGraphModel, FlameTree

PROFILES = Path(__file__).resolve().parents[1] / "labkit" / "data" / "profiles"


def big_stacks(n_stacks: int = 94_000, seed: int = 0) -> dict[tuple[str, ...], int]:
    """Random Go-like stacks sharing prefixes: a few roots, a fan-out that narrows with depth."""
    rng = np.random.default_rng(seed)
    names = [f"pkg{i % 40}/sub.F{i}" for i in range(2_000)]
    out: dict[tuple[str, ...], int] = {}
    for _ in range(n_stacks):
        depth = int(rng.integers(5, 41))
        # Zipf-like choice: low indices are common, so stacks share callers.
        idx = np.minimum((rng.pareto(1.2, depth) * 20).astype(int), 1_999)
        stack = ("runtime.main", "main.main", *(names[i] for i in idx))
        out[stack] = out.get(stack, 0) + int(rng.integers(1, 20))
    return out


@pytest.fixture(scope="module")
def big() -> dict[tuple[str, ...], int]:
    return big_stacks()


@pytest.fixture(scope="module")
def big_model(big) -> FlameGraphModel:
    return FlameGraphModel(big)


def test_build_tree_94k_stacks(benchmark, big):
    tree = benchmark.pedantic(FlameTree.from_stacks, args=(big,), rounds=3, iterations=1)
    assert tree.total == sum(big.values())


def test_zoom_relayout_94k_stacks(benchmark, big_model):
    """A click: lay out the clicked subtree again (the tree is already built)."""
    m = big_model
    first = m.tree.children[m.tree.find(("runtime.main", "main.main"))][0]
    target = m.tree.path(first)

    def zoom():
        m.zoom_to(target)
        m.zoom_to(())

    benchmark(zoom)
    assert m.rect_count <= 4_000


def test_search_94k_stacks(benchmark, big_model):
    share = benchmark(big_model.search, r"pkg1/")
    assert 0 < share <= 1


def test_widget_redraw_lab_profile(benchmark):
    """What a learner waits for after a click on a recorded lab profile: layout, colours,
    labels, tooltips and the marks' data (no browser)."""
    from labkit.profiles import load_profile
    from labkit.widgets import FlameGraph

    fg = FlameGraph(load_profile(PROFILES / "lab03-alloc.pb.gz"))
    first = fg.model.names().index("main.main")

    def click_and_back():
        fg.click(first)
        fg.reset()

    benchmark(click_and_back)


def test_widget_redraw_94k_stacks(benchmark, big):
    from labkit.widgets import FlameGraph

    fg = FlameGraph(big)
    benchmark.pedantic(fg.reset, rounds=5, iterations=1)
    assert fg.rect_count <= 4_000
