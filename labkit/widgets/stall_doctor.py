"""The stall doctor's view: the timeline with its stall windows shaded, and the findings.

``StallDoctor(diagnosis)`` draws what ``labkit.stalls.diagnose`` read (a real trace or a model
run) with the course's SchedulerTimeline, shades every stall window across the Ps, and lists
the findings beside it, largest first; choosing one zooms the timeline to the stall its largest
piece of evidence explains and prints that evidence, so a reader can check it by eye and then in
``go tool trace``.
"""

from __future__ import annotations

import html
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from labkit.errors import ParameterError
from labkit.widgets._style import OKABE_ITO, TextFallback
from labkit.widgets.timeline import SchedulerTimeline

#: The stall windows' shade (sky blue, faint, so the boxes stay readable through it).
SHADE = OKABE_ITO[4]
SHADE_OPACITY = 0.25


def union_of_windows(starts: list[float], ends: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """The stall windows merged where they overlap: several goroutines stalled at once (a
    service's handlers waiting together) would otherwise stack their translucent shades into
    an opaque block that hides the timeline under it."""
    order = np.argsort(starts, kind="stable")
    out_a: list[float] = []
    out_b: list[float] = []
    for i in order:
        if out_b and starts[i] <= out_b[-1]:
            out_b[-1] = max(out_b[-1], ends[i])
        else:
            out_a.append(starts[i])
            out_b.append(ends[i])
    return np.array(out_a, dtype=float), np.array(out_b, dtype=float)


class StallDoctor(TextFallback, w.VBox):
    """A diagnosis drawn: the run's timeline with the stall windows shaded, the findings as a
    menu (choose one to zoom to its evidence), and the evidence of the one chosen."""

    def __init__(self, diagnosis: Any, height_px: int = 260) -> None:
        if not hasattr(diagnosis, "findings") or getattr(diagnosis, "run", None) is None:
            raise ParameterError(
                f"StallDoctor needs a labkit.stalls.diagnose(...) result, got "
                f"{type(diagnosis).__name__}; pass diagnose(trace_or_model_run)"
            )
        self.diagnosis = diagnosis
        self.timeline = SchedulerTimeline(height_px, title="Stalls (shaded) and who ran where")
        self.timeline.show(diagnosis.run, kinds=self._kinds())
        fig = self.timeline.figure
        xs, ys = fig.marks[0].scales["x"], fig.marks[0].scales["y"]
        self._shade = bq.Lines(
            x=np.zeros((1, 5)),
            y=np.zeros((1, 5)),
            scales={"x": xs, "y": ys},
            fill="inside",
            close_path=True,
            colors=[SHADE],
            fill_colors=[SHADE],
            fill_opacities=[SHADE_OPACITY],
            stroke_width=0.0,
        )
        self._shade_windows()
        fig.marks = [*fig.marks, self._shade]  # over the boxes, faint: they show through
        options = [(self._label(i, f), i) for i, f in enumerate(diagnosis.findings)]
        self._menu = w.Dropdown(
            options=options or [("no stall found", -1)],
            value=options[0][1] if options else -1,
            description="finding",
            layout=w.Layout(width="100%"),
            disabled=not options,
        )
        self._detail = w.HTML()
        self._menu.observe(self._focus, names="value")
        super().__init__([self.timeline, self._menu, self._detail])
        self.add_class("labkit-doctor")
        self._focus()

    def _kinds(self) -> dict[str, str]:
        """Each goroutine's colour group by its timeline label: the stalled goroutines, the
        goroutines the findings blame, and the rest (grey)."""
        d = self.diagnosis
        facts = d.facts
        is_trace = hasattr(d.run, "goroutine_label")

        def label(g: int) -> str:
            return facts.name(g) if is_trace else facts.names.get(g, str(g))

        kinds = {label(g): "rest" for g in facts.names}
        kinds.update({label(g): "blamed" for f in d.findings for g in f.goroutines})
        kinds.update({label(s.g): "stalled" for s in d.stalls})
        return kinds

    def _shade_windows(self) -> None:
        d = self.diagnosis
        ys = self.timeline.figure.marks[0].scales["y"]
        lo, hi = float(ys.min), float(ys.max)
        if not d.stalls:
            return
        a, b = union_of_windows([s.start_ms for s in d.stalls], [s.end_ms for s in d.stalls])
        self._shade.x = np.stack([a, b, b, a, a], axis=1)
        self._shade.y = np.tile([lo, lo, hi, hi, lo], (len(a), 1))
        self._shade.fill_colors = [SHADE] * len(a)
        # one opacity each: bqplot fills the shades without one opaque
        self._shade.fill_opacities = [SHADE_OPACITY] * len(a)

    def _label(self, i: int, f: Any) -> str:
        who = ", ".join(self.diagnosis.facts.name(g) for g in f.goroutines[:2])
        return f"{i + 1}. {f.cause}: {f.share:.0%} of the stall time" + (
            f" (blame {who})" if who else ""
        )

    def _focus(self, _change: Any = None) -> None:
        """Show the chosen finding: zoom to its largest piece's window, list its evidence."""
        from labkit.stalls.report import MEANING

        i = self._menu.value
        if i < 0:
            self._detail.value = "<i>No stall found: nothing waited long for a P or a lock, no "
            self._detail.value += "timer fired late.</i>"
            return
        f = self.diagnosis.findings[i]
        a, b = f.focus_ms
        pad = max(0.6 * (b - a), 1.0)  # the window and as much again around it
        window = self.timeline._window
        window.value = (max(window.min, a - pad), min(window.max, b + pad))
        items = "".join(f"<li>{html.escape(e)}</li>" for e in f.evidence)
        self._detail.value = (
            f"<b>{html.escape(f.cause)}</b>: {html.escape(MEANING[f.cause])}. "
            f"{f.ms:.1f} ms of {self.diagnosis.stall_ms:.1f} ms of stall.<ul>{items}</ul>"
        )

    def summary(self) -> str:
        return self.diagnosis.summary()
