"""`hakama map tiles import FILE.mbtiles`: the maps' base layer, kept offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.services import basemap

map_app = typer.Typer(help="The maps: their base layer.", no_args_is_help=True)
tiles_app = typer.Typer(help="The base layer's tiles.", no_args_is_help=True)


@tiles_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A raster MBTiles file (png, jpg or webp tiles).")],
) -> None:
    """Serve FILE's tiles at /tiles/{z}/{x}/{y}.png and draw them under every map.

    Without HAKAMA_MAP_TILES set, the maps use these tiles; the credit shown is
    HAKAMA_MAP_ATTRIBUTION, else the file's own `attribution`.
    """
    platform = state(ctx).platform()
    found = basemap.import_mbtiles(platform, file, actor=system_actor("cli"))
    console.print(
        f"imported {found.tiles} {found.format} tiles ({found.name}, zoom {found.min_zoom}"
        f"–{found.max_zoom}) into {basemap.mbtiles_path(platform.settings)}"
    )
    if not found.attribution and not platform.settings.map_attribution:
        console.print(
            "[yellow]the file names no attribution[/yellow]: set HAKAMA_MAP_ATTRIBUTION to credit "
            "its source on the maps"
        )
    if platform.settings.map_tiles:
        console.print(
            "[yellow]HAKAMA_MAP_TILES is set and wins[/yellow]: unset it to use these tiles"
        )


map_app.add_typer(tiles_app, name="tiles")


def register(app: typer.Typer) -> None:
    app.add_typer(map_app, name="map")
