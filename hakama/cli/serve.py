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
) -> None:
    """Serve hakama over HTTP (API, pages, and the MQTT subscriber when configured)."""
    from hakama.http.app import create_app
    from hakama.http.server import serve_app

    settings = state(ctx).settings(host=host, port=port)
    app = create_app(settings)
    console.print(
        f"hakama serving {settings.data_dir.resolve()} at http://{settings.host}:{settings.port}"
    )
    serve_app(app, settings)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
