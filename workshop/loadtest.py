"""A room of simulated learners against a real workshop hub (``python3 course.py workshop-loadtest``).

    python3 course.py workshop-loadtest --learners 5          # one run, recorded
    python3 course.py workshop-loadtest --learners 5 10 20    # three runs, one after the other
    python3 course.py workshop-loadtest --table               # the guide's table from the record

Each run starts the hub exactly as ``python3 course.py workshop`` does (on a free loopback port,
all its state, the learners' homes and a local clone of this repository in one temporary
folder), then N learners at once do what a room does at the start of a session, over HTTP as a
browser would (without running JupyterLab's JavaScript):

1. log in through the hub's login form (the room's shared password);
2. click the nbgitpuller link (``workshop.links``) whose repository is the local clone
   (``file://``, no network): JupyterHub starts their server (the spawn-pending page, polled as
   its script does), nbgitpuller's page answers, and its sync API clones the course into their
   home (the event stream its script reads, to ``finished``);
3. open the notebook in JupyterLab (the lab page), start a kernel for it (``POST api/sessions``,
   as JupyterLab does) and wait for the kernel to answer: the *time to a running notebook*,
   counted from the login;
4. run every code cell top to bottom over the kernel's websocket (Jupyter's messaging protocol),
   as *Run All* does; a cell tagged ``raises-exception`` may fail, any other failure counts.

Meanwhile a sampler reads every process of each learner (their Jupyter server, kernel and
anything those start: the processes carrying ``JUPYTERHUB_USER``) twice a second: peak resident
memory of all of them together, and CPU seconds (each process's own user + system time, at its
last sample). The hub and proxy are sampled too. A *hub failure* is any learner request the
hub or proxy answered with a 5xx, a spawn that failed, or a hub that died; none are allowed.

The run is bounded (``--timeout``, default 900 s) and always cleans up (try/finally and SIGINT /
SIGTERM handlers): the hub is stopped as Ctrl-C stops it, any process left with a learner's home
or the hub's state in it is killed, and the temporary folder is removed. Results are appended to
workshop/loadtest-results.json (one entry per N, the newest kept) with the date, the machine and
its load before and after; workshop/README.md's sizing table is built from it (``--table``, and
tests/test_workshop_config.py checks that they agree).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import platform
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkit.golab.services.procs import free_port  # noqa: E402
from workshop.links import nbgitpuller_link  # noqa: E402
from workshop.settings import ROOT, WORKSHOP, load  # noqa: E402

RESULTS = WORKSHOP / "loadtest-results.json"
DEFAULT_NOTEBOOK = "chapters/01-render-stalls.ipynb"
USER_PASSWORD = "room-password-" + "x" * 4
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 90.0
SAMPLE_EVERY_S = 0.5


# --- the hub --------------------------------------------------------------------------------


class Hub:
    """``python3 course.py workshop`` in its own process group on a free loopback port; stop()
    sends SIGINT to that group, as Ctrl-C in its terminal would."""

    def __init__(self, work: Path, repo: str, branch: str, log: Path, settings: Path | None = None):
        self.work, self.repo, self.branch, self.log_path = work, repo, branch, log
        self.settings = settings
        self.state = work / "state"
        self.homes = work / "homes"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.admin_password = uuid.uuid4().hex + uuid.uuid4().hex
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            WORKSHOP_USER_PASSWORD=USER_PASSWORD, WORKSHOP_ADMIN_PASSWORD=self.admin_password
        )
        cmd = [sys.executable, str(ROOT / "course.py"), "workshop", "--ip", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--state", str(self.state), "--homes", str(self.homes)]
        cmd += ["--repo", self.repo, "--branch", self.branch]
        if self.settings is not None:
            cmd += ["--settings", str(self.settings)]
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.proc.returncode}: {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "hub/api/", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the hub did not answer within {START_TIMEOUT_S:.0f} s")

    def pids(self) -> dict[str, int]:
        """The hub's and the proxy's pids, from their pid files."""
        out = {}
        for name, file in (("hub", "jupyterhub.pid"), ("proxy", "proxy.pid")):
            with contextlib.suppress(OSError, ValueError):
                out[name] = int((self.state / file).read_text().strip())
        return out

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int:
        """Stop as Ctrl-C does; then kill whatever of the hub's is left. Returns how many
        processes had to be killed after the hub's own clean stop (0 when it was clean)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return len(kill_leftovers(self.work))


