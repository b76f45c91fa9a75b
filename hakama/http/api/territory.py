"""`/api/territory`: the areas as JSON, or as a GeoJSON FeatureCollection."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
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


GEOJSON = "application/geo+json"


def _accepts(accept: str) -> dict[str, float]:
    """Media types of an Accept header with their quality (RFC 9110 §12.5.1)."""
    out: dict[str, float] = {}
    for part in accept.split(",")[:32]:
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            out[media.lower()] = max(quality, out.get(media.lower(), 0.0))
    return out


def _wants_geojson(request: Request, format: str | None) -> bool:
    """`?format=` when given; else GeoJSON when the client prefers `application/geo+json`."""
    if format is not None:
        return format == "geojson"
    accepted = _accepts(request.headers.get("accept", ""))
    geo = accepted.get(GEOJSON, 0.0)
    return geo > 0 and geo >= max(accepted.get("application/json", 0.0), 0.0)


def _feature(area: Area) -> dict[str, Any]:
    props = _area_json(area, geometry=False)
    return {"type": "Feature", "id": area.code, "geometry": area.geometry, "properties": props}


@router.get(
    "",
    operation_id="territory_list",
    responses={200: {"content": {GEOJSON: {}}, "description": "JSON records or GeoJSON"}},
)
def list_areas(
    platform: PlatformDep,
    request: Request,
    format: Annotated[
        Literal["json", "geojson"] | None,
        Query(
            description="`geojson` for a FeatureCollection (also chosen by "
            "`Accept: application/geo+json`); `json` by default"
        ),
    ] = None,
    level: Annotated[Level | None, Query(description="Only areas of this level")] = None,
    parent: Annotated[
        str | None, Query(max_length=64, description="Only children of this area")
    ] = None,
    geometry: Annotated[bool, Query(description="Include outlines in the JSON form")] = False,
) -> JSONResponse:
    """Areas of the territory, as JSON records or a GeoJSON FeatureCollection (RFC 7946)."""
    areas = territory.list_areas(platform, level=level, parent=parent)
    vary = {"Vary": "Accept"}
    if _wants_geojson(request, format):
        collection = {"type": "FeatureCollection", "features": [_feature(a) for a in areas]}
        return JSONResponse(collection, media_type=GEOJSON, headers=vary)
    return JSONResponse({"areas": [_area_json(a, geometry=geometry) for a in areas]}, headers=vary)


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


@router.get(
    "/{code}",
    operation_id="territory_get",
    responses={200: {"content": {GEOJSON: {}}, "description": "JSON record or GeoJSON"}},
)
def get_area(
    platform: PlatformDep,
    request: Request,
    code: str,
    format: Literal["json", "geojson"] | None = None,
) -> JSONResponse:
    """One area with its outline (a GeoJSON Feature with `Accept: application/geo+json`)."""
    area = territory.get_area(platform, code)
    vary = {"Vary": "Accept"}
    if _wants_geojson(request, format):
        return JSONResponse(_feature(area), media_type=GEOJSON, headers=vary)
    return JSONResponse(_area_json(area, geometry=True), headers=vary)
