#!/usr/bin/env python3
"""Set up, open and test the course with nothing but Python 3.11+.

    python3 course.py lab      # install everything (first time only) and open JupyterLab
    python3 course.py test     # install everything (first time only) and run every test
    python3 course.py bench    # run the benchmarks in benchmarks/ and print medians
    python3 course.py badge    # print the Binder badge built from pyproject.toml's repository URL

Everything lives inside this folder: the virtual environment in ``.venv/``, and Jupyter, IPython
and Go state in ``.state/``, so the course never writes to your home directory. A second run
reinstalls nothing unless pyproject.toml changed (a stamp file records its hash).

This file uses only the standard library on purpose: it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STATE = ROOT / ".state"
STAMP = VENV / ".labkit-install-stamp"
START_NOTEBOOK = "chapters/00-start-here.ipynb"
BINDER_URLPATH = "lab/tree/chapters/00-start-here.ipynb"

# JupyterLab settings that keep the course's first screen clean: start the notebook's kernel
# without asking, and do not fetch news (the machine may have no network; the toast covers plots).
LAB_OVERRIDES = {
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def course_env() -> dict[str, str]:
    """Environment for every process the course starts: all state inside .state/."""
    env = dict(os.environ)
    bindir = str(venv_python().parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(VENV)
    env["JUPYTER_CONFIG_DIR"] = str(STATE / "jupyter" / "config")
    env["JUPYTER_DATA_DIR"] = str(STATE / "jupyter" / "data")
    env["JUPYTER_RUNTIME_DIR"] = str(STATE / "jupyter" / "runtime")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(STATE / "jupyter" / "lab" / "user-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(STATE / "jupyter" / "lab" / "workspaces")
    env["IPYTHONDIR"] = str(STATE / "ipython")
    env["MPLCONFIGDIR"] = str(STATE / "matplotlib")
    env["GOCACHE"] = str(STATE / "go" / "cache")
    env["GOPATH"] = str(STATE / "go" / "path")
    env["GOTOOLCHAIN"] = "local"
    env["XDG_CONFIG_HOME"] = str(STATE / "xdg" / "config")  # Go telemetry, Chromium
    env["XDG_CACHE_HOME"] = str(STATE / "xdg" / "cache")
    env["LABKIT_CACHE"] = str(STATE / "labkit")
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(STATE / "playwright")  # never used for downloads
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


def install_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def setup() -> None:
    """Create .venv and install labkit with its test extras, unless already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file must explain, not crash, on old Pythons
        sys.exit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if STAMP.exists() and STAMP.read_text() == install_stamp() and venv_python().exists():
        return
    print("Setting up the course environment in .venv (first time: about a minute) ...")
    if not venv_python().exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True, env=course_env())
    write_lab_overrides()
    STAMP.write_text(install_stamp())
    print("Environment ready.")


def write_lab_overrides() -> None:
    """Install the course's JupyterLab setting overrides into the venv's app settings folder."""
    settings = VENV / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n")


def lab_command(port: int | None = None, extra: list[str] | None = None) -> list[str]:
    """The command that opens the course. tests/test_lab_command.py starts Lab this same way."""
    cmd = [str(venv_python()), "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}"]
    if port is not None:
        cmd += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd + (extra or [])


def lab(args: list[str]) -> int:
    setup()
    cmd = lab_command(extra=args)
    # Open the start page directly; JupyterLab resolves this path against root_dir.
    cmd.insert(3, START_NOTEBOOK)
    print("Opening JupyterLab; stop it with Ctrl-C.")
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def test(args: list[str]) -> int:
    setup()
    cmd = [str(venv_python()), "-m", "pytest", *args]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def bench(args: list[str]) -> int:
    setup()
    cmd = [
        str(venv_python()),
        "-m",
        "pytest",
        "benchmarks",
        "-o",
        "python_files=bench_*.py",
        "--benchmark-enable",
        "--benchmark-columns=median,iqr,min,rounds",
        "--benchmark-sort=name",
        *args,
    ]
    return subprocess.call(cmd, env=course_env(), cwd=ROOT)


def repository_url() -> str:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def binder_badge() -> str:
    """The README's Binder badge, built from the one repository URL in pyproject.toml."""
    from urllib.parse import quote

    repo = repository_url().removeprefix("https://github.com/").strip("/")
    url = f"https://mybinder.org/v2/gh/{repo}/HEAD?urlpath={quote(BINDER_URLPATH, safe='')}"
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})"


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "bench": bench}
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    if argv[0] == "setup":
        setup()
        return 0
    if argv[0] == "badge":
        print(binder_badge())
        return 0
    if argv[0] not in commands:
        print(f"unknown command {argv[0]!r}; expected one of: setup, lab, test, bench, badge")
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
