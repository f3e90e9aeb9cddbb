"""One bqplot ``Figure`` drawn as static SVG: the picture a committed notebook shows where no
kernel runs the widget (GitHub, nbviewer, the course's website).

Why a writer of the course's own and not matplotlib: the picture must be the figure the widget
drew, read from the same ``Figure`` (its marks' data, colours, scales, axes and labels), so any
renderer needs a translation of bqplot's model; with that translation written, emitting SVG is a
few lines per mark. matplotlib would add a dependency to every learner's kernel (a widget makes
its picture whenever it is displayed), build a font cache at first import, and write files
several times larger (glyph paths, per-artist clip groups) into notebooks meant to stay small.

Only what the course's figures use is drawn: ``LinearScale`` and ``LogScale``; ``Lines`` (plain,
filled ``inside`` or to the ``bottom``, step interpolation, dashes, gaps at NaN), ``Scatter``,
``Bars`` (stacked or grouped) and ``Label``; axes with ticks, grid lines and labels. Anything else
raises :class:`PictureError`: the tests draw every widget, so a new kind of mark is found there
instead of silently missing from a picture.

The geometry is bqplot's own (bqplot 0.13 ``Figure.ts`` and ``Axis.ts``): the plot area is the
figure less ``fig_margin``; a scale's data span maps onto that area less ``padding_x`` /
``padding_y`` of it at each end (plus a mark's own padding, a scatter's marker radius), and its
axis shows the whole area, so the domain is extended to match; ticks are d3's ``scale.ticks()``
(about ten) unless the axis gives ``tick_values``; a log axis keeps the 1, 2, 5 of each decade.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass

import bqplot as bq
import numpy as np

from labkit.errors import LabkitError

#: bqplot's default mark colours (d3's category10) when a mark gives none.
CATEGORY10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
DASHES = {"solid": None, "dashed": "8,5", "dotted": "2,4", "dash_dotted": "8,4,2,4"}
TICK_FONT_PX, LABEL_FONT_PX, TITLE_FONT_PX = 11, 13, 15
GRID_COLOUR, AXIS_COLOUR = "#e3e3e3", "#666666"


class PictureError(LabkitError):
    """A widget holds something the static picture cannot draw (a mark or scale it does not know)."""


def num(v: float) -> str:
    """A coordinate for SVG: one decimal place (a tenth of a pixel), no trailing ``.0``."""
    s = f"{v:.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0" if s == "-0" else s


def esc(text: str) -> str:
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------- scales


@dataclass(frozen=True)
class PixelScale:
    """A scale's data domain mapped onto pixels: ``lo`` -> ``px_lo``, ``hi`` -> ``px_hi``."""

    lo: float
    hi: float
    px_lo: float
    px_hi: float
    log: bool

    def _t(self, v):
        return np.log10(v) if self.log else v

    def __call__(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = self._t(self.lo), self._t(self.hi)
            frac = (self._t(v) - t0) / (t1 - t0) if t1 != t0 else np.full_like(v, 0.5)
        return self.px_lo + frac * (self.px_hi - self.px_lo)

    def invert(self, px: float) -> float:
        t0, t1 = self._t(self.lo), self._t(self.hi)
        t = t0 + (px - self.px_lo) / (self.px_hi - self.px_lo) * (t1 - t0)
        return float(10**t) if self.log else float(t)


def _finite(values: Iterable) -> np.ndarray:
    chunks = [np.asarray(v, dtype=float).ravel() for v in values]
    data = np.concatenate(chunks) if chunks else np.zeros(0)
    return data[np.isfinite(data)]


def _mark_extent(mark: bq.Mark, dim: str) -> list[np.ndarray]:
    """The data a mark spreads over one dimension (bars: their stacked tops and base too)."""
    if isinstance(mark, bq.Bars) and dim == "y":
        y = np.atleast_2d(np.asarray(mark.y, dtype=float))
        tops = y.sum(axis=0) if mark.type == "stacked" else y
        return [tops, np.array([float(mark.base)])]
    if isinstance(mark, bq.Bars) and dim == "x":
        x = np.asarray(mark.x, dtype=float)
        half = _bar_step(x) / 2
        return [x - half, x + half]
    return [np.asarray(getattr(mark, dim), dtype=float)]


def _bar_step(x: np.ndarray) -> float:
    steps = np.diff(np.sort(x))
    steps = steps[steps > 0]
    return float(steps.min()) if steps.size else 1.0


def _mark_pad_px(mark: bq.Mark) -> float:
    """A mark's own padding (bqplot's xPadding/yPadding): a scatter keeps its markers inside."""
    if isinstance(mark, bq.Scatter) and np.size(mark.x):
        return math.sqrt(float(mark.default_size)) / 2
    return 0.0


def pixel_scale(
    scale: bq.Scale, marks: list, dim: str, size_px: float, pad_frac: float
) -> PixelScale:
    """Where a scale's domain lands on the plot area, as bqplot's Figure places it."""
    if not isinstance(scale, bq.LinearScale | bq.LogScale):
        raise PictureError(f"the static picture cannot draw a {type(scale).__name__}")
    log = isinstance(scale, bq.LogScale)
    users = [m for m in marks if m.scales.get(dim) is scale and m.visible]
    data = _finite(chunk for m in users for chunk in _mark_extent(m, dim))
    if log:
        data = data[data > 0]
    lo = float(scale.min) if scale.min is not None else (float(data.min()) if data.size else 0.0)
    hi = float(scale.max) if scale.max is not None else (float(data.max()) if data.size else 1.0)
    if hi == lo:
        lo, hi = (lo / 10, lo * 10) if log else (lo - 0.5, hi + 0.5)
    pad = size_px * pad_frac + max((_mark_pad_px(m) for m in users), default=0.0)
    # x runs left to right and y bottom to top, unless the scale is reversed (a timeline's P0
    # on top, a percentile axis with its tail on the right)
    near, far = (pad, size_px - pad) if dim == "x" else (size_px - pad, pad)
    if scale.reverse:
        near, far = far, near
    inner = PixelScale(lo, hi, near, far, log)
    if dim == "x":
        return PixelScale(inner.invert(0.0), inner.invert(size_px), 0.0, size_px, log)
    return PixelScale(inner.invert(size_px), inner.invert(0.0), size_px, 0.0, log)


# ---------------------------------------------------------------- ticks


def linear_ticks(lo: float, hi: float, count: int = 10) -> np.ndarray:
    """d3's ``ticks(count)``: multiples of a 1-2-5 step inside [lo, hi] (d3-array ticks.js)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    step0 = (hi - lo) / count
    power = math.floor(math.log10(step0))
    error = step0 / 10**power
    factor = (
        10
        if error >= math.sqrt(50)
        else 5
        if error >= math.sqrt(10)
        else 2
        if error >= math.sqrt(2)
        else 1
    )
    step = factor * 10.0**power
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return np.round(np.arange(first, last + 1) * step, 12)


def log_ticks(lo: float, hi: float) -> np.ndarray:
    """bqplot's log axis: 1, 2 and 5 of each decade over two decades, decades beyond."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    span = abs(math.log10(hi / lo))
    mults = (1, 2, 3, 4, 5, 6, 7, 8, 9) if span < 2 else (1, 2, 5) if span < 7 else (1,)
    ticks = [m * 10.0**d for d in decades for m in mults]
    return np.array([t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)])


