"""`python3 course.py lab` serves the course: start JupyterLab exactly as that command does."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser"))
from jlab import ROOT, LabServer  # noqa: E402


def test_lab_command_serves_the_start_notebook(tmp_path):
    server = LabServer(root=ROOT, state=tmp_path).start()
    try:
        base = f"{server.url}/api/contents/chapters/00-start-here.ipynb?token={server.token}"
        with urllib.request.urlopen(base, timeout=10) as r:
            assert r.status == 200
        with urllib.request.urlopen(f"{server.url}/lab?token={server.token}", timeout=10) as r:
            page = r.read().decode()
        assert "JupyterLab" in page
        with urllib.request.urlopen(
            f"{server.url}/api/kernelspecs?token={server.token}", timeout=10
        ) as r:
            assert b"python3" in r.read()
    finally:
        server.stop()
