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
do not count: before the key press or click, MutationObservers are put on the widget's bqplot
figures, and the clock starts at the input event itself (the first keydown, pointerdown, input
or change event the page sees; Playwright's actionability checks before it are not the
learner's wait). Two times are taken: **first**, the first change to the figure the interaction
must redraw (the figure a learner watches), and **all**, the last change to any of the widget's
figures before 400 ms pass without one (every figure redrawn). A change that never comes fails a
listed interaction (a broken widget is not fast).

**Which interactions.** The listed ones below, and every control of the course's lab widgets
(``Controls``): each slider (a key press, alternately right and left, or left at its end), each
menu (the next choice in turn), each toggle, check box and the seed box (the next seed, so a
model that keeps its runs by parameters, as the incident lab does, must run again), found in the
page. A control that redraws nothing in 5 s (say, the "fix" setting while no preset is chosen)
is reported as such, not timed.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from jlab import CHROMIUM_ARGS, NOTEBOOK_DIRS, LabServer, NotebookPage, find_chromium  # noqa: E402

from labkit.scenarios import blindspots  # noqa: E402

sys.path.insert(0, str(ROOT))
from course import LAB_SERVER_ARGS  # noqa: E402

# Starts observing the bqplot figures of ``root`` (a widget's element); ``figure`` is the index
# of the one the interaction must redraw, or -1 for any. The clock starts at the first input
# event after this (or now, if none comes). Resolves with [first, all] in ms: the first change
# of that figure, and the last change of any figure before QUIET_MS without one. The Promise is
# kept in window.__redraw for ``finish``; it rejects after ``timeout`` ms without a change.
WATCH = """(root, [figure, timeout, events]) => {
    const QUIET_MS = 400;
    const figures = [...root.querySelectorAll('.bqplot svg.svg-figure')];
    let t0 = performance.now(), input = false, first = null, last = null, quiet = null;
    const each = figures.map(() => null);
    const start = ev => { if (!input) { input = true; t0 = performance.now(); } };
    events.forEach(e => document.addEventListener(e, start, {capture: true}));
    const observers = [];
    window.__redraw = new Promise((resolve, reject) => {
        const done = () => {
            observers.forEach(o => o.disconnect());
            events.forEach(e => document.removeEventListener(e, start, {capture: true}));
        };
        figures.forEach((svg, i) => {
            const observer = new MutationObserver(() => {
                const t = performance.now() - t0;
                if (first === null && (figure < 0 || i === figure)) first = t;
                last = t;
                each[i] = t;
                clearTimeout(quiet);
                if (first !== null)
                    quiet = setTimeout(() => { done(); resolve([first, last, each]); }, QUIET_MS);
            });
            observer.observe(svg, {subtree: true, childList: true, attributes: true,
                                   characterData: true});
            observers.push(observer);
        });
        setTimeout(() => { if (first === null) { done(); reject(new Error('no redraw')); } },
                   timeout);
    });
}"""
FINISH = "async () => await window.__redraw"
#: The events that start the clock (the first of them after WATCH). A text box sends its value
#: on Enter, so its clock starts at the key press, not when the text is typed.
INPUT_EVENTS = ("keydown", "pointerdown", "mousedown", "input", "change")
ENTER = ("keydown",)


@dataclass(frozen=True)
class Interaction:
    """One thing a learner does to a widget, and the figure it must redraw (-1: any)."""

    notebook: str
    name: str
    widget: str  # CSS selector of the widget (its first match)
    figure: int  # which of its bqplot figures must change first; -1 for any
    act: Callable[[NotebookPage, int], None]  # the i-th repetition (alternate to stay in range)
    clock: tuple[str, ...] = INPUT_EVENTS  # the events that start the clock


@dataclass(frozen=True)
class Controls:
    """Every visible control of a widget, each timed as an interaction of its own (found in the
    page: sliders, menus, toggles, check boxes and the seed box)."""

    notebook: str
    name: str  # the widget's name in the report
    widget: str  # CSS selector of the widget (its first match)


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


def _type(widget: str, box: str, texts: list[str]) -> Callable[[NotebookPage, int], None]:
    """Type ``texts`` in turn into the text box described ``box`` and press Enter."""

    def act(nb: NotebookPage, i: int) -> None:
        field = nb.page.locator(widget).first.locator(".widget-text", has_text=box)
        field.locator("input").fill(texts[i % len(texts)])
        field.locator("input").press("Enter")

    return act


def _flame_click(nb: NotebookPage, i: int) -> None:
    """Zoom into a frame two levels above the root (boxes are in pre-order), then Reset."""
    flame = nb.page.locator(".labkit-flamegraph").first
    if i % 2:
        flame.get_by_role("button", name="Reset").click()
        return
    box = flame.locator("svg.svg-figure path.line").nth(2).bounding_box()
    nb.page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)