def tick_formatter(spec: str | None, ticks: np.ndarray):
    """d3-format for the specifiers the course uses (``d``, ``.0%``, ``~g``, ``.Nf``), else
    bqplot's guess: whole numbers when the step is, otherwise as many decimals as the step has."""
    if spec == "d":
        return lambda v: str(int(round(v)))
    if spec and spec.endswith("%"):
        digits = int(spec[1:-1] or 0) if spec.startswith(".") else 0
        return lambda v: f"{v * 100:.{digits}f}%"
    if spec == "~g":
        return lambda v: f"{v:g}"
    if spec and spec.startswith(".") and spec.endswith("f"):
        return lambda v: f"{v:.{int(spec[1:-1])}f}"
    if spec:
        raise PictureError(f"the static picture does not know the tick format {spec!r}")
    step = float(np.min(np.diff(ticks))) if ticks.size > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    return lambda v: f"{v:.{decimals}f}" if decimals else f"{v:g}" if abs(v) < 1e6 else f"{v:.3g}"


# ---------------------------------------------------------------- marks


def _colour(colours, i: int, default: str | None = None) -> str:
    colours = list(colours or [])
    if colours:
        return str(colours[i % len(colours)])
    return default or CATEGORY10[i % len(CATEGORY10)]


def _opacity(values, i: int) -> float:
    values = list(np.atleast_1d(values)) if values is not None else []
    return float(values[i % len(values)]) if len(values) else 1.0


