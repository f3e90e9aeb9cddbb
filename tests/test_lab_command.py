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


class _DebugLabServer(LabServer):
    """The lab command's server, logging at debug level (labkit.serving logs TCP_NODELAY)."""

    def command(self) -> list[str]:
        return [*super().command(), "--ServerApp.log_level=DEBUG"]


def test_the_kernel_websocket_answers_through_the_course_connection(tmp_path):
    """The lab command's server speaks to a kernel through labkit.serving's connection: a
    kernel_info_request over the WebSocket gets its reply, and the server's log reads
    TCP_NODELAY back from that WebSocket's socket as on (jupyter_server's own connection
    logs no such line; a set_nodelay that did not take logs 0)."""
    import asyncio
    import json
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from tornado.websocket import websocket_connect

    server = _DebugLabServer(root=ROOT, state=tmp_path).start()
    auth = {"Authorization": f"token {server.token}"}

    async def kernel_info(kernel_id: str) -> dict:
        session = uuid.uuid4().hex
        ws = await websocket_connect(
            f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
            f"?session_id={session}&token={server.token}"
        )
        header = {"msg_id": uuid.uuid4().hex, "msg_type": "kernel_info_request",
                  "username": "test", "session": session, "date": "", "version": "5.3"}  # fmt: skip
        await ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                           "content": {}, "channel": "shell"}))  # fmt: skip
        while True:
            msg = json.loads(await asyncio.wait_for(ws.read_message(), 60))
            if msg["msg_type"] == "kernel_info_reply":
                ws.close()
                return msg["content"]

    try:
        kernel = requests.post(
            f"{server.url}/api/kernels", json={"name": "python3"}, headers=auth, timeout=30
        ).json()
        # a thread of its own: an earlier test of the suite may leave an event loop running here
        with ThreadPoolExecutor(1) as pool:
            reply = pool.submit(asyncio.run, kernel_info(kernel["id"])).result(timeout=120)
        assert reply["status"] == "ok" and reply["language_info"]["name"] == "python"
        log = (tmp_path / "jupyterlab.log").read_text()
        assert f"kernel {kernel['id']} WebSocket: TCP_NODELAY 1" in log
    finally:
        server.stop()
