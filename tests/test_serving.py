"""Every JupyterLab of the course sends the kernel's messages without Nagle's delay
(labkit/serving.py): the connection sets TCP_NODELAY, and each way the course starts a server
(the lab command, hence the browser tests; Binder's config file; the workshop hubs, in
tests/test_workshop_config.py) runs with it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from labkit.serving import NoDelayKernelConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course import LAB_SERVER_ARGS, LAB_SERVER_CONFIG, lab_command  # noqa: E402


class _Handler:
    """Stands for jupyter_server's KernelWebsocketHandler: records what is asked of it."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def set_nodelay(self, value: bool) -> None:
        self.calls.append(f"set_nodelay({value})")


def test_a_connection_sets_nodelay_before_it_connects(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(
        ZMQChannelsWebsocketConnection, "connect", lambda self: calls.append("connect")
    )
    connection = NoDelayKernelConnection.__new__(NoDelayKernelConnection)
    monkeypatch.setattr(NoDelayKernelConnection, "websocket_handler", _Handler(calls))
    monkeypatch.setattr(NoDelayKernelConnection, "kernel_id", "k1")
    connection.connect()
    assert calls == ["set_nodelay(True)", "connect"]
    assert connection.nodelay() is None  # the stand-in has no socket to read back


def test_the_lab_command_names_the_connection():
    (arg,) = LAB_SERVER_ARGS
    assert arg in lab_command()
    module, name = LAB_SERVER_CONFIG["kernel_websocket_connection_class"].rsplit(".", 1)
    assert getattr(__import__(module, fromlist=[name]), name) is NoDelayKernelConnection


def test_binder_writes_the_setting_where_jupyter_server_reads_it(tmp_path):
    """binder/postBuild's Python (run with sys.prefix in a temporary folder) writes a config file
    that jupyter_server, given that folder as its config path, loads into ServerApp."""
    post_build = (ROOT / "binder" / "postBuild").read_text()
    (snippet,) = re.findall(r"<<'PY'\n(.*?)\nPY\n", post_build, re.S)
    prefix = tmp_path / "prefix"
    server = prefix / "etc/jupyter/jupyter_server_config.json"
    server.parent.mkdir(parents=True)
    server.write_text(json.dumps({"ServerApp": {"port": 8899}}))  # the environment's own: kept
    code = f"import sys\nsys.prefix = {str(prefix)!r}\n" + snippet
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    written = json.loads(server.read_text())
    assert written == {"ServerApp": {"port": 8899, **LAB_SERVER_CONFIG}}
    load = (
        "from jupyter_server.serverapp import ServerApp\n"
        "app = ServerApp()\n"
        "app.load_config_file()\n"
        "print(app.config.ServerApp.kernel_websocket_connection_class)\n"
    )
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(prefix / "etc/jupyter"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", load], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == LAB_SERVER_CONFIG["kernel_websocket_connection_class"]
