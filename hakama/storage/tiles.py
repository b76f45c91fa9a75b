"""The basemap's MBTiles file: a SQLite database of raster tiles (MBTiles 1.3), read-only.

`tiles(zoom_level, tile_column, tile_row, tile_data)` with rows in the TMS scheme (row 0 at the
south), `metadata(name, value)`. This module is the one owner of the file: it checks a file
before it is installed, and reads one tile at a time (a connection per read, so that serving
threads never share one).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

#: Raster formats a browser draws as an <img>, with their media types.
FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
MAX_ZOOM = 22


class MBTilesError(ValueError):
    """The file is not a raster MBTiles database hakama can serve."""


@dataclass(frozen=True)
class TileSet:
    """What an MBTiles file says about itself."""

    name: str
    format: str
    media_type: str
    attribution: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None
    tiles: int


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def _bounds(value: str | None) -> tuple[float, float, float, float] | None:
    if not value:
        return None
    try:
        w, s, e, n = (float(v) for v in value.split(","))
    except ValueError:
        return None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        return None
    return (w, s, e, n)


def inspect(path: Path) -> TileSet:
    """Read an MBTiles file's metadata and check it holds raster tiles; MBTilesError if not."""
    if not path.is_file():
        raise MBTilesError(f"{path}: no such file")
    with path.open("rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise MBTilesError(f"{path}: not an MBTiles file (not a SQLite database)")
    try:
        conn = _connect(path)
        try:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            count, low, high = conn.execute(
                "SELECT count(*), min(zoom_level), max(zoom_level) FROM tiles"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise MBTilesError(f"{path}: not an MBTiles file ({exc})") from None
    fmt = str(meta.get("format") or "png").lower()
    if fmt not in FORMATS:
        raise MBTilesError(
            f"{path}: tiles in format {fmt!r}; hakama serves raster tiles "
            f"({', '.join(sorted(FORMATS))}), not vector tiles"
        )
    if not count:
        raise MBTilesError(f"{path}: the file holds no tiles")
    return TileSet(
        name=str(meta.get("name") or path.stem),
        format=fmt,
        media_type=FORMATS[fmt],
        attribution=str(meta.get("attribution") or ""),
        min_zoom=int(low),
        max_zoom=min(int(high), MAX_ZOOM),
        bounds=_bounds(meta.get("bounds")),
        tiles=int(count),
    )


def install(source: Path, target: Path) -> TileSet:
    """Check `source` and copy it to `target` whole (written aside, then renamed)."""
    found = inspect(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return found


def read_tile(path: Path, z: int, x: int, y: int) -> bytes | None:
    """The tile at XYZ (z, x, y) — y counted from the north, as web maps ask — or None."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z) or not path.is_file():
        return None
    conn = _connect(path)
    try:
        row = conn.execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
            (z, x, 2**z - 1 - y),
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return bytes(row[0]) if row else None