def _curves(mark: bq.Lines) -> list[tuple[np.ndarray, np.ndarray]]:
    x = np.asarray(mark.x, dtype=float)
    y = np.asarray(mark.y, dtype=float)
    ys = y if y.ndim == 2 else y[np.newaxis, :]
    xs = (
        x if x.ndim == 2 else np.broadcast_to(x, (len(ys), x.shape[-1]) if x.size else (len(ys), 0))
    )
    keep = list(mark.curves_subset) or range(len(ys))
    return [(xs[i], ys[i]) for i in keep if i < len(ys)]


def _path(px: np.ndarray, py: np.ndarray, interpolation: str, close: bool) -> str:
    """An SVG path through the points, broken at NaN as d3's line with ``defined`` is."""
    ok = np.isfinite(px) & np.isfinite(py)
    parts, run = [], []
    for okay, x, y in zip(ok, px, py, strict=True):
        if okay:
            run.append((x, y))
        elif run:
            parts.append(run)
            run = []
    if run:
        parts.append(run)
    d = []
    for pts in parts:
        if len(pts) < 2:
            continue  # a point alone between gaps: d3 moves to it and draws nothing
        if interpolation == "step-after":
            pts = [q for a, b in zip(pts, pts[1:], strict=False) for q in (a, (b[0], a[1]))] + [
                pts[-1]
            ]
        elif interpolation == "step-before":
            pts = [pts[0]] + [
                q for a, b in zip(pts, pts[1:], strict=False) for q in ((a[0], b[1]), b)
            ]
        elif interpolation not in ("linear", "basis", "cardinal", "monotone"):
            raise PictureError(f"the static picture cannot draw interpolation {interpolation!r}")
        d.append("M" + "L".join(f"{num(x)},{num(y)}" for x, y in pts) + ("Z" if close else ""))
    return "".join(d)


def _down_to(px: np.ndarray, py: np.ndarray, base_px: float) -> tuple[np.ndarray, np.ndarray]:
    """A ``fill='bottom'`` area as bqplot draws it (d3's area with ``defined``): each run of
    points between gaps (NaN) closed down to the baseline, the runs apart (NaN between them)."""
    ok = np.isfinite(px) & np.isfinite(py)
    xs: list[float] = []
    ys: list[float] = []
    start = None
    for i in range(len(ok) + 1):
        if i < len(ok) and ok[i]:
            start = i if start is None else start
            continue
        if start is not None and i - start > 1:  # a point alone: no width, nothing drawn
            if xs:
                xs.append(np.nan)
                ys.append(np.nan)
            xs += [px[start], *px[start:i], px[i - 1]]
            ys += [base_px, *py[start:i], base_px]
        start = None
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def lines_svg(mark: bq.Lines, sx: PixelScale, sy: PixelScale) -> list[str]:
    """Each curve a path; curves that look alike (a timeline's boxes of one colour) share one
    path element, which keeps a 1,700-box timeline to a few dozen elements."""
    if mark.fill not in ("none", "inside", "bottom"):
        raise PictureError(f"the static picture cannot draw Lines(fill={mark.fill!r})")
    dash = DASHES[mark.line_style]
    groups: dict[tuple, list[str]] = {}
    for i, (x, y) in enumerate(_curves(mark)):
        px, py = sx(x), sy(y)
        if mark.fill == "bottom":
            px, py = _down_to(px, py, sy.px_lo)
        filled = mark.fill != "none"
        fill = _colour(mark.fill_colors, i, _colour(mark.colors, i)) if filled else "none"
        style = (
            fill,
            _colour(mark.colors, i),
            _opacity(mark.fill_opacities, i) if filled else 1.0,
            _opacity(mark.opacities, i),
        )
        closed = filled or bool(mark.close_path)
        groups.setdefault(style, []).append(_path(px, py, mark.interpolation, closed))
    out = []
    for (fill, stroke, fill_op, op), paths in groups.items():
        attrs = f"fill='{esc(fill)}' stroke='{esc(stroke)}' stroke-width='{mark.stroke_width:g}'"
        attrs += f" fill-opacity='{fill_op:g}'" if fill != "none" and fill_op != 1 else ""
        attrs += f" opacity='{op:g}'" if op != 1 else ""
        attrs += f" stroke-dasharray='{dash}'" if dash else ""
        out.append(f"<path {attrs} d='{''.join(paths)}'/>")
    return out


