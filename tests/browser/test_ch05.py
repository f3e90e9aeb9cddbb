"""Chapter 5 and lab 5 in a real JupyterLab: the incident lab renders, toggling a fix through the
UI changes the diagnosis table and the latency plot, and no widget fails."""

from __future__ import annotations

CHAPTER = "chapters/05-case-study.ipynb"
LAB = "labs/lab05-capstone.ipynb"
INCIDENT = ".labkit-incident"


def test_chapter5_incident_lab_reacts_to_the_fixes(open_notebook):
    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    page = nb.page
    lab = page.locator(INCIDENT).first
    lab.scroll_into_view_if_needed()
    table = lab.locator("table.labkit-diagnosis")
    assert table.locator("tr").count() == 6  # header + five layers
    assert lab.locator(".bqplot svg.svg-figure").count() >= 3  # latency, timeline, states
    nb.screenshot("incident", lab)

    # The last cell turned the DB timeout on; turn it off through the UI: "after" becomes the
    # no-fix run, so the table's two columns agree again and the latency plot changes.
    before_svg = nb.figure_svg(0, within=INCIDENT)
    before_table = table.inner_text()
    lab.get_by_role("button", name="3. DB timeout + fallback").click()
    nb.wait_svg_change(before_svg, 0, within=INCIDENT, timeout_ms=30_000)
    nb.wait_for_text(table, changed_from=before_table)
    assert "after (no fix)" in table.inner_text()
    nb.screenshot("incident-nofix", lab)

    # Caching the JSON moves the GC row.
    before_table = table.inner_text()
    lab.get_by_role("button", name="1. cache the JSON").click()
    nb.wait_for_text(table, changed_from=before_table)
    assert "cache_json" in table.inner_text()
    page.wait_for_timeout(1200)  # bqplot animates marks in
    nb.screenshot("incident-cache", lab)

    # Predict first (section 7): no incident lab in the exercise until an answer is checked,
    # then the lab with that fix, its figures drawn.
    from labkit.exercises import ch05
    from labkit.exercises.seeded import Exercise

    exercise = page.locator(".labkit-exercise", has_text="Predict: one fix alone").first
    exercise.scroll_into_view_if_needed()
    assert exercise.locator(INCIDENT).count() == 0
    variant = Exercise(ch05.one_fix_p99, seed=1).variant
    label = f"{chr(65 + variant.answer)}. {variant.choices[variant.answer]}"
    exercise.get_by_label(label, exact=True).check()
    exercise.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Right.')", arg=exercise.element_handle())
    page.wait_for_function(
        "el => el.querySelectorAll('.labkit-incident .bqplot svg.svg-figure').length >= 3",
        arg=exercise.element_handle(),
        timeout=30_000,
    )
    nb.wait_for_text(exercise, "You predicted")  # its own message, after the figure
    nb.screenshot("predict-one-fix", exercise)
    nb.screenshot()
    nb.assert_clean()


def answer_right(page, exercise, title: str):
    """Pick ``exercise``'s right choice in the exercise titled ``title``, press Check and wait
    for "Right."; the exercise's locator."""
    v = exercise.variant
    ex = page.locator(".labkit-exercise", has_text=title).first
    ex.scroll_into_view_if_needed()
    ex.get_by_label(f"{chr(65 + v.answer)}. {v.choices[v.answer]}", exact=True).check()
    ex.get_by_role("button", name="Check").click()
    page.wait_for_function("el => el.innerText.includes('Right.')", arg=ex.element_handle())
    return ex


def test_lab5_renders_evidence_and_exercises(open_notebook):
    nb = open_notebook(LAB).run_all()
    nb.assert_clean()
    page = nb.page
    assert page.locator("table.labkit-diagnosis").count() >= 2  # evidence + the lab widget
    assert page.locator(".labkit-flamegraph").count() >= 3  # model CPU; real CPU, goroutines
    assert page.locator(INCIDENT).count() == 1  # the predictions' labs wait for Check
    assert page.locator(".labkit-exercise").count() == 9  # + the graded change: eight; + real
    assert page.locator(".labkit-fpsstates").count() == 1  # the real mystery's Prometheus
    page.wait_for_timeout(1200)
    nb.screenshot("evidence", page.locator("table.labkit-diagnosis").first)
    nb.screenshot("lab", page.locator(INCIDENT).first)

    # A warm-up prediction (#17 item 1): after Check the incident lab runs the question.
    from labkit.exercises.lab05 import timeout_and_driver
    from labkit.exercises.seeded import Exercise

    ex = answer_right(page, Exercise(timeout_and_driver, seed=0), "A timeout and a driver")
    page.wait_for_function(
        "el => el.querySelectorAll('.labkit-incident .bqplot svg.svg-figure').length > 0",
        arg=ex.element_handle(),
    )
    nb.wait_for_text(ex, "You predicted")  # its own message, after the figure
    assert page.locator(INCIDENT).count() == 2
    nb.screenshot("prediction", ex)
    nb.assert_clean()

    # Real mode (#23 item 5): name the cause, then the stall doctor reads the recorded trace.
    from labkit.exercises.lab05 import real_which_cause

    title = "Which cause? (real service)"
    assert page.locator(".labkit-exercise", has_text=title).locator(".labkit-doctor").count() == 0
    ex = answer_right(page, Exercise(real_which_cause, seed=0), title)  # committed: the doctor
    page.wait_for_function(
        "el => el.querySelectorAll('.labkit-doctor .bqplot svg.svg-figure').length > 0",
        arg=ex.element_handle(),
        timeout=60_000,
    )
    nb.screenshot("real-cause", ex)
    nb.screenshot("real-fps-states", page.locator(".labkit-fpsstates").first)
    nb.assert_clean()
