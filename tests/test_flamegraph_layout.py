"""Where each box goes (labkit.profiles.flamelayout.layout): the rules that tests/test_flamegraph.py's
exact-box tests only show on one tiny profile, each pinned on data that tells the right rule from
its likely wrong variants.

* pruned boxes still take their width, so their siblings do not move;
* callees sit in name order (code-point order, as flamegraph.pl sorts), not by width or input order;
* boxes are drawn in depth-first pre-order, left to right, the zoomed frame's ancestors first;
* the box cap keeps the widest boxes; icicle mode mirrors the rows; labels fit their boxes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies_flamegraph import FUNCTIONS, stacks

from labkit.profiles.flamelayout import CHAR_PX, FlameGraphModel, FlameTree, Layout, layout


def placed(model: FlameGraphModel) -> dict[tuple[str, ...], tuple[float, float, int]]:
    """``{stack: (x0, x1, row)}`` of every drawn box (the root as ``()``)."""
    tree, lay = model.tree, model.layout
    return {
        tree.path(int(n)): (float(a), float(b), int(r))
        for n, a, b, r in zip(lay.node, lay.x0, lay.x1, lay.row, strict=True)
    }


# -- pruning -------------------------------------------------------------------------------------


def test_pruned_boxes_still_take_their_width_so_their_siblings_do_not_move():
    """300 callees of 1 sample in 1,000 are 1.2 px wide at 1,200 px, under the 2 px minimum, so
    none is drawn; but they still take their 360 px, and the boxes right of them (and their
    callees) stay exactly where the unpruned layout puts them. flamegraph.pl does the same: every
    frame's start time is fixed while the stacks merge, the narrow frames are deleted afterwards
    ("prune blocks that are too narrow", brendangregg/FlameGraph flamegraph.pl:756-765) and a
    box's x is its start time (flamegraph.pl:1224); pprof's flame view advances x past a group it
    does not draw (src/cmd/vendor/github.com/google/pprof/internal/driver/html/stacks.js:273-276,
    renderStacks, with renderGroup returning early under MIN_WIDTH at :309)."""
    s = {("main.main", "main.a"): 100}
    s.update({("main.main", f"main.b{i:03d}"): 1 for i in range(300)})
    s[("main.main", "main.c", "main.d")] = 600
    pruned = FlameGraphModel(s, width_px=1200, min_px=2)
    full = FlameGraphModel(s, width_px=1200, min_px=0)
    assert pruned.layout.pruned == 300
    assert full.rect_count == pruned.rect_count + 300 == 305
    got, want = placed(pruned), placed(full)
    assert got == {k: want[k] for k in got}
    x0, x1, _ = got[("main.main", "main.c")]
    assert (x0 * 1200, x1 * 1200) == pytest.approx((480.0, 1200.0))  # 100 + 300 samples left
    assert got[("main.main", "main.c", "main.d")][:2] == (x0, x1)


@settings(max_examples=60, deadline=None)
@given(stacks, st.floats(min_value=0.5, max_value=60))
def test_pruning_never_moves_a_drawn_box(s, min_px):
    """For any profile: the boxes drawn with a minimum width are a subset of the unpruned
    layout's, each at the very same place."""
    got = placed(FlameGraphModel(s, min_px=min_px, max_rects=10**6))
    want = placed(FlameGraphModel(s, min_px=0, max_rects=10**6))
    assert got == {k: want[k] for k in got}


# -- sibling order -------------------------------------------------------------------------------

#: Callees of main.main given neither in name order nor in width order. flamegraph.pl (commit
#: 41fee1f, ``--minwidth 0``, 1,180 px from x = 10) draws them at x = 10.0 ((*T).Run), 137.6
#: (Zeta), 328.9 (alpha), 335.3 (beta) and 973.1 (gamma): byte order, so '(' < 'Z' < 'a'.
SIBLINGS = {
    ("main.main", "main.gamma"): 10,
    ("main.main", "main.beta"): 100,
    ("main.main", "main.alpha"): 1,
    ("main.main", "main.Zeta"): 30,
    ("main.main", "main.(*T).Run"): 20,
    ("main.main", "main.work"): 12,
    ("main.main", "main.work", "runtime.mallocgc"): 5,
    ("main.main", "main.work.func1"): 7,
}
NAME_ORDER = [
    "main.(*T).Run",
    "main.Zeta",
    "main.alpha",
    "main.beta",
    "main.gamma",
    "main.work",
    "main.work.func1",
]


