"""The course website in a browser (issue #18 items 2-3): the site is built once per session
from the committed notebooks (``python3 course.py site``'s docs/build.py), served over HTTP from
a subfolder as a static host would serve it, and read in headless Chromium.

What a reader must get: a page for every notebook of chapters/ and labs/; on each, a link that
launches that very notebook on Binder (its URL built from pyproject.toml's repository URL and the
notebook's path) and a link that downloads the committed notebook; a home page that lists the
pages in the course's order (README.md's table, row by row); and no page with a Sphinx warning
box, a broken image, or anything fetched from outside the site but MathJax (docs/README.md: it
typesets the few formulas, and those pages read without it).

Each check is a function that returns what is wrong. ``test_each_check_fails_on_a_site_broken
_for_it`` feeds every one a copy of the real site broken the way it looks for.

This file lives with the browser tests because Playwright's sync API runs once per process:
they share conftest.py's one Chromium.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from test_site import build, readme_order

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "site"
NOTEBOOKS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("labs/*.ipynb")]
)
# Sphinx's MathJax, on the pages that have formulas; they read without it (docs/README.md).
ALLOWED_EXTERNAL = ("https://cdn.jsdelivr.net/npm/mathjax@",)
# What a committed notebook shows in place of a widget it has no picture of: labkit's text
# stand-in, or (for a widget without one) ipywidgets' repr.
WIDGET_PLACEHOLDER = re.compile(
    r"\[\w+: interactive widget; run the notebook|^\s*(?:VBox|HBox|Figure)\((?:children|axes)=",
    re.MULTILINE,
)


# ---------------------------------------------------------------- building and serving


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The site, built once; its build time and log go to test-artifacts/site/ (never asserted)."""
    out = tmp_path_factory.mktemp("site") / "site"
    done, seconds = build(out)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "build.log").write_text(done.stdout + done.stderr)
    (ARTIFACTS / "build-seconds.txt").write_text(f"{seconds:.1f}\n")
    assert done.returncode == 0, f"the site build failed:\n{done.stdout}\n{done.stderr}"
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve ``site_dir``'s parent on loopback and yield the URL of ``site_dir``: the site in a
    subfolder, as a project's pages on a static host, so a link that assumes the root breaks."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir.parent))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{site_dir.name}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Opened:
    """A page of the site in Chromium, and what it tried to fetch from elsewhere (refused)."""

    page: object  # playwright's Page
    path: str
    status: int | None
    external: list[str] = field(default_factory=list)


@dataclass
class Visit:
    """A browser context reading the site served at ``base``."""

    context: object  # playwright's BrowserContext
    base: str

    def open(self, path: str) -> Opened:
        page = self.context.new_page()
        page.set_default_timeout(30_000)
        opened = Opened(page, path, None)

        def route(request_route) -> None:
            url = request_route.request.url
            if url.startswith(self.base):
                request_route.continue_()
            else:  # nothing leaves the machine: the site must read without it
                opened.external.append(url)
                request_route.abort()

        page.route("**/*", route)
        response = page.goto(self.base + path, wait_until="load")
        opened.status = response.status if response else None
        return opened


@contextmanager
def visiting(browser, site_dir: Path) -> Iterator[Visit]:
    with serve(site_dir) as base:
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        try:
            yield Visit(context, base)
        finally:
            context.close()


# ---------------------------------------------------------------- the checks


def page_path(notebook: str) -> str:
    return notebook.removesuffix(".ipynb") + ".html"


def notebook_title(notebook: str) -> str:
    """The notebook's first line, '# <title>', as the reader sees it."""
    first = json.loads((ROOT / notebook).read_text())["cells"][0]["source"]
    return "".join(first).splitlines()[0].removeprefix("# ").strip()


def expected_binder(notebook: str) -> tuple[str, str]:
    """(the start of the Binder URL's path, its urlpath) that launch ``notebook`` from the
    repository URL in pyproject.toml."""
    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    parts = urlsplit(url)
    assert parts.netloc == "github.com", f"Binder's gh provider needs a GitHub URL, not {url}"
    owner, repo = parts.path.strip("/").removesuffix(".git").split("/")
    return f"/v2/gh/{owner}/{repo}/", f"lab/tree/{notebook}"


