"""Start processes so that none outlives the run: the runner's supervisor.

A :class:`Supervisor` owns everything one run starts: each child process (in its own process
group, so that stopping it stops whatever it started: PostgreSQL's back ends) and each temporary
directory. ``close()`` stops them all (SIGTERM to the group, SIGKILL after a grace period) and
removes the directories; the runner calls it in a ``finally``, so an error, a timeout or a
KeyboardInterrupt (Jupyter's "interrupt kernel") all end there. Two more nets catch the cases a
``finally`` cannot:

* every child is started through util-linux's ``setpriv --pdeathsig KILL``, so the kernel kills
  it when the Python process dies, even by SIGKILL (a kernel restart). The death signal belongs
  to the *thread* that started the child, so children are started from the run's own thread,
  never from a worker thread that could end first;
* an ``atexit`` hook closes every supervisor still open, and during a run SIGTERM (which would
  end Python without running ``finally`` blocks) is turned into ``SystemExit`` when the run is on
  the main thread and nobody else handles SIGTERM;
* a process killed outright cannot remove its temporary directories, so each holds an
  ``owner.pid`` file, and every new supervisor first removes the directories whose owner is
  dead (``sweep_stale``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit.golab.services.errors import PortInUseError, ServiceError, ServicesMissingError

__all__ = [
    "Child",
    "PortBook",
    "Supervisor",
    "check_port_free",
    "descendants",
    "free_port",
    "free_ports",
    "sigterm_exits",
    "sweep_stale",
]

#: Prefix of every temporary directory a run creates (tests look for leftovers by it).
TEMP_PREFIX = "labkit-svc-"
#: Seconds a child gets to exit after SIGTERM before SIGKILL.
STOP_GRACE_S = 3.0

_LIVE: weakref.WeakSet[Supervisor] = weakref.WeakSet()


@dataclass
class Child:
    """One started process: its name, argv (as run, without the setpriv wrapper) and logs."""

    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, limit: int = 1500) -> str:
        """The last ``limit`` characters of its stderr, else of its stdout."""
        for path in (self.err, self.out):
            try:
                text = path.read_text(errors="replace").strip()
            except OSError:
                continue
            if text:
                return text[-limit:]
        return "(no output)"


def parent_check(parent_pid: int) -> list[str]:
    """The command that, run by setpriv after it set the death signal, execs the program only if
    its parent is still ``parent_pid`` (exit status 125 otherwise).

    setpriv sets PR_SET_PDEATHSIG after the fork; a parent killed before that leaves the child
    reparented and without the signal, so it would run on (seen in CI: a parent SIGKILLed right
    after spawn left its `sleep 300` running). prctl(2) names the cure: check the parent after
    setting the signal. sh's $PPID is its parent when it started, after setpriv's prctl."""
    return ["sh", "-c", f'[ "$PPID" = {parent_pid} ] || exit 125; exec "$@"', "labkit-spawn"]


class Supervisor:
    """The processes and temporary directories of one run; ``close()`` stops and removes them."""

    def __init__(self) -> None:
        sweep_stale()
        self.root = _owned(Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)))
        self.children: list[Child] = []
        self._dirs: list[Path] = [self.root]
        self._closed = False
        _LIVE.add(self)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def tempdir(self, tag: str, owner: tuple[int, int] | None = None) -> Path:
        """A new temporary directory of this run (``owner``: chown it to that uid, gid). For
        another owner it is made where that user can reach it: the system's temporary folder
        unless one of its parents is closed to others (a private TMPDIR), else /tmp."""
        base = None
        if owner is not None and not _reachable_by_others(Path(tempfile.gettempdir())):
            base = "/tmp"
        path = _owned(Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{tag}-", dir=base)))
        self._dirs.append(path)
        if owner is not None:
            os.chown(path, *owner)
        return path

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: tuple[int, int] | None = None,
    ) -> Child:
        """Start ``argv`` in its own process group, stdout and stderr to files in the run's
        directory, dying with this process (setpriv --pdeathsig), as ``user`` (uid, gid) if
        given. Must be called from the thread that runs the run (see the module docstring)."""
        if self._closed:
            raise ServiceError("this run's supervisor is closed; start a new run")
        setpriv = shutil.which("setpriv")
        wrapper: list[str] = []
        if setpriv:
            wrapper = [setpriv]
            if user is not None:
                wrapper += [f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups"]
            wrapper += ["--pdeathsig", "KILL", "--", *parent_check(os.getpid())]
        elif user is not None:
            raise ServicesMissingError(
                "setpriv (Debian package util-linux) is needed to start PostgreSQL as an "
                "unprivileged user when running as root; install util-linux"
            )
        out, err = self.root / f"{name}.out", self.root / f"{name}.err"
        with open(out, "wb") as fout, open(err, "wb") as ferr:
            popen = subprocess.Popen(
                [*wrapper, *argv],
                stdin=subprocess.DEVNULL,
                stdout=fout,
                stderr=ferr,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        child = Child(name, list(argv), popen, out, err)
        self.children.append(child)
        return child

    def stop(self, child: Child, sig: int = signal.SIGTERM, grace_s: float = STOP_GRACE_S) -> None:
        """Signal ``child``'s process group, wait ``grace_s``, then SIGKILL the group."""
        _signal_group(child.pid, sig)
        try:
            child.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(timeout=grace_s)
        _signal_group(child.pid, signal.SIGKILL)  # whatever the leader left behind
        deadline = time.monotonic() + grace_s
        while _group_members(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop every child (last started first) and remove every temporary directory."""
        if self._closed:
            return
        self._closed = True
        for child in reversed(self.children):
            with contextlib.suppress(OSError):
                self.stop(child)
        for path in self._dirs:
            shutil.rmtree(path, ignore_errors=True)
        _LIVE.discard(self)


OWNER_FILE = "owner.pid"


def _reachable_by_others(path: Path) -> bool:
    """Whether every directory from / to ``path`` lets other users through (o+x)."""
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _owned(path: Path) -> Path:
    """Mark a new temporary directory with the pid of the process that owns it."""
    (path / OWNER_FILE).write_text(str(os.getpid()))
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(tmp: Path | None = None) -> list[Path]:
    """Remove the run directories under ``tmp`` (default: the system's, and /tmp, where
    PostgreSQL's may be) whose owner process is dead (killed before it could clean up); returns
    them."""
    removed = []
    bases = [Path(tmp)] if tmp else sorted({Path(tempfile.gettempdir()), Path("/tmp")})
    for path in (p for base in bases for p in sorted(base.glob(f"{TEMP_PREFIX}*"))):
        try:
            pid = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _stat(pid: int) -> tuple[int, str] | None:
    """(ppid, state) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0]


def descendants(pid: int) -> set[int]:
    """Every live (not zombie) process under ``pid``: after a run, none of the kernel's own
    should be left (chapter 5b shows it; tests/test_services_live.py checks it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[1] != "Z":
                children.setdefault(st[0], []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _group_members(pgid: int) -> list[int]:
    """The processes of group ``pgid`` that have not exited (zombies have: they wait only to
    be reaped). Read from /proc; where there is none, assume the group is empty."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@atexit.register
def _close_all() -> None:
    for sup in list(_LIVE):
        sup.close()


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """While inside, SIGTERM raises SystemExit(143) (so ``finally`` blocks run), when on the main
    thread and SIGTERM has its default action; otherwise nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.getsignal(signal.SIGTERM)
    if old is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the kernel's pick)."""
    return free_ports(1)[0]


def free_ports(count: int, avoid: Collection[int] = ()) -> list[int]:
    """``count`` distinct loopback TCP ports nobody listens on now, none of them in ``avoid``.

    Why not ``count`` calls of :func:`free_port`: a port is free again as soon as its probe
    socket closes, and the kernel may hand it out on the next pick. A run once gave the
    dashboard and its PostgreSQL the same port (CI, 2026-12-06), and the service died with
    "address already in use". Here every probe socket stays bound until all are picked, so the
    kernel cannot repeat one; ``avoid`` covers ports handed out earlier and since released.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    probes: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(s)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port not in avoid:
                ports.append(port)
    finally:
        for s in probes:
            s.close()
    return ports


class PortBook:
    """The loopback ports of one run's components, each a different port.

    A fixed port (the caller's choice) is checked free now; any other is the kernel's pick, never
    a port this book handed out before: the components start one after another, so a port
    picked for the first is not yet bound when the second is picked.
    """

    def __init__(self, fixed: Mapping[str, int]) -> None:
        self.fixed = dict(fixed)
        self.given: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        """The port for component ``name`` (the same one if asked again)."""
        if name not in self.given:
            if name in self.fixed:
                check_port_free(self.fixed[name], name)
                self.given[name] = self.fixed[name]
            else:
                taken = {*self.fixed.values(), *self.given.values()}
                self.given[name] = free_ports(1, avoid=taken)[0]
        return self.given[name]


def check_port_free(port: int, what: str) -> None:
    """PortInUseError naming ``what`` if 127.0.0.1:``port`` cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUseError(
                f"127.0.0.1:{port} (for {what}) is in use by another process ({exc.strerror}); "
                f"stop that process, or pass another port (or none: the runner picks a free one)"
            ) from exc


def http_get(url: str, timeout_s: float) -> bytes:
    """The body of GET ``url``; urllib's errors pass through."""
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - loopback only
        return resp.read()


def wait_until(
    ready: Callable[[], bool],
    children: Sequence[Child],
    deadline: float,
    on_death: Callable[[Child], Exception],
    on_timeout: Callable[[], Exception],
    poll_s: float = 0.05,
) -> None:
    """Poll ``ready()`` until it is true; raise ``on_death(child)`` as soon as one of
    ``children`` has exited, ``on_timeout()`` at ``deadline`` (time.monotonic())."""
    while True:
        for child in children:
            if not child.alive():
                raise on_death(child)
        try:
            if ready():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        if time.monotonic() >= deadline:
            raise on_timeout()
        time.sleep(poll_s)
