"""`hakama report`: the council report of a province or commune for one period, PDF or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.reports.render import report_file


def report(
    ctx: typer.Context,
    area: Annotated[str, typer.Option("--area", help="Province or commune code, e.g. 02.113.")],
    period: Annotated[
        str, typer.Option("--period", help="2026-Q3 (quarter), 2026-09 (month) or 2026 (year).")
    ],
    lang: Annotated[str, typer.Option("--lang", help="ar, fr or en.")] = "fr",
    fmt: Annotated[str, typer.Option("--format", help="pdf or xlsx.")] = "pdf",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="File to write (default: a name in the current folder)."
        ),
    ] = None,
) -> None:
    """Write the council report: key figures, the communes that lag and why, service levels,
    alerts, a map, charts, and the method and sources — compared with the previous period and
    the same period last year."""
    platform = state(ctx).platform()
    try:
        made = report_file(
            platform, area=area, period=period, lang=lang, fmt=fmt, actor=system_actor("cli")
        )
    finally:
        platform.close()
    target = output or Path(made.filename)
    target.write_bytes(made.content)
    console.print(f"{target}: {len(made.content):,} bytes")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