def test_callees_sit_left_to_right_in_name_order_not_by_width():
    """flamegraph.pl sorts the folded lines (``@SortedData = sort @Data``, flamegraph.pl:669;
    "the order used sorts function names alphabetically", :41-44), so siblings stand in the
    code-point order of their names. Here that order is neither the input order, nor widest
    first (pprof's flame view, stacks.js partitionPlaces), nor case-insensitive."""
    callees = [k[-1] for k in SIBLINGS if len(k) == 2]
    width = {n: sum(v for k, v in SIBLINGS.items() if k[1] == n) for n in callees}
    by_width = sorted(callees, key=lambda n: -width[n])
    assert NAME_ORDER not in (callees, by_width, by_width[::-1], sorted(callees, key=str.lower))

    boxes = placed(FlameGraphModel(SIBLINGS, min_px=0))
    row2 = sorted((x0, k[-1]) for k, (x0, _, r) in boxes.items() if r == 2)
    assert [name for _, name in row2] == NAME_ORDER
    total = sum(SIBLINGS.values())
    flamegraph_pl_px = [10.0, 137.6, 328.9, 335.3, 973.1]
    assert [10 + x0 * 1180 for x0, _ in row2[:5]] == pytest.approx(flamegraph_pl_px, abs=0.05)
    # Each callee starts where the callees before it in name order end (left-aligned, no gaps).
    starts = np.cumsum([0] + [width[n] for n in NAME_ORDER[:-1]]) / total
    assert [x0 for x0, _ in row2] == pytest.approx(list(starts))


def test_a_name_that_prefixes_a_sibling_is_one_box_before_it():
    """flamegraph.pl sorts whole folded lines, in which ';' (0x3B) comes after '.' (0x2E), so it
    draws ``main.work`` twice, split around ``main.work.func1`` (its x: 1036.9 for main.work's 12
    own samples, 1113.5 for main.work.func1, 1158.1 for main.work;runtime.mallocgc). A frame
    here is one box with one total, placed by its name: ``main.work`` < ``main.work.func1``."""
    boxes = placed(FlameGraphModel(SIBLINGS, min_px=0))
    work = boxes[("main.main", "main.work")]
    func1 = boxes[("main.main", "main.work.func1")]
    assert work[1] == pytest.approx(func1[0])
    assert (work[1] - work[0]) * sum(SIBLINGS.values()) == pytest.approx(17)
    assert sum(1 for k in boxes if k[-1:] == ("main.work",)) == 1


