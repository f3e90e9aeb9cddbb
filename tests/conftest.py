"""Test-session set-up shared by every test: keep Jupyter, IPython, Go and Chromium state out of
the home directory even when pytest is run directly rather than through ``course.py test``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    sys.path.insert(0, str(ROOT))
    try:
        from course import course_env
    finally:
        sys.path.pop(0)
    for key, value in course_env().items():
        if key.startswith(("JUPYTER", "IPYTHON", "GO", "XDG_", "LABKIT_", "MPLCONFIG")):
            os.environ.setdefault(key, value)
