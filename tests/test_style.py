"""The repository is ruff clean, as the engineering standards ask: lint (pyproject.toml's
[tool.ruff.lint] rules) and format, over the package, the tests, the scripts and the notebooks'
code cells. Run ``ruff check --fix . && ruff format .`` to fix what this finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
