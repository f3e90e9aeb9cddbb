"""The real-Go appendix runs top to bottom in JupyterLab and shows the fidelity table."""

from __future__ import annotations


def test_appendix_runs_and_shows_the_table(open_notebook):
    nb = open_notebook("chapters/06-appendix-real-go.ipynb").run_all()
    nb.assert_clean()
    text = "\n".join(nb.page.locator(".jp-OutputArea").all_inner_texts())
    assert "rows agree" in text and "DIFFER" not in text
    assert "real results from:" in text
    nb.screenshot()
