"""`hakama devices add|list|show|disable|enable|remove`: devices that publish over MQTT."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.services import devices

devices_app = typer.Typer(help="Devices that publish measures over MQTT.", no_args_is_help=True)

OPERATOR = system_actor("cli")


def _mapping(values: list[str] | None) -> dict[str, dict[str, str]]:
    """`--attr p=pm25:GQ` → {"p": {"name": "pm25", "unit": "GQ"}}; `--attr pm25:GQ` keeps the name."""
    out: dict[str, dict[str, str]] = {}
    for value in values or []:
        measure, sep, target = value.partition("=")
        if not sep:
            target = measure
            measure = measure.split(":", 1)[0]
        name, _, unit = target.partition(":")
        if not measure or not name:
            raise Invalid(f"--attr must look like MEASURE=NAME:UNIT or NAME:UNIT, got {value!r}")
        spec = {"name": name}
        if unit:
            spec["unit"] = unit
        out[measure] = spec
    return out


@devices_app.command("add")
def add(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="Id the device uses in its topic.")],
    entity_type: Annotated[
        str, typer.Option("--type", help="NGSI-LD type, e.g. AirQualityObserved.")
    ],
    key: Annotated[
        str | None, typer.Option("--key", help="Public id of the API key it publishes with.")
    ] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option("--attr", help="MEASURE=NAME:UNIT, e.g. p=pm25:GQ (repeat)."),
    ] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude of the device.")] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude of the device.")] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="Commune code, without a position.")
    ] = None,
    entity_id: Annotated[
        str | None, typer.Option("--entity-id", help="Default urn:ngsi-ld:TYPE:ID.")
    ] = None,
    description: Annotated[str, typer.Option(help="What and where it is.")] = "",
) -> None:
    """Provision a device and create its entity; prints the topic it publishes on."""
    if (lon is None) != (lat is None):
        raise Invalid("give both --lon and --lat, or neither")
    platform = state(ctx).platform()
    device = devices.create_device(
        platform,
        actor=OPERATOR,
        device_id=device_id,
        entity_type=entity_type,
        api_key_id=key,
        attributes=_mapping(attr),
        location={"type": "Point", "coordinates": [lon, lat]} if lon is not None else None,
        area_code=area,
        entity_id=entity_id,
        description=description,
    )
    devices.provision_entity(platform, device, actor=OPERATOR)
    console.print(
        f"device {device.device_id} → {device.entity_id} in {device.area_code or '-'}",
        highlight=False,
    )
    typer.echo(device.topic)


@devices_app.command("list")
def list_(
    ctx: typer.Context,
    area: Annotated[str | None, typer.Option("--area", help="Only this commune.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """The provisioned devices."""
    found = devices.list_devices(
        state(ctx).platform(), actor=OPERATOR, area_code=area, limit=100_000
    )
    if as_json:
        for device in found:
            typer.echo(json.dumps(device.public(), ensure_ascii=False))
        return
    table = Table("device", "entity", "area", "key", "measures", "last seen")
    for d in found:
        measures = ", ".join(
            f"{k}→{m.name}" + (f" ({m.unit})" if m.unit else "") for k, m in d.attributes.items()
        )
        seen = d.last_seen_at.isoformat(timespec="seconds") if d.last_seen_at else "never"
        state_ = " (disabled)" if d.disabled else ""
        table.add_row(
            d.device_id + state_,
            d.entity_id,
            d.area_code or "-",
            d.api_key_id or "-",
            measures,
            seen,
        )
    console.print(table)


@devices_app.command("show")
def show(ctx: typer.Context, device_id: str) -> None:
    """One device as JSON."""
    device = devices.get_device(state(ctx).platform(), device_id)
    typer.echo(json.dumps(device.public() | {"topic": device.topic}, ensure_ascii=False, indent=2))


@devices_app.command("disable")
def disable(ctx: typer.Context, device_id: str) -> None:
    """Drop the device's messages from now on (they are counted as `disabled`)."""
    devices.update_device(
        state(ctx).platform(), device_id, actor=OPERATOR, changes={"disabled": True}
    )
    console.print(f"device {device_id} disabled", highlight=False)


@devices_app.command("enable")
def enable(ctx: typer.Context, device_id: str) -> None:
    """Accept the device's messages again."""
    devices.update_device(
        state(ctx).platform(), device_id, actor=OPERATOR, changes={"disabled": False}
    )
    console.print(f"device {device_id} enabled", highlight=False)


@devices_app.command("remove")
def remove(ctx: typer.Context, device_id: str) -> None:
    """Remove a device; its entity and history stay."""
    devices.delete_device(state(ctx).platform(), device_id, actor=OPERATOR)
    console.print(f"device {device_id} removed", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(devices_app, name="devices")