def _symbol(marker: str, area: float) -> str:
    """A d3 symbol of the given area (px^2) centred on 0,0, as a path (d3-shape symbol/*.js)."""
    if marker == "circle":
        r = math.sqrt(area / math.pi)
        return f"M{num(-r)},0a{num(r)},{num(r)} 0 1,0 {num(2 * r)},0a{num(r)},{num(r)} 0 1,0 {num(-2 * r)},0"
    if marker == "square":
        h = math.sqrt(area) / 2
        return f"M{num(-h)},{num(-h)}h{num(2 * h)}v{num(2 * h)}h{num(-2 * h)}Z"
    if marker == "diamond":
        y = math.sqrt(area / (2 * math.tan(math.pi / 6)))
        x = y * math.tan(math.pi / 6)
        return f"M0,{num(-y)}L{num(x)},0L0,{num(y)}L{num(-x)},0Z"
    if marker == "cross":
        r = math.sqrt(area / 5) / 2
        pts = [
            (-3, -1),
            (-1, -1),
            (-1, -3),
            (1, -3),
            (1, -1),
            (3, -1),
            (3, 1),
            (1, 1),
            (1, 3),
            (-1, 3),
            (-1, 1),
            (-3, 1),
        ]
        return "M" + "L".join(f"{num(a * r)},{num(b * r)}" for a, b in pts) + "Z"
    if marker in ("triangle-up", "triangle-down"):
        y = math.sqrt(area / (3 * math.sqrt(3)))
        s = -1 if marker == "triangle-up" else 1
        return f"M0,{num(s * 2 * y)}L{num(y * math.sqrt(3))},{num(-s * y)}L{num(-y * math.sqrt(3))},{num(-s * y)}Z"
    raise PictureError(f"the static picture cannot draw Scatter(marker={marker!r})")


def scatter_svg(mark: bq.Scatter, sx: PixelScale, sy: PixelScale) -> list[str]:
    px, py = sx(mark.x), sy(mark.y)
    shape = _symbol(mark.marker, float(mark.default_size))
    stroke = (
        f" stroke='{esc(mark.stroke)}' stroke-width='{mark.stroke_width:g}'" if mark.stroke else ""
    )
    out = []
    for i, (x, y) in enumerate(zip(px, py, strict=True)):
        if np.isfinite(x) and np.isfinite(y):
            fill = _colour(mark.colors, i) if mark.fill else "none"
            op = _opacity(mark.default_opacities if mark.default_opacities else mark.opacities, i)
            opacity = f" opacity='{op:g}'" if op != 1 else ""
            out.append(
                f"<path transform='translate({num(x)},{num(y)})' fill='{esc(fill)}'{stroke}{opacity} d='{shape}'/>"
            )
    return out


