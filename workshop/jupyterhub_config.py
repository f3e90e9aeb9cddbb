"""JupyterHub configuration for a class on one machine (``python3 course.py workshop``).

``workshop/run.py`` starts ``jupyterhub -f`` this file with the environment below set; run by
hand, every variable has a default. The choices a class cares about (limits, culling, the
notebook learners land on) are in settings.toml, shared with the TLJH and Zero to JupyterHub
set-ups; this file only wires them into JupyterHub.

- **Login:** JupyterHub's SharedPasswordAuthenticator (5.3+): any learner name with the room's
  password; the names in settings.toml's ``admin_users`` with the admin password (the hub's
  admin page starts, stops and watches learners' servers).
- **Learners' servers:** :class:`workshop.spawner.WorkshopSpawner`, a local process per learner
  running ``jupyterhub-singleuser`` from the course's ``.venv`` (the same Python, labkit,
  JupyterLab, widgets and Go as ``python3 course.py lab``), home under ``$WORKSHOP_HOMES``;
  memory limit enforced by the hub, CPU not capped (see its docstring).
- **Landing page:** a server starts on nbgitpuller's ``git-pull`` page, which pulls the course into
  the learner's home and opens the default notebook; the link ``course.py workshop-link`` prints
  does the same for any notebook.
- **Idle culling:** jupyterhub-idle-culler as a hub service.
- **Proxy:** configurable-http-proxy from npm (workshop/node_modules, ``course.py setup``).

Environment: WORKSHOP_STATE (hub database, cookie secret; default .state/workshop),
WORKSHOP_HOMES (learners' homes; default $WORKSHOP_STATE/homes), WORKSHOP_IP / WORKSHOP_PORT
(where learners connect; default 0.0.0.0:8000), WORKSHOP_HUB_PORT / WORKSHOP_PROXY_API_PORT
(internal; defaults 8081 / 8001), WORKSHOP_REPO / WORKSHOP_BRANCH (what the landing page pulls;
default pyproject's repository), WORKSHOP_USER_PASSWORD / WORKSHOP_ADMIN_PASSWORD,
WORKSHOP_SETTINGS (another settings.toml).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course import LAB_SERVER_ARGS  # noqa: E402
from workshop.links import server_path  # noqa: E402
from workshop.settings import PROXY, ROOT, VENV, load, repository_url  # noqa: E402

c = get_config()  # noqa: F821 - JupyterHub defines get_config for its config files

settings = load()
env = os.environ.get
state = Path(env("WORKSHOP_STATE") or ROOT / ".state" / "workshop")
homes = Path(env("WORKSHOP_HOMES") or state / "homes")
state.mkdir(parents=True, exist_ok=True)
homes.mkdir(parents=True, exist_ok=True)
repo = env("WORKSHOP_REPO") or repository_url()
branch = env("WORKSHOP_BRANCH", settings.branch)

# Where learners connect, and the hub's own ports (free ones when run.py picks them, so two hubs
# on one machine do not collide).
c.JupyterHub.bind_url = f"http://{env('WORKSHOP_IP', '0.0.0.0')}:{env('WORKSHOP_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("WORKSHOP_HUB_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env('WORKSHOP_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # Ctrl-C stops every learner's server too

# Login: one password for the room, a longer one for the instructors.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env("WORKSHOP_USER_PASSWORD")
c.SharedPasswordAuthenticator.admin_password = env("WORKSHOP_ADMIN_PASSWORD")
c.Authenticator.admin_users = set(settings.admin_users)
c.Authenticator.allow_all = True

# Each learner's server: the course's environment, a home of their own, limits.
c.JupyterHub.spawner_class = "workshop.spawner.WorkshopSpawner"
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.args = list(LAB_SERVER_ARGS)  # the widgets' messages without Nagle's delay
if hasattr(os, "geteuid") and os.geteuid() == 0:
    c.Spawner.args.append("--ServerApp.allow_root=True")
c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
c.Spawner.mem_limit = settings.mem_limit
c.Spawner.cpu_limit = settings.cpu_limit
c.Spawner.default_url = "/" + server_path(
    repo, branch, settings.target_dir, settings.default_notebook, settings
)
c.Spawner.environment = {
    # Real-Go cells: one build cache for the room (labkit builds each program once), no downloads.
    "LABKIT_CACHE": env("LABKIT_CACHE") or str(ROOT / ".state" / "labkit"),
    "GOTOOLCHAIN": "local",
    "NBGITPULLER_APP": "lab",
    # Chapter 5b's and lab 5's real services: the shipped runs, not one service per kernel.
    "LABKIT_SERVICES": settings.services,
}
# A room logging in at once on a small machine: servers take longer than JupyterHub's defaults.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

# Idle culling: stop a learner's server after settings' timeout without activity.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [
            sys.executable,
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={settings.cull_timeout_s}",
            f"--cull-every={settings.cull_every_s}",
        ],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
