"""`hakama indicators` and `hakama alerts`: list, compute, validate and show indicators; list alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.indicators import IndicatorValue, load_file
from hakama.services import indicators, territory

indicators_app = typer.Typer(
    help="Indicators per commune and period: definitions and values.", no_args_is_help=True
)
alerts_app = typer.Typer(help="Alerts raised by indicators and sensors.", no_args_is_help=True)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


@indicators_app.command("list")
def list_(
    ctx: typer.Context,
    lang: Annotated[str, typer.Option(help="Language of the names: ar, fr or en.")] = "fr",
) -> None:
    """List the catalogue: built-in definitions and those in the data folder's `indicators/`."""
    platform = state(ctx).platform()
    table = Table("id", "theme", "name", "unit", "grain", "direction", "public", "latest period")
    for d in indicators.catalogue(platform):
        latest = indicators.latest_period(platform, d.id)
        table.add_row(
            d.id,
            d.theme,
            d.name(lang),
            d.unit,
            d.grain.value,
            d.direction.value.split("_")[0],
            "yes" if d.public else "no",
            latest.isoformat() if latest else "-",
        )
    console.print(table)


@indicators_app.command("compute")
def compute(
    ctx: typer.Context,
    engine: Annotated[
        str, typer.Option(help="duckdb (default) or spark (local mode unless a session exists).")
    ] = "duckdb",
    full: Annotated[
        bool,
        typer.Option("--full", help="Recompute every period, not only those whose data changed."),
    ] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only this indicator (repeatable).")
    ] = None,
) -> None:
    """Compute the indicators for every area and period (incremental unless --full)."""
    platform = state(ctx).platform()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bars:
        task = bars.add_task("indicators", total=None)

        def progress(ident: str, number: int, total: int) -> None:
            bars.update(task, description=ident, completed=number - 1, total=total)

        report = indicators.compute(
            platform, engine=engine, full=full, only=only or None, progress=progress
        )
        bars.update(task, description="indicators", completed=bars.tasks[0].total or 0)
    table = Table(
        title=f"{report.engine}: {report.indicators} computed, {report.skipped} skipped, {report.seconds:.1f} s"
    )
    table.add_column("indicator")
    table.add_column("periods recomputed", justify="right")
    for ident, periods in sorted(report.periods.items()):
        table.add_row(ident, str(periods))
    table.add_row("total values", f"{report.values:,}")
    console.print(table)


@indicators_app.command("validate")
def validate(
    files: Annotated[
        list[Path], typer.Argument(help="YAML files of indicator definitions.", show_default=False)
    ],
) -> None:
    """Check definition files; a bad one ends with `file:line: reason` and exit code 1."""
    for path in files:
        found = load_file(path)  # raises Invalid with file:line: reason
        console.print(f"{path}: {len(found)} indicator(s) valid: {', '.join(d.id for d in found)}")


@indicators_app.command("show")
def show(
    ctx: typer.Context,
    ident: Annotated[str, typer.Argument(metavar="ID", help="Indicator id.", show_default=False)],
    area: Annotated[
        str | None, typer.Option(help="Show this area's series instead of the latest period.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the names: ar, fr or en.")] = "fr",
) -> None:
    """Latest values per commune (or one area's whole series with --area)."""
    platform = state(ctx).platform()
    d = indicators.definition(platform, ident)
    actor = system_actor("cli")
    names = {a.code: a.name(lang) for a in territory.list_areas(platform)}
    if area is not None:
        values = indicators.series(platform, ident, actor=actor, area=area)
        title = f"{d.name(lang)} ({d.unit}), {names.get(area, area)}"
    else:
        latest = indicators.latest_period(platform, ident)
        values = (
            indicators.series(platform, ident, actor=actor, date_from=latest, date_to=latest)
            if latest
            else []
        )
        values.sort(key=lambda v: (v.value is None, -(v.value or 0)))
        title = f"{d.name(lang)} ({d.unit}), {latest.isoformat() if latest else 'no values yet'}"
    table = Table(title=title)
    for column in ("area", "period", "value", "sample", "quality"):
        table.add_column(column, justify="right" if column in ("value", "sample") else "left")
    for v in values:
        table.add_row(*_row(v, names))
    console.print(table)


def _row(v: IndicatorValue, names: dict[str, str]) -> tuple[str, ...]:
    return (
        f"{v.area_code} {names.get(v.area_code, '')}",
        v.period_start.isoformat(),
        _number(v.value),
        str(v.sample),
        v.quality.value,
    )


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    state_: Annotated[str, typer.Option("--state", help="open, closed or all.")] = "open",
    area: Annotated[str | None, typer.Option(help="Only this area.")] = None,
) -> None:
    """List alerts (the operator sees every area)."""
    from hakama.services import alerts

    platform = state(ctx).platform()
    found = alerts.list_alerts(platform, actor=system_actor("cli"), state=state_, area=area)
    table = Table(
        "id",
        "kind",
        "area",
        "period",
        "value",
        "threshold",
        "message",
        "opened",
        "closed",
        title=f"{len(found)} {state_} alert(s)",
    )
    for a in found:
        table.add_row(
            str(a.id),
            a.kind,
            a.area_code or "-",
            a.period_start.isoformat() if a.period_start else "-",
            _number(a.value),
            _number(a.threshold),
            a.message,
            a.opened_at.isoformat(timespec="minutes"),
            a.closed_at.isoformat(timespec="minutes") if a.closed_at else "-",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(indicators_app, name="indicators")
    app.add_typer(alerts_app, name="alerts")