def bars_svg(mark: bq.Bars, sx: PixelScale, sy: PixelScale) -> list[str]:
    if mark.orientation != "vertical" or mark.type not in ("stacked", "grouped"):
        raise PictureError(f"the static picture cannot draw Bars({mark.orientation}, {mark.type})")
    x = np.asarray(mark.x, dtype=float)
    ys = np.atleast_2d(np.asarray(mark.y, dtype=float))
    width = (
        abs(float(sx(x[0] + _bar_step(x)) - sx(x[0]))) * (1 - float(mark.padding)) if x.size else 0
    )
    left = sx(x) - (width / 2 if mark.align == "center" else 0 if mark.align == "right" else width)
    base = np.full(x.shape, float(mark.base))
    out = []
    for k, y in enumerate(ys):
        share = width / len(ys) if mark.type == "grouped" else width
        offset = k * share if mark.type == "grouped" else 0.0
        lo, hi = (
            (base, base + y) if mark.type == "stacked" else (np.full(x.shape, float(mark.base)), y)
        )
        top, bottom = sy(hi), sy(lo)
        colour = _colour(mark.colors, k)
        rects = "".join(
            f"M{num(left[j] + offset)},{num(min(top[j], bottom[j]))}h{num(share)}v{num(abs(bottom[j] - top[j]))}h{num(-share)}Z"
            for j in range(x.size)
            if np.isfinite(y[j]) and y[j] != 0
        )
        op = _opacity(mark.opacities, k)
        if rects:
            out.append(
                f"<path fill='{esc(colour)}'{f' opacity={op:g}' if op != 1 else ''} d='{rects}'/>"
            )
        if mark.type == "stacked":
            base = base + np.nan_to_num(y)
    return out


def label_svg(mark: bq.Label, sx: PixelScale, sy: PixelScale) -> list[str]:
    anchor = {"start": "start", "middle": "middle", "end": "end"}[mark.align]
    size = float(mark.default_size)
    out = []
    for i, (x, y, text) in enumerate(zip(sx(mark.x), sy(mark.y), mark.text, strict=False)):
        if np.isfinite(x) and np.isfinite(y) and text:
            out.append(
                f"<text x='{num(x + mark.x_offset)}' y='{num(y - mark.y_offset)}' font-size='{size:g}'"
                f" text-anchor='{anchor}' fill='{esc(_colour(mark.colors, i, 'black'))}'"
                f"{' font-weight=' + repr(mark.font_weight) if mark.font_weight != 'normal' else ''}>"
                f"{esc(text)}</text>"
            )
    return out


MARKS = {bq.Lines: lines_svg, bq.Scatter: scatter_svg, bq.Bars: bars_svg, bq.Label: label_svg}


# ---------------------------------------------------------------- axes and the figure


def _axis_ticks(axis: bq.Axis, scale: PixelScale) -> np.ndarray:
    given = axis.tick_values
    lo, hi = sorted((scale.lo, scale.hi))  # a reversed scale runs from hi to lo
    if given is not None and np.size(given):
        ticks = np.asarray(given, dtype=float)
    elif axis.num_ticks is not None:
        ticks = np.linspace(lo, hi, int(axis.num_ticks))
    else:
        ticks = log_ticks(lo, hi) if scale.log else linear_ticks(lo, hi)
    span = hi - lo
    return ticks[(ticks >= lo - 1e-9 * span) & (ticks <= hi + 1e-9 * span)]


