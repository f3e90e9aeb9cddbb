#!/usr/bin/env python3
"""How long each widget interaction takes in a real browser: key press or click -> SVG changed.

    .venv/bin/python benchmarks/browser_timings.py               # every interaction, 11 times
    .venv/bin/python benchmarks/browser_timings.py --repeat 21 --only 02-sched lab02

The kernel-side figures (simulate + update the marks) are the ``bench_*.py`` files; this is what
a learner waits for: the model re-runs in the kernel, the new data travels over the widget
comm, and bqplot redraws. It starts JupyterLab as ``python3 course.py lab`` does, in headless
Chromium, with the browser tests' helpers (tests/browser/jlab.py), runs each notebook, then
repeats every interaction ``--repeat`` times and prints, per interaction, the median and the
95th percentile (benchmarks/README.md quotes them; the target is a median within 100 ms and a
p95 within 150 ms).

**What is measured.** The page itself times each interaction, so that Playwright's round trips
do not count: just before the key press or click, a MutationObserver is put on the figure that
the interaction must redraw, with ``performance.now()``; the time is that of the first change
to the figure's SVG. A change that never comes fails the run (a broken widget is not fast).

Timing is never asserted in the test suite: run this on a quiet machine (it prints the load
average) and compare versions side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from jlab import CHROMIUM_ARGS, NOTEBOOK_DIRS, LabServer, NotebookPage, find_chromium  # noqa: E402

from labkit import schedlab  # noqa: E402

# Starts observing ``figure`` (an svg.svg-figure element) and resolves with the milliseconds
# from now to its first mutation; the Promise is kept in window.__redraw for ``finish``.
WATCH = """figure => {
    const t0 = performance.now();
    window.__redraw = new Promise((resolve, reject) => {
        const observer = new MutationObserver(() => {
            observer.disconnect();
            resolve(performance.now() - t0);
        });
        observer.observe(figure, {subtree: true, childList: true, attributes: true,
                                  characterData: true});
        setTimeout(() => { observer.disconnect(); reject(new Error('no redraw in 15 s')); },
                   15000);
    });
}"""
FINISH = "async () => await window.__redraw"


@dataclass(frozen=True)
class Interaction:
    """One thing a learner does to a widget, and the figure it must redraw."""

    notebook: str
    name: str
    widget: str  # CSS selector of the widget (its first match)
    figure: int  # which of its bqplot figures must change
    act: Callable[[NotebookPage, int], None]  # the i-th repetition (alternate to stay in range)
    setup: Callable[[NotebookPage], None] | None = None


def _key(widget: str, label: str) -> Callable[[NotebookPage, int], None]:
    """Press ArrowRight then ArrowLeft alternately on ``widget``'s slider labelled ``label``."""

    def act(nb: NotebookPage, i: int) -> None:
        page = nb.page
        slider = page.locator(widget).first.locator(
            ".widget-slider", has=page.locator(".widget-label", has_text=label)
        )
        slider.locator(".noUi-handle").first.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")

    return act


def _toggle(widget: str, *buttons: str) -> Callable[[NotebookPage, int], None]:
    """Click ``buttons`` in turn (the two choices of a ToggleButtons, or one ToggleButton)."""

    def act(nb: NotebookPage, i: int) -> None:
        button = buttons[i % len(buttons)]
        nb.page.locator(widget).first.get_by_role("button", name=button, exact=True).click()

    return act


def _select(widget: str, menu: str, labels: list[str]) -> Callable[[NotebookPage, int], None]:
    """Choose ``labels`` in turn from the menu whose description is ``menu``."""

    def act(nb: NotebookPage, i: int) -> None:
        select = nb.page.locator(widget).first.locator(".widget-dropdown", has_text=menu)
        select.locator("select").select_option(label=labels[i % len(labels)])

    return act


def _flame_click(nb: NotebookPage, i: int) -> None:
    """Zoom into a frame two levels above the root (boxes are in pre-order), then Reset."""
    flame = nb.page.locator(".labkit-flamegraph").first
    if i % 2:
        flame.get_by_role("button", name="Reset").click()
        return
    box = flame.locator("svg.svg-figure path.line").nth(2).bounding_box()
    nb.page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)


SCHED = ".labkit-schedlab"
# The preset menu's labels, as SchedulerLab builds them.
PRESETS = [f"{key} {preset.title}" for key, preset in schedlab.PRESETS.items()]

