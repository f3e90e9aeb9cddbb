"""Chapter 4b (pools and the queueing core) and lab 4 in a real JupyterLab: both run clean, the
pool tuner reacts to its policy menu and to a slider moved with the keyboard, and the comparison
table appears; chapter 4b's pool prediction shows real Go's curves only after Check, and its
hockey stick draws the model's points over the formulas."""

from __future__ import annotations

import time

from jlab import record_timing

CHAPTER = "chapters/04b-pools-and-queueing.ipynb"
LAB = "labs/lab04-pool-tuner.ipynb"
TUNER = ".labkit-pooltuner"


def _exercise_tuner(nb, notebook: str) -> None:
    page = nb.page
    tuner = page.locator(TUNER).first
    tuner.scroll_into_view_if_needed()
    assert tuner.locator(".bqplot").count() == 4
    assert tuner.locator("svg.svg-figure path.line").count() >= 4
    assert "static pool of 4" in nb.summary_text(TUNER)
    rows = tuner.locator(".widget-hbox", has=page.locator(".bqplot"))
    nb.screenshot("tuner-controls", tuner.locator(".widget-hbox").first)
    nb.screenshot("tuner-plots-1", rows.nth(0))

    # The policy menu: choosing "adaptive" re-runs and redraws the worker plot (figure 1).
    before_svg = nb.figure_svg(1, within=TUNER)
    before = nb.summary_text(TUNER)
    t0 = time.monotonic()
    tuner.locator(".widget-dropdown", has_text="policy").locator("select").select_option(
        label="adaptive (watchdog)"
    )
    seconds = nb.wait_svg_change(before_svg, 1, within=TUNER)
    page.wait_for_function(
        "([sel, old]) => document.querySelector(sel + ' .labkit-summary').innerText !== old",
        arg=[TUNER, before],
    )
    assert "adaptive pool 4..inf (start 4)" in nb.summary_text(TUNER)
    assert tuner.locator(".widget-label", has_text="watchdog interval").first.is_visible()
    record_timing(notebook, "policy select -> redrawn worker SVG", seconds, time.monotonic() - t0)

    # A slider with the keyboard: GOMAXPROCS 4 -> 5 redraws the queue plot (figure 0).
    assert nb.slider_value("GOMAXPROCS", nth=0) == "4"
    before_svg = nb.figure_svg(0, within=TUNER)
    before = nb.summary_text(TUNER)
    t0 = time.monotonic()
    nb.press_slider("GOMAXPROCS", "ArrowRight")
    seconds = nb.wait_svg_change(before_svg, 0, within=TUNER)
    page.wait_for_function(
        "([sel, old]) => document.querySelector(sel + ' .labkit-summary').innerText !== old",
        arg=[TUNER, before],
    )
    assert nb.slider_value("GOMAXPROCS", nth=0) == "5"
    assert "GOMAXPROCS=5" in nb.summary_text(TUNER)
    record_timing(
        notebook, "GOMAXPROCS key press -> redrawn queue SVG", seconds, time.monotonic() - t0
    )

    # Compare policies: a table with one row per policy.
    tuner.get_by_role("button", name="Compare policies").click()
    table = tuner.locator("table.labkit-compare")
    table.wait_for()
    text = table.inner_text()
    for name in ("static pool", "goroutine per request", "adaptive (watchdog)"):
        assert name in text
    nb.screenshot("tuner-adaptive-plots-1", rows.nth(0))
    nb.screenshot("tuner-adaptive-plots-2", rows.nth(1))
    nb.screenshot("tuner-compare", table)


def test_chapter_4b_runs_and_the_tuner_reacts(open_notebook):
    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    _exercise_tuner(nb, CHAPTER)
    _pool_prediction(nb)
    _hockey_stick(nb)
    nb.screenshot()
    nb.assert_clean()


def _pool_prediction(nb) -> None:
    """4.4 beside real Go: a wrong choice gets the hint naming sysmon's slice, and real Go's
    latency curves appear only once an answer is checked."""
    from labkit.exercises import ch04b
    from labkit.exercises.seeded import Exercise

    page = nb.page
    choice = page.locator(".labkit-exercise", has_text="Predict: more goroutines than Ps").first
    choice.scroll_into_view_if_needed()
    assert choice.locator(".bqplot").count() == 0
    variant = Exercise(ch04b.pool_prediction, seed=1).variant
    wrong = next(i for i in range(len(variant.choices)) if i != variant.answer)
    choice.get_by_label(f"{chr(65 + wrong)}. {variant.choices[wrong]}", exact=True).check()
    choice.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Not quite')", arg=choice.element_handle())
    page.wait_for_function(
        "el => el.querySelectorAll('.bqplot svg.svg-figure path.line').length >= 4",
        arg=choice.element_handle(),
        timeout=30_000,
    )
    assert "10 ms" in choice.inner_text()  # the hint names sysmon's slice
    nb.screenshot("predict-pool", choice)


def _hockey_stick(nb) -> None:
    """4.5's figure: the model's eight utilisations as dots (mean wait and p99) over the two
    formulas' dashed lines."""
    fig = nb.page.locator(".bqplot", has_text="the hockey stick").first
    fig.scroll_into_view_if_needed()
    assert fig.locator("path.line").count() >= 2
    assert fig.locator("path.dot").count() >= 16
    nb.screenshot("hockey-stick", fig)


def test_lab_4_runs_and_the_exercises_answer(open_notebook):
    nb = open_notebook(LAB).run_all()
    nb.assert_clean()
    page = nb.page
    _exercise_tuner(nb, LAB)

    exercise = page.locator(".labkit-exercise").nth(3)  # the yield question
    exercise.scroll_into_view_if_needed()
    assert "GOMAXPROCS=1" in exercise.inner_text()
    exercise.get_by_role("button", name="Reveal").click()
    page.wait_for_function("el => el.innerText.includes('Answer:')", arg=exercise.element_handle())
    assert "runnext" in exercise.inner_text()
    nb.screenshot("exercise", exercise)
    nb.assert_clean()
