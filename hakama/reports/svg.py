"""Vector drawings for the report: the communes' map coloured by a value, as SVG.

Longitude is scaled by the cosine of the mean latitude (an equirectangular view), which is
true enough at a province's size; outlines are simplified to about 100 m so the file stays small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from hakama.core.territory import Area

#: From the best value to the worst (colour-blind-safe, teal → orange), as on the dashboards.
PALETTE = ("#1b7a6e", "#6aaa8f", "#c9c27a", "#e39a4d", "#c2462e")
NO_VALUE = "#e6e6e6"


@dataclass(frozen=True)
class Legend:
    """The classes of a map: (colour, low, high) from the best class to the worst."""

    classes: list[tuple[str, float, float]]


def classes(
    values: Mapping[str, float | None], *, higher_is_worse: bool = True
) -> tuple[dict[str, str], Legend]:
    """A fill per area (equal intervals between the lowest and highest value) and the legend."""
    valued = [v for v in values.values() if v is not None]
    if not valued:
        return dict.fromkeys(values, NO_VALUE), Legend([])
    low, high = min(valued), max(valued)
    span = (high - low) or 1.0
    n = len(PALETTE)
    fills: dict[str, str] = {}
    for code, value in values.items():
        if value is None:
            fills[code] = NO_VALUE
            continue
        step = min(int((value - low) / span * n), n - 1)
        fills[code] = PALETTE[step if higher_is_worse else n - 1 - step]
    bounds = [(low + span * i / n, low + span * (i + 1) / n) for i in range(n)]
    ordered = bounds if higher_is_worse else list(reversed(bounds))
    return fills, Legend([(PALETTE[i], lo, hi) for i, (lo, hi) in enumerate(ordered)])


def _rings(geom: BaseGeometry) -> list[list[tuple[float, float]]]:
    polygons = getattr(geom, "geoms", [geom])
    rings: list[list[tuple[float, float]]] = []
    for polygon in polygons:
        if polygon.geom_type != "Polygon":
            continue
        rings.append(list(polygon.exterior.coords))
        rings.extend(list(r.coords) for r in polygon.interiors)
    return rings


def choropleth(
    areas: Sequence[Area],
    fills: Mapping[str, str],
    *,
    width: float = 480,
    highlight: str | None = None,
    labels: Mapping[str, str] | None = None,
    title: str = "",
) -> str:
    """An SVG map of `areas` filled by `fills`; `highlight` is outlined thick; `title` names it
    for screen readers (an image needs a name); `labels` are
    short marks (numbers) drawn at each area's centre, keyed by area code."""
    shapes = {a.code: shape(a.geometry).simplify(0.002) for a in areas if a.geometry}
    if not shapes:
        return ""
    minx = min(g.bounds[0] for g in shapes.values())
    miny = min(g.bounds[1] for g in shapes.values())
    maxx = max(g.bounds[2] for g in shapes.values())
    maxy = max(g.bounds[3] for g in shapes.values())
    kx = math.cos(math.radians((miny + maxy) / 2))
    scale = width / ((maxx - minx) * kx or 1)
    height = (maxy - miny) * scale

    def point(x: float, y: float) -> str:
        return f"{(x - minx) * kx * scale:.1f},{(maxy - y) * scale:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" style="direction: ltr"'
        + (f' aria-label="{escape(title)}">' if title else ">")
    ]
    order = sorted(shapes, key=lambda c: c == highlight)  # the highlighted one drawn last
    for code in order:
        d = " ".join(
            "M" + " L".join(point(x, y) for x, y in ring) + " Z" for ring in _rings(shapes[code])
        )
        stroke = (
            ' stroke="#111" stroke-width="2.5"'
            if code == highlight
            else ' stroke="#fff" stroke-width="0.8"'
        )
        parts.append(
            f'<path d="{d}" fill="{escape(fills.get(code, NO_VALUE))}" fill-rule="evenodd"{stroke}>'
            f"<title>{escape(code)}</title></path>"
        )
    for code, mark in (labels or {}).items():
        if code not in shapes:
            continue
        centre = shapes[code].representative_point()
        x, y = point(centre.x, centre.y).split(",")
        parts.append(
            f'<text x="{x}" y="{y}" font-size="11" font-family="sans-serif" text-anchor="middle" '
            f'dominant-baseline="middle" fill="#111" stroke="#fff" stroke-width="2.5" '
            f'paint-order="stroke">{escape(mark)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


#: Up to six series, told apart by colour and dash (colour-blind-safe, Okabe–Ito).
SERIES = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
DASHES = ("", "6 3", "2 2", "8 3 2 3", "", "4 4", "")


def _nice(value: float) -> str:
    size = abs(value)
    return f"{value:,.0f}" if size >= 100 else f"{value:,.1f}" if size >= 10 else f"{value:,.2f}"


def line_chart(
    series: Sequence[tuple[str, Sequence[float | None]]],
    x_labels: Sequence[str],
    *,
    rtl: bool = False,
    width: float = 640,
    height: float = 280,
    legend: bool = True,
) -> str:
    """Lines over periods (oldest first); in right-to-left pages time runs from right to left.
    Gaps stay gaps. Labels are text, so Arabic month names are drawn by the browser's shaper."""
    values = [v for _, vs in series for v in vs if v is not None]
    if not values or not x_labels:
        return ""
    low, high = min(0.0, min(values)), max(values)
    high = high if high > low else low + 1
    left, right, top, bottom = 48.0, 12.0, 12.0, 40.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(x_labels)

    def x(i: int) -> float:
        step = plot_w / max(n - 1, 1)
        offset = i * step if n > 1 else plot_w / 2
        return left + (plot_w - offset if rtl else offset)

    def y(v: float) -> float:
        return top + plot_h - (v - low) / (high - low) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" class="chart" role="img" style="direction: ltr">']
    for k in range(5):
        v = low + (high - low) * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end" fill="#555" direction="ltr">{escape(_nice(v))}</text>')
    every = max(1, n // max(2, int(width // 80)))
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" font-size="10" text-anchor="middle" fill="#555">{escape(label)}</text>')
    for index, (name, vs) in enumerate(series):
        colour, dash = SERIES[index % len(SERIES)], DASHES[index % len(DASHES)]
        runs: list[list[str]] = [[]]
        for i, point in enumerate(vs):
            if point is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(point):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"'
                             f'{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}><title>{escape(name)}</title></polyline>')
            for mark in run:
                px, py = mark.split(",")
                parts.append(f'<circle cx="{px}" cy="{py}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    keys: Sequence[str],
    *,
    rtl: bool = False,
    width: float = 640,
) -> str:
    """Horizontal bars, one group per area, one bar per key (this period, previous, last year)."""
    values = [v for _, vs in groups for v in vs if v is not None]
    if not values:
        return ""
    high = max(max(values), 0.0) or 1.0
    bar, gap, label_w, value_w = 9.0, 8.0, 150.0, 56.0
    height = len(groups) * (len(keys) * bar + gap) + 24
    plot_w = width - label_w - value_w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" class="chart" role="img" style="direction: ltr">']
    yy = 4.0
    for name, vs in groups:
        label_x = width - 4 if rtl else 4
        anchor = "end" if rtl else "start"
        parts.append(f'<text x="{label_x}" y="{yy + bar * len(keys) / 2 + 4:.1f}" font-size="11" text-anchor="{anchor}">{escape(name)}</text>')
        for k, bar_value in enumerate(vs):
            if bar_value is None:
                continue
            w = max(bar_value, 0.0) / high * plot_w
            x0 = (width - label_w - w) if rtl else label_w
            parts.append(f'<rect x="{x0:.1f}" y="{yy + k * bar:.1f}" width="{w:.1f}" height="{bar - 1}" fill="{SERIES[k]}"><title>{escape(keys[k])}</title></rect>')
            vx = x0 - 3 if rtl else x0 + w + 3
            parts.append(f'<text x="{vx:.1f}" y="{yy + k * bar + bar - 2:.1f}" font-size="9" text-anchor="{"end" if rtl else "start"}" fill="#333" direction="ltr">{escape(_nice(bar_value))}</text>')
        yy += len(keys) * bar + gap
    parts.append("</svg>")
    return "".join(parts)
