"""NGSI-LD geo-queries (clause 4.10): `georel`, `geometry`, `coordinates`, `geoproperty`.

`parse_geoq(...)` validates the parameters into a `GeoQuery`; `geo_matches(entity, geoq)` says
whether a normalized entity's geoproperty stands in that relation to the query geometry.
Pure (shapely); re-exported by `hakama.core.ngsi_query`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from hakama.core.errors import Invalid

GEORELS = ("near", "within", "contains", "intersects", "equals", "disjoint", "overlaps")
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_EARTH_RADIUS_M = 6_371_008.8
_METRES_PER_DEGREE = math.pi * _EARTH_RADIUS_M / 180


@dataclass(frozen=True)
class GeoQuery:
    """A parsed geo-query: relation, its distance bounds for `near`, the geometry, the property."""

    georel: str
    geometry: Mapping[str, Any]  # GeoJSON geometry (WGS 84)
    geoproperty: str = "location"  # canonical name
    max_distance: float | None = None  # metres, `near;maxDistance==`
    min_distance: float | None = None  # metres, `near;minDistance==`

    @property
    def shape(self) -> BaseGeometry:
        """The query geometry as a prepared shapely geometry (built once)."""
        cached: BaseGeometry | None = self.__dict__.get("_shape")
        if cached is None:
            cached = shape(self.geometry)
            shapely.prepare(cached)
            object.__setattr__(self, "_shape", cached)
        return cached

    def bbox(self) -> tuple[float, float, float, float] | None:
        """A (min_lon, min_lat, max_lon, max_lat) box outside which nothing can match, if any."""
        if self.georel == "disjoint" or (self.georel == "near" and self.max_distance is None):
            return None
        min_lon, min_lat, max_lon, max_lat = self.shape.bounds
        if self.georel == "near" and self.max_distance is not None:
            lat_pad = self.max_distance / _METRES_PER_DEGREE * 1.01
            widest = max(abs(min_lat), abs(max_lat)) + lat_pad
            cos = max(math.cos(math.radians(min(widest, 89.9))), 1e-6)
            lon_pad = self.max_distance / (_METRES_PER_DEGREE * cos) * 1.01
            return (min_lon - lon_pad, min_lat - lat_pad, max_lon + lon_pad, max_lat + lat_pad)
        return (min_lon, min_lat, max_lon, max_lat)


def parse_geoq(
    georel: str | None,
    geometry: str | None,
    coordinates: str | list[Any] | None,
    geoproperty: str | None = None,
) -> GeoQuery | None:
    """Parse the geo-query parameters (all or none must be given); None when none are.

    `coordinates` is the JSON text of the GeoJSON coordinates (query string) or the already
    decoded list (subscription `geoQ`). Raises `core.errors.Invalid` on anything malformed.
    `geoproperty` must already be canonical.
    """
    given = [p for p in (georel, geometry, coordinates) if p not in (None, "")]
    if not given:
        if geoproperty:
            raise Invalid("geoproperty needs georel, geometry and coordinates")
        return None
    if len(given) != 3:
        raise Invalid("a geo-query needs georel, geometry and coordinates together")
    assert georel is not None and geometry is not None and coordinates is not None
    relation, *modifiers = georel.split(";")
    if relation not in GEORELS:
        raise Invalid(f"georel: unknown relation {relation!r} (one of {', '.join(GEORELS)})")
    max_distance = min_distance = None
    for modifier in modifiers:
        name, sep, raw = modifier.partition("==")
        if relation != "near" or not sep or name not in ("maxDistance", "minDistance"):
            raise Invalid(
                f"georel: bad modifier {modifier!r} (near;maxDistance==<m> or near;minDistance==<m>)"
            )
        try:
            distance = float(raw)
        except ValueError:
            raise Invalid(f"georel: {name} must be a number of metres, not {raw!r}") from None
        if not math.isfinite(distance) or distance < 0:
            raise Invalid(f"georel: {name} must be a non-negative number of metres")
        if name == "maxDistance":
            max_distance = distance
        else:
            min_distance = distance
    if relation == "near" and max_distance is None and min_distance is None:
        raise Invalid("georel: near needs maxDistance or minDistance")
    if geometry not in GEOMETRY_TYPES:
        raise Invalid(f"geometry: unknown type {geometry!r} (one of {', '.join(GEOMETRY_TYPES)})")
    if isinstance(coordinates, str):
        try:
            coords = json.loads(coordinates)
        except (ValueError, RecursionError):
            raise Invalid("coordinates: not a JSON array") from None
    else:
        coords = coordinates
    geojson = {"type": geometry, "coordinates": coords}
    check_geometry(geojson, where="coordinates")
    return GeoQuery(relation, geojson, geoproperty or "location", max_distance, min_distance)


def check_geometry(geojson: Any, *, where: str = "geometry") -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry, or Invalid saying what is wrong with it."""
    if not isinstance(geojson, Mapping) or geojson.get("type") not in GEOMETRY_TYPES:
        raise Invalid(f"{where}: not a GeoJSON geometry of type {', '.join(GEOMETRY_TYPES)}")
    coords = geojson.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise Invalid(f"{where}: coordinates must be a non-empty array")
    _check_positions(coords, where, depth=0)
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        raise Invalid(f"{where}: malformed {geojson['type']} ({exc})") from None
    if geom.is_empty:
        raise Invalid(f"{where}: empty geometry")
    return geom