def ours(proc: psutil.Process, work: Path) -> bool:
    """A process this run started: its HOME, working folder or command line is in ``work``."""
    marker = str(work)
    try:
        if marker in " ".join(proc.cmdline()):
            return True
        return proc.environ().get("HOME", "").startswith(marker) or proc.cwd().startswith(marker)
    except psutil.Error:
        return False


def kill_leftovers(work: Path) -> list[int]:
    killed = []
    for proc in psutil.process_iter():
        if proc.pid != os.getpid() and ours(proc, work):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed.append(proc.pid)
    return killed


# --- one learner ----------------------------------------------------------------------------


class HubFailure(Exception):
    """The hub or proxy failed a learner (5xx, failed spawn): counted, never allowed."""


class KernelDied(Exception):
    """The learner's kernel died while running a request (e.g. killed at the memory limit)."""


@dataclass
class LearnerResult:
    name: str
    ok: bool = False
    error: str = ""
    hub_failure: bool = False
    login_s: float | None = None
    server_s: float | None = None  # link clicked -> nbgitpuller's page (server started)
    pull_s: float | None = None  # nbgitpuller's sync API, start -> finished
    kernel_s: float | None = None  # lab page + kernel started and answering
    time_to_notebook_s: float | None = None  # login started -> kernel answering
    run_all_s: float | None = None
    cells: int = 0
    cell_errors: int = 0
    peak_rss_mib: float | None = None
    cpu_s: float | None = None


def _data_attrs(page: str) -> dict[str, str]:
    from urllib.parse import unquote

    return {k: unquote(html.unescape(v)) for k, v in re.findall(r'data-([\w-]+)="([^"]*)"', page)}


def _decode(frame: str | bytes) -> dict:
    """A kernel message from the websocket: JSON text, or (a message with buffers, e.g. a
    widget's arrays) jupyter_server's binary framing: a count, offsets, then the JSON first."""
    if isinstance(frame, str):
        return json.loads(frame)
    (nbufs,) = struct.unpack("!I", frame[:4])
    offsets = struct.unpack("!" + "I" * nbufs, frame[4 : 4 * (nbufs + 1)])
    end = offsets[1] if nbufs > 1 else len(frame)
    return json.loads(frame[offsets[0] : end].decode("utf8"))


