#!/usr/bin/env python3
"""Build the course website: ``python3 course.py site`` runs this in the course's venv.

    .venv/bin/python docs/build.py                    # into build/site/
    .venv/bin/python docs/build.py --out /tmp/site    # anywhere else

Stages docs/index.md and the committed notebooks (chapters/, labs/) into a work folder, at the
paths they have in the repository (so each page's Binder link names the notebook's real path),
then runs Sphinx on them with docs/ as its configuration. Nothing is executed and nothing is
downloaded. Any Sphinx warning (a broken link between notebooks, an output it cannot show) fails
the build. The result is a folder of static files: open index.html, or serve the folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
NOTEBOOK_DIRS = ("chapters", "labs")
#: The one page of the course that is not a notebook (docs/field-guide.md).
FIELD_GUIDE = "field-guide.md"


def stage(source: Path, root: Path = ROOT) -> None:
    """Copy index.md, the field guide and the notebooks into ``source``, keeping their times (so a second build
    re-reads only the notebooks that changed) and dropping what the repository no longer has."""
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    shutil.copy2(DOCS / "index.md", source / "index.md")
    guide = root / "docs" / FIELD_GUIDE
    if guide.is_file():  # where the notebooks' links (../docs/field-guide.md) point
        (source / "docs").mkdir()
        shutil.copy2(guide, source / "docs" / FIELD_GUIDE)
    for folder in NOTEBOOK_DIRS:
        (source / folder).mkdir()
        for notebook in sorted((root / folder).glob("*.ipynb")):
            shutil.copy2(notebook, source / folder / notebook.name)


def build_site(out: Path, work: Path, *, root: Path = ROOT, quiet: bool = False) -> int:
    """Build the site of ``root``'s notebooks into ``out`` (staging and Sphinx's caches in
    ``work``); Sphinx's exit code."""
    from sphinx.cmd.build import build_main

    stage(work / "source", root)
    args = ["-b", "html", "-c", str(DOCS), "-d", str(work / "doctrees"), "-W", "--keep-going"]
    if quiet:
        args.append("-q")
    return build_main([*args, str(work / "source"), str(out)])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 course.py site", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "build" / "site", help="default build/site"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="staging and caches (default: OUT's sibling site-work)",
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the repository whose notebooks to build (this one)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    opts = parser.parse_args(argv)
    out = opts.out.resolve()
    work = (opts.work or out.parent / f"{out.name}-work").resolve()
    start = time.monotonic()
    code = build_site(out, work, root=opts.root.resolve(), quiet=opts.quiet)
    if code == 0:
        print(f"Site built in {time.monotonic() - start:.0f} s: {out / 'index.html'}")
    else:
        print(f"The site build failed (Sphinx exit code {code}); see the warnings above.")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
