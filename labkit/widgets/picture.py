"""The static picture of a widget: what it shows, drawn as one SVG, for readers without a kernel.

A committed notebook is read on GitHub, nbviewer and the course's website, where no kernel runs
the widgets. Every figure widget (``TextFallback``) therefore puts, beside its live view, an
``image/svg+xml`` of what it showed when displayed: JupyterLab with a kernel draws the live widget
(the widget view outranks an image), a static viewer draws the picture.

The picture is read from the widget itself, so it cannot drift from what the widget drew: its
bqplot figures through :mod:`labkit.widgets.svgfigure` (the same marks, scales, colours, axes and
titles), its legends, summaries and tables from their HTML (colours and chips kept), and its
controls as one line of settings, so a reader knows which inputs the figure is for. Boxes keep
their arrangement: a row of figures stays a row. Hidden parts, buttons and error outputs are left
out. Why SVG written by the course rather than matplotlib: see :mod:`labkit.widgets.svgfigure`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import bqplot as bq
import ipywidgets as w

from labkit.widgets.svgfigure import esc, figure_svg, num

WIDTH_PX = 900
FONT_PX, MONO_FONT_PX = 12.0, 11.5
LINE_PX = 17.0
#: Average advance of a character, in em: enough to wrap text and place chips, not to typeset.
EM_SANS, EM_MONO = 0.52, 0.6
TEXT_COLOUR, QUIET_COLOUR = "#222222", "#555555"
DEFAULT_FIGURE_HEIGHT_PX = 400.0
_ID = "@@picture@@"


# ---------------------------------------------------------------- rich text from a widget's HTML


@dataclass
class Run:
    """A stretch of text in one style: colour, a chip's background, bold, monospace."""

    text: str
    colour: str = TEXT_COLOUR
    background: str | None = None
    bold: bool = False
    mono: bool = False

    def width_px(self) -> float:
        em = EM_MONO if self.mono else EM_SANS
        return len(self.text) * em * (MONO_FONT_PX if self.mono else FONT_PX)


_BLOCK_TAGS = {"div", "p", "br", "tr", "pre", "li", "h1", "h2", "h3", "h4", "table", "ul", "ol"}
_STYLE = re.compile(r"(?:^|;)\s*(background|color)\s*:\s*([^;]+)")


#: What parts a chip with a right margin (a legend's) from the next one.
GAP = "    "


class _RunParser(HTMLParser):
    """HTML as lines of styled runs: block tags break lines, table cells are set apart by a bar,
    ``color`` / ``background`` styles and ``<b>`` / ``<pre>`` / ``<code>`` carry into the runs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[list[Run]] = [[]]
        self.stack: list[tuple[str, dict]] = []

    def _style(self) -> dict:
        merged: dict = {}
        for _, style in self.stack:
            merged.update(style)
        return merged

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_TAGS:
            self._break()
        if tag in ("td", "th") and self.lines[-1]:
            self.lines[-1].append(Run("  |  ", QUIET_COLOUR))
        style = {}
        for key, value in _STYLE.findall(dict(attrs).get("style") or ""):
            style["background" if key == "background" else "colour"] = value.strip()
        if tag in ("b", "strong", "th"):
            style["bold"] = True
        if tag in ("pre", "code"):
            style["mono"] = True
        if "margin-right" in (dict(attrs).get("style") or ""):
            style["gap_after"] = True
        if tag != "br":
            self.stack.append((tag, style))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                gap = self.stack[i][1].get("gap_after")
                del self.stack[i:]
                if gap and self.lines[-1]:
                    self.lines[-1].append(Run(GAP))
                break
        if tag in _BLOCK_TAGS:
            self._break()

    def handle_data(self, data: str) -> None:
        line = self.lines[-1]
        if line and line[-1].text == GAP and not data.strip():
            return  # the space between two legend chips: the gap already parts them
        style = self._style()
        mono = bool(style.get("mono"))
        chunks = data.split("\n") if mono else [re.sub(r"\s+", " ", data)]
        for k, chunk in enumerate(chunks):
            if k:
                self._break(force=True)
            if chunk.strip() or (chunk and self.lines[-1]):
                self.lines[-1].append(
                    Run(
                        chunk,
                        style.get("colour", TEXT_COLOUR),
                        style.get("background"),
                        bool(style.get("bold")),
                        mono,
                    )
                )

    def _break(self, force: bool = False) -> None:
        if self.lines[-1] or force:
            self.lines.append([])


def html_lines(markup: str) -> list[list[Run]]:
    """The widget's HTML as lines of runs, empty lines and edge spaces dropped."""
    parser = _RunParser()
    parser.feed(markup)
    parser.close()
    lines = []
    for runs in parser.lines:
        if runs and not runs[0].mono:
            runs[0].text = runs[0].text.lstrip()
            runs[-1].text = runs[-1].text.rstrip()
        runs = [r for r in runs if r.text]
        if runs:
            lines.append(runs)
    return lines