class Learner:
    """One browser's worth of requests (a requests.Session keeps its cookies)."""

    def __init__(
        self, hub: str, name: str, link: str, notebook: str, deadline: float, target_dir: str
    ):
        self.hub, self.name, self.link, self.notebook = hub, name, link, notebook
        self.target_dir = target_dir
        self.deadline = deadline
        self.s = requests.Session()
        self.result = LearnerResult(name)
        self.last_stdout = ""

    def _check(self, r: requests.Response) -> requests.Response:
        for step in [*r.history, r]:
            if step.status_code >= 500:
                raise HubFailure(f"{step.status_code} from {step.request.method} {step.url}")
        if r.status_code >= 400:
            raise RuntimeError(f"{r.status_code} from {r.request.method} {r.url}")
        return r

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the run's time limit passed")
        return left

    def login(self) -> None:
        r = self._check(self.s.get(self.hub + "hub/login", timeout=self._left()))
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
        data = {"username": self.name, "password": USER_PASSWORD}
        if xsrf:
            data["_xsrf"] = html.unescape(xsrf.group(1))
        r = self._check(self.s.post(self.hub + "hub/login", data=data, timeout=self._left()))
        if "/hub/login" in urlsplit(r.url).path:
            raise RuntimeError("login refused")

    def open_link(self) -> str:
        """Click the link; wait through the spawn-pending page; return nbgitpuller's page."""
        r = self._check(self.s.get(self.link, timeout=self._left()))
        while "/spawn-pending/" in urlsplit(r.url).path or "/hub/spawn/" in urlsplit(r.url).path:
            if "Spawn failed" in r.text or "spawn failed" in r.text.lower():
                raise HubFailure(f"spawn failed for {self.name}")
            time.sleep(1.0)
            self._left()
            r = self._check(self.s.get(r.url, timeout=self._left()))
        if "git-pull" not in urlsplit(r.url).path:
            raise RuntimeError(f"the link led to {r.url}, not nbgitpuller's page")
        return r.text

    def pull(self, page: str) -> str:
        """What nbgitpuller's page script does: its sync API's event stream, to 'finished'.
        Returns the server's base URL."""
        d = _data_attrs(page)
        base = urlsplit(self.hub)._replace(path=d["base-url"]).geturl()
        params = {"_xsrf": d["xsrf"], "repo": d["repo"], "targetpath": d["targetpath"]}
        if d.get("branch"):
            params["branch"] = d["branch"]
        with self.s.get(
            base + "git-pull/api", params=params, stream=True, timeout=self._left()
        ) as r:
            self._check(r)
            for line in r.iter_lines(decode_unicode=True):
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("phase") == "error":
                    raise RuntimeError(f"nbgitpuller: {event.get('message')}")
                if event.get("phase") == "finished":
                    break
            else:
                raise RuntimeError("nbgitpuller's stream ended before 'finished'")
        self._check(self.s.get(base + d["path"], timeout=self._left()))  # the lab page
        return base

    def start_kernel(self, base: str) -> tuple[websocket.WebSocket, str]:
        xsrf = self.s.cookies.get("_xsrf", path=urlsplit(base).path)
        path = f"{self.target_dir}/{self.notebook}"
        body = {"path": path, "name": Path(path).name, "type": "notebook"}
        body["kernel"] = {"name": "python3"}
        r = self._check(
            self.s.post(
                base + "api/sessions", json=body, headers={"X-XSRFToken": xsrf},
                timeout=self._left(),
            )
        )  # fmt: skip
        kernel = r.json()["kernel"]["id"]
        session = uuid.uuid4().hex
        ws_url = base.replace("http", "ws", 1) + f"api/kernels/{kernel}/channels"
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.s.cookies)
        ws = websocket.create_connection(
            f"{ws_url}?session_id={session}", header=[f"Cookie: {cookies}"],
            timeout=self._left(),
        )  # fmt: skip
        self._request(ws, session, "kernel_info_request", {})
        return ws, session

    def _request(self, ws, session: str, msg_type: str, content: dict) -> dict:
        """Send one shell request; read until its reply and the kernel's idle for it. A kernel
        that dies meanwhile (the server's 'restarting' or 'dead' status) raises KernelDied."""
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "username": self.name}
        header.update(session=session, date=datetime.now(UTC).isoformat(), version="5.3")
        ws.send(
            json.dumps(
                {"header": header, "parent_header": {}, "metadata": {}, "content": content,
                 "channel": "shell", "buffers": []}
            )
        )  # fmt: skip
        reply, idle = None, False
        self.last_stdout = ""
        while reply is None or not idle:
            ws.settimeout(self._left())
            msg = _decode(ws.recv())
            state = msg.get("content", {}).get("execution_state")
            if msg.get("msg_type") == "status" and state in {"restarting", "dead"}:
                raise KernelDied(state)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["channel"] == "shell":
                reply = msg["content"]
            elif msg["msg_type"] == "stream":
                self.last_stdout += msg["content"].get("text", "")
            elif msg["msg_type"] == "status" and state == "idle":
                idle = True
        return reply

    def execute(self, ws, session: str, code: str) -> dict:
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}  # fmt: skip
        return self._request(ws, session, "execute_request", content)

    def run_all(self, base: str, ws, session: str) -> None:
        r = self._check(self.s.get(base + f"api/contents/{self.target_dir}/{self.notebook}",
                                   timeout=self._left()))  # fmt: skip
        for cell in r.json()["content"]["cells"]:
            if cell["cell_type"] != "code" or not cell["source"].strip():
                continue
            self.result.cells += 1
            try:
                reply = self.execute(ws, session, cell["source"])
            except KernelDied as e:
                self.result.cell_errors += 1
                raise RuntimeError(f"the kernel died ({e}) in cell {self.result.cells}") from None
            expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            if reply.get("status") != "ok" and not expected:
                self.result.cell_errors += 1
                raise RuntimeError(
                    f"cell {self.result.cells} failed: {reply.get('ename')}: {reply.get('evalue')}"
                )

    def open_notebook(self) -> tuple[str, websocket.WebSocket, str]:
        """Log in, click the link, wait for the pull, open the notebook and start its kernel:
        (the server's base URL, the kernel's websocket, the session id). Times go to result."""
        res, t0 = self.result, time.monotonic()
        self.login()
        res.login_s = time.monotonic() - t0
        t = time.monotonic()
        page = self.open_link()
        res.server_s = time.monotonic() - t
        t = time.monotonic()
        base = self.pull(page)
        res.pull_s = time.monotonic() - t
        t = time.monotonic()
        ws, session = self.start_kernel(base)
        res.kernel_s = time.monotonic() - t
        res.time_to_notebook_s = time.monotonic() - t0
        return base, ws, session

    def run(self, start: threading.Barrier | None = None) -> LearnerResult:
        res = self.result
        if start is not None:
            start.wait()
        ws = None
        try:
            base, ws, session = self.open_notebook()
            t = time.monotonic()
            self.run_all(base, ws, session)
            res.run_all_s = time.monotonic() - t
            res.ok = True
        except HubFailure as e:
            res.hub_failure, res.error = True, str(e)
        except Exception as e:  # every other failure is recorded, the room goes on
            res.error = f"{type(e).__name__}: {e}"
        finally:
            if ws is not None:
                with contextlib.suppress(Exception):
                    ws.close()
        for k, v in list(asdict(res).items()):
            if isinstance(v, float):
                setattr(res, k, round(v, 2))
        return res


