"""`hakama catalog`: the open-data catalogue — build the datasets, list them, set a licence,
list another CKAN portal's datasets about the territory."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.datasets import LICENCES
from hakama.core.errors import Invalid
from hakama.services import ckan_harvest, dataset_builds, datasets

catalog_app = typer.Typer(
    help="The open-data catalogue (CKAN API and DCAT-AP).", no_args_is_help=True
)


@catalog_app.command("build")
def build(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Argument(help="One dataset id; default: all.")] = None,
) -> None:
    """Build the datasets now from the lake, through the privacy gate."""
    platform = state(ctx).platform()
    results = dataset_builds.build(platform, dataset, actor=system_actor("cli"))
    table = Table("dataset", "result", "rows")
    for r in results:
        table.add_row(
            r.dataset_id,
            "ok" if r.ok else ("no data yet" if r.skipped else f"failed: {r.error}"),
            str(r.rows),
        )
    console.print(table)
    if any(not r.ok and not r.skipped for r in results):
        raise typer.Exit(1)


@catalog_app.command("list")
def list_(
    ctx: typer.Context, lang: Annotated[str, typer.Option(help="ar, fr or en.")] = "fr"
) -> None:
    """List the published datasets (and those listed from other portals)."""
    platform = state(ctx).platform()
    table = Table("id", "title", "licence", "modified", "formats", "status")
    for d in datasets.all_datasets(platform):
        status = "stale: " + (d.stale_error or "")[:60] if d.stale_error else (d.source or "ok")
        table.add_row(
            d.id,
            d.title(lang),
            d.licence_id,
            d.modified.isoformat(timespec="minutes") if d.modified else "-",
            ",".join(d.formats),
            status,
        )
    console.print(table)


@catalog_app.command("licence")
def licence(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="Dataset id.")],
    licence_id: Annotated[str, typer.Argument(help=f"One of: {', '.join(LICENCES)}.")],
) -> None:
    """Set one dataset's licence (the default comes from HAKAMA_OPEN_DATA_LICENCE)."""
    platform = state(ctx).platform()
    dataset_builds.set_licence(platform, dataset, licence_id, actor=system_actor("cli"))
    console.print(f"{dataset}: {licence_id}")


@catalog_app.command("import-ckan")
def import_ckan(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Argument(help="The other portal's address, e.g. https://data.gov.ma/data.")
    ],
    query: Annotated[
        list[str] | None,
        typer.Option("--q", help="Words to look for; default: the province's names."),
    ] = None,
) -> None:
    """List another CKAN portal's datasets about the territory beside hakama's (metadata, links out)."""
    platform = state(ctx).platform()
    if not url.strip():
        raise Invalid("give the portal's URL")
    report = ckan_harvest.import_ckan(platform, url, words=query or (), actor=system_actor("cli"))
    console.print(
        f"{report.source}: {report.found} found, {report.added} added, {report.updated} updated"
        + (f", {report.skipped_own} of hakama's own skipped" if report.skipped_own else "")
    )


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
