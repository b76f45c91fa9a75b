"""The maps' base layer: none by default (pages stay offline), a tile server the operator names
(`HAKAMA_MAP_TILES` + `HAKAMA_MAP_ATTRIBUTION`), or an MBTiles file imported into the data folder
and served by hakama itself at `/tiles/{z}/{x}/{y}.png` (a province that keeps its own basemap
offline)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from hakama.core.access import Actor
from hakama.core.errors import Invalid
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage import tiles
from hakama.storage.tiles import TileSet

#: Where hakama serves an imported MBTiles file (Leaflet's URL template).
LOCAL_TEMPLATE = "/tiles/{z}/{x}/{y}.png"


@dataclass(frozen=True)
class Basemap:
    """What a map needs to draw the base layer."""

    url: str
    attribution: str
    min_zoom: int = 0
    max_zoom: int = 19
    bounds: tuple[float, float, float, float] | None = None


def mbtiles_path(settings: Settings) -> Path:
    return settings.data_dir / "tiles" / "basemap.mbtiles"


@lru_cache(maxsize=4)
def _tileset(path: Path, mtime_ns: int) -> TileSet | None:
    try:
        return tiles.inspect(path)
    except tiles.MBTilesError:
        return None


def local_tileset(settings: Settings) -> TileSet | None:
    """The imported MBTiles file's description (read again when the file changes), or None."""
    path = mbtiles_path(settings)
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _tileset(path, mtime)


def basemap(settings: Settings) -> Basemap | None:
    """The base layer of every map, or None (outlines on a plain background)."""
    if settings.map_tiles:
        return Basemap(url=settings.map_tiles, attribution=settings.map_attribution)
    found = local_tileset(settings)
    if found is None:
        return None
    return Basemap(
        url=LOCAL_TEMPLATE,
        attribution=settings.map_attribution or found.attribution,
        min_zoom=found.min_zoom,
        max_zoom=found.max_zoom,
        bounds=found.bounds,
    )


def tile_origin(settings: Settings) -> str | None:
    """The origin the browser fetches tiles from, for a Content-Security-Policy `img-src`:
    `https://*.tile.example.org` for a `{s}` template; None when there is no external base
    layer (hakama's own `/tiles/` is `'self'`)."""
    if not settings.map_tiles:
        return None
    parts = urlsplit(settings.map_tiles.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


def import_mbtiles(platform: Platform, source: Path, *, actor: Actor) -> TileSet:
    """Install an MBTiles file as the basemap (replacing an earlier one), audited."""
    try:
        found = tiles.install(source, mbtiles_path(platform.settings))
    except tiles.MBTilesError as exc:
        raise Invalid(str(exc)) from None
    with platform.db.begin() as conn:
        audit.record(
            conn,
            actor=actor,
            action="map.tiles_import",
            resource=f"mbtiles:{found.name}"[:200],
            after={
                "name": found.name,
                "format": found.format,
                "tiles": found.tiles,
                "zoom": [found.min_zoom, found.max_zoom],
            },
        )
    return found


def tile(settings: Settings, z: int, x: int, y: int) -> tuple[bytes, str] | None:
    """One tile of the imported basemap and its media type, or None."""
    found = local_tileset(settings)
    if found is None:
        return None
    data = tiles.read_tile(mbtiles_path(settings), z, x, y)
    return (data, found.media_type) if data is not None else None
