"""Drive a real JupyterLab in headless Chromium: open a notebook, run it, move widgets, look.

nbval runs a notebook's Python but never its JavaScript, so only this proves that a widget
displays and reacts. The helpers here are what the browser tests use:

* :class:`LabServer` starts JupyterLab exactly as ``python3 course.py lab`` does (the same
  ``course.lab_command``), on a free port with a token, with every Jupyter / IPython / Lab
  setting in a temporary folder and a copy of the notebooks as its root (so nothing a test does
  can save over a committed notebook).
* :class:`NotebookPage` opens one notebook in its own Lab workspace, runs all cells once the
  kernel is ready, waits for the kernel to go idle, collects widget errors from the page and the
  console, moves sliders with the keyboard, waits for an SVG to change, and takes screenshots.

Facts these rely on (test_start_here.py's broken-widget and raising-cell notebooks prove the
checks see them): JupyterLab 4 + ipywidgets 8
show a broken widget as ``.jupyter-widgets-error-widget`` ("Click to show javascript error")
and log "No version of module ... is registered"; bqplot draws marks into ``svg.svg-figure``
and animates them in for about a second.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# What JupyterLab serves a copy of: the notebooks, and the recorded artefacts chapter 3 reads
# from ../tests/data, as the repository lays them out (a learner's clone or Binder has them all).
NOTEBOOK_DIRS = ("chapters", "labs", "tests/data")


def record_timing(notebook: str, what: str, seconds: float, wall_s: float) -> None:
    """Append one in-browser measurement (a control moved -> the SVG redrawn) to
    test-artifacts/browser/timings.jsonl, which benchmarks/README.md quotes."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    row = {"notebook": notebook, "what": what, "seconds": round(seconds, 3)}
    row["wall_s"] = round(wall_s, 3)
    with (ARTIFACTS / "timings.jsonl").open("a") as out:
        out.write(json.dumps(row) + "\n")


