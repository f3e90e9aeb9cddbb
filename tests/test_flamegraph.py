"""The flame-graph layout model (labkit.profiles.flamelayout): tree, hide, zoom, prune, search, diff, sandwich.

Tiny profiles with exact expected boxes first, then properties over random profiles. The rules
pinned here are flamegraph.pl's and ``go tool pprof``'s, each named in its test's docstring.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies_flamegraph import patterns, stacks

from labkit.profiles.flamelayout import (
    GROWTH_COLOUR,
    MATCH_COLOUR,
    PACKAGE_PALETTE,
    SHRINK_COLOUR,
    UNMATCHED_COLOUR,
    FlameGraphError,
    FlameGraphModel,
    FlameTree,
    callees_stacks,
    callers_stacks,
    diff_colours,
    hide_frames,
    layout,
    package_colours,
    package_of,
    search_share,
)

PROFILES = Path(__file__).resolve().parents[1] / "labkit" / "data" / "profiles"

# A dashboard in miniature: 24 samples, root first.
TINY = {
    ("main.main", "main.work"): 12,
    ("main.main", "main.work", "runtime.mallocgc"): 5,
    ("main.main", "net/http.(*conn).serve"): 3,
    ("runtime.gcBgMarkWorker",): 4,
}


def boxes(model: FlameGraphModel) -> list[tuple[str, int, float, float]]:
    lay = model.layout
    return [
        (name, int(r), round(float(a), 4), round(float(b), 4))
        for name, r, a, b in zip(model.names(), lay.row, lay.x0, lay.x1, strict=True)
    ]


@pytest.mark.parametrize(
    ("symbol", "package"),
    [
        ("net/http.(*conn).serve", "net/http"),
        ("github.com/a/b.F", "github.com/a/b"),
        ("main.work.func1", "main"),
        ("main.(*dashboard).run", "main"),
        ("runtime.mallocgc", "runtime"),
        ("internal/runtime/syscall/linux.Syscall6", "internal/runtime/syscall/linux"),
        ("main.Map[go.shape.int,a/b.T]", "main"),
        ("[unknown]", "[unknown]"),
    ],
)
def test_package_is_the_import_path_before_the_first_dot_after_the_last_slash(symbol, package):
    """Go symbols are import/path.Name... (src/runtime/symtab.go funcpkgpath splits them so);
    generic brackets may hold slashes and are ignored."""
    assert package_of(symbol) == package


def test_tree_merges_stacks_into_totals_and_self_values():
    """A frame's total is every sample through it, its self the samples ending in it
    (flamegraph.pl's merge of folded stacks)."""
    tree = FlameTree.from_stacks(TINY)
    got = {tree.path(i): (tree.value[i], tree.self_value[i]) for i in range(len(tree))}
    assert got == {
        (): (24, 0),
        ("main.main",): (20, 0),
        ("main.main", "main.work"): (17, 12),
        ("main.main", "main.work", "runtime.mallocgc"): (5, 5),
        ("main.main", "net/http.(*conn).serve"): (3, 3),
        ("runtime.gcBgMarkWorker",): (4, 4),
    }
    assert all(tree.parent[i] < i for i in range(1, len(tree)))


def test_layout_places_callees_left_aligned_on_their_caller_in_name_order():
    """flamegraph.pl: each box as wide as its total, callees sorted by name, left-aligned on the
    caller (the caller's self time is the gap on the right)."""
    m = FlameGraphModel(TINY)
    assert boxes(m) == [
        ("all", 0, 0.0, 1.0),
        ("main.main", 1, 0.0, 0.8333),
        ("main.work", 2, 0.0, 0.7083),
        ("runtime.mallocgc", 3, 0.0, 0.2083),
        ("net/http.(*conn).serve", 2, 0.7083, 0.8333),
        ("runtime.gcBgMarkWorker", 1, 0.8333, 1.0),
    ]
    x, y = m.layout.rect_xy()
    assert x.shape == y.shape == (6, 5)
    assert (x[:, 0] == x[:, 4]).all() and (y[:, 0] == y[:, 4]).all()  # closed paths


def test_zoom_fills_the_width_with_the_frame_and_keeps_its_ancestors_full_width():
    """A click in flamegraph.pl zooms: the frame spans the graph, ancestors stay drawn at full
    width below it so a click on one zooms back out; other subtrees disappear."""
    m = FlameGraphModel(TINY)
    m.zoom_to(("main.main", "main.work"))
    assert boxes(m) == [
        ("all", 0, 0.0, 1.0),
        ("main.main", 1, 0.0, 1.0),
        ("main.work", 2, 0.0, 1.0),
        ("runtime.mallocgc", 3, 0.0, 0.2941),
    ]
    assert m.breadcrumb == ["all", "main.main", "main.work"]
    m.zoom_to_box(1)  # click the ancestor main.main
    assert m.focus == ("main.main",) and m.rect_count == 5
    m.reset()
    assert m.focus == () and m.rect_count == 6


def test_zoom_to_an_unknown_stack_says_what_the_frame_calls():
    m = FlameGraphModel(TINY)
    with pytest.raises(
        FlameGraphError,
        match=r"no frame 'main\.nope' under all > main\.main.*"
        r"main\.work",
    ):
        m.zoom_to(("main.main", "main.nope"))
    with pytest.raises(FlameGraphError, match="tuple of function names"):
        m.zoom_to("main.main")


def test_boxes_narrower_than_min_px_are_dropped_with_their_callees():
    """pprof's flame graph drops boxes too thin to read; their subtrees go with them."""
    stacks = {("main.main", "main.big"): 999, ("main.main", "main.tiny", "main.deeper"): 1}
    m = FlameGraphModel(stacks, width_px=1000, min_px=2)
    assert [b[0] for b in boxes(m)] == ["all", "main.main", "main.big"]
    assert m.layout.pruned == 1
    wide = FlameGraphModel(stacks, width_px=1000, min_px=0.5)
    assert wide.rect_count == 5


def test_the_box_cap_keeps_the_widest_boxes_and_every_kept_box_keeps_its_caller():
    stacks = {("main.main", f"main.f{i:03d}", "main.leaf"): i + 1 for i in range(300)}
    m = FlameGraphModel(stacks, min_px=0, max_rects=101)
    assert m.rect_count == 101
    tree, lay = m.tree, m.layout
    kept = set(lay.node.tolist())
    assert all(int(tree.parent[n]) in kept for n in kept if n)
    assert m.layout.pruned == 2 + 2 * 300 - 101


def test_hide_merges_callees_of_hidden_frames_into_their_callers_and_keeps_every_sample():
    """go tool pprof -hide (google/pprof profile/filter.go FilterSamplesByName): matching frames
    are removed from each stack; equal stacks merge; nothing is dropped."""
    stacks = {
        ("runtime.main", "main.main", "runtime.mallocgc", "main.cb"): 2,
        ("runtime.main", "main.main", "main.cb"): 3,
        ("runtime.gcBgMarkWorker",): 4,
    }
    assert hide_frames(stacks, r"^runtime\.") == {("main.main", "main.cb"): 5, (): 4}
    m = FlameGraphModel(stacks)
    m.hide(r"^runtime\.")
    assert m.total == 9 and m.tree.self_value[0] == 4
    assert "hidden /^runtime\\./" in m.summary()


def test_search_share_counts_each_sample_once_even_when_several_frames_match():
    """flamegraph.pl's "Matched: X%" is a share of samples: a recursive or nested match is not
    counted twice."""
    stacks = {
        ("main.fib", "main.fib", "main.fib"): 6,
        ("main.main", "main.fib"): 2,
        ("main.main",): 2,
    }
    tree = FlameTree.from_stacks(stacks)
    assert search_share(tree, r"fib") == pytest.approx(0.8)
    assert search_share(tree, r"^main\.") == pytest.approx(1.0)
    assert search_share(tree, r"nothing") == 0.0
    m = FlameGraphModel(stacks)
    assert m.search("fib") == pytest.approx(0.8)
    colours = dict(zip(m.names(), m.colours(), strict=True))
    assert colours["main.fib"] == MATCH_COLOUR and colours["main.main"] == UNMATCHED_COLOUR
    assert "matched 80.0 %" in m.summary()


def test_search_share_inside_a_zoomed_frame():
    tree = FlameTree.from_stacks(TINY)
    work = tree.find(("main.main", "main.work"))
    assert search_share(tree, "mallocgc", work) == pytest.approx(5 / 17)
    assert search_share(tree, "main.main", work) == 1.0  # an ancestor matches: all of it


def test_sandwich_roots_both_halves_at_the_function_with_its_cumulative_value():
    """speedscope's sandwich view: callers above, callees below, each rooted at the function.
    Its total equals pprof's cum (each sample counted once under recursion, graph.go seenNode)."""
    stacks = {
        ("main.main", "main.a", "main.fib", "main.fib", "main.leaf"): 3,
        ("main.main", "main.b", "main.fib"): 2,
        ("main.main", "main.other"): 5,
    }
    assert callees_stacks(stacks, "main.fib") == {
        ("main.fib", "main.fib", "main.leaf"): 3,
        ("main.fib",): 2,
    }
    assert callers_stacks(stacks, "main.fib") == {
        ("main.fib", "main.a", "main.main"): 3,
        ("main.fib", "main.b", "main.main"): 2,
    }
    m = FlameGraphModel(stacks)
    m.sandwich("main.fib")
    rows = {(name, int(r)) for name, r, _, _ in boxes(m)}
    assert rows == {
        ("main.fib", 0),
        ("main.a", 1),
        ("main.b", 1),
        ("main.main", 2),
        ("main.fib", -1),
        ("main.leaf", -2),
    }
    centre = m.box([b[1] for b in boxes(m)].index(0))
    assert centre.total_value == 5 and centre.self_value == 2
    with pytest.raises(FlameGraphError, match=r"did you mean main\.fib"):
        m.sandwich("FIB")


def test_diff_boxes_are_as_wide_as_before_plus_after_and_coloured_by_change():
    """Pyroscope's diff flame graph: width = both profiles, so a vanished stack still shows;
    growth vermillion, shrinkage blue (colour-blind safe), no change neutral."""
    before = {("main.main", "main.alloc"): 30, ("main.main", "main.draw"): 10}
    after = {("main.main", "main.draw"): 10, ("main.main", "main.pool"): 5}
    m = FlameGraphModel(after, base=before)
    got = {name: (round(a, 4), round(b, 4)) for name, _, a, b in boxes(m)}
    assert got["main.alloc"] == (0.0, round(30 / 55, 4))
    fills = dict(zip(m.names(), m.colours(), strict=True))
    assert fills["main.alloc"] == SHRINK_COLOUR and fills["main.pool"] == GROWTH_COLOUR
    assert fills["main.draw"] == "#EEEEEE"
    assert "shrank most: main.alloc (-30)" in m.summary() and "(absolute)" in m.summary()


def test_diff_summary_credits_functions_not_stacks_hidden_whole():
    """With runtime frames hidden, a stack made only of them has no function left; the diff's
    "grew most / shrank most" names functions, never the root."""
    before = {("runtime.gcBgMarkWorker",): 700, ("main.main", "main.draw"): 10}
    after = {("runtime.gcBgMarkWorker",): 20, ("main.main", "main.draw"): 30}
    m = FlameGraphModel(after, base=before)
    m.hide(r"^runtime\.")
    assert m.diff_summary() == "grew most: main.draw (+20)"  # nothing visible shrank


def test_normalize_scales_before_to_the_after_total():
    """pprof -normalize: with profiles of different lengths, compare shapes, not durations."""
    before = {("main.main", "main.draw"): 20}
    after = {("main.main", "main.draw"): 10}
    raw = FlameGraphModel(after, base=before)
    norm = FlameGraphModel(after, base=before, normalize=True)
    assert raw.tree.base[0] == 20 and norm.tree.base[0] == 10
    assert set(norm.colours()) == {"#EEEEEE"}
    assert diff_colours(np.array([10.0]), np.array([5.0]))[0] != SHRINK_COLOUR  # half: lighter


def test_package_colours_are_stable_and_from_the_palette():
    """Colour by package, as pprof does: one colour per package, the same in every run (CRC-32,
    not Python's per-process salted hash)."""
    names = ["main.a", "main.b", "net/http.x", "all"]
    colours = package_colours(names)
    assert colours[0] == colours[1] and colours[0] in PACKAGE_PALETTE
    assert colours == package_colours(names)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: FlameGraphModel({"main.main;main.work": 1}), "tuple of function names"),
        (lambda: FlameGraphModel({("main.main",): -1}), "finite and >= 0"),
        (lambda: FlameGraphModel([("main.main",)]), "dict of stack -> value"),
        (lambda: FlameGraphModel(TINY).search("(unclosed"), "not a valid regular expression"),
        (lambda: FlameGraphModel(TINY).hide("[x"), "hide pattern"),
        (lambda: FlameGraphModel(TINY, min_px=-1), "min_px"),
        (lambda: FlameGraphModel(TINY, max_rects=0), "max_rects"),
        (lambda: FlameGraphModel(TINY).zoom_to_box(99), "box index"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_a_real_go_cpu_profile_lays_out_with_pprofs_top_function():
    """The recorded detective profile (real Go, runtime/pprof): the widest self frame is the one
    `go tool pprof -top` lists first (labkit.profiles's top mirrors it)."""
    from labkit.profiles import load_profile

    p = load_profile(PROFILES / "lab03-loop.pb.gz")
    m = FlameGraphModel(p)
    assert m.sample_type == "cpu" and m.unit == "nanoseconds"
    assert m.top_self()[0] == p.top(1)[0][0] == "main.layoutGraph"
    assert m.total == p.total()
    assert "lab03-loop.pb.gz: cpu total" in m.summary()


def test_a_huge_profile_draws_at_most_max_rects_boxes():
    rng = np.random.default_rng(0)
    names = [f"pkg{i % 7}.f{i}" for i in range(400)]
    stacks = {}
    for _ in range(20_000):
        depth = int(rng.integers(1, 25))
        stacks[tuple(names[int(j)] for j in rng.integers(0, 400, depth))] = int(rng.integers(1, 50))
    m = FlameGraphModel(stacks, min_px=0.0)
    assert m.rect_count == 4000
    assert FlameGraphModel(stacks).rect_count <= 4000


# -- properties over random profiles ---------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(stacks)
def test_totals_add_up(s):
    """Every sample lands once: self values sum to the root total, a caller's total is its
    self plus its callees' totals."""
    tree = FlameTree.from_stacks(s)
    assert tree.total == sum(s.values())
    assert tree.self_value.sum() == pytest.approx(tree.total)
    for node in range(len(tree)):
        kids = sum(tree.value[c] for c in tree.children[node])
        assert tree.value[node] == pytest.approx(tree.self_value[node] + kids)


@settings(max_examples=80, deadline=None)
@given(stacks, st.floats(min_value=0, max_value=30), st.integers(min_value=1, max_value=60))
def test_layout_nests_boxes_on_their_callers_without_overlap(s, min_px, max_rects):
    tree = FlameTree.from_stacks(s)
    lay = layout(tree, min_px=min_px, max_rects=max_rects)
    assert 1 <= len(lay) <= max_rects
    where = {int(n): i for i, n in enumerate(lay.node)}
    eps = 1e-9
    for i, node in enumerate(lay.node):
        assert lay.x0[i] >= -eps and lay.x1[i] <= 1 + eps and lay.x1[i] >= lay.x0[i]
        if node:
            p = where[int(tree.parent[node])]  # the caller is drawn too
            assert lay.row[i] == lay.row[p] + 1
            assert lay.x0[p] - eps <= lay.x0[i] and lay.x1[i] <= lay.x1[p] + eps
    for r in set(lay.row.tolist()):
        idx = np.flatnonzero(lay.row == r)
        order = idx[np.argsort(lay.x0[idx])]
        assert (lay.x0[order[1:]] >= lay.x1[order[:-1]] - eps).all()


@settings(max_examples=80, deadline=None)
@given(stacks, patterns)
def test_search_share_equals_the_share_of_samples_with_a_matching_frame(s, pattern):
    rx = re.compile(pattern)
    want = sum(v for k, v in s.items() if any(rx.search(f) for f in k)) / sum(s.values())
    assert search_share(FlameTree.from_stacks(s), pattern) == pytest.approx(want)


@settings(max_examples=60, deadline=None)
@given(stacks, patterns)
def test_hiding_keeps_the_total_and_removes_every_match(s, pattern):
    hidden = hide_frames(s, pattern)
    assert sum(hidden.values()) == sum(s.values())
    assert not any(re.search(pattern, f) for k in hidden for f in k)


@settings(max_examples=60, deadline=None)
@given(stacks, st.sampled_from(["main.work", "runtime.mallocgc", "main.main"]))
def test_sandwich_halves_both_total_the_functions_cum(s, fn):
    cum = sum(v for k, v in s.items() if fn in k)
    assert sum(callers_stacks(s, fn).values()) == cum == sum(callees_stacks(s, fn).values())


@settings(max_examples=40, deadline=None)
@given(stacks, stacks)
def test_same_input_same_output(a, b):
    """Deterministic: same stacks, same boxes and colours, bit for bit."""
    one, two = FlameGraphModel(a, base=b), FlameGraphModel(dict(a), base=dict(b))
    for attr in ("node", "x0", "x1", "row"):
        assert np.array_equal(getattr(one.layout, attr), getattr(two.layout, attr))
    assert one.colours() == two.colours() and one.summary() == two.summary()