# --- the limits, measured -------------------------------------------------------------------

#: Holds ``nbytes`` (written, so resident) for ``hold_s`` seconds, then says it survived.
MEMORY_PROBE = """\
import time
hog = b"\\x01" * {nbytes}
time.sleep({hold_s})
print("survived")
"""
#: Keeps ``workers`` processes busy for ``seconds`` and prints the cores they got on average.
CPU_PROBE = """\
import resource, subprocess, sys, time
def used():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
spin = "import time\\nend = time.monotonic() + {seconds}\\nwhile time.monotonic() < end: pass"
t0, c0 = time.monotonic(), used()
procs = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range({workers})]
for p in procs:
    p.wait()
print(round((used() - c0) / (time.monotonic() - t0), 2))
"""


def probe_limits(learner: Learner, mem_limit: int, hold_s: float = 8.0) -> dict:
    """With ``learner``'s notebook open: allocate 1.25x the memory limit in the kernel (the hub
    must kill it: the kernel restarts), check the restarted kernel runs a cell, then keep
    every core busy for 5 s and measure the cores the learner got (the local spawner does not
    cap CPU, so this shows what one learner can take from the room)."""
    base, ws, session = learner.open_notebook()
    out: dict = {"mem_limit_mib": mem_limit >> 20}
    try:
        nbytes = int(mem_limit * 1.25)
        out["allocated_mib"] = nbytes >> 20
        t = time.monotonic()
        try:
            reply = learner.execute(ws, session, MEMORY_PROBE.format(nbytes=nbytes, hold_s=hold_s))
            out.update(killed=False, reply=reply.get("status"))
        except KernelDied:
            out.update(killed=True, killed_after_s=round(time.monotonic() - t, 2))
        with contextlib.suppress(Exception):
            ws.close()
        time.sleep(2.0)  # the server restarts the kernel; a new connection, as Lab makes
        ws, session = learner.start_kernel(base)
        out["restarted_kernel_runs"] = learner.execute(ws, session, "1 + 1").get("status") == "ok"
        workers = os.cpu_count() or 1
        reply = learner.execute(ws, session, CPU_PROBE.format(seconds=5, workers=workers))
        out["cpu_probe_workers"] = workers
        ok = reply.get("status") == "ok"
        out["cpu_cores_used"] = float(learner.last_stdout.strip()) if ok else None
    finally:
        with contextlib.suppress(Exception):
            ws.close()
    return out


