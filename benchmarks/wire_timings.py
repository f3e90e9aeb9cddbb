#!/usr/bin/env python3
"""The kernel's and the server's half of a widget interaction, without a browser.

``browser_timings.py`` times what a learner waits for, from the key press to the changed SVG.
This times the part of it that is not the browser's: the control's new value goes to the kernel
as the browser sends it (a ``comm_msg`` "update" on the shell channel, through JupyterLab's
server), the model re-runs, and the widget's messages come back over the same WebSocket. A
Python WebSocket client stands where the browser would; nothing renders.

    .venv/bin/python benchmarks/wire_timings.py            # each interaction, 11 times
    .venv/bin/python benchmarks/wire_timings.py --repeat 21

For each interaction it prints the median and p95 of: the first comm message back, the last one
(every figure's data has left the server), the kernel's "idle", the count of messages and their
bytes. Set beside ``browser_timings.py``'s figures for the same interaction, the difference is
the browser's: its WebSocket, the widgets' JavaScript, style, layout and paint
(benchmarks/README.md, "Sixth pass"). JupyterLab is started as ``python3 course.py lab`` starts
it; ``--nagle`` starts it without the course's server setting (labkit/serving.py), as a plain
``jupyter lab`` would, to compare. Timing is never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_timings import PlainLabServer  # noqa: E402
from jlab import LabServer, free_port  # noqa: E402

sys.path.insert(0, str(ROOT))
from course import PROXY  # noqa: E402


@dataclass(frozen=True)
class Interaction:
    """A widget built by ``setup`` (its control named by ``control``, a Python expression), and
    the value the control is sent at the i-th repetition."""

    name: str
    setup: str
    control: str
    value: Callable[[int], Any]


_INCIDENT = "from labkit.widgets import IncidentLab\nw = IncidentLab(db_timeout=True)"  # chapter 5
INTERACTIONS = (
    # a fix toggled: after the first two, both runs (on and off) are kept: no model run
    Interaction("IncidentLab: a fix toggled", _INCIDENT, "w.controls['cache_json']",
                lambda i: i % 2 == 0),
    # a new setting each time, with a fix on: two model runs (the setting, and "before")
    Interaction("IncidentLab: dashboards, a new setting", _INCIDENT, "w.controls['clients']",
                lambda i: 21 + i),
    Interaction("IncidentLab: seed, a new setting", _INCIDENT, "w.controls['seed']",
                lambda i: 1 + i),
)  # fmt: skip


class Kernel:
    """A kernel of a JupyterLab server, spoken to over the server's WebSocket as the browser
    speaks to it (the JSON protocol: the server unpacks and packs each message again), directly
    or through a proxy's port."""

    def __init__(self, server: LabServer, port: int | None = None) -> None:
        self.server = server
        self.port = port or server.port
        self.session = uuid.uuid4().hex
        self.ws: Any = None

    async def open(self) -> Kernel:
        import requests
        from tornado.websocket import websocket_connect

        auth = {"Authorization": f"token {self.server.token}"}
        kernel = requests.post(
            self.server.url + "/api/kernels", json={"name": "python3"}, headers=auth, timeout=60
        ).json()
        self.ws = await websocket_connect(
            f"ws://127.0.0.1:{self.port}/api/kernels/{kernel['id']}/channels"
            f"?session_id={self.session}&token={self.server.token}",
            max_message_size=1 << 30,
        )
        return self

    def _message(self, msg_type: str, content: dict) -> dict:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "bench",
                  "session": self.session, "date": "", "version": "5.3"}  # fmt: skip
        return {"header": header, "parent_header": {}, "metadata": {}, "content": content,
                "channel": "shell", "buffers": []}  # fmt: skip

    async def send(self, msg_type: str, content: dict) -> list[tuple[float, str, int]]:
        """Send one message; return what comes back until the kernel is idle again: (seconds
        after sending, message type, bytes) each."""
        sent = time.perf_counter()
        await self.ws.write_message(json.dumps(self._message(msg_type, content)))
        got, busy = [], False
        while True:
            raw = await self.ws.read_message()
            at = time.perf_counter() - sent
            if raw is None:
                raise RuntimeError("the server closed the WebSocket")
            kind, state = _kind(raw)
            got.append((at, kind, len(raw)))
            busy = busy or state == "busy"
            if busy and state == "idle":
                return got

    async def run(self, code: str) -> None:
        """Execute code (an exception in it fails the benchmark)."""
        await self.send("execute_request", {"code": code, "silent": False, "store_history": False,
                                            "user_expressions": {}, "allow_stdin": False,
                                            "stop_on_error": True})  # fmt: skip


