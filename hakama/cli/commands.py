"""The command groups `hakama` offers, imported by name; each module has `register(app)`."""

from __future__ import annotations

from collections.abc import Callable

import typer

from hakama.cli import (
    audit,
    backup,
    catalog,
    db,
    demo,
    devices,
    indicators,
    keys,
    lake,
    map,
    mqtt,
    records,
    report,
    serve,
    services,
    subscriptions,
    territory,
    users,
)

GROUPS: tuple[Callable[[typer.Typer], None], ...] = (
    demo.register,
    serve.register,
    db.register,
    territory.register,
    users.register,
    keys.register,
    audit.register,
    devices.register,
    subscriptions.register,
    lake.register,
    services.register,
    indicators.register,
    records.register,
    catalog.register,
    report.register,
    mqtt.register,
    backup.register,
    map.register,
)


def register(app: typer.Typer) -> None:
    for register_group in GROUPS:
        register_group(app)