# A heading's text without Sphinx's permalink mark.
TITLE_TEXT = """h => {
  const copy = h.cloneNode(true);
  copy.querySelectorAll(".headerlink").forEach(a => a.remove());
  return copy.textContent.trim();
}"""


def missing_pages(visit: Visit, notebooks: list[str]) -> list[str]:
    """Each notebook whose page does not load, or loads without the notebook's title."""
    problems = []
    for notebook in notebooks:
        opened = visit.open(page_path(notebook))
        h1 = opened.page.locator("h1")
        title = h1.first.evaluate(TITLE_TEXT) if h1.count() else ""
        if opened.status != 200 or title != notebook_title(notebook):
            problems.append(f"{notebook}: HTTP {opened.status}, page title {title!r}")
        opened.page.close()
    return problems


def link_problems(opened: Opened, notebook: str) -> list[str]:
    """What is wrong with the page's Binder launch link and notebook download link."""
    problems = []
    page = opened.page
    launch = page.locator("a.course-launch-binder")
    if launch.count() != 1:
        problems.append(f"{opened.path}: {launch.count()} Binder launch links, not 1")
    else:
        url = urlsplit(launch.get_attribute("href"))
        prefix, urlpath = expected_binder(notebook)
        opens = parse_qs(url.query).get("urlpath", [""])[0]
        if (url.scheme, url.netloc) != ("https", "mybinder.org"):
            problems.append(f"{opened.path}: launch link goes to {url.scheme}://{url.netloc}")
        if not url.path.startswith(prefix) or url.path.count("/") != prefix.count("/"):
            problems.append(
                f"{opened.path}: launch link's repository {url.path}, not {prefix}<ref>"
            )
        if opens != urlpath:
            problems.append(f"{opened.path}: launch link opens {opens!r}, not {urlpath!r}")
    download = page.locator("a.course-download")
    if download.count() != 1:
        problems.append(f"{opened.path}: {download.count()} download links, not 1")
    else:
        href = urljoin(page.url, download.get_attribute("href"))
        response = page.request.get(href)
        if response.status != 200 or response.body() != (ROOT / notebook).read_bytes():
            problems.append(
                f"{opened.path}: download link {href} gives HTTP {response.status}, "
                "not the committed notebook"
            )
    return problems


def home_order(opened: Opened, base: str) -> list[str]:
    """The notebooks the home page's course table links, in the order it lists them."""
    hrefs = opened.page.eval_on_selector_all("table a[href]", "links => links.map(a => a.href)")
    return [h.removeprefix(base).split("#")[0].removesuffix(".html") + ".ipynb" for h in hrefs]


def order_problems(opened: Opened, base: str) -> list[str]:
    listed, course = home_order(opened, base), readme_order()
    return [] if listed == course else [f"home page lists {listed}, the course is {course}"]


def page_problems(opened: Opened) -> list[str]:
    """A Sphinx warning box, a broken image, or a fetch from outside the site but MathJax."""
    page = opened.page
    problems = [
        f"{opened.path}: Sphinx warning {text.strip()[:120]!r}"
        for text in page.locator(".system-message, .problematic").all_inner_texts()
    ]
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    problems += [f"{opened.path}: image does not load: {src}" for src in broken]
    problems += [
        f"{opened.path}: fetches {url} from outside the site"
        for url in opened.external
        if not url.startswith(ALLOWED_EXTERNAL)
    ]
    return problems


def pictures_expected(notebook: str) -> int:
    """How many widget stills (image/svg+xml outputs) the committed notebook carries."""
    cells = json.loads((ROOT / notebook).read_text())["cells"]
    return sum(
        "image/svg+xml" in output.get("data", {})
        for cell in cells
        for output in cell.get("outputs", [])
    )