# ---- every control of a widget, found in the page ---------------------------------------------
# Lists a widget's visible controls: [kind, label, index among that kind's elements].
FIND_CONTROLS = """root => {
    const visible = el => el.offsetParent !== null && !el.closest('.widget-disabled')
        && !(el.querySelector('input,select,button') || {}).disabled;
    const label = el => ((el.querySelector('.widget-label') || {}).textContent || '').trim();
    const out = [];
    const kinds = {slider: '.widget-slider', menu: '.widget-dropdown',
                   toggles: '.widget-toggle-buttons', toggle: 'button.widget-toggle-button',
                   check: '.widget-checkbox', number: '.widget-text'};
    for (const [kind, selector] of Object.entries(kinds)) {
        root.querySelectorAll(selector).forEach((el, i) => {
            if (!visible(el)) return;
            if (kind === 'number' && !el.querySelector('input[type=number]')) return;
            if (kind === 'toggle' && el.closest('.widget-toggle-buttons')) return;
            const buttons = [...el.querySelectorAll('button')].map(b => b.textContent.trim());
            const text = kind === 'toggle' || kind === 'check' ? el.textContent.trim()
                : label(el) || (kind === 'toggles' ? buttons.join(' / ') : '');
            out.push([kind, text, i]);
        });
    }
    return out;
}"""
SELECTORS = {
    "slider": ".widget-slider",
    "menu": ".widget-dropdown",
    "toggles": ".widget-toggle-buttons",
    "toggle": "button.widget-toggle-button",
    "check": ".widget-checkbox",
    "number": ".widget-text",
}


#: ``--fresh``: a slider keeps moving one way (turning only at its end), so every timing is of
#: a setting the widget has not run yet. By default it steps back and forth between two values,
#: which a widget that keeps its recent runs (the incident lab keeps eight) redraws without
#: running its model again: both are what a learner does, and they cost different things.
FRESH = {"on": False}


def _control_act(widget: str, kind: str, index: int) -> Callable[[NotebookPage, int], None]:
    """The act of one found control (see ``Controls``)."""
    state = {"last": "ArrowLeft"}

    def act(nb: NotebookPage, i: int) -> None:
        el = nb.page.locator(widget).first.locator(SELECTORS[kind]).nth(index)
        if kind == "slider":
            handle = el.locator(".noUi-handle").first
            now, low, high = (
                float(handle.get_attribute(a) or 0)
                for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax")
            )
            key = "ArrowRight" if state["last"] == "ArrowLeft" else "ArrowLeft"
            if FRESH["on"]:
                key = state.get("way", "ArrowRight")
            key = "ArrowLeft" if now >= high else "ArrowRight" if now <= low else key
            state["way"] = key
            state["last"] = key
            handle.press(key)
        elif kind == "menu":
            select = el.locator("select")
            labels = [o for o in select.locator("option").all_inner_texts() if o[:1] != "("]
            current = select.evaluate("s => s.options[s.selectedIndex].text")
            later = labels[(labels.index(current) + 1) % len(labels)] if current in labels else None
            select.select_option(label=later or labels[0])
        elif kind == "toggles":
            buttons = el.locator("button")
            active = buttons.evaluate_all(
                "bs => bs.findIndex(b => b.classList.contains('mod-active'))"
            )
            buttons.nth((active + 1) % buttons.count()).click()
        elif kind == "toggle":
            el.click()
        elif kind == "check":
            el.locator("input").click()
        elif kind == "number":
            box = el.locator("input")
            box.fill(str(int(float(box.input_value() or 0)) + 1))
            box.press("Enter")  # the clock starts here (see ``measure``): the box sends on Enter

    return act