#: Go-like names plus some where code-point, case-insensitive and prefix order differ.
mixed_case_stacks = st.dictionaries(
    st.lists(
        st.sampled_from((*FUNCTIONS, "main.Zeta", "main.alpha", "main.B", "main.work.Func")),
        max_size=6,
    ).map(tuple),
    st.integers(min_value=1, max_value=1000),
    min_size=1,
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(mixed_case_stacks, st.floats(min_value=0, max_value=20))
def test_every_callers_drawn_callees_are_in_name_order(s, min_px):
    tree = FlameTree.from_stacks(s)
    lay = layout(tree, min_px=min_px)
    for caller in set(lay.node.tolist()):
        drawn = [i for i, n in enumerate(lay.node) if tree.parent[n] == caller]
        names = [tree.names[int(lay.node[i])] for i in sorted(drawn, key=lambda i: lay.x0[i])]
        assert names == sorted(names)


@settings(max_examples=80, deadline=None)
@given(mixed_case_stacks)
def test_tree_ids_go_depth_by_depth_then_by_caller_and_name(s):
    """FlameTree's numbering promise: a node's callees are consecutive ids in name order, and
    ids never go back to a shallower depth."""
    tree = FlameTree.from_stacks(s)
    assert (np.diff(tree.depth) >= 0).all()
    for d in range(1, int(tree.depth.max()) + 1):
        assert (np.diff(tree.parent[tree.depth == d]) >= 0).all()
    for node in range(len(tree)):
        kids = list(tree.children[node])
        assert [int(tree.parent[k]) for k in kids] == [node] * len(kids)
        assert [tree.names[k] for k in kids] == sorted(tree.names[k] for k in kids)
    assert sum(len(tree.children[n]) for n in range(len(tree))) == len(tree) - 1


# -- drawing order -------------------------------------------------------------------------------


def preorder(tree: FlameTree, lay: Layout) -> list[int]:
    """The drawn boxes' indices in depth-first pre-order, callees left to right."""
    index = {int(n): i for i, n in enumerate(lay.node)}
    callees: dict[int, list[int]] = {}
    for i, n in enumerate(lay.node):
        parent = int(tree.parent[n])
        if parent in index:
            callees.setdefault(index[parent], []).append(i)
    out: list[int] = []
    todo = [0]
    while todo:
        i = todo.pop()
        out.append(i)
        todo.extend(sorted(callees.get(i, []), key=lambda j: lay.x0[j], reverse=True))
    return out


@settings(max_examples=80, deadline=None)
@given(stacks, st.floats(min_value=0, max_value=30), st.integers(1, 60), st.data())
def test_boxes_are_drawn_in_preorder_ancestors_of_the_zoomed_frame_first(s, min_px, cap, data):
    """Layout's promise ("a caller before its callees"), made exact: the zoomed frame's
    ancestors root first, then its subtree depth-first, each caller followed by its callees'
    subtrees left to right; the box cap keeps that order. The widget relies on it: box i of
    the bqplot mark is layout box i, and a caller painted first lies under its callees."""
    tree = FlameTree.from_stacks(s)
    focus = data.draw(st.integers(0, len(tree) - 1))
    lay = layout(tree, focus, min_px=min_px, max_rects=cap)
    chain = [focus]
    while chain[-1] > 0:
        chain.append(int(tree.parent[chain[-1]]))
    head = chain[::-1][: len(lay)]
    assert lay.node[: len(head)].tolist() == head
    assert lay.row[: len(head)].tolist() == list(range(len(head)))
    assert preorder(tree, lay) == list(range(len(lay)))


# -- the box cap ---------------------------------------------------------------------------------


def test_the_box_cap_keeps_the_widest_boxes():
    """At most ``max_rects`` boxes are drawn (4,000 by default): the widest, so what is dropped
    is always thinner than what is kept; not the first ones in drawing order."""
    s = {("main.main", f"main.f{i:03d}", "main.leaf"): (i * 37) % 101 + 1 for i in range(300)}
    full = FlameGraphModel(s, min_px=0, max_rects=10**6)
    capped = FlameGraphModel(s, min_px=0, max_rects=150)
    kept, every = placed(capped), placed(full)
    assert len(kept) == 150 and capped.layout.pruned == len(every) - 150
    width = {k: b - a for k, (a, b, _) in every.items()}
    dropped = every.keys() - kept.keys()
    assert min(width[k] for k in kept) >= max(width[k] for k in dropped)
    # Widest-first is not drawing-order-first: the first 150 boxes in pre-order differ.
    assert set(kept) != set(list(every)[:150])


# -- flame and icicle ----------------------------------------------------------------------------


def test_flame_puts_callees_above_their_caller_and_icicle_below():
    """A flame graph grows upwards from the root (flamegraph.pl); ``rect_xy(flip=True)`` is the
    icicle, root at the top, every callee one row under its caller, x unchanged."""
    m = FlameGraphModel(SIBLINGS, min_px=0)
    tree, lay = m.tree, m.layout
    x, y = lay.rect_xy()
    xi, yi = lay.rect_xy(flip=True)
    assert np.array_equal(x, xi)
    where = {int(n): i for i, n in enumerate(lay.node)}
    for i, n in enumerate(lay.node):
        if n:
            p = where[int(tree.parent[n])]
            assert y[i].min() == y[p].max() and yi[i].max() == yi[p].min()
    assert y[0].min() == y.min() and yi[0].max() == yi.max()  # the root: bottom / top


# -- labels --------------------------------------------------------------------------------------


def test_a_label_is_cut_to_what_fits_and_boxes_under_three_characters_get_none():
    """A box gets its name, cut with "…" to the characters that fit at CHAR_PX each (minus one
    for padding), when at least three fit. At 1,000 px: 30 px fits 3 characters, 26 px fits 2."""
    assert (np.floor(30 / CHAR_PX) - 1, np.floor(26 / CHAR_PX) - 1) == (3, 2)
    s = {
        ("main.longname_that_will_not_fit",): 30,
        ("main.second_long_name",): 26,
        ("main.x",): 944,
    }
    m = FlameGraphModel(s, width_px=1000, min_px=0)
    _, rows, texts = m.labels()
    assert texts == ["all", "ma…", "main.x"]
    assert rows.tolist() == [0, 1, 1]
    widths = dict(zip(m.names(), (m.layout.x1 - m.layout.x0) * 1000, strict=True))
    for text, name in zip(texts, ["all", "main.longname_that_will_not_fit", "main.x"], strict=True):
        assert len(text) <= np.floor(widths[name] / CHAR_PX) - 1
        assert text == name or (text.endswith("…") and name.startswith(text[:-1]))
