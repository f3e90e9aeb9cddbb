"""What FlameGraphModel's docstrings promise about its view state and colours, pinned by
behaviour: colours that do not depend on the process, hide / zoom / reset / sandwich
interplay, and diff colours by relative change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labkit.profiles import load_profile
from labkit.profiles.flamelayout import (
    GROWTH_COLOUR,
    NEUTRAL_COLOUR,
    PACKAGE_PALETTE,
    SHRINK_COLOUR,
    FlameGraphError,
    FlameGraphModel,
    diff_colours,
    package_of,
)

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "labkit" / "data" / "profiles"

STACKS = {
    ("main.main", "main.a", "main.fib", "main.fib", "main.leaf"): 3,
    ("main.main", "main.b", "main.fib"): 2,
    ("main.main", "main.other"): 5,
    ("runtime.gcBgMarkWorker", "runtime.gcDrain"): 4,
}

# -- colours across processes --------------------------------------------------------------------

_DRAW = """
import json, sys
from labkit.profiles.flamelayout import FlameGraphModel
from labkit.profiles import load_profile
before = load_profile(sys.argv[1])
after = load_profile(sys.argv[2])
plain, diff = FlameGraphModel(before, min_px=0), FlameGraphModel(after, base=before, min_px=0)
many = FlameGraphModel({("main.main", f"example.com/p{i}.F"): 1 for i in range(40)}, min_px=0)
print(json.dumps({
    "boxes": [list(b) for b in zip(plain.names(), plain.colours())],
    "packages": [list(b) for b in zip(many.names(), many.colours())],
    "diff": [list(b) for b in zip(diff.names(), diff.colours())],
    "x0": plain.layout.x0.tolist(),
    "summary": [plain.summary(), diff.summary()],
}))
"""


def _draw_in_a_fresh_process(hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    args = [sys.executable, "-c", _DRAW]
    args += [str(PROFILES / "lab03-alloc.pb.gz"), str(PROFILES / "lab03-pooled.pb.gz")]
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_frame_has_the_same_colour_in_every_process():
    """Python salts ``hash(str)`` per process (PYTHONHASHSEED), so a colour picked with it would
    change from one kernel to the next. Package colours come from CRC-32 of the package name, as
    pprof's flame view picks them from SHA-256 of it (pickColor in
    src/cmd/vendor/github.com/google/pprof/internal/report/stacks.go:200): the real lab 3
    profiles, plain and as a diff, and 40 more packages draw the same boxes in the same colours
    under three seeds."""
    runs = {seed: _draw_in_a_fresh_process(seed) for seed in ("0", "1", "12345")}
    first = runs["0"]
    assert all(run == first for run in runs.values())
    # 44 packages: a salted hash would disagree on some (each has a 1 in 6 chance to agree).
    packages = {package_of(name) for name, _ in first["boxes"][1:] + first["packages"][1:]}
    assert len(packages) == 44
    assert set(PACKAGE_PALETTE) == {colour for _, colour in first["packages"][2:]}
    here = FlameGraphModel(load_profile(PROFILES / "lab03-alloc.pb.gz"), min_px=0)
    assert [list(b) for b in zip(here.names(), here.colours(), strict=True)] == first["boxes"]


def test_one_colour_per_package_from_the_palette():
    m = FlameGraphModel(STACKS, min_px=0)
    by_package: dict[str, set[str]] = {}
    for name, colour in zip(m.names()[1:], m.colours()[1:], strict=True):
        by_package.setdefault(package_of(name), set()).add(colour)
    assert all(len(c) == 1 for c in by_package.values())
    assert set().union(*by_package.values()) <= set(PACKAGE_PALETTE)


# -- diff colours --------------------------------------------------------------------------------


def _distance(a: str, b: str) -> float:
    ra = np.array([int(a[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    rb = np.array([int(b[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return float(np.abs(ra - rb).sum())


def test_diff_colour_hue_is_the_sign_and_strength_the_relative_change():
    """Growth vermillion, shrinkage blue, and the stronger the larger the change relative to the
    larger of before and after: 10 -> 5 and 1000 -> 500 look the same (both -50 %), 1000 -> 995
    is almost neutral although it lost as many samples as 10 -> 5; a stack that is new or gone
    gets the full colour."""
    before = np.array([0, 10, 1000, 1000, 10, 10, 10, 10, 5, 0])
    after = np.array([0, 5, 500, 995, 10, 15, 20, 40, 0, 5])
    c = diff_colours(before, after)
    assert c[0] == c[4] == NEUTRAL_COLOUR
    assert c[1] == c[2] != c[3]
    assert _distance(c[3], NEUTRAL_COLOUR) < 5 < _distance(c[1], NEUTRAL_COLOUR)
    assert (c[8], c[9]) == (SHRINK_COLOUR, GROWTH_COLOUR)
    growth = [_distance(x, NEUTRAL_COLOUR) for x in c[5:8]]  # +33 %, +50 %, +75 %
    assert growth == sorted(growth) and len(set(growth)) == 3
    assert all(_distance(x, GROWTH_COLOUR) < _distance(x, SHRINK_COLOUR) for x in c[5:8])
    assert _distance(c[1], SHRINK_COLOUR) < _distance(c[1], GROWTH_COLOUR)


def test_a_diff_box_is_coloured_by_its_total_not_by_its_self_value():
    """main.main's own samples triple (10 -> 30) while its callee main.a loses as many: its
    total is unchanged, so its box is neutral; main.a shows the shift."""
    before = {("main.main",): 10, ("main.main", "main.a"): 30, ("main.main", "main.b"): 10}
    after = {("main.main",): 30, ("main.main", "main.a"): 10, ("main.main", "main.b"): 10}
    m = FlameGraphModel(after, base=before)
    fills = dict(zip(m.names(), m.colours(), strict=True))
    assert fills["main.main"] == NEUTRAL_COLOUR
    assert _distance(fills["main.a"], SHRINK_COLOUR) < _distance(fills["main.a"], GROWTH_COLOUR)
    assert fills["main.b"] == NEUTRAL_COLOUR


# -- hide, zoom, reset, sandwich -----------------------------------------------------------------


def test_hiding_frames_resets_the_zoom_and_reset_keeps_them_hidden():
    """``hide`` rebuilds the tree, so the old zoom (a node of the old tree) is dropped;
    ``reset`` zooms out and clears search and sandwich but leaves the hidden frames hidden."""
    m = FlameGraphModel(STACKS, min_px=0)
    m.zoom_to(("main.main", "main.a"))
    m.hide(r"^runtime\.")
    assert m.focus == () and m.breadcrumb == ["all"]
    assert "runtime.gcDrain" not in m.names()
    m.search("fib")
    m.sandwich("main.fib")
    m.reset()
    assert (m.hidden, m.search_pattern, m.sandwich_function) == (r"^runtime\.", "", "")
    assert "runtime.gcDrain" not in m.names() and m.total == 14


def test_the_tree_is_rebuilt_only_when_the_hidden_frames_change():
    m = FlameGraphModel(STACKS, min_px=0)
    tree = m.tree
    m.zoom_to(("main.main",))
    m.search("fib")
    m.sandwich("main.fib")
    m.reset()
    assert m.tree is tree
    m.hide("gcDrain")
    assert m.tree is not tree


def test_the_sandwich_draws_its_function_once_and_a_click_makes_another_the_centre():
    """speedscope's sandwich: the function's box appears once (row 0), callers above, callees
    below. A click on a caller or callee makes that function the sandwich's; ``zoom_to``
    leaves the sandwich view."""
    m = FlameGraphModel(STACKS, min_px=0)
    m.sandwich("main.fib")
    rows = m.layout.row.tolist()
    assert rows.count(0) == 1 and m.names()[rows.index(0)] == "main.fib"
    caller = m.names().index("main.a")
    assert m.layout.row[caller] == 1
    m.zoom_to_box(caller)
    assert m.sandwich_function == "main.a"
    assert m.names()[m.layout.row.tolist().index(0)] == "main.a"
    m.zoom_to(("main.main",))
    assert m.sandwich_function == "" and m.focus == ("main.main",)


def test_a_hidden_function_cannot_be_the_sandwich_and_the_error_says_it_may_be_hidden():
    m = FlameGraphModel(STACKS)
    m.hide("fib")
    with pytest.raises(FlameGraphError, match=r"no function 'main\.fib'.*may be hidden"):
        m.sandwich("main.fib")


def test_top_self_sums_a_functions_self_value_over_all_its_boxes():
    """main.leafy ends 3 + 3 samples in two places: more than main.big's single box of 5."""
    s = {("main.a", "main.leafy"): 3, ("main.b", "main.leafy"): 3, ("main.c", "main.big"): 5}
    assert FlameGraphModel(s).top_self() == ("main.leafy", 6.0)
