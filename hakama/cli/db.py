"""`hakama init` and `hakama db upgrade`."""

from __future__ import annotations

import typer

from hakama.cli.context import console, state
from hakama.storage.db import current_revision, head_revision

db_app = typer.Typer(help="The operational database: migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Bring the database schema to the latest version (safe to run again)."""
    st = state(ctx)
    platform = st.platform()
    rev = current_revision(platform.db.engine)
    console.print(f"database {platform.db.dialect} at revision {rev} (latest {head_revision()})")


@db_app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the schema revision of the database."""
    from hakama.storage.db import Database

    settings = state(ctx).settings()
    db = Database.from_url(settings.database)
    console.print(current_revision(db.engine) or "none")


def init(ctx: typer.Context) -> None:
    """Create the data folder and an up-to-date empty database."""
    st = state(ctx)
    settings = st.settings()
    platform = st.platform()
    platform.session_secret()  # made now, so a backup taken before the first sign-in has it
    console.print(f"initialised {settings.data_dir.resolve()} ({platform.db.dialect})")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.command("init")(init)
