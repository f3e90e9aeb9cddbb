"""The real-Go appendix runs top to bottom in JupyterLab and shows the fidelity table."""

from __future__ import annotations

import re


def test_appendix_runs_and_shows_the_table(open_notebook):
    nb = open_notebook("chapters/06-appendix-real-go.ipynb").run_all()
    nb.assert_clean()
    text = "\n".join(nb.page.locator(".jp-OutputArea").all_inner_texts())
    assert "rows agree" in text
    assert "real results from:" in text
    # The recorded table's DIFFER rows are the known differences, and the notebook explains each
    # one ("why: ..."); a row that differs without an explanation would show as one DIFFER more.
    table = text.split("rows agree", 1)[0]
    differ = re.findall(r"^DIFFER\s", table, flags=re.M)
    why = re.findall(r"^\s*why: \S", text, flags=re.M)
    assert differ, "the recorded table shows its known differences"
    assert len(differ) == len(why), (len(differ), len(why))
    # The twins' table: every DIFFER row is followed by its reason.
    twins = re.findall(r"^\d\.\d .*DIFFER$", text, flags=re.M)
    reasons = re.findall(r"^\s*reason: \S", text, flags=re.M)
    assert twins and len(twins) == len(reasons), (len(twins), len(reasons))
    nb.screenshot()
