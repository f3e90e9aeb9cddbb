"""Flame-graph layout: stacks in, rectangles out. Pure Python and numpy, no widgets.

A flame graph (Brendan Gregg's ``flamegraph.pl``; ``go tool pprof -http``'s flame view, whose
front end is google/pprof ``internal/driver/html/stacks.js``, vendored in the Go toolchain as
src/cmd/vendor/github.com/google/pprof/internal/driver/html/stacks.js) merges the sampled call
stacks into a tree: a frame's *total* is the value of every sample whose stack passes through it,
its *self* the value of the samples that end in it. Each frame is a box as wide as its total; its
callees sit on it, left-aligned, in the code-point order of their names (``'(' < 'Z' < 'a'``), as
flamegraph.pl draws them: it sorts the folded stack lines (``@SortedData = sort @Data``,
brendangregg/FlameGraph flamegraph.pl:669 at commit 41fee1f; "the order used sorts function names
alphabetically", :41-44), so the x order means nothing and two graphs of one program line up.
Two differences, both deliberate: flamegraph.pl sorts whole lines, in which ';' comes after '.',
so a frame ``main.work`` that has callees is drawn in two pieces around a sibling
``main.work.func1``; here a frame is one box. pprof's flame view puts the widest callee first
instead and leaves the caller's self time as a gap on the left (stacks.js:383-389
partitionPlaces, :325-326 renderGroup).

Everything the flame-graph widget shows is computed here, so it is tested without a browser:

* :class:`FlameTree` merges ``{stack (root first): value}`` into a tree (a trie);
* :func:`hide_frames` removes frames matching a regex and merges their callees upward, like
  ``go tool pprof -hide`` (google/pprof profile/filter.go, ``FilterSamplesByName``);
* :func:`callers_stacks` / :func:`callees_stacks` build speedscope's "sandwich" view;
* :func:`layout` places the boxes of the zoomed subtree, dropping boxes narrower than a few
  pixels (pprof's flame view drops boxes under 4 px, stacks.js:10 and :309), each dropped box
  still taking its width so that nothing beside it moves, and keeping the ``max_rects`` widest;
* :func:`search_share` is flamegraph.pl's "Matched: X%": the share of samples with a matching
  frame, each sample counted once however many of its frames match;
* :class:`FlameGraphModel` holds the view state (hide, zoom, search, sandwich, diff) that the
  widget draws and its text summary.

Diff mode (``base=``) follows Pyroscope's diff flame graph and pprof's flame view: a box is as wide
as *before + after* (stacks.js:302-304 groupWidth, ``sumpos + sumneg``), so a stack that vanished
is still drawn, and is coloured by its relative change, vermillion for growth and blue for
shrinkage (Okabe-Ito, colour-blind safe). By default the values are compared as they are, like
``go tool pprof -diff_base``; ``normalize=True`` first scales *before* to the same total as
*after* (pprof's ``-normalize``), which is right when the two profiles ran for different lengths
of time.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labkit.errors import LabkitError
from labkit.profiles.model import flat_by_function

__all__ = [
    "FlameGraphError",
    "FlameTree",
    "Layout",
    "FlameGraphModel",
    "package_of",
    "hide_frames",
    "callers_stacks",
    "callees_stacks",
    "layout",
    "search_share",
    "package_colours",
    "diff_colours",
    "format_value",
    "PACKAGE_PALETTE",
    "GROWTH_COLOUR",
    "SHRINK_COLOUR",
    "MATCH_COLOUR",
    "UNMATCHED_COLOUR",
]

Stack = tuple[str, ...]

#: Name of the tree's root box (flamegraph.pl calls it "all", pprof "root").
ROOT_NAME = "all"

#: Boxes narrower than this many pixels are not drawn: a box that thin cannot be read or clicked,
#: and dropping it keeps the number of SVG elements low. pprof's flame view drops boxes under
#: MIN_WIDTH = 4 px (stacks.js:10), flamegraph.pl under ``--minwidth`` (default 0.1 px,
#: flamegraph.pl:106).
DEFAULT_MIN_PX = 2.0
#: Drawn width of the graph the pixel rule is applied to (the widget's figure is about this wide).
DEFAULT_WIDTH_PX = 1200.0
#: At most this many boxes are drawn, the widest, so that a redraw (layout, colours, tooltips and
#: one SVG path per box) costs the same however large the profile; benchmarks/bench_flamegraph.py
#: times a redraw at this cap on a 94,000-stack profile.
DEFAULT_MAX_RECTS = 4000
#: Average width of one label character at the widget's 11 px font, to decide what fits in a box.
CHAR_PX = 6.6

# Okabe-Ito colours (labkit/widgets/_style.py OKABE_ITO), lightened for package fills so black
# labels stay readable; reddish purple is kept for search matches, black is never a fill.
_OKABE = ("#0072B2", "#E69F00", "#009E73", "#56B4E9", "#D55E00", "#F0E442")
GROWTH_COLOUR = "#D55E00"  # vermillion: this stack grew (Okabe-Ito)
SHRINK_COLOUR = "#0072B2"  # blue: this stack shrank (Okabe-Ito)
NEUTRAL_COLOUR = "#EEEEEE"  # unchanged in a diff
MATCH_COLOUR = "#CC79A7"  # reddish purple: a search match (Okabe-Ito)
UNMATCHED_COLOUR = "#E4E4E4"  # every other box while a search is active
ROOT_COLOUR = "#D9D9D9"


def _mix(colour: str, other: str, t: float) -> str:
    """``colour`` moved a fraction ``t`` towards ``other`` (both ``#RRGGBB``)."""
    a = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(a, b, strict=True))