def wrap(lines: list[list[Run]], width_px: float) -> list[list[Run]]:
    """Break lines wider than ``width_px`` between words (estimated widths: a guide to where
    to break, the browser lays out each line itself)."""
    out = []
    for runs in lines:
        line, used = [], 0.0
        for piece in (word for run in runs for word in _words(run)):
            if line and used + piece.width_px() > width_px and piece.text.strip():
                out.append(_merged(line))
                piece = Run(
                    piece.text.lstrip(), piece.colour, piece.background, piece.bold, piece.mono
                )
                line, used = [], 0.0
            line.append(piece)
            used += piece.width_px()
        out.append(_merged(line))
    return out


def _words(run: Run) -> list[Run]:
    return [
        Run(word, run.colour, run.background, run.bold, run.mono)
        for word in re.findall(r"\S+\s*|\s+", run.text)
    ]


def _merged(runs: list[Run]) -> list[Run]:
    """Neighbouring runs of one style as one run again."""
    out: list[Run] = []
    for run in runs:
        last = out[-1] if out else None
        if last and (last.colour, last.background, last.bold, last.mono) == (
            run.colour,
            run.background,
            run.bold,
            run.mono,
        ):
            last.text += run.text
        else:
            out.append(Run(run.text, run.colour, run.background, run.bold, run.mono))
    return out


def text_svg(lines: list[list[Run]], x: float, y: float) -> str:
    """Each line one SVG text of styled spans, so the browser places the words; a chip (a
    background colour in the HTML) keeps its colour as bold coloured text."""
    out = []
    for k, runs in enumerate(lines):
        spans = []
        for run in runs:
            attrs = f" fill='{esc(run.background)}'" if run.background else ""
            attrs += (
                f" fill='{esc(run.colour)}'"
                if run.colour != TEXT_COLOUR and not run.background
                else ""
            )
            attrs += " font-weight='bold'" if run.bold or run.background else ""
            attrs += f" font-family='monospace' font-size='{MONO_FONT_PX:g}'" if run.mono else ""
            spans.append(f"<tspan{attrs}>{esc(run.text)}</tspan>" if attrs else esc(run.text))
        base = y + (k + 0.75) * LINE_PX
        out.append(
            f"<text x='{num(x)}' y='{num(base)}' xml:space='preserve'>{''.join(spans)}</text>"
        )
    return "".join(out)


# ---------------------------------------------------------------- layout of the widget tree


@dataclass
class Block:
    """A piece of the picture ``height`` pixels tall, drawn at (x, y) in a given width."""

    height: float
    draw: Callable[[float, float, float], str] = field(repr=False)


def _px(value: str | None, whole: float, default: float) -> float:
    """A CSS length of a layout (``"300px"``, ``"50%"``) in pixels; ``default`` otherwise."""
    if not value:
        return default
    if value.endswith("px"):
        return float(value[:-2])
    if value.endswith("%"):
        return whole * float(value[:-1]) / 100
    return default


def _hidden(widget: w.Widget) -> bool:
    layout = getattr(widget, "layout", None)
    return bool(layout is not None and (layout.display == "none" or layout.visibility == "hidden"))


def _has_figure(widget: w.Widget) -> bool:
    if isinstance(widget, bq.Figure):
        return True
    return any(_has_figure(c) for c in getattr(widget, "children", ()) if not _hidden(c))


def setting(control: w.ValueWidget) -> str | None:
    """``description value`` of a control as a reader would read it off the widget."""
    desc = getattr(control, "description", "")
    if not desc or isinstance(control, w.Button):
        return None
    if isinstance(control, w.Checkbox | w.ToggleButton):
        shown = "on" if control.value else "off"
    elif hasattr(control, "label") and isinstance(control, w.widget_selection._Selection):
        shown = str(control.label)
    elif isinstance(control.value, tuple):  # a range slider
        fmt = getattr(control, "readout_format", "") or ""
        shown = " to ".join(format(v, fmt) for v in control.value)
    elif isinstance(control, w.FloatSlider | w.FloatLogSlider) and control.readout_format:
        shown = format(control.value, control.readout_format)
    else:
        shown = str(control.value)
    return f"{desc} = {shown}" if shown else None  # an empty search box says nothing


def _settings(widget: w.Widget) -> list[str]:
    if _hidden(widget):
        return []
    if isinstance(widget, w.ValueWidget) and not isinstance(widget, w.HTML | w.HTMLMath | w.Label):
        return [s for s in [setting(widget)] if s]
    return [s for c in getattr(widget, "children", ()) for s in _settings(c)]


