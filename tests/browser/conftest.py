"""Fixtures for the browser tests: one JupyterLab per session, one Chromium page per test.

Browser tests are skipped with a clear message when no Chromium is installed, except under
``CI=true``, where a missing browser is a failure (CI must prove the widgets render).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from jlab import CHROMIUM_ARGS, NOTEBOOK_DIRS, ROOT, LabServer, NotebookPage, find_chromium


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    path = find_chromium()
    if path is None:
        message = (
            "no Chromium found (looked for /usr/bin/chromium): install Debian's chromium "
            "(apt-get install -y chromium) to run the browser tests"
        )
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, chromium_executable):
    """JupyterLab serving a copy of the course's notebooks, all its state in a temp dir."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    for rel in NOTEBOOK_DIRS:
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, root / rel, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = LabServer(root=root, state=base / "state").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_executable, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium")
    os.environ["XDG_CONFIG_HOME"] = str(profile / "config")
    os.environ["XDG_CACHE_HOME"] = str(profile / "cache")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def open_notebook(request, browser, lab_server):
    """``open_notebook("chapters/00-start-here.ipynb")`` -> a NotebookPage, opened, not run.

    When the test fails, every page it opened is saved as FAILED-<test>-<n>.png with its
    console log, so a CI failure can be looked at afterwards."""
    contexts = []
    pages: list[NotebookPage] = []

    def _open(path: str) -> NotebookPage:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        nb = NotebookPage(page, lab_server, path)
        pages.append(nb)
        return nb.open()

    yield _open
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        out = ROOT / "test-artifacts" / "browser"
        out.mkdir(parents=True, exist_ok=True)
        for n, nb in enumerate(pages):
            stem = f"FAILED-{request.node.name}-{n}"
            try:
                nb.page.screenshot(path=str(out / f"{stem}.png"), full_page=True)
            except Exception as exc:  # the page may be gone; the log still helps
                nb.console.append(f"(screenshot failed: {exc})")
            (out / f"{stem}.log").write_text("\n".join(nb.console))
    for c in contexts:
        c.close()


@pytest.fixture
def artifacts_dir() -> Path:
    out = ROOT / "test-artifacts" / "browser"
    out.mkdir(parents=True, exist_ok=True)
    return out