def picture_problems(opened: Opened, notebook: str) -> list[str]:
    """Each widget still of the notebook must be on its page as an image that loaded and is
    drawn at a visible size, once the reader has opened the folded outputs (their toggles:
    closed_toggle_problems); and no output may show a widget's text stand-in instead."""
    opened.page.eval_on_selector_all("details.hide", "ds => ds.forEach(d => { d.open = true; })")
    opened.page.wait_for_function("() => [...document.images].every(i => i.complete)")
    sizes = opened.page.eval_on_selector_all(
        ".cell_output img",
        "imgs => imgs.filter(i => /\\.svg$/.test(new URL(i.src).pathname))"
        ".map(i => [i.complete && i.naturalWidth > 0, i.getBoundingClientRect().width,"
        " i.getBoundingClientRect().height])",
    )
    drawn = sum(1 for loaded, width, height in sizes if loaded and width > 100 and height > 50)
    expected = pictures_expected(notebook)
    problems = (
        []
        if drawn == expected
        else [f"{opened.path}: {drawn} widget pictures drawn, the notebook has {expected}"]
    )
    problems += [
        f"{opened.path}: a widget shown as text: {text!r}"
        for text in widget_placeholders(opened.page)
    ]
    return problems


def folds_expected(notebook: str) -> int:
    """How many cells the notebook folds: outputs that answer a prediction, tagged
    ``hide-output`` (tests/test_predictions_folded.py)."""
    cells = json.loads((ROOT / notebook).read_text())["cells"]
    return sum("hide-output" in cell["metadata"].get("tags", []) for cell in cells)


def closed_toggle_problems(opened: Opened, notebook: str) -> list[str]:
    """Each folded output of the notebook is behind a closed "Show code cell output" toggle on
    its page (myst-nb's rendering of the tag), so that the page does not answer a prediction
    before the reader asks for it."""
    closed = opened.page.eval_on_selector_all(
        "details.hide.below-input",
        "ds => ds.filter(d => !d.open && d.querySelector('.cell_output')"
        " && /Show code cell output/.test(d.querySelector('summary').textContent)).length",
    )
    expected = folds_expected(notebook)
    if closed == expected:
        return []
    return [f"{opened.path}: {closed} closed output toggles, the notebook folds {expected}"]


def widget_placeholders(page) -> list[str]:
    """The outputs that show a widget's text stand-in where its figure belongs (first lines)."""
    texts = page.locator(".cell_output").all_inner_texts()
    return [t.strip().splitlines()[0] for t in texts if WIDGET_PLACEHOLDER.search(t)]


# ---------------------------------------------------------------- the real site


def test_every_notebook_has_a_page_titled_like_it(browser, site):
    assert len(NOTEBOOKS) == 16  # chapters 0-5 (1, 2, 4 and 5 in two parts), the appendix, labs 1-5
    with visiting(browser, site) as visit:
        assert missing_pages(visit, NOTEBOOKS) == []


def on_every_notebook_page(browser, site, check: Callable[[Opened, str], list[str]]) -> list[str]:
    """What ``check`` finds wrong on each notebook's page."""
    problems = []
    with visiting(browser, site) as visit:
        for notebook in NOTEBOOKS:
            opened = visit.open(page_path(notebook))
            problems += check(opened, notebook)
            opened.page.close()
    return problems


def test_every_notebook_page_launches_that_notebook_on_binder_and_downloads_it(browser, site):
    assert on_every_notebook_page(browser, site, link_problems) == []


def test_home_page_lists_the_notebooks_in_the_courses_order(browser, site):
    with visiting(browser, site) as visit:
        opened = visit.open("index.html")
        assert sorted(home_order(opened, visit.base)) == NOTEBOOKS
        assert order_problems(opened, visit.base) == []


def test_the_field_guide_is_a_page_the_home_page_and_chapter_5b_link_to(site):
    page = site / "docs" / "field-guide.html"
    assert page.is_file()
    assert "Field guide: my Go service stalls" in page.read_text()
    assert 'href="docs/field-guide.html"' in (site / "index.html").read_text()
    assert (
        'href="../docs/field-guide.html"' in (site / "chapters/05b-real-service.html").read_text()
    )


def test_every_widget_output_shows_its_picture(browser, site):
    """Issue #18 item 1: a reader of the site sees every figure the live notebook shows."""
    assert on_every_notebook_page(browser, site, picture_problems) == []
    assert sum(map(pictures_expected, NOTEBOOKS)) >= 30  # the course's figures, not none


