"""``labkit.doctor()``: what this environment has, in a few lines, and what is wrong with it.

Most "the widget does not show" reports come from a mismatch between the Python side of a widget
library and its JupyterLab front end: a kernel in one environment and a JupyterLab in another, an
old ``jupyterlab_widgets``, or a bqplot whose JupyterLab extension is missing. JupyterLab 4 then
shows "Click to show javascript error" (ipywidgets 7 said "Error displaying widget") and the
browser console says "No version of module bqplot is registered". The doctor names the versions
and checks the combinations known to break, so a learner can paste its output into a question.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("jupyterlab", "ipywidgets", "jupyterlab_widgets", "bqplot", "numpy")

# JupyterLab front-end packages the course's widgets need, by the folder name under
# share/jupyter/labextensions where a pip/conda install puts their prebuilt extension.
LAB_EXTENSIONS = {
    "bqplot": "bqplot",
    "jupyterlab_widgets": "@jupyter-widgets/jupyterlab-manager",
}


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _major_minor(v: str | None) -> tuple[int, int]:
    if not v:
        return (0, 0)
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in v.split(".")[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def lab_extension_version(folder: str) -> str | None:
    """Version of a prebuilt JupyterLab extension on Jupyter's data path, or None if absent."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return None
    for base in jupyter_path("labextensions"):
        package_json = Path(base) / folder / "package.json"
        if package_json.is_file():
            try:
                return json.loads(package_json.read_text())["version"]
            except (OSError, ValueError, KeyError):
                return "unreadable"
    return None


def _go_toolchain() -> dict[str, str] | None:
    try:
        from labkit.golab import go_toolchain
    except ImportError:
        return None
    path = go_toolchain()
    if path is None:
        return None
    try:
        out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=20)
        return {"path": str(path), "version": out.stdout.strip() or out.stderr.strip()}
    except (OSError, subprocess.SubprocessError) as exc:
        return {"path": str(path), "version": f"unusable ({exc})"}


def trace_support(go: dict[str, str] | None) -> str:
    """Whether execution traces can be recorded and read live here: run_go and run_twin need a
    Go toolchain, and labkit.traces reads the format of Go 1.22 and newer (older traces are a
    different format: load_trace refuses them). Otherwise the course shows recorded traces."""
    if not go:
        return "recorded only: no Go toolchain (python3 course.py setup installs one)"
    m = re.search(r"go(\d+)\.(\d+)", go.get("version", ""))
    if not m:
        return f"recorded only: cannot tell the Go version from {go.get('version')!r}"
    if (int(m[1]), int(m[2])) < (1, 22):
        return f"recorded only: Go {m[1]}.{m[2]} writes traces older than Go 1.22's format"
    return f"live: Go {m[1]}.{m[2]} records execution traces that labkit.traces reads"


def known_problems(info: dict[str, Any]) -> list[str]:
    """The combinations known to break the course's widgets, as advice a learner can act on."""
    problems = []
    py = tuple(int(x) for x in info["python"].split(".")[:2])
    if py < (3, 11):
        problems.append(f"Python {info['python']} is too old: the course needs 3.11 or newer.")
    for name in PACKAGES:
        if info[name] is None:
            problems.append(f"{name} is not installed: run `python3 course.py setup`.")
    if info["jupyterlab"] and _major_minor(info["jupyterlab"]) < (4, 0):
        problems.append(
            f"jupyterlab {info['jupyterlab']} is older than 4: the course is built for JupyterLab 4."
        )
    ipyw, jlw = _major_minor(info["ipywidgets"]), _major_minor(info["jupyterlab_widgets"])
    if info["ipywidgets"] and ipyw < (8, 0):
        problems.append(
            f"ipywidgets {info['ipywidgets']} is version 7: the course needs ipywidgets 8."
        )
    if info["ipywidgets"] and info["jupyterlab_widgets"] and ipyw >= (8, 0) and jlw < (3, 0):
        problems.append(
            f"ipywidgets {info['ipywidgets']} needs jupyterlab_widgets 3, found "
            f"{info['jupyterlab_widgets']}: widgets will not display. "
            "Upgrade jupyterlab_widgets in the environment that runs JupyterLab."
        )
    if info["bqplot"] and _major_minor(info["bqplot"]) < (0, 13) and ipyw >= (8, 0):
        problems.append(f"bqplot {info['bqplot']} does not support ipywidgets 8: upgrade bqplot.")
    if info["bqplot"] and info["bqplot_labextension"] is None:
        problems.append(
            "bqplot's JupyterLab extension is not installed where this Python's Jupyter looks: "
            "plots will show 'Click to show javascript error'. Reinstall bqplot with pip or "
            "conda in the environment that runs JupyterLab."
        )
    if info["jupyterlab_widgets"] and info["widgets_labextension"] is None:
        problems.append(
            "The ipywidgets JupyterLab extension (@jupyter-widgets/jupyterlab-manager) is missing: "
            "reinstall jupyterlab_widgets in the environment that runs JupyterLab."
        )
    return problems


def doctor(print_report: bool = True) -> dict[str, Any]:
    """Print and return the versions the course depends on and any known-bad combination.

    The returned dict has one key per package (version string or None), ``python``,
    ``platform``, ``bqplot_labextension`` and ``widgets_labextension`` (front-end versions or
    None), ``go`` (``{"path", "version"}`` or None), ``traces`` (whether execution traces run
    live: ``trace_support``) and ``problems`` (list of advice strings).
    """
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "executable": sys.executable,
    }
    for name in PACKAGES:
        info[name] = _version(name)
    info["bqplot_labextension"] = lab_extension_version(LAB_EXTENSIONS["bqplot"])
    info["widgets_labextension"] = lab_extension_version(LAB_EXTENSIONS["jupyterlab_widgets"])
    info["go"] = _go_toolchain()
    info["traces"] = trace_support(info["go"])
    info["problems"] = known_problems(info)
    if print_report:
        print(format_report(info))
    return info


def format_report(info: dict[str, Any]) -> str:
    def v(name: str) -> str:
        return info[name] or "not installed"

    ext = info["bqplot_labextension"]
    lines = [
        f"Python {info['python']} ({info['platform']})",
        f"jupyterlab {v('jupyterlab')}, ipywidgets {v('ipywidgets')}, "
        f"jupyterlab_widgets {v('jupyterlab_widgets')}",
        f"bqplot {v('bqplot')} (its JupyterLab front end, versioned apart: "
        f"{ext + ', installed' if ext else 'MISSING'}), numpy {v('numpy')}",
    ]
    go = info["go"]
    if go:
        lines.append(f"Go: {go['version']} at {go['path']}")
    else:
        lines.append("Go: not found: real-Go cells show recorded results")
    lines.append(f"Execution traces: {info['traces']}")
    if info["problems"]:
        lines += ["Problems:"] + [f"  - {p}" for p in info["problems"]]
    else:
        lines.append("No known problems: widgets should display.")
    return "\n".join(lines)