#: Package fills: Okabe-Ito lightened 40 % towards white.
PACKAGE_PALETTE = tuple(_mix(c, "#FFFFFF", 0.4) for c in _OKABE)


class FlameGraphError(LabkitError):
    """Bad input to the flame-graph model: the message names the argument and what to do."""


# -- names -------------------------------------------------------------------------------------


def package_of(function: str) -> str:
    """The Go package of a symbol name, as ``go tool pprof`` colours by it.

    Go symbol names are ``import/path.Func``, ``import/path.(*T).Method``,
    ``import/path.Func.func1`` (closures), ``import/path.F[...]`` (generics): the package is
    everything up to the first dot after the last slash (the runtime's own rule for splitting a
    symbol, funcNamePiecesForPrint / funcpkgpath in src/runtime/symtab.go). Generic brackets are
    ignored, as they may hold slashes. A name with no dot (``[unknown]``, a C symbol) is its own
    package.

    >>> package_of("net/http.(*conn).serve"), package_of("main.work.func1")
    ('net/http', 'main')
    """
    head = function.split("[", 1)[0]
    slash = head.rfind("/")
    dot = head.find(".", slash + 1)
    if dot <= slash + 1:
        return function
    return head[:dot]


def format_value(value: float, unit: str) -> str:
    """A value in its profile unit, readable: ``nanoseconds`` as ms / s, ``bytes`` as KiB / MiB."""
    if unit == "nanoseconds":
        if abs(value) >= 1e9:
            return f"{value / 1e9:.3g} s"
        return f"{value / 1e6:.4g} ms"
    if unit == "bytes":
        for div, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= div:
                return f"{value / div:.3g} {name}"
        return f"{value:.0f} B"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text} {unit}" if unit and unit != "count" else text


def _compile(pattern: str | re.Pattern[str], what: str) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise FlameGraphError(f"{what} must be a regular expression string, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise FlameGraphError(
            f"{what} {pattern!r} is not a valid regular expression ({exc}); escape special "
            r"characters, e.g. '\(\*conn\)' or 'runtime\.'"
        ) from None


# -- stacks ------------------------------------------------------------------------------------


def _check_stacks(stacks: Any, what: str = "stacks") -> dict[Stack, float]:
    """``{tuple of names: value >= 0}``, zero values left out; raises FlameGraphError."""
    if not isinstance(stacks, Mapping):
        raise FlameGraphError(
            f"{what} must be a Profile or a dict of stack -> value, got {type(stacks).__name__}; "
            "pass e.g. {('main.main', 'main.work'): 12}"
        )
    out: dict[Stack, float] = {}
    for key, value in stacks.items():
        if isinstance(key, str) or not isinstance(key, Sequence):
            raise FlameGraphError(
                f"{what}: a stack must be a tuple of function names, root first, got {key!r}; "
                "write ('main.main', 'main.work'), not 'main.main;main.work'"
            )
        if not all(isinstance(n, str) and n for n in key):
            raise FlameGraphError(f"{what}: stack {key!r} has an empty or non-str frame name")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise FlameGraphError(f"{what}: value of {key!r} must be a number, got {value!r}")
        v = float(value)
        if not np.isfinite(v) or v < 0:
            raise FlameGraphError(
                f"{what}: value of {key!r} is {value!r}; sample values must be finite and >= 0 "
                "(for before/after comparisons use diff mode: FlameGraph(after, base=before))"
            )
        if v:
            stack = tuple(key)
            out[stack] = out.get(stack, 0.0) + v
    return out


def _stacks_of(profile: Any, sample_type: str | None, what: str) -> tuple[dict, str, str, str]:
    """(stacks, source, sample type name, unit) of a labkit Profile or a plain dict."""
    if hasattr(profile, "stacks") and hasattr(profile, "sample_types"):
        try:
            stacks = profile.stacks(sample_type)
            name = sample_type or profile.default_sample_type
            units = dict(profile.sample_types)
        except ValueError as exc:  # ProfileError names the profile and the choices
            raise FlameGraphError(f"{what}: {exc}") from None
        if isinstance(name, int):
            name = profile.sample_types[name][0]
        return _check_stacks(stacks, what), str(profile.source), str(name), units.get(name, "")
    if isinstance(profile, Mapping):
        return _check_stacks(profile, what), "stacks", sample_type or "samples", "count"
    raise FlameGraphError(
        f"{what} must be a labkit.profiles.Profile or a dict of stack -> value, "
        f"got {type(profile).__name__}; load one with labkit.profiles.load_profile(path)"
    )


def hide_frames(
    stacks: Mapping[Stack, float], pattern: str | re.Pattern[str]
) -> dict[Stack, float]:
    """The stacks with every frame whose name matches ``pattern`` (``re.search``) removed.

    Mirrors ``go tool pprof -hide=REGEX`` (google/pprof profile/filter.go, FilterSamplesByName:
    matching lines are dropped from each location, the sample is kept): a hidden frame's callees
    move up to its caller, stacks that become equal merge, and no sample is lost, so the total
    is unchanged. A stack whose every frame is hidden becomes ``()``, the root's self value.
    """
    rx = _compile(pattern, "hide pattern")
    keep: dict[str, bool] = {}
    out: dict[Stack, float] = {}
    for stack, value in stacks.items():
        kept = []
        for name in stack:
            k = keep.get(name)
            if k is None:
                k = keep[name] = rx.search(name) is None
            if k:
                kept.append(name)
        key = tuple(kept)
        out[key] = out.get(key, 0.0) + value
    return out