# --- sampling -------------------------------------------------------------------------------


@dataclass
class Sampler:
    """Twice a second: each learner's processes (JUPYTERHUB_USER, HOME under ``homes``) and the
    hub's and proxy's: summed resident memory (peak kept) and each process's CPU seconds."""

    homes: Path
    hub_pids: dict[str, int] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, dict[int, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _owner(self, proc: psutil.Process) -> str | None:
        for name, pid in self.hub_pids.items():
            if proc.pid == pid:
                return f"[{name}]"
        try:
            env = proc.environ()
        except psutil.Error:
            return None
        if env.get("JUPYTERHUB_USER") and env.get("HOME", "").startswith(str(self.homes)):
            return env["JUPYTERHUB_USER"]
        return None

    def sample(self) -> None:
        rss: dict[str, int] = {}
        for proc in psutil.process_iter():
            owner = self._owner(proc)
            if owner is None:
                continue
            try:
                mem = proc.memory_info().rss
                t = proc.cpu_times()
            except psutil.Error:
                continue
            rss[owner] = rss.get(owner, 0) + mem
            self.cpu.setdefault(owner, {})[proc.pid] = t.user + t.system
        for owner, n in rss.items():
            self.peak_rss[owner] = max(n, self.peak_rss.get(owner, 0))

    def loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def stop(self) -> None:
        self._stop.set()

    def cpu_s(self, owner: str) -> float:
        return sum(self.cpu.get(owner, {}).values())


# --- one run --------------------------------------------------------------------------------


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def local_clone(work: Path, branch: str, committed: bool = False) -> str:
    """A copy of this repository for learners to pull, as a file:// URL (no network).

    The learners' kernels import labkit from this checkout's .venv, so by default the clone
    also carries the checkout's uncommitted changes (one extra commit on ``branch``): the
    notebooks then match the labkit they run with. ``committed=True``: HEAD only."""
    dest = work / "upstream" / load().target_dir
    dest.mkdir(parents=True)
    git = ["git", "-c", "user.name=loadtest", "-c", "user.email=loadtest@localhost"]
    # This checkout's HEAD as ``branch``, whatever its own branch is (CI checks out a detached
    # HEAD): the newest commit only, which is what nbgitpuller's shallow clone takes anyway.
    for args in (
        ["init", "--quiet"],
        ["fetch", "--quiet", "--no-tags", "--depth", "1", ROOT.as_uri(), "HEAD"],
        ["checkout", "--quiet", "-B", branch, "FETCH_HEAD"],
    ):
        subprocess.run([*git, *args], cwd=dest, check=True)
    if not committed:

        def listed(*args: str) -> list[str]:
            out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout  # fmt: skip
            return [line for line in out.split("\0") if line]

        for rel in listed("diff", "--name-only", "-z", "HEAD") + listed(
            "ls-files", "--others", "--exclude-standard", "-z"
        ):
            src, dst = ROOT / rel, dest / rel
            if src.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
            elif dst.exists():
                dst.unlink()
        subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
        subprocess.run([*git, "commit", "--quiet", "--allow-empty", "-m", "working tree"],
                       cwd=dest, check=True)  # fmt: skip
    return dest.as_uri()


def summarize(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return {"median": round(statistics.median(values), 2), "p90": round(p90, 2),
            "max": round(values[-1], 2)}  # fmt: skip


class Room:
    """A temporary folder holding a local clone of the course, the hub's state and the learners'
    homes, and a hub started on it (``with Room() as room:``). Leaving the block, however it is
    left, stops the hub as Ctrl-C does, kills anything of the run still alive and removes the
    folder; ``leftover`` counts what had to be killed after the hub's own stop."""

    def __init__(self, committed: bool = False, settings: Path | None = None,
                 keep_log: Path | None = None):  # fmt: skip
        self.committed, self.settings_file, self.keep_log = committed, settings, keep_log
        self.settings = load(settings)
        self.hub: Hub | None = None
        self.leftover = 0

    def __enter__(self) -> Room:
        self.work = Path(tempfile.mkdtemp(prefix="labkit-workshop-loadtest-"))
        try:
            self.repo = local_clone(self.work, self.settings.branch, self.committed)
            self.hub = Hub(self.work, self.repo, self.settings.branch, self.work / "hub.log",
                           self.settings_file)  # fmt: skip
            self.hub.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def link(self, notebook: str) -> str:
        return nbgitpuller_link(self.hub.url, notebook=notebook, repo=self.repo,
                                branch=self.settings.branch, settings=self.settings)  # fmt: skip

    def learner(self, name: str, notebook: str, deadline: float) -> Learner:
        return Learner(self.hub.url, name, self.link(notebook), notebook, deadline,
                       self.settings.target_dir)  # fmt: skip

    def __exit__(self, *exc) -> None:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short: hold them until it is done.
        held = {}
        if threading.current_thread() is threading.main_thread():
            held = {
                sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
            }
        try:
            if self.hub is not None:
                self.leftover = self.hub.stop()
                if self.keep_log is not None and self.hub.log_path.exists():
                    shutil.copy(self.hub.log_path, self.keep_log)
            self.leftover += len(kill_leftovers(self.work))
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
            for sig, handler in held.items():
                signal.signal(sig, handler)


def run_room(
    n: int, notebook: str, timeout_s: float, keep_log: Path | None, committed: bool = False
) -> dict:
    settings = load()
    sampler = None
    results: list[LearnerResult] = []
    before = loadavg()
    started = datetime.now(UTC)
    hub_alive = False
    with Room(committed, keep_log=keep_log) as room:
        try:
            deadline = time.monotonic() + timeout_s
            sampler = Sampler(room.hub.homes, room.hub.pids())
            threading.Thread(target=sampler.loop, daemon=True).start()
            barrier = threading.Barrier(n)
            learners = [room.learner(f"learner-{i:02d}", notebook, deadline)
                        for i in range(1, n + 1)]  # fmt: skip
            # Daemon threads: an interrupted run stops the hub and exits without waiting for
            # learners blocked on a hub that is gone.
            threads = [threading.Thread(target=lambda x=x: results.append(x.run(barrier)),
                                        daemon=True) for x in learners]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()) + 30)
            sampler.sample()
            hub_alive = room.hub.alive()
            for r in results:
                r.peak_rss_mib = round(sampler.peak_rss.get(r.name, 0) / 2**20, 1)
                r.cpu_s = round(sampler.cpu_s(r.name), 2)
        finally:
            if sampler is not None:
                sampler.stop()
    leftover = room.leftover
    results.sort(key=lambda r: r.name)
    ok = [r for r in results if r.ok]
    missing = n - len(results)
    return {
        "learners": n,
        "notebook": notebook,
        "pulled": "HEAD" if committed else "HEAD + working tree",
        "date": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "mem_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
        },
        "loadavg_before": before,
        "loadavg_after": loadavg(),
        "limits": {"mem_limit": settings.mem_limit, "cpu_limit": settings.cpu_limit},
        "reached_notebook": sum(r.time_to_notebook_s is not None for r in results),
        "ran_all_cells": len(ok),
        "hub_failures": sum(r.hub_failure for r in results) + (0 if hub_alive else 1) + missing,
        "leftover_processes": leftover,
        "wall_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "summary": {
            "time_to_notebook_s": summarize([r.time_to_notebook_s for r in ok]),
            "run_all_s": summarize([r.run_all_s for r in ok]),
            "peak_rss_mib": summarize([r.peak_rss_mib for r in ok]),
            "cpu_s": summarize([r.cpu_s for r in ok]),
        },
        "hub_and_proxy": {
            k: {
                "peak_rss_mib": round(sampler.peak_rss.get(f"[{k}]", 0) / 2**20, 1),
                "cpu_s": round(sampler.cpu_s(f"[{k}]"), 2),
            }
            for k in ("hub", "proxy")
        }
        if sampler
        else {},  # fmt: skip
        "per_learner": [asdict(r) for r in results],
    }