SCHED = ".labkit-schedlab"
INCIDENT = ".labkit-incident"
# The preset menu's labels, as SchedulerLab builds them.
PRESETS = [f"{key} {preset.title}" for key, preset in blindspots.PRESETS.items()]
# A standalone timeline, not the one inside a lab.
TIMELINE = ".labkit-timeline:not(.labkit-schedlab .labkit-timeline)"

INTERACTIONS: list[Interaction | Controls] = [
    Interaction(
        "chapters/00-start-here.ipynb", "PacerWarmup: GOGC key", "body", 0, _key("body", "GOGC")
    ),
    Interaction(
        "chapters/00-start-here.ipynb",
        "PacerWarmup: live heap key",
        "body",
        0,
        _key("body", "live heap"),
    ),
    Interaction(
        "chapters/01b-gctrace-and-buffer-reuse.ipynb",
        "FrameLab: GOGC key",
        ".labkit-framelab",
        0,
        _key(".labkit-framelab", "GOGC"),
    ),
    Interaction(
        "chapters/01b-gctrace-and-buffer-reuse.ipynb",
        "FrameLab: sync.Pool toggle",
        ".labkit-framelab",
        0,
        _toggle(".labkit-framelab", "sync.Pool", "new per frame"),
    ),
    Controls("chapters/01b-gctrace-and-buffer-reuse.ipynb", "FrameLab", ".labkit-framelab"),
    Interaction(
        "chapters/02b-preemption-queues-and-timers.ipynb",
        "SchedulerLab: GOMAXPROCS key",
        SCHED,
        0,
        _key(SCHED, "GOMAXPROCS"),
    ),
    Interaction(
        "chapters/02b-preemption-queues-and-timers.ipynb",
        "SchedulerLab: a preset chosen (2.1 .. 2.5 in turn)",
        SCHED,
        0,
        _select(SCHED, "blind spot", PRESETS),
    ),
    Interaction(
        "chapters/02b-preemption-queues-and-timers.ipynb",
        "SchedulerLab: stall / fix toggle",
        SCHED,
        0,
        _toggle(SCHED, "fix", "stall"),
    ),
    Interaction(
        "chapters/02b-preemption-queues-and-timers.ipynb",
        "SchedulerLab timeline: per P / per M",
        SCHED,
        0,
        _toggle(SCHED, "per M (thread)", "per P"),
    ),
    Controls("chapters/02b-preemption-queues-and-timers.ipynb", "SchedulerLab", SCHED),
    Controls("chapters/02-scheduler-blind-spots.ipynb", "SchedulerTimeline", TIMELINE),
    Controls("chapters/02-scheduler-blind-spots.ipynb", "TimelinePair", ".labkit-timeline-pair"),
    Interaction(
        "labs/lab02-scheduler-lab.ipynb",
        "SchedulerLab on preset 2.4 (400 goroutines): GOMAXPROCS key",
        SCHED,
        0,
        _key(SCHED, "GOMAXPROCS"),
    ),
    Controls("labs/lab02-scheduler-lab.ipynb", "SchedulerLab on preset 2.4", SCHED),
    Interaction(
        "chapters/03-flame-graphs.ipynb",
        "FlameGraph: click to zoom / Reset",
        ".labkit-flamegraph",
        0,
        _flame_click,
    ),
    Interaction(
        "chapters/03-flame-graphs.ipynb",
        "FlameGraph: search typed / cleared",
        ".labkit-flamegraph",
        0,
        _type(".labkit-flamegraph", "Search", ["runtime", ""]),
        ENTER,
    ),
    Interaction(
        "chapters/03-flame-graphs.ipynb",
        "FlameGraph: hide typed / cleared",
        ".labkit-flamegraph",
        0,
        _type(".labkit-flamegraph", "Hide", ["^runtime\\.", ""]),
        ENTER,
    ),
    Controls("chapters/03-flame-graphs.ipynb", "FlameGraph", ".labkit-flamegraph"),
    Interaction(
        "chapters/04b-pools-and-queueing.ipynb",
        "PoolTuner: GOMAXPROCS key (the workers figure: its GOMAXPROCS line moves)",
        ".labkit-pooltuner",
        1,
        _key(".labkit-pooltuner", "GOMAXPROCS"),
    ),
    Interaction(
        "chapters/04b-pools-and-queueing.ipynb",
        "PoolTuner: policy menu (static, per request, adaptive in turn)",
        ".labkit-pooltuner",
        1,
        _select(
            ".labkit-pooltuner",
            "policy",
            ["goroutine per request", "adaptive (watchdog)", "static pool"],
        ),
    ),
    Controls("chapters/04b-pools-and-queueing.ipynb", "PoolTuner", ".labkit-pooltuner"),
    Controls("chapters/04-fixes.ipynb", "TimelinePair", ".labkit-timeline-pair"),
    Interaction(
        "chapters/05-case-study.ipynb",
        "IncidentLab: a fix toggled",
        INCIDENT,
        # The timeline: chapter 5 leaves the DB timeout on, and with it every answer, cached
        # JSON or not, falls in the latency histogram's first bin, which then does not change.
        1,
        _toggle(INCIDENT, "1. cache the JSON"),
    ),
    Controls("chapters/05-case-study.ipynb", "IncidentLab", INCIDENT),
    Controls("chapters/05-case-study.ipynb", "SchedulerTimeline", TIMELINE),
    Controls("chapters/05-case-study.ipynb", "FlameGraph", ".labkit-flamegraph"),
]


