"""The course's notebooks as the website lists them: which pages, in what order, with what title,
time and objectives. Plain Python (no Sphinx), so the site's extension and its tests share it.

The order is the course's: start here, then each chapter followed by its lab, then the appendix
(README.md's table, read row by row). It comes from the notebooks' names alone:
``chapters/NN-<name>.ipynb`` in the order of NN, and ``labs/labNN-<name>.ipynb`` right after
chapter NN. A chapter in parts names its later parts ``NNb-<name>.ipynb``, ``NNc-...``: they
follow part NN, and lab NN follows the last part. Title, time and objectives come from each notebook's first cell, which states them
(``# Title``, ``**Learning objectives.** ...``, ``**Estimated time:** 45 minutes``).
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

CHAPTER_NAME = re.compile(r"^(\d\d)([b-z]?)-[\w-]+\.ipynb$")
LAB_NAME = re.compile(r"^lab(\d\d)-[\w-]+\.ipynb$")
_TITLE = re.compile(r"^#\s+(.+?)\s*$", re.MULTILINE)
_TIME = re.compile(r"\*\*Estimated time:\*\*\s*(\d+(?:\s*[-–]\s*\d+)?)\s*min")
_OBJECTIVES = re.compile(
    r"\*\*Learning objectives\.?\*\*\s*(.*?)\s*(?=\*\*Estimated time:|\Z)", re.S
)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


class CourseLayoutError(ValueError):
    """A notebook the site cannot place or describe: says which file and what to change."""


@dataclass(frozen=True)
class Notebook:
    """One notebook page: its path in the repository and what its first cell states."""

    path: str  # "chapters/01-render-stalls.ipynb", relative to the repository root
    title: str
    time: str | None  # "45 min", "50-60 min"; None when the first cell states no time
    objectives: str | None  # Markdown, links made relative to the repository root

    @property
    def docname(self) -> str:
        """Sphinx's name for the page: the path without ``.ipynb``."""
        return self.path.removesuffix(".ipynb")

    @property
    def number(self) -> int:
        name = posixpath.basename(self.path)
        match = CHAPTER_NAME.match(name) or LAB_NAME.match(name)
        assert match, name  # course_notebooks only makes Notebooks from names that match
        return int(match.group(1))

    @property
    def part(self) -> str:
        """A chapter's part after its first: "b" for ``04b-...``; "" for the first and labs."""
        match = CHAPTER_NAME.match(posixpath.basename(self.path))
        return match.group(2) if match else ""


@dataclass(frozen=True)
class Row:
    """A row of the course table: a chapter and the lab that follows it, if any."""

    label: str  # "0" ... "5", "4b" for a chapter's second part, "A" for the appendix (README.md)
    chapter: Notebook
    lab: Notebook | None


def read_notebook(root: Path, path: str) -> Notebook:
    """The title, time and objectives that ``path``'s first (Markdown) cell states."""
    cells = json.loads((root / path).read_text(encoding="utf-8")).get("cells", [])
    first = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
    title = _TITLE.search(first)
    if title is None:
        raise CourseLayoutError(
            f"{path}: its first cell has no '# Title' line; the site names the page after it. "
            "Start the notebook with a Markdown cell whose first line is '# <title>'."
        )
    time = _TIME.search(first)
    minutes = re.sub(r"\s*[-–]\s*", "-", time.group(1)) if time else None
    objectives = _OBJECTIVES.search(first)
    return Notebook(
        path=path,
        title=title.group(1),
        time=f"{minutes} min" if minutes else None,
        objectives=_rebase_links(objectives.group(1), path) if objectives else None,
    )


def _rebase_links(markdown: str, path: str) -> str:
    """Make the relative links of text taken from notebook ``path`` relative to the root."""

    def rebase(match: re.Match[str]) -> str:
        target = match.group(1)
        if re.match(r"^([a-z]+:|#|/)", target):
            return match.group(0)
        return f"]({posixpath.normpath(posixpath.join(posixpath.dirname(path), target))})"

    return _LINK.sub(rebase, markdown)


