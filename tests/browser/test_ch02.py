"""Chapter 2 (the G/M/P primer, 2.1 LockOSThread and 2.2 system calls) in a real JupyterLab: it
runs clean, its plots draw, each blind spot draws the model's timeline above Go's own trace, the
primer's prediction shows the model's run only after Check, and a locked render loop guessed to
cost a P gets the hint naming stoplockedm. Chapter 2b (2.3-2.5, the scheduler lab) and lab 2:
tests/browser/test_ch02b.py, which uses this file's helpers."""

from __future__ import annotations

CHAPTER = "chapters/02-scheduler-blind-spots.ipynb"
DRAWN = ".bqplot svg.svg-figure path"


def shoot_figures(nb, limit: int = 12) -> int:
    """Screenshot every output that holds a bqplot figure (for a human to look at)."""
    outputs = nb.page.locator(".jp-OutputArea-output", has=nb.page.locator(".bqplot"))
    count = min(outputs.count(), limit)
    for i in range(count):
        nb.screenshot(f"figure{i}", outputs.nth(i))
    return count


def check_pairs(nb, count: int) -> None:
    """Every blind spot of the notebook: the model's timeline and Go's own trace, one above the
    other, both drawn."""
    pairs = nb.page.locator(".labkit-timeline-pair")
    assert pairs.count() == count, f"each blind spot shows a model / real-Go pair ({count})"
    for i in range(count):
        pair = pairs.nth(i)
        pair.scroll_into_view_if_needed()
        assert pair.locator(".bqplot").count() == 2, "the pair should draw two timelines"
        assert pair.locator(DRAWN).count() >= 2
        assert "real Go" in pair.inner_text() and "preemptions" in pair.inner_text()
        nb.screenshot(f"timeline-pair{i}", pair)


def test_chapter_2_runs_and_its_timelines_and_predictions_draw(open_notebook):
    from labkit.exercises import ch02
    from labkit.exercises.seeded import Exercise

    nb = open_notebook(CHAPTER).run_all()
    nb.assert_clean()
    drawn = shoot_figures(nb)
    assert drawn >= 4, f"expected the notebook's plots to render, found {drawn}"
    check_pairs(nb, 2)  # 2.1 and 2.2

    answer = Exercise(ch02.run_position, seed=1).variant.answer
    order = nb.predict("Predict: the spawn order", f"{answer:.0f}", right=True, figure=DRAWN)
    nb.screenshot("predict-spawn-order", order)
    one_p = Exercise(ch02.locked_makespan, seed=4).variant.params["one_p_ms"]
    locked = nb.predict("Predict: a locked render loop", f"{one_p:.0f}", right=False, figure=DRAWN)
    assert "stoplockedm" in locked.inner_text()
    nb.screenshot("predict-locked", locked)
    assert nb.page.locator(".labkit-schedlab").count() == 0  # the scheduler lab is chapter 2b's
    nb.screenshot()
    nb.assert_clean()
