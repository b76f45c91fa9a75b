"""The command groups `hakama` offers. A module listed here that does not exist yet is skipped,
so each piece of work adds its module without editing this file again."""

from __future__ import annotations

import importlib
import importlib.util

import typer

#: Modules exposing `register(app: typer.Typer) -> None`.
COMMAND_MODULES = (
    "hakama.cli.demo",
    "hakama.cli.serve",
    "hakama.cli.db",
    "hakama.cli.territory",
    "hakama.cli.users",
    "hakama.cli.keys",
    "hakama.cli.audit",
    "hakama.cli.devices",
    "hakama.cli.subscriptions",
    "hakama.cli.lake",
    "hakama.cli.services",
    "hakama.cli.indicators",
    "hakama.cli.records",
    "hakama.cli.catalog",
    "hakama.cli.report",
    "hakama.cli.mqtt",
    "hakama.cli.backup",
    "hakama.cli.map",
)


def register(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(app)