def measure(
    nb: NotebookPage, interaction: Interaction, repeat: int, timeout_ms: int = 15_000
) -> list[tuple[float, float, list]] | None:
    """``repeat`` timings (first, all, each figure's last change) in ms of ``interaction`` on the
    open, run notebook ``nb``;
    None when a found control redraws nothing (``timeout_ms`` 5 s for those)."""
    page = nb.page
    widget = page.locator(interaction.widget).first
    widget.locator(".bqplot svg.svg-figure").nth(
        max(interaction.figure, 0)
    ).scroll_into_view_if_needed()
    times = []
    for i in range(repeat + 1):  # the first is a warm-up (the browser compiles its code paths)
        widget.evaluate(WATCH, [interaction.figure, timeout_ms, list(interaction.clock)])
        interaction.act(nb, i)
        try:
            first, last, each = page.evaluate(FINISH)
        except Exception as exc:
            if timeout_ms < 15_000:
                return None
            raise RuntimeError(
                f"{interaction.notebook}: {interaction.name} (repetition {i}): figure "
                f"{interaction.figure} of {interaction.widget} did not change: {exc}"
            ) from None
        if i:
            times.append((first, last, each))
    return times


def _found(nb: NotebookPage, controls: Controls) -> list[Interaction]:
    """The interactions of every visible control of ``controls.widget`` (see FIND_CONTROLS)."""
    root = nb.page.locator(controls.widget).first
    if not root.count():
        raise RuntimeError(f"{controls.notebook}: no {controls.widget} on the page")
    out = []
    for kind, label, index in root.evaluate(FIND_CONTROLS):
        what = {"slider": "key", "menu": "menu, next choice", "toggles": "next choice",
                "toggle": "toggled", "check": "ticked / unticked", "number": "next value"}[kind]  # fmt: skip
        name = f"{controls.name}: {label or kind} ({what})"
        act = _control_act(controls.widget, kind, index)
        clock = ENTER if kind == "number" else INPUT_EVENTS
        out.append(Interaction(controls.notebook, name, controls.widget, -1, act, clock))
    return out


def _per_figure(times: list) -> str:
    """The median last change of each of the widget's figures, in page order ("-": unchanged),
    e.g. "45 / 98 / - / 130": which figure makes a redraw late."""
    shown = []
    for k in range(len(times[0][2])):
        changed = [t[2][k] for t in times if t[2][k] is not None]
        shown.append(f"{statistics.median(changed):.0f}" if changed else "-")
    return " / ".join(shown) + " ms"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


