"""`hakama backup DEST`, `hakama restore SRC`, `hakama check`: copies that are really copies,
taken while hakama serves and ingests, and a check that tells a sound copy from a broken one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hakama.cli.context import console, state


def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="New folder to write the backup to.")],
) -> None:
    """Copy the database, lake, uploads and secrets consistently (safe while serving)."""
    from hakama.services.backup import backup as run_backup

    platform = state(ctx).platform()
    try:
        report = run_backup(platform, dest)
    finally:
        platform.close()
    console.print(
        f"backup of the {report.engine} database, {report.lake_files} lake files and the "
        f"folders in {report.path} ({report.files} files, {report.bytes / 2**20:.1f} MiB, "
        f"{report.seconds:.1f}s)",
        highlight=False,
    )


def restore(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="Folder written by `hakama backup`.")],
    force: Annotated[
        bool, typer.Option(help="Replace a database that already holds data.")
    ] = False,
) -> None:
    """Replace this hakama's storage with a backup (stop `hakama serve` first), then check it."""
    from hakama.services.backup import restore as run_restore

    report = run_restore(state(ctx).settings(), source, force=force)
    console.print(
        f"restored the backup of {report.created_at} ({report.files} files)", highlight=False
    )
    _print_check(report.check.public())
    if not report.check.ok:
        raise typer.Exit(1)


def check(
    ctx: typer.Context,
    quick: Annotated[
        bool, typer.Option(help="Read only the lake files' footers, not all their data.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the database's integrity, the audit chain and every lake file; exit 1 if unsound."""
    from hakama.services.integrity import check as run_check

    platform = state(ctx).platform()
    try:
        report = run_check(platform, read_lake_data=not quick)
    finally:
        platform.close()
    if as_json:
        typer.echo(json.dumps(report.public()))
    else:
        _print_check(report.public())
    if not report.ok:
        raise typer.Exit(1)


def _print_check(body: dict[str, object]) -> None:
    verdict = "sound" if body["ok"] else "NOT SOUND"
    console.print(
        f"check: {verdict} — {body['tables']} tables, {body['audit_entries']} audit entries, "
        f"{body['lake_files']} lake files ({body['lake_rows']} rows)",
        highlight=False,
    )
    for problem in body["problems"]:  # type: ignore[attr-defined]
        console.print(f"  problem: {problem}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("check")(check)
