"""What the services tests share: whether the live services can run here (else skip, or fail
under CI=true, where .ci/run installs the packages), and the checks that a run left nothing
behind (processes, listening ports, temporary directories), each able to see a leftover."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit.golab.services.build import build_services, missing
from labkit.golab.services.errors import APT_INSTALL
from labkit.golab.services.postgres import find_postgres
from labkit.golab.services.procs import _stat, descendants  # noqa: F401 - the tests' import


def require_services(*, postgres: bool = False, prometheus: bool = False) -> None:
    """Skip (fail under CI=true) unless the services can be built and what is asked is there."""
    lacking = missing()
    if prometheus and not _which("prometheus"):
        lacking.append("prometheus")
    if postgres and find_postgres() is None:
        lacking.append("PostgreSQL (initdb, postgres)")
    if lacking:
        reason = f"the live services need {', '.join(lacking)} ({APT_INSTALL})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    build_services()


def _which(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def alive(pids: Iterable[int]) -> set[int]:
    """Those of ``pids`` that still run (zombies count as gone: nothing is left but the entry)."""
    out = set()
    for pid in pids:
        st = _stat(pid)
        if st is not None and st[1] != "Z":
            out.add(pid)
    return out


def ports_in(commands: Iterable[Iterable[str]]) -> set[int]:
    """The loopback ports named in the run's commands (-addr=, --web.listen-address=, -p N)."""
    ports = set()
    for argv in commands:
        argv = list(argv)
        for i, arg in enumerate(argv):
            m = re.search(r"127\.0\.0\.1:(\d+)$", arg)
            if m:
                ports.add(int(m[1]))
            if arg == "-p" and i + 1 < len(argv):
                ports.add(int(argv[i + 1]))
    return ports


def listening(ports: Iterable[int]) -> set[int]:
    """Those of ``ports`` someone listens on (a connection to 127.0.0.1 succeeds)."""
    out = set()
    for port in ports:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                out.add(port)
    return out


def command_lines(pid: int) -> list[list[str]]:
    """The command lines of ``pid``'s descendants (for the ports they were given)."""
    out = []
    for d in descendants(pid):
        try:
            raw = Path(f"/proc/{d}/cmdline").read_bytes()
        except OSError:
            continue
        out.append([a.decode(errors="replace") for a in raw.split(b"\0") if a])
    return out


@contextmanager
def bare_dashboard(tmp: Path, *flags: str) -> Iterator[str]:
    """The dashboard service alone on SQLite (no load, no Prometheus), started from the course's
    build with ``flags``; yields its base URL once it accepts connections, and stops it after.
    Skips (fails under CI=true) where the services cannot be built."""
    require_services()
    from labkit.golab.services.build import build_services
    from labkit.golab.services.procs import free_port

    port = free_port()
    argv = [str(build_services().binaries["dashboard"]), f"-addr=127.0.0.1:{port}"]
    argv += ["-db=sqlite", f"-dsn={tmp / 'dashboard.sqlite'}", *flags]
    env = {**os.environ, "GOMAXPROCS": "2"}
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
