"""`hakama demo`: build the demo territory with a year of synthetic data, then serve it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.errors import Invalid

STAGE_LABELS = {
    "areas": "territory (areas)",
    "observations": "sensor readings (days)",
    "requests": "service requests",
    "records": "administrative records (months)",
}


def demo(
    ctx: typer.Context,
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic data: same seed, same data.")
    ] = 2026,
    scale: Annotated[
        float,
        typer.Option(
            help="Multiplies volumes (sensors, requests, records): 0.01 for a quick look, "
            "20 for about 10^8 observations."
        ),
    ] = 1.0,
    year_end: Annotated[
        str | None,
        typer.Option(help="Last day of the demo year, YYYY-MM-DD (default 2026-10-31)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Rebuild even if the same demo is already built.")
    ] = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build only; do not serve.")] = False,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
) -> None:
    """Build the demo territory (a province, its communes, a year of data), then serve hakama."""
    from hakama.demo.build import build_demo

    if not 0 < scale <= 1000:
        raise Invalid("--scale must be greater than 0 and at most 1000")
    end: date | None = None
    if year_end is not None:
        try:
            end = date.fromisoformat(year_end)
        except ValueError:
            raise Invalid(f"--year-end {year_end!r} is not a date YYYY-MM-DD") from None
    st = state(ctx)
    settings = st.settings(host=host, port=port)
    platform = st.platform(host=host, port=port)
    console.print(
        f"building the demo territory in {settings.data_dir.resolve()} (seed {seed}, scale {scale})"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bars:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(STAGE_LABELS.get(stage, stage), total=total)
            bars.update(tasks[stage], completed=done, total=total)

        try:
            report = build_demo(
                platform, seed=seed, scale=scale, force=force, year_end=end, progress=progress
            )
        finally:
            platform.close()

    table = Table(
        title=f"demo {report.start} .. {report.end}"
        + (" (already built)" if report.skipped else "")
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("seconds", justify="right")
    secs = report.stage_seconds
    table.add_row("areas", f"{report.areas:,}", f"{secs.get('areas', 0):.1f}")
    table.add_row("sensors", f"{report.sensors:,}", "")
    table.add_row("observations", f"{report.observations:,}", f"{secs.get('observations', 0):.1f}")
    table.add_row("service requests", f"{report.requests:,}", f"{secs.get('requests', 0):.1f}")
    table.add_row("request events", f"{report.request_events:,}", "")
    table.add_row("administrative records", f"{report.records:,}", f"{secs.get('records', 0):.1f}")
    table.add_row("total", "", f"{report.seconds:.1f}")
    console.print(table)
    for line in report.seeded:
        console.print(f"  {line}")
    if no_serve:
        return
    from hakama.http.app import create_app
    from hakama.http.server import serve_app

    app = create_app(settings)
    console.print(
        f"hakama serving {settings.data_dir.resolve()} at http://{settings.host}:{settings.port}"
    )
    serve_app(app, settings)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
