"""Shared look of the course's widgets: a colour-blind-safe palette and layout helpers.

The palette is Okabe and Ito's (2008) eight colours, distinguishable under the common colour
vision deficiencies; every widget draws from it so a colour means the same thing everywhere.
"""

from __future__ import annotations

import html

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
    return "<div class='labkit-legend' style='font-size:0.9em'>" + "".join(chips) + "</div>"


def integer_ticks(top: float, max_ticks: int = 6) -> list[int]:
    """Integer ticks 0, step, 2*step ... covering ``top``, with a 1-2-5 step."""
    top = max(1, int(np.ceil(top)))
    step = 1
    for base in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        step = base
        if top / base <= max_ticks - 1:
            break
    return list(range(0, top + step, step)) if top % step else list(range(0, top + 1, step))


class TextFallback:
    """Mixin: without a live kernel (GitHub, nbviewer, a notebook opened but not yet run) a
    widget's output shows its ``text/plain``; ipywidgets puts the constructor's repr there, cut
    at 110 characters. This puts the widget's one-line summary there instead, so the committed
    notebook reads without JavaScript. Classes using it define ``summary() -> str``."""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.text_fallback()
        return bundle

    def text_fallback(self) -> str:
        name = type(self).__name__
        try:
            summary = self.summary() if hasattr(self, "summary") else ""
        except Exception:  # a fallback must never break displaying the widget itself
            summary = ""
        return f"[{name}: interactive widget; run the notebook to use it]\n{summary}".rstrip()


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
