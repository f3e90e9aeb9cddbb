"""The suite's one hypothesis policy (tests/conftest.py), proved on a probe test that asks for
the opposite of every rule: the default run is derandomized, uses no example database and no
deadline, whatever a test's own @settings say; the explore profile runs random seeds with the
requested number of examples; every @given test carries the ``property`` marker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = "tests/data/hypothesis_policy/test_probe.py"


def _run_probe(tmp_path: Path, *args: str, fail: bool = False) -> tuple[int, list[str], str]:
    """Run the probe in a fresh pytest; return its exit code, the examples it saw, its output."""
    out = tmp_path / f"examples-{len(list(tmp_path.iterdir()))}.txt"
    env = dict(os.environ, PROBE_OUT=str(out), PROBE_DB=str(tmp_path / "db"))
    env.pop("PROBE_FAIL", None)
    if fail:
        env["PROBE_FAIL"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", PROBE, "-q", "-p", "no:randomly", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seen = out.read_text().split() if out.exists() else []
    return proc.returncode, seen, proc.stdout + proc.stderr


def test_default_runs_are_derandomized_and_ignore_the_tests_own_deadline(tmp_path):
    """Two default runs give the probe the same examples, though it asks for derandomize=False
    and sleeps five times its 1 ms deadline."""
    code1, first, log = _run_probe(tmp_path)
    code2, second, _ = _run_probe(tmp_path)
    assert code1 == 0 and code2 == 0, log
    assert first and first == second


def test_default_runs_keep_no_example_database(tmp_path):
    """A failing probe run with a database in its own settings writes nothing there."""
    code, _, log = _run_probe(tmp_path, fail=True)
    assert code == 1 and "Failing test case" in log, log
    assert not (tmp_path / "db").exists()


def test_explore_runs_random_seeds_with_the_requested_examples(tmp_path):
    """--hypothesis-profile=explore: a seed gives the same examples twice, another seed others,
    and --explore-examples sets how many, over the probe's own max_examples=5."""
    explore = ("--hypothesis-profile=explore", "--explore-examples=7")
    code1, a, log = _run_probe(tmp_path, *explore, "--hypothesis-seed=1")
    code2, again, _ = _run_probe(tmp_path, *explore, "--hypothesis-seed=1")
    code3, b, _ = _run_probe(tmp_path, *explore, "--hypothesis-seed=2")
    assert code1 == code2 == code3 == 0, log
    assert len(a) == 7 and a == again and a != b


@pytest.mark.parametrize(("marker", "ran"), [("property", True), ("not property", False)])
def test_given_tests_are_marked_property(tmp_path, marker, ran):
    """-m property selects every @given test, and only those."""
    code, seen, log = _run_probe(tmp_path, "-m", marker)
    assert code == (0 if ran else 5), log  # 5: pytest collected nothing to run
    assert bool(seen) == ran