def test_the_outputs_that_answer_a_prediction_open_on_a_click(browser, site):
    assert on_every_notebook_page(browser, site, closed_toggle_problems) == []
    assert folds_expected(CH2B) >= 8  # the chapter's predictions fold their runs


def test_no_page_shows_a_warning_or_a_broken_image_or_fetches_beyond_mathjax(browser, site):
    problems, mathjax_pages = [], []
    with visiting(browser, site) as visit:
        for path in ["index.html", *map(page_path, NOTEBOOKS)]:
            opened = visit.open(path)
            problems += page_problems(opened)
            if opened.external:
                mathjax_pages.append(path)
            opened.page.close()
    assert problems == []
    # The formulas are in these notebooks' Markdown; every other page is entirely offline.
    assert sorted(mathjax_pages) == [
        "chapters/00-start-here.html",
        "chapters/01-render-stalls.html",
        "chapters/04b-pools-and-queueing.html",
        "chapters/06-appendix-real-go.html",
        "labs/lab04-pool-tuner.html",
    ]


# ---------------------------------------------------------------- each check can fail


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there: a breakage that did not happen proves nothing)."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}: the breakage did not happen"
    path.write_text(text.replace(old, new, 1))


def drop_launch_link(site: Path) -> None:
    page = site / "chapters/03-flame-graphs.html"
    text = page.read_text()
    edit(page, re.search(r'<a class="course-launch-binder".*?</a>', text).group(0), "")


def drop_pictures(site: Path) -> None:
    """Every picture file gone, as when a build loses myst-nb's images."""
    found = list(site.rglob("*.svg"))
    assert found, "the site has no .svg files: the breakage did not happen"
    for path in found:
        path.unlink()


def swap_two_rows(site: Path) -> None:
    page = site / "index.html"
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.read_text(), re.S)
    first, second = rows[1], rows[2]  # rows[0] is the header
    edit(page, first, "\0")
    edit(page, second, first)
    edit(page, "\0", second)


CH1, CH2B, CH3, LAB3 = (
    "chapters/01-render-stalls.ipynb",
    "chapters/02b-preemption-queues-and-timers.ipynb",
    "chapters/03-flame-graphs.ipynb",
    "labs/lab03-flame-detective.ipynb",
)


def on_page(notebook: str) -> Callable[[Path], Path]:
    return lambda site: site / page_path(notebook)


@dataclass(frozen=True)
class Breakage:
    name: str
    mutate: Callable[[Path], None]
    check: Callable[[Visit], list[str]]
    expect: str  # in the check's report


