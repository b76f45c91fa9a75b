"""`/tiles/{z}/{x}/{y}.png`: the basemap imported with `hakama map tiles import`, served from
its MBTiles file so that a province's maps need no tile server on the internet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from hakama.core.errors import NotFound
from hakama.http.deps import PlatformDep
from hakama.services import basemap

router = APIRouter(tags=["maps"])


@router.get(
    "/tiles/{z}/{x}/{y}.png",
    operation_id="map_tile",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "One raster tile"}},
)
def map_tile(
    platform: PlatformDep,
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
) -> Response:
    """One tile of the imported basemap (XYZ numbering, y from the north)."""
    found = basemap.tile(platform.settings, z, x, y)
    if found is None:
        raise NotFound(f"no tile {z}/{x}/{y} in the imported basemap")
    data, media_type = found
    return Response(data, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
