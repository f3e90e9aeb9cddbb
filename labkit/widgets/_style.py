"""Shared look of the course's widgets: a colour-blind-safe palette and layout helpers.

The palette is Okabe and Ito's (2008) eight colours, distinguishable under the common colour
vision deficiencies; every widget draws from it so a colour means the same thing everywhere.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import ipywidgets as w
import numpy as np

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
GREY = "#999999"

# Goroutine states, the same colours in every plot of the course.
STATE_COLOURS = {
    "running": OKABE_ITO[2],
    "runnable": OKABE_ITO[1],
    "waiting": OKABE_ITO[4],
    "syscall": OKABE_ITO[3],
}


def colour_for(index: int) -> str:
    return OKABE_ITO[index % len(OKABE_ITO)]


@contextmanager
def held(*widgets: w.Widget) -> Iterator[None]:
    """Hold the sync of every widget given: each sends its changed traits as one message when the
    block ends. A figure's ``hold_sync()`` holds only the figure's own traits; its marks and
    scales are widgets of their own, and bqplot redraws a mark for every message it gets (x, then
    y, then the colours, then the labels: four redraws of every box). Hold the marks and scales
    too; one message each is one redraw (benchmarks/README.md)."""
    with ExitStack() as stack:
        for widget in widgets:
            stack.enter_context(widget.hold_sync())
        yield


@contextmanager
def errors_shown_in(output: w.Output) -> Iterator[None]:
    """Run a redraw; if it raises, show the exception in ``output`` (under the widget) as
    ``with output:`` would, and clear it on the next redraw that succeeds.

    Why not ``with output:`` around every redraw: entering an Output sends its ``msg_id``, leaving
    it sends it again, clearing it sends a third message, and leaving it flushes stdout, which
    waits for the kernel's IOPub thread. A redraw that succeeds shows nothing there, so all of it
    only delays the figures' own messages (benchmarks/README.md: the scheduler lab's preset took
    29-40 messages). The Output is entered only once something went wrong."""
    try:
        yield
    except Exception:
        output._labkit_failed = True
        with output:  # shows the traceback under the widget in a kernel, re-raises elsewhere
            output.clear_output()
            raise
    else:
        if getattr(output, "_labkit_failed", False):
            output.clear_output()
            output._labkit_failed = False


def error_output() -> w.Output:
    """An Output that shows callback exceptions under a widget instead of losing them."""
    return w.Output(layout=w.Layout(max_height="12em", overflow="auto"))


def summary_html(text: str) -> str:
    """Format a one-line model summary for an HTML widget (monospace, escaped)."""
    return f"<pre class='labkit-summary' style='margin:0;white-space:pre-wrap'>{html.escape(text)}</pre>"


def legend_html(items: list[tuple[str, str]], marker: str = "&#9632;") -> str:
    """A legend as a line of coloured chips under a figure (bqplot's own legend covers data)."""
    chips = [
        f"<span style='white-space:nowrap;margin-right:1em'>"
        f"<span style='color:{colour};font-size:1.2em'>{marker}</span> {html.escape(label)}</span>"
        for label, colour in items
    ]
    # A space between chips: a line may break there (a chip itself does not break).
    return "<div class='labkit-legend' style='font-size:0.9em'>" + " ".join(chips) + "</div>"


def integer_ticks(top: float, max_ticks: int = 6) -> list[int]:
    """Integer ticks 0, step, 2*step ... covering ``top``, with a 1-2-5 step."""
    top = max(1, int(np.ceil(top)))
    step = 1
    for base in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        step = base
        if top / base <= max_ticks - 1:
            break
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


def topped(x: np.ndarray, y: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` (one series, or rows of series sharing ``x``) with one more point, after a
    gap, at (``x[-1]``, ``top``) in the first series: a point alone between gaps draws nothing
    (d3's ``line.defined`` and ``area.defined`` break at NaN), but the mark's y scale, given no
    ``max``, takes it into its domain.

    Why not set the scale's ``max``: a scale is a widget of its own, so a new ``max`` is a message
    of its own, and bqplot redraws every mark on the scale when it arrives, before the marks'
    own messages redraw them again. A series plot's scales taking their domains from its marks'
    data (``min`` fixed at 0, no ``max``) redraw within the marks' messages: the goroutine-state
    plot sent three scale messages and drew its areas three times a run; this way, once, and the
    incident lab's redraw has ~10 ms less of the browser's frames (benchmarks/README.md, "Sixth
    pass"). The top stays a tick with headroom, as a ``max`` kept it."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if not x.size:
        return x, y
    x_out = np.append(x, [np.nan, x[-1]])
    if y.ndim == 1:
        return x_out, np.append(y, [np.nan, float(top)])
    tail = np.full((y.shape[0], 2), np.nan)
    tail[0, 1] = float(top)
    return x_out, np.hstack([y, tail])


STILL = "interactive widget; run the notebook to use it"


class TextFallback:
    """Mixin: what a widget's output shows where no kernel runs it (GitHub, nbviewer, the
    course's website, a notebook opened but not yet run).

    ipywidgets gives such a reader only the constructor's repr, cut at 110 characters. This adds
    a static picture of what the widget shows (``image/svg+xml``, drawn from the widget's own
    figures by :mod:`labkit.widgets.picture`) and puts its one-line summary in ``text/plain``.
    JupyterLab with a kernel still draws the live widget, whose view outranks both. Classes
    using it define ``summary() -> str``."""

    def _repr_mimebundle_(self, **kwargs):
        from labkit.widgets.picture import picture  # only when displayed
        from labkit.widgets.svgfigure import PictureError

        bundle = super()._repr_mimebundle_(**kwargs)
        summary = self._summary_or_nothing()
        bundle["text/plain"] = self.text_fallback()
        try:
            bundle["image/svg+xml"] = picture(self, caption=self.picture_caption(), summary=summary)
        except PictureError as exc:  # the live widget still works; say why the still is missing
            warnings.warn(f"{type(self).__name__} has no static picture: {exc}", stacklevel=2)
        return bundle

    def _summary_or_nothing(self) -> str:
        try:
            return self.summary() if hasattr(self, "summary") else ""
        except Exception:  # a fallback must never break displaying the widget itself
            return ""

    def picture_caption(self) -> str:
        return (
            f"A still of the {type(self).__name__} widget as this notebook last ran it; "
            "run the notebook to use it."
        )

    def text_fallback(self) -> str:
        return f"[{type(self).__name__}: {STILL}]\n{self._summary_or_nothing()}".rstrip()


def slider(
    kind, description: str, lo, hi, step, *, label_em: float = 11, width_em: float = 26, **kw
):
    """A labelled slider that re-runs its model when released or moved by a key, not on every
    pixel of a drag (``continuous_update=False``); ``kind`` is ``IntSlider`` / ``FloatSlider``."""
    return kind(
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": f"{label_em}em"},
        layout=w.Layout(width=f"{width_em}em"),
        **kw,
    )
