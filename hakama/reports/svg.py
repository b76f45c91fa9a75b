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
) -> str:
    """An SVG map of `areas` filled by `fills`; `highlight` is outlined thick; `labels` are
    short marks (numbers) drawn at each area's centre, keyed by area code."""
    shapes = {a.code: shape(a.geometry).simplify(0.001) for a in areas if a.geometry}
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
        f'width="{width:.0f}" height="{height:.0f}" role="img">'
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
