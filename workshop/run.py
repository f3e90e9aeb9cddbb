"""``python3 course.py workshop``: start the class's JupyterHub, print where and what next.

Runs ``jupyterhub -f workshop/jupyterhub_config.py`` in the course's .venv with everything under
``--state`` (default .state/workshop): the hub's database, cookie secret, the passwords
(passwords.json, made on the first start and kept, so a restart does not change them) and the
learners' homes. Ctrl-C (or SIGTERM) stops the hub, which stops every learner's server and the
proxy; this command waits for that, then checks that nothing it started is left.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkit.golab.services.procs import free_ports  # noqa: E402
from workshop.links import nbgitpuller_link  # noqa: E402
from workshop.settings import PROXY, ROOT, WORKSHOP, load, repository_url  # noqa: E402

STOP_TIMEOUT_S = 60.0


def lan_address() -> str:
    """This machine's address on its network (what learners type), or 127.0.0.1."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def passwords(state: Path) -> dict[str, str]:
    """The room's and the admin's passwords: $WORKSHOP_USER_PASSWORD / $WORKSHOP_ADMIN_PASSWORD,
    else those made on the first start (state/passwords.json, readable by this user only)."""
    path = state / "passwords.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    out = {
        "user": os.environ.get("WORKSHOP_USER_PASSWORD") or saved.get("user"),
        "admin": os.environ.get("WORKSHOP_ADMIN_PASSWORD") or saved.get("admin"),
    }
    if not out["user"]:
        # Short enough to write on a whiteboard: three groups of four letters and digits.
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
        out["user"] = "-".join(
            "".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3)
        )
    if not out["admin"]:
        out["admin"] = secrets.token_urlsafe(32)  # SharedPasswordAuthenticator wants >= 32
    if out != saved:
        state.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2) + "\n")
        path.chmod(0o600)
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python3 course.py workshop",
        description="Start a JupyterHub that runs the course for a class on this machine.",
    )
    p.add_argument("--ip", default="0.0.0.0", help="address to listen on (default: all)")
    p.add_argument("--port", type=int, default=8000, help="port learners connect to (8000)")
    p.add_argument("--state", type=Path, default=ROOT / ".state" / "workshop", help="hub state")
    p.add_argument("--homes", type=Path, help="learners' homes (default STATE/homes)")
    p.add_argument("--repo", help="repository the landing page pulls (default: pyproject's)")
    p.add_argument("--branch", help="its branch (default: settings.toml's)")
    p.add_argument("--settings", type=Path, help="another settings.toml")
    p.add_argument("--quiet", action="store_true", help="do not print the hub's log")
    return p.parse_args(argv)


def hub_env(opts: argparse.Namespace, pw: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    # distinct from each other and from the public port (free_ports says why)
    hub_port, proxy_api_port = free_ports(2, avoid={opts.port})
    env.update(
        WORKSHOP_STATE=str(opts.state.resolve()),
        WORKSHOP_HOMES=str((opts.homes or opts.state / "homes").resolve()),
        WORKSHOP_IP=opts.ip,
        WORKSHOP_PORT=str(opts.port),
        WORKSHOP_HUB_PORT=str(hub_port),
        WORKSHOP_PROXY_API_PORT=str(proxy_api_port),
        WORKSHOP_USER_PASSWORD=pw["user"],
        WORKSHOP_ADMIN_PASSWORD=pw["admin"],
    )
    if opts.repo:
        env["WORKSHOP_REPO"] = opts.repo
    if opts.branch:
        env["WORKSHOP_BRANCH"] = opts.branch
    if opts.settings:
        env["WORKSHOP_SETTINGS"] = str(opts.settings.resolve())
    return env


def banner(opts: argparse.Namespace, pw: dict[str, str]) -> str:
    settings = load(opts.settings)
    host = lan_address() if opts.ip in {"0.0.0.0", ""} else opts.ip
    url = f"http://{host}:{opts.port}/"
    link = nbgitpuller_link(url, repo=opts.repo or repository_url(), branch=opts.branch)
    admin = settings.admin_users[0]
    return f"""
The workshop hub is starting at {url}
  learners: any name, password {pw["user"]}
  admin:    {admin}, password {pw["admin"]}   (also in {opts.state / "passwords.json"})
  per learner: {settings.mem_limit} memory (the hub kills the largest process over it); CPU is
  not capped on one machine; idle servers stop after {settings.cull_timeout_s // 60} min.

Next steps:
  1. Log in as {admin} at {url}hub/login and open {url}hub/admin to watch learners' servers.
  2. Write the address and the password on the board. On login each learner's server pulls the
     course into their home and opens {settings.default_notebook}; to hand out another
     notebook: python3 course.py workshop-link --hub {url} --notebook labs/lab01-frame-lab.ipynb
     (this hub's link for the default notebook: {link})
  3. Over plain http the password crosses the room's network unencrypted: use a closed network,
     or The Littlest JupyterHub with HTTPS (workshop/README.md).
Stop with Ctrl-C: every learner's server stops; their files stay in {opts.homes or opts.state / "homes"}.
"""


def main(argv: list[str]) -> int:
    opts = parse(argv)
    if not PROXY.exists():
        print(f"configurable-http-proxy is missing ({PROXY}): run python3 course.py setup")
        return 2
    pw = passwords(opts.state)
    env = hub_env(opts, pw)
    print(banner(opts, pw), flush=True)
    cmd = [sys.executable, "-m", "jupyterhub", "-f", str(WORKSHOP / "jupyterhub_config.py")]
    out = subprocess.DEVNULL if opts.quiet else None
    # The hub in its own session: Ctrl-C reaches this process, which stops the hub once and
    # waits for its clean-up (the learners' servers, the proxy) instead of killing it.
    hub = subprocess.Popen(
        cmd, env=env, cwd=opts.state, stdout=out, stderr=out, start_new_session=True
    )

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C stops the hub cleanly even when this was started with SIGINT ignored (a background
    # job of a non-interactive shell): the load test stops it this way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return hub.wait()
    except KeyboardInterrupt:
        print("\nStopping the hub and every learner's server ...", flush=True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"The hub did not stop within {STOP_TIMEOUT_S:.0f} s: killing it.")
            os.killpg(hub.pid, signal.SIGKILL)
            hub.wait()
        left = leftovers(opts.state, opts.homes or opts.state / "homes")
        if left:
            print(f"Killed processes the hub left: {left}")
        print("Stopped.")
        return 0
    finally:
        if hub.poll() is None:
            os.killpg(hub.pid, signal.SIGKILL)
            hub.wait()


def leftovers(state: Path, homes: Path) -> list[int]:
    """Kill and return the pids of the proxy (its pid file in ``state``) and of learners'
    processes (a Jupyter server's environment, HOME under ``homes``) still running after the hub
    stopped."""
    import psutil

    killed = []
    marker = str(homes.resolve()) + os.sep
    pidfile = state / "proxy.pid"
    if pidfile.exists():
        try:
            pid = int(pidfile.read_text().strip())
            if psutil.pid_exists(pid) and "configurable-http-proxy" in " ".join(
                psutil.Process(pid).cmdline()
            ):
                psutil.Process(pid).kill()
                killed.append(pid)
        except (ValueError, psutil.Error):
            pass
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
        except psutil.Error:
            continue
        if env.get("JUPYTERHUB_SERVICE_PREFIX") and (env.get("HOME", "") + os.sep).startswith(
            marker
        ):
            proc.kill()
            killed.append(proc.pid)
    return killed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
