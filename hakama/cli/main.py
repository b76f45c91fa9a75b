"""The `hakama` command: one Typer app, one module per command group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from hakama.cli.context import CliState
from hakama.core.errors import HakamaError

try:  # Typer ≥ 0.20 carries its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

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


def _fail(message: str, code: int) -> None:
    # Plain stderr, not rich: an error is one line whatever the terminal width.
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: any error ends in one line on stderr and a non-zero exit, never a traceback."""
    _register()
    try:
        result = app(args=argv, standalone_mode=False)
    except getattr(click_errors, "NoArgsIsHelpError", ()) as exc:
        if exc.format_message().strip():  # Typer's rich help has already printed itself
            sys.stdout.write(exc.format_message() + "\n")
        sys.exit(0)
    except click_errors.UsageError as exc:
        where = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        _fail(f"{exc.format_message()}{where}", 2)
    except typer.Abort:
        _fail("aborted", 130)
    except click_errors.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code or 1)
    except HakamaError as exc:
        _fail(exc.message, 1)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        _fail(f"invalid setting {where}: {first.get('msg')}", 2)
    except BrokenPipeError:
        sys.exit(1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    if isinstance(result, int) and result:
        sys.exit(result)


if __name__ == "__main__":
    main()
