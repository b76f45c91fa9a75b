"""Where an entity is: a point or bounding box of one of its geoproperties (stored form,
see `hakama.core.entities`), to place it in its commune and prefilter geo-queries in SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from hakama.core.entities import instances, is_geometry


def _geometry(entity: Mapping[str, Any], geoproperty: str) -> BaseGeometry | None:
    for instance in instances(entity.get(geoproperty)):
        value = instance.get("value")
        if is_geometry(value):
            try:
                return shape(value)
            except (ValueError, TypeError, AttributeError, IndexError):
                return None
    return None


def _point(entity: Mapping[str, Any], geoproperty: str) -> tuple[float, float] | None:
    """A Point geoproperty's (lon, lat) without building a shapely geometry (the common case)."""
    found = instances(entity.get(geoproperty))
    value = found[0].get("value") if found else None
    if isinstance(value, Mapping) and value.get("type") == "Point":
        coords = value.get("coordinates")
        if isinstance(coords, list) and len(coords) >= 2:
            return (float(coords[0]), float(coords[1]))
    return None


def representative_point(
    entity: Mapping[str, Any], geoproperty: str = "location"
) -> tuple[float, float] | None:
    """(lon, lat) of a geoproperty's geometry (a point on it if not a point), used to place the
    entity in its commune; None without that geoproperty."""
    value = _point(entity, geoproperty)
    if value is not None:
        return value
    geom = _geometry(entity, geoproperty)
    if geom is None or geom.is_empty:
        return None
    point = geom if geom.geom_type == "Point" else geom.representative_point()
    return (float(point.x), float(point.y))


def geometry_bbox(
    entity: Mapping[str, Any], geoproperty: str = "location"
) -> tuple[float, float, float, float] | None:
    """(min_lon, min_lat, max_lon, max_lat) of a geoproperty, for a coarse SQL prefilter."""
    value = _point(entity, geoproperty)
    if value is not None:
        return (value[0], value[1], value[0], value[1])
    geom = _geometry(entity, geoproperty)
    if geom is None or geom.is_empty:
        return None
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return (float(min_lon), float(min_lat), float(max_lon), float(max_lat))
