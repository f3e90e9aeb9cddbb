"""Sphinx configuration of the course website: ``python3 course.py site`` (docs/build.py) runs
Sphinx with this folder as its configuration and a staged copy of index.md and the committed
notebooks as its source. Why Sphinx + myst-nb + furo, and what the site fetches at view time:
docs/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

project = "Go scheduler stalls"
author = "the course's authors"
copyright = "the course's authors, MIT licence"  # noqa: A001 - Sphinx's name for it
extensions = ["myst_nb", "coursesite"]
root_doc = "index"
exclude_patterns = ["**.ipynb_checkpoints"]

# The committed notebooks as they are: never executed at build time.
nb_execution_mode = "off"
# A widget's output is drawn from its static parts (a picture when the notebook carries one, its
# text summary otherwise), never from the widget view, which would need the ipywidgets
# HTML manager and require.js from a CDN, and a widget state the notebooks do not save.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/javascript", None),
]
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
myst_enable_extensions = ["dollarmath"]  # the notebooks' $...$ and $$...$$ formulas
# The notebooks' text as JupyterLab shows it: no curly quotes, no "--" turned into a dash.
smartquotes = False

html_theme = "furo"
html_title = "Go scheduler stalls"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False  # the notebooks themselves are copied beside their pages
html_show_sourcelink = False
# A warning stays on its page as a box (the site's test looks for them) as well as failing
# the build (docs/build.py runs Sphinx with -W).
keep_warnings = True
# Pygments' PromQL lexer stops at durations such as [1000ms] (the field guide's queries are the
# runner's own, checked by tests/test_field_guide.py) and retries in relaxed mode, which renders
# them fine: not a defect of the page.
suppress_warnings = ["misc.highlighting_failure"]
