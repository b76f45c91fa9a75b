"""Areas of a territory (region → province → commune → district) and placing points in them.

Pure: areas are plain values; `AreaIndex` answers "which commune holds this point" with an
STRtree over prepared polygons, vectorised so a million points take about a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from hakama.core.languages import pick

LANGUAGES = ("ar", "fr", "en")


class Level(StrEnum):
    """How deep an area sits; a province's communes are its children."""

    COUNTRY = "country"
    REGION = "region"
    PROVINCE = "province"
    COMMUNE = "commune"
    DISTRICT = "district"

    @property
    def depth(self) -> int:
        return list(Level).index(self)


@dataclass(frozen=True)
class Area:
    """One administrative area: its official code, names per language, census figures, outline.

    `population` maps a census year to its count; `attributes` carries whatever else the source
    said (urban/rural kind, households, area in km²); `attribution` credits the source of the
    figures and of the outline, and is shown wherever they are.
    """

    code: str
    level: Level
    names: Mapping[str, str]
    parent_code: str | None = None
    population: Mapping[int, int] = field(default_factory=dict)
    geometry: Mapping[str, Any] | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    attribution: str = ""

    def name(self, language: str) -> str:
        """The name in `language`, else in its fallbacks (`core.languages`), else the code."""
        return pick(self.names, language) or self.code

    def latest_population(self) -> tuple[int, int] | None:
        """(census year, population) of the latest census, if any."""
        if not self.population:
            return None
        year = max(self.population)
        return year, self.population[year]

    @property
    def shape(self) -> BaseGeometry | None:
        return shape(self.geometry) if self.geometry else None


def validate_code(code: str) -> str:
    """An area code is letters, digits, dots, dashes and underscores, at most 64 of them."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", code):
        raise ValueError(f"area code {code!r} must be 1-64 letters, digits, '.', '-' or '_'")
    return code


def slug(name: str) -> str:
    """A lower-case ASCII slug of a name: `Aïn Erreggada` → `ain-erreggada` ("" if nothing is left)."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", bare.lower()).strip("-")


def normalise_name(name: str) -> str:
    """A French name reduced for matching across sources: no accents, case, spaces or hyphens."""
    return slug(name).replace("-", "")


class AreaIndex:
    """Finds the area that holds a point, among areas whose outlines do not overlap."""

    def __init__(self, areas: Iterable[Area]) -> None:
        self._codes: list[str] = []
        geoms: list[BaseGeometry] = []
        for area in areas:
            geom = area.shape
            if geom is None or geom.is_empty:
                continue
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            shapely.prepare(geom)
            self._codes.append(area.code)
            geoms.append(geom)
        self._geoms = np.array(geoms, dtype=object)
        self._tree = shapely.STRtree(self._geoms)
        self._code_array = np.array([*self._codes, ""], dtype=object)

    def __len__(self) -> int:
        return len(self._codes)

    def locate(self, lon: float, lat: float) -> str | None:
        """The code of the area holding (lon, lat), or None outside every area."""
        found = self.locate_many(np.array([lon]), np.array([lat]))[0]
        return found or None

    def locate_many(
        self, lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """Codes of the areas holding each point ("" outside every area), vectorised.

        The tree gives bounding-box candidates only (cheap); the exact test then runs once per
        candidate polygon over all its candidate points with `contains_xy`, which is far faster
        than a per-pair predicate on detailed outlines.
        """
        xs = np.asarray(lons, dtype=float)
        ys = np.asarray(lats, dtype=float)
        result = np.full(len(xs), len(self._codes), dtype=np.int64)
        if len(self._codes) and len(xs):
            points = shapely.points(xs, ys)
            point_idx, geom_idx = self._tree.query(points)
            # Areas in index order: a point on a shared border goes to the first one listed.
            order = np.lexsort((point_idx, geom_idx))
            point_idx, geom_idx = point_idx[order], geom_idx[order]
            bounds = np.flatnonzero(np.diff(geom_idx)) + 1
            groups = np.split(point_idx, bounds) if len(point_idx) else []
            for g_points, g in zip(
                groups, geom_idx[np.r_[0, bounds]] if len(groups) else [], strict=True
            ):
                free = g_points[result[g_points] == len(self._codes)]
                if len(free):
                    hit = shapely.intersects_xy(self._geoms[g], xs[free], ys[free])
                    result[free[hit]] = g
        return self._code_array[result]

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of all indexed areas."""
        minx, miny, maxx, maxy = shapely.total_bounds(self._geoms)
        return float(minx), float(miny), float(maxx), float(maxy)


def enclosing(
    code: str,
    level: Level,
    names: Mapping[str, str],
    members: Sequence[Area],
    *,
    parent_code: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    attribution: str = "",
) -> Area:
    """The area made of `members`: their outlines' union, their population summed for every
    census year they all have."""
    shapes = [a.shape for a in members if a.geometry]
    years = set.intersection(*(set(a.population) for a in members)) if members else set()
    return Area(
        code=code,
        level=level,
        names=dict(names),
        parent_code=parent_code,
        population={y: sum(a.population[y] for a in members) for y in sorted(years)},
        geometry=mapping(unary_union(shapes)) if shapes else None,
        attributes=dict(attributes or {}),
        attribution=attribution,
    )


def children(areas: Iterable[Area], parent_code: str) -> list[Area]:
    return sorted((a for a in areas if a.parent_code == parent_code), key=lambda a: a.code)


def ancestors(areas: Mapping[str, Area], code: str) -> list[str]:
    """Codes from `code` up to the root, `code` first."""
    chain: list[str] = []
    current: str | None = code
    while current is not None and current not in chain:
        chain.append(current)
        area = areas.get(current)
        current = area.parent_code if area else None
    return chain


def contains(areas: Mapping[str, Area], outer: str, inner: str) -> bool:
    """True when area `inner` is `outer` or lies somewhere below it."""
    return outer in ancestors(areas, inner)
