"""The flame-graph widget: a thin bqplot view over :class:`labkit.profiles.flamelayout.FlameGraphModel`.

Every box is one closed path of a single bqplot ``Lines`` mark (x/y as (N, 5) arrays,
``fill="inside"``, one fill colour per box): bqplot's ``Bars`` cannot set a base per bar (its
``base`` is one Float for the whole mark, bqplot/marks.py ``Bars.base`` in bqplot 0.13). A click
on a path reaches Python as an ``element_click`` message whose data carries the path's ``index``
(bqplot's Lines view sends its ``mark_data`` entry, which has ``index``); the model maps that
index to a tree node and zooms. Labels are a ``Label`` mark, only on boxes wide enough for three
characters. The figure is built once; a zoom, search, hide or sandwich changes only the marks'
data, inside ``hold_sync()``.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.profiles.flamelayout import (
    DEFAULT_MAX_RECTS,
    DEFAULT_MIN_PX,
    DEFAULT_WIDTH_PX,
    GROWTH_COLOUR,
    MATCH_COLOUR,
    SHRINK_COLOUR,
    FlameGraphModel,
    Stack,
)
from labkit.validation import check_choice
from labkit.widgets._style import TextFallback, error_output, summary_html

#: Height of one row of boxes, in pixels.
ROW_PX = 18
MIN_HEIGHT_PX, MAX_HEIGHT_PX = 220, 760
_MARGIN = {"top": 6, "bottom": 6, "left": 6, "right": 6}


class FlameGraph(TextFallback, w.VBox):
    """A flame graph of a profile, with zoom, search, hide, sandwich and diff.

    ``FlameGraph(profile)`` draws a :class:`labkit.profiles.Profile` (or a ``{stack: value}``
    dict); ``FlameGraph(after, base=before)`` draws the difference, boxes as wide as before +
    after and coloured vermillion where the stack grew, blue where it shrank
    (``normalize=True`` scales *before* to *after*'s total first; the default compares the raw
    values, like ``go tool pprof -diff_base``).
    """

    def __init__(
        self,
        profile: Any,
        sample_type: str | None = None,
        *,
        base: Any = None,
        normalize: bool = False,
        view: str = "flame",
        width_px: float = DEFAULT_WIDTH_PX,
        min_px: float = DEFAULT_MIN_PX,
        max_rects: int = DEFAULT_MAX_RECTS,
    ) -> None:
        self.model = FlameGraphModel(
            profile,
            sample_type,
            base=base,
            normalize=normalize,
            width_px=width_px,
            min_px=min_px,
            max_rects=max_rects,
        )
        check_choice("view", view, ("flame", "icicle"), where="FlameGraph")
        self._build_controls(view)
        self._breadcrumb = w.HTML()
        self._hover = w.HTML(layout=w.Layout(min_height="1.4em"))
        self._legend = w.HTML(self._legend_html())
        # Labels lie on top of their boxes; let clicks and hovers go through them to the box.
        self._css = w.HTML(
            "<style>.labkit-flamegraph svg.svg-figure text {pointer-events: none;}</style>",
            layout=w.Layout(display="none"),
        )
        self._summary = w.HTML()
        self._errors = error_output()

        self._figure = self._build_figure()
        self._boxes.on_element_click(self._on_box_click)
        self._boxes.on_hover(self._on_box_hover)
        self._text.on_element_click(self._on_label_click)
        self._label_box: list[int] = []
        self._drawn_height_px = 0

        self._view.observe(self._on_view, names="value")
        self._search_box.observe(self._on_search, names="value")
        self._hide_box.observe(self._on_hide, names="value")
        self._sandwich_box.observe(self._on_sandwich, names="value")
        self._reset_button.on_click(self._on_reset)
        super().__init__(self._layout())
        self.add_class("labkit-flamegraph")
        self._redraw()

    def _build_controls(self, view: str) -> None:
        """The view toggle, the search / hide / sandwich boxes and Reset."""
        self._view = w.ToggleButtons(
            options=[("Flame", "flame"), ("Icicle", "icicle")],
            value=view,
            style={"button_width": "6em"},
            tooltips=["Root at the bottom, callees above", "Root at the top, callees below"],
        )
        self._search_box = w.Text(
            placeholder=r"search regex, e.g. runtime\.|syscall",
            description="Search",
            continuous_update=False,
            layout=w.Layout(width="22em"),
        )
        self._hide_box = w.Text(
            placeholder=r"hide regex, e.g. ^runtime\.",
            description="Hide",
            continuous_update=False,
            layout=w.Layout(width="20em"),
        )
        names = list(self.model.tree.functions)
        self._sandwich_box = w.Combobox(
            placeholder="function name",
            options=names[:2000],
            description="Sandwich",
            continuous_update=False,
            ensure_option=False,
            layout=w.Layout(width="24em"),
        )
        self._reset_button = w.Button(
            description="Reset",
            icon="undo",
            tooltip="Zoom out, clear the search, leave the sandwich view",
        )

    def _build_figure(self) -> bq.Figure:
        """One figure, built once: every box is one closed path of one Lines mark (a redraw
        replaces its arrays) and the labels one Label mark; the scales span the unit square."""
        self._xs = bq.LinearScale(min=0.0, max=1.0)
        self._ys = bq.LinearScale(min=0.0, max=1.0)
        self._boxes = bq.Lines(
            x=np.zeros((1, 5)),
            y=np.zeros((1, 5)),
            scales={"x": self._xs, "y": self._ys},
            fill="inside",
            close_path=True,
            colors=["white"],
            fill_colors=["#EEEEEE"],
            stroke_width=0.6,
            fill_opacities=[1.0],
            labels=[""],
            tooltip=bq.Tooltip(fields=["name"], show_labels=False),
            interactions={"hover": "tooltip"},
        )
        self._text = bq.Label(
            x=np.zeros(0),
            y=np.zeros(0),
            text=[],
            scales={"x": self._xs, "y": self._ys},
            colors=["black"],
            default_size=11,
            align="start",
            y_offset=4,
            font_weight="normal",
            enable_hover=False,
        )
        return bq.Figure(
            marks=[self._boxes, self._text],
            axes=[],
            fig_margin=dict(_MARGIN),
            layout=w.Layout(width="100%", height=f"{MIN_HEIGHT_PX}px"),
            animation_duration=0,
            padding_x=0.0,
            padding_y=0.0,
        )

    def _layout(self) -> list[w.Widget]:
        """Controls on top, the breadcrumb of the zoom, the figure, then what the hover, the
        colours and the totals say."""
        return [
            w.HBox([self._view, self._reset_button]),
            w.HBox(
                [self._search_box, self._hide_box, self._sandwich_box],
                layout=w.Layout(flex_flow="row wrap"),
            ),
            self._breadcrumb,
            self._figure,
            self._hover,
            self._legend,
            self._summary,
            self._errors,
            self._css,
        ]

    # -- drawing -------------------------------------------------------------------------------

    def _legend_html(self) -> str:
        if self.model.tree.is_diff:
            norm = "before scaled to after's total" if self.model.normalize else "raw values"
            return (
                "<small>Diff: box width = before + after; "
                f"<span style='background:{GROWTH_COLOUR};color:white;padding:0 4px'>grew</span> "
                f"<span style='background:{SHRINK_COLOUR};color:white;padding:0 4px'>shrank</span>"
                f", stronger = larger relative change ({norm}). Click a box to zoom.</small>"
            )
        return (
            "<small>Box width = share of samples; colour = Go package; "
            f"<span style='background:{MATCH_COLOUR};padding:0 4px'>search match</span>. "
            "Click a box to zoom, an ancestor to zoom out.</small>"
        )

    def _redraw(self) -> None:
        m = self.model
        lay = m.layout
        flip = self._view.value == "icicle"
        if len(lay):
            x, y = lay.rect_xy(flip=flip)
            rows = -lay.row if flip else lay.row
            lo, hi = int(rows.min()), int(rows.max()) + 1
        else:
            x, y = np.zeros((1, 5)), np.zeros((1, 5))
            lo, hi = 0, 1
        tips = [m.tooltip(i).replace("\n", " | ") for i in range(len(lay))] or [""]
        colours = m.colours() or ["#EEEEEE"]
        lx, lrow, texts = m.labels()
        label_rows = -lrow if flip else lrow
        # Which drawn box each label belongs to, so a click on a label zooms too.
        fits = np.floor((lay.x1 - lay.x0) * m.width_px / 6.6).astype(int) - 1 >= 3
        self._label_box = [int(i) for i in np.flatnonzero(fits)]
        height = self._height_px(hi - lo)
        # Rows ROW_PX high while they fit (fewer rows leave space above a flame, below an
        # icicle), squeezed into MAX_HEIGHT_PX when they do not.
        span = max(float(hi - lo), (height - 12) / ROW_PX)
        with self._figure.hold_sync(), self._boxes.hold_sync(), self._text.hold_sync():
            if flip:  # the root row stays at the top
                self._ys.min, self._ys.max = hi - span, float(hi)
            else:
                self._ys.min, self._ys.max = float(lo), lo + span
            self._boxes.x = x
            self._boxes.y = y
            self._boxes.fill_colors = colours
            self._boxes.fill_opacities = [1.0] * len(colours)
            self._boxes.labels = tips
            self._text.x = lx
            self._text.y = label_rows.astype(float) + 0.5
            self._text.text = texts
            if height != self._drawn_height_px:
                self._figure.layout.height = f"{height}px"
                self._drawn_height_px = height
        crumbs = " &rsaquo; ".join(f"<code>{html.escape(c)}</code>" for c in m.breadcrumb)
        extra = ""
        if m.sandwich_function:
            extra = (
                f" &nbsp; sandwich of <code>{html.escape(m.sandwich_function)}</code>: "
                "callers above, callees below"
            )
        self._breadcrumb.value = f"<small>Zoom: {crumbs}{extra}</small>"
        self._summary.value = summary_html(m.summary())

    def _height_px(self, n_rows: int) -> int:
        """The figure's height: enough for the most rows shown so far, never less.

        A zoom or a hide shows fewer rows, but the figure keeps its height: bqplot's Figure
        watches its size (a ResizeObserver) and redraws every mark again 300 ms after a change
        (``debouncedRelayout``, bqplot's Figure.ts), so a figure that shrank on each zoom was
        drawn twice, the second time ~400 ms after the click (benchmarks/README.md)."""
        need = int(min(MAX_HEIGHT_PX, max(MIN_HEIGHT_PX, n_rows * ROW_PX + 12)))
        return max(need, self._drawn_height_px)

    @contextmanager
    def _reporting(self, clear: bool = True) -> Iterator[None]:
        """Run a callback; show its error under the widget (a bad regex is a message, a bug a
        traceback) instead of losing it. Works with or without a kernel."""
        try:
            yield
        except ValueError as exc:
            self._errors.outputs = ()
            self._errors.append_stderr(f"{exc}\n")
        except Exception:  # a bug: keep the whole traceback visible
            self._errors.outputs = ()
            self._errors.append_stderr(traceback.format_exc())
        else:
            if clear:
                self._errors.outputs = ()

    # -- events --------------------------------------------------------------------------------

    def _on_box_click(self, _mark, content: dict) -> None:
        with self._reporting():
            index = (content.get("data") or {}).get("index")
            if index is not None:
                self.model.zoom_to_box(int(index))
                self._redraw()

    def _on_label_click(self, _mark, content: dict) -> None:
        with self._reporting():
            index = (content.get("data") or {}).get("index")
            if index is not None and 0 <= int(index) < len(self._label_box):
                self.model.zoom_to_box(self._label_box[int(index)])
                self._redraw()

    def _on_box_hover(self, _mark, content: dict) -> None:
        with self._reporting(clear=False):
            index = (content.get("data") or {}).get("index")
            if index is not None and 0 <= int(index) < self.model.rect_count:
                self._hover.value = (
                    "<small>"
                    + html.escape(self.model.tooltip(int(index))).replace("\n", " &middot; ")
                    + "</small>"
                )

    def _on_view(self, _change=None) -> None:
        with self._reporting():
            self._redraw()

    def _on_search(self, change) -> None:
        with self._reporting():
            self.search(change["new"])

    def _on_hide(self, change) -> None:
        with self._reporting():
            self.hide(change["new"])

    def _on_sandwich(self, change) -> None:
        with self._reporting():
            self.sandwich(change["new"])

    def _on_reset(self, _button) -> None:
        with self._reporting():
            self.reset()

    # -- Python API (tests, instructors, notebooks) --------------------------------------------

    def search(self, regex: str) -> float:
        """Highlight frames matching ``regex``; returns the share of samples with a match."""
        share = self.model.search(regex)
        if self._search_box.value != regex:
            self._search_box.value = regex  # observer calls back here; the model is already set
        self._redraw()
        return share

    def zoom_to(self, stack: Stack) -> None:
        """Zoom to the frame reached by ``stack`` (root first); ``()`` zooms out."""
        self.model.zoom_to(tuple(stack))
        if self._sandwich_box.value:
            self._sandwich_box.value = ""
        self._redraw()

    def reset(self) -> None:
        """Zoom out, clear the search and leave the sandwich view (hidden frames stay hidden)."""
        self.model.reset()
        self._search_box.value = ""
        self._sandwich_box.value = ""
        self._redraw()

    def hide(self, regex: str) -> None:
        """Hide frames matching ``regex``, their callees merged into their callers."""
        self.model.hide(regex)
        if self._hide_box.value != regex:
            self._hide_box.value = regex
        self._redraw()

    def sandwich(self, function: str) -> None:
        """Show ``function`` with its callers above and callees below (``""`` to leave)."""
        self.model.sandwich(function)
        if self._sandwich_box.value != function:
            self._sandwich_box.value = function
        self._redraw()

    def set_view(self, view: str) -> None:
        """``"flame"`` (root at the bottom) or ``"icicle"`` (root at the top)."""
        if view not in ("flame", "icicle"):
            raise ValueError(f"view must be 'flame' or 'icicle', got {view!r}")
        self._view.value = view

    def click(self, index: int) -> None:
        """Do what a click on drawn box ``index`` does (for tests)."""
        self._on_box_click(self._boxes, {"event": "element_click", "data": {"index": index}})

    @property
    def rect_count(self) -> int:
        """How many boxes are drawn."""
        return self.model.rect_count

    @property
    def view(self) -> str:
        return self._view.value

    @property
    def box_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """The drawn rectangles' (x, y) arrays, as the Lines mark holds them."""
        return np.asarray(self._boxes.x), np.asarray(self._boxes.y)

    @property
    def fill_colours(self) -> list[str]:
        return list(self._boxes.fill_colors)

    @property
    def label_texts(self) -> list[str]:
        return list(self._text.text)

    @property
    def errors(self) -> w.Output:
        return self._errors

    def summary(self) -> str:
        """One line: source, sample type, total, top function by self, matched share."""
        return self.model.summary()
