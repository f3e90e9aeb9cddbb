"""The set-up promises of the README: one dependency list, one repository URL, one lab command."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirement(spec: str) -> tuple[str, str]:
    """('ipywidgets', '>=8.1,<9') from 'ipywidgets>=8.1,<9' (conda or pip spelling)."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$", spec)
    assert m, spec
    return m.group(1).lower().replace("-", "_"), m.group(2).replace(" ", "")


def _conda_deps(path: Path) -> tuple[dict[str, str], list[str]]:
    """Conda dependencies and pip entries of an environment.yml (a small, strict reader)."""
    conda, pip, in_pip, section = {}, [], False, ""
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            section = line.split(":", 1)[0]
            continue
        if section != "dependencies":
            continue
        if line.startswith("  - pip:"):
            in_pip = True
            continue
        if line.startswith("      - ") and in_pip:
            pip.append(line.split("- ", 1)[1].strip())
        elif line.startswith("  - "):
            in_pip = False
            name, ver = _requirement(line[4:])
            conda[name] = ver
    return conda, pip


def test_environment_yml_lists_the_same_runtime_dependencies_as_pyproject():
    """environment.yml (conda / Binder) and pyproject.toml (pip) must not drift apart."""
    runtime = dict(_requirement(s) for s in _pyproject()["project"]["dependencies"])
    conda, pip = _conda_deps(ROOT / "environment.yml")
    conda.pop("pip")
    assert conda.pop("python") == ">=" + _pyproject()["project"]["requires-python"].lstrip(">=")
    assert conda == runtime
    assert "-e ." in pip, "environment.yml must install labkit itself from the repository"


def test_binder_environment_is_the_root_one_without_the_editable_install():
    """repo2docker installs binder/environment.yml before copying the repo; postBuild adds labkit."""
    root_conda, root_pip = _conda_deps(ROOT / "environment.yml")
    binder_conda, binder_pip = _conda_deps(ROOT / "binder" / "environment.yml")
    assert binder_conda == root_conda
    assert binder_pip == [p for p in root_pip if p != "-e ."]
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


def test_test_tools_in_environment_yml_are_in_the_test_extra():
    extra = dict(_requirement(s) for s in _pyproject()["project"]["optional-dependencies"]["test"])
    _, pip = _conda_deps(ROOT / "environment.yml")
    for entry in pip:
        if entry == "-e .":
            continue
        name, ver = _requirement(entry)
        assert extra.get(name) == ver, f"{entry} differs from pyproject's test extra"


def test_readme_binder_badge_is_built_from_the_repository_url():
    """The badge in the README is exactly what `python3 course.py badge` builds."""
    badge = course.binder_badge()
    assert "urlpath=lab%2Ftree%2Fchapters%2F00-start-here.ipynb" in badge
    assert course.repository_url().removeprefix("https://github.com/") in badge
    assert badge in (ROOT / "README.md").read_text()


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "python3 course.py lab" in readme
    assert "python3 course.py test" in readme
    assert "python3 course.py test" in (ROOT / ".ci" / "run").read_text()


def test_every_notebook_the_readme_lists_exists():
    readme = (ROOT / "README.md").read_text()
    listed = re.findall(r"\((?:\./)?((?:chapters|labs)/[^)]+\.ipynb)\)", readme)
    assert "chapters/00-start-here.ipynb" in listed
    for rel in listed:
        assert (ROOT / rel).is_file(), f"README links {rel}, which does not exist"


def test_setup_stamp_changes_when_pyproject_changes(tmp_path, monkeypatch):
    """Re-running the commands reinstalls nothing unless pyproject.toml changed."""
    (tmp_path / "pyproject.toml").write_text("a")
    monkeypatch.setattr(course, "ROOT", tmp_path)
    first = course.install_stamp()
    assert course.install_stamp() == first
    (tmp_path / "pyproject.toml").write_text("b")
    assert course.install_stamp() != first


def test_the_wheel_ships_every_go_program_recording_and_profile(tmp_path):
    """A learner who installs labkit from a wheel (not this checkout) still needs the Go programs
    the real-Go cells build and the recordings they fall back to: every non-Python file git
    tracks under labkit/ must be in the wheel (pyproject's package-data patterns decide)."""
    import shutil
    import subprocess
    import zipfile

    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    data = {p for p in tracked if p.startswith("labkit/") and not p.endswith(".py")}
    assert data, "git lists no data files under labkit/"
    # Built from a copy of the tracked files, as pip builds it for a user: in an isolated build
    # environment (setuptools from pyproject's [build-system]), leaving the checkout untouched.
    src = tmp_path / "src"
    for rel in tracked:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("labkit-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(data - shipped) == []
