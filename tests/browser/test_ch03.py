"""Chapter 3 and lab 3 in a real JupyterLab: a real Go CPU profile renders as a flame graph, a
click zooms (the rectangles move), a search highlights, and no widget fails."""

from __future__ import annotations

import time

from jlab import record_timing

CHAPTER = "chapters/03-flame-graphs.ipynb"
LAB = "labs/lab03-flame-detective.ipynb"
MATCH_FILL = (
    "rgb(204, 121, 167)"  # labkit.profiles.flamelayout.MATCH_COLOUR, #CC79A7, as the DOM reports it
)


def _fills(flame) -> list[str]:
    return flame.locator("svg.svg-figure path.line").evaluate_all(
        "els => els.map(e => getComputedStyle(e).fill)"
    )


def test_chapter3_flame_graph_renders_zooms_and_searches(open_notebook):
    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    page = nb.page
    flame = page.locator(".labkit-flamegraph").first
    flame.scroll_into_view_if_needed()
    boxes = flame.locator("svg.svg-figure path.line")
    n_boxes = boxes.count()
    assert n_boxes > 20, f"expected the real CPU profile's boxes, found {n_boxes}"
    assert flame.locator("svg.svg-figure text").count() > 5  # labels on the wide boxes
    nb.screenshot("flame", flame)

    # A click on a box zooms: the figure's rectangles move and the breadcrumb grows.
    before = nb.figure_svg(0, within=".labkit-flamegraph")
    target = boxes.nth(2)  # pre-order: all, runtime.main..., a frame two levels up
    box = target.bounding_box()
    t0 = time.monotonic()
    page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)
    took = nb.wait_svg_change(before, 0, within=".labkit-flamegraph")
    nb.wait_for_text(flame.locator(".labkit-summary"), "zoom all >")
    nb.screenshot("flame-zoomed", flame)
    record_timing(CHAPTER, "flame graph click -> zoomed SVG", took, time.monotonic() - t0)

    # Reset (once bqplot's zoom transition has settled), then a search paints the matches and
    # reports the matched share.
    page.wait_for_timeout(800)
    flame.get_by_role("button", name="Reset").click()
    nb.wait_for_text(flame.locator(".labkit-summary"), "zoom all >", absent=True)
    before = nb.figure_svg(0, within=".labkit-flamegraph")
    search = flame.locator(".widget-text", has_text="Search").locator("input")
    search.fill("mallocgc|memclr")
    search.press("Enter")
    nb.wait_svg_change(before, 0, within=".labkit-flamegraph")
    nb.wait_for_text(flame.locator(".labkit-summary"), "matched")
    page.wait_for_timeout(300)
    assert MATCH_FILL in _fills(flame)
    nb.screenshot("flame-search", flame)
    nb.screenshot()
    # The real trace's section: its states over time and its -pprof=sched flame graph.
    flames = page.locator(".labkit-flamegraph")
    page.locator(".jp-Cell").last.scroll_into_view_if_needed()
    for _ in range(50):  # widget views render as their outputs come into view
        if flames.count() == 3:
            break
        page.wait_for_timeout(200)
    assert flames.count() == 3
    sched = flames.nth(2)
    sched.scroll_into_view_if_needed()
    assert sched.locator("svg.svg-figure path.line").count() >= 3
    assert "asyncPreempt2" in sched.inner_text()  # the hogs, waiting after a preemption
    nb.screenshot("trace-sched", sched)
    _chapter_predictions(nb)
    nb.assert_clean()


def _chapter_predictions(nb) -> None:
    """Section 2's prediction draws the searched flame graph only after Check, beside the
    prediction; section 4's draws Go's own trace after a wrong answer, with the timer hint."""
    from labkit.exercises import ch03
    from labkit.exercises.seeded import Exercise

    answer = Exercise(ch03.alloc_gc_share, seed=1).variant.answer
    boxes = ".labkit-flamegraph svg.svg-figure path.line"
    share = nb.predict(
        "Predict: what allocating costs", f"{answer:.0f} %", right=True, figure=boxes
    )
    nb.page.wait_for_timeout(300)
    assert MATCH_FILL in _fills(share.locator(".labkit-flamegraph"))  # the search is applied
    nb.screenshot("predict-alloc-share", share)
    drawn = ".bqplot svg.svg-figure path"
    sleep = nb.predict("Predict: a 4 ms sleep", "4 ms", right=False, figure=drawn)
    assert "(*timers).check" in sleep.inner_text()
    nb.screenshot("predict-trace-sleep", sleep)