def callees_stacks(stacks: Mapping[Stack, float], function: str) -> dict[Stack, float]:
    """The sandwich view's lower half: what ``function`` calls, rooted at ``function``.

    Each sample whose stack holds ``function`` contributes its stack from the *outermost*
    occurrence down, so under recursion a sample is still counted once and the root's total
    equals ``function``'s cumulative value (pprof's cum, graph.go newGraph ``seenNode``).
    """
    out: dict[Stack, float] = {}
    for stack, value in stacks.items():
        if function in stack:
            key = stack[stack.index(function) :]
            out[key] = out.get(key, 0.0) + value
    return out


def callers_stacks(stacks: Mapping[Stack, float], function: str) -> dict[Stack, float]:
    """The sandwich view's upper half: who calls ``function``, as stacks rooted at it.

    Each sample whose stack holds ``function`` contributes the path from its outermost
    occurrence back up to the root, reversed (``function``, its caller, its caller's caller...),
    so the root's total is again ``function``'s cumulative value.
    """
    out: dict[Stack, float] = {}
    for stack, value in stacks.items():
        if function in stack:
            key = stack[: stack.index(function) + 1][::-1]
            out[key] = out.get(key, 0.0) + value
    return out


# -- the tree ----------------------------------------------------------------------------------


class _Names(Sequence[str]):
    """The function name of every node, without a Python string per node: node -> function id
    -> name (a 94,000-stack profile can have millions of nodes but only thousands of names)."""

    def __init__(self, functions: tuple[str, ...], func: np.ndarray) -> None:
        self.functions = functions
        self.func = func
        self._set = frozenset(functions)

    def __len__(self) -> int:
        return len(self.func)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.functions[f] for f in self.func[i]]
        return self.functions[self.func[i]]

    def __contains__(self, name: object) -> bool:
        return name in self._set


class _Children(Sequence[range]):
    """Callees of every node: a node's children are the consecutive ids
    ``first[n] .. first[n] + count[n] - 1``, already in name order."""

    def __init__(self, first: np.ndarray, count: np.ndarray) -> None:
        self._first = first.tolist()
        self._count = count.tolist()

    def __len__(self) -> int:
        return len(self._first)

    def __getitem__(self, n):  # type: ignore[override]
        return range(self._first[n], self._first[n] + self._count[n])


