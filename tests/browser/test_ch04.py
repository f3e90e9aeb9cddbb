"""Chapter 4 (pipelines, yielding, isolation) in a real JupyterLab: it runs clean, the
pipeline's queue plot draws a line per channel, the model's timeline and Go's own trace draw
side by side, and the pipeline prediction shows its figure only after Check. Chapter 4b (the
pool tuner, the pool beside real Go) and lab 4: tests/browser/test_ch04b.py."""

from __future__ import annotations

CHAPTER = "chapters/04-fixes.ipynb"


def test_chapter_4_runs_and_the_real_go_pipeline_draws(open_notebook):
    from labkit.exercises import ch04
    from labkit.exercises.seeded import Exercise

    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    page = nb.page
    # The pipeline's queue plot drew one line per channel.
    first = page.locator(".bqplot").first
    first.scroll_into_view_if_needed()
    assert first.locator("path.line").count() >= 1
    nb.screenshot("pipeline", first.locator("xpath=.."))

    pair = page.locator(".labkit-timeline-pair").first
    pair.scroll_into_view_if_needed()
    assert pair.locator(".bqplot").count() == 2, "the model's timeline above Go's own"
    assert pair.locator(".bqplot svg.svg-figure path").count() >= 2
    assert "real Go" in pair.inner_text() and "draw" in pair.inner_text()
    nb.screenshot("pipeline-pair", pair)

    answer = Exercise(ch04.pipeline_prediction, seed=2).variant.answer
    numeric = nb.predict(
        "Predict: real Go's pipeline",
        f"{answer:.0f}",
        right=True,
        figure=".labkit-timeline-pair .bqplot svg.svg-figure path",
    )
    nb.screenshot("predict-pipeline", numeric)
    assert page.locator(".labkit-pooltuner").count() == 0  # the tuner is chapter 4b's
    nb.screenshot()
    nb.assert_clean()
