"""Chapter 5b in a real JupyterLab (drawing the recorded runs: LABKIT_SERVICES=recorded, see
jlab.py): every cell runs clean, each progress bar is full, the goroutine profile's flame graph
and the render loop's frame rate over goroutine states are drawn, and the stall doctor on the
real trace zooms to another finding when one is chosen."""

from __future__ import annotations

CHAPTER = "chapters/05b-real-service.ipynb"
DOCTOR = ".labkit-doctor"


def test_chapter5b_draws_the_real_runs_evidence(open_notebook):
    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    page = nb.page

    bars = page.locator(".labkit-runprogress")
    assert bars.count() == 3
    for i in range(3):
        assert (
            "recorded run loaded" in bars.nth(i).inner_text() or "done" in bars.nth(i).inner_text()
        )

    flame = page.locator(".labkit-flamegraph").first
    flame.scroll_into_view_if_needed()
    assert flame.locator("svg.svg-figure rect, svg.svg-figure path").count() > 20
    nb.screenshot("goroutine-flame", flame)

    fps = page.locator(".labkit-fpsstates").first
    fps.scroll_into_view_if_needed()
    assert fps.locator("svg.svg-figure path.line").count() == 5  # fps and four states
    nb.screenshot("fps-states", fps)

    doctor = page.locator(DOCTOR).first
    doctor.scroll_into_view_if_needed()
    assert doctor.locator(".bqplot svg.svg-figure path").count() > 0
    assert (
        "select" in doctor.locator("select").first.input_value() or "select" in doctor.inner_text()
    )
    nb.screenshot("doctor", doctor)
    before_svg = nb.figure_svg(0, within=DOCTOR)
    before_text = doctor.inner_text()
    doctor.locator("select").first.select_option(index=1)  # the second finding: zoom to it
    nb.wait_svg_change(before_svg, 0, within=DOCTOR, timeout_ms=30_000)
    nb.wait_for_text(doctor, changed_from=before_text)
    nb.screenshot("doctor-second-finding", doctor)
