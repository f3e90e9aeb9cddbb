"""`python3 course.py explore`: runs the property tests under random seeds and reports each
failure with its seed, minimal example and rerun command; run here on the policy probe
(tests/data/hypothesis_policy/test_probe.py), which fails on purpose when PROBE_FAIL is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "tests/data/hypothesis_policy/test_probe.py"


def _explore(tmp_path: Path, *args: str, fail: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, PROBE_OUT=str(tmp_path / "seen.txt"), PROBE_DB=str(tmp_path / "db"))
    env.pop("PROBE_FAIL", None)
    if fail:
        env["PROBE_FAIL"] = "1"
    return subprocess.run(
        [sys.executable, "course.py", "explore", *args, PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_explore_reports_a_failure_with_its_seed_minimal_example_and_rerun(tmp_path):
    """The probe fails for any integer >= 1000: every seed finds it, hypothesis shrinks it to
    1000, and the summary says so, with a command that reruns that seed."""
    run = _explore(tmp_path, "--seeds", "2", "--seed", "11", "--examples", "30", fail=True)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "[1/2] seed 11:" in out and "[2/2] seed " in out
    assert f"FAILED {PROBE}::test_probe\n  under 2 of 2 seeds (11, " in out
    assert "test_probe(\n      x=1000,\n  )" in out
    assert f"rerun: python3 course.py explore --seed 11 --seeds 1 --examples 30 {PROBE}" in out
    assert "2 seeds x 30 examples in " in out


def test_explore_passes_when_no_seed_finds_a_failure(tmp_path):
    run = _explore(tmp_path, "--seeds", "1", "--seed", "12", "--examples", "7", fail=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No property test failed." in run.stdout
    assert len((tmp_path / "seen.txt").read_text().split()) == 7  # --examples reached the test


def test_explore_rejects_a_count_below_one(tmp_path):
    run = _explore(tmp_path, "--seeds", "0", fail=False)
    assert run.returncode == 2 and "--examples and --seeds must be at least 1" in run.stderr
