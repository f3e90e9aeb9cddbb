"""The course website's build (``python3 course.py site``, issue #18 item 2): which pages, in
what order, with what the notebooks' first cells state, and a build that fails on any warning.

What the built pages show in a browser (launch and download links, the home page's order, no
warning box, nothing fetched from elsewhere) is tests/browser/test_site_pages.py: it needs the
one Chromium the browser tests share.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
from course_pages import (  # noqa: E402
    CourseLayoutError,
    course_notebooks,
    course_rows,
    home_markdown,
)


def build(out: Path, root: Path = ROOT) -> tuple[subprocess.CompletedProcess, float]:
    """Build the site of ``root``'s notebooks into ``out`` the way ``python3 course.py site``
    does (docs/build.py in the course's Python); the finished process and its seconds."""
    cmd = [sys.executable, str(ROOT / "docs" / "build.py"), "--out", str(out), "--root", str(root)]
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return done, time.monotonic() - start


def readme_order() -> list[str]:
    """The notebooks README.md's course table links, row by row: the course's order."""
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("|")]
    return re.findall(r"\]\(((?:chapters|labs)/[^)]+\.ipynb)\)", "\n".join(rows))


def write_notebook(path: Path, first_cell: str, *more_cells: str) -> None:
    """A minimal committed notebook: Markdown cells, no outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [
        {"cell_type": "markdown", "id": f"cell{i}", "metadata": {}, "source": text}
        for i, text in enumerate((first_cell, *more_cells))
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))


def test_pages_follow_the_readme_table_chapter_then_its_lab():
    """The site orders pages from the notebooks' names; README.md's table is the course's
    order as readers see it. They must agree, or the site's navigation misleads."""
    assert [nb.path for nb in course_notebooks(ROOT)] == readme_order()


def test_title_time_and_objectives_come_from_the_first_cell(tmp_path):
    write_notebook(
        tmp_path / "chapters/00-start.ipynb",
        "# Start here\n\n**Learning objectives.** After this you can\n\n1. read "
        "[the next chapter](01-next.ipynb) and [Go's docs](https://go.dev/doc/);\n\n"
        "**Estimated time:** 50 - 60 minutes (about 10 per part). **Prerequisites:** none.",
    )
    write_notebook(tmp_path / "chapters/01-appendix.ipynb", "# Appendix: real Go\n\nNo time.")
    write_notebook(tmp_path / "labs/lab00-first.ipynb", "# Lab 0\n\n**Estimated time:** 5 min.")
    start, lab, appendix = course_notebooks(tmp_path)
    assert (start.title, start.time, lab.time, appendix.time) == (
        "Start here",
        "50-60 min",
        "5 min",
        None,
    )
    # A link relative to the notebook's folder is made relative to the home page's.
    assert start.objectives == (
        "After this you can\n\n1. read [the next chapter](chapters/01-next.ipynb) "
        "and [Go's docs](https://go.dev/doc/);"
    )
    assert [
        (r.label, r.chapter.path, r.lab and r.lab.path) for r in course_rows([start, lab, appendix])
    ] == [
        ("0", "chapters/00-start.ipynb", "labs/lab00-first.ipynb"),
        ("A", "chapters/01-appendix.ipynb", None),
    ]
    home = home_markdown([start, lab, appendix])
    assert (
        "| 0 | [Start here](chapters/00-start.ipynb) | 50-60 min | [Lab 0](labs/lab00-first.ipynb) | 5 min |"
        in home
    )
    assert home.index("chapters/00-start\n") < home.index("labs/lab00-first\n")  # the toctree


def test_a_chapter_in_parts_is_followed_by_its_other_parts_then_its_lab(tmp_path):
    """Chapter 4 is two notebooks (04-fixes, 04b-pools-and-queueing): the second part follows
    the first, the lab follows the last part, and the table labels the rows 1 and 1b."""
    for path in ("chapters/01-a.ipynb", "chapters/01b-b.ipynb", "chapters/02-c.ipynb"):
        write_notebook(tmp_path / path, f"# {Path(path).stem}\n\n**Estimated time:** 5 min.")
    write_notebook(tmp_path / "labs/lab01-x.ipynb", "# Lab 1")
    notebooks = course_notebooks(tmp_path)
    assert [nb.path for nb in notebooks] == [
        "chapters/01-a.ipynb",
        "chapters/01b-b.ipynb",
        "labs/lab01-x.ipynb",
        "chapters/02-c.ipynb",
    ]
    assert [(r.label, r.lab and r.lab.path) for r in course_rows(notebooks)] == [
        ("1", None),
        ("1b", "labs/lab01-x.ipynb"),
        ("2", None),
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"chapters/01-a.ipynb": "# A", "labs/lab02-b.ipynb": "# B"}, "lab 02 has no chapter"),
        ({"chapters/01b-a.ipynb": "# A"}, "has no first part"),
        (
            {
                "chapters/01-a.ipynb": "# A",
                "chapters/01b-b.ipynb": "# B",
                "chapters/01b-c.ipynb": "# C",
            },
            "share the number 01b",
        ),
        ({"chapters/intro.ipynb": "# Intro"}, "cannot place this one"),
        ({"chapters/01-a.ipynb": "# A", "chapters/01-b.ipynb": "# B"}, "share the number 01"),
        ({"chapters/01-a.ipynb": "Chapter A, no heading"}, "has no '# Title' line"),
    ],
    ids=[
        "lab-without-chapter",
        "part-without-first-part",
        "two-parts-one-name",
        "unnumbered-name",
        "two-chapters-one-number",
        "no-title",
    ],
)
def test_a_notebook_the_site_cannot_place_is_refused_by_name(tmp_path, files, message):
    for path, first_cell in files.items():
        write_notebook(tmp_path / path, first_cell)
    with pytest.raises(CourseLayoutError, match=message) as raised:
        course_notebooks(tmp_path)
    assert re.search(r"(chapters|labs)/\S+\.ipynb", str(raised.value)), "names the notebook"


def test_a_broken_link_between_notebooks_fails_the_build(tmp_path):
    """docs/build.py runs Sphinx with -W: a link to a notebook that is not there is an error,
    not a dead link on the site. The same notebooks with the link mended build."""
    write_notebook(tmp_path / "chapters/00-start.ipynb", "# Start", "Next: [one](01-one.ipynb).")
    write_notebook(tmp_path / "chapters/01-one.ipynb", "# One", "Back to [start](00-start.ipynb).")
    (tmp_path / "labs").mkdir()
    done, _ = build(tmp_path / "ok", root=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    write_notebook(tmp_path / "chapters/01-one.ipynb", "# One", "See [two](02-two.ipynb).")
    done, _ = build(tmp_path / "broken", root=tmp_path)
    assert done.returncode != 0
    assert "02-two" in done.stdout + done.stderr
