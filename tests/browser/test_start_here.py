"""The start page in a real JupyterLab: it runs, its widgets render and react, the exercise answers."""

from __future__ import annotations

import time

import pytest
from jlab import record_timing

NOTEBOOK = "chapters/00-start-here.ipynb"


def test_start_here_runs_renders_and_reacts(open_notebook):
    nb = open_notebook(NOTEBOOK).run_all()
    nb.assert_clean()
    page = nb.page

    # The warm-up figure rendered a curve.
    figure = page.locator(".bqplot").first
    figure.scroll_into_view_if_needed()
    assert page.locator(".bqplot svg.svg-figure path.line").count() >= 1
    nb.screenshot("warmup", figure.locator("xpath=../.."))

    # Moving the GOGC slider with the keyboard redraws the curve and updates the summary.
    before_svg = nb.figure_svg(0)
    before_text = page.locator(".labkit-summary").first.inner_text()
    assert nb.slider_value("GOGC") == "100"
    t0 = time.monotonic()
    nb.press_slider("GOGC", "ArrowRight")
    redraw_s = nb.wait_svg_change(before_svg, 0)
    page.wait_for_function(
        "old => document.querySelector('.labkit-summary').innerText !== old", arg=before_text
    )
    assert nb.slider_value("GOGC") == "125"
    assert "GOGC=125" in page.locator(".labkit-summary").first.inner_text()
    record_timing(NOTEBOOK, "GOGC key press -> redrawn SVG", redraw_s, time.monotonic() - t0)

    # The first exercise: a wrong answer is marked wrong, the right one right; Reveal shows why.
    exercise = page.locator(".labkit-exercise").first
    exercise.scroll_into_view_if_needed()
    question = exercise.inner_text()
    assert "1024x768" in question or "x" in question
    box = exercise.locator("input[type='text']")
    box.fill("1")
    exercise.get_by_role("button", name="Check").click()
    page.wait_for_function(
        "el => el.innerText.includes('Not quite')", arg=exercise.element_handle()
    )
    right = _frame_mib_from_question(question)
    box.fill(f"{right:.2f}")
    exercise.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Right.')", arg=exercise.element_handle())
    assert "labkit-solution" not in exercise.inner_html()
    exercise.get_by_role("button", name="Reveal").click()
    page.wait_for_function("el => el.innerText.includes('Answer:')", arg=exercise.element_handle())
    nb.screenshot("exercise", exercise)
    nb.screenshot()
    nb.assert_clean()


def _frame_mib_from_question(text: str) -> float:
    import re

    w, h = map(int, re.search(r"(\d+)x(\d+) pixels", text).groups())
    return w * h * 4 / 2**20


def test_a_broken_widget_is_caught(open_notebook):
    """The error check is real: a widget whose front-end module is missing fails it."""
    nb = open_notebook("tests/data/notebooks/broken-widget.ipynb").run_all()
    nb.page.wait_for_timeout(1000)
    errors = nb.widget_errors()
    nb.screenshot()
    assert errors, "a widget with a missing front-end module must be reported"
    assert any("labkit-no-such-module" in e or "javascript error" in e for e in errors), errors


def test_a_cell_that_raises_is_caught(open_notebook):
    """The check for exceptions is real: a cell that raises fails assert_clean, and run_all
    returns (the kernel aborted the cells after it) instead of waiting for them."""
    nb = open_notebook("tests/data/notebooks/raising-cell.ipynb").run_all(timeout_ms=60_000)
    raised = nb.cell_errors()
    assert raised == ["cell 2: FileNotFoundError: ../tests/data/missing.json"], raised
    with pytest.raises(AssertionError, match="cells raised"):
        nb.assert_clean()