@dataclass(frozen=True, eq=False)
class FlameTree:
    """Stacks merged into a tree. Node 0 is the root ("all"). Nodes are numbered depth by depth,
    and within a depth by (caller, name): a caller's id is below its callees' ids, so one pass
    in id order visits callers first, and a node's callees are consecutive ids in name order
    (flamegraph.pl sorts frames by name).

    ``value`` is each node's total in the profile (``after`` in diff mode), ``self_value`` the
    part of it whose stacks end there; ``base`` / ``base_self`` are the same for the base
    profile (``None`` outside diff mode). ``width`` is what the box's width stands for:
    ``value``, or ``value + base`` in diff mode.
    """

    names: _Names
    parent: np.ndarray
    depth: np.ndarray
    value: np.ndarray
    self_value: np.ndarray
    children: _Children
    base: np.ndarray | None = None
    base_self: np.ndarray | None = None

    @classmethod
    def from_stacks(
        cls, stacks: Mapping[Stack, float], base: Mapping[Stack, float] | None = None
    ) -> FlameTree:
        """Merge ``{stack (root first): value}`` (and a base profile's, for diff mode).

        Vectorised by depth: at depth d every stack's node is the unique pair (node at d - 1,
        function at d), found with ``np.unique``; totals are ``np.bincount`` sums. A profile of
        94,000 stacks merges in about a second instead of a Python loop per frame.
        """
        sources = [stacks] if base is None else [stacks, base]
        all_stacks = [k for src in sources for k in src]
        functions = tuple(sorted({f for k in all_stacks for f in k}))
        fid = {f: i for i, f in enumerate(functions)}
        n_stacks = len(all_stacks)
        lengths = np.fromiter((len(k) for k in all_stacks), dtype=np.int64, count=n_stacks)
        max_depth = int(lengths.max(initial=0))
        mat = np.full((n_stacks, max(max_depth, 1)), -1, dtype=np.int64)
        for i, k in enumerate(all_stacks):
            if k:
                mat[i, : len(k)] = [fid[f] for f in k]
        vals = np.zeros((len(sources), n_stacks))
        row = 0
        for j, src in enumerate(sources):
            n = len(src)
            vals[j, row : row + n] = np.fromiter(src.values(), dtype=float, count=n)
            row += n
        n_func = max(len(functions), 1)
        node_of = np.zeros(n_stacks, dtype=np.int64)  # every stack starts at the root
        func = [np.array([-1], dtype=np.int64)]
        parent = [np.array([-1], dtype=np.int64)]
        depth = [np.array([0], dtype=np.int64)]
        totals = [vals.sum(axis=1)[:, None]]
        n_nodes = 1
        for d in range(max_depth):
            live = np.flatnonzero(lengths > d)
            key = node_of[live] * n_func + mat[live, d]
            uniq, inv = np.unique(key, return_inverse=True)
            ids = n_nodes + inv
            node_of[live] = ids
            func.append(uniq % n_func)
            parent.append(uniq // n_func)
            depth.append(np.full(len(uniq), d + 1, dtype=np.int64))
            totals.append(
                np.stack([np.bincount(inv, weights=v[live], minlength=len(uniq)) for v in vals])
            )
            n_nodes += len(uniq)
        func_a = np.concatenate(func)
        parent_a = np.concatenate(parent)
        value = np.concatenate(totals, axis=1)
        self_value = np.stack([np.bincount(node_of, weights=v, minlength=n_nodes) for v in vals])
        # Children of p are consecutive (ids are sorted by parent within a depth).
        count = np.bincount(parent_a[1:], minlength=n_nodes)
        first = np.zeros(n_nodes, dtype=np.int64)
        if n_nodes > 1:
            kids = np.arange(1, n_nodes)
            starts = np.flatnonzero(np.r_[True, parent_a[2:] != parent_a[1:-1]]) + 1
            first[parent_a[starts]] = kids[starts - 1]
        names = _Names((*functions, ROOT_NAME), np.where(func_a < 0, len(functions), func_a))
        return cls(
            names=names,
            parent=parent_a,
            depth=np.concatenate(depth),
            value=value[0],
            self_value=self_value[0],
            children=_Children(first, count),
            base=value[1] if base is not None else None,
            base_self=self_value[1] if base is not None else None,
        )

    def __len__(self) -> int:
        return len(self.names)

    @property
    def functions(self) -> tuple[str, ...]:
        """Every function name in the tree, sorted."""
        return self.names.functions[:-1]

    @property
    def is_diff(self) -> bool:
        return self.base is not None

    @property
    def width(self) -> np.ndarray:
        return self.value if self.base is None else self.value + self.base

    @property
    def total(self) -> float:
        return float(self.value[0])

    def path(self, node: int) -> Stack:
        """The stack (root first, without "all") that leads to ``node``."""
        out = []
        while node > 0:
            out.append(self.names[node])
            node = int(self.parent[node])
        return tuple(reversed(out))

    def find(self, stack: Sequence[str]) -> int:
        """The node reached by following ``stack`` (root first) from the root."""
        if isinstance(stack, str) or not isinstance(stack, Sequence):
            raise FlameGraphError(
                f"a stack must be a tuple of function names, root first, got {stack!r}"
            )
        node = 0
        for depth, name in enumerate(stack):
            for child in self.children[node]:
                if self.names[child] == name:
                    node = child
                    break
            else:
                where = " > ".join((ROOT_NAME, *stack[:depth]))
                options = ", ".join(self.names[c] for c in self.children[node][:8]) or "nothing"
                raise FlameGraphError(
                    f"no frame {name!r} under {where}; it calls {options}. "
                    "Pass a stack from the root, e.g. ('main.main', 'main.work')"
                )
        return node

    def matches(self, pattern: str | re.Pattern[str]) -> np.ndarray:
        """Boolean per node: does its function name match ``pattern`` (``re.search``)?"""
        rx = _compile(pattern, "search pattern")
        hit = np.array([rx.search(f) is not None for f in self.names.functions], dtype=bool)
        out = hit[self.names.func]
        out[0] = False
        return out

    def covered(self, matched: np.ndarray) -> np.ndarray:
        """Boolean per node: it or one of its ancestors is matched (vectorised by depth)."""
        cov = matched.copy()
        for d in range(1, int(self.depth.max(initial=0)) + 1):
            idx = np.flatnonzero(self.depth == d)
            cov[idx] |= cov[self.parent[idx]]
        return cov


def search_share(tree: FlameTree, pattern: str | re.Pattern[str], node: int = 0) -> float:
    """flamegraph.pl's "Matched: X%": the share of ``node``'s samples (default: all) whose stack
    holds a frame matching ``pattern``, each sample counted once.

    A matched frame's samples are all the samples under it, so the share is the sum of the
    totals of the matched frames that have no matched ancestor, over ``node``'s total.
    """
    matched = tree.matches(pattern)
    cov = tree.covered(matched)
    outer = matched & ~np.concatenate(([False], cov[tree.parent[1:]]))
    if node:
        inside = np.zeros(len(tree), dtype=bool)
        inside[node] = True
        for d in range(int(tree.depth[node]) + 1, int(tree.depth.max(initial=0)) + 1):
            idx = np.flatnonzero(tree.depth == d)
            inside[idx] |= inside[tree.parent[idx]]
        # Frames above ``node`` that match cover all of its samples.
        anc = node
        while anc > 0:
            if matched[anc]:
                return 1.0 if tree.value[node] > 0 else 0.0
            anc = int(tree.parent[anc])
        outer &= inside
    total = float(tree.value[node])
    return float(tree.value[outer].sum() / total) if total > 0 else 0.0


# -- layout ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Layout:
    """The boxes to draw, in drawing order: the zoomed frame's ancestors, root first, then its
    subtree depth-first in pre-order, each caller followed by its callees' subtrees left to right
    (the box cap keeps this order). A caller is thus painted before, and under, its callees, and
    box ``i`` of the widget's mark is box ``i`` here.

    ``x0``/``x1`` are in [0, 1] of the graph's width; ``row`` is the box's level, 0 for the
    bottom row of a flame graph (the root, or in the sandwich view the chosen function),
    negative rows for the sandwich's callees. ``node`` indexes the tree the box came from;
    ``part`` says which tree: 0 the main one (or the sandwich's callers), 1 the sandwich's
    callees.
    """

    node: np.ndarray
    part: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    row: np.ndarray
    pruned: int

    def __len__(self) -> int:
        return len(self.node)

    def rect_xy(self, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(N, 5) x and y arrays of closed rectangles, as a bqplot ``Lines`` mark draws them.

        ``flip`` turns the graph upside down (an icicle: the root at the top)."""
        x = np.stack([self.x0, self.x1, self.x1, self.x0, self.x0], axis=1)
        r = -self.row if flip else self.row
        y0 = r.astype(float)
        y = np.stack([y0, y0, y0 + 1, y0 + 1, y0], axis=1)
        return x, y


def _place(
    tree: FlameTree, focus: int, ancestors: bool, min_w: float, part: int, sign: int
) -> tuple[list[int], list[float], list[float], list[int], int]:
    """Boxes of ``focus``'s subtree scaled to [0, 1] (plus its ancestors at full width), in
    pre-order, dropping boxes narrower than ``min_w`` and their subtrees.

    A dropped box still takes its width: x advances past it, so the boxes right of it stay where
    the unpruned layout puts them. flamegraph.pl fixes every frame's start before it prunes
    (flamegraph.pl:756-765, x from the start time at :1224), and pprof's flame view advances x
    past a group it does not draw (stacks.js:273-276)."""
    width = tree.width
    scale = 1.0 / width[focus] if width[focus] > 0 else 0.0
    nodes: list[int] = []
    x0s: list[float] = []
    x1s: list[float] = []
    rows: list[int] = []
    if ancestors:
        chain = []
        anc = int(tree.parent[focus])
        while anc >= 0:
            chain.append(anc)
            anc = int(tree.parent[anc])
        for anc in reversed(chain):
            nodes.append(anc)
            x0s.append(0.0)
            x1s.append(1.0)
            rows.append(sign * int(tree.depth[anc]))
    pruned = 0
    children = tree.children
    todo = [(focus, 0.0)]
    while todo:
        node, x = todo.pop()
        w = width[node] * scale
        nodes.append(node)
        x0s.append(x)
        x1s.append(x + w)
        rows.append(sign * int(tree.depth[node]))
        kids = []
        cx = x
        for child in children[node]:
            cw = width[child] * scale
            if cw >= min_w and cw > 0:
                kids.append((child, cx))
            else:
                pruned += 1
            cx += cw
        todo.extend(reversed(kids))  # pop in name order: pre-order, left to right
    return nodes, x0s, x1s, rows, pruned


def _cap(
    nodes: list[int],
    x0: list[float],
    x1: list[float],
    rows: list[int],
    parts: list[int],
    max_rects: int,
    pruned: int,
) -> Layout:
    node_a = np.asarray(nodes, dtype=np.int64)
    x0_a = np.asarray(x0, dtype=float)
    x1_a = np.asarray(x1, dtype=float)
    row_a = np.asarray(rows, dtype=np.int64)
    part_a = np.asarray(parts, dtype=np.int64)
    if len(node_a) > max_rects:
        # Keep the widest boxes. A callee is never wider than its caller and ties go to the
        # shallower box, so every kept box keeps its caller too.
        order = np.lexsort((np.arange(len(node_a)), np.abs(row_a), -(x1_a - x0_a)))
        keep = np.sort(order[:max_rects])
        pruned += len(node_a) - max_rects
        node_a, x0_a, x1_a, row_a, part_a = (a[keep] for a in (node_a, x0_a, x1_a, row_a, part_a))
    return Layout(node=node_a, part=part_a, x0=x0_a, x1=x1_a, row=row_a, pruned=pruned)


def _check_layout_args(width_px: float, min_px: float, max_rects: int) -> None:
    if not (isinstance(width_px, (int, float)) and width_px > 0):
        raise FlameGraphError(f"width_px must be a positive number of pixels, got {width_px!r}")
    if not (isinstance(min_px, (int, float)) and min_px >= 0):
        raise FlameGraphError(f"min_px must be a number of pixels >= 0, got {min_px!r}")
    if isinstance(max_rects, bool) or not isinstance(max_rects, int) or max_rects < 1:
        raise FlameGraphError(f"max_rects must be an int >= 1, got {max_rects!r}")


def layout(
    tree: FlameTree,
    focus: int = 0,
    *,
    width_px: float = DEFAULT_WIDTH_PX,
    min_px: float = DEFAULT_MIN_PX,
    max_rects: int = DEFAULT_MAX_RECTS,
) -> Layout:
    """Place the boxes of ``focus``'s subtree (0: the whole tree) across the full width.

    Like a click in flamegraph.pl: the focused frame fills the width, its ancestors are drawn
    full width below it (click one to zoom out), and only its subtree is laid out, so a zoom
    costs time in proportion to what is visible, not to the profile's size. Boxes narrower than
    ``min_px`` of ``width_px`` are dropped with their subtrees; then at most ``max_rects`` of the
    widest are kept.
    """
    _check_layout_args(width_px, min_px, max_rects)
    if not 0 <= focus < len(tree):
        raise FlameGraphError(f"focus must be a node of the tree (0..{len(tree) - 1}), got {focus}")
    nodes, x0, x1, rows, pruned = _place(tree, focus, True, min_px / width_px, 0, 1)
    return _cap(nodes, x0, x1, rows, [0] * len(nodes), max_rects, pruned)


def sandwich_layout(
    callers: FlameTree,
    callees: FlameTree,
    *,
    width_px: float = DEFAULT_WIDTH_PX,
    min_px: float = DEFAULT_MIN_PX,
    max_rects: int = DEFAULT_MAX_RECTS,
) -> Layout:
    """speedscope's sandwich: the function in row 0, its callers stacked above it (rows 1, 2,
    ...), its callees hanging below it (rows -1, -2, ...). Both trees are rooted at the function
    (their node 1); its box is drawn once, from the callers tree."""
    _check_layout_args(width_px, min_px, max_rects)
    min_w = min_px / width_px
    if len(callers) < 2:
        return _cap([], [], [], [], [], max_rects, 0)
    up = _place(callers, 1, False, min_w, 0, 1)
    down = _place(callees, 1, False, min_w, 1, -1)
    # Shift rows so the function itself (depth 1 in both trees) is row 0.
    nodes = up[0] + down[0][1:]
    x0 = up[1] + down[1][1:]
    x1 = up[2] + down[2][1:]
    rows = [r - 1 for r in up[3]] + [r + 1 for r in down[3][1:]]
    parts = [0] * len(up[0]) + [1] * (len(down[0]) - 1)
    return _cap(nodes, x0, x1, rows, parts, max_rects, up[4] + down[4])


# -- colours -----------------------------------------------------------------------------------


def package_colours(names: Sequence[str]) -> list[str]:
    """One fill per function, by package: a stable hash (CRC-32, not Python's ``hash``, which
    is salted per process) of the package name picks a colour, so a frame has the same colour in
    every kernel; pprof's flame view colours by package the same way, with SHA-256
    (src/cmd/vendor/github.com/google/pprof/internal/report/stacks.go:199-205 pickColor)."""
    cache: dict[str, str] = {}
    out = []
    for name in names:
        colour = cache.get(name)
        if colour is None:
            if name == ROOT_NAME:
                colour = ROOT_COLOUR
            else:
                h = zlib.crc32(package_of(name).encode())
                colour = PACKAGE_PALETTE[h % len(PACKAGE_PALETTE)]
            cache[name] = colour
        out.append(colour)
    return out


def relative_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(after - before) / max(before, after), in [-1, 1]: +1 new, -1 gone, 0 unchanged."""
    before = np.asarray(before, dtype=float)
    after = np.asarray(after, dtype=float)
    top = np.maximum(before, after)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(top > 0, (after - before) / np.where(top > 0, top, 1.0), 0.0)
    return rel


def diff_colours(before: np.ndarray, after: np.ndarray) -> list[str]:
    """Fill per box in diff mode: vermillion for growth, blue for shrinkage, the intensity the
    relative change (flamegraph.pl's difffolded red/blue, with Okabe-Ito hues that stay apart
    under colour-vision deficiencies)."""
    rel = relative_change(before, after)
    out = []
    for r in rel:
        target = GROWTH_COLOUR if r > 0 else SHRINK_COLOUR
        out.append(_mix(NEUTRAL_COLOUR, target, min(1.0, abs(float(r)))))
    return out


def _short_source(source: str) -> str:
    """A file's name without its folders (the summary must not depend on where the course is
    installed); other sources (``"model: ..."``, ``"<bytes>"``) as they are."""
    path = Path(source)
    return path.name if path.is_absolute() and path.is_file() else source


# -- the view state ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """What the tooltip says about one drawn box."""

    function: str
    package: str
    self_value: float
    total_value: float
    share: float
    stack: Stack
    base_total: float | None = None
    base_self: float | None = None


class FlameGraphModel:
    """Everything a flame-graph view shows, without drawing: hide, zoom, search, sandwich, diff.

    ``profile`` (and ``base``) are a :class:`labkit.profiles.Profile` or a plain
    ``{stack (root first): value}`` dict. Each change (:meth:`hide`, :meth:`zoom_to`,
    :meth:`search`, :meth:`sandwich`, :meth:`reset`) recomputes :attr:`layout`, the boxes the
    widget draws; the tree itself is rebuilt only when the hidden frames change.
    """

    def __init__(
        self,
        profile: Any,
        sample_type: str | None = None,
        *,
        base: Any = None,
        normalize: bool = False,
        width_px: float = DEFAULT_WIDTH_PX,
        min_px: float = DEFAULT_MIN_PX,
        max_rects: int = DEFAULT_MAX_RECTS,
    ) -> None:
        _check_layout_args(width_px, min_px, max_rects)
        stacks, self.source, self.sample_type, self.unit = _stacks_of(
            profile, sample_type, "profile"
        )
        self.source = _short_source(self.source)
        self._base_stacks: dict[Stack, float] | None = None
        self.base_source = ""
        self.normalize = bool(normalize)
        if base is not None:
            base_stacks, self.base_source, base_type, base_unit = _stacks_of(
                base,
                sample_type or (self.sample_type if hasattr(base, "stacks") else None),
                "base",
            )
            if hasattr(base, "stacks") and hasattr(profile, "stacks") and base_unit != self.unit:
                raise FlameGraphError(
                    f"base {self.base_source} measures {base_type} in {base_unit}, the profile "
                    f"{self.sample_type} in {self.unit}; compare profiles of the same kind"
                )
            if self.normalize:
                after_total = sum(stacks.values())
                before_total = sum(base_stacks.values())
                if before_total > 0:
                    k = after_total / before_total
                    base_stacks = {s: v * k for s, v in base_stacks.items()}
            self._base_stacks = base_stacks
            self.base_source = _short_source(self.base_source)
        self._stacks = stacks
        self.width_px = float(width_px)
        self.min_px = float(min_px)
        self.max_rects = int(max_rects)
        self.hidden: str = ""
        self.search_pattern: str = ""
        self.sandwich_function: str = ""
        self._focus = 0
        self._build()

    # -- state ---------------------------------------------------------------------------------

    def _build(self) -> None:
        stacks, base = self._stacks, self._base_stacks
        if self.hidden:
            stacks = hide_frames(stacks, self.hidden)
            base = hide_frames(base, self.hidden) if base is not None else None
        self._visible_stacks = stacks
        self._visible_base = base
        self.tree = FlameTree.from_stacks(stacks, base)
        self._focus = 0
        self._relayout()

    def _relayout(self) -> None:
        kw = dict(width_px=self.width_px, min_px=self.min_px, max_rects=self.max_rects)
        if self.sandwich_function:
            fn = self.sandwich_function
            base = self._visible_base
            self._callers = FlameTree.from_stacks(
                callers_stacks(self._visible_stacks, fn),
                callers_stacks(base, fn) if base is not None else None,
            )
            self._callees = FlameTree.from_stacks(
                callees_stacks(self._visible_stacks, fn),
                callees_stacks(base, fn) if base is not None else None,
            )
            self.layout = sandwich_layout(self._callers, self._callees, **kw)
        else:
            self.layout = layout(self.tree, self._focus, **kw)
        self._matched_cache: np.ndarray | None = None

    def _tree_of(self, part: int) -> FlameTree:
        if not self.sandwich_function:
            return self.tree
        return self._callers if part == 0 else self._callees

    @property
    def focus(self) -> Stack:
        """The zoomed frame's stack (``()`` when not zoomed)."""
        return self.tree.path(self._focus)

    @property
    def breadcrumb(self) -> list[str]:
        """``["all", "main.main", "main.work"]``: the way from the root to the zoomed frame."""
        return [ROOT_NAME, *self.focus]

    @property
    def rect_count(self) -> int:
        return len(self.layout)

    @property
    def total(self) -> float:
        return self.tree.total

    def hide(self, pattern: str = "") -> None:
        """Hide frames matching ``pattern`` (``""`` shows all again); resets the zoom."""
        if pattern:
            _compile(pattern, "hide pattern")
        self.hidden = pattern
        self._build()

    def zoom_to(self, stack: Sequence[str]) -> None:
        """Zoom to the frame reached by ``stack`` (root first; ``()`` zooms out fully)."""
        self.sandwich_function = ""
        self._focus = self.tree.find(stack)
        self._relayout()

    def zoom_to_box(self, index: int) -> None:
        """What a click on drawn box ``index`` does: zoom to it (in the sandwich view: make its
        function the sandwich's)."""
        if not 0 <= index < len(self.layout):
            raise FlameGraphError(f"box index must be 0..{len(self.layout) - 1}, got {index}")
        node = int(self.layout.node[index])
        tree = self._tree_of(int(self.layout.part[index]))
        if self.sandwich_function:
            self.sandwich(tree.names[node])
        else:
            self._focus = node
            self._relayout()

    def reset(self) -> None:
        """Zoom out, leave the sandwich view, clear the search (hidden frames stay hidden)."""
        self.sandwich_function = ""
        self.search_pattern = ""
        self._focus = 0
        self._relayout()

    def search(self, pattern: str) -> float:
        """Highlight frames matching ``pattern``; returns the matched share of all samples."""
        if pattern:
            _compile(pattern, "search pattern")
        self.search_pattern = pattern
        self._matched_cache = None
        return self.matched_share

    @property
    def matched_share(self) -> float:
        if not self.search_pattern:
            return 0.0
        return search_share(self.tree, self.search_pattern)

    def sandwich(self, function: str) -> None:
        """Show ``function`` with its callers above and its callees below (``""``: back to the
        flame graph)."""
        if function and function not in self.tree.names:
            close = [n for n in self.tree.functions if function.lower() in n.lower()][:5]
            raise FlameGraphError(
                f"no function {function!r} in this profile"
                + (f"; did you mean {', '.join(close)}?" if close else "; check the spelling")
                + (" (it may be hidden)" if self.hidden else "")
            )
        self.sandwich_function = function
        self._relayout()

    # -- what the boxes show -------------------------------------------------------------------

    def _per_box(self, attr: str) -> np.ndarray:
        lay = self.layout
        out = np.empty(len(lay))
        for part in (0, 1):
            sel = lay.part == part
            if sel.any():
                arr = getattr(self._tree_of(part), attr)
                out[sel] = arr[lay.node[sel]] if arr is not None else 0.0
        return out

    def names(self) -> list[str]:
        lay = self.layout
        return [
            self._tree_of(int(p)).names[int(n)] for n, p in zip(lay.node, lay.part, strict=True)
        ]

    def matched(self) -> np.ndarray:
        """Boolean per drawn box: does it match the search?"""
        if self._matched_cache is None:
            if not self.search_pattern:
                self._matched_cache = np.zeros(len(self.layout), dtype=bool)
            else:
                rx = _compile(self.search_pattern, "search pattern")
                self._matched_cache = np.array(
                    [rx.search(n) is not None and n != ROOT_NAME for n in self.names()], dtype=bool
                )
        return self._matched_cache

    def colours(self) -> list[str]:
        """Fill per drawn box: by package, or by change in diff mode; a search greys out every
        box that does not match and paints the matches reddish purple."""
        if self.search_pattern:
            return [MATCH_COLOUR if m else UNMATCHED_COLOUR for m in self.matched()]
        if self.tree.is_diff:
            return diff_colours(self._per_box("base"), self._per_box("value"))
        return package_colours(self.names())

    def labels(self, width_px: float | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(x, row, text) of the labels that fit: a box gets its name, cut with "…" to the
        characters that fit, when at least 3 do (pprof's flame view labels only boxes at least
        MIN_TEXT_WIDTH = 16 px wide, stacks.js:11 and :452)."""
        px = self.width_px if width_px is None else float(width_px)
        lay = self.layout
        chars = np.floor((lay.x1 - lay.x0) * px / CHAR_PX).astype(int) - 1
        xs, rows, texts = [], [], []
        for i, name in enumerate(self.names()):
            c = int(chars[i])
            if c < 3:
                continue
            text = name if len(name) <= c else name[: c - 1] + "…"
            xs.append(float(lay.x0[i]) + 3.0 / px)
            rows.append(int(lay.row[i]))
            texts.append(text)
        return np.asarray(xs, dtype=float), np.asarray(rows, dtype=np.int64), texts

    def box(self, index: int) -> Box:
        """The numbers behind drawn box ``index``."""
        lay = self.layout
        if not 0 <= index < len(lay):
            raise FlameGraphError(f"box index must be 0..{len(lay) - 1}, got {index}")
        part, node = int(lay.part[index]), int(lay.node[index])
        tree = self._tree_of(part)
        name = tree.names[node]
        total = float(self.tree.value[0])
        stack = tree.path(node)
        self_value = float(tree.self_value[node])
        if self.sandwich_function and part == 0:
            stack = stack[::-1]  # callers tree: turn it back into a root-first stack
            # In the callers tree only the function itself has a meaningful self value (taken
            # from the callees tree, where it is the samples that end in the function); a
            # caller's box is "samples that reach the function through this caller".
            self_value = float(self._callees.self_value[1]) if node == 1 else float("nan")
        return Box(
            function=name,
            package=package_of(name) if node else "",
            self_value=self_value,
            total_value=float(tree.value[node]),
            share=float(tree.value[node] / total) if total > 0 else 0.0,
            stack=stack,
            base_total=float(tree.base[node]) if tree.base is not None else None,
            base_self=float(tree.base_self[node]) if tree.base_self is not None else None,
        )

    def tooltip(self, index: int) -> str:
        """One line per fact: function, self, total and percent (and before/after in diff)."""
        b = self.box(index)
        fv = lambda v: format_value(v, self.unit)  # noqa: E731
        if np.isnan(b.self_value):
            facts = f"calls {self.sandwich_function}: total {fv(b.total_value)}"
        else:
            facts = f"self {fv(b.self_value)}, total {fv(b.total_value)}"
        lines = [b.function, f"{facts} ({100 * b.share:.1f} % of all)"]
        if b.package:
            lines.append(f"package {b.package}")
        if b.base_total is not None:
            rel = float(relative_change(np.array([b.base_total]), np.array([b.total_value]))[0])
            lines.append(
                f"before {fv(b.base_total)} -> after {fv(b.total_value)} "
                f"({fv(b.total_value - b.base_total)}, {100 * rel:+.0f} % of the larger)"
            )
        return "\n".join(lines)

    def top_self(self) -> tuple[str, float]:
        """The function with the largest self value (summed over all its boxes)."""
        flat = flat_by_function(self._visible_stacks)
        hidden_whole = self._visible_stacks.get((), 0.0)  # the root's own: every frame hidden
        if hidden_whole:
            flat[ROOT_NAME] = flat.get(ROOT_NAME, 0.0) + hidden_whole
        if not flat:
            return ("", 0.0)
        name = min(flat, key=lambda n: (-flat[n], n))
        return name, flat[name]

    def diff_summary(self) -> str:
        """Largest growth and shrinkage by function self value (diff mode)."""
        if self._visible_base is None:
            return ""
        delta = flat_by_function(self._visible_stacks)
        for stack, v in self._visible_base.items():
            if stack:  # a stack hidden whole has no function to credit (not the root's)
                delta[stack[-1]] = delta.get(stack[-1], 0.0) - v
        fv = lambda v: format_value(v, self.unit)  # noqa: E731
        parts = []
        if delta and max(delta.values()) > 0:
            grew = max(delta, key=lambda n: (delta[n], n))
            parts.append(f"grew most: {grew} (+{fv(delta[grew])})")
        if delta and min(delta.values()) < 0:
            shrank = min(delta, key=lambda n: (delta[n], n))
            parts.append(f"shrank most: {shrank} ({fv(delta[shrank])})")
        return "; ".join(parts) or "no function's self value changed"

    def summary(self) -> str:
        """One line: source, sample type, total, top function by self, matched share (and the
        view state: zoom, hidden frames, sandwich, diff)."""
        fn, flat = self.top_self()
        total = self.total
        pct = 100 * flat / total if total > 0 else 0.0
        parts = [
            f"{self.source}: {self.sample_type} total {format_value(total, self.unit)}",
            f"top self {fn} {format_value(flat, self.unit)} ({pct:.1f} %)",
        ]
        if self.search_pattern:
            parts.append(f"search /{self.search_pattern}/ matched {100 * self.matched_share:.1f} %")
        if self._focus:
            parts.append("zoom " + " > ".join(self.breadcrumb))
        if self.hidden:
            parts.append(f"hidden /{self.hidden}/")
        if self.sandwich_function:
            parts.append(f"sandwich {self.sandwich_function}")
        if self._visible_base is not None:
            norm = "normalised" if self.normalize else "absolute"
            parts.append(f"diff vs {self.base_source} ({norm}): {self.diff_summary()}")
        parts.append(f"{self.rect_count} boxes drawn")
        return "; ".join(parts)
