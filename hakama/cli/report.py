"""`hakama report`: the council report of a province or commune for one period, PDF or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hakama.cli.context import console, state
from hakama.core.access import system_actor
from hakama.core.errors import Invalid
from hakama.jobs import report_delivery
from hakama.reports.render import report_file
from hakama.services import mail, report_subscriptions


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


reports_app = typer.Typer(
    help="Scheduled council reports: subscriptions and what was sent.", no_args_is_help=True
)


@reports_app.command("subscribe")
def subscribe(
    ctx: typer.Context,
    area: Annotated[str, typer.Option("--area", help="Province or commune code.")],
    to: Annotated[list[str], typer.Option("--to", help="An e-mail address (repeatable).")],
    frequency: Annotated[str, typer.Option(help="monthly or quarterly.")] = "quarterly",
    lang: Annotated[str, typer.Option("--lang", help="ar, fr or en.")] = "fr",
    fmt: Annotated[str, typer.Option("--format", help="pdf or xlsx.")] = "pdf",
) -> None:
    """Send the area's report to these addresses each month or quarter, once its indicators are computed."""
    platform = state(ctx).platform()
    made = report_subscriptions.subscribe(
        platform,
        area_code=area,
        frequency=frequency,
        language=lang,
        format=fmt,
        recipients=to,
        actor=system_actor("cli"),
    )
    console.print(
        f"subscription {made.id}: {made.frequency} {made.format} report of {made.area_code} to {len(made.recipients)} address(es)"
    )


@reports_app.command("list")
def list_(ctx: typer.Context) -> None:
    """The subscriptions."""
    platform = state(ctx).platform()
    table = Table("id", "area", "frequency", "language", "format", "recipients", "active")
    for s in report_subscriptions.list_subscriptions(platform, actor=system_actor("cli")):
        table.add_row(
            str(s.id),
            s.area_code,
            s.frequency,
            s.language,
            s.format,
            ", ".join(s.recipients),
            "yes" if s.active else "no",
        )
    console.print(table)


@reports_app.command("stop")
def stop(
    ctx: typer.Context,
    subscription_id: Annotated[int, typer.Argument(help="The subscription's id.")],
) -> None:
    """Stop a subscription (what was sent stays on record)."""
    platform = state(ctx).platform()
    report_subscriptions.unsubscribe(platform, subscription_id, actor=system_actor("cli"))
    console.print(f"subscription {subscription_id} stopped")


@reports_app.command("sent")
def sent(ctx: typer.Context) -> None:
    """What was sent (or failed), newest first."""
    platform = state(ctx).platform()
    table = Table("subscription", "period", "status", "attempts", "file", "bytes", "when", "error")
    for d in report_subscriptions.deliveries(platform, actor=system_actor("cli")):
        table.add_row(
            str(d.subscription_id),
            d.period,
            d.status,
            str(d.attempts),
            d.filename,
            f"{d.size:,}",
            d.updated_at.isoformat(timespec="seconds"),
            d.error[:80],
        )
    console.print(table)


@reports_app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Build and mail every report that is due now (what `serve` does on its schedule)."""
    platform = state(ctx).platform()
    if not mail.mail_enabled(platform.settings):
        raise Invalid("mail is off: set HAKAMA_SMTP_HOST (and the other HAKAMA_SMTP_* settings)")
    console.print(f"{report_delivery.run_round(platform)} report(s) sent")


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.add_typer(reports_app, name="reports")