def course_notebooks(root: Path) -> list[Notebook]:
    """Every notebook of ``root``'s chapters/ and labs/, in the course's order."""
    chapters = _numbered(root, "chapters", CHAPTER_NAME)
    labs = {number: path for (number, _), path in _numbered(root, "labs", LAB_NAME).items()}
    numbers = {number for number, _ in chapters}
    for number, path in labs.items():
        if number not in numbers:
            raise CourseLayoutError(
                f"{path}: lab {number:02d} has no chapter chapters/{number:02d}-*.ipynb to "
                "follow; a lab comes after the chapter with its number."
            )
    for number, part in chapters:
        if part and (number, "") not in chapters:
            raise CourseLayoutError(
                f"{chapters[number, part]}: part {number:02d}{part} has no first part "
                f"chapters/{number:02d}-*.ipynb to follow."
            )
    order = []
    for number, part in sorted(chapters):
        order.append(chapters[number, part])
        last = max(p for n, p in chapters if n == number)
        if part == last and number in labs:
            order.append(labs[number])
    return [read_notebook(root, path) for path in order]


def _numbered(root: Path, folder: str, pattern: re.Pattern[str]) -> dict[tuple[int, str], str]:
    """Each notebook of ``folder`` by (number, part): (4, "") for 04-..., (4, "b") for 04b-..."""
    found: dict[tuple[int, str], str] = {}
    for file in sorted((root / folder).glob("*.ipynb")):
        match = pattern.match(file.name)
        if match is None:
            raise CourseLayoutError(
                f"{folder}/{file.name}: the site orders notebooks by name and cannot place this "
                f"one; name it like {pattern.pattern!r}."
            )
        key = (int(match.group(1)), match.group(2) if pattern.groups > 1 else "")
        if key in found:
            raise CourseLayoutError(
                f"{folder}/{file.name} and {found[key]} share the number {key[0]:02d}{key[1]}; "
                "give each its own."
            )
        found[key] = f"{folder}/{file.name}"
    return found


def course_rows(notebooks: list[Notebook]) -> list[Row]:
    """The course table, one row per chapter with the lab that follows it."""
    rows: list[Row] = []
    for nb in notebooks:
        if nb.path.startswith("labs/"):
            rows[-1] = Row(rows[-1].label, rows[-1].chapter, nb)
            continue
        label = "A" if nb.title.lower().startswith("appendix") else f"{nb.number}{nb.part}"
        rows.append(Row(label, nb, None))
    return rows


def _cell(nb: Notebook | None) -> str:
    return f"[{nb.title}]({nb.path})".replace("|", "\\|") if nb else ""


#: The field guide's docname in the staged source (docs/build.py stages it when it exists).
FIELD_GUIDE_DOC = "docs/field-guide"


def home_markdown(notebooks: list[Notebook], *, field_guide: bool = False) -> str:
    """The home page's course table, each notebook's objectives, and the (hidden) toctree that
    gives every page its place in the navigation, in course order; with ``field_guide``, a line
    pointing to it and its place at the end of the navigation."""
    lines = [
        f"Start with [{notebooks[0].title}]({notebooks[0].path}); each chapter stands on the "
        "ones before it, and each lab follows its chapter.",
        "",
        "| # | chapter | time | lab | time |",
        "|---|---|---|---|---|",
    ]
    for row in course_rows(notebooks):
        lab_time = (row.lab.time or "") if row.lab else ""
        lines.append(
            f"| {row.label} | {_cell(row.chapter)} | {row.chapter.time or ''} "
            f"| {_cell(row.lab)} | {lab_time} |"
        )
    lines += ["", "## What each notebook teaches", ""]
    for nb in notebooks:
        time = f" ({nb.time})" if nb.time else ""
        lines += [f"**[{nb.title}]({nb.path})**{time}", ""]
        if nb.objectives:
            lines += [nb.objectives, ""]
    if field_guide:
        lines += [
            f"**Take it to work:** [the field guide]({FIELD_GUIDE_DOC}.md), one page on what to "
            "fetch from a stalling Go service, in what order, and what each artefact shows.",
            "",
        ]
    lines += ["```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    lines += [nb.docname for nb in notebooks] + ([FIELD_GUIDE_DOC] if field_guide else [])
    lines += ["```", ""]
    return "\n".join(lines)