def _text_block(lines: list[list[Run]], width: float) -> Block:
    def draw(x: float, y: float, wd: float) -> str:
        return text_svg(wrap(lines, wd), x, y)

    return Block(len(wrap(lines, width)) * LINE_PX + 4, draw)


def blocks(widget: w.Widget, width: float, ids: list[int]) -> list[Block]:
    """The widget as blocks stacked top to bottom in ``width`` pixels."""
    if _hidden(widget) or isinstance(widget, w.Output | w.Button):
        return []
    if isinstance(widget, bq.Figure):
        return [_figure_block(widget, width, ids)]
    if isinstance(widget, w.HTML | w.HTMLMath | w.Label):
        lines = html_lines(widget.value if not isinstance(widget, w.Label) else esc(widget.value))
        return [_text_block(lines, width)] if lines else []
    if isinstance(widget, w.Box) and not _has_figure(widget):
        found = _settings(widget)
        if found:
            return [_text_block([[Run(" \u00b7 ".join(found), QUIET_COLOUR)]], width)]
        return [b for c in widget.children for b in blocks(c, width, ids)]
    if isinstance(widget, w.HBox):
        return [_row_block(widget, width, ids)]
    if isinstance(widget, w.Box):
        return [b for c in widget.children for b in blocks(c, width, ids)]
    if isinstance(widget, w.ValueWidget):
        found = _settings(widget)
        return [_text_block([[Run(found[0], QUIET_COLOUR)]], width)] if found else []
    return []


def _figure_block(fig: bq.Figure, width: float, ids: list[int]) -> Block:
    height = _px(fig.layout.height, 0.0, DEFAULT_FIGURE_HEIGHT_PX)
    ids.append(len(ids))
    clip = f"{_ID}{len(ids)}"

    def draw(x: float, y: float, wd: float) -> str:
        return (
            f"<g transform='translate({num(x)},{num(y)})'>{figure_svg(fig, wd, height, clip)}</g>"
        )

    return Block(height, draw)


def _row_block(box: w.HBox, width: float, ids: list[int]) -> Block:
    """Children side by side: widths as their layouts ask, the rest shared equally."""
    kids = [c for c in box.children if not _hidden(c)]
    asked = [_px(getattr(c.layout, "width", None), width, 0.0) for c in kids]
    free = max(0.0, width - sum(asked))
    share = free / max(1, sum(1 for a in asked if not a))
    widths = [a or share for a in asked]
    columns = [blocks(c, wd, ids) for c, wd in zip(kids, widths, strict=True)]
    height = max((sum(b.height for b in col) for col in columns), default=0.0)

    def draw(x: float, y: float, wd: float) -> str:
        out, cx = [], x
        for col, cw in zip(columns, widths, strict=True):
            out.append(_stack(col, cx, y, cw * wd / width))
            cx += cw * wd / width
        return "".join(out)

    return Block(height, draw)


def _stack(found: list[Block], x: float, y: float, width: float) -> str:
    out = []
    for block in found:
        out.append(block.draw(x, y, width))
        y += block.height
    return "".join(out)


def _shows_summary(widget: w.Widget) -> bool:
    if isinstance(widget, w.HTML) and "labkit-summary" in widget.value:
        return True
    return any(_shows_summary(c) for c in getattr(widget, "children", ()) if not _hidden(c))


def picture(
    widget: w.Widget,
    width_px: float = WIDTH_PX,
    caption: str | None = None,
    summary: str | None = None,
) -> str:
    """The SVG document of what ``widget`` shows now, ``width_px`` wide, its ``summary`` under
    it when the widget does not show one itself (a reader without a kernel sees the picture in
    place of the text), then the ``caption``.

    Deterministic: the same widget state gives the same bytes (clip-path ids come from a digest
    of the picture, so many pictures on one page never share one, and re-running a notebook does
    not change a picture that did not change)."""
    pad = 8.0
    inner = width_px - 2 * pad
    found = blocks(widget, inner, [])
    if summary and not _shows_summary(widget):
        found.append(_text_block([[Run(summary, mono=True)]], inner))
    if caption:
        found.append(_text_block([[Run(caption, QUIET_COLOUR)]], inner))
    height = sum(b.height for b in found) + 2 * pad
    body = _stack(found, pad, pad, inner)
    digest = hashlib.sha1(body.encode()).hexdigest()[:10]
    body = body.replace(_ID, f"labkit-{digest}-")
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{num(width_px)}' height='{num(height)}'"
        f" viewBox='0 0 {num(width_px)} {num(height)}' font-family='sans-serif'"
        f" font-size='{FONT_PX:g}' fill='{TEXT_COLOUR}'>"
        f"<rect width='100%' height='100%' fill='white'/>{body}</svg>"
    )