def run_limits(timeout_s: float = 300.0, settings: Path | None = None) -> dict:
    """One learner against a fresh hub: probe_limits, with the date, machine load and cleanup."""
    before, started = loadavg(), datetime.now(UTC)
    with Room(settings=settings) as room:
        deadline = time.monotonic() + timeout_s
        learner = room.learner("learner-limits", room.settings.default_notebook, deadline)
        out = probe_limits(learner, room.settings.mem_limit_bytes)
    out.update(date=started.isoformat(timespec="seconds"), loadavg_before=before,
               cpus=os.cpu_count(), leftover_processes=room.leftover)  # fmt: skip
    return out


def learner_processes(homes: Path, name: str) -> list[int]:
    """Pids of the processes the hub started for learner ``name`` (server, kernels)."""
    out = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            env = proc.environ()
            if env.get("JUPYTERHUB_USER") == name and env.get("HOME", "").startswith(str(homes)):
                out.append(proc.pid)
    return out


def run_culling(timeout_s: int = 60, every_s: int = 10, bound_s: float = 300.0) -> dict:
    """A hub whose culler stops servers idle for ``timeout_s`` (looking every ``every_s``): one
    learner opens the start notebook and leaves; how long until the hub stopped their server
    (no process of theirs left), and are their files still there?"""
    from workshop.settings import SETTINGS_FILE

    folder = Path(tempfile.mkdtemp(prefix="labkit-workshop-culling-"))
    try:
        settings = folder / "settings.toml"
        text = SETTINGS_FILE.read_text()
        text = re.sub(r"(?m)^timeout_s = \d+", f"timeout_s = {timeout_s}", text)
        settings.write_text(re.sub(r"(?m)^every_s = \d+", f"every_s = {every_s}", text))
        with Room(settings=settings) as room:
            s = room.settings
            learner = room.learner("learner-idle", s.default_notebook, time.monotonic() + 120)
            _, ws, _ = learner.open_notebook()
            ws.close()
            left = time.monotonic()
            out: dict = {"timeout_s": timeout_s, "every_s": every_s, "culled": False}
            while time.monotonic() - left < bound_s:
                if not learner_processes(room.hub.homes, learner.name):
                    out.update(culled=True, culled_after_s=round(time.monotonic() - left, 1))
                    break
                time.sleep(2.0)
            home = room.hub.homes / learner.name / s.target_dir / s.default_notebook
            out["files_kept"] = home.is_file()
        out["leftover_processes"] = room.leftover
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def record(run: dict | None = None, limits: dict | None = None, path: Path = RESULTS) -> None:
    """Keep the newest run per number of learners, and the newest limits probe."""
    data = json.loads(path.read_text()) if path.exists() else {}
    runs = data.get("runs", [])
    if run is not None:
        runs = [r for r in runs if r["learners"] != run["learners"]] + [run]
        runs.sort(key=lambda r: r["learners"])
    data["runs"] = runs
    if limits is not None:
        data["limits"] = limits
    path.write_text(json.dumps(data, indent=1) + "\n")


