"""The local hub's spawner: a learner's server as a process of this machine, no system users.

:class:`WorkshopSpawner` is JupyterHub's ``SimpleLocalProcessSpawner`` (each learner gets a home
folder under one directory; every server runs as the hub's own user, so there is no isolation
between learners: fit for a closed room on a machine kept for the workshop, not for strangers)
with what a class needs on top:

- **memory limit, enforced by the hub:** every ``watch_interval`` seconds the hub adds up the
  resident memory of the learner's server and everything it started (kernels, ``go build``); over
  ``mem_limit`` it kills the largest of those processes (a kernel, which the learner sees as
  "kernel died, restarting"), the way a container's OOM killer would. The processes are read
  with psutil (no cgroups, no root), so this works on any Linux or macOS machine; between two
  checks a learner can go over the limit for up to ``watch_interval`` seconds.
- **CPU:** not capped (a local process cannot be held to 1 core without cgroups); learners'
  processes run at ``nice`` 10 so the hub and proxy keep answering when the room computes.
  ``CPU_LIMIT`` and ``MEM_LIMIT`` reach the server's environment as JupyterHub sets them.
  The Littlest JupyterHub (systemd: MemoryMax, CPUQuota) and Zero to JupyterHub (Kubernetes)
  enforce both limits in the kernel (workshop/README.md).
- **clean stop:** after JupyterHub's stop (SIGINT, SIGTERM, SIGKILL to the server), whatever the
  server had started and left behind (kernels run in their own sessions) is killed too.
"""

from __future__ import annotations

import contextlib
import os
import signal

import psutil
from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Integer


def process_tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants that are still alive ([] if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(procs: list[psutil.Process]) -> dict[int, int]:
    """Resident bytes of each process (those that vanished while being read are left out)."""
    out = {}
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            out[p.pid] = p.memory_info().rss
    return out


def over_limit_victim(rss: dict[int, int], server_pid: int, limit: int) -> int | None:
    """The process to kill when a learner's processes together hold more than ``limit`` bytes:
    the largest one other than the server (a kernel or a build); the server itself only when it
    is alone. None when under the limit."""
    if sum(rss.values()) <= limit:
        return None
    others = {pid: n for pid, n in rss.items() if pid != server_pid}
    pool = others or rss
    return max(pool, key=pool.get)


class WorkshopSpawner(SimpleLocalProcessSpawner):
    watch_interval = Float(
        2.0, config=True, help="Seconds between two checks of a learner's memory (0: off)."
    )
    nice = Integer(10, config=True, help="Niceness of learners' processes (0: as the hub).")

    _watch = None
    _tree: list[int] = []

    def make_preexec_fn(self, name):
        setup = super().make_preexec_fn(name)
        nice = self.nice

        def preexec():
            setup()
            if nice:
                os.nice(nice)

        return preexec

    async def start(self):
        ip_port = await super().start()
        limit = int(self.mem_limit or 0)
        if limit and self.watch_interval > 0:
            self._watch = PeriodicCallback(self._enforce_memory, self.watch_interval * 1000)
            self._watch.start()
        return ip_port

    def _enforce_memory(self) -> None:
        if not self.pid:
            return
        procs = process_tree(self.pid)
        self._tree = [p.pid for p in procs]
        rss = tree_rss(procs)
        victim = over_limit_victim(rss, self.pid, int(self.mem_limit))
        if victim is None:
            return
        self.log.warning(
            "%s is over the memory limit (%d MiB > %d MiB): killing pid %d (%d MiB)",
            self.user.name,
            sum(rss.values()) >> 20,
            int(self.mem_limit) >> 20,
            victim,
            rss[victim] >> 20,
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)

    async def stop(self, now=False):
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        left = {p.pid for p in process_tree(self.pid)} | set(self._tree) if self.pid else set()
        await super().stop(now=now)
        for pid in left:
            try:
                proc = psutil.Process(pid)
                # Only what is still ours: a pid reused by another program has another parent
                # tree and environment; the learner's processes carry JUPYTERHUB_USER.
                if proc.environ().get("JUPYTERHUB_USER") == self.user.name:
                    proc.kill()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
