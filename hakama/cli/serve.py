"""`hakama serve`: the web application and the background jobs."""

from __future__ import annotations

from typing import Annotated

import typer

from hakama.cli.context import console, state


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000].")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Processes serving requests (one socket); background jobs run in one of them.",
        ),
    ] = 1,
) -> None:
    """Serve hakama over HTTP (API, pages, and the MQTT subscriber when configured)."""
    from hakama.http.app import create_app
    from hakama.http.server import serve_app, serve_workers
    from hakama.services.platform import Platform

    settings = state(ctx).settings(host=host, port=port)
    where = f"{settings.data_dir.resolve()} at http://{settings.host}:{settings.port}"
    if workers == 1:
        app = create_app(settings)
        console.print(f"hakama serving {where}")
        serve_app(app, settings)
        return
    Platform.open(settings).close()  # migrate once, before the workers start
    console.print(f"hakama serving {where} with {workers} workers")
    serve_workers(
        lambda: create_app(settings, platform=Platform.open(settings, migrate=False)),
        settings,
        workers,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
