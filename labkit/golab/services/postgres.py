"""A throw-away PostgreSQL for one run: initdb in a temporary directory, ``postgres`` on a loopback
port, stopped and removed with the run.

PostgreSQL refuses to run as root ("root" execution of the PostgreSQL server is not permitted),
and the course's CI runs as root. So when the runner is root, both initdb and postgres run as
the unprivileged user ``nobody`` (uid and gid from the password database), through util-linux's
``setpriv --reuid --regid --clear-groups`` (which the supervisor uses anyway for its death
signal; it keeps that signal across the change of user), in a directory chowned to that user.
As anyone else they run as the caller. No socket file is made (``unix_socket_directories=''``);
clients connect over TCP to 127.0.0.1, user ``labkit`` with trust authentication (loopback only,
a throw-away cluster). Durability is switched off (fsync, full-page writes): nothing is kept.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from labkit.golab.services.errors import DatabaseStartError, PortInUseError, ServicesMissingError
from labkit.golab.services.procs import Child, Supervisor, check_port_free, wait_until

__all__ = ["Postgres", "find_postgres", "start_postgres"]

#: initdb of an empty cluster takes under a second; a loaded machine, a few.
INITDB_TIMEOUT_S = 60.0
USER = "labkit"


@dataclass(frozen=True)
class Postgres:
    """A running cluster: its process, port, the lib/pq connection string and the commands."""

    child: Child
    port: int
    dsn: str
    commands: tuple[tuple[str, ...], ...]


def find_postgres() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``: PATH first, then Debian's
    /usr/lib/postgresql/<version>/bin (the newest); None if there is none."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)] or [0],
    )
    return versions[-1].parent if versions else None


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) of ``nobody`` when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError as exc:
        raise DatabaseStartError(
            "running as root, and PostgreSQL refuses root; the user 'nobody' to run it as does "
            "not exist: create an unprivileged user or run the course as one"
        ) from exc
    return pw.pw_uid, pw.pw_gid


def _as_owner(owner: tuple[int, int] | None) -> list[str]:
    """The command prefix that runs PostgreSQL as ``owner`` (uid, gid): it refuses to run as
    root, so a root caller runs it as 'nobody' through setpriv; nothing when not root."""
    if owner is None:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise ServicesMissingError(
            "running as root: setpriv (Debian package util-linux) is needed to run "
            "PostgreSQL as 'nobody'; install util-linux or run the course as another user"
        )
    return [setpriv, f"--reuid={owner[0]}", f"--regid={owner[1]}", "--clear-groups", "--"]


def _initdb(bindir: Path, data: Path, home: Path, wrapper: list[str], deadline: float) -> tuple:
    """Make the database cluster in ``data`` (trusted local logins, no fsync); its argv."""
    initdb = (
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        USER,
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    )
    try:
        proc = subprocess.run(
            [*wrapper, *initdb],
            capture_output=True,
            text=True,
            timeout=max(1.0, min(INITDB_TIMEOUT_S, deadline - time.monotonic())),
            check=False,
            cwd=home,
        )
    except subprocess.TimeoutExpired as exc:
        raise DatabaseStartError(
            "initdb did not finish in time; retry on a less busy machine"
        ) from exc
    if proc.returncode != 0:
        raise DatabaseStartError(
            f"initdb failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-1200:]}"
        )
    return initdb


def _server_argv(bindir: Path, data: Path, port: int) -> tuple:
    """postgres on 127.0.0.1:``port`` only (no Unix socket), durability off: a scratch database."""
    return (
        str(bindir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "fsync=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "shared_buffers=32MB",
        "-c",
        "max_connections=64",
    )


def start_postgres(sup: Supervisor, port: int, deadline: float) -> Postgres:
    """initdb + postgres on 127.0.0.1:``port``, ready when it accepts a connection; raises
    DatabaseStartError (with its log) or PortInUseError; ``deadline`` is time.monotonic()."""
    bindir = find_postgres()
    if bindir is None:
        raise ServicesMissingError(
            "PostgreSQL is not installed (no initdb/postgres on PATH or in /usr/lib/postgresql); "
            "Debian: sudo apt-get install postgresql, or run the dashboard with db='sqlite'"
        )
    check_port_free(port, "PostgreSQL")
    owner = _run_as()
    home = sup.tempdir("pg", owner=owner)
    data = home / "data"
    initdb = _initdb(bindir, data, home, _as_owner(owner), deadline)
    server = _server_argv(bindir, data, port)
    child = sup.spawn("postgres", server, cwd=home, user=owner)
    dsn = (
        f"host=127.0.0.1 port={port} user={USER} dbname=postgres sslmode=disable connect_timeout=5"
    )

    def died(c: Child) -> Exception:
        log = c.log_tail()
        if "Address already in use" in log or "could not bind" in log:
            return PortInUseError(
                f"PostgreSQL could not listen on 127.0.0.1:{port}: it is in use; pass another "
                f"port or none. Its log: {log[-600:]}"
            )
        return DatabaseStartError(
            f"PostgreSQL exited (status {c.popen.returncode}) while starting: {log}"
        )

    wait_until(
        lambda: "ready to accept connections" in child.log_tail(100_000),
        [child],
        deadline,
        died,
        lambda: DatabaseStartError(
            f"PostgreSQL did not accept connections in time; its log: {child.log_tail()}"
        ),
    )
    return Postgres(child, port, dsn, (tuple(initdb), server))