def axis_svg(axis: bq.Axis, scale: PixelScale, w: float, h: float, margin: dict) -> list[str]:
    """Ticks, grid lines, tick labels and the axis label of one axis (d3-axis geometry)."""
    if not axis.visible:
        return []
    vertical = axis.orientation == "vertical" or axis.side in ("left", "right")
    side = axis.side or ("left" if vertical else "bottom")
    ticks = _axis_ticks(axis, scale)
    label_of = tick_formatter(axis.tick_format, ticks)
    out, grid = [], axis.grid_lines != "none"
    for t in ticks:
        p = num(float(scale(t)))
        text = esc(label_of(float(t)))
        if vertical:
            x0 = 0 if side == "left" else w
            if grid and side == "left":
                out.append(f"<line x1='0' x2='{num(w)}' y1='{p}' y2='{p}' stroke='{GRID_COLOUR}'/>")
            dx, anchor = (-9, "end") if side == "left" else (9, "start")
            out.append(
                f"<text x='{num(x0 + dx)}' y='{p}' dy='0.32em' text-anchor='{anchor}'>{text}</text>"
            )
        else:
            if grid:
                out.append(f"<line x1='{p}' x2='{p}' y1='0' y2='{num(h)}' stroke='{GRID_COLOUR}'/>")
            out.append(f"<text x='{p}' y='{num(h + 18)}' text-anchor='middle'>{text}</text>")
    if vertical:
        x0 = 0 if side == "left" else w
        out.append(
            f"<line x1='{num(x0)}' x2='{num(x0)}' y1='0' y2='{num(h)}' stroke='{AXIS_COLOUR}'/>"
        )
        if axis.label:
            lx = -margin["left"] + 14 if side == "left" else w + margin["right"] - 8
            out.append(
                f"<text transform='translate({num(lx)},{num(h / 2)}) rotate(-90)' text-anchor='middle'"
                f" font-size='{LABEL_FONT_PX}'>{esc(axis.label)}</text>"
            )
    else:
        out.append(
            f"<line x1='0' x2='{num(w)}' y1='{num(h)}' y2='{num(h)}' stroke='{AXIS_COLOUR}'/>"
        )
        if axis.label:
            out.append(
                f"<text x='{num(w / 2)}' y='{num(h + 36)}' text-anchor='middle'"
                f" font-size='{LABEL_FONT_PX}'>{esc(axis.label)}</text>"
            )
    return out


def figure_svg(fig: bq.Figure, width_px: float, height_px: float, clip_id: str) -> str:
    """The figure as an SVG group of ``width_px`` x ``height_px`` with its origin top-left.

    ``clip_id`` names the plot area's clip path; it must be unique in the page that shows the
    picture (a notebook holds many), so the caller derives it from the picture's content."""
    margin = {**{"top": 60, "bottom": 60, "left": 60, "right": 60}, **dict(fig.fig_margin or {})}
    w = max(10.0, width_px - margin["left"] - margin["right"])
    h = max(10.0, height_px - margin["top"] - margin["bottom"])
    marks = [m for m in fig.marks if m.visible]
    scales: dict[int, PixelScale] = {}
    for m in marks:
        for dim in ("x", "y"):
            s = m.scales.get(dim)
            if s is not None and id(s) not in scales:
                size, pad = (w, float(fig.padding_x)) if dim == "x" else (h, float(fig.padding_y))
                scales[id(s)] = pixel_scale(s, marks, dim, size, pad)
    body = []
    for axis in fig.axes:
        dim = "y" if axis.orientation == "vertical" or axis.side in ("left", "right") else "x"
        size, pad = (w, float(fig.padding_x)) if dim == "x" else (h, float(fig.padding_y))
        scale = scales.get(id(axis.scale)) or pixel_scale(axis.scale, marks, dim, size, pad)
        body += axis_svg(axis, scale, w, h, margin)
    drawn = []
    for m in marks:
        draw = MARKS.get(type(m))
        if draw is None:
            raise PictureError(f"the static picture cannot draw a {type(m).__name__} mark")
        drawn += draw(m, scales[id(m.scales["x"])], scales[id(m.scales["y"])])
    title = (
        f"<text x='{num(w / 2)}' y='{num(-margin['top'] / 2)}' dy='0.32em' text-anchor='middle'"
        f" font-size='{TITLE_FONT_PX}'>{esc(fig.title)}</text>"
        if fig.title
        else ""
    )
    return (
        f"<g transform='translate({num(margin['left'])},{num(margin['top'])})' font-size='{TICK_FONT_PX}'>"
        f"<clipPath id='{clip_id}'><rect width='{num(w)}' height='{num(h)}'/></clipPath>"
        + "".join(body)
        + f"<g clip-path='url(#{clip_id})'>"
        + "".join(drawn)
        + "</g>"
        + title
        + "</g>"
    )