# Console or page text that means a widget failed to display (ipywidgets 7 and 8 wordings).
WIDGET_ERROR = re.compile(
    r"Error displaying widget|Failed to load model class|No version of module .* is registered"
    r"|Could not create a model|Could not create a view|Class \S+ not found in module"
    r"|Click to show javascript error"
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# User settings for the test Lab: no kernel picker, no news toast over the plots, no autosave,
# and every cell kept in the DOM (windowing off) so selectors see the whole notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def find_chromium() -> str | None:
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server started the way the README's lab command starts it."""

    root: Path
    state: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        sys.path.insert(0, str(ROOT))
        try:
            from course import course_env
        finally:
            sys.path.pop(0)
        env = course_env()
        env.update(
            JUPYTER_CONFIG_DIR=str(self.state / "config"),
            JUPYTER_DATA_DIR=str(self.state / "data"),
            JUPYTER_RUNTIME_DIR=str(self.state / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(self.state / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.state / "workspaces"),
            IPYTHONDIR=str(self.state / "ipython"),
            PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            # Browser tests prove the widgets render and react; the live services are run by
            # nbval (chapter 5b) and tests/test_services_live.py. Here chapter 5b draws the
            # recordings: the same widgets, without a second round of live runs.
            LABKIT_SERVICES="recorded",
        )
        return env

    def command(self) -> list[str]:
        sys.path.insert(0, str(ROOT))
        try:
            from course import lab_command
        finally:
            sys.path.pop(0)
        cmd = lab_command(
            port=self.port,
            extra=[
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                "--LabApp.expose_app_in_browser=True",
                "--ServerApp.open_browser=False",
            ],
        )
        # Serve the copy under test instead of the repository itself.
        cmd = [c for c in cmd if not c.startswith("--ServerApp.root_dir=")]
        cmd.insert(3, f"--ServerApp.root_dir={self.root}")
        cmd[0] = sys.executable  # the test run's own environment
        return cmd

    def start(self, timeout_s: float = 60.0) -> LabServer:
        for name, value in LAB_SETTINGS.items():
            path = self.state / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        log = open(self.state / "jupyterlab.log", "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self.command(), env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited early; see {self.state / 'jupyterlab.log'}:\n"
                    + (self.state / "jupyterlab.log").read_text()[-3000:]
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page, server: LabServer, path: str) -> None:
        self.page = page
        self.server = server
        self.path = path
        self.console: list[str] = []
        page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))

    @property
    def name(self) -> str:
        return Path(self.path).stem

    def open(self, timeout_ms: int = 90_000) -> NotebookPage:
        workspace = re.sub(r"[^a-z0-9]+", "-", self.path.lower())
        url = (
            f"{self.server.url}/lab/workspaces/{workspace}/tree/{self.path}"
            f"?reset&token={self.server.token}"
        )
        self.page.goto(url, timeout=timeout_ms)
        self.page.wait_for_function(
            """path => window.jupyterapp && jupyterapp.shell.currentWidget
                 && jupyterapp.shell.currentWidget.context
                 && jupyterapp.shell.currentWidget.context.path === path""",
            arg=self.path,
            timeout=timeout_ms,
        )
        return self

    def run_all(self, timeout_ms: int = 240_000) -> NotebookPage:
        """Run every cell once the kernel is ready; return when every code cell has run and the
        kernel is idle again."""
        self.page.evaluate(
            """async () => {
                const nb = jupyterapp.shell.currentWidget;
                await nb.sessionContext.ready;
                await nb.revealed;
                await jupyterapp.commands.execute('notebook:run-all-cells');
            }"""
        )
        self.page.wait_for_function(
            r"""() => {
                const nb = jupyterapp.shell.currentWidget;
                const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
                if (!kernel || kernel.status !== 'idle') return false;
                // Done when every code cell has run: none running or queued ([*]) and none
                // not yet sent ([ ]). Run all sends one cell at a time, so between two cells the
                // kernel is idle with no [*] anywhere: idle alone would stop half-way.
                const prompts = [...nb.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                if (prompts.length === 0 || prompts.some(p => p.textContent.includes('*')))
                    return false;
                // A cell that raised stops the queue (the kernel aborts the rest): done, and
                // assert_clean reports the exception.
                const cells = nb.content.model.cells;
                for (let i = 0; i < cells.length; i++) {
                    const cell = cells.get(i);
                    if (cell.type !== 'code') continue;
                    for (let j = 0; j < cell.outputs.length; j++)
                        if (cell.outputs.get(j).type === 'error') return true;
                }
                return !prompts.some(p => /\[\s*\]/.test(p.textContent));
            }""",
            timeout=timeout_ms,
            polling=250,
        )
        self.page.wait_for_timeout(1500)  # bqplot animates marks in
        return self

    def folded_cells(self) -> list[str]:
        """The ids of the code cells whose outputs JupyterLab shows folded (a collapsed bar in
        place of the output: the cell's ``jupyter.outputs_hidden`` metadata, until it runs)."""
        self.page.evaluate("() => jupyterapp.shell.currentWidget.revealed")
        return self.page.evaluate(
            """() => jupyterapp.shell.currentWidget.content.widgets
                .filter(w => w.model.type === 'code' && w.outputHidden)
                .map(w => w.model.id)"""
        )

    def error_outputs(self) -> list[str]:
        """Python tracebacks shown in the notebook's outputs."""
        return self.page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_inner_texts()

    def widget_errors(self) -> list[str]:
        """Every sign of a widget that failed to display, from the page and the console."""
        found = [
            f"page: {t.strip()[:200]}"
            for t in self.page.locator(".jupyter-widgets-error-widget").all_inner_texts()
        ]
        found += [f"console: {line[:300]}" for line in self.console if WIDGET_ERROR.search(line)]
        outputs = "\n".join(self.page.locator(".jp-OutputArea").all_inner_texts())
        found += [f"output: {m.group(0)}" for m in WIDGET_ERROR.finditer(outputs)]
        return found

    def cell_errors(self) -> list[str]:
        """Every exception a cell raised, from the notebook's own model (``output_type`` error):
        JupyterLab renders a traceback with the stderr renderer, so the page cannot tell it
        from a warning."""
        return self.page.evaluate(
            """() => {
                const cells = jupyterapp.shell.currentWidget.content.model.cells;
                const found = [];
                for (let i = 0; i < cells.length; i++) {
                    const cell = cells.get(i);
                    if (cell.type !== 'code') continue;
                    for (let j = 0; j < cell.outputs.length; j++) {
                        const out = cell.outputs.get(j).toJSON();
                        if (out.output_type === 'error')
                            found.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
                    }
                }
                return found;
            }"""
        )

    def legends_cut(self) -> list[str]:
        """The text of each labkit legend (``legend_html``) that runs past the right edge of its
        cell's output, where the page cuts it off; legends not laid out (hidden) are skipped."""
        return self.page.evaluate(
            """() => [...document.querySelectorAll('.labkit-legend')].filter(el => {
                const box = el.closest('.jp-OutputArea-output') || el.parentElement;
                const r = el.getBoundingClientRect();
                return r.width > 0 && r.right > box.getBoundingClientRect().right + 1;
            }).map(el => el.innerText)"""
        )

    def assert_clean(self) -> None:
        errors = self.widget_errors()
        assert not errors, f"{self.path}: widget errors:\n" + "\n".join(errors)
        raised = self.cell_errors()
        assert not raised, f"{self.path}: cells raised:\n" + "\n".join(raised)
        cut = self.legends_cut()
        assert not cut, f"{self.path}: legends cut off at the right:\n" + "\n".join(cut)

    def wait_for_text(
        self,
        locator,
        text: str | None = None,
        *,
        changed_from: str | None = None,
        absent: bool = False,
        timeout_ms: int = 30_000,
    ) -> str:
        """Wait until ``locator``'s text contains ``text`` (or no longer does, with ``absent``),
        or differs from ``changed_from``; returns the text.

        Polls through the locator, which is resolved afresh each time: an ipywidgets HTML widget
        replaces its inner nodes when its value changes, so a handle taken earlier can go stale
        and keep the old text forever."""
        deadline = time.monotonic() + timeout_ms / 1000
        current = ""
        while time.monotonic() < deadline:
            current = locator.inner_text()
            if changed_from is not None:
                if current != changed_from:
                    return current
            elif (text in current) != absent:
                return current
            self.page.wait_for_timeout(50)
        want = (
            f"to change from {changed_from[:80]!r}"
            if changed_from is not None
            else (f"{'not ' if absent else ''}to contain {text!r}")
        )
        raise AssertionError(
            f"{self.path}: waited {timeout_ms} ms for text {want}; it is {current[:200]!r}"
        )

    def predict(self, title: str, answer: str | tuple[int, str], *, right: bool, figure: str):
        """Answer the prediction exercise titled ``title`` as a learner would: its answer's
        figure (``figure``, a CSS selector inside the exercise) is absent until Check; type
        ``answer`` (or, for a multiple-choice question, ``(index, choice text)``: tick the
        choice labelled "A. ...", "B. ..."), press Check, see the feedback ("Right." or "Not
        quite"), the figure and "You predicted ..." beside the answer. Returns the exercise's
        locator."""
        ex = self.page.locator(".labkit-exercise", has_text=title).first
        ex.scroll_into_view_if_needed()
        assert ex.locator(figure).count() == 0, f"{title}: the answer is drawn before Check"
        if isinstance(answer, tuple):
            index, text = answer
            ex.get_by_label(f"{chr(65 + index)}. {text}", exact=True).check()
        else:
            ex.locator("input[type='text']").fill(answer)
        ex.get_by_role("button", name="Check").click()
        said = "Right." if right else "Not quite"
        self.wait_for_text(ex, said)
        self.page.wait_for_function(
            "([el, sel]) => el.querySelectorAll(sel).length > 0",
            arg=[ex.element_handle(), figure],
            timeout=30_000,
        )
        # The prediction line is its own widget message, after the figure's: wait for it too
        # (under load it can come a moment later; a view that never writes it still fails).
        self.wait_for_text(ex, "You predicted")
        return ex

    def summary_text(self, widget: str) -> str:
        """The one-line summary (``.labkit-summary``) of the first widget matching ``widget``."""
        return self.page.locator(f"{widget} .labkit-summary").first.inner_text()

    def wait_summary_change(self, widget: str, old: str) -> str:
        """Wait until that summary differs from ``old`` (the widget re-ran); returns it."""
        return self.wait_for_text(
            self.page.locator(f"{widget} .labkit-summary").first, changed_from=old
        )

    # --- widgets -------------------------------------------------------------------------
    def slider(self, label: str, nth: int = 0):
        """The ipywidgets slider whose description contains ``label``."""
        return self.page.locator(
            ".widget-slider", has=self.page.locator(".widget-label", has_text=label)
        ).nth(nth)

    def slider_value(self, label: str, nth: int = 0) -> str:
        return self.slider(label, nth).locator(".widget-readout").inner_text()

    def press_slider(
        self, label: str, key: str = "ArrowRight", times: int = 1, nth: int = 0
    ) -> None:
        handle = self.slider(label, nth).locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def figure_svg(self, nth: int = 0, within: str | None = None) -> str:
        """The marks of the nth bqplot figure (optionally inside a container selector)."""
        scope = self.page.locator(within) if within else self.page
        fig = scope.locator(".bqplot svg.svg-figure").nth(nth)
        return fig.inner_html()

    def wait_svg_change(
        self, before: str, nth: int = 0, within: str | None = None, timeout_ms: int = 15_000
    ) -> float:
        """Wait until the nth figure's SVG differs from ``before``; return the seconds it took."""
        start = time.monotonic()
        deadline = start + timeout_ms / 1000
        while time.monotonic() < deadline:
            if self.figure_svg(nth, within) != before:
                return time.monotonic() - start
            self.page.wait_for_timeout(20)
        raise AssertionError(f"{self.path}: figure {nth} did not change within {timeout_ms} ms")

    def screenshot(self, label: str = "", locator=None) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / f"{self.name}{('-' + label) if label else ''}.png"
        if locator is not None:
            locator.scroll_into_view_if_needed()
            locator.screenshot(path=str(out))
        else:
            self.page.screenshot(path=str(out))
        return out
