"""The `hakama` command: one Typer app, one module per command group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from hakama.cli.context import CliState, err_console
from hakama.core.errors import HakamaError

app = typer.Typer(
    name="hakama",
    help="Territorial digital governance: collect a territory's data, decide from it, publish it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of the database, lake, uploads and secrets "
            "[default: $HAKAMA_DATA_DIR, else ./hakama-data].",
            envvar="HAKAMA_DATA_DIR",
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(data_dir=data_dir)


def _register() -> None:
    from hakama.cli import commands

    commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; domain errors and bad settings end in one line on stderr and exit code 1."""
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except HakamaError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
        sys.exit(1)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        err_console.print(f"[red]error:[/red] invalid setting {where}: {first.get('msg')}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