BREAKAGES = [
    Breakage(
        "page-without-launch-link",
        drop_launch_link,
        lambda v: link_problems(v.open(page_path(CH3)), CH3),
        "0 Binder launch links",
    ),
    Breakage(
        "launch-link-to-another-repository",
        lambda s: edit(on_page(CH3)(s), "gh/go-stalls-course/", "gh/someone-else/"),
        lambda v: link_problems(v.open(page_path(CH3)), CH3),
        "launch link's repository",
    ),
    Breakage(
        "launch-link-to-another-notebook",
        lambda s: edit(on_page(CH3)(s), "%2F03-flame-graphs.ipynb", "%2F04-fixes.ipynb"),
        lambda v: link_problems(v.open(page_path(CH3)), CH3),
        "launch link opens 'lab/tree/chapters/04-fixes.ipynb'",
    ),
    Breakage(
        "download-link-to-nothing",
        lambda s: (s / CH3).unlink(),
        lambda v: link_problems(v.open(page_path(CH3)), CH3),
        "gives HTTP 404",
    ),
    Breakage(
        "download-link-to-another-notebook",
        lambda s: shutil.copy(s / CH1, s / CH3),
        lambda v: link_problems(v.open(page_path(CH3)), CH3),
        "not the committed notebook",
    ),
    Breakage(
        "notebook-without-a-page",
        lambda s: on_page(LAB3)(s).unlink(),
        lambda v: missing_pages(v, [LAB3]),
        "HTTP 404",
    ),
    Breakage(
        "page-with-another-title",
        lambda s: edit(
            on_page(LAB3)(s), "<h1>Lab 3: The flame-graph detective<", "<h1>Lab 3: The frame lab<"
        ),
        lambda v: missing_pages(v, [LAB3]),
        "page title 'Lab 3: The frame lab'",
    ),
    Breakage(
        "home-page-out-of-order",
        swap_two_rows,
        lambda v: order_problems(v.open("index.html"), v.base),
        "home page lists",
    ),
    Breakage(
        "sphinx-warning-box",
        lambda s: edit(
            on_page(CH1)(s),
            "</h1>",
            '</h1><aside class="system-message"><p class="system-message-title">System '
            'Message: WARNING/2</p><p>Unknown directive type "figure2".</p></aside>',
        ),
        lambda v: page_problems(v.open(page_path(CH1))),
        "Sphinx warning",
    ),
    Breakage(
        "broken-image",
        lambda s: edit(on_page(CH1)(s), "</h1>", '</h1><img src="flame.png" alt="flame graph">'),
        lambda v: page_problems(v.open(page_path(CH1))),
        "image does not load",
    ),
    Breakage(
        "widget-manager-from-a-cdn",
        lambda s: edit(
            on_page(CH3)(s),
            "</head>",
            '<script src="https://unpkg.com/@jupyter-widgets/html-manager@^1.0.1/dist/'
            'embed-amd.js"></script></head>',
        ),
        lambda v: page_problems(v.open(page_path(CH3))),
        "fetches https://unpkg.com/",
    ),
    Breakage(
        "widget-picture-missing",
        lambda s: edit(
            on_page(CH3)(s),
            re.search(r'<img [^>]*src="[^"]*\.svg"[^>]*>', on_page(CH3)(s).read_text()).group(0),
            "<pre>[FlameGraph: interactive widget; run the notebook to use it]</pre>",
        ),
        lambda v: picture_problems(v.open(page_path(CH3)), CH3),
        "widget pictures drawn, the notebook has",
    ),
    Breakage(
        "answer-on-show",
        lambda s: edit(
            on_page(CH2B)(s),
            '<details class="admonition hide below-input">',
            '<details class="admonition hide below-input" open>',
        ),
        lambda v: closed_toggle_problems(v.open(page_path(CH2B)), CH2B),
        "closed output toggles, the notebook folds",
    ),
    Breakage(
        "widget-picture-file-lost",
        drop_pictures,
        lambda v: picture_problems(v.open(page_path(CH3)), CH3),
        "0 widget pictures drawn",
    ),
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.name for b in BREAKAGES])
def test_each_check_fails_on_a_site_broken_for_it(browser, site, tmp_path, breakage):
    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    breakage.mutate(broken)
    with visiting(browser, broken) as visit:
        problems = breakage.check(visit)
    assert any(breakage.expect in p for p in problems), problems


def test_the_placeholder_check_finds_a_widget_shown_as_text(browser):
    """widget_placeholders on a page shaped like the site's (myst-nb's .cell_output): it finds
    labkit's stand-in and a bare ipywidgets repr, and not an output drawn as a picture nor prose
    that mentions a widget (picture_problems reports what it finds; the real site has none)."""
    svg = "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' width='40' height='20'/>"
    page = browser.new_page()
    try:
        page.set_content(
            "<p>Run the notebook: the FlameGraph is an interactive widget.</p>"
            '<div class="cell_output"><pre>[FlameGraph: interactive widget; run the notebook '
            "to use it]\nlab03-alloc.pb.gz: cpu total 1.24 s</pre></div>"
            "<div class=\"cell_output\"><pre>VBox(children=(Figure(axes=[Axis(label='ms')]),))"
            "</pre></div>"
            f'<div class="cell_output"><img src="{svg}" alt="flame graph"></div>'
            '<div class="cell_output"><pre>GC 2.60/s, frame p50 3.88 ms</pre></div>'
        )
        assert widget_placeholders(page) == [
            "[FlameGraph: interactive widget; run the notebook to use it]",
            "VBox(children=(Figure(axes=[Axis(label='ms')]),))",
        ]
    finally:
        page.close()
