"""Chapter 1b (the frame lab, gctrace, the fixes) and lab 1 in a real JupyterLab: they run clean,
the frame lab renders and reacts, chapter 1b's prediction draws its frame lab only after Check, and
the lab's exercises mark answers. Chapter 1 (the frame budget, the stall, the pacer):
tests/browser/test_ch01.py.

The frame lab must redraw when the learner clicks the pooling toggle and when the GOGC slider is
moved with the keyboard; the time from key press to redrawn SVG is appended to
test-artifacts/browser/timings.jsonl.
"""

from __future__ import annotations

import time

from jlab import record_timing

CHAPTER = "chapters/01b-gctrace-and-buffer-reuse.ipynb"
LAB = "labs/lab01-frame-lab.ipynb"
FRAME_PATHS = ".labkit-framelab .bqplot svg.svg-figure path"  # a frame lab drawn
FRAMELAB = ".labkit-framelab"


def _frame_lab_renders(nb) -> None:
    page = nb.page
    lab = page.locator(FRAMELAB).first
    lab.scroll_into_view_if_needed()
    assert lab.locator(".bqplot").count() == 3
    # The timeline has its frame line, the histogram its bars, the heap plot its sawtooth.
    assert lab.locator(".bqplot").nth(0).locator("svg.svg-figure path.line").count() >= 1
    assert lab.locator(".bqplot").nth(1).locator("g.bargroup rect.bar").count() >= 5
    assert "GC " in nb.summary_text(FRAMELAB) and "seed=0" in nb.summary_text(FRAMELAB)


def test_chapter_1b_runs_and_the_frame_lab_reacts(open_notebook):
    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    page = nb.page
    _frame_lab_renders(nb)
    lab = page.locator(FRAMELAB).first
    nb.screenshot("framelab-stall", lab)
    before = nb.summary_text(FRAMELAB)
    assert "pooled=False" in before and "gomaxprocs=1" in before

    # Click the pooling toggle: the timeline redraws, the summary reports far fewer cycles.
    svg = nb.figure_svg(0, within=FRAMELAB)
    t0 = time.monotonic()
    lab.get_by_role("button", name="sync.Pool").click()
    redraw_s = nb.wait_svg_change(svg, 0, within=FRAMELAB)
    after = nb.wait_summary_change(FRAMELAB, before)
    record_timing(CHAPTER, "pooling toggle click -> redrawn SVG", redraw_s, time.monotonic() - t0)
    assert "pooled=True" in after
    gc_before = float(before.split("/s")[0].removeprefix("GC "))
    gc_after = float(after.split("/s")[0].removeprefix("GC "))
    assert gc_after < gc_before / 5, (before, after)
    page.wait_for_timeout(1200)  # bqplot animates the new data in
    nb.screenshot("framelab-pooled", lab)

    # The GOGC slider with the keyboard: 100 -> 110, a redraw and a new summary.
    assert nb.slider_value("GOGC") == "100"
    text = _gogc_up(nb, CHAPTER)
    assert nb.slider_value("GOGC") == "110" and "gogc=110" in text
    page.wait_for_timeout(1200)
    nb.screenshot("framelab-gogc110", lab)
    _predict_the_gc_with_a_pool(nb)
    nb.screenshot()
    nb.assert_clean()


def test_lab_1_runs_and_its_exercises_answer(open_notebook):
    nb = open_notebook(LAB).run_all()
    nb.assert_clean()
    page = nb.page
    _frame_lab_renders(nb)
    lab = page.locator(FRAMELAB).first

    assert "gogc=110" in _gogc_up(nb, LAB)
    page.wait_for_timeout(1200)
    nb.screenshot("framelab", lab)

    exercises = page.locator(".labkit-exercise")
    assert exercises.count() == 8
    _a_prediction_draws_the_frame_lab_after_check(nb)
    first = exercises.first
    first.scroll_into_view_if_needed()
    box = first.locator("input[type='text']")
    box.fill("0.001")
    first.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Not quite')", arg=first.element_handle())
    assert "labkit-solution" not in first.inner_html()
    first.get_by_role("button", name="Reveal").click()
    page.wait_for_function("el => el.innerText.includes('Answer:')", arg=first.element_handle())
    nb.screenshot("exercise", first)
    nb.screenshot()
    nb.assert_clean()


def _gogc_up(nb, notebook: str) -> str:
    """Press ArrowRight on the frame lab's GOGC slider: the figure redraws (timed) and the
    summary changes; returns the new summary."""
    svg = nb.figure_svg(0, within=FRAMELAB)
    text = nb.summary_text(FRAMELAB)
    t0 = time.monotonic()
    nb.press_slider("GOGC", "ArrowRight")
    redraw_s = nb.wait_svg_change(svg, 0, within=FRAMELAB)
    text = nb.wait_summary_change(FRAMELAB, text)
    record_timing(notebook, "GOGC key press -> redrawn SVG", redraw_s, time.monotonic() - t0)
    return text


def _a_prediction_draws_the_frame_lab_after_check(nb):
    """Lab 1's second-P question (#17 item 1): no frame lab inside the exercise until Check, then
    the run at two Ps beside the learner's prediction, a wrong one's hint naming the worker."""
    from labkit.exercises.lab01 import second_p
    from labkit.exercises.seeded import Exercise

    v = Exercise(second_p, seed=2).variant
    wrong = next(i for i in range(len(v.choices)) if i != v.answer)
    ex = nb.predict("One P or two?", (wrong, v.choices[wrong]), right=False, figure=FRAME_PATHS)
    assert "mark worker" in ex.inner_text()
    assert "gomaxprocs=2" in ex.inner_text()
    nb.screenshot("prediction", ex)


def _predict_the_gc_with_a_pool(nb):
    """Chapter 1b's prediction before the frame lab (#17 item 1): no frame lab inside the exercise
    until Check; a wrong band gets the hint that names what allocated, then the model's run with
    the pool beside the learner's answer. (Last in the test: once drawn, the exercise's frame lab
    is the page's first.)"""
    from labkit.exercises import ch01
    from labkit.exercises.seeded import Exercise

    v = Exercise(ch01.pool_gc_rate, seed=0).variant
    assert v.answer != 0, "seed 0's answer is a band below 'about the same'"
    ex = nb.predict(
        "Predict: the GC with a sync.Pool", (0, v.choices[0]), right=False, figure=FRAME_PATHS
    )
    said = ex.inner_text()
    assert "180 MiB/s" in said  # band A's hint: what allocated, and does it still?
    assert "pooled=True" in said and "gomaxprocs=1" in said, said
    nb.page.wait_for_timeout(1200)
    nb.screenshot("prediction-pool", ex)
