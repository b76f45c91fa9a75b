"""`/api/territory`: the areas as JSON, or as a GeoJSON FeatureCollection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from hakama.core.territory import Area, Level
from hakama.http.deps import PlatformDep
from hakama.services import territory

router = APIRouter(prefix="/api/territory", tags=["territory"])


def _area_json(area: Area, *, geometry: bool) -> dict[str, Any]:
    latest = area.latest_population()
    body: dict[str, Any] = {
        "code": area.code,
        "level": area.level.value,
        "parent": area.parent_code,
        "names": dict(area.names),
        "population": {str(k): v for k, v in sorted(area.population.items())},
        "population_latest": {"year": latest[0], "value": latest[1]} if latest else None,
        "attributes": dict(area.attributes),
        "attribution": area.attribution,
    }
    if geometry:
        body["geometry"] = area.geometry
    return body


def _feature(area: Area) -> dict[str, Any]:
    props = _area_json(area, geometry=False)
    return {"type": "Feature", "id": area.code, "geometry": area.geometry, "properties": props}


@router.get("", operation_id="territory_list")
def list_areas(
    platform: PlatformDep,
    format: Annotated[
        Literal["json", "geojson"], Query(description="`geojson` for a FeatureCollection")
    ] = "json",
    level: Annotated[Level | None, Query(description="Only areas of this level")] = None,
    parent: Annotated[
        str | None, Query(max_length=64, description="Only children of this area")
    ] = None,
    geometry: Annotated[bool, Query(description="Include outlines in the JSON form")] = False,
) -> JSONResponse:
    """Areas of the territory, as JSON records or a GeoJSON FeatureCollection (RFC 7946)."""
    areas = territory.list_areas(platform, level=level, parent=parent)
    if format == "geojson":
        collection = {"type": "FeatureCollection", "features": [_feature(a) for a in areas]}
        return JSONResponse(collection, media_type="application/geo+json")
    return JSONResponse({"areas": [_area_json(a, geometry=geometry) for a in areas]})


@router.get("/locate", operation_id="territory_locate")
def locate(
    platform: PlatformDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> dict[str, Any]:
    """The commune holding a point (WGS 84), or null outside the territory."""
    code = territory.locate(platform, lon, lat)
    area = territory.get_area(platform, code) if code else None
    return {"lon": lon, "lat": lat, "area": _area_json(area, geometry=False) if area else None}


@router.get("/{code}", operation_id="territory_get")
def get_area(
    platform: PlatformDep, code: str, format: Literal["json", "geojson"] = "json"
) -> JSONResponse:
    """One area with its outline."""
    area = territory.get_area(platform, code)
    if format == "geojson":
        return JSONResponse(_feature(area), media_type="application/geo+json")
    return JSONResponse(_area_json(area, geometry=True))