INTERACTIONS = [
    Interaction(
        "chapters/00-start-here.ipynb", "PacerWarmup: GOGC key", "body", 0, _key("body", "GOGC")
    ),
    Interaction(
        "chapters/01-render-stalls.ipynb",
        "FrameLab: GOGC key",
        ".labkit-framelab",
        0,
        _key(".labkit-framelab", "GOGC"),
    ),
    Interaction(
        "chapters/01-render-stalls.ipynb",
        "FrameLab: sync.Pool toggle",
        ".labkit-framelab",
        0,
        _toggle(".labkit-framelab", "sync.Pool", "new per frame"),
    ),
    Interaction(
        "chapters/02-scheduler-blind-spots.ipynb",
        "SchedulerLab: GOMAXPROCS key",
        SCHED,
        0,
        _key(SCHED, "GOMAXPROCS"),
    ),
    Interaction(
        "chapters/02-scheduler-blind-spots.ipynb",
        "SchedulerLab: a preset chosen (2.1 .. 2.5 in turn)",
        SCHED,
        0,
        _select(SCHED, "blind spot", PRESETS),
    ),
    Interaction(
        "chapters/02-scheduler-blind-spots.ipynb",
        "SchedulerLab: stall / fix toggle",
        SCHED,
        0,
        _toggle(SCHED, "fix", "stall"),
    ),
    Interaction(
        "chapters/02-scheduler-blind-spots.ipynb",
        "SchedulerLab timeline: per P / per M",
        SCHED,
        0,
        _toggle(SCHED, "per M (thread)", "per P"),
    ),
    Interaction(
        "labs/lab02-scheduler-lab.ipynb",
        "SchedulerLab on preset 2.4 (400 goroutines): GOMAXPROCS key",
        SCHED,
        0,
        _key(SCHED, "GOMAXPROCS"),
    ),
    Interaction(
        "chapters/03-flame-graphs.ipynb",
        "FlameGraph: click to zoom / Reset",
        ".labkit-flamegraph",
        0,
        _flame_click,
    ),
    Interaction(
        "chapters/04-fixes.ipynb",
        "PoolTuner: GOMAXPROCS key (the workers figure: its GOMAXPROCS line moves)",
        ".labkit-pooltuner",
        1,
        _key(".labkit-pooltuner", "GOMAXPROCS"),
    ),
    Interaction(
        "chapters/04-fixes.ipynb",
        "PoolTuner: policy menu (static, per request, adaptive in turn)",
        ".labkit-pooltuner",
        1,
        _select(
            ".labkit-pooltuner",
            "policy",
            ["goroutine per request", "adaptive (watchdog)", "static pool"],
        ),
    ),
    Interaction(
        "chapters/05-case-study.ipynb",
        "IncidentLab: a fix toggled",
        ".labkit-incident",
        0,
        _toggle(".labkit-incident", "1. cache the JSON"),
    ),
]


def measure(nb: NotebookPage, interaction: Interaction, repeat: int) -> list[float]:
    """``repeat`` timings in ms of ``interaction`` on the open, run notebook ``nb``."""
    page = nb.page
    widget = page.locator(interaction.widget).first
    figure = widget.locator(".bqplot svg.svg-figure").nth(interaction.figure)
    figure.scroll_into_view_if_needed()
    times = []
    for i in range(repeat + 1):  # the first is a warm-up (the browser compiles its code paths)
        figure.evaluate(WATCH)
        interaction.act(nb, i)
        try:
            ms = page.evaluate(FINISH)
        except Exception as exc:
            raise RuntimeError(
                f"{interaction.notebook}: {interaction.name} (repetition {i}): figure "
                f"{interaction.figure} of {interaction.widget} did not change: {exc}"
            ) from None
        page.wait_for_timeout(300)  # let the redraw finish before the next one
        if i:
            times.append(ms)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="timings per interaction")
    parser.add_argument(
        "--only", nargs="*", default=[""], help="only notebooks whose path contains one of these"
    )
    opts = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: install Debian's chromium (apt-get install -y chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    chosen = [i for i in INTERACTIONS if any(part in i.notebook for part in opts.only)]
    print(f"load average {os.getloadavg()[0]:.2f}; {opts.repeat} timings per interaction")
    with tempfile.TemporaryDirectory(prefix="labkit-browser-bench-") as tmp:
        base = Path(tmp)
        for folder in NOTEBOOK_DIRS:
            shutil.copytree(ROOT / folder, base / "course" / folder)
        server = LabServer(root=base / "course", state=base / "state").start()
        os.environ["XDG_CONFIG_HOME"] = str(base / "chromium" / "config")
        os.environ["XDG_CACHE_HOME"] = str(base / "chromium" / "cache")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium, headless=True, args=CHROMIUM_ARGS
                )
                rows = _run_all(browser, server, chosen, opts.repeat)
                browser.close()
        finally:
            server.stop()
    print(f"\n| interaction | median | p95 | max |  ({opts.repeat} timings each, ms)")
    print("|---|---|---|---|")
    for notebook, name, times in rows:
        print(
            f"| {Path(notebook).stem}: {name} | {statistics.median(times):.0f} "
            f"| {percentile(times, 0.95):.0f} | {max(times):.0f} |"
        )
    return 0


def _run_all(browser, server: LabServer, chosen: list[Interaction], repeat: int) -> list:
    rows = []
    for notebook in dict.fromkeys(i.notebook for i in chosen):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        nb = NotebookPage(page, server, notebook).open().run_all()
        nb.assert_clean()
        for interaction in (i for i in chosen if i.notebook == notebook):
            times = measure(nb, interaction, repeat)
            rows.append((notebook, interaction.name, times))
            print(f"{notebook}: {interaction.name}: median {statistics.median(times):.0f} ms")
        context.close()
    return rows


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