# --- the guide's table ----------------------------------------------------------------------

#: A room is served well when 9 learners in 10 have a running notebook within this (login to a
#: kernel that answers) and every one of them got there: the target the sizing uses.
TARGET_TIME_TO_NOTEBOOK_S = 60.0
#: Plan for this share of what the measurement supported (a real room does more than one
#: notebook; browsers, typing and a second kernel come on top).
MARGIN = 0.75


def sizing(runs: list[dict]) -> dict[str, float]:
    """Learners per core and per GiB of memory, with the margin, from the recorded runs."""
    good = [
        r for r in runs
        if r["hub_failures"] == 0 and r["ran_all_cells"] == r["learners"]
        and r["summary"]["time_to_notebook_s"]["p90"] <= TARGET_TIME_TO_NOTEBOOK_S
    ]  # fmt: skip
    if not good:
        raise ValueError("no recorded run met the target; run the load test with fewer learners")
    best = max(good, key=lambda r: r["learners"])
    per_learner_mib = max(r["summary"]["peak_rss_mib"]["max"] for r in runs if r["ran_all_cells"])
    return {
        "learners": best["learners"],
        "cpus": best["machine"]["cpus"],
        "per_core": round(MARGIN * best["learners"] / best["machine"]["cpus"], 1),
        "peak_rss_mib": per_learner_mib,
        "per_gib": round(MARGIN * 1024 / per_learner_mib, 1),
        "all_succeeded": max(r["learners"] for r in runs) == best["learners"],
    }


