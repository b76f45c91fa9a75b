"""`hakama services`: the service catalogue citizens file requests against (list, add, import,
disable), and writing staged request events to the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.core.request_types import ICONS, Service, validate_service
from hakama.services import request_types, service_requests

services_app = typer.Typer(help="The service catalogue (Open311 services).", no_args_is_help=True)


@services_app.command("list")
def list_cmd(
    ctx: typer.Context,
    area: Annotated[
        str | None, typer.Option(help="Services offered in this commune [default: every service].")
    ] = None,
    language: Annotated[
        str, typer.Option("--lang", help="Language of the names: ar, fr, en.")
    ] = "fr",
    all_definitions: Annotated[
        bool, typer.Option("--all", help="Every stored definition, disabled ones included.")
    ] = False,
) -> None:
    """List services with their department and target time."""
    platform = state(ctx).platform()
    if all_definitions:
        listed = request_types.all_definitions(platform)
    else:
        listed = request_types.list_services(platform, area_code=area)
    table = Table("code", "defined at", "name", "department", "target h", "attributes", "active")
    for s in listed:
        table.add_row(
            s.code,
            s.area_code,
            s.name(language),
            s.department,
            f"{s.target_hours:g}",
            ", ".join(a.code for a in s.attributes),
            "yes" if s.active else "no",
        )
    console.print(table)
    console.print(f"{len(listed)} services")


@services_app.command("add")
def add_cmd(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Service code, e.g. public_lighting.")],
    area: Annotated[
        str, typer.Option(help="Area offering it (a province applies to its communes).")
    ],
    name_fr: Annotated[str, typer.Option("--name-fr", help="Name in French.")],
    name_ar: Annotated[str, typer.Option("--name-ar", help="Name in Arabic.")] = "",
    name_en: Annotated[str, typer.Option("--name-en", help="Name in English.")] = "",
    category: Annotated[str | None, typer.Option(help="Category [default: the code].")] = None,
    department: Annotated[str, typer.Option(help="Department responsible.")] = "",
    target_hours: Annotated[float, typer.Option(help="Target time to resolve, in hours.")] = 72.0,
    icon: Annotated[str, typer.Option(help=f"Icon: {', '.join(ICONS)}.")] = "other",
    business_hours: Annotated[
        bool, typer.Option(help="Count the target in working hours only.")
    ] = False,
) -> None:
    """Create or replace one service (without attributes; use `import` for those)."""
    platform = state(ctx).platform()
    names = {k: v for k, v in {"fr": name_fr, "ar": name_ar, "en": name_en}.items() if v}
    service = Service(
        code=code,
        area_code=area,
        category=category or code,
        names=names,
        department=department,
        target_hours=target_hours,
        icon=icon,
        business_hours=business_hours,
    )
    try:
        validate_service(service)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    request_types.save_service(platform, service, actor=system_actor("cli"))
    console.print(f"saved service {code} at {area}")


@services_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="YAML file: a list of services (see docs/open311.md).")
    ],
    area: Annotated[
        str | None, typer.Option(help="Area for entries that do not name an area_code.")
    ] = None,
) -> None:
    """Create or replace services from a YAML file, all or nothing."""
    platform = state(ctx).platform()
    definitions = request_types.load_yaml(file, area_code=area)
    saved = request_types.import_services(platform, definitions, actor=system_actor("cli"))
    console.print(f"imported {len(saved)} services from {file}")


@services_app.command("disable")
def disable_cmd(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Service code.")],
    area: Annotated[str, typer.Option(help="Area where it should no longer be offered.")],
) -> None:
    """Stop offering a service in an area (requests already filed stay)."""
    platform = state(ctx).platform()
    request_types.disable_service(platform, code, area_code=area, actor=system_actor("cli"))
    console.print(f"service {code} disabled at {area}")


@services_app.command("flush-events")
def flush_cmd(ctx: typer.Context) -> None:
    """Write request events waiting in the database to the lake dataset `request_events`."""
    platform = state(ctx).platform()
    written = service_requests.flush_events(platform)
    console.print(f"{written} request events written to the lake")


@services_app.command("close-resolved")
def close_resolved_cmd(ctx: typer.Context) -> None:
    """Close requests resolved more than 14 days ago that their requester did not contest."""
    platform = state(ctx).platform()
    closed = service_requests.close_resolved(platform, actor=system_actor("cli"))
    console.print(f"{len(closed)} resolved requests closed")


def register(app: typer.Typer) -> None:
    app.add_typer(services_app, name="services")
