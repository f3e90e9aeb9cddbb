"""Sphinx extension for the course website: the home page's course table, and on every notebook
page a "Launch on Binder" link for that very notebook and a link that downloads it.

* ``{course-contents}`` (a directive, used once in index.md) writes the course table, each
  notebook's objectives and the navigation, in course order (:mod:`course_pages`).
* Each notebook page gets, under its title, ``a.course-launch-binder`` (``course.binder_url``:
  the repository URL in pyproject.toml and the notebook's path) and ``a.course-download``, a
  link to the committed notebook, which the build copies beside the page.
"""

from __future__ import annotations

import html
import posixpath
import shutil
import sys
from pathlib import Path

from course_pages import FIELD_GUIDE_DOC, Notebook, course_notebooks, home_markdown
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course import binder_url  # noqa: E402


def _notebooks(app: Sphinx) -> list[Notebook]:
    """The course's notebooks as staged in the source folder, read once per build."""
    if not hasattr(app, "course_notebooks"):
        app.course_notebooks = course_notebooks(Path(app.srcdir))
    return app.course_notebooks


class CourseContents(SphinxDirective):
    """The course table, each notebook's objectives and the navigation, in course order."""

    def run(self) -> list[nodes.Node]:
        notebooks = _notebooks(self.env.app)
        for nb in notebooks:  # the home page is rebuilt when a notebook's first cell changes
            self.env.note_dependency(str(Path(self.env.srcdir) / nb.path))
        container = nodes.container(classes=["course-contents"])
        guide = (Path(self.env.srcdir) / FIELD_GUIDE_DOC).with_suffix(".md").is_file()
        home = home_markdown(notebooks, field_guide=guide)
        text = StringList(home.splitlines(), source="course-contents")
        self.state.nested_parse(text, self.content_offset, container)
        return container.children


def launch_bar(notebook: str) -> str:
    """The HTML of a notebook page's launch and download links (``notebook`` as
    "chapters/01-render-stalls.ipynb"; the page sits beside its copy of the notebook)."""
    name = posixpath.basename(notebook)
    return (
        '<p class="course-launch">'
        f'<a class="course-launch-binder" href="{html.escape(binder_url(notebook))}">'
        "Launch this notebook on Binder</a>"
        f'<a class="course-download" href="{html.escape(name)}" download="{html.escape(name)}">'
        f"Download {html.escape(name)}</a>"
        '<span class="course-launch-note">A static copy: run the notebook to use its widgets.'
        "</span></p>"
    )


def add_launch_bar(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    paths = {nb.docname: nb.path for nb in _notebooks(app)}
    if pagename in paths and "body" in context:
        body, bar = context["body"], launch_bar(paths[pagename])
        title_end = body.find("</h1>")
        at = title_end + len("</h1>") if title_end >= 0 else 0
        context["body"] = body[:at] + bar + body[at:]


def copy_notebooks(app: Sphinx, exception: Exception | None) -> None:
    """Put each committed notebook beside its page, for the download link."""
    if exception is not None or app.builder.format != "html":
        return
    for nb in _notebooks(app):
        target = Path(app.outdir) / nb.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(app.srcdir) / nb.path, target)


def setup(app: Sphinx) -> dict:
    app.add_directive("course-contents", CourseContents)
    app.connect("html-page-context", add_launch_bar)
    app.connect("build-finished", copy_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