def table(runs: list[dict]) -> str:
    """The guide's sizing table (markdown), one row per recorded run."""
    rows = [
        "| learners | load before (1 min) | reached a running notebook | ran every cell "
        "| time to notebook, median / p90 / max | run all, median / max "
        "| peak memory per learner, median / max | CPU per learner, median | hub failures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        s = r["summary"]
        t, a, m, c = (s[k] for k in ("time_to_notebook_s", "run_all_s", "peak_rss_mib", "cpu_s"))
        rows.append(
            f"| {r['learners']} | {r['loadavg_before'][0]:.2f} | {r['reached_notebook']} "
            f"| {r['ran_all_cells']} "
            f"| {t['median']:.1f} / {t['p90']:.1f} / {t['max']:.1f} s "
            f"| {a['median']:.1f} / {a['max']:.1f} s "
            f"| {m['median']:.0f} / {m['max']:.0f} MiB | {c['median']:.1f} s "
            f"| {r['hub_failures']} |"
        )
    return "\n".join(rows)


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python3 course.py workshop-loadtest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--learners", type=int, nargs="+", default=[5], metavar="N")
    p.add_argument("--notebook", default=DEFAULT_NOTEBOOK, help=f"default {DEFAULT_NOTEBOOK}")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per run (900)")
    p.add_argument("--committed", action="store_true",
                   help="learners pull HEAD only (default: HEAD plus uncommitted changes)")  # fmt: skip
    p.add_argument("--no-record", action="store_true", help="print, do not record")
    p.add_argument("--log", type=Path, help="keep the hub's log of the last run here")
    p.add_argument("--table", action="store_true", help="print the guide's table and exit")
    p.add_argument("--limits", action="store_true",
                   help="measure the memory limit and the CPU one learner gets, then exit")  # fmt: skip
    opts = p.parse_args(argv)
    if opts.table:
        runs = json.loads(RESULTS.read_text())["runs"]
        print(table(runs))
        print(json.dumps(sizing(runs)))
        return 0
    if opts.limits:
        print(f"== limits; load {loadavg()}", flush=True)
        out = run_limits()
        print(json.dumps(out, indent=1), flush=True)
        print(f"== idle culling; load {loadavg()}", flush=True)
        out["culling"] = run_culling()
        print(json.dumps(out["culling"], indent=1))
        if not opts.no_record:
            record(limits=out)
        good = out["killed"] and out["restarted_kernel_runs"] and out["culling"]["culled"]
        return 0 if good and out["culling"]["files_kept"] else 1
    if any(n < 1 or n > 200 for n in opts.learners):
        p.error("--learners: each N must be between 1 and 200")

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    worst = 0
    for n in opts.learners:
        print(f"== {n} learners, {opts.notebook}; load {loadavg()}", flush=True)
        run = run_room(n, opts.notebook, opts.timeout, opts.log, opts.committed)
        for r in run["per_learner"]:
            status = "ok" if r["ok"] else f"FAILED: {r['error']}"
            print(f"  {r['name']}: notebook after {r['time_to_notebook_s']} s, run all "
                  f"{r['run_all_s']} s, {r['peak_rss_mib']} MiB, {r['cpu_s']} CPU s: {status}")  # fmt: skip
        print(json.dumps({k: run[k] for k in ("reached_notebook", "ran_all_cells", "hub_failures",
                                              "leftover_processes", "wall_s", "summary",
                                              "hub_and_proxy")}, indent=1))  # fmt: skip
        if not opts.no_record:
            record(run=run)
        failed = run["hub_failures"] or run["ran_all_cells"] < n or run["leftover_processes"]
        worst = max(worst, 1 if failed else 0)
    return worst


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("Interrupted: the hub was stopped and everything the run made was removed.")
        sys.exit(130)
