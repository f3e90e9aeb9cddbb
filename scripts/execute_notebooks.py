#!/usr/bin/env python3
"""Re-execute the course's notebooks in place, so they are committed with their outputs.

    .venv/bin/python scripts/execute_notebooks.py                 # every chapter and lab
    .venv/bin/python scripts/execute_notebooks.py chapters/00-start-here.ipynb

Runs each notebook top to bottom in a fresh kernel (as a reader after "Restart and run all"),
from the notebook's own folder, with all Jupyter/IPython state under .state/. Widget state is not
embedded (metadata.widgets is dropped) so the files stay small; the widget-view outputs remain
and render when the notebook is run, and each figure widget's output also carries its still (an
SVG of what it drew, labkit/widgets/picture.py), which GitHub, nbviewer and the website show. Prints each kernel's peak memory (the course promises
under 1 GB, for Binder).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course import course_env  # noqa: E402

PEAK_RSS = """
import resource as _r
print(_r.getrusage(_r.RUSAGE_SELF).ru_maxrss // 1024)
"""


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.monotonic()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        probe = nbformat.v4.new_code_cell(PEAK_RSS)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1, store_history=False)
        nb.cells.pop()
        peak_mib = "".join(o.get("text", "") for o in probe.outputs).strip()
    nb.metadata.pop("widgets", None)
    # A cell's prints arrive as one stream output or several, depending on when the kernel's
    # IOPub thread flushed them; merged, the same run gives the same file.
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nbformat.write(nb, path)
    print(
        f"{path.relative_to(ROOT)}: {time.monotonic() - start:.1f} s, kernel peak RSS "
        f"{peak_mib} MiB"
    )


def main(argv: list[str]) -> int:
    os.environ.update(course_env())
    paths = [Path(a).resolve() for a in argv] or sorted(
        [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("labs/*.ipynb")]
    )
    for path in paths:
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