def test_lab3_renders_every_flame_graph_and_the_diff(open_notebook):
    """Each case's flame graph is inside its exercise (no table of top functions to match), and
    New variant draws the next case's graph in place."""
    nb = open_notebook(LAB).run_all()
    nb.assert_clean()
    page = nb.page
    flames = page.locator(".labkit-flamegraph")
    page.locator(".jp-Cell").last.scroll_into_view_if_needed()
    for _ in range(50):  # widget views render as their outputs come into view
        if flames.count() == 5:
            break
        page.wait_for_timeout(200)
    # Cases D-G are predictions: their figures wait for Check.
    assert flames.count() == 5, "cases A-C, the real diff, the model diff"
    for i in range(5):
        flames.nth(i).scroll_into_view_if_needed()
        assert flames.nth(i).locator("svg.svg-figure path.line").count() >= 3
    exercise = page.locator(".labkit-exercise").first
    exercise.scroll_into_view_if_needed()
    assert exercise.locator(".labkit-flamegraph").count() == 1
    assert "labkit-solution" not in exercise.inner_html()
    nb.screenshot("case-a", exercise)
    before = exercise.locator(".labkit-summary").inner_text()
    exercise.get_by_role("button", name="New variant").click()
    nb.wait_for_text(exercise.locator(".labkit-summary"), changed_from=before)
    assert exercise.locator(".labkit-flamegraph svg.svg-figure path.line").count() >= 3
    nb.screenshot("case-a-new-variant", exercise)
    diff = page.locator(".labkit-flamegraph", has_text="diff").first
    diff.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    nb.screenshot("diff", diff)

    # A prediction: no flame graph in case E until an answer is checked, then the graph and
    # the prediction beside the profile's total.
    case_e = page.locator(".labkit-exercise", has_text="time spent waiting for a P").first
    case_e.scroll_into_view_if_needed()
    assert case_e.locator(".labkit-flamegraph").count() == 0
    case_e.locator("input[type='text']").fill("1.5 s")
    case_e.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Not quite')", arg=case_e.element_handle())
    page.wait_for_function(
        "el => el.querySelectorAll('.labkit-flamegraph svg.svg-figure path.line').length >= 3",
        arg=case_e.element_handle(),
    )
    nb.wait_for_text(case_e, "You predicted")  # its own message, after the figure
    nb.screenshot("case-e-prediction", case_e)
    # Case G: Go's own trace of a chapter-2 twin, drawn after Check.
    case_g = page.locator(".labkit-exercise", has_text="longest wait for the P").first
    case_g.scroll_into_view_if_needed()
    assert case_g.locator(".bqplot").count() == 0
    case_g.locator("input[type='text']").fill("10 ms")
    case_g.get_by_role("button", name="Check").click()
    page.wait_for_function(
        "el => el.querySelectorAll('.bqplot svg.svg-figure path').length > 0",
        arg=case_g.element_handle(),
    )
    nb.screenshot("case-g-trace", case_g)

    # Case H: a real trace is the evidence, drawn with the question; after Check the stall
    # doctor's view of the same trace, and the worked answer quotes its finding.
    from labkit.exercises import lab03
    from labkit.exercises.seeded import Exercise

    case_h = page.locator(".labkit-exercise", has_text="what made the frames late").first
    case_h.scroll_into_view_if_needed()
    page.wait_for_function(
        "el => el.querySelectorAll('.bqplot svg.svg-figure path').length > 0",
        arg=case_h.element_handle(),
    )
    assert case_h.locator(".bqplot").count() == 2, "the trace's timeline and its states"
    variant = Exercise(lab03.diagnose_trace, seed=1).variant
    label = f"{chr(65 + variant.answer)}. {variant.choices[variant.answer]}"
    case_h.get_by_label(label, exact=True).check()
    assert case_h.locator(".labkit-doctor").count() == 0  # the doctor waits for an answer
    case_h.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Right.')", arg=case_h.element_handle())
    page.wait_for_function(
        "el => el.querySelectorAll('.labkit-doctor .bqplot svg.svg-figure path').length > 0",
        arg=case_h.element_handle(),
    )
    case_h.get_by_role("button", name="Reveal").click()
    page.wait_for_function(
        "el => el.innerText.includes('stall doctor')", arg=case_h.element_handle()
    )
    nb.screenshot("case-h-doctor", case_h)
