"""A notebook's own figure, shown as the course's widgets are.

A chapter sometimes draws a figure of its own with bqplot (a frame rate over goroutine counts, a
pipeline's queues). Wrapped in a :class:`Panel`, it behaves like every lab widget in a committed
notebook: live with a kernel, a static picture and a text summary without one.
"""

from __future__ import annotations

import ipywidgets as w

from labkit.widgets._style import TextFallback


class Panel(TextFallback, w.VBox):
    """A notebook's own arrangement of figures (a bqplot Figure and its legend, two views one
    above the other) displayed like the course's widgets: live with a kernel, a static picture
    and ``summary`` as text without one."""

    def __init__(self, children: list[w.Widget], summary: str = "", **kwargs) -> None:
        super().__init__(children, **kwargs)
        self._summary_text = summary

    def summary(self) -> str:
        return self._summary_text

    def picture_caption(self) -> str:
        return "A still of this figure as the notebook last ran it; run the notebook to use it."
