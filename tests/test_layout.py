"""The package's layout shows its architecture (issue #14 item 4), and the README's map says it.

models / scenarios built on them / readers of what Go prints / real Go / the stall doctor / views /
exercises, each in its own folder; no module name that shadows the standard library where a
learner imports it; no name used for two different modules in the parts a learner imports from;
``dir()`` lists exactly the public parts, and each of them imports.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labkit"
#: The packages whose modules a notebook imports by name: their module names must not collide.
IMPORTED_FROM = (
    "labkit",
    "labkit.models",
    "labkit.scenarios",
    "labkit.widgets",
    "labkit.exercises",
)


def readme_map(readme: str) -> list[str]:
    """The paths the README's map names under labkit/, e.g. ``labkit/models/scheduler``.

    The map is an indented tree in a code block: ``labkit/`` at column 0, its parts at column 2,
    theirs at column 4; a name ends in ``/`` (a package) or ``.py`` (a module).
    """
    block = readme[readme.index("labkit/            ") :]
    block = block[: block.index("\n```")]
    paths: list[str] = []
    stack: list[str] = []
    for line in block.splitlines():
        m = re.match(r"^( *)([\w.]+/|[\w]+\.py)\s", line + " ")
        if not m or (m.group(1) == "" and m.group(2) != "labkit/"):
            if m and m.group(1) == "":
                break  # past labkit/: chapters/, tests/ ...
            continue
        depth = len(m.group(1)) // 2
        if len(m.group(1)) % 2 or depth > len(stack):
            continue  # a continuation line of a description
        stack = stack[:depth] + [m.group(2).rstrip("/").removesuffix(".py")]
        paths.append("/".join(stack))
    return paths


def map_problems(paths: list[str], package: Path) -> list[str]:
    """What the map gets wrong: named parts that do not exist, and parts it leaves out.

    Every subpackage of labkit, labkit.models and labkit.scenarios, and every module directly in
    labkit, labkit.models and labkit.scenarios, must be named (files starting with ``_`` aside).
    """
    problems = []
    for path in paths:
        target = package.parent / path
        if not (target.is_dir() or target.with_suffix(".py").is_file()):
            problems.append(f"the map names {path}, which does not exist")
    named = set(paths)
    for folder in (package, package / "models", package / "scenarios"):
        for child in sorted(folder.iterdir()):
            if child.name.startswith(("_", ".")) or child.name == "data":
                continue
            if child.is_dir() and not (child / "__init__.py").is_file():
                continue
            if child.is_file() and child.suffix != ".py":
                continue
            rel = str(child.relative_to(package.parent)).removesuffix(".py")
            if rel not in named:
                problems.append(f"the map leaves out {rel}")
    return problems


def test_the_readme_map_names_every_part_and_only_parts_that_exist():
    paths = readme_map((ROOT / "README.md").read_text())
    assert "labkit/models/scheduler" in paths and "labkit/scenarios/casestudy" in paths
    assert map_problems(paths, PACKAGE) == []


def test_a_stale_map_is_caught():
    """The check fails on the map as it was before the move, and on a map missing a part."""
    paths = readme_map((ROOT / "README.md").read_text())
    stale = [p.replace("labkit/models/scheduler", "labkit/sched") for p in paths]
    assert "the map names labkit/sched, which does not exist" in map_problems(stale, PACKAGE)
    missing = [p for p in paths if p != "labkit/stalls"]
    assert map_problems(missing, PACKAGE) == ["the map leaves out labkit/stalls"]


def _modules(package: str) -> list[str]:
    folder = PACKAGE.parent / package.replace(".", "/")
    return sorted(
        c.name.removesuffix(".py")
        for c in folder.iterdir()
        if not c.name.startswith(("_", "."))
        and ((c.is_dir() and (c / "__init__.py").is_file()) or c.suffix == ".py")
    )


def test_no_module_shadows_the_standard_library():
    """``from labkit.models import gc`` would hide Python's gc module; none of these names can."""
    for package in IMPORTED_FROM:
        clashes = set(_modules(package)) & set(sys.stdlib_module_names)
        assert clashes == set(), (
            f"{package} has modules named like the standard library's: {clashes}"
        )


def test_no_name_is_used_for_two_different_modules():
    seen: dict[str, str] = {}
    for package in IMPORTED_FROM:
        for name in _modules(package):
            assert name not in seen, f"{name!r} is both {seen[name]}.{name} and {package}.{name}"
            seen[name] = package


@pytest.mark.parametrize("package", ["labkit", "labkit.models", "labkit.scenarios"])
def test_dir_lists_the_public_parts_and_each_imports(package):
    module = importlib.import_module(package)
    names = dir(module)
    assert names == sorted(module.__all__)
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    for name in names:
        assert getattr(module, name) is not None
    if package != "labkit":
        assert names == _modules(package)


def test_models_import_no_widgets():
    """The models are pure Python and numpy: importing them loads no ipywidgets or bqplot."""
    code = (
        "import sys, labkit.models.scheduler, labkit.models.gcpacer, labkit.models.renderloop, "
        "labkit.models.pool, labkit.models.pipeline, labkit.scenarios.blindspots, "
        "labkit.scenarios.casestudy; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'bqplot')))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
