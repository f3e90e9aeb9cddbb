"""The workshop hub, started as ``python3 course.py workshop`` starts it (workshop/loadtest.py's
Room: a local clone of the course, a free loopback port, everything in a temporary folder): one
learner logs in, the nbgitpuller link pulls the course into their home and opens the start
notebook, every cell runs; the memory limit kills a kernel that goes over it; Ctrl-C stops the
hub with nothing left behind. Bounded to about a minute; skipped when configurable-http-proxy
(npm) is missing."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workshop.loadtest import MEMORY_PROBE, KernelDied, Room, ours  # noqa: E402
from workshop.settings import PROXY, SETTINGS_FILE, load  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not PROXY.exists() or shutil.which("node") is None,
        reason="configurable-http-proxy is not installed (python3 course.py setup installs it "
        "with npm into workshop/node_modules; it needs Node.js 20+ and npm)",
    ),
]

NOTEBOOK = "chapters/00-start-here.ipynb"
#: A lower memory limit than the class's, so the probe that crosses it stays small.
TEST_MEM_LIMIT = "600M"


def test_one_learner_reaches_the_notebook_runs_it_and_the_limit_holds(tmp_path):
    settings = tmp_path / "settings.toml"
    settings.write_text(
        SETTINGS_FILE.read_text().replace('mem_limit = "1G"', f'mem_limit = "{TEST_MEM_LIMIT}"')
    )
    limit = load(settings).mem_limit_bytes
    room = Room(settings=settings)
    with room:
        work = room.work
        learner = room.learner("learner-01", NOTEBOOK, time.monotonic() + 120)
        base, ws, session = learner.open_notebook()
        try:
            home = room.hub.homes / "learner-01"
            assert (home / "go-scheduler-stalls" / NOTEBOOK).is_file()
            assert learner.result.time_to_notebook_s is not None
            learner.run_all(base, ws, session)
            assert learner.result.cells > 3
            assert learner.result.cell_errors == 0
            # Over the memory limit: the hub's watchdog kills the kernel (it restarts).
            t = time.monotonic()
            with pytest.raises(KernelDied):
                learner.execute(ws, session, MEMORY_PROBE.format(nbytes=int(limit * 1.25),
                                                                 hold_s=20))  # fmt: skip
            assert time.monotonic() - t < 20
        finally:
            ws.close()
    assert room.leftover == 0, "the hub's own stop left processes behind"
    assert not work.exists()
    assert not [p.pid for p in psutil.process_iter() if ours(p, work)]


def test_the_hub_refuses_a_wrong_password(tmp_path):
    import requests

    with Room() as room:
        s = requests.Session()
        page = s.get(room.hub.url + "hub/login", timeout=10)
        xsrf = page.cookies.get("_xsrf") or s.cookies.get("_xsrf", path="/hub/")
        r = s.post(room.hub.url + "hub/login",
                   data={"username": "learner-01", "password": "wrong-password", "_xsrf": xsrf},
                   timeout=10)  # fmt: skip
        assert r.status_code == 403
        assert "/hub/login" in r.url
    assert room.leftover == 0