#: ``--nagle``: start JupyterLab without the course's server setting, as a plain ``jupyter lab``
#: would (labkit/serving.py; benchmarks/README.md, "Sixth pass").
PLAIN = {"on": False}


class PlainLabServer(LabServer):
    """JupyterLab without course.py's LAB_SERVER_ARGS: jupyter_server's own kernel WebSocket."""

    def command(self) -> list[str]:
        return [c for c in super().command() if c not in LAB_SERVER_ARGS]


@contextmanager
def lab_and_browser(prefix: str) -> Iterator[tuple[LabServer, Any]]:
    """A JupyterLab started as ``python3 course.py lab`` starts it, over a copy of the notebooks
    in a temporary folder (nothing done can save over a committed notebook), and Debian's
    headless Chromium with its config and cache in that folder; both stopped at the end."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        base = Path(tmp)
        for folder in NOTEBOOK_DIRS:
            shutil.copytree(ROOT / folder, base / "course" / folder)
        kind = PlainLabServer if PLAIN["on"] else LabServer
        server = kind(root=base / "course", state=base / "state").start()
        os.environ["XDG_CONFIG_HOME"] = str(base / "chromium" / "config")
        os.environ["XDG_CACHE_HOME"] = str(base / "chromium" / "cache")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS
                )
                try:
                    yield server, browser
                finally:
                    browser.close()
        finally:
            server.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="timings per interaction")
    parser.add_argument("--nagle", action="store_true", help="without labkit/serving.py")
    parser.add_argument(
        "--only", nargs="*", default=[""], help="only notebooks whose path contains one of these"
    )
    parser.add_argument(
        "--listed", action="store_true", help="only the listed interactions, not every control"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="sliders move one way: every setting a new one"
    )
    opts = parser.parse_args(argv)
    FRESH["on"] = opts.fresh
    PLAIN["on"] = opts.nagle
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: install Debian's chromium (apt-get install -y chromium)")
        return 2

    chosen = [
        i
        for i in INTERACTIONS
        if any(part in i.notebook for part in opts.only)
        and not (opts.listed and isinstance(i, Controls))
    ]
    print(f"load average {os.getloadavg()[0]:.2f}; {opts.repeat} timings per interaction")
    with lab_and_browser("labkit-browser-bench-") as (server, browser):
        rows = _run_all(browser, server, chosen, opts.repeat)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end; {opts.repeat} timings each, ms")
    print("| interaction | first: median | p95 | all figures: median | p95 |")
    print("|---|---|---|---|---|")
    for notebook, name, times in rows:
        if times is None:
            print(f"| {Path(notebook).stem}: {name} | (no redraw) | | | |")
            continue
        first, last = [t[0] for t in times], [t[1] for t in times]
        print(
            f"| {Path(notebook).stem}: {name} | {statistics.median(first):.0f} "
            f"| {percentile(first, 0.95):.0f} | {statistics.median(last):.0f} "
            f"| {percentile(last, 0.95):.0f} |"
        )
    return 0


def _run_all(browser, server: LabServer, chosen: list, repeat: int) -> list:
    rows = []
    for notebook in dict.fromkeys(i.notebook for i in chosen):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        nb = NotebookPage(page, server, notebook).open().run_all()
        nb.assert_clean()
        for item in (i for i in chosen if i.notebook == notebook):
            found = isinstance(item, Controls)
            for interaction in _found(nb, item) if found else [item]:
                times = measure(nb, interaction, repeat, 5_000 if found else 15_000)
                rows.append((notebook, interaction.name, times))
                shown = "no redraw" if times is None else (
                    f"first {statistics.median(t[0] for t in times):.0f} ms "
                    f"(p95 {percentile([t[0] for t in times], 0.95):.0f}), "
                    f"all {statistics.median(t[1] for t in times):.0f} ms "
                    f"(p95 {percentile([t[1] for t in times], 0.95):.0f}); each figure's "
                    f"last change {_per_figure(times)}"
                )  # fmt: skip
                print(f"{notebook}: {interaction.name}: {shown}", flush=True)
        context.close()
    return rows


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