def _check_positions(coords: Any, where: str, depth: int) -> None:
    if depth > 4:
        raise Invalid(f"{where}: coordinates nested too deeply")
    if coords and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
        if len(coords) not in (2, 3):
            raise Invalid(f"{where}: a position is [longitude, latitude] (optionally altitude)")
        lon, lat = coords[0], coords[1]
        if not (
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        ):
            raise Invalid(f"{where}: position {coords} is outside WGS 84 bounds")
        return
    if not isinstance(coords, list) or not coords:
        raise Invalid(f"{where}: coordinates must be arrays of numbers")
    for item in coords:
        if not isinstance(item, list):
            raise Invalid(f"{where}: coordinates must be arrays of numbers")
        _check_positions(item, where, depth + 1)


def geo_matches(entity: Mapping[str, Any], geoq: GeoQuery) -> bool:
    """Does the entity's geoproperty stand in relation `georel` to the query geometry?"""
    attribute = entity.get(geoq.geoproperty)
    if attribute is None:
        return False
    for instance in attribute if isinstance(attribute, list) else [attribute]:
        value = instance.get("value") if isinstance(instance, Mapping) else None
        if not isinstance(value, Mapping):
            continue
        distance = _point_distance(value, geoq)
        if distance is not None:
            if _within_distance(distance, geoq):
                return True
            continue
        try:
            geom = shape(value)
        except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError):
            continue
        if _relates(geom, geoq):
            return True
    return False


def _relates(geom: BaseGeometry, geoq: GeoQuery) -> bool:
    target = geoq.shape
    relation = geoq.georel
    if relation == "near":
        return _within_distance(_distance_m(geom, target), geoq)
    if relation == "within":
        return bool(target.contains(geom))
    if relation == "contains":
        return bool(geom.contains(target))
    if relation == "intersects":
        return bool(target.intersects(geom))
    if relation == "disjoint":
        return bool(target.disjoint(geom))
    if relation == "equals":
        return bool(geom.equals(target))
    if relation == "overlaps":
        return bool(geom.overlaps(target))
    return False


def _within_distance(distance: float, geoq: GeoQuery) -> bool:
    if geoq.max_distance is not None and distance > geoq.max_distance:
        return False
    return not (geoq.min_distance is not None and distance < geoq.min_distance)


def _point_distance(value: Mapping[str, Any], geoq: GeoQuery) -> float | None:
    """`near` from a point to a point without building geometries (the common sensor case):
    the great-circle distance `_distance_m` gives; None when either is not a plain point."""
    if geoq.georel != "near" or value.get("type") != "Point" or geoq.geometry["type"] != "Point":
        return None
    coords, target = value.get("coordinates"), geoq.geometry["coordinates"]
    if not (isinstance(coords, list) and len(coords) in (2, 3)) or len(target) not in (2, 3):
        return None
    if any(isinstance(c, bool) or not isinstance(c, int | float) for c in coords):
        return None
    lon, lat = float(coords[0]), float(coords[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return _haversine(lon, lat, float(target[0]), float(target[1]))


def _distance_m(geom: BaseGeometry, target: BaseGeometry) -> float:
    """Distance in metres: exact great-circle for two points, else in a local projection
    centred on the query geometry (accurate to well under 1% across a province)."""
    if geom.geom_type == "Point" and target.geom_type == "Point":
        return _haversine(geom.x, geom.y, target.x, target.y)
    centre = target.centroid
    lat0 = math.radians(centre.y)
    kx = _METRES_PER_DEGREE * math.cos(lat0)

    def project(g: BaseGeometry) -> BaseGeometry:
        return shapely.transform(
            g, lambda xy: (xy - (centre.x, centre.y)) * (kx, _METRES_PER_DEGREE)
        )

    return float(project(geom).distance(project(target)))


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
