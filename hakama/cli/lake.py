"""`hakama lake flush|compact|push|stats`: the history lake by hand (the server does it on its own)."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.errors import Invalid
from hakama.services import observations

lake_app = typer.Typer(
    help="The history lake: flush staged observations, compact, stats.", no_args_is_help=True
)


@lake_app.command("flush")
def flush(ctx: typer.Context) -> None:
    """Move every staged observation to Parquet now."""
    report = observations.flush(state(ctx).platform())
    console.print(
        f"flushed {report.rows} observations in {report.batches} batches "
        f"({report.recovered} redone after a crash) to {len(report.files)} files; "
        f"forgot {report.purged} old staged rows",
        highlight=False,
    )


@lake_app.command("compact")
def compact(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Option(help="Dataset to compact.")] = observations.DATASET,
    day: Annotated[
        str | None, typer.Option(help="Only this day (YYYY-MM-DD); default every day.")
    ] = None,
    min_files: Annotated[int, typer.Option(help="Leave days with fewer files alone.")] = 2,
) -> None:
    """Merge each day's small files into one (readers keep seeing every row once)."""
    try:
        one_day = date.fromisoformat(day) if day else None
    except ValueError:
        raise Invalid(f"--day must be YYYY-MM-DD, got {day!r}") from None
    platform = state(ctx).platform()
    if dataset not in platform.lake.datasets():
        raise Invalid(
            f"no dataset {dataset!r} in the lake (have: {', '.join(platform.lake.datasets()) or 'none'})"
        )
    report = observations.compact(platform, dataset, one_day, min_files=min_files)
    if report.skipped:
        raise Invalid(f"compaction skipped: {report.skipped}")
    console.print(
        f"{dataset}: {report.files_before} files over {len(report.days)} days merged into "
        f"{report.files_after} ({report.rows} rows)",
        highlight=False,
    )


@lake_app.command("push")
def push(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Argument(
            help="Bucket and prefix: s3://[KEY:SECRET@]bucket/prefix?endpoint_override=host:port"
            "&scheme=http (credentials also from the usual AWS variables)."
        ),
    ],
) -> None:
    """Mirror the lake's finished files to S3-compatible object storage (new files uploaded,
    files merged away removed), for readers on other machines."""
    from hakama.storage import lake_remote

    platform = state(ctx).platform()
    try:
        report = lake_remote.push(platform.db, platform.lake, url)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    except OSError as exc:  # unreachable endpoint, refused credentials, missing bucket
        raise Invalid(f"{lake_remote.safe_url(url)}: {exc}") from None
    console.print(
        f"{lake_remote.safe_url(url)}: {report.uploaded} files uploaded ({report.bytes} bytes), "
        f"{report.unchanged} already there, {report.removed} removed",
        highlight=False,
    )


@lake_app.command("stats")
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Datasets, files, rows and days in the lake, and what waits in staging."""
    platform = state(ctx).platform()
    lake = platform.lake
    rows: list[dict[str, Any]] = []
    for dataset in lake.datasets():
        files = lake.files(dataset)
        days = lake.days(dataset)
        rows.append(
            {
                "dataset": dataset,
                "files": len(files),
                "rows": lake.row_count(dataset),
                "bytes": sum(f.stat().st_size for f in files),
                "first_day": days[0].isoformat() if days else None,
                "last_day": days[-1].isoformat() if days else None,
            }
        )
    staging = observations.staging_stats(platform)
    waiting = {
        "pending": staging.pending,
        "claimed": staging.claimed,
        "flushed_kept": staging.flushed_kept,
        "oldest_pending_seconds": staging.oldest_pending_seconds,
    }
    if as_json:
        typer.echo(json.dumps({"datasets": rows, "staging": waiting}))
        return
    table = Table("dataset", "files", "rows", "MB", "first day", "last day")
    for r in rows:
        table.add_row(
            str(r["dataset"]),
            str(r["files"]),
            f"{r['rows']:,}",
            f"{int(r['bytes']) / 1e6:.1f}",
            str(r["first_day"] or "-"),
            str(r["last_day"] or "-"),
        )
    console.print(table)
    console.print(
        f"staging: {staging.pending} waiting, {staging.claimed} being flushed, "
        f"{staging.flushed_kept} flushed (kept for dedupe)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")
