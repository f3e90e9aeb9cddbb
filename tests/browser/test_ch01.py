"""Chapter 1 (the frame budget, where a frame's time goes, the pacer) in a real JupyterLab: it
runs clean, and section 2's model / real-Go pair draws the model's frames above real Go's and Go's
own trace of who held the P, whose timeline redraws per thread when the learner asks. Chapter 1b
(the frame lab, gctrace, the fixes) and lab 1: tests/browser/test_ch01b.py.
"""

from __future__ import annotations

import time

from jlab import record_timing

CHAPTER = "chapters/01-render-stalls.ipynb"
PAIR = ".labkit-frame-trace-pair"
TIMELINE = f"{PAIR} .labkit-timeline"


def test_chapter_1_runs_and_its_frames_and_trace_draw(open_notebook):
    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    page = nb.page
    pair = page.locator(PAIR)
    assert pair.count() == 1, "section 2 shows one model / real-Go pair"
    pair.scroll_into_view_if_needed()
    assert pair.locator(".bqplot").count() == 3  # the model's frames, real Go's, the trace
    for i in range(3):
        assert pair.locator(".bqplot").nth(i).locator("svg.svg-figure path").count() >= 1, i
    text = pair.inner_text()
    assert "The model" in text and "Real Go" in text and "who held the P" in text
    nb.screenshot("frame-trace-pair", pair)

    # The trace's rows per thread: the timeline redraws, and back per P.
    svg = nb.figure_svg(0, within=TIMELINE)
    t0 = time.monotonic()
    page.locator(TIMELINE).get_by_role("button", name="per M (thread)").click()
    redraw_s = nb.wait_svg_change(svg, 0, within=TIMELINE)
    record_timing(
        CHAPTER, "trace timeline per M click -> redrawn SVG", redraw_s, time.monotonic() - t0
    )
    page.wait_for_timeout(1200)  # bqplot animates the new data in
    nb.screenshot("frame-trace-per-m", pair)
    svg = nb.figure_svg(0, within=TIMELINE)
    page.locator(TIMELINE).get_by_role("button", name="per P").click()
    nb.wait_svg_change(svg, 0, within=TIMELINE)

    assert page.locator(".labkit-framelab").count() == 0  # the frame lab is chapter 1b's
    nb.screenshot()
    _predict_what_makes_a_frame_late(nb)
    nb.assert_clean()


def _predict_what_makes_a_frame_late(nb):
    """Section 2's prediction (#17 item 1): nothing drawn inside the exercise until Check; a wrong
    part gets its hint, then the frame model's run of the question's settings appears in a frame
    lab beside the learner's answer."""
    from labkit.exercises import ch01
    from labkit.exercises.seeded import Exercise

    v = Exercise(ch01.late_frame_part, seed=0).variant
    stw = next(i for i, text in enumerate(v.choices) if text.startswith("STW"))
    assert v.answer != stw, "seed 0's answer is not the STW pauses"
    ex = nb.predict(
        "Predict: what makes a late frame late",
        (stw, v.choices[stw]),
        right=False,
        figure=".labkit-framelab .bqplot svg.svg-figure path",
    )
    said = ex.inner_text()
    assert "tens of microseconds" in said  # the STW choice's hint
    assert "gomaxprocs=1" in said, said
    nb.page.wait_for_timeout(1200)
    nb.screenshot("prediction-late-frame", ex)
