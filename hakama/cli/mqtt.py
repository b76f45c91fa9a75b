"""`hakama mqtt …`: what the MQTT broker needs."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hakama.ingest.broker_config import broker_config

mqtt_app = typer.Typer(help="The MQTT broker devices publish to.", no_args_is_help=True)


@mqtt_app.command("broker-config")
def broker_config_command(
    port: Annotated[
        int | None, typer.Option(help="Add a listener on 127.0.0.1:PORT (anonymous).")
    ] = None,
    persistence_location: Annotated[
        str | None, typer.Option(help="Folder of the broker's persistence file.")
    ] = None,
) -> None:
    """Print the Mosquitto settings docs/mqtt.md recommends (append them to mosquitto.conf)."""
    if port is not None and not 1 <= port <= 65535:
        raise typer.BadParameter("--port must be between 1 and 65535")
    typer.echo(
        broker_config(
            port=port,
            persistence_location=persistence_location,
            run_as_root=port is not None and os.geteuid() == 0,
        ),
        nl=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(mqtt_app, name="mqtt")
