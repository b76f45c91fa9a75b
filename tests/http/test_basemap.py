"""The maps' base layer: off by default; a tile server named in the settings; or an MBTiles file
(built here, tile by tile) imported with `hakama map tiles import` and served at /tiles/."""

from __future__ import annotations

import io
import json
import math
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from pydantic import ValidationError

from hakama.core.access import system_actor
from hakama.demo.territory import demo_areas
from hakama.http.app import create_app
from hakama.services import basemap, territory
from hakama.services.platform import Platform
from hakama.settings import Settings

OSM = "© OpenStreetMap contributors (ODbL)"


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, "PNG")
    return out.getvalue()


def write_mbtiles(
    path: Path, metadata: dict[str, str], tiles: dict[tuple[int, int, int], bytes]
) -> Path:
    """An MBTiles 1.3 file: `tiles` by XYZ (z, x, y), stored in TMS rows as the format says."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name text, value text)")
    conn.execute(
        "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
        "tile_data blob)"
    )
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(metadata.items()))
    for (z, x, y), data in tiles.items():
        conn.execute(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, sqlite3.Binary(data))
        )
    conn.commit()
    conn.close()
    return path


def make_mbtiles(
    path: Path, *, fmt: str = "png", attribution: str = OSM
) -> dict[tuple[int, int, int], bytes]:
    """A raster MBTiles file: zoom 0 and 1, each tile a different colour."""
    tiles = {
        (0, 0, 0): png((200, 200, 200)),
        (1, 0, 0): png((255, 0, 0)),  # XYZ y=0: the north-west tile
        (1, 0, 1): png((0, 0, 255)),  # XYZ y=1: the south-west tile
    }
    metadata = {
        "name": "test basemap",
        "format": fmt,
        "attribution": attribution,
        "bounds": "-3.0,34.5,-1.8,35.3",
        "minzoom": "0",
        "maxzoom": "1",
    }
    write_mbtiles(path, metadata, tiles)
    return tiles


def hakama(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hakama.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    data = tmp_path / "data"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
    app = create_app(platform.settings, platform=platform, background=False)
    with TestClient(app) as client:
        yield client, data
    platform.close()


def map_config(html: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(html.split('id="map-config">')[1].split("</script>")[0])
    return found


def test_no_base_layer_by_default(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    assert map_config(client.get("/").text)["basemap"] is None
    missing = client.get("/tiles/0/0/0.png")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_imported_mbtiles_are_served_and_drawn_under_every_map(
    served: tuple[TestClient, Path], tmp_path: Path
) -> None:
    client, data = served
    tiles = make_mbtiles(tmp_path / "berkane.mbtiles")
    done = hakama(data, "map", "tiles", "import", str(tmp_path / "berkane.mbtiles"))
    assert done.returncode == 0, done.stderr
    assert "imported 3 png tiles (test basemap, zoom 0–1)" in done.stdout
    for (z, x, y), expected in tiles.items():
        response = client.get(f"/tiles/{z}/{x}/{y}.png")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content == expected  # XYZ asked, TMS stored: rows flipped right
    assert Image.open(io.BytesIO(client.get("/tiles/1/0/0.png").content)).getpixel((5, 5)) == (
        255,
        0,
        0,
    )
    assert client.get("/tiles/1/1/1.png").status_code == 404  # not in the file
    assert client.get("/tiles/1/5/0.png").status_code == 404  # not on the grid
    assert client.get("/tiles/99/0/0.png").status_code == 422
    assert client.get("/tiles/a/0/0.png").status_code == 422
    for path in ("/", "/requests", "/report/public_lighting"):
        page = client.get(path)
        if 'id="map-config"' not in page.text:
            continue
        config = map_config(page.text)
        assert config["basemap"] == {
            "url": "/tiles/{z}/{x}/{y}.png",
            "attribution": OSM,
            "min_zoom": 0,
            "max_zoom": 1,
            "bounds": [-3.0, 34.5, -1.8, 35.3],
        }, path


def test_bad_tile_files_are_refused_in_one_line(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "x.mbtiles"
    not_sqlite.write_text("hello")
    vector = tmp_path / "v.mbtiles"
    make_mbtiles(vector, fmt="pbf")
    for path, message in (
        (not_sqlite, "not an MBTiles file"),
        (vector, "not vector tiles"),
        (tmp_path / "missing.mbtiles", "no such file"),
    ):
        done = hakama(tmp_path / "data", "map", "tiles", "import", str(path))
        assert done.returncode != 0
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().startswith("error:") and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert not basemap.mbtiles_path(Settings(data_dir=tmp_path / "data")).exists()


def test_a_tile_server_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        environment="test",
        map_tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png",
        map_attribution=OSM,
    )
    assert basemap.basemap(settings) == basemap.Basemap(
        url="https://{s}.tile.example.org/{z}/{x}/{y}.png", attribution=OSM
    )
    assert basemap.tile_origin(settings) == "https://*.tile.example.org"
    assert basemap.tile_origin(Settings(data_dir=tmp_path)) is None
    platform = Platform.open(settings)
    try:
        territory.save_areas(platform, demo_areas(), actor=system_actor("test"))
        app = create_app(settings, platform=platform, background=False)
        with TestClient(app) as client:
            config = map_config(client.get("/?lang=ar").text)
    finally:
        platform.close()
    assert config["basemap"] == {
        "url": "https://{s}.tile.example.org/{z}/{x}/{y}.png",
        "attribution": OSM,
        "min_zoom": 0,
        "max_zoom": 19,
        "bounds": None,
    }


@pytest.mark.parametrize(
    ("tiles", "attribution", "message"),
    [
        ("https://tile.example.org/{z}/{x}/{y}.png", "", "HAKAMA_MAP_ATTRIBUTION is required"),
        ("https://tile.example.org/tiles.png", OSM, "{z}, {x} and {y}"),
        ("javascript:alert(1)//{z}/{x}/{y}", OSM, "http(s) URL template"),
    ],
)
def test_bad_tile_settings_are_refused(tiles: str, attribution: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings(map_tiles=tiles, map_attribution=attribution)


def tile_range(
    z: int, west: float, south: float, east: float, north: float
) -> Iterator[tuple[int, int]]:
    """XYZ tiles covering a box (Web Mercator)."""

    def xy(lon: float, lat: float) -> tuple[int, int]:
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return x, y

    x0, y0 = xy(west, north)
    x1, y1 = xy(east, south)
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def province_tiles(path: Path) -> Path:
    """A basemap of Berkane's province for the browser: pale land, a grid every tile."""
    tiles: dict[tuple[int, int, int], bytes] = {}
    for z in range(7, 13):
        for x, y in tile_range(z, -2.9, 34.5, -1.95, 35.2):
            colour = (236, 232, 214) if (x + y) % 2 else (226, 236, 220)
            image = Image.new("RGB", (256, 256), colour)
            draw = ImageDraw.Draw(image)
            draw.rectangle((0, 0, 255, 255), outline=(180, 180, 170))
            draw.line((0, 128, 255, 128), fill=(250, 250, 250), width=3)  # a "road"
            out = io.BytesIO()
            image.save(out, "PNG")
            tiles[(z, x, y)] = out.getvalue()
    metadata = {"name": "berkane test", "format": "png", "attribution": OSM}
    return write_mbtiles(path, metadata, tiles)
