"""The workshop's choices (workshop/settings.toml), read and checked.

Every hub configuration the kit ships reads or is checked against this one file: the local hub's
``jupyterhub_config.py`` reads it, and :mod:`workshop.consistency` compares The Littlest
JupyterHub's and Zero to JupyterHub's files with it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
WORKSHOP = ROOT / "workshop"
SETTINGS_FILE = WORKSHOP / "settings.toml"
#: The values LABKIT_SERVICES takes (labkit.golab.services.run.SOURCES; a test keeps them equal).
SERVICES = ("auto", "live", "recorded")
VENV = ROOT / ".venv"
#: configurable-http-proxy, installed from npm by ``course.py setup`` (workshop/package.json).
PROXY = WORKSHOP / "node_modules" / ".bin" / "configurable-http-proxy"

# JupyterHub's ByteSpecification: K, M, G, T are powers of 1024 (jupyterhub/traitlets.py).
_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_BYTES = re.compile(r"^(\d+(?:\.\d+)?)([KMGT])$")


class WorkshopSettingsError(ParameterError):
    """A workshop setting that a hub would refuse or misread; the message names the setting,
    the value, what is accepted and the file to fix."""


def byte_size(value: str, name: str = "mem_limit") -> int:
    """Bytes in a JupyterHub memory size (``"1G"`` -> 1073741824), as JupyterHub reads it."""
    m = _BYTES.match(str(value).strip())
    if not m:
        raise WorkshopSettingsError(
            f"{name}={value!r}: expected a number and one of K, M, G, T (JupyterHub's "
            f"ByteSpecification, powers of 1024), e.g. '1G' or '512M'; fix {SETTINGS_FILE.name}"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True)
class Settings:
    mem_limit: str
    cpu_limit: float
    default_notebook: str
    target_dir: str
    branch: str
    cull_timeout_s: int
    cull_every_s: int
    admin_users: tuple[str, ...]
    learner_packages: tuple[str, ...]
    services: str = "recorded"

    @property
    def mem_limit_bytes(self) -> int:
        return byte_size(self.mem_limit)

    def notebook_urlpath(self, notebook: str | None = None) -> str:
        """JupyterLab's path of a notebook inside the pulled folder (nbgitpuller's urlpath)."""
        return f"lab/tree/{self.target_dir}/{notebook or self.default_notebook}"


def _check(data: dict, source: Path) -> Settings:
    try:
        learner, culling, hub = data["learner"], data["culling"], data["hub"]
        s = Settings(
            mem_limit=str(learner["mem_limit"]),
            cpu_limit=float(learner["cpu_limit"]),
            default_notebook=str(learner["default_notebook"]),
            target_dir=str(learner["target_dir"]),
            branch=str(learner["branch"]),
            cull_timeout_s=int(culling["timeout_s"]),
            cull_every_s=int(culling["every_s"]),
            admin_users=tuple(hub["admin_users"]),
            learner_packages=tuple(hub["learner_packages"]),
            services=str(learner["services"]),
        )
    except KeyError as e:
        raise WorkshopSettingsError(
            f"{source}: missing setting {e.args[0]!r}; compare with {SETTINGS_FILE}"
        ) from None
    byte_size(s.mem_limit)
    if not 0 < s.cpu_limit <= 64:
        raise WorkshopSettingsError(
            f"cpu_limit={s.cpu_limit}: expected cores, more than 0 and at most 64; fix {source}"
        )
    if not 60 <= s.cull_timeout_s <= 7 * 24 * 3600 or not 10 <= s.cull_every_s <= s.cull_timeout_s:
        raise WorkshopSettingsError(
            f"culling timeout_s={s.cull_timeout_s}, every_s={s.cull_every_s}: expected "
            f"60 s <= timeout_s <= a week and 10 s <= every_s <= timeout_s; fix {source}"
        )
    if not s.default_notebook.endswith(".ipynb") or s.default_notebook.startswith("/"):
        raise WorkshopSettingsError(
            f"default_notebook={s.default_notebook!r}: expected a notebook's path from the "
            f"repository root, e.g. 'chapters/00-start-here.ipynb'; fix {source}"
        )
    if s.services not in SERVICES:
        raise WorkshopSettingsError(
            f"services={s.services!r}: expected one of {', '.join(SERVICES)} (LABKIT_SERVICES: "
            f"recorded shows the shipped runs, live always runs the services); fix {source}"
        )
    if not s.admin_users:
        raise WorkshopSettingsError(f"admin_users is empty: name at least one; fix {source}")
    return s


def load(path: str | Path | None = None) -> Settings:
    """The settings in ``path``, else ``$WORKSHOP_SETTINGS``, else workshop/settings.toml."""
    source = Path(path or os.environ.get("WORKSHOP_SETTINGS") or SETTINGS_FILE)
    with open(source, "rb") as f:
        return _check(tomllib.load(f), source)


def repository_url() -> str:
    """The repository the course lives in (pyproject.toml's one URL, as course.py reads it)."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]
