"""What the home page shows of a territory, worked out from its areas alone.

Nothing here knows a particular province: the territory is the area the communes belong to
(or, when the communes of several provinces are loaded, the nearest area above them all), the
census years are the ones the areas carry, and the credits are the areas' own attributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape

from hakama.core.territory import Area, Level, ancestors

#: Outlines are simplified for drawing (about 80 m: under 2 px on a desktop screen) so the
#: page stays light on a phone; the stored outlines, which place points, are not touched.
DRAW_TOLERANCE_DEG = 0.0008
DRAW_DECIMALS = 4


@dataclass(frozen=True)
class CommuneFigures:
    """One commune's census figures for the two latest censuses the territory has."""

    area: Area
    latest: int | None
    previous: int | None

    @property
    def change_pct(self) -> float | None:
        if self.latest is None or not self.previous:
            return None
        return (self.latest - self.previous) / self.previous * 100

    @property
    def approximate(self) -> bool:
        """The source marked these figures approximate (the page must say so)."""
        return bool(self.area.attributes.get("population_approximate"))


@dataclass(frozen=True)
class Overview:
    """The territory, its communes with their figures, and what to credit."""

    territory: Area | None
    communes: tuple[CommuneFigures, ...]
    latest_year: int | None
    previous_year: int | None
    attributions: tuple[str, ...]

    @property
    def outlines_approximate(self) -> bool:
        return any(
            c.area.geometry and c.area.attributes.get("outline_approximate") for c in self.communes
        )

    @property
    def figures_approximate(self) -> bool:
        return any(c.approximate for c in self.communes)

    @property
    def mapped(self) -> int:
        return sum(1 for c in self.communes if c.area.geometry)


def build(areas: Sequence[Area]) -> Overview:
    """The overview of whatever territory `areas` describe (possibly none yet)."""
    by_code = {a.code: a for a in areas}
    communes = [a for a in areas if a.level == Level.COMMUNE]
    if not communes:
        # A territory cut differently (no communes): show its deepest areas with outlines.
        parents = {a.parent_code for a in areas if a.parent_code}
        communes = [a for a in areas if a.code not in parents and a.geometry and a.parent_code]
    territory = _common_parent(by_code, communes)
    if territory is None and not communes:
        roots = [a for a in areas if a.parent_code is None]
        territory = roots[0] if len(roots) == 1 else None
    years = sorted({y for c in communes for y in c.population})
    latest = years[-1] if years else None
    previous = years[-2] if len(years) > 1 else None
    figures = tuple(
        CommuneFigures(
            area=c,
            latest=c.population.get(latest) if latest else None,
            previous=c.population.get(previous) if previous else None,
        )
        for c in sorted(communes, key=lambda a: a.code)
    )
    credited = [territory, *communes] if territory else communes
    return Overview(
        territory=territory,
        communes=figures,
        latest_year=latest,
        previous_year=previous,
        attributions=attributions(credited),
    )


def _common_parent(by_code: Mapping[str, Area], communes: Sequence[Area]) -> Area | None:
    parent_codes = sorted({c.parent_code for c in communes if c.parent_code})
    if not parent_codes:
        return None
    chains = [ancestors(by_code, code) for code in parent_codes]
    for code in chains[0]:
        if all(code in chain for chain in chains[1:]) and code in by_code:
            return by_code[code]
    return None


def attributions(areas: Sequence[Area]) -> tuple[str, ...]:
    """Each distinct credit once, in the order met; an attribution lists credits with "; "."""
    seen: dict[str, None] = {}
    for area in areas:
        for part in area.attribution.split(";"):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return tuple(seen)


def drawing(overview: Overview) -> dict[str, Any]:
    """The communes' outlines as a light GeoJSON FeatureCollection (id = area code).

    The outlines are simplified together (`coverage_simplify`) so neighbours keep sharing
    their borders instead of opening slivers between them.
    """
    drawn = [c.area for c in overview.communes if c.area.geometry]
    if not drawn:
        return {"type": "FeatureCollection", "features": []}
    geoms = [shape(a.geometry) for a in drawn]
    try:
        simplified = list(shapely.coverage_simplify(geoms, DRAW_TOLERANCE_DEG))
    except shapely.errors.GEOSException:
        # Overlapping outlines are not a coverage; simplify each on its own.
        simplified = [g.simplify(DRAW_TOLERANCE_DEG, preserve_topology=True) for g in geoms]
    features = [
        {"type": "Feature", "id": area.code, "geometry": _rounded(mapping(geom))}
        for area, geom in zip(drawn, simplified, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, DRAW_DECIMALS)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value
