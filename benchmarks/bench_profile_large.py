"""labkit.profiles on the largest real profile at hand against `go tool pprof -top` on it.

The file is google/pprof's internal/proftest/testdata/large.cpu (1.2 MB gzip, 240 s of CPU
samples of a Go program, 23,038 functions), which cannot be committed here: fetch google/pprof,
check the file out, and point LABKIT_LARGE_PROFILE at it:

    git --git-dir=/work/.mirror/google+pprof/repo show HEAD:internal/proftest/testdata/large.cpu \\
        > /tmp/large.cpu
    LABKIT_LARGE_PROFILE=/tmp/large.cpu python3 course.py bench -k profile_large

Both sides do the same work: read and decode the file, then list every function with its flat
and cum (labkit: load_profile + top(None); pprof: -top -nodecount=1000000 -nodefraction=0,
which also symbolizes, aggregates and prints). pprof runs as a fresh process each round, as a
learner runs it; its start-up (about 0.1 s) is part of what it costs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.profiles import load_profile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import regen_profiles  # noqa: E402

LARGE = os.environ.get("LABKIT_LARGE_PROFILE", "")

pytestmark = pytest.mark.skipif(
    not Path(LARGE).is_file(), reason="set LABKIT_LARGE_PROFILE to google/pprof's large.cpu"
)


def load_and_top() -> list[tuple[str, int, int]]:
    return load_profile(LARGE).top(None)


def pprof_top(go: str) -> str:
    args = [go, "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", LARGE]
    env = regen_profiles.go_env()
    return subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout


def test_labkit_load_and_top(benchmark):
    rows = benchmark.pedantic(load_and_top, rounds=7, iterations=1, warmup_rounds=1)
    assert len(rows) > 20_000


def test_go_tool_pprof_top(benchmark):
    go = regen_profiles.find_go()
    if go is None:
        pytest.skip("no Go toolchain")
    out = benchmark.pedantic(pprof_top, args=(go,), rounds=7, iterations=1, warmup_rounds=1)
    assert "flat%" in out