def _kind(raw: str | bytes) -> tuple[str, str]:
    """A WebSocket message's type and, for a status message, the kernel's state. A message with
    binary buffers comes in jupyter_server's binary framing (serialize_binary_message: a
    big-endian count and offsets, then the JSON message)."""
    if isinstance(raw, bytes):
        n = int.from_bytes(raw[:4], "big")
        offsets = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n)]
        msg = json.loads(raw[offsets[0] : offsets[1] if n > 1 else len(raw)])
    else:
        msg = json.loads(raw)
    if msg.get("msg_type") == "error" or msg["header"]["msg_type"] == "error":
        raise RuntimeError("the kernel raised: " + "\n".join(msg["content"]["traceback"]))
    kind = msg["header"]["msg_type"]
    return kind, msg["content"].get("execution_state", "") if kind == "status" else ""


async def time_one(kernel: Kernel, interaction: Interaction, repeat: int) -> list[dict]:
    """Build the widget, find its control's comm, then send the control's values as the
    browser does (one warm-up first); one record per timed repetition."""
    marker = uuid.uuid4().hex
    await kernel.run(f"{interaction.setup}\n_bench_{marker} = {interaction.control}")
    model_id = await _model_id(kernel, f"_bench_{marker}")
    records = []
    for i in range(repeat + 1):
        update = {"method": "update", "state": {"value": interaction.value(i)},
                  "buffer_paths": []}  # fmt: skip
        got = await kernel.send("comm_msg", {"comm_id": model_id, "data": update})
        comm = [g for g in got if g[1] == "comm_msg"]
        if i and comm:
            records.append({"first": comm[0][0], "last": comm[-1][0], "idle": got[-1][0],
                            "count": len(comm), "bytes": sum(g[2] for g in comm)})  # fmt: skip
    return records


async def _model_id(kernel: Kernel, name: str) -> str:
    """The comm id of the widget bound to ``name`` in the kernel, read from a stream message."""
    sent = kernel._message("execute_request", {"code": f"print({name}.model_id)", "silent": False,
                           "store_history": False, "user_expressions": {},
                           "allow_stdin": False, "stop_on_error": True})  # fmt: skip
    await kernel.ws.write_message(json.dumps(sent))
    model_id = None
    while True:
        raw = await kernel.ws.read_message()
        msg = json.loads(raw) if isinstance(raw, str) else None
        if msg and msg["header"]["msg_type"] == "stream":
            model_id = msg["content"]["text"].strip()
        idle = msg and msg["header"]["msg_type"] == "status"
        if idle and model_id and msg["content"]["execution_state"] == "idle":
            return model_id


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * 0.95
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@contextmanager
def proxy_to(server: LabServer) -> Iterator[int]:
    """configurable-http-proxy (the workshop's, from ``course.py setup``: the proxy JupyterHub and
    Binder put between a learner's browser and their server) in front of ``server``; yields its
    port, and stops it at the end."""
    port, api_port = free_port(), free_port()
    proxy = subprocess.Popen(
        [str(PROXY), "--ip", "127.0.0.1", "--port", str(port), "--api-port", str(api_port),
         "--default-target", server.url],
        env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": uuid.uuid4().hex},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield port
    finally:
        proxy.terminate()
        proxy.wait(10)


async def main_async(repeat: int, nagle: bool, proxy: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="labkit-wire-") as tmp, ExitStack() as stack:
        kind = PlainLabServer if nagle else LabServer
        server = kind(root=ROOT, state=Path(tmp) / "state").start()
        stack.callback(server.stop)
        port = stack.enter_context(proxy_to(server)) if proxy else None
        kernel = await Kernel(server, port).open()
        for interaction in INTERACTIONS:
            records = await time_one(kernel, interaction, repeat)
            ms = {k: [1000 * r[k] for r in records] for k in ("first", "last", "idle")}
            times = ", ".join(
                f"{k} {statistics.median(v):.0f} ms (p95 {_p95(v):.0f})" for k, v in ms.items()
            )
            count = statistics.median(r["count"] for r in records)
            kilobytes = statistics.median(r["bytes"] for r in records) / 1000
            print(f"{interaction.name}: {times}; {count:.0f} messages, {kilobytes:.0f} kB")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="timings per interaction")
    parser.add_argument("--nagle", action="store_true", help="without labkit/serving.py")
    parser.add_argument("--proxy", action="store_true", help="through JupyterHub's proxy")
    opts = parser.parse_args(argv)
    print(
        f"load average {os.getloadavg()[0]:.2f}; {opts.repeat} timings per interaction"
        + ("; jupyter_server's own WebSocket (Nagle's algorithm on)" if opts.nagle else "")
        + ("; through configurable-http-proxy" if opts.proxy else "")
    )
    asyncio.run(main_async(opts.repeat, opts.nagle, opts.proxy))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
